//! Windows' installed programs, as "Apps & features" lists them: the
//! subkeys of `Microsoft\Windows\CurrentVersion\Uninstall` in the offline
//! SOFTWARE hive, and of `WOW6432Node\Microsoft\…\Uninstall` for 32-bit
//! programs on 64-bit Windows. Each subkey's `DisplayName` is matched
//! against the policy's display-name patterns, its `Publisher` against the
//! publisher patterns; `DisplayVersion` gives the version and
//! `InstallLocation`, when set, is shown with the key.
//!
//! Per-user installs are read from each profile's hive,
//! `Users/<profile>/NTUSER.DAT`, under its
//! `Software\Microsoft\Windows\CurrentVersion\Uninstall`; their keys are shown as
//! `HKU\<profile>\Software\…` (the profile's folder name: its SID is not
//! known offline). A damaged hive is an error naming it; the other hives
//! still report.

use notatin::cell_key_node::CellKeyNode;

use super::hive;
use crate::error::Result;
use crate::finding::Finding;
use crate::policy::{Kind, Policy};
use crate::target::Target;

/// The Uninstall key of a user's hive (`NTUSER.DAT`).
const USER_UNINSTALL_KEY: &str = r"Software\Microsoft\Windows\CurrentVersion\Uninstall";

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

/// Uninstall keys of the SOFTWARE hive and of the users' hives.
pub struct Uninstall;

impl super::Source for Uninstall {
    fn name(&self) -> &'static str {
        "windows-uninstall"
    }

    fn collect(&self, target: &Target, policy: &Policy, out: &mut Vec<Finding>) -> Result<()> {
        let machine = hive::find(target, "SOFTWARE").map(|path| hive::read(&path, read_programs));
        let users = hive::user_hives(target)
            .into_iter()
            .map(|(user, path)| hive::read(&path, |parser, _| read_user_programs(parser, &user)));
        let mut first_error = None;
        for programs in machine.into_iter().chain(users) {
            match programs {
                Ok(programs) => {
                    for program in &programs {
                        match_program(program, policy, out);
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Every program under the Uninstall key of the parsed hive of the user
/// whose profile folder is `user`.
pub fn read_user_programs(
    parser: &mut notatin::parser::Parser,
    user: &str,
) -> Vec<InstalledProgram> {
    let Some(mut key) = hive::key(parser, USER_UNINSTALL_KEY) else {
        return Vec::new();
    };
    hive::subkeys(parser, &mut key)
        .into_iter()
        .map(|sub| {
            program(
                format!(r"HKU\{user}\{USER_UNINSTALL_KEY}\{}", sub.key_name),
                &sub,
            )
        })
        .collect()
}

/// One program from its Uninstall subkey, shown as `key`.
fn program(key: String, sub: &CellKeyNode) -> InstalledProgram {
    InstalledProgram {
        key,
        name: hive::string(sub, "DisplayName"),
        version: hive::string(sub, "DisplayVersion"),
        publisher: hive::string(sub, "Publisher"),
        location: hive::string(sub, "InstallLocation"),
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
            out.push(program(
                format!(r"HKLM\SOFTWARE\{path}\{}", sub.key_name),
                &sub,
            ));
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
