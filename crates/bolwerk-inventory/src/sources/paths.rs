//! Files and directories a vendor's software leaves (`/opt/kaspersky/kesl/`,
//! `/Applications/Kaspersky*.app`). A `*` may stand in the last component.

use std::path::Path;

use crate::error::Result;
use crate::finding::Finding;
use crate::policy::{Kind, Policy};
use crate::target::Target;
use crate::wildcard;

/// Paths named by the policy (Linux and macOS).
pub struct Paths;

impl super::Source for Paths {
    fn name(&self) -> &'static str {
        "path"
    }

    fn collect(&self, target: &Target, policy: &Policy, out: &mut Vec<Finding>) -> Result<()> {
        for vendor in &policy.vendors {
            let ids = vendor
                .of_kind(Kind::LinuxPath)
                .chain(vendor.of_kind(Kind::MacPath));
            for id in ids {
                for seen in existing(target, &id.value) {
                    out.push(Finding::new(vendor, id, "path", seen));
                }
            }
        }
        Ok(())
    }
}

/// The target's paths that `pattern` names and that exist, as absolute
/// paths on the target.
fn existing(target: &Target, pattern: &str) -> Vec<String> {
    let dir_only = pattern.ends_with('/');
    let trimmed = pattern.trim_end_matches('/');
    let (parent, last) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
    if !last.contains('*') {
        let exists = is_there(&target.path(trimmed), dir_only);
        return if exists {
            vec![pattern.to_string()]
        } else {
            Vec::new()
        };
    }
    let Ok(entries) = std::fs::read_dir(target.path(parent)) else {
        return Vec::new();
    };
    let mut found: Vec<String> = entries
        .flatten()
        .filter(|e| wildcard::matches(last, &e.file_name().to_string_lossy()))
        .filter(|e| is_there(&e.path(), dir_only))
        .map(|e| format!("{parent}/{}", e.file_name().to_string_lossy()))
        .collect();
    found.sort();
    found
}

fn is_there(path: &Path, dir_only: bool) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(m) => !dir_only || m.is_dir(),
        Err(_) => false,
    }
}
