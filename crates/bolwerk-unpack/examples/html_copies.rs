//! Print one of the normalised copies ClamAV makes of an HTML page, as
//! bolwerk makes it: `cargo run -p bolwerk-unpack --example html_copies --
//! nocomment|notags|javascript FILE`.

use std::io::Write as _;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(copy), Some(file)) = (args.next(), args.next()) else {
        eprintln!("usage: html_copies nocomment|notags|javascript FILE");
        std::process::exit(2);
    };
    let data = match std::fs::read(&file) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("html_copies: {file}: {e}");
            std::process::exit(2);
        }
    };
    let n = bolwerk_unpack::html::normalise(&data, true);
    let out = match copy.as_str() {
        "nocomment" => n.nocomment,
        "notags" => n.notags,
        "javascript" => n.javascript,
        other => {
            eprintln!("html_copies: no copy named {other}");
            std::process::exit(2);
        }
    };
    let _ = std::io::stdout().write_all(&out);
}
