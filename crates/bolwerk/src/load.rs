//! Loading the databases a command asked for into an engine, and telling
//! the user what went wrong on the way.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bolwerk_engine::{cache, Engine};
use bolwerk_sigs::LoadOptions;

/// bolwerk's own database directory.
pub const BOLWERK_DB_DIR: &str = "/var/lib/bolwerk";
/// ClamAV's database directory, used when present.
pub const CLAMAV_DB_DIR: &str = "/var/lib/clamav";

/// What to load.
pub struct DbRequest<'a> {
    /// `-d` paths; empty means the default directories.
    pub paths: &'a [PathBuf],
    /// Load the built-in pack.
    pub builtin: bool,
    /// Load PUA signatures.
    pub detect_pua: bool,
    /// Treat any malformed line as fatal.
    pub strict: bool,
    /// Use (and fill) the engine cache.
    pub cache: bool,
}

/// The loaded engine and what loading cost.
pub struct Loaded {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Databases refused or unreadable (each already reported on stderr).
    pub errors: usize,
    /// Time to load and compile.
    pub elapsed: Duration,
}

/// The default database directories that exist.
pub fn default_dirs() -> Vec<PathBuf> {
    [BOLWERK_DB_DIR, CLAMAV_DB_DIR]
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .collect()
}

/// Load and compile (see `bolwerk_engine::cache::load`: a single
/// `-d FILE.bwdb` is mapped, and with `cache` an image of the databases is
/// reused or written); `Err` only when `strict` and something was wrong.
pub fn load(req: &DbRequest<'_>) -> anyhow::Result<Loaded> {
    let start = Instant::now();
    let paths = if req.paths.is_empty() {
        default_dirs()
    } else {
        req.paths.to_vec()
    };
    let loaded = cache::load(&cache::Request {
        paths,
        builtin: req.builtin,
        options: LoadOptions {
            detect_pua: req.detect_pua,
            ..LoadOptions::default()
        },
        cache: req.cache,
        prefer_mapped: false,
        verify_cached: false,
    });
    for w in &loaded.warnings {
        eprintln!("WARNING: {w}");
    }
    for e in &loaded.errors {
        eprintln!("ERROR: {e}");
    }
    if req.strict && (!loaded.warnings.is_empty() || !loaded.errors.is_empty()) {
        anyhow::bail!("database problems found and --strict is set");
    }
    Ok(Loaded {
        engine: Arc::new(loaded.engine),
        errors: loaded.errors.len(),
        elapsed: start.elapsed(),
    })
}
