//! The engine the daemon scans with, and its reload.
//!
//! Each request takes the current [`Generation`] (an `Arc`) when its scan
//! starts and keeps it to the end. A reload builds the next generation on
//! a thread of its own, beside the one in use, and swaps the pointer; the
//! old engine is freed when the last scan holding it ends. Requests never
//! wait for a reload and none fails because of one. Only one reload runs
//! at a time; a request for another while one runs is folded into it. A
//! reload that fails keeps the engine in use.
//!
//! YARA rule files among the databases (clamd loads `.yar` and `.yara`
//! files from its database directory) are compiled into each generation
//! by the [`RulesLoader`] the program provides; indicator feeds among them
//! (STIX, MISP, signature-base IOC files) are loaded into it too.
//!
//! With the cache on (the default), large databases load as a mapped
//! compiled image: the old and new generations then share most pages with
//! the page cache, so a reload does not double the daemon's memory.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime};

use bolwerk_engine::{cache, Engine};
use bolwerk_indicators::{ErrorKind as FeedError, Indicators, IndicatorsBuilder};
use bolwerk_scan::{CleanCache, ObjectRules};
use bolwerk_sigs::LoadOptions;

use crate::config::RulesLoader;
use crate::error::Error;
use crate::log::Log;

/// What to load.
#[derive(Clone, Debug)]
pub struct DbSpec {
    /// Database files and directories, in load order.
    pub paths: Vec<PathBuf>,
    /// Load the built-in pack first.
    pub builtin: bool,
    /// Load PUA signatures.
    pub detect_pua: bool,
    /// Use the compiled-engine cache (see `bolwerk_engine::cache`).
    pub cache: bool,
    /// Loads the YARA rule files among the databases.
    pub rules: Option<RulesLoader>,
    /// Give each generation a clean-result cache.
    pub clean_cache: bool,
}

/// One loaded engine and what identifies it.
pub struct Generation {
    /// The engine.
    pub engine: Arc<Engine>,
    /// What `VERSION` answers.
    pub version: String,
    /// YARA rules loaded from the database directories.
    pub rules: Vec<Arc<dyn ObjectRules>>,
    /// Indicator feeds found among the databases.
    pub indicators: Option<Arc<Indicators>>,
    /// Objects this generation found clean (dropped with it on reload).
    pub clean_cache: Option<Arc<CleanCache>>,
}

/// The current generation and the reload machinery.
pub struct Database {
    spec: DbSpec,
    current: RwLock<Arc<Generation>>,
    reloading: AtomicBool,
    again: AtomicBool,
    fingerprint: RwLock<Vec<(PathBuf, u64, Option<SystemTime>)>>,
    log: Arc<Log>,
}

impl Database {
    /// Load the first generation; an error when nothing at all could be
    /// loaded from a named path.
    pub fn open(spec: DbSpec, log: Arc<Log>) -> Result<Database, Error> {
        bound_retained_heap();
        let fingerprint = fingerprint(&spec.paths);
        let first = load(&spec, &log)?;
        Ok(Database {
            spec,
            current: RwLock::new(Arc::new(first)),
            reloading: AtomicBool::new(false),
            again: AtomicBool::new(false),
            fingerprint: RwLock::new(fingerprint),
            log,
        })
    }

