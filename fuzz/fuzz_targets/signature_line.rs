//! One `.ndb`, `.ldb`, `.cdb` or `.ftm` line: parsed, and when it parses, compiled
//! and run over the input itself (or, for `.cdb`, over a member made from
//! it), so the matchers (atoms, verification, counts, PCRE, byte compares,
//! name expressions) see hostile patterns and hostile bytes together.
#![no_main]

use bolwerk_engine::{Engine, Member, ObjectContext, ScanOptions};
use bolwerk_sigs::{
    BodyParser, ContainerParser, FtmParser, IgnoreList, LogicalParser, Names, SignatureSet, FLEVEL,
};
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
    let cdb = ContainerParser {
        flevel: FLEVEL,
        ignore: &ignore,
    };
    if let Ok((_, Some(sig))) = cdb.parse_line(data, &mut set.names) {
        set.container_sigs.push(sig);
    }
    let ftm = FtmParser { flevel: FLEVEL };
    if let Ok((_, Some(rule))) = ftm.parse_line(data, &mut Names::new()) {
        set.file_types.push(rule);
    }
    if set.bodies.is_empty()
        && set.logical.is_empty()
        && set.container_sigs.is_empty()
        && set.file_types.is_empty()
    {
        return;
    }
    let engine = Engine::build(set);
    let _ = engine.retype(data, "CL_TYPE_BINARY_DATA", true);
    let ctx = ObjectContext {
        target: 1,
        entry: Some(data.len() as u64 / 2),
        sections: vec![(0, data.len() as u64 / 2), (data.len() as u64 / 2, 16)],
        containers: vec!["CL_TYPE_ZIP"],
        // `VI` offsets: version strings at the start and the middle.
        version_info: vec![0, data.len() as u64 / 2],
    };
    let all = ScanOptions { all_match: true };
    let _ = engine.scan(data, &ctx, &all);
    let name = String::from_utf8_lossy(data);
    let member = Member {
        container: "CL_TYPE_ZIP",
        container_size: data.len() as u64,
        name: Some(&name),
        packed_size: Some(data.len() as u64 / 2),
        real_size: data.len() as u64,
        encrypted: data.len() % 2 == 1,
        position: 1,
        crc32: None,
    };
    let _ = engine.scan_member(&member, &all);
});
