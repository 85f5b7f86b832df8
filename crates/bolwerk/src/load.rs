//! Loading the databases a command asked for into an engine, and telling
//! the user what went wrong on the way.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bolwerk_engine::Engine;
use bolwerk_sigs::{ErrorKind, LoadOptions, Loader};

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

/// Load and compile; `Err` only when `strict` and something was wrong.
pub fn load(req: &DbRequest<'_>) -> anyhow::Result<Loaded> {
    let start = Instant::now();
    let mut loader = Loader::new(LoadOptions {
        detect_pua: req.detect_pua,
        ..LoadOptions::default()
    });
    // The built-in pack loads first: where a user's database has the same
    // hash, the one loaded later (the user's) is reported, as in ClamAV.
    if req.builtin {
        loader.add_builtin();
    }
    let paths = if req.paths.is_empty() {
        default_dirs()
    } else {
        req.paths.to_vec()
    };
    let mut errors = 0;
    for p in &paths {
        if let Err(e) = loader.add_path(p) {
            report_error(p, &e.to_string());
            errors += 1;
        }
    }
    let (set, diags) = loader.finish();
    for d in &diags {
        match d.kind() {
            ErrorKind::Malformed(_) => eprintln!("WARNING: {d}"),
            _ => {
                eprintln!("ERROR: {d}");
                errors += 1;
            }
        }
    }
    if req.strict && (!diags.is_empty() || errors > 0) {
        anyhow::bail!("database problems found and --strict is set");
    }
    Ok(Loaded {
        engine: Arc::new(Engine::build(set)),
        errors,
        elapsed: start.elapsed(),
    })
}

fn report_error(path: &Path, msg: &str) {
    if msg.starts_with(&path.display().to_string()) {
        eprintln!("ERROR: {msg}");
    } else {
        eprintln!("ERROR: {}: {msg}", path.display());
    }
}
