//! The bolwerk scan driver.
//!
//! Given an [`Engine`](bolwerk_engine::Engine) and paths, it walks
//! directories in parallel on all cores with one [`Scanner`] per thread,
//! reads each file once (memory-mapping large ones), asks
//! `bolwerk-unpack` for what the engine needs (PE sections), runs the
//! engine, and reports an [`Event`] per directory and file to the caller's
//! thread. Front ends (the CLI, the daemon) turn events into output.

#![deny(missing_docs)]

mod clean_cache;
mod filter;
mod report;
mod rules;
mod scanner;
mod walk;

pub use clean_cache::{CacheKey, CleanCache, DEFAULT_CAPACITY};
pub use filter::{PathFilter, PatternError};
pub use report::{Event, FileReport, Found, Outcome, SkipReason};
pub use rules::{ObjectRef, ObjectRules};
pub use scanner::{ScanSettings, Scanner};
pub use walk::{scan_paths, WalkOptions};
