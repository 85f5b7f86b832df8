//! Installers: Windows executables (a setup stub) that carry their payload
//! after the stub's sections (the overlay). [`read`] is called for every
//! `MZ` file; it looks in the overlay (from the end of the last section's
//! raw data; the whole file when the PE headers do not parse) for, in turn:
//!
//! * an NSIS archive ([`nsis`]);
//! * an InstallShield setup's file table ([`ishield`]): the older one of
//!   named files (and InstallShield cabinets) laid end to end, or the
//!   `InstallShield` stream of obfuscated, zlib-compressed files;
//! * an AutoIt compiled script and the files it installs ([`autoit`]),
//!   also looked for in the sections (where a `SCRIPT` resource is).
//!
//! The first format found is read; an executable without any has no
//! children, which is not an error.

pub(super) use super::le::{u16_at, u32_at, u64_at};
use crate::budget::Budget;
use crate::container::{UnpackError, Visit};

mod autoit;
mod ishield;
mod nsis;
mod nsis_bzip2;

/// Whether a reader recognised its format (and so read the overlay).
type Found = Result<bool, UnpackError>;

/// Visit the files an installer carries.
pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let overlay = overlay_start(data);
    if nsis::read(data, overlay, budget, visit)? {
        return Ok(());
    }
    if ishield::read(data, overlay, budget, visit)? {
        return Ok(());
    }
    autoit::read(data, overlay, budget, visit)?;
    Ok(())
}

/// Where the overlay starts: the end of the section data furthest into the
/// file, or 0 when `data` is not a PE file whose sections can be read.
fn overlay_start(data: &[u8]) -> usize {
    let Some(sections) = crate::pe::sections(data) else {
        return 0;
    };
    let end = sections
        .iter()
        .map(|s| u64::from(s.raw).saturating_add(u64::from(s.rsz)))
        .max()
        .unwrap_or(0);
    usize::try_from(end).unwrap_or(usize::MAX).min(data.len())
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Unpacking the real test files down to `clam.exe`.

    use std::path::Path;

    use md5::{Digest, Md5};

    use crate::{unpack, Budget, Child, FileType, Limits};

    /// MD5 of ClamAV's test program `clam.exe`.
    pub const CLAM_EXE_MD5: &str = "aa15bcf478d165efd2065190eb473bcb";

    /// A file of Debian's clamav-testfiles.
    pub fn testfile(name: &str) -> Vec<u8> {
        std::fs::read(Path::new("/usr/share/clamav-testfiles").join(name)).unwrap_or_else(|e| {
            panic!(
                "{name}: {e} (Debian package clamav-testfiles: apt-get install clamav-testfiles)"
            )
        })
    }

    pub fn md5_hex(data: &[u8]) -> String {
        Md5::digest(data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The MD5s of every object inside `data` (of type `ft`), recursively,
    /// and the result of unpacking the top level.
    pub fn all_md5s(data: &[u8], ft: FileType) -> (Vec<String>, Result<(), crate::UnpackError>) {
        let mut budget = Budget::new(&Limits::default());
        let mut found = Vec::new();
        let r = walk(data, ft, &mut budget, &mut found, 0);
        (found, r)
    }

    fn walk(
        data: &[u8],
        ft: FileType,
        budget: &mut Budget,
        found: &mut Vec<String>,
        depth: u32,
    ) -> Result<(), crate::UnpackError> {
        let mut children: Vec<Child> = Vec::new();
        let r = unpack(data, ft, budget, &mut |c, _| {
            children.push(c);
            std::ops::ControlFlow::Continue(())
        });
        for c in children {
            found.push(md5_hex(&c.data));
            if depth < 8 {
                let ft = crate::file_type(&c.data);
                let _ = walk(&c.data, ft, budget, found, depth + 1);
            }
        }
        r
    }

    /// Whether `clam.exe` is somewhere inside `data`, an executable.
    pub fn finds_clam(data: &[u8]) -> bool {
        let (md5s, _) = all_md5s(data, FileType::MsExe);
        md5s.iter().any(|m| m == CLAM_EXE_MD5)
    }
}
