#![no_main]

use bolwerk_sigs::IgnoreList;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut list = IgnoreList::default();
    if list.parse_line(data).is_ok() && !list.is_empty() {
        // An accepted entry ignores one of its own fields as a name (the
        // NAME:MD5 form only the line whose MD5 it pins).
        let line = data.strip_suffix(b"\r").unwrap_or(data);
        let fields: Vec<&[u8]> = line.split(|&b| b == b':').collect();
        let hit = fields
            .iter()
            .filter_map(|f| std::str::from_utf8(f).ok())
            .any(|name| list.ignores(name, data));
        assert!(
            hit || fields.len() == 2,
            "entry from {data:?} ignores nothing"
        );
    }
});
