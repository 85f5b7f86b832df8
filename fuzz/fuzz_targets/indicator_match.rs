#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use bolwerk_indicators::{Indicators, IndicatorsBuilder, ObjectName};
use libfuzzer_sys::fuzz_target;

const FEED: &str = r#"{"type":"bundle","id":"bundle--f","objects":[
  {"type":"malware","id":"malware--m","name":"Fuzz"},
  {"type":"indicator","id":"indicator--1","pattern":"[domain-name:value = 'evil.com']"},
  {"type":"indicator","id":"indicator--2","pattern":"[email-addr:value = 'spy@evil.com']"},
  {"type":"indicator","id":"indicator--3","pattern":"[url:value = 'https://x.example/p?a=1']"},
  {"type":"indicator","id":"indicator--4","pattern":"[ipv4-addr:value = '10.0.0.1']"},
  {"type":"indicator","id":"indicator--5","pattern":"[file:name = 'History' AND domain-name:value = 'a.co.uk']"},
  {"type":"relationship","id":"relationship--r","relationship_type":"indicates",
   "source_ref":"indicator--1","target_ref":"malware--m"}]}"#;

fn set() -> &'static Indicators {
    static SET: OnceLock<Indicators> = OnceLock::new();
    SET.get_or_init(|| {
        let mut b = IndicatorsBuilder::new();
        b.add_bytes("fuzz.stix2", FEED.as_bytes())
            .expect("a valid feed");
        b.build().0
    })
}

// Hostile objects (text, SQLite databases, anything) against a fixed set.
fuzz_target!(|data: &[u8]| {
    let obj = ObjectName {
        file: Path::new("/evidence/History"),
        members: &[],
    };
    for m in set().match_object(obj, data) {
        assert!(m.indicator.starts_with("indicator--"));
        assert!(!m.detail.is_empty());
    }
});
