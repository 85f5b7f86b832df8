//! YARA rules in bolwerk's scan, through the [`yara_x`] crate.
//!
//! [`YaraRulesBuilder`] reads rule files (a file named, or every `.yar` and
//! `.yara` below a directory), compiles each into its own namespace so that
//! a file with a fault is reported as `file:line: message` and the others
//! still load, and keeps the compiled set in a cache keyed by the sources'
//! paths, sizes, times and hashes (an entry whose checksum fails is rebuilt,
//! never trusted). The resulting [`YaraRules`] implement
//! [`bolwerk_scan::ObjectRules`]: the scanner hands them every object it
//! matches, archive members included, and each thread matches with its own
//! `yara_x::Scanner`. The external variables signature-base's rules use
//! (`filename`, `filepath`, `extension`, `filetype`, `owner`) are set per
//! object (see [`Externals`]).
//!
//! A match is reported as a [`bolwerk_scan::Found`] of kind `yara`, with
//! the signature `namespace:rule` (as `yr scan --print-namespace` writes
//! it) and the name `YARA.<rule>.UNOFFICIAL` (as ClamAV names the YARA rules
//! it loads).

#![deny(missing_docs)]

mod cache;
mod compile;
mod error;
mod externals;
mod rules;
mod sources;

pub use cache::default_dir as default_cache_dir;
pub use error::LoadError;
pub use externals::{file_type, Externals, EXTERNALS};
pub use rules::{CacheUse, Hit, Loaded, TimedOut, YaraRules, YaraRulesBuilder, DEFAULT_TIMEOUT};
pub use sources::{is_rule_file, MAX_RULE_FILE};

/// The yara-x release rules are compiled with (pinned in the workspace's
/// Cargo.toml; `yr` of the same release matches the same way).
pub const YARA_X_VERSION: &str = "1.22.1";
