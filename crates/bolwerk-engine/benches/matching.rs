//! The matching stage alone, in bytes per second on one core: the official
//! ClamAV signatures over real binaries held in memory (no reading, no
//! unpacking, no type detection; every file one object of no particular
//! type, `--allmatch`). A criterion counterpart of
//! `examples/match_speed.rs`, for comparing changes to the matcher:
//!
//! ```text
//! cargo bench -p bolwerk-engine --bench matching
//! BOLWERK_BENCH_FILES=/usr/lib/x86_64-linux-gnu BOLWERK_BENCH_MB=100 cargo bench …
//! ```
//!
//! Databases: `../shared/corpora/clamav-official` beside the repository
//! (or `BOLWERK_BENCH_DB`), all of it and `main.ldb` alone. Files: the
//! regular files of `BOLWERK_BENCH_FILES` (default
//! `/usr/lib/x86_64-linux-gnu`, not descended into), in name order, until
//! `BOLWERK_BENCH_MB` (default 64) MB. Without the databases or the files
//! it says so and measures nothing.

use std::path::{Path, PathBuf};

use bolwerk_engine::{Engine, ObjectContext, ScanOptions};
use bolwerk_sigs::{LoadOptions, Loader};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

/// The official signatures' directory.
fn official() -> PathBuf {
    let default =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/clamav-official");
    std::env::var_os("BOLWERK_BENCH_DB").map_or(default, PathBuf::from)
}

/// Files to match, read into memory.
fn files() -> Vec<Vec<u8>> {
    let dir = env_or("BOLWERK_BENCH_FILES", "/usr/lib/x86_64-linux-gnu");
    let budget: usize = env_or("BOLWERK_BENCH_MB", "64").parse().unwrap_or(64) << 20;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file()))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    let mut total = 0;
    for p in paths {
        if total >= budget {
            break;
        }
        if let Ok(data) = std::fs::read(&p) {
            total += data.len();
            out.push(data);
        }
    }
    out
}

fn engine(path: &Path) -> Option<Engine> {
    let mut loader = Loader::new(LoadOptions::default());
    loader.add_path(path).ok()?;
    Some(Engine::build(loader.finish().0))
}

fn matching(c: &mut Criterion) {
    let db = official();
    let data = files();
    if !db.join("main.ldb").is_file() || data.is_empty() {
        eprintln!(
            "matching: no official signatures in {} or no files; nothing measured",
            db.display()
        );
        return;
    }
    let bytes: usize = data.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("matching");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(30));
    let opts = ScanOptions { all_match: true };
    let ctx = ObjectContext::default();
    for (label, path) in [("official", db.clone()), ("main.ldb", db.join("main.ldb"))] {
        let Some(engine) = engine(&path) else {
            eprintln!("matching: {} did not load", path.display());
            continue;
        };
        group.bench_function(label, |b| {
            b.iter(|| {
                data.iter()
                    .map(|d| engine.scan(d, &ctx, &opts).len())
                    .sum::<usize>()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, matching);
criterion_main!(benches);
