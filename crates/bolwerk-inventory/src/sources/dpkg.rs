//! dpkg's status file (`/var/lib/dpkg/status`): one stanza per package,
//! `Field: value` lines, continuation lines starting with a space, stanzas
//! separated by blank lines (deb-control(5), dpkg(1) on package states).

use crate::error::Result;
use crate::finding::Finding;
use crate::policy::{Kind, Policy};
use crate::target::Target;

/// Where dpkg keeps its status.
const STATUS: &str = "/var/lib/dpkg/status";

/// One package as dpkg's status file records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DpkgPackage {
    /// `Package:`.
    pub name: String,
    /// `Version:`, when present.
    pub version: Option<String>,
    /// The third word of `Status:` (`installed`, `config-files`, …).
    pub state: String,
}

impl DpkgPackage {
    /// Whether the package's files are on disk: every state but
    /// `not-installed` and `config-files` (where only conffiles remain).
    pub fn is_present(&self) -> bool {
        !matches!(self.state.as_str(), "not-installed" | "config-files" | "")
    }
}

/// Every package stanza in a status file's text.
pub fn parse_status(text: &str) -> Vec<DpkgPackage> {
    text.split("\n\n").filter_map(parse_stanza).collect()
}

fn parse_stanza(stanza: &str) -> Option<DpkgPackage> {
    let (mut name, mut version, mut state) = (None, None, String::new());
    for line in stanza.lines() {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((field, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match field.to_ascii_lowercase().as_str() {
            "package" => name = Some(value.to_string()),
            "version" => version = Some(value.to_string()),
            "status" => state = value.split_whitespace().nth(2).unwrap_or("").to_string(),
            _ => {}
        }
    }
    Some(DpkgPackage {
        name: name?,
        version,
        state,
    })
}

/// dpkg's status file.
pub struct Dpkg;

impl super::Source for Dpkg {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn collect(&self, target: &Target, policy: &Policy, out: &mut Vec<Finding>) -> Result<()> {
        let Some(bytes) = super::read_optional(&target.path(STATUS))? else {
            return Ok(());
        };
        let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
        for pkg in parse_status(&text)
            .into_iter()
            .filter(DpkgPackage::is_present)
        {
            for vendor in &policy.vendors {
                if let Some(id) = vendor.find(Kind::Package, &pkg.name) {
                    out.push(
                        Finding::new(vendor, id, "dpkg", &pkg.name)
                            .with_version(pkg.version.clone()),
                    );
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_continuations() {
        let text = "Package: kesl\nStatus: install ok installed\nVersion: 12.1.0.1297\n\
Description: x\n more\n Package: fake\n\n\
Package: klnagent64\nStatus: deinstall ok config-files\nVersion: 15.0\n\n\
Package: half\nStatus: install reinstreq half-installed\n";
        let p = parse_status(text);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].name, "kesl");
        assert_eq!(p[0].version.as_deref(), Some("12.1.0.1297"));
        assert!(p[0].is_present());
        assert!(!p[1].is_present());
        assert!(p[2].is_present());
    }
}
