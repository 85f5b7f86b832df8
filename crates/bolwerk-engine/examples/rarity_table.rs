//! Writes the byte-pair rarity table the engine chooses atoms by
//! (`src/rarity.bin`): how often each byte and each pair of bytes occurs
//! in the files under the paths given, as -log2 of the frequency in
//! eighths of a bit (256 bytes for single bytes, then 65,536 for pairs,
//! first byte major), add-one smoothed.
//!
//! ```text
//! cargo run --release -p bolwerk-engine --example rarity_table -- \
//!     crates/bolwerk-engine/src/rarity.bin /usr/lib/x86_64-linux-gnu /usr/share/doc ...
//! ```

use std::path::Path;

fn walk(path: &Path, visit: &mut dyn FnMut(&[u8])) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        let mut names: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        for p in names {
            walk(&p, visit);
        }
    } else if meta.is_file() {
        if let Ok(data) = std::fs::read(path) {
            visit(&data);
        }
    }
}

fn rarity(count: u64, total: u64, cells: u64) -> u8 {
    let p = (count + 1) as f64 / (total + cells) as f64;
    (-p.log2() * 8.0).round().clamp(0.0, 255.0) as u8
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((out, paths)) = args.split_first() else {
        eprintln!("usage: rarity_table OUT PATH...");
        std::process::exit(2);
    };
    let mut ones = vec![0u64; 256];
    let mut pairs = vec![0u64; 1 << 16];
    let mut files = 0u64;
    for p in paths {
        walk(Path::new(p), &mut |data| {
            files += 1;
            for &b in data {
                ones[usize::from(b)] += 1;
            }
            for w in data.windows(2) {
                pairs[usize::from(w[0]) << 8 | usize::from(w[1])] += 1;
            }
        });
    }
    let (n1, n2) = (ones.iter().sum::<u64>(), pairs.iter().sum::<u64>());
    let mut table: Vec<u8> = ones.iter().map(|&c| rarity(c, n1, 256)).collect();
    table.extend(pairs.iter().map(|&c| rarity(c, n2, 1 << 16)));
    std::fs::write(out, &table).expect("write the table");
    eprintln!("{files} files, {n1} bytes: wrote {out}");
}
