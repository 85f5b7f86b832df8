#![no_main]

use bolwerk_update::tlog::note::{Checkpoint, Note, VerifierKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        let _ = Checkpoint::parse(&note.text);
        assert_eq!(Note::parse(note.to_text().as_bytes()).ok(), Some(note));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = VerifierKey::parse(text);
        let _ = bolwerk_update::tlog::Policy::parse(text);
    }
});
