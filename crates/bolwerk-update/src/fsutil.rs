//! Files written aside and renamed into place, reads with a size cap, and
//! the rule for names a pack may carry.

use std::io::{Read, Write};
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};

/// The longest file name a pack may carry.
const MAX_NAME: usize = 128;

/// A pack's file names are plain names in one directory: letters, digits,
/// `.`, `_`, `-`, not starting with a dot (no paths, no hidden files, no
/// `..`), so a target can never land outside the database directory.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Format,
            format!("{name:?} is not an acceptable pack file name (letters, digits, . _ -; no leading dot)"),
        ))
    }
}

/// A temporary file beside `dest` holding `data`, flushed to disk.
pub fn write_aside(dest: &Path, data: &[u8]) -> Result<tempfile::NamedTempFile> {
    let dir = parent(dest);
    let mut tmp = tempfile::Builder::new()
        .prefix(".bolwerk-")
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    tmp.write_all(data)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io(tmp.path(), e))?;
    Ok(tmp)
}

/// Writes `data` to `dest` atomically: aside, fsync, rename, fsync the directory.
pub fn write_atomic(dest: &Path, data: &[u8]) -> Result<()> {
    let tmp = write_aside(dest, data)?;
    tmp.persist(dest).map_err(|e| Error::io(dest, e.error))?;
    sync_dir(parent(dest))
}

/// Flushes a directory's entries (the renames in it) to disk.
pub fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Reads at most `max` bytes of `path`; a longer file is an error.
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut data = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut data)
        .map_err(|e| Error::io(path, e))?;
    if data.len() as u64 > max {
        return Err(Error::new(
            ErrorKind::Untrusted,
            format!("larger than the {max}-byte limit"),
        )
        .with_path(path));
    }
    Ok(data)
}

fn parent(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_are_refused() {
        for bad in [
            "",
            "..",
            ".hidden",
            "a/b",
            "../x.hdb",
            "a\\b",
            "x y",
            "é.hdb",
            &"a".repeat(129),
        ] {
            assert!(check_name(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["daily.cvd", "bolwerk-pack_1.ndb", "main.hsb"] {
            check_name(good).unwrap();
        }
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_part_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.hdb");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn bounded_read_refuses_longer_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, [0u8; 11]).unwrap();
        assert_eq!(read_bounded(&p, 11).unwrap().len(), 11);
        assert!(read_bounded(&p, 10)
            .unwrap_err()
            .to_string()
            .contains("10-byte limit"));
    }
}
