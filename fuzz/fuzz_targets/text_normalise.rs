#![no_main]

use bolwerk_unpack::text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = text::text_kind(data);
    let out = text::normalise(data);
    // Normalising never grows text, and what comes out is normal already.
    assert!(out.len() <= data.len());
    assert_eq!(text::normalise(&out), out);
    assert!(!out.windows(2).any(|w| w == b"  "));
});
