//! One `.ndb` or `.ldb` line: parsed, and when it parses, compiled and run
//! over the input itself, so the matcher (atoms, verification, counts,
//! PCRE, byte compares) sees hostile patterns and hostile bytes together.
#![no_main]

use bolwerk_engine::{Engine, ObjectContext, ScanOptions};
use bolwerk_sigs::{BodyParser, IgnoreList, LogicalParser, Names, SignatureSet, FLEVEL};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ignore = IgnoreList::default();
    let mut set = SignatureSet::default();
    let body = BodyParser {
        flevel: FLEVEL,
        ignore: &ignore,
    };
    if let Ok((_, Some(sig))) = body.parse_line(data, &mut set.names) {
        set.bodies.push(sig);
    }
    let logical = LogicalParser {
        flevel: FLEVEL,
        ignore: &ignore,
    };
    if let Ok((_, Some(sig))) = logical.parse_line(data, &mut Names::new()) {
        let mut names = Names::new();
        let mut sig = sig;
        sig.name = names.push("fuzz").expect("one name");
        set.names = names;
        set.bodies.clear();
        set.logical.push(sig);
    }
    if set.bodies.is_empty() && set.logical.is_empty() {
        return;
    }
    let engine = Engine::build(set);
    let ctx = ObjectContext {
        target: 1,
        entry: Some(data.len() as u64 / 2),
        sections: vec![(0, data.len() as u64 / 2), (data.len() as u64 / 2, 16)],
        containers: vec!["CL_TYPE_ZIP"],
    };
    let _ = engine.scan(data, &ctx, &ScanOptions { all_match: true });
});
