#![no_main]

//! signature-base filename regexes: most are found by their literal and
//! never compiled (`bolwerk-indicators/src/names.rs`). Whatever the
//! regexes and the path, the regexes that match must be exactly those the
//! `regex` crate says match.

use std::collections::BTreeSet;
use std::path::Path;

use bolwerk_indicators::{IndicatorsBuilder, ObjectName};
use libfuzzer_sys::fuzz_target;
use regex::bytes::RegexBuilder;

const FEED: &str = "fuzz-filename-iocs.txt";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines: Vec<&str> = text.split('\n').collect();
    let Some(path) = lines.pop() else { return };
    if lines.len() > 8 || path.contains('\0') {
        return;
    }
    let mut feed = String::new();
    let mut want = BTreeSet::new();
    let full = path.to_string();
    let windows = full.replace('/', "\\");
    for (n, re) in lines.iter().enumerate() {
        if re.is_empty() || re.contains(';') || re.trim() != *re || re.starts_with('#') {
            return;
        }
        feed.push_str(&format!("{re};80\n"));
        if let Ok(r) = RegexBuilder::new(re).unicode(false).build() {
            if r.is_match(full.as_bytes()) || r.is_match(windows.as_bytes()) {
                want.insert(format!("{FEED}:{}", n + 1));
            }
        }
    }
    let mut b = IndicatorsBuilder::new();
    if b.add_bytes(FEED, feed.as_bytes()).is_err() {
        return;
    }
    let (set, _) = b.build();
    let obj = ObjectName {
        file: Path::new(path),
        members: &[],
    };
    let got: BTreeSet<String> = set
        .match_object(obj, b"")
        .into_iter()
        .map(|m| m.indicator)
        .collect();
    assert_eq!(got, want, "{lines:?} on {path:?}");
});
