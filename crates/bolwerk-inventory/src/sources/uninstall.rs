//! Windows' installed programs, as "Apps & features" lists them: the
//! subkeys of `Microsoft\Windows\CurrentVersion\Uninstall` in the offline
//! SOFTWARE hive, and of `WOW6432Node\Microsoft\…\Uninstall` for 32-bit
//! programs on 64-bit Windows. Each subkey's `DisplayName` is matched
//! against the policy's display-name patterns, its `Publisher` against the
//! publisher patterns; `DisplayVersion` gives the version and
//! `InstallLocation`, when set, is shown with the key.
//!
//! Per-user installs (`NTUSER.DAT`) are not read.

use notatin::cell_key_node::CellKeyNode;

use super::hive;
use crate::error::Result;
use crate::finding::Finding;
use crate::policy::{Kind, Policy};
use crate::target::Target;

/// The Uninstall keys in the SOFTWARE hive, 64-bit view first.
const UNINSTALL_KEYS: [&str; 2] = [
    r"Microsoft\Windows\CurrentVersion\Uninstall",
    r"WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall",
];

/// One program as its Uninstall key records it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstalledProgram {
    /// The key, as `HKLM\SOFTWARE\…\Uninstall\{GUID}`.
    pub key: String,
    /// `DisplayName`.
    pub name: Option<String>,
    /// `DisplayVersion`.
    pub version: Option<String>,
    /// `Publisher`.
    pub publisher: Option<String>,
    /// `InstallLocation`.
    pub location: Option<String>,
}

/// Uninstall keys of the SOFTWARE hive.
pub struct Uninstall;

impl super::Source for Uninstall {
    fn name(&self) -> &'static str {
        "windows-uninstall"
    }

    fn collect(&self, target: &Target, policy: &Policy, out: &mut Vec<Finding>) -> Result<()> {
        let Some(path) = hive::find(target, "SOFTWARE") else {
            return Ok(());
        };
        for program in hive::read(&path, read_programs)? {
            match_program(&program, policy, out);
        }
        Ok(())
    }
}

/// Every program under the Uninstall keys of a parsed SOFTWARE hive.
pub fn read_programs(
    parser: &mut notatin::parser::Parser,
    _root: CellKeyNode,
) -> Vec<InstalledProgram> {
    let mut out = Vec::new();
    for path in UNINSTALL_KEYS {
        let Some(mut key) = hive::key(parser, path) else {
            continue;
        };
        for sub in hive::subkeys(parser, &mut key) {
            out.push(InstalledProgram {
                key: format!(r"HKLM\SOFTWARE\{path}\{}", sub.key_name),
                name: hive::string(&sub, "DisplayName"),
                version: hive::string(&sub, "DisplayVersion"),
                publisher: hive::string(&sub, "Publisher"),
                location: hive::string(&sub, "InstallLocation"),
            });
        }
    }
    out
}

fn match_program(p: &InstalledProgram, policy: &Policy, out: &mut Vec<Finding>) {
    for vendor in &policy.vendors {
        let by_name = || {
            let n = p.name.as_ref()?;
            vendor.find(Kind::UninstallName, n)
        };
        let by_publisher = || {
            let n = p.publisher.as_ref()?;
            vendor.find(Kind::Publisher, n)
        };
        if let Some(id) = by_name().or_else(by_publisher) {
            let seen = match &p.location {
                Some(l) => format!("{} ({l})", p.key),
                None => p.key.clone(),
            };
            out.push(
                Finding::new(vendor, id, "windows-uninstall", seen)
                    .with_product(p.name.clone())
                    .with_version(p.version.clone()),
            );
        }
    }
}
