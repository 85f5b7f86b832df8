#![no_main]

use bolwerk_unpack::html;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = html::magic_at(data);
    let out = html::normalise(data, true);
    // The copies grow at most linearly: a reference of five bytes can
    // stand for two code points written back as `&#xHHHH;` each; a link's
    // target is copied once more into the text.
    assert!(out.nocomment.len() <= 4 * data.len() + 8);
    assert!(out.notags.len() <= 4 * data.len() + 8);
    assert!(html::normalise(data, false).notags.is_empty());
});
