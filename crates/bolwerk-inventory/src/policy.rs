//! The vendor policy: which vendors are phased out, how to recognise their
//! software on each platform, and the phases (deadline and scope) of the
//! phase-out.
//!
//! A policy is TOML. Each vendor lists identifiers per platform; an
//! identifier is a plain string, or a table that also gives the product it
//! stands for and a confidence (`high`, `medium`, `low`; the vendor's
//! `confidence` is the default). Low-confidence identifiers are reported as
//! "possible", never as a definite find.
//!
//! ```toml
//! name = "Example phase-out"
//!
//! [[phases]]
//! name = "government"
//! deadline = 2025-06-30
//! scope = "central government"
//!
//! [[vendors]]
//! id = "acme"
//! name = "ACME"
//! [vendors.linux]
//! packages = ["acme-agent", { value = "acme-gui", product = "ACME Desktop", confidence = "medium" }]
//! paths = ["/opt/acme/"]
//! ```
//!
//! The built-in policy ([`Policy::builtin`]) covers Kaspersky.

use std::fmt;
use std::path::Path;

use chrono::NaiveDate;
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::wildcard;

/// The built-in policy's TOML text.
pub const BUILTIN_TOML: &str = include_str!("../policies/kaspersky.toml");

/// How sure a policy is that an identifier means the vendor's software.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// A guess or a single weak source: reported as "possible".
    Low,
    /// One public source.
    Medium,
    /// Several independent public sources or the vendor's own documentation.
    High,
}

impl Confidence {
    /// `found`, or `possible` for low confidence.
    pub fn status(self) -> &'static str {
        match self {
            Confidence::Low => "possible",
            _ => "found",
        }
    }

    /// The lower-case name, as policies write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an identifier is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A Linux package name (dpkg or rpm); `*` wildcards allowed.
    Package,
    /// A Linux file or directory path (a trailing `/` names a directory).
    LinuxPath,
    /// A systemd unit (`kesl` matches `kesl.service`).
    SystemdUnit,
    /// A loaded Linux kernel module.
    KernelModule,
    /// A running process's name (`/proc/PID/comm`).
    Process,
    /// A Windows Uninstall key's `DisplayName`; `*` wildcards allowed.
    UninstallName,
    /// A regular expression for a Windows Uninstall key's `Publisher`.
    Publisher,
    /// The start of a Windows service's key name, case-insensitive.
    WindowsService,
    /// A Windows executable's file name, case-insensitive.
    WindowsExecutable,
    /// The start of a macOS bundle identifier.
    BundleIdPrefix,
    /// A macOS code-signing Team ID.
    TeamId,
    /// A macOS path; `*` wildcards allowed in the last component.
    MacPath,
    /// The start of an Android package name.
    AndroidPackagePrefix,
}

impl Kind {
    /// The kind's name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Package => "package",
            Kind::LinuxPath => "path",
            Kind::SystemdUnit => "systemd-unit",
            Kind::KernelModule => "kernel-module",
            Kind::Process => "process",
            Kind::UninstallName => "uninstall-name",
            Kind::Publisher => "publisher",
            Kind::WindowsService => "service",
            Kind::WindowsExecutable => "executable",
            Kind::BundleIdPrefix => "bundle-id",
            Kind::TeamId => "team-id",
            Kind::MacPath => "path",
            Kind::AndroidPackagePrefix => "android-package",
        }
    }
}

/// One identifier of a vendor's software.
#[derive(Clone, Debug)]
pub struct Identifier {
    /// What it is compared with.
    pub kind: Kind,
    /// The text as the policy writes it.
    pub value: String,
    /// The product it stands for, when the policy says.
    pub product: Option<String>,
    /// How sure the policy is.
    pub confidence: Confidence,
    regex: Option<Regex>,
}

impl Identifier {
    /// Whether an observed value (a package name, a display name, …)
    /// matches this identifier.
    pub fn matches(&self, observed: &str) -> bool {
        match self.kind {
            Kind::Publisher => self.regex.as_ref().is_some_and(|r| r.is_match(observed)),
            Kind::WindowsService | Kind::BundleIdPrefix | Kind::AndroidPackagePrefix => {
                starts_with_ci(observed, &self.value)
            }
            Kind::SystemdUnit => {
                observed == self.value
                    || observed.strip_suffix(".service") == Some(self.value.as_str())
            }
            Kind::Process => process_matches(&self.value, observed),
            Kind::TeamId => observed == self.value,
            _ => wildcard::matches(&self.value, observed),
        }
    }
}

/// `/proc/PID/comm` holds at most 15 bytes: a name cut there matches every
/// identifier it is the start of.
fn process_matches(pattern: &str, comm: &str) -> bool {
    const COMM_LEN: usize = 15;
    wildcard::matches(pattern, comm) || (comm.len() == COMM_LEN && pattern.starts_with(comm))
}

fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.is_char_boundary(prefix.len())
        && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// A vendor whose software is phased out.
#[derive(Clone, Debug)]
pub struct Vendor {
    /// A short, stable id (`kaspersky`).
    pub id: String,
    /// The name shown in reports.
    pub name: String,
    /// Where the identifiers come from (attribution).
    pub sources: Vec<String>,
    /// Every identifier, all platforms.
    pub identifiers: Vec<Identifier>,
    /// Observed values starting with one of these are never reported
    /// (for example a vendor's developer libraries).
    pub exclude: Vec<String>,
}

impl Vendor {
    /// The identifiers of one kind.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Identifier> {
        self.identifiers.iter().filter(move |i| i.kind == kind)
    }

    /// The first identifier of `kind` that matches `observed`, unless the
    /// value is excluded.
    pub fn find(&self, kind: Kind, observed: &str) -> Option<&Identifier> {
        if self.exclude.iter().any(|e| starts_with_ci(observed, e)) {
            return None;
        }
        self.of_kind(kind).find(|i| i.matches(observed))
    }
}

/// One phase of a phase-out: by when, for whom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    /// A short name (`government`).
    pub name: String,
    /// The date by which the software must be gone, when one is set.
    pub deadline: Option<NaiveDate>,
    /// Whom the phase applies to ("central government", "vital sectors").
    pub scope: String,
    /// The vendor ids it covers; empty: every vendor.
    #[serde(default)]
    pub vendors: Vec<String>,
    /// A note: the decision it follows, a source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Phase {
    /// Whether the phase covers this vendor.
    pub fn covers(&self, vendor_id: &str) -> bool {
        self.vendors.is_empty() || self.vendors.iter().any(|v| v == vendor_id)
    }

    /// Whether `selector` names this phase or is part of its scope
    /// (case-insensitive).
    pub fn selected_by(&self, selector: &str) -> bool {
        let s = selector.to_lowercase();
        self.name.to_lowercase() == s || self.scope.to_lowercase().contains(&s)
    }
}

/// A loaded policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The policy's name, shown in reports.
    pub name: String,
    /// The phases, as the policy lists them.
    pub phases: Vec<Phase>,
    /// The vendors.
    pub vendors: Vec<Vendor>,
}

impl Policy {
    /// The built-in policy (Kaspersky).
    pub fn builtin() -> Policy {
        Policy::from_toml(BUILTIN_TOML).expect("the built-in policy is valid")
    }

    /// A policy from TOML text.
    pub fn from_toml(text: &str) -> Result<Policy> {
        let raw: raw::Policy = toml::from_str(text).map_err(|e| Error::policy(e.to_string()))?;
        raw.resolve()
    }

    /// A policy from a TOML file.
    pub fn from_file(path: &Path) -> Result<Policy> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Policy::from_toml(&text).map_err(|e| e.with_path(path))
    }

    /// Several policies as one: their vendors and phases side by side.
    pub fn combine(policies: Vec<Policy>) -> Policy {
        let mut out = Policy {
            name: String::new(),
            phases: Vec::new(),
            vendors: Vec::new(),
        };
        let mut names = Vec::new();
        for p in policies {
            names.push(p.name);
            out.phases.extend(p.phases);
            out.vendors.extend(p.vendors);
        }
        out.name = names.join(" + ");
        out
    }

    /// The phase a find of `vendor_id` falls under: among the phases that
    /// cover the vendor (and match `scope`, when given), the one with the
    /// earliest deadline; phases without a deadline come last.
    pub fn phase_for(&self, vendor_id: &str, scope: Option<&str>) -> Option<&Phase> {
        self.phases
            .iter()
            .filter(|p| p.covers(vendor_id))
            .filter(|p| scope.is_none_or(|s| p.selected_by(s)))
            .min_by_key(|p| (p.deadline.is_none(), p.deadline))
    }
}

/// The policy file's shape, as serde reads it, before it is checked.
mod raw {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Policy {
        name: Option<String>,
        #[serde(default)]
        phases: Vec<Phase>,
        #[serde(default)]
        vendors: Vec<Vendor>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Phase {
        name: String,
        deadline: Option<Date>,
        #[serde(default)]
        scope: String,
        #[serde(default)]
        vendors: Vec<String>,
        note: Option<String>,
    }

