#![no_main]

use bolwerk_unpack::vba;
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    // The bytes as a compressed container, and as an OLE2 document whose
    // VBA projects are read; no output exceeds the limit.
    assert!(vba::decompress(data, LIMIT).len() <= LIMIT);
    for module in vba::sources(data, LIMIT) {
        assert!(module.source.len() <= LIMIT);
    }
});
