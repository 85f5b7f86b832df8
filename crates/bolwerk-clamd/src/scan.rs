//! What the scanning commands do, on a pool thread, and the lines they
//! answer with.
//!
//! `SCAN`, `CONTSCAN`, `ALLMATCHSCAN` and `MULTISCAN` walk a path as clamd
//! does: directories in `readdir` order, symbolic links not followed
//! (unless `FollowDirectorySymlinks`/`FollowFileSymlinks`), empty files and
//! clean files silent, one line per detection or error, and `PATH: OK` for
//! the named path when nothing at all was reported. `SCAN` and
//! `ALLMATCHSCAN` stop at the first infected file; `MULTISCAN` scans the files it found on several
//! threads. Files are read, never memory-mapped, so a file truncated
//! during its scan cannot bring the daemon down. What a verdict does not
//! say — that matching was cut short — goes to the log as a warning naming
//! the file, as clamd logs libclamav's warnings.

use std::fs::File;
use std::io::{Read, Seek};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use bolwerk_scan::{FileReport, Outcome, ScanSettings, Scanner};
use regex::RegexSet;

use crate::database::Generation;
use crate::log::Log;
use crate::protocol::reply;

/// Files from this size on are read through [`Scanner::scan_reader`]
/// rather than [`Scanner::scan_file`], which would map them.
const MAP_FROM: u64 = 16 << 20;
/// Directory depth walked (clamd's `MaxDirectoryRecursion` default).
const MAX_DEPTH: usize = 15;

/// How a path command scans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathMode {
    /// `SCAN`: stop at the first detection.
    Scan,
    /// `CONTSCAN`: every file.
    Cont,
    /// `MULTISCAN`: every file, in parallel.
    Multi,
    /// `ALLMATCHSCAN`: every signature of the first infected file (clamd
    /// stops its walk there too).
    AllMatch,
}

/// What path scans need besides the engine.
#[derive(Clone, Debug)]
pub struct PathPolicy {
    /// Scan settings (limits).
    pub settings: ScanSettings,
    /// `ExcludePath` patterns.
    pub exclude: Option<RegexSet>,
    /// Follow directory links.
    pub follow_dirs: bool,
    /// Follow file links.
    pub follow_files: bool,
    /// Threads for MULTISCAN.
    pub threads: usize,
}

/// Scan a path; the reply lines.
pub fn scan_path(
    gen: &Generation,
    policy: &PathPolicy,
    log: &Log,
    root: &Path,
    mode: PathMode,
) -> Vec<String> {
    let mut settings = policy.settings.clone();
    settings.all_match = mode == PathMode::AllMatch;
    let mut walk = Walk {
        scanner: scanner(gen, &settings),
        policy,
        log,
        stop_at_first: matches!(mode, PathMode::Scan | PathMode::AllMatch),
        collect: (mode == PathMode::Multi).then(Vec::new),
        lines: Vec::new(),
        found: false,
    };
    if let Err(e) = std::fs::symlink_metadata(root) {
        return vec![format!(
            "{}: File path check failure: {}. ERROR",
            root.display(),
            strerror(&e)
        )];
    }
    if walk.excluded(root) {
        return vec![format!("{}: Excluded", root.display())];
    }
    walk.visit(root, 0, true);
    if let Some(files) = walk.collect.take() {
        walk.lines.extend(scan_many(gen, policy, log, &files));
    }
    if walk.lines.is_empty() {
        walk.lines.push(format!("{}: OK", root.display()));
    }
    walk.lines
}

struct Walk<'a> {
    scanner: Scanner,
    policy: &'a PathPolicy,
    log: &'a Log,
    stop_at_first: bool,
    /// MULTISCAN: files gathered for a parallel scan.
    collect: Option<Vec<PathBuf>>,
    lines: Vec<String>,
    found: bool,
}

impl Walk<'_> {
    fn excluded(&self, p: &Path) -> bool {
        let Some(set) = &self.policy.exclude else {
            return false;
        };
        set.is_match(&p.to_string_lossy())
    }

    fn done(&self) -> bool {
        self.stop_at_first && self.found
    }

    fn visit(&mut self, p: &Path, depth: usize, named: bool) {
        let Ok(meta) = std::fs::symlink_metadata(p) else {
            return;
        };
        let ft = meta.file_type();
        let (is_dir, is_file) = if ft.is_symlink() {
            match std::fs::metadata(p) {
                Ok(m) if m.is_dir() && self.policy.follow_dirs => (true, false),
                Ok(m) if m.is_file() && self.policy.follow_files => (false, true),
                _ => (false, false),
            }
        } else {
            (ft.is_dir(), ft.is_file())
        };
        if is_dir && depth < MAX_DEPTH {
            self.walk_dir(p, depth);
        } else if is_file && (named || !self.excluded(p)) {
            match &mut self.collect {
                Some(files) => files.push(p.to_path_buf()),
                None => {
                    let report = scan_one(&mut self.scanner, p);
                    log_warnings(self.log, &report);
                    self.record(&report);
                }
            }
        }
    }

    fn walk_dir(&mut self, dir: &Path, depth: usize) {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                let msg = format!("{}: {}. ERROR", dir.display(), access_error(&e));
                self.lines.push(msg);
                return;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if self.excluded(&path) {
                continue;
            }
            self.visit(&path, depth + 1, false);
            if self.done() {
                return;
            }
        }
    }

    fn record(&mut self, report: &FileReport) {
        let lines = report_lines(report);
        self.found |= matches!(report.outcome, Outcome::Infected(_));
        self.lines.extend(lines);
    }
}

