//! A loaded rule set, and matching it.
//!
//! [`YaraRules`] is shared by every scanning thread. A `yara_x::Scanner`
//! holds per-scan state that is neither `Send` nor `Sync`, so each thread
//! keeps its own in a thread-local, made on the thread's first object and
//! reused for every object after (yara-x's scanner is made to be reused:
//! it resets its state per scan). A scan that runs past the timeout is
//! recorded (see [`YaraRules::timeouts`]) and noted as the budget's
//! `MaxScanTime`; the other signatures still apply and the scan goes on.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bolwerk_scan::{Found, ObjectRef, ObjectRules};
use bolwerk_unpack::{Budget, Limit};
use yara_x::{Rules, ScanError};

use crate::cache::{self, Header, Miss};
use crate::compile::compile;
use crate::error::LoadError;
use crate::externals::Externals;
use crate::sources::{collect, RuleSource};

/// The default time one object may take (ClamAV's `MaxScanTime` is 120 s
/// for a whole file and everything in it).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Objects whose timeouts are remembered by path (the rest are counted).
const MAX_TIMEOUTS_KEPT: usize = 1000;

/// Loads rule files into [`YaraRules`].
#[derive(Clone, Debug)]
pub struct YaraRulesBuilder {
    paths: Vec<PathBuf>,
    cache_dir: Option<PathBuf>,
    timeout: Duration,
}

impl Default for YaraRulesBuilder {
    fn default() -> Self {
        YaraRulesBuilder::new()
    }
}

impl YaraRulesBuilder {
    /// A builder with no paths, the default cache directory and timeout.
    pub fn new() -> YaraRulesBuilder {
        YaraRulesBuilder {
            paths: Vec::new(),
            cache_dir: cache::default_dir(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Add a rule file or a directory of them.
    pub fn path(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.paths.push(path.into());
        self
    }

    /// Keep compiled rules in `dir` (`None`: compile every time).
    pub fn cache_dir(&mut self, dir: Option<PathBuf>) -> &mut Self {
        self.cache_dir = dir;
        self
    }

    /// The time one object may take (zero: no limit).
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = timeout;
        self
    }

    /// Read, compile (or load compiled) and report what failed.
    pub fn build(&self) -> Loaded {
        let (sources, mut errors) = collect(&self.paths);
        let (rules, header, cache) = self.compiled(&sources);
        errors.extend(header.errors);
        let namespaces = sources
            .iter()
            .map(|s| (s.namespace.clone(), s.path.clone()))
            .collect();
        let rules = YaraRules {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            rule_count: rules.iter().len(),
            rules: Arc::new(rules),
            namespaces,
            timeout: self.timeout,
            timeouts: Mutex::new(Timeouts::default()),
        };
        Loaded {
            rules: Arc::new(rules),
            errors,
            warnings: header.warnings,
            files: sources.len(),
            cache,
        }
    }

    /// The rules from the cache when an entry holds, else compiled (and
    /// stored).
    fn compiled(&self, sources: &[RuleSource]) -> (Rules, Header, CacheUse) {
        let Some(dir) = &self.cache_dir else {
            let (rules, header) = compile_all(sources);
            return (rules, header, CacheUse::Off);
        };
        let key = cache::key(sources);
        let corrupt = match cache::load(dir, &key) {
            Ok((rules, header)) => return (rules, header, CacheUse::Hit),
            Err(Miss::Absent) => None,
            Err(Miss::Corrupt(why)) => Some(why),
        };
        let (rules, header) = compile_all(sources);
        let stored = cache::store(dir, &key, &rules, &header).err();
        let used = CacheUse::Compiled {
            corrupt,
            store_error: stored.map(|e| format!("{}: {e}", dir.display())),
        };
        (rules, header, used)
    }
}

fn compile_all(sources: &[RuleSource]) -> (Rules, Header) {
    let c = compile(sources);
    let header = Header {
        errors: c.errors,
        warnings: c.warnings,
    };
    (c.rules, header)
}

/// How the compiled-rule cache served a load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheUse {
    /// No cache directory.
    Off,
    /// Loaded from the cache.
    Hit,
    /// Compiled; `corrupt` says why an entry found was not used, and
    /// `store_error` why the new one could not be written.
    Compiled {
        /// The fault of the entry that was found and rebuilt.
        corrupt: Option<String>,
        /// Why writing the entry failed.
        store_error: Option<String>,
    },
}

/// The result of a load.
#[derive(Debug)]
pub struct Loaded {
    /// The rules that compiled.
    pub rules: Arc<YaraRules>,
    /// Files that could not be read and rules that did not compile.
    pub errors: Vec<LoadError>,
    /// yara-x's warnings on the rules.
    pub warnings: usize,
    /// Rule files read.
    pub files: usize,
    /// How the cache was used.
    pub cache: CacheUse,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Compiled YARA rules, shared by all scanning threads.
pub struct YaraRules {
    id: u64,
    rule_count: usize,
    rules: Arc<Rules>,
    namespaces: std::collections::HashMap<String, PathBuf>,
    timeout: Duration,
    timeouts: Mutex<Timeouts>,
}

impl std::fmt::Debug for YaraRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YaraRules")
            .field("rules", &self.rule_count)
            .field("files", &self.namespaces.len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Objects that ran out of time.
#[derive(Debug, Default)]
struct Timeouts {
    paths: Vec<String>,
    count: usize,
}

/// One rule that matched.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    /// Its namespace (the rule file, as named when loaded).
    pub namespace: String,
    /// The rule's name.
    pub rule: String,
    /// The offset of its first matching string (0 when it has none).
    pub offset: u64,
}

/// The scan ran out of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedOut;

impl YaraRules {
    /// How many rules compiled.
    pub fn rule_count(&self) -> usize {
        self.rule_count
    }