    /// The generation to scan with now.
    pub fn current(&self) -> Arc<Generation> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Start a reload in the background (or fold this request into the one
    /// running).
    pub fn reload(self: &Arc<Self>) {
        if self.reloading.swap(true, Ordering::AcqRel) {
            self.again.store(true, Ordering::Release);
            return;
        }
        let db = self.clone();
        std::thread::Builder::new()
            .name("reload".into())
            .spawn(move || db.reload_loop())
            .map(drop)
            .unwrap_or_else(|e| {
                self.log.line(&format!("ERROR: cannot start a reload: {e}"));
                self.reloading.store(false, Ordering::Release);
            });
    }

    fn reload_loop(&self) {
        loop {
            self.again.store(false, Ordering::Release);
            self.reload_now();
            if !self.again.load(Ordering::Acquire) {
                break;
            }
        }
        self.reloading.store(false, Ordering::Release);
    }

    /// Load a new generation and swap it in; returns whether it did.
    pub fn reload_now(&self) -> bool {
        let start = Instant::now();
        self.log.line("Reading databases from disk");
        let fp = fingerprint(&self.spec.paths);
        match load(&self.spec, &self.log) {
            Ok(next) => {
                let known = next.engine.known_signatures();
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
                *self.fingerprint.write().unwrap_or_else(|e| e.into_inner()) = fp;
                release_freed_memory();
                let ms = start.elapsed().as_millis();
                self.log.line(&format!(
                    "Database correctly reloaded ({known} signatures, {ms} ms)"
                ));
                true
            }
            Err(e) => {
                self.log.line(&format!(
                    "ERROR: reload failed, keeping the databases in use: {e}"
                ));
                false
            }
        }
    }

    /// Whether a reload is running.
    pub fn is_reloading(&self) -> bool {
        self.reloading.load(Ordering::Acquire)
    }

    /// Whether the database files changed since the last load.
    pub fn changed(&self) -> bool {
        let now = fingerprint(&self.spec.paths);
        *self.fingerprint.read().unwrap_or_else(|e| e.into_inner()) != now
    }
}

/// The most free memory glibc keeps at the top of a heap before it gives
/// it back.
#[cfg(target_env = "gnu")]
const TRIM_THRESHOLD: libc::c_int = 4 << 20;

/// Fix glibc's trim threshold. By default it grows as large blocks are
/// freed (up to 64 MiB), and [`release_freed_memory`]'s `malloc_trim`
/// does not shrink the top of the heaps of threads other than the main
/// one, where the compiler's worker threads leave theirs: a daemon that
/// compiled the official signatures at start kept 41 MiB of anonymous
/// memory (`RssAnon`; 8 MiB with this threshold, 51 against 18 MiB in all).
fn bound_retained_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets an allocator parameter, under the
    // allocator's own lock.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

/// Give the heap freed by compiling back to the system. glibc keeps freed
/// memory for reuse, so a daemon that compiled its engine image at start
/// (or after the databases changed) would otherwise keep the compiler's
/// peak for its whole life, though it scans with the mapped image.
fn release_freed_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only hands free pages of the heap back to the
    // kernel; it touches no memory in use.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn load(spec: &DbSpec, log: &Log) -> Result<Generation, Error> {
    let loaded = cache::load(&cache::Request {
        paths: spec.paths.clone(),
        builtin: spec.builtin,
        options: LoadOptions {
            detect_pua: spec.detect_pua,
            ..LoadOptions::default()
        },
        cache: spec.cache,
        prefer_mapped: true,
        verify_cached: true,
    });
    for e in &loaded.errors {
        log.line(&format!("ERROR: {e}"));
    }
    for w in &loaded.warnings {
        log.line(&format!("WARNING: {w}"));
    }
    if !loaded.errors.is_empty() && loaded.errors.len() >= spec.paths.len() && !spec.builtin {
        return Err(Error::new(crate::error::ErrorKind::Database(
            "no database could be loaded".into(),
        )));
    }
    if let Some(image) = &loaded.image {
        log.line(&format!("Engine image: {}", image.display()));
    }
    release_freed_memory();
    Ok(Generation {
        engine: Arc::new(loaded.engine),
        version: version_string(&spec.paths),
        rules: load_rules(spec, log),
        indicators: load_indicators(&spec.paths, log),
        clean_cache: spec
            .clean_cache
            .then(|| Arc::new(CleanCache::new(bolwerk_scan::DEFAULT_CAPACITY))),
    })
}

