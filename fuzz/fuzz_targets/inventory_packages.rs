#![no_main]

use bolwerk_inventory::sources::parse_packages;
use libfuzzer_sys::fuzz_target;

// Any bytes as Android's package list, as text XML and (with the magic
// put in front) as Android Binary XML: packages or an error, never a
// crash; every package has a name.
fuzz_target!(|data: &[u8]| {
    let mut abx = b"ABX\0".to_vec();
    abx.extend_from_slice(data);
    for input in [data, abx.as_slice()] {
        if let Ok(packages) = parse_packages(input) {
            assert!(packages.iter().all(|p| !p.name.is_empty()));
        }
    }
});
