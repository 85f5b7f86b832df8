//! Test support: Debian's clamav-testfiles, each holding ClamAV's test
//! program `clam.exe` somewhere inside.

use md5::{Digest, Md5};

use crate::{file_type, unpack, Budget, Child, FileType, Limits, UnpackError};

/// MD5 of `clam.exe`, ClamAV's 544-byte test program.
pub(crate) const CLAM_EXE_MD5: &str = "aa15bcf478d165efd2065190eb473bcb";

/// The bytes of `/usr/share/clamav-testfiles/<name>`.
pub(crate) fn testfile(name: &str) -> Vec<u8> {
    let path = std::path::Path::new("/usr/share/clamav-testfiles").join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (Debian package clamav-testfiles is missing: apt-get install clamav-testfiles)",
            path.display()
        )
    })
}

fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Unpack `data` as `ft` and every child recursively (typed by magic);
/// whether one of them is `clam.exe`, and the first error met.
pub(crate) fn holds_clam_exe(data: &[u8], ft: FileType) -> (bool, Result<(), UnpackError>) {
    let mut budget = Budget::new(&Limits::default());
    let mut found = false;
    let result = walk(data, ft, &mut budget, &mut found, 0);
    (found, result)
}

fn walk(
    data: &[u8],
    ft: FileType,
    budget: &mut Budget,
    found: &mut bool,
    depth: u32,
) -> Result<(), UnpackError> {
    let mut first_err = Ok(());
    unpack(
        data,
        ft,
        budget,
        &mut |child: Child, budget: &mut Budget| {
            if md5_hex(&child.data) == CLAM_EXE_MD5 {
                *found = true;
            } else if depth < 8 {
                let r = walk(
                    &child.data,
                    file_type(&child.data),
                    budget,
                    found,
                    depth + 1,
                );
                if first_err.is_ok() {
                    first_err = r;
                }
            }
            crate::Flow::Continue(())
        },
    )?;
    first_err
}

/// Prefixes of `data` and `data` with a byte flipped (at every offset, or
/// about 1024 offsets spread over a larger file): unpacking must not
/// panic; returns how many did not find `clam.exe`.
pub(crate) fn damaged_variants(data: &[u8], ft: FileType) -> usize {
    let step = (data.len() / 1024).max(1);
    let mut misses = 0;
    for len in (0..data.len()).step_by(step) {
        misses += usize::from(!holds_clam_exe(&data[..len], ft).0);
    }
    let mut copy = data.to_vec();
    for i in (0..copy.len()).step_by(step) {
        for flip in [0xff, 0x01, 0x80] {
            copy[i] ^= flip;
            misses += usize::from(!holds_clam_exe(&copy, ft).0);
            copy[i] ^= flip;
        }
    }
    misses
}
