#![no_main]

use std::path::Path;

use bolwerk_indicators::{IndicatorsBuilder, ObjectName};
use libfuzzer_sys::fuzz_target;

// Any bytes as each feed format, then indexed and matched once: readers,
// the index (regexes from the feed included) and matching must not panic.
fuzz_target!(|data: &[u8]| {
    for name in [
        "f.stix2",
        "f.json",
        "hash-iocs.txt",
        "filename-iocs.txt",
        "c2-iocs.txt",
    ] {
        let mut b = IndicatorsBuilder::new();
        b.min_score(0);
        let _ = b.add_bytes(name, data);
        let (set, _) = b.build();
        let obj = ObjectName {
            file: Path::new("/evidence/private/var/tmp/x.exe"),
            members: &[],
        };
        for m in set.match_object(obj, b"see evil.com and a@b.example on 10.0.0.1") {
            assert!(!m.detail.is_empty());
        }
    }
});
