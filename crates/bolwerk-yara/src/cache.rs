//! The compiled-rule cache: compiling a few hundred rule files takes
//! seconds, loading them compiled a fraction of that, so compiled rules are
//! kept under `$XDG_CACHE_HOME/bolwerk/yara/` (or `~/.cache/...`), keyed by
//! everything that could change them: the yara-x version, the external
//! variables, and each source's path, namespace, size, modification time
//! and SHA-256.
//!
//! An entry is `MAGIC`, the SHA-256 of the rest, then the length of a JSON
//! header (the compile errors, so they are reported again on a cached
//! load), the header, and yara-x's serialised rules. yara-x warns that
//! deserialising altered bytes may panic while scanning, so an entry whose
//! checksum does not hold is never deserialised: it is rebuilt.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use yara_x::Rules;

use crate::error::LoadError;
use crate::externals::EXTERNALS;
use crate::sources::RuleSource;

/// First bytes of a cache entry (the last digit is the entry format).
const MAGIC: &[u8; 16] = b"BOLWERK-YARA-C1\n";

/// Entries kept in the directory; older ones are removed.
const KEEP: usize = 8;

/// The largest entry read back.
const MAX_ENTRY: u64 = 2 << 30;

/// What an entry holds besides the rules.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Header {
    /// The compile errors of the sources.
    pub errors: Vec<LoadError>,
    /// yara-x's warnings.
    pub warnings: usize,
}

/// Why a cache entry was not used.
#[derive(Debug, PartialEq, Eq)]
pub enum Miss {
    /// No entry for this key.
    Absent,
    /// An entry whose bytes do not hold together (rebuilt).
    Corrupt(String),
}

/// The default cache directory, if the environment names a home.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("bolwerk").join("yara"))
}

/// The key of a set of sources, as a hex string.
pub fn key(sources: &[RuleSource]) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(MAGIC);
    field(crate::YARA_X_VERSION.as_bytes());
    for name in EXTERNALS {
        field(name.as_bytes());
    }
    for s in sources {
        field(s.path.as_os_str().as_encoded_bytes());
        field(s.namespace.as_bytes());
        field(&(s.text.len() as u64).to_le_bytes());
        field(&s.mtime_ns.to_le_bytes());
        field(&s.sha256);
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The entry's file for `key` in `dir`.
pub fn entry_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{key}.rules"))
}

/// Read the entry for `key`.
pub fn load(dir: &Path, key: &str) -> Result<(Rules, Header), Miss> {
    let path = entry_path(dir, key);
    let len = match fs::metadata(&path) {
        Ok(m) => m.len(),
        Err(_) => return Err(Miss::Absent),
    };
    if len > MAX_ENTRY {
        return Err(Miss::Corrupt("larger than any entry written".into()));
    }
    let bytes = fs::read(&path).map_err(|e| Miss::Corrupt(e.to_string()))?;
    decode(&bytes).map_err(|m| Miss::Corrupt(m.to_string()))
}

/// Split and check an entry; deserialise the rules only once the checksum
/// holds.
fn decode(bytes: &[u8]) -> Result<(Rules, Header), &'static str> {
    let rest = bytes.strip_prefix(MAGIC).ok_or("not a cache entry")?;
    let (sum, body) = rest.split_at_checked(32).ok_or("truncated")?;
    if Sha256::digest(body).as_slice() != sum {
        return Err("checksum mismatch");
    }
    let (len, body) = body.split_at_checked(8).ok_or("truncated")?;
    let len = u64::from_le_bytes(len.try_into().expect("eight bytes"));
    let len = usize::try_from(len).map_err(|_| "bad header length")?;
    let (header, rules) = body.split_at_checked(len).ok_or("truncated header")?;
    let header: Header = serde_json::from_slice(header).map_err(|_| "bad header")?;
    let rules = Rules::deserialize(rules).map_err(|_| "rules do not deserialise")?;
    Ok((rules, header))
}

