//! Compresses the built-in indicator feeds (`builtin/`) into `OUT_DIR`
//! and writes the list `src/builtin.rs` includes.

use std::io::Write;
use std::path::{Path, PathBuf};

fn main() {
    // Read at run time: a build script compiled for one checkout may be
    // reused by another sharing the target directory.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR is set");
    let root = Path::new(&manifest).join("builtin");
    println!("cargo:rerun-if-changed={}", root.display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR is set"));
    let mut feeds = Vec::new();
    collect(&root, &root, &mut feeds);
    feeds.sort();
    let mut list = String::from("&[\n");
    for rel in &feeds {
        let raw = std::fs::read(root.join(rel)).expect("a readable feed");
        let gz = out.join(format!("{}.gz", rel.replace('/', "__")));
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&raw).expect("compressing in memory");
        std::fs::write(&gz, enc.finish().expect("compressing in memory"))
            .expect("writable OUT_DIR");
        list.push_str(&format!(
            "    ({rel:?}, include_bytes!({:?})),\n",
            gz.display().to_string()
        ));
    }
    list.push(']');
    std::fs::write(out.join("feeds.rs"), list).expect("writable OUT_DIR");
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
