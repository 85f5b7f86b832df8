//! Finding and reading rule files: a file named is read whatever its name;
//! a directory is walked for `.yar` and `.yara` files, in sorted order so
//! that two loads of the same tree compile the same rule set.
//!
//! Each file becomes one namespace, named by its path below the directory
//! given (or its file name, when a file was named), as `yr` names the
//! sources it is given. A file larger than [`MAX_RULE_FILE`] is refused.

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

use crate::error::LoadError;

/// The largest rule file read (signature-base's largest is under 2 MiB).
pub const MAX_RULE_FILE: u64 = 64 << 20;

/// Directory levels walked below a directory given.
const MAX_DEPTH: usize = 32;

/// One rule file, read.
#[derive(Clone, Debug)]
pub struct RuleSource {
    /// Where it was read from.
    pub path: PathBuf,
    /// The namespace its rules are compiled into.
    pub namespace: String,
    /// Its bytes.
    pub text: Vec<u8>,
    /// Modification time in nanoseconds since the epoch (0 when unknown).
    pub mtime_ns: u128,
    /// SHA-256 of `text`.
    pub sha256: [u8; 32],
}

/// Read every rule file under `roots`; the files that cannot be read are
/// returned as errors beside the ones that could.
pub fn collect(roots: &[PathBuf]) -> (Vec<RuleSource>, Vec<LoadError>) {
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    let mut namespaces = HashSet::new();
    for root in roots {
        let files = match list(root) {
            Ok(files) => files,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        for (path, relative) in files {
            let namespace = if namespaces.insert(relative.clone()) {
                relative
            } else {
                path.display().to_string()
            };
            match read(&path, namespace) {
                Ok(src) => sources.push(src),
                Err(e) => errors.push(e),
            }
        }
    }
    (sources, errors)
}

/// The rule files a path names, each with its name relative to the path.
fn list(root: &Path) -> Result<Vec<(PathBuf, String)>, LoadError> {
    let meta = fs::metadata(root).map_err(|e| LoadError::io(root, &e))?;
    if !meta.is_dir() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| root.display().to_string());
        return Ok(vec![(root.to_path_buf(), name)]);
    }
    let mut files = Vec::new();
    walk(root, root, 0, &mut files)?;
    files.sort();
    Ok(files)
}

fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    out: &mut Vec<(PathBuf, String)>,
) -> Result<(), LoadError> {
    if depth > MAX_DEPTH {
        return Err(LoadError::new(dir, "directories nested too deeply"));
    }
    let entries = fs::read_dir(dir).map_err(|e| LoadError::io(dir, &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| LoadError::io(dir, &e))?;
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            walk(root, &path, depth + 1, out)?;
        } else if is_rule_file(&path) {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            out.push((path.clone(), rel.to_string_lossy().into_owned()));
        }
    }
    Ok(())
}

/// Whether a file met in a directory is a rule file (`.yar`, `.yara`).
pub fn is_rule_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yar") || e.eq_ignore_ascii_case("yara"))
}

fn read(path: &Path, namespace: String) -> Result<RuleSource, LoadError> {
    let file = fs::File::open(path).map_err(|e| LoadError::io(path, &e))?;
    let meta = file.metadata().map_err(|e| LoadError::io(path, &e))?;
    if meta.len() > MAX_RULE_FILE {
        return Err(LoadError::new(
            path,
            format!("rule file larger than {MAX_RULE_FILE} bytes"),
        ));
    }
    let mut text = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_RULE_FILE + 1)
        .read_to_end(&mut text)
        .map_err(|e| LoadError::io(path, &e))?;
    if text.len() as u64 > MAX_RULE_FILE {
        return Err(LoadError::new(path, "rule file grew while read"));
    }
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok(RuleSource {
        path: path.to_path_buf(),
        namespace,
        sha256: Sha256::digest(&text).into(),
        text,
        mtime_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_give_sorted_rule_files_and_relative_namespaces() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("b.yar"), "rule b { condition: true }").unwrap();
        fs::write(dir.path().join("sub/a.YARA"), "rule a { condition: true }").unwrap();
        fs::write(dir.path().join("notes.txt"), "not rules").unwrap();
        let (sources, errors) = collect(&[dir.path().to_path_buf()]);
        assert!(errors.is_empty(), "{errors:?}");
        let names: Vec<&str> = sources.iter().map(|s| s.namespace.as_str()).collect();
        assert_eq!(names, ["b.yar", "sub/a.YARA"]);
    }

    #[test]
    fn a_named_file_is_read_whatever_its_name_and_a_missing_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rules.txt");
        fs::write(&file, "rule r { condition: true }").unwrap();
        let missing = dir.path().join("missing.yar");
        let (sources, errors) = collect(&[file.clone(), missing.clone()]);
        assert_eq!(sources.len(), 1);
        assert_eq!(sources[0].namespace, "rules.txt");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, missing);
    }

    #[test]
    fn the_same_relative_name_twice_gets_the_full_path() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        fs::write(a.path().join("r.yar"), "rule a { condition: true }").unwrap();
        fs::write(b.path().join("r.yar"), "rule b { condition: true }").unwrap();
        let (sources, _) = collect(&[a.path().to_path_buf(), b.path().to_path_buf()]);
        assert_eq!(sources[0].namespace, "r.yar");
        assert_eq!(
            sources[1].namespace,
            b.path().join("r.yar").display().to_string()
        );
    }
}