/// Write the entry for `key`, atomically, and drop old entries. Failing to
/// write is not an error for the caller: the rules are in memory.
pub fn store(dir: &Path, key: &str, rules: &Rules, header: &Header) -> std::io::Result<()> {
    let serialized = rules
        .serialize()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let head = serde_json::to_vec(header).map_err(std::io::Error::other)?;
    let mut body = Vec::with_capacity(8 + head.len() + serialized.len());
    body.extend_from_slice(&(head.len() as u64).to_le_bytes());
    body.extend_from_slice(&head);
    body.extend_from_slice(&serialized);
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{key}.{}.tmp", std::process::id()));
    let mut f = fs::File::create(&tmp)?;
    f.write_all(MAGIC)?;
    f.write_all(&Sha256::digest(&body))?;
    f.write_all(&body)?;
    f.sync_all()?;
    drop(f);
    let path = entry_path(dir, key);
    fs::rename(&tmp, &path)?;
    prune(dir, &path);
    Ok(())
}

/// Remove all but the [`KEEP`] newest entries, never the one just written.
fn prune(dir: &Path, current: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "rules") && e.path() != current)
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    found.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (_, path) in found.into_iter().skip(KEEP - 1) {
        let _ = fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        yara_x::compile("rule r { strings: $a = \"needle\" condition: $a }").unwrap()
    }

    fn matches(rules: &Rules, data: &[u8]) -> usize {
        yara_x::Scanner::new(rules)
            .scan(data)
            .unwrap()
            .matching_rules()
            .len()
    }

    #[test]
    fn an_entry_reads_back_with_its_errors() {
        let dir = tempfile::tempdir().unwrap();
        let header = Header {
            errors: vec![LoadError::new(Path::new("/r/bad.yar"), "boom")],
            warnings: 3,
        };
        store(dir.path(), "k", &rules(), &header).unwrap();
        let (back, h) = load(dir.path(), "k").unwrap();
        assert_eq!(h.errors, header.errors);
        assert_eq!(h.warnings, 3);
        assert_eq!(matches(&back, b"a needle here"), 1);
        assert_eq!(load(dir.path(), "other").err(), Some(Miss::Absent));
    }

    #[test]
    fn every_flipped_byte_and_every_truncation_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        store(dir.path(), "k", &rules(), &Header::default()).unwrap();
        let good = fs::read(entry_path(dir.path(), "k")).unwrap();
        for i in (0..good.len()).step_by(good.len() / 97 + 1) {
            let mut bad = good.clone();
            bad[i] ^= 0x20;
            assert!(decode(&bad).is_err(), "flip at {i} accepted");
        }
        for cut in [0, 10, 16, 40, 48, good.len() - 1] {
            assert!(
                decode(&good[..cut]).is_err(),
                "truncation at {cut} accepted"
            );
        }
    }

    #[test]
    fn the_key_changes_with_content_time_and_path() {
        let src = RuleSource {
            path: PathBuf::from("/r/a.yar"),
            namespace: "a.yar".into(),
            text: b"rule a { condition: true }".to_vec(),
            mtime_ns: 1,
            sha256: Sha256::digest(b"rule a { condition: true }").into(),
        };
        let base = key(std::slice::from_ref(&src));
        let changed = [
            RuleSource {
                mtime_ns: 2,
                ..src.clone()
            },
            RuleSource {
                path: PathBuf::from("/r/b.yar"),
                ..src.clone()
            },
            RuleSource {
                sha256: [1; 32],
                ..src.clone()
            },
            RuleSource {
                namespace: "b".into(),
                ..src.clone()
            },
        ];
        for c in changed {
            assert_ne!(key(&[c]), base);
        }
        assert_eq!(key(&[src]), base);
    }

    #[test]
    fn old_entries_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..KEEP + 3 {
            store(dir.path(), &format!("k{i}"), &rules(), &Header::default()).unwrap();
        }
        let n = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(n, KEEP);
    }
}
