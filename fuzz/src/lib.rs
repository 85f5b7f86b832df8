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
