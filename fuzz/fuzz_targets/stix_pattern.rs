#![no_main]

use bolwerk_indicators::pattern::{parse, MAX_TERMS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = parse(s) {
        assert!(!p.any.is_empty() && p.any.iter().all(|c| !c.is_empty()));
        assert!(p.any.iter().map(Vec::len).sum::<usize>() <= MAX_TERMS);
    }
});
