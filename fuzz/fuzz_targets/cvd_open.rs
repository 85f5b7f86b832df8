#![no_main]

use bolwerk_sigs::{cvd, ContainerKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cvd::parse_header(data);
    for kind in [ContainerKind::Cvd, ContainerKind::Cld, ContainerKind::Cud] {
        let _ = cvd::open(data, kind);
    }
});
