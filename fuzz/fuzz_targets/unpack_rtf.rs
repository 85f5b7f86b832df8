#![no_main]

use bolwerk_unpack::{unpack, Budget, FileType, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for ft in [FileType::Rtf] {
        let limits = Limits {
            max_file_size: 1 << 20,
            max_scan_size: 8 << 20,
            ..Limits::default()
        };
        let mut budget = Budget::new(&limits);
        let _ = unpack(data, ft, &mut budget, &mut |child, _| {
            assert!(child.data.len() <= 1 << 20, "child over the size allowance");
            std::ops::ControlFlow::Continue(())
        });
    }
});
