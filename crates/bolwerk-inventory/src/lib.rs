//! Installed-software inventory against a vendor phase-out policy.
//!
//! A [`Policy`] names vendors whose software is phased out, the identifiers
//! that give their software away on each platform (package names, paths,
//! systemd units, processes, Windows display names and services, macOS
//! bundle ids and Team IDs), and the phases of the phase-out (deadline and
//! scope). [`inventory`] reads a [`Target`] — the live system, or an
//! offline root such as a mounted disk image — through every source and
//! returns a [`HostReport`]: each piece of evidence with its confidence and
//! the phase it falls under, with the days left to the deadline.
//! [`merge`] turns many hosts' reports into a [`Fleet`] summary.
//!
//! ```
//! use bolwerk_inventory::{inventory, Options, Policy, Target};
//!
//! let root = tempfile::tempdir().unwrap();
//! std::fs::create_dir_all(root.path().join("opt/kaspersky/kesl")).unwrap();
//! let today = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
//! let opts = Options { today, scope: None, host: Some("pc1".into()) };
//! let report = inventory(&Target::offline(root.path()), &Policy::builtin(), &opts);
//! assert_eq!(report.findings[0].finding.observed, "/opt/kaspersky/kesl/");
//! assert_eq!(report.exit_code(), 1);
//! ```

#![deny(missing_docs)]

mod error;
mod finding;
mod fleet;
mod html;
mod policy;
mod report;
pub mod sources;
mod table;
mod target;
mod wildcard;

pub use error::{Error, ErrorKind, Result};
pub use finding::Finding;
pub use fleet::{merge, read_report, Fleet, Group, HostRow};
pub use policy::{Confidence, Identifier, Kind, Phase, Policy, Vendor, BUILTIN_TOML};
pub use report::{inventory, Entry, HostReport, Options, PhaseStatus};
pub use target::Target;
