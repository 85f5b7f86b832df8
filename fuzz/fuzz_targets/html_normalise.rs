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
    // The scripts' copy: a byte of input gives at most a few of output (a
    // one-letter name becomes `n000` and a space), each script adds its
    // tags, and decoding adds at most its bound per script.
    let scripts = data.len() / 8 + 1;
    let bound = 8 * data.len() + scripts * (24 + 8 * html::js::MAX_DECODED);
    assert!(out.javascript.len() <= bound);
    assert!(html::normalise(data, false).notags.is_empty());
});
