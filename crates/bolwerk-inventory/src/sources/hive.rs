//! Offline Windows registry hives (the REGF format of
//! `Windows/System32/config/SOFTWARE`, `SYSTEM`, …), read with the
//! `notatin` crate.
//!
//! What is read: the primary hive file alone, as it was last written. The
//! transaction logs beside it (`SOFTWARE.LOG1`, `.LOG2`) are not applied: a
//! hive copied from a running system may miss its last few changes, which
//! is what every offline reader without the logs sees.
//!
//! Windows volumes mounted on Linux keep the case Windows gave their names
//! (`Windows/System32/config`, sometimes `WINDOWS/system32/CONFIG`), so the
//! hive is looked for case-insensitively.
//!
//! Limits: a hive larger than [`MAX_HIVE`] is not read (an error); the
//! parser runs behind `catch_unwind`, so a hive that makes it panic is an
//! error naming the file, not a crash.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use notatin::cell_key_node::CellKeyNode;
use notatin::cell_value::CellValue;
use notatin::parser::Parser;
use notatin::parser_builder::ParserBuilder;

use crate::error::{Error, Result};
use crate::target::Target;

/// The largest hive read. Real SOFTWARE hives run to a few hundred MiB.
pub const MAX_HIVE: u64 = 1024 * 1024 * 1024;

/// The most entries of one directory looked at when matching a name
/// case-insensitively.
const MAX_DIR_ENTRIES: usize = 100_000;

/// The most subkeys of one key read.
pub const MAX_SUBKEYS: usize = 100_000;

/// Where a hive is, relative to the root of a Windows volume.
const CONFIG_DIR: [&str; 3] = ["Windows", "System32", "config"];

/// The hive file `name` (`SOFTWARE`) of the Windows volume at the target's
/// root, found case-insensitively; `None` when there is none.
pub fn find(target: &Target, name: &str) -> Option<PathBuf> {
    let mut path = target.root().to_path_buf();
    for part in CONFIG_DIR.iter().chain(std::iter::once(&name)) {
        path = child_ci(&path, part)?;
    }
    path.is_file().then_some(path)
}

/// The per-user hives of the Windows volume at the target's root
/// (`Users/<profile>/NTUSER.DAT`, found case-insensitively), with the
/// profile's folder name, in name order.
pub fn user_hives(target: &Target) -> Vec<(String, PathBuf)> {
    let Some(users) = child_ci(target.root(), "Users") else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&users) else {
        return Vec::new();
    };
    let mut hives: Vec<(String, PathBuf)> = entries
        .take(MAX_DIR_ENTRIES)
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let hive = child_ci(&e.path(), "NTUSER.DAT").filter(|h| h.is_file())?;
            Some((e.file_name().to_string_lossy().into_owned(), hive))
        })
        .collect();
    hives.sort();
    hives
}

/// `dir/name`, matching `name` without regard to ASCII case; an exact
/// match wins, then the first match in byte order.
fn child_ci(dir: &Path, name: &str) -> Option<PathBuf> {
    let exact = dir.join(name);
    if exact.exists() {
        return Some(exact);
    }
    let mut matches: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .take(MAX_DIR_ENTRIES)
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_str().is_some_and(|s| s.eq_ignore_ascii_case(name)))
        .collect();
    matches.sort();
    matches.first().map(|n| dir.join(n))
}

/// Open the hive at `path` and run `f` on its parser and root key. A
/// hive that cannot be parsed, has no root key, or makes the parser panic
/// is an error naming the file.
pub fn read<T>(path: &Path, f: impl FnOnce(&mut Parser, CellKeyNode) -> T) -> Result<T> {
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if len > MAX_HIVE {
        return Err(Error::format(format!(
            "registry hive: {len} bytes, larger than the {MAX_HIVE} read"
        ))
        .with_path(path));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    read_bytes(bytes, f).map_err(|e| e.with_path(path))
}

/// [`read`] on a hive's bytes.
pub fn read_bytes<T>(bytes: Vec<u8>, f: impl FnOnce(&mut Parser, CellKeyNode) -> T) -> Result<T> {
    let bad = |msg: String| Error::format(format!("registry hive: {msg}"));
    let outcome = catch_unwind(AssertUnwindSafe(move || {
        // Deleted keys are not recovered (the builder's default).
        let mut parser = ParserBuilder::from_file(std::io::Cursor::new(bytes))
            .build()
            .map_err(|e| e.to_string())?;
        let root = parser
            .get_root_key()
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "no root key".to_string())?;
        Ok::<_, String>(f(&mut parser, root))
    }));
    match outcome {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(msg)) => Err(bad(msg)),
        Err(_) => Err(bad("the hive is malformed (the parser gave up)".into())),
    }
}

/// The key at `path` (`Microsoft\Windows`, case-insensitive) below the
/// root, if there is one.
pub fn key(parser: &mut Parser, path: &str) -> Option<CellKeyNode> {
    parser.get_key(path, false).ok().flatten()
}

/// A key's subkeys, at most [`MAX_SUBKEYS`].
pub fn subkeys(parser: &mut Parser, key: &mut CellKeyNode) -> Vec<CellKeyNode> {
    let mut keys = key.read_sub_keys(parser);
    keys.truncate(MAX_SUBKEYS);
    keys
}

/// A value of type `REG_SZ` or `REG_EXPAND_SZ` (name case-insensitive),
/// trimmed; `None` when absent, empty or of another type.
pub fn string(key: &CellKeyNode, name: &str) -> Option<String> {
    match key.get_value(name)?.get_content().0 {
        CellValue::String(s) => {
            let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
            (!s.is_empty()).then(|| s.to_string())
        }
        _ => None,
    }
}

/// A `REG_DWORD` value.
pub fn dword(key: &CellKeyNode, name: &str) -> Option<u32> {
    match key.get_value(name)?.get_content().0 {
        CellValue::U32(n) => Some(n),
        CellValue::I32(n) => u32::try_from(n).ok(),
        _ => None,
    }
}
