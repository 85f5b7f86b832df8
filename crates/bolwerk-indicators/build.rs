//! Reads the built-in indicator feeds (`builtin/`) with this crate's own
//! feed readers and writes them, read, into `OUT_DIR` in the packed form
//! `src/packed.rs` describes, with the list of feed names `src/builtin.rs`
//! includes. A start-up then decodes the feeds instead of decompressing
//! and parsing them (`src/builtin.rs`).
//!
//! The pack is curated: a feed line or object the readers refuse, or a
//! filename regex the `regex` crate refuses, fails the build with its file
//! and line, rather than a warning at every start.

use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "src/error.rs"]
mod error;
#[allow(dead_code)]
#[path = "src/feed.rs"]
mod feed;
#[allow(dead_code)]
#[path = "src/misp.rs"]
mod misp;
#[allow(dead_code)]
#[path = "src/packed.rs"]
mod packed;
#[allow(dead_code)]
#[path = "src/pattern.rs"]
mod pattern;
#[allow(dead_code)]
#[path = "src/read.rs"]
mod read;
#[allow(dead_code)]
#[path = "src/sigbase.rs"]
mod sigbase;
#[allow(dead_code)]
#[path = "src/stix.rs"]
mod stix;

fn main() {
    // Read at run time: a build script compiled for one checkout may be
    // reused by another sharing the target directory.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set");
    let root = Path::new(&manifest).join("builtin");
    println!("cargo:rerun-if-changed={}", root.display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR is set"));
    let mut names = Vec::new();
    collect(&root, &root, &mut names);
    names.sort();
    let mut feeds = Vec::new();
    for rel in &names {
        let raw = std::fs::read(root.join(rel)).expect("a readable feed");
        let name = format!("builtin:{rel}");
        let (feed, diags) = match read::read(&name, &raw) {
            Ok(r) => r,
            Err(e) => panic!("{}: {e}", root.join(rel).display()),
        };
        if let Some(d) = diags.into_iter().next() {
            panic!("a built-in feed line is refused: {}", d.with_path(&name));
        }
        check_regexes(&name, &feed);
        feeds.push((name, feed));
    }
    std::fs::write(out.join("builtin.pack"), packed::encode(&feeds)).expect("writable OUT_DIR");
    std::fs::write(out.join("names.rs"), format!("&{names:?}")).expect("writable OUT_DIR");
}

/// Every filename regex must parse as the index parses it (`src/set.rs`),
/// so the index can trust the pack's.
fn check_regexes(name: &str, feed: &feed::Feed) {
    let regexes = feed.entries.iter().flat_map(|e| {
        let values = e.any.iter().flatten();
        let values = values.filter(|c| c.path == feed::FILENAME_REGEX);
        values
            .map(|c| (e.line, c.value.as_str()))
            .chain(e.false_positive.as_deref().map(|f| (e.line, f)))
    });
    for (line, re) in regexes {
        let parsed = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(re);
        if let Err(e) = parsed {
            panic!(
                "{name}:{}: a regex the regex crate refuses: {e}",
                line.unwrap_or(0)
            );
        }
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).expect("a readable builtin/ directory") {
        let p = e.expect("a directory entry").path();
        println!("cargo:rerun-if-changed={}", p.display());
        if p.is_dir() {
            collect(root, &p, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("stix2" | "json" | "txt")
        ) {
            let rel = p.strip_prefix(root).expect("under root");
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}
