//! What the container-reader fuzz targets share: unpack hostile bytes as a
//! given type under small limits, checking the budget's promise that no
//! child exceeds the size allowance.

use bolwerk_unpack::{unpack, Budget, FileType, Limits};

/// The most bytes one child may have under the fuzzing limits.
const MAX_CHILD: u64 = 1 << 20;

/// Unpack `data` as each of `types`.
pub fn unpack_as(data: &[u8], types: &[FileType]) {
    for &ft in types {
        let limits = Limits {
            max_file_size: MAX_CHILD,
            max_scan_size: 8 * MAX_CHILD,
            ..Limits::default()
        };
        let mut budget = Budget::new(&limits);
        let _ = unpack(data, ft, &mut budget, &mut |child, _| {
            assert!(
                child.data.len() as u64 <= MAX_CHILD,
                "child over the size allowance"
            );
            std::ops::ControlFlow::Continue(())
        });
    }
}

/// Write `bytes` at `at` (the fuzz targets' files are built with room for
/// everything they put).
pub fn put(buf: &mut [u8], at: usize, bytes: &[u8]) {
    buf[at..at + bytes.len()].copy_from_slice(bytes);
}

/// Write a little-endian u32 at `at`.
pub fn put32(buf: &mut [u8], at: usize, v: u32) {
    put(buf, at, &v.to_le_bytes());
}

/// Write a PE section header at `at`: name, virtual size and address, raw
/// size and offset.
pub fn section(buf: &mut [u8], at: usize, name: &[u8], vsize: u32, rva: u32, rsize: u32, raw: u32) {
    put(buf, at, name);
    put32(buf, at + 8, vsize);
    put32(buf, at + 12, rva);
    put32(buf, at + 16, rsize);
    put32(buf, at + 20, raw);
}
