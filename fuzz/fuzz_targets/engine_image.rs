//! A compiled engine image (`.bwdb`) from hostile bytes: opening must
//! refuse or give an engine, and a scan with whatever was opened must not
//! panic. The input's checksum is set right before opening, so mutations
//! reach the directory, the tables and the metadata rather than stopping
//! at the CRC.
#![no_main]

use bolwerk_engine::{Engine, ObjectContext, ScanOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("bolwerk-fuzz-image-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("input.bwdb");
    let mut data = data.to_vec();
    if data.len() >= 64 {
        let crc = crc32fast::hash(&data[64..]);
        data[24..28].copy_from_slice(&crc.to_le_bytes());
    }
    if std::fs::write(&path, &data).is_err() {
        return;
    }
    if let Ok((engine, _)) = Engine::open(&path) {
        let sample = b"MZ\x90\x00 some bytes to look up X5O!P%@AP[4\\PZX54(P^)7CC)7}";
        let ctx = ObjectContext {
            target: 1,
            entry: Some(4),
            sections: vec![(0, 16), (16, 32)],
            containers: Vec::new(),
            version_info: vec![4],
        };
        for d in engine.scan(sample, &ctx, &ScanOptions { all_match: true }) {
            let _ = engine.display_name(d.name);
        }
    }
});