    /// The rule file each namespace came from.
    pub fn source(&self, namespace: &str) -> Option<&Path> {
        self.namespaces.get(namespace).map(PathBuf::as_path)
    }

    /// Match `data` with the external variables set to `ext`.
    pub fn scan(&self, data: &[u8], ext: &Externals) -> Result<Vec<Hit>, TimedOut> {
        SCANNER.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.as_ref().is_none_or(|(id, _)| *id != self.id) {
                *slot = Some((self.id, self.new_scanner()));
            }
            let (_, owned) = slot.as_mut().expect("made above");
            owned.with_dependent_mut(|_, scanner| scan_with(scanner, data, ext))
        })
    }

    fn new_scanner(&self) -> OwnedScanner {
        let timeout = self.timeout;
        OwnedScanner::new(self.rules.clone(), |rules| {
            let mut s = yara_x::Scanner::new(rules);
            if !timeout.is_zero() {
                s.set_timeout(timeout);
            }
            s
        })
    }

    /// The objects whose scan ran out of time (at most a thousand named),
    /// and how many there were in all.
    pub fn timeouts(&self) -> (Vec<String>, usize) {
        let t = self.timeouts.lock().unwrap_or_else(|e| e.into_inner());
        (t.paths.clone(), t.count)
    }

    fn note_timeout(&self, path: String) {
        let mut t = self.timeouts.lock().unwrap_or_else(|e| e.into_inner());
        t.count += 1;
        if t.paths.len() < MAX_TIMEOUTS_KEPT {
            t.paths.push(path);
        }
    }

    fn found(&self, hit: Hit, object: &str) -> Found {
        Found {
            name: format!("YARA.{}.UNOFFICIAL", hit.rule),
            source: self
                .source(&hit.namespace)
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            signature: format!("{}:{}", hit.namespace, hit.rule),
            kind: "yara",
            offset: hit.offset,
            object: object.to_string(),
            detail: None,
        }
    }
}

impl ObjectRules for YaraRules {
    fn scan_object(&self, object: &ObjectRef<'_>, budget: &mut Budget, found: &mut Vec<Found>) {
        let ext = Externals::for_object(object.file, object.members, object.data);
        match self.scan(object.data, &ext) {
            Ok(hits) if hits.is_empty() => {}
            Ok(hits) => {
                let at = object.object_path();
                found.extend(hits.into_iter().map(|h| self.found(h, &at)));
            }
            Err(TimedOut) => {
                budget.note(Limit::MaxScanTime);
                self.note_timeout(ext.filepath);
            }
        }
    }
}

type YrScanner<'r> = yara_x::Scanner<'r>;

self_cell::self_cell!(
    /// A yara-x scanner together with the rules it borrows.
    struct OwnedScanner {
        owner: Arc<Rules>,
        #[not_covariant]
        dependent: YrScanner,
    }
);

thread_local! {
    /// This thread's scanner, and the id of the rules it was made for.
    static SCANNER: RefCell<Option<(u64, OwnedScanner)>> = const { RefCell::new(None) };
}

fn scan_with(
    scanner: &mut yara_x::Scanner<'_>,
    data: &[u8],
    ext: &Externals,
) -> Result<Vec<Hit>, TimedOut> {
    for (name, value) in ext.pairs() {
        scanner
            .set_global(name, value)
            .expect("externals are defined as strings when compiling");
    }
    let results = match scanner.scan(data) {
        Ok(r) => r,
        Err(ScanError::Timeout) => return Err(TimedOut),
        // Other errors concern files and module outputs, which a scan of
        // bytes in memory does not use.
        Err(_) => return Ok(Vec::new()),
    };
    let mut hits: Vec<Hit> = results
        .matching_rules()
        .map(|r| Hit {
            namespace: r.namespace().to_string(),
            rule: r.identifier().to_string(),
            offset: first_offset(&r),
        })
        .collect();
    hits.sort();
    Ok(hits)
}

fn first_offset(rule: &yara_x::Rule<'_, '_>) -> u64 {
    rule.patterns()
        .filter_map(|p| p.matches().map(|m| m.range().start).min())
        .min()
        .unwrap_or(0) as u64
}
