//! The external variables that signature-base's rules expect a scanner to
//! define, as Loki and THOR define them, set per object:
//!
//! | variable    | value |
//! | ----------- | ----- |
//! | `filename`  | the object's base name (an archive member's own name) |
//! | `filepath`  | the file's path; for an archive member, the path and the members' names joined with `//`, as bolwerk prints objects |
//! | `extension` | the file name's extension with its dot, lower case (`.exe`), or empty |
//! | `filetype`  | the type read from the first bytes, in signature-base's spelling (`EXE`, `ELF`, `MACH-O`, `RTF`, `PDF`, `ZIP`, …), or empty |
//! | `owner`     | the user name owning the file on disk (members inherit it), or empty |
//!
//! Each is a string, defined as empty at compile time so that every rule
//! using them compiles.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

/// The names of the external variables, all strings.
pub const EXTERNALS: [&str; 5] = ["filename", "filepath", "extension", "filetype", "owner"];

/// The values of the external variables for one object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Externals {
    /// `filename`.
    pub filename: String,
    /// `filepath`.
    pub filepath: String,
    /// `extension`.
    pub extension: String,
    /// `filetype`.
    pub filetype: &'static str,
    /// `owner`.
    pub owner: String,
}

impl Externals {
    /// The values for an object `members` deep inside `file`, whose bytes
    /// begin with `head`.
    pub fn for_object(file: &Path, members: &[String], head: &[u8]) -> Externals {
        let filepath = if members.is_empty() {
            file.to_string_lossy().into_owned()
        } else {
            format!("{}//{}", file.display(), members.join("//"))
        };
        let filename = match members.last() {
            Some(m) => base_name(m).to_string(),
            None => file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        Externals {
            extension: extension(&filename),
            filename,
            filepath,
            filetype: file_type(head),
            owner: owner_of(file),
        }
    }

    /// The values as (name, value) pairs, in the order of [`EXTERNALS`].
    pub fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("filename", &self.filename),
            ("filepath", &self.filepath),
            ("extension", &self.extension),
            ("filetype", self.filetype),
            ("owner", &self.owner),
        ]
    }
}

/// The last component of a member name, whichever separator it uses.
fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// `.ext` in lower case, or empty (a leading dot alone is no extension).
fn extension(name: &str) -> String {
    match name.rfind('.') {
        Some(i) if i > 0 => name[i..].to_lowercase(),
        _ => String::new(),
    }
}

/// Magic prefixes and the type names signature-base's rules compare.
const MAGIC: &[(&[u8], &str)] = &[
    (b"MZ", "EXE"),
    (b"\x7fELF", "ELF"),
    (b"\xfe\xed\xfa\xce", "MACH-O"),
    (b"\xfe\xed\xfa\xcf", "MACH-O"),
    (b"\xce\xfa\xed\xfe", "MACH-O"),
    (b"\xcf\xfa\xed\xfe", "MACH-O"),
    (b"{\\rt", "RTF"),
    (b"%PDF", "PDF"),
    (b"PK\x03\x04", "ZIP"),
    (b"Rar!", "RAR"),
    (b"7z\xbc\xaf\x27\x1c", "7Z"),
    (b"\x1f\x8b", "GZIP"),
    (b"MSCF", "CAB"),
    (b"MDMP", "MDMP"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE"),
    (b"<?php", "PHP"),
    (b"#!/usr/bin/python", "Python"),
    (b"#!/usr/bin/env python", "Python"),
];

/// The type of an object from its first bytes, or empty.
pub fn file_type(head: &[u8]) -> &'static str {
    MAGIC
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map_or("", |(_, name)| name)
}

thread_local! {
    /// User names by id, looked up once per thread.
    static USERS: RefCell<HashMap<u32, String>> = RefCell::new(HashMap::new());
    /// The last file asked about and its owner: an archive's members all
    /// ask about the same file.
    static LAST: RefCell<(std::path::PathBuf, String)> = RefCell::default();
}

/// The name of the user owning `path`, or empty when it has none or
/// cannot be read.
fn owner_of(path: &Path) -> String {
    if let Some(owner) = LAST.with(|l| {
        let l = l.borrow();
        (!path.as_os_str().is_empty() && l.0 == path).then(|| l.1.clone())
    }) {
        return owner;
    }
    let owner = lookup_owner(path);
    LAST.with(|l| *l.borrow_mut() = (path.to_path_buf(), owner.clone()));
    owner
}

fn lookup_owner(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return String::new();
    };
    let uid = meta.uid();
    USERS.with(|users| {
        users
            .borrow_mut()
            .entry(uid)
            .or_insert_with(|| user_name(uid).unwrap_or_default())
            .clone()
    })
}

/// The user name of `uid` from the system's user database.
fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    // SAFETY: `passwd` is plain data that getpwuid_r fills in; an all-zero
    // value is a valid starting state.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer refers to live memory of the size passed;
    // getpwuid_r writes strings only into `buf` and sets `result` to
    // `&mut pwd` or null.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: on success `pw_name` points at a NUL-terminated string inside
    // `buf`, which is still alive.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_paths_and_extensions_of_files_and_members() {
        let file = Path::new("/tmp/x/Archive.ZIP");
        let top = Externals::for_object(file, &[], b"PK\x03\x04rest");
        assert_eq!(top.filename, "Archive.ZIP");
        assert_eq!(top.filepath, "/tmp/x/Archive.ZIP");
        assert_eq!(top.extension, ".zip");
        assert_eq!(top.filetype, "ZIP");
        let members = ["dir/Inner.tar".to_string(), "bin\\Tool.EXE".to_string()];
        let inner = Externals::for_object(file, &members, b"MZ\x90\x00");
        assert_eq!(inner.filename, "Tool.EXE");
        assert_eq!(
            inner.filepath,
            "/tmp/x/Archive.ZIP//dir/Inner.tar//bin\\Tool.EXE"
        );
        assert_eq!(inner.extension, ".exe");
        assert_eq!(inner.filetype, "EXE");
    }

    #[test]
    fn no_extension_and_unknown_types_are_empty() {
        assert_eq!(extension("Makefile"), "");
        assert_eq!(extension(".bashrc"), "");
        assert_eq!(extension("a.tar.gz"), ".gz");
        assert_eq!(file_type(b"plain text"), "");
        assert_eq!(file_type(b"\x7fELF\x02\x01"), "ELF");
    }

    #[test]
    fn the_owner_is_the_user_name_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("mine");
        std::fs::write(&f, b"x").unwrap();
        // SAFETY: geteuid has no preconditions.
        let me = user_name(unsafe { libc::geteuid() }).expect("the current user has a name");
        assert_eq!(owner_of(&f), me);
        assert_eq!(owner_of(Path::new("/no/such/file")), "");
    }
}