/// Scan one file by path, reading it (large files too).
fn scan_one(scanner: &mut Scanner, p: &Path) -> FileReport {
    let large = std::fs::metadata(p).is_ok_and(|m| m.len() >= MAP_FROM);
    if !large {
        return scanner.scan_file(p);
    }
    match File::open(p) {
        Ok(mut f) => scanner.scan_reader(p, &mut f),
        Err(e) => FileReport {
            path: p.to_path_buf(),
            size: 0,
            outcome: Outcome::Error(access_error(&e)),
            warnings: Vec::new(),
        },
    }
}

/// MULTISCAN: files scanned by `policy.threads` threads; lines in
/// completion order.
fn scan_many(gen: &Generation, policy: &PathPolicy, log: &Log, files: &[PathBuf]) -> Vec<String> {
    let next = AtomicUsize::new(0);
    let lines = Mutex::new(Vec::new());
    let threads = policy.threads.clamp(1, files.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut scanner = scanner(gen, &policy.settings);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = files.get(i) else { break };
                    let report = scan_one(&mut scanner, p);
                    log_warnings(log, &report);
                    let out = report_lines(&report);
                    lines.lock().unwrap_or_else(|e| e.into_inner()).extend(out);
                }
            });
        }
    });
    lines.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// Log what `r`'s verdict does not say, one line per warning naming the
/// file.
fn log_warnings(log: &Log, r: &FileReport) {
    for w in &r.warnings {
        log.line(&format!("WARNING: {}: {w}", r.path.display()));
    }
}

/// The lines clamd prints for one file met in a walk (none when clean).
fn report_lines(r: &FileReport) -> Vec<String> {
    let p = r.path.display();
    match &r.outcome {
        Outcome::Infected(found) => found
            .iter()
            .map(|f| format!("{p}: {} FOUND", f.name))
            .collect(),
        Outcome::Error(msg) => vec![format!("{p}: {}. ERROR", clamd_error(msg))],
        Outcome::NotFound => vec![format!(
            "{p}: File path check failure: No such file or directory. ERROR"
        )],
        _ => Vec::new(),
    }
}

/// Scan INSTREAM data or a passed descriptor's file: the reply line.
pub fn scan_stream(
    gen: &Generation,
    settings: &ScanSettings,
    log: &Log,
    name: &str,
    data: &mut dyn Read,
) -> String {
    let mut scanner = scanner(gen, settings);
    let report = scanner.scan_reader(Path::new(name), data);
    log_warnings(log, &report);
    match report.outcome {
        Outcome::Infected(found) => format!("{name}: {} FOUND", found[0].name),
        Outcome::Error(msg) => format!("{name}: {}. ERROR", clamd_error(&msg)),
        _ => format!("{name}: OK"),
    }
}

/// Scan the file behind a descriptor passed with FILDES.
pub fn scan_fd(gen: &Generation, settings: &ScanSettings, log: &Log, fd: OwnedFd) -> String {
    use std::os::fd::AsRawFd;
    let name = format!("fd[{}]", fd.as_raw_fd());
    let mut file = File::from(fd);
    if file.metadata().is_ok_and(|m| m.is_file()) {
        let _ = file.rewind();
    }
    scan_stream(gen, settings, log, &name, &mut file)
}

/// The INSTREAM reply name.
pub fn stream_name() -> &'static str {
    reply::STREAM
}

/// clamd's wording for an error a scan met.
fn clamd_error(msg: &str) -> String {
    match msg {
        "Permission denied" => "Access denied".to_string(),
        other => other.to_string(),
    }
}

fn access_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "Access denied".to_string(),
        _ => strerror(e),
    }
}

/// The C library's message for an I/O error, without Rust's
/// `(os error N)` suffix.
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// A scanner over the generation's engine, YARA rules and indicators.
fn scanner(gen: &Generation, settings: &ScanSettings) -> Scanner {
    let mut settings = settings.clone();
    settings.rules.clone_from(&gen.rules);
    settings.indicators.clone_from(&gen.indicators);
    settings.clean_cache.clone_from(&gen.clean_cache);
    Scanner::new(gen.engine.clone(), settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_drops_the_code() {
        let e = std::io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(strerror(&e), "No such file or directory");
    }
}