/// The indicator feeds among the databases: STIX 2.1 bundles (`.stix2`,
/// `.json`), MISP events and signature-base IOC files, named as databases
/// or kept in database directories (which clamd passes over). Problems
/// are logged; what loads is used.
fn load_indicators(paths: &[PathBuf], log: &Log) -> Option<Arc<Indicators>> {
    let mut b = IndicatorsBuilder::new();
    let mut feeds = 0;
    // Database files are read only when named as feeds are.
    let feed_named = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ["stix2", "json", "txt"].contains(&e.to_ascii_lowercase().as_str()))
    };
    for p in paths.iter().filter(|p| p.is_dir() || feed_named(p)) {
        match b.add_path(p) {
            Ok(n) => feeds += n,
            // A database file that is not a feed.
            Err(e) if matches!(e.kind(), FeedError::UnknownFormat) => {}
            Err(e) => log.line(&format!("ERROR: {e}")),
        }
    }
    if feeds == 0 {
        return None;
    }
    let (set, diagnostics) = b.build();
    for d in &diagnostics {
        log.line(&format!("WARNING: {d}"));
    }
    log.line(&format!(
        "Indicators loaded: {} from {feeds} feeds",
        set.len()
    ));
    (!set.is_empty()).then(|| Arc::new(set))
}

/// The YARA rules among the databases, as clamd loads them: rule files
/// named as databases, and the `.yar` and `.yara` files of database
/// directories.
fn load_rules(spec: &DbSpec, log: &Log) -> Vec<Arc<dyn ObjectRules>> {
    let paths: Vec<PathBuf> = spec
        .paths
        .iter()
        .filter(|p| {
            if p.is_dir() {
                dir_has_rules(p)
            } else {
                is_rule_file(p)
            }
        })
        .cloned()
        .collect();
    if paths.is_empty() {
        return Vec::new();
    }
    match &spec.rules {
        Some(loader) => (loader.0)(&paths, log),
        None => {
            log.line("WARNING: YARA rule files among the databases are not loaded: this bolwerk has no YARA engine");
            Vec::new()
        }
    }
}

fn is_rule_file(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yar") || e.eq_ignore_ascii_case("yara"))
}

fn dir_has_rules(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| entries.flatten().any(|e| is_rule_file(&e.path())))
}

/// `VERSION`'s answer: bolwerk's name and version, then, as clamd does,
/// the version and build time of the `daily` database when one is loaded
/// (read from its header).
fn version_string(paths: &[PathBuf]) -> String {
    let own = concat!("bolwerk ", env!("CARGO_PKG_VERSION"));
    match paths.iter().find_map(|p| daily_header(p)) {
        Some(h) => format!("{own}/{}/{}", h.version, ctime(&h)),
        None => own.to_string(),
    }
}

/// The header of `daily.cvd` or `daily.cld` at or in `p`.
fn daily_header(p: &Path) -> Option<bolwerk_sigs::Header> {
    let candidates: Vec<PathBuf> = if p.is_dir() {
        ["daily.cld", "daily.cvd"]
            .iter()
            .map(|n| p.join(n))
            .collect()
    } else {
        vec![p.to_path_buf()]
    };
    candidates.into_iter().find_map(|c| {
        let name = c.file_name()?.to_str()?;
        if !name.starts_with("daily.") {
            return None;
        }
        let mut head = [0u8; 512];
        std::io::Read::read_exact(&mut std::fs::File::open(&c).ok()?, &mut head).ok()?;
        bolwerk_sigs::cvd::parse_header(&head).ok()
    })
}

/// The database's build time as `ctime` writes it (clamd's format).
fn ctime(h: &bolwerk_sigs::Header) -> String {
    use chrono::TimeZone;
    h.stime
        .and_then(|s| chrono::Local.timestamp_opt(s as i64, 0).single())
        .map(|t| t.format("%a %b %e %H:%M:%S %Y").to_string())
        .unwrap_or_else(|| h.build_time.clone())
}

/// Name, size and modification time of every database file, to notice a
/// change (`SelfCheck`).
fn fingerprint(paths: &[PathBuf]) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut out = Vec::new();
    for p in paths {
        match std::fs::read_dir(p) {
            Ok(entries) => {
                for e in entries.flatten() {
                    push_stat(&mut out, &e.path());
                }
            }
            Err(_) => push_stat(&mut out, p),
        }
    }
    out.sort();
    out
}

fn push_stat(out: &mut Vec<(PathBuf, u64, Option<SystemTime>)>, p: &Path) {
    if let Ok(m) = std::fs::metadata(p) {
        out.push((p.to_path_buf(), m.len(), m.modified().ok()));
    }
}
