//! systemd unit files in the directories systemd reads them from
//! (systemd.unit(5)): administrator's units first, then the packages'.

use std::collections::HashSet;

use crate::error::Result;
use crate::finding::Finding;
use crate::policy::{Kind, Policy};
use crate::target::Target;

/// Unit directories, in systemd's order of precedence.
const UNIT_DIRS: [&str; 4] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// systemd units named by the policy.
pub struct Systemd;

impl super::Source for Systemd {
    fn name(&self) -> &'static str {
        "systemd"
    }

    fn collect(&self, target: &Target, policy: &Policy, out: &mut Vec<Finding>) -> Result<()> {
        let mut seen = HashSet::new();
        for dir in UNIT_DIRS {
            for unit in unit_names(target, dir) {
                if !seen.insert(unit.clone()) {
                    continue;
                }
                for vendor in &policy.vendors {
                    if let Some(id) = vendor.find(Kind::SystemdUnit, &unit) {
                        out.push(Finding::new(vendor, id, "systemd", format!("{dir}/{unit}")));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The unit file names in one directory, sorted. On merged-/usr systems
/// `/lib` is a link to `/usr/lib`; the names seen there are skipped above.
fn unit_names(target: &Target, dir: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(target.path(dir)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
