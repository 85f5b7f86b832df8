//! End-to-end tests of the `bolwerk` binary, compiled into one test binary
//! (as ripgrep does).

mod cli;
mod differential;
mod util;
