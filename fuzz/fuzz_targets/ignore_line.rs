#![no_main]

use bolwerk_sigs::IgnoreList;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut list = IgnoreList::default();
    if list.parse_line(data).is_ok() && !list.is_empty() {
        let text = std::str::from_utf8(data.strip_suffix(b"\r").unwrap_or(data)).unwrap();
        let fields: Vec<&str> = text.split(':').collect();
        let hit = fields.iter().any(|name| list.ignores(name, data));
        assert!(
            hit || fields.len() == 2,
            "entry from {text:?} ignores nothing"
        );
    }
});
