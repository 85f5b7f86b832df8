//! End-to-end tests of the `bolwerk` binary, compiled into one test binary
//! (as ripgrep does).

mod body;
mod cdb;
mod cli;
mod containers;
mod daemon;
mod differential;
mod egress;
mod engine_cache;
mod html;
mod indicators;
mod inventory;
mod logical;
mod official;
mod testfiles;
mod text;
mod update;
mod util;
#[cfg(feature = "yara")]
mod yara;
