//! Sources of evidence: each reads one kind of record on the target (a
//! package database, unit files, a registry hive, app bundles) and reports
//! what matches the policy.
//!
//! A source whose data is absent (no dpkg on a Red Hat system, no hive on
//! Linux) reports nothing; only data that is there and cannot be read is
//! an error.

mod abx;
mod android;
mod codesign;
mod dpkg;
mod hive;
mod macos;
mod paths;
mod procfs;
mod rpm;
mod rpmheader;
mod services;
mod systemd;
mod uninstall;

pub use abx::StartTag;
pub use android::{parse_packages, AndroidPackage};
pub use codesign::team_id;
pub use dpkg::{parse_status, DpkgPackage};
pub use macos::{read_bundle, Bundle};
pub use procfs::{parse_modules, process_names};
pub use rpm::RpmPackage;
pub use rpmheader::{parse_header_blob, RpmHeader};
pub use services::Service;
pub use uninstall::InstalledProgram;

use crate::error::Result;
use crate::finding::Finding;
use crate::policy::Policy;
use crate::target::Target;

/// One kind of evidence.
pub trait Source {
    /// The source's name in reports (`dpkg`).
    fn name(&self) -> &'static str;

    /// Whether the source can read this target (live-only sources say no
    /// to an offline root).
    fn applies(&self, target: &Target) -> bool {
        let _ = target;
        true
    }

    /// Append what matches the policy to `out`.
    fn collect(&self, target: &Target, policy: &Policy, out: &mut Vec<Finding>) -> Result<()>;
}

/// Every source, in report order.
pub fn all() -> Vec<Box<dyn Source>> {
    vec![
        Box::new(dpkg::Dpkg),
        Box::new(rpm::Rpm),
        Box::new(paths::Paths),
        Box::new(systemd::Systemd),
        Box::new(procfs::Modules),
        Box::new(procfs::Processes),
        Box::new(macos::Bundles),
        Box::new(uninstall::Uninstall),
        Box::new(services::Services),
        Box::new(android::Android),
    ]
}

/// The programs the Uninstall keys of a SOFTWARE hive (its bytes) list.
pub fn windows_programs(hive: Vec<u8>) -> Result<Vec<InstalledProgram>> {
    hive::read_bytes(hive, uninstall::read_programs)
}

/// The services of the current control set of a SYSTEM hive (its bytes).
pub fn windows_services(hive: Vec<u8>) -> Result<Vec<Service>> {
    hive::read_bytes(hive, services::read_services)
}

/// Read a file of the target, `None` when it does not exist.
fn read_optional(path: &std::path::Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(crate::error::Error::io(path, e)),
    }
}
