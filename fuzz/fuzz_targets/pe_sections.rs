#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bolwerk_unpack::pe::sections(data);
    for range in bolwerk_unpack::pe::section_hash_ranges(data) {
        assert!(range.end <= data.len(), "hash range {range:?} past the end");
    }
    // The whole header reading, version information included: every
    // string it lists starts inside the file.
    if let Some(pe) = bolwerk_unpack::pe::parse(data) {
        for &at in &pe.version_info {
            assert!(at < data.len() as u64, "version string at {at} past the end");
        }
    }
    let _ = bolwerk_unpack::file_type(data);
});
