//! The built-in pack: a few signatures compiled into the binary, so a fresh
//! installation with no database detects the standard test files.

/// Path under which the built-in pack is reported.
pub const BUILTIN_PATH: &str = "<builtin>/bolwerk-builtin.hdb";

/// The built-in hash database, in `.hdb` format.
pub const BUILTIN_HDB: &str = include_str!("../builtin/bolwerk-builtin.hdb");
