//! The matching stage alone: the engine's throughput per core over files
//! held in memory, with the work verification spent, for
//! `bench/engine.sh`. Loading, reading and unpacking are not timed; every
//! file is matched as one object of no particular type (target 0) with
//! `--allmatch` semantics, twice, and the faster pass counts.
//!
//! ```text
//! cargo run --release -p bolwerk-engine --example match_speed -- DB FILE...
//! ```
//!
//! Prints one line of `key=value` pairs: MB (10^6 bytes), seconds,
//! MB/s, detections, the most work one object took against its budget,
//! and objects cut short.

use std::time::Instant;

use bolwerk_engine::{Engine, ObjectContext, ScanOptions};
use bolwerk_sigs::{LoadOptions, Loader};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((db, files)) = args.split_first() else {
        eprintln!("usage: match_speed DB FILE...");
        std::process::exit(2);
    };
    let mut loader = Loader::new(LoadOptions::default());
    loader
        .add_path(std::path::Path::new(db))
        .expect("load the database");
    let (set, diags) = loader.finish();
    for d in diags {
        eprintln!("warning: {d}");
    }
    let engine = Engine::build(set);
    let data: Vec<Vec<u8>> = files.iter().filter_map(|f| std::fs::read(f).ok()).collect();
    let bytes: usize = data.iter().map(Vec::len).sum();
    let opts = ScanOptions { all_match: true };
    let ctx = ObjectContext::default();
    let mut best = f64::MAX;
    let (mut found, mut max_work, mut max_budget, mut cut) = (0, 0u64, 0u64, 0);
    for _ in 0..2 {
        let t = Instant::now();
        (found, max_work, max_budget, cut) = (0, 0, 0, 0);
        for d in &data {
            let r = engine.scan(d, &ctx, &opts);
            found += r.len();
            if r.work > max_work {
                max_work = r.work;
                max_budget = (1u64 << 28) + 256 * d.len() as u64;
            }
            cut += usize::from(r.cut_short);
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    let mb = bytes as f64 / 1e6;
    println!(
        "files={} mb={mb:.1} seconds={best:.3} mb_per_s={:.0} detections={found} max_work={max_work} its_budget={max_budget} cut_short={cut}",
        data.len(),
        mb / best
    );
}
