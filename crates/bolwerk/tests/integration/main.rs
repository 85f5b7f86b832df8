//! End-to-end tests of the `bolwerk` binary, compiled into one test binary
//! (as ripgrep does).

mod body;
mod cli;
mod containers;
mod daemon;
mod differential;
mod inventory;
mod testfiles;
mod util;
#[cfg(feature = "yara")]
mod yara;
