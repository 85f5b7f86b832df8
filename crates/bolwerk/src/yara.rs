//! YARA rules in a scan: `--yara FILE|DIR` in `bolwerk scan`, and rule
//! files given with `-d` in clamscan mode (clamscan loads `.yar` and `.yara`
//! from `-d` too). Built with the `yara` cargo feature (on by default);
//! without it, asking for rules is an error rather than a silent no-op.
//!
//! Load problems are told on stderr: a rule that does not compile is a
//! `WARNING: FILE:LINE: ...` and the rest load; a path that cannot be read
//! is an `ERROR` and counts as a database error in the exit code.

use std::path::PathBuf;
use std::sync::Arc;

use bolwerk_scan::ObjectRules;
use clap::Args;

/// Seconds the rules may take on one object unless told otherwise.
const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// The YARA options.
#[derive(Args, Debug, Default)]
pub struct YaraArgs {
    /// YARA rule file, or directory of .yar/.yara files, run on every object (repeatable).
    #[arg(long = "yara", value_name = "FILE|DIR")]
    pub yara: Vec<PathBuf>,
    /// Seconds the YARA rules may take on one object (0: no limit).
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_TIMEOUT_SECS)]
    pub yara_timeout: u64,
    /// Compile the YARA rules on every run instead of keeping them compiled in the cache.
    #[arg(long)]
    pub no_yara_cache: bool,
}

/// Rules loaded for a scan.
#[derive(Default)]
pub struct YaraLoaded {
    #[cfg(feature = "yara")]
    rules: Option<Arc<bolwerk_yara::YaraRules>>,
    /// Paths that could not be read.
    pub errors: usize,
}

impl YaraLoaded {
    /// The rules to hand to the scanner.
    pub fn object_rules(&self) -> Vec<Arc<dyn ObjectRules>> {
        #[cfg(feature = "yara")]
        if let Some(r) = &self.rules {
            return vec![r.clone() as Arc<dyn ObjectRules>];
        }
        Vec::new()
    }

    /// How many rules compiled.
    pub fn rule_count(&self) -> u64 {
        #[cfg(feature = "yara")]
        if let Some(r) = &self.rules {
            return r.rule_count() as u64;
        }
        0
    }

    /// Tell on stderr which objects the rules ran out of time on.
    pub fn report_timeouts(&self) {
        #[cfg(feature = "yara")]
        if let Some(r) = &self.rules {
            let (paths, count) = r.timeouts();
            for p in &paths {
                eprintln!("WARNING: {p}: YARA rules timed out; the other signatures still applied");
            }
            if count > paths.len() {
                eprintln!(
                    "WARNING: {} more objects timed out in the YARA rules",
                    count - paths.len()
                );
            }
        }
    }
}

/// Load the rules of `args.yara` and `more` (none: nothing to do).
pub fn load(args: &YaraArgs, more: &[PathBuf]) -> anyhow::Result<YaraLoaded> {
    let paths: Vec<PathBuf> = args.yara.iter().chain(more).cloned().collect();
    if paths.is_empty() {
        return Ok(YaraLoaded::default());
    }
    load_paths(args, &paths)
}

#[cfg(not(feature = "yara"))]
fn load_paths(_: &YaraArgs, _: &[PathBuf]) -> anyhow::Result<YaraLoaded> {
    anyhow::bail!("YARA rules were given, but this bolwerk was built without the `yara` feature")
}

#[cfg(feature = "yara")]
fn load_paths(args: &YaraArgs, paths: &[PathBuf]) -> anyhow::Result<YaraLoaded> {
    let (loaded, messages) = compile(args, paths);
    for m in &messages {
        eprintln!("{m}");
    }
    Ok(loaded)
}

/// Compile the rules of `paths`; what went wrong is told in the returned
/// lines (`WARNING: …` for a rule that does not compile or a cache
/// problem, `ERROR: …` for a path that cannot be read, also counted).
#[cfg(feature = "yara")]
fn compile(args: &YaraArgs, paths: &[PathBuf]) -> (YaraLoaded, Vec<String>) {
    use bolwerk_yara::{CacheUse, YaraRulesBuilder};
    let mut b = YaraRulesBuilder::new();
    for p in paths {
        b.path(p);
    }
    if args.no_yara_cache {
        b.cache_dir(None);
    }
    b.timeout(std::time::Duration::from_secs(args.yara_timeout));
    let loaded = b.build();
    let mut messages = Vec::new();
    let mut errors = 0;
    for e in &loaded.errors {
        if e.line.is_some() {
            messages.push(format!("WARNING: {e}"));
        } else {
            messages.push(format!("ERROR: {e}"));
            errors += 1;
        }
    }
    if let CacheUse::Compiled {
        corrupt,
        store_error,
    } = &loaded.cache
    {
        if let Some(why) = corrupt {
            messages.push(format!(
                "WARNING: compiled YARA rule cache entry refused ({why}); recompiled"
            ));
        }
        if let Some(why) = store_error {
            messages.push(format!("WARNING: cannot keep compiled YARA rules in {why}"));
        }
    }
    let loaded = YaraLoaded {
        rules: Some(loaded.rules),
        errors,
    };
    (loaded, messages)
}

/// The daemon's loader of the YARA rule files among its databases (clamd
/// loads them from its database directory): compiled and cached as for a
/// scan, with the default time limit per object, warnings to its log.
#[cfg(feature = "yara")]
pub fn daemon_rules() -> Option<bolwerk_clamd::RulesLoader> {
    let load = |paths: &[PathBuf], log: &bolwerk_clamd::Log| {
        let args = YaraArgs {
            yara: Vec::new(),
            yara_timeout: DEFAULT_TIMEOUT_SECS,
            no_yara_cache: false,
        };
        let (loaded, messages) = compile(&args, paths);
        for m in &messages {
            log.line(m);
        }
        log.line(&format!("YARA rules loaded: {}", loaded.rule_count()));
        loaded.object_rules()
    };
    Some(bolwerk_clamd::RulesLoader(Arc::new(load)))
}

/// Without the `yara` feature the daemon loads no rules (and says so).
#[cfg(not(feature = "yara"))]
pub fn daemon_rules() -> Option<bolwerk_clamd::RulesLoader> {
    None
}

/// Split clamscan's `-d` paths: rule files go to YARA only, directories
/// to both (the signature loader passes over `.yar` files in them).
pub fn split_databases(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut dbs = Vec::new();
    let mut rules = Vec::new();
    for p in paths {
        let is_rules = p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yar") || e.eq_ignore_ascii_case("yara"));
        if is_rules {
            rules.push(p.clone());
        } else {
            if p.is_dir() && cfg!(feature = "yara") && dir_has_rules(p) {
                rules.push(p.clone());
            }
            dbs.push(p.clone());
        }
    }
    (dbs, rules)
}

fn dir_has_rules(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| {
            e.path()
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| x.eq_ignore_ascii_case("yar") || x.eq_ignore_ascii_case("yara"))
        })
    })
}