    /// A date as a TOML local date (`2025-06-30`) or a string.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Date {
        Toml(toml::value::Datetime),
        Text(String),
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Vendor {
        id: String,
        name: Option<String>,
        confidence: Option<super::Confidence>,
        #[serde(default)]
        sources: Vec<String>,
        #[serde(default)]
        exclude: Vec<String>,
        #[serde(default)]
        linux: Linux,
        #[serde(default)]
        windows: Windows,
        #[serde(default)]
        macos: Macos,
        #[serde(default)]
        android: Android,
    }

    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct Linux {
        #[serde(default)]
        packages: Vec<Entry>,
        #[serde(default)]
        paths: Vec<Entry>,
        #[serde(default)]
        systemd_units: Vec<Entry>,
        #[serde(default)]
        kernel_modules: Vec<Entry>,
        #[serde(default)]
        processes: Vec<Entry>,
    }

    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct Windows {
        #[serde(default)]
        display_names: Vec<Entry>,
        #[serde(default)]
        publishers: Vec<Entry>,
        #[serde(default)]
        services: Vec<Entry>,
        #[serde(default)]
        executables: Vec<Entry>,
    }

    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct Macos {
        #[serde(default)]
        bundle_id_prefixes: Vec<Entry>,
        #[serde(default)]
        team_ids: Vec<Entry>,
        #[serde(default)]
        paths: Vec<Entry>,
    }

    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct Android {
        #[serde(default)]
        package_prefixes: Vec<Entry>,
    }

    /// An identifier: a plain string, or a table with more to say.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Entry {
        Plain(String),
        Full(FullEntry),
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct FullEntry {
        value: String,
        product: Option<String>,
        confidence: Option<super::Confidence>,
    }

    impl Policy {
        pub fn resolve(self) -> Result<super::Policy> {
            let phases = self
                .phases
                .into_iter()
                .map(Phase::resolve)
                .collect::<Result<Vec<_>>>()?;
            let vendors = self
                .vendors
                .into_iter()
                .map(Vendor::resolve)
                .collect::<Result<Vec<_>>>()?;
            for p in &phases {
                if let Some(v) = p
                    .vendors
                    .iter()
                    .find(|v| !vendors.iter().any(|x| &x.id == *v))
                {
                    return Err(Error::policy(format!(
                        "phase {:?} names vendor {v:?}, which the policy does not define",
                        p.name
                    )));
                }
            }
            Ok(super::Policy {
                name: self.name.unwrap_or_else(|| "unnamed policy".into()),
                phases,
                vendors,
            })
        }
    }

    impl Phase {
        fn resolve(self) -> Result<super::Phase> {
            let deadline = self.deadline.map(|d| d.resolve(&self.name)).transpose()?;
            Ok(super::Phase {
                name: self.name,
                deadline,
                scope: self.scope,
                vendors: self.vendors,
                note: self.note,
            })
        }
    }

    impl Date {
        fn resolve(self, phase: &str) -> Result<NaiveDate> {
            let text = match self {
                Date::Toml(d) => d.to_string(),
                Date::Text(s) => s,
            };
            NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
                Error::policy(format!(
                    "phase {phase:?}: deadline {text:?} is not a date (YYYY-MM-DD)"
                ))
            })
        }
    }

    impl Vendor {
        fn resolve(self) -> Result<super::Vendor> {
            let base = self.confidence.unwrap_or(super::Confidence::High);
            let mut ids = Vec::new();
            let groups = [
                (Kind::Package, self.linux.packages),
                (Kind::LinuxPath, self.linux.paths),
                (Kind::SystemdUnit, self.linux.systemd_units),
                (Kind::KernelModule, self.linux.kernel_modules),
                (Kind::Process, self.linux.processes),
                (Kind::UninstallName, self.windows.display_names),
                (Kind::Publisher, self.windows.publishers),
                (Kind::WindowsService, self.windows.services),
                (Kind::WindowsExecutable, self.windows.executables),
                (Kind::BundleIdPrefix, self.macos.bundle_id_prefixes),
                (Kind::TeamId, self.macos.team_ids),
                (Kind::MacPath, self.macos.paths),
                (Kind::AndroidPackagePrefix, self.android.package_prefixes),
            ];
            for (kind, entries) in groups {
                for e in entries {
                    ids.push(e.resolve(kind, base, &self.id)?);
                }
            }
            Ok(super::Vendor {
                name: self.name.unwrap_or_else(|| self.id.clone()),
                id: self.id,
                sources: self.sources,
                identifiers: ids,
                exclude: self.exclude,
            })
        }
    }

    impl Entry {
        fn resolve(self, kind: Kind, base: super::Confidence, vendor: &str) -> Result<Identifier> {
            let (value, product, confidence) = match self {
                Entry::Plain(v) => (v, None, base),
                Entry::Full(f) => (f.value, f.product, f.confidence.unwrap_or(base)),
            };
            if value.is_empty() {
                return Err(Error::policy(format!(
                    "vendor {vendor:?}: an empty {} identifier",
                    kind.as_str()
                )));
            }
            let regex = match kind {
                Kind::Publisher => Some(Regex::new(&value).map_err(|e| {
                    Error::new(ErrorKind::Policy(format!(
                        "vendor {vendor:?}: publisher pattern {value:?}: {e}"
                    )))
                })?),
                _ => None,
            };
            Ok(Identifier {
                kind,
                value,
                product,
                confidence,
                regex,
            })
        }
    }
}

#[cfg(test)]
mod tests;
