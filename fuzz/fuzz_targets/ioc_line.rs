#![no_main]

use bolwerk_indicators::sigbase::{read, IocKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for kind in [IocKind::Hash, IocKind::Filename, IocKind::C2] {
        let (feed, errors) = read(&text, kind);
        assert!(feed.entries.len() + errors.len() <= text.lines().count());
    }
});
