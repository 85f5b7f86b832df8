//! Helpers shared by the integration tests.

pub mod abx;
pub mod regf;

use std::path::Path;

use bolwerk_inventory::{inventory, HostReport, Options, Policy, Target};

/// The built-in policy over the offline root `root`, on a fixed day, as
/// host `host`.
pub fn run(root: &Path, host: &str) -> HostReport {
    let opts = Options {
        today: chrono::NaiveDate::from_ymd_opt(2024, 7, 10).unwrap(),
        scope: None,
        host: Some(host.into()),
    };
    inventory(&Target::offline(root), &Policy::builtin(), &opts)
}
