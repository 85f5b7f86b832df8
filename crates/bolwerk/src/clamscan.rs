//! `bolwerk clamscan`: clamscan's flags, output and exit codes, so scripts
//! and gateways written for clamscan run unchanged.
//!
//! Output is line for line what clamscan prints: `PATH: OK`,
//! `PATH: NAME FOUND`, `PATH: Empty file`, `PATH: Excluded`,
//! `PATH: Symbolic link`, and the `SCAN SUMMARY` block with the same fields
//! ("Data read" in whole 4 KiB blocks, as clamscan counts it). Lines may
//! come in another order, since files are scanned in parallel.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::time::Instant;

use bolwerk_scan::{scan_paths, Event, Outcome, PathFilter, ScanSettings, SkipReason, WalkOptions};
use clap::Args;

use crate::indicators::{IndicatorArgs, Sightings};
use crate::limits::{yes_no, LimitArgs};
use crate::load::{load, DbRequest};
use crate::output::Output;
use crate::tally::Tally;
use crate::yara::YaraArgs;

/// clamscan's options (the common ones; see `clamscan --help`).
#[derive(Args, Debug)]
pub struct ClamscanArgs {
    /// Files and directories to scan ('-' for standard input); default: the current directory.
    pub paths: Vec<PathBuf>,
    /// Database file or directory (repeatable).
    #[arg(short = 'd', long = "database", value_name = "FILE/DIR")]
    pub database: Vec<PathBuf>,
    /// Scan subdirectories recursively.
    #[arg(short = 'r', long, num_args = 0..=1, require_equals = true, default_missing_value = "yes", value_parser = yes_no)]
    pub recursive: Option<bool>,
    /// Only print infected files.
    #[arg(short = 'i', long, num_args = 0..=1, require_equals = true, default_missing_value = "yes", value_parser = yes_no)]
    pub infected: Option<bool>,
    /// Skip printing OK files.
    #[arg(short = 'o', long = "suppress-ok-results", num_args = 0..=1, require_equals = true, default_missing_value = "yes", value_parser = yes_no)]
    pub suppress_ok: Option<bool>,
    /// Do not print the scan summary.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "yes", value_parser = yes_no)]
    pub no_summary: Option<bool>,
    /// Only output error messages.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "yes", value_parser = yes_no)]
    pub quiet: Option<bool>,
    /// Write all messages to standard output (the default here too).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "yes", value_parser = yes_no)]
    pub stdout: Option<bool>,
    /// Append the scan report to FILE.
    #[arg(short = 'l', long = "log", value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Continue scanning after a match and report every signature that matched.
    #[arg(short = 'z', long = "allmatch", num_args = 0..=1, require_equals = true, default_missing_value = "yes", value_parser = yes_no)]
    pub allmatch: Option<bool>,
    /// Load potentially-unwanted-application signatures.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "yes", value_parser = yes_no)]
    pub detect_pua: Option<bool>,
    /// Do not scan files whose path matches REGEX.
    #[arg(long, value_name = "REGEX")]
    pub exclude: Vec<String>,
    /// Only scan files whose path matches REGEX.
    #[arg(long, value_name = "REGEX")]
    pub include: Vec<String>,
    /// Do not descend into directories whose path matches REGEX.
    #[arg(long, value_name = "REGEX")]
    pub exclude_dir: Vec<String>,
    /// Scan limits.
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Follow directory symlinks met while walking (0 never, 1 direct only, 2 always).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub follow_dir_symlinks: u8,
    /// Follow file symlinks met while walking (0 never, 1 direct only, 2 always).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub follow_file_symlinks: u8,
    /// Do not load bolwerk's built-in pack.
    #[arg(long)]
    pub no_builtin: bool,
    /// Neither use nor write the compiled-engine cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// Indicators (bolwerk's own options; the built-in indicators are not
    /// loaded in this mode, so its results stay clamscan's).
    #[command(flatten)]
    pub ind: IndicatorArgs,
    /// YARA rules (rule files given with -d load here too).
    #[command(flatten)]
    pub yara: YaraArgs,
}

fn on(flag: Option<bool>) -> bool {
    flag.unwrap_or(false)
}

/// Run clamscan mode; returns the exit code.
pub fn run(args: ClamscanArgs) -> anyhow::Result<u8> {
    let start = Instant::now();
    let started = chrono::Local::now();
    let (databases, rule_files) = crate::yara::split_databases(&args.database);
    let loaded = load(&DbRequest {
        paths: &databases,
        builtin: !args.no_builtin,
        cache: !args.no_cache,
        detect_pua: on(args.detect_pua),
        strict: false,
    })?;
    let yara = crate::yara::load(&args.yara, &rule_files)?;
    let mut out = Output::new(on(args.quiet));
    if let Some(log) = &args.log {
        out.log_to(OpenOptions::new().create(true).append(true).open(log)?);
    }
    let (indicators, ind_errors) = crate::indicators::load(&args.ind, false, false)?;
    crate::doctor::confine_scan();
    let settings = ScanSettings {
        limits: args.limits.limits(),
        all_match: on(args.allmatch),
        alert_exceeds_max: args.limits.alert(),
        alert_encrypted_archive: args.limits.alert_encrypted_archive(),
        alert_encrypted_doc: args.limits.alert_encrypted_doc(),
        no_normalize: !args.limits.normalize(),
        no_html: !args.limits.html(),
        indicators,
        rules: yara.object_rules(),
        // One run meets most files once: hashing each for a cache would
        // cost more than the few duplicates it would skip.
        clean_cache: None,
    };
    let walk = WalkOptions {
        recursive: on(args.recursive),
        follow_symlinks: args.follow_dir_symlinks >= 2 || args.follow_file_symlinks >= 2,
        threads: args.threads,
        filter: PathFilter::from_regexes(&args.include, &args.exclude, &args.exclude_dir)?,
    };
    let printer = Printer {
        infected_only: on(args.infected) || on(args.suppress_ok),
    };
    let mut tally = Tally::default();
    let (stdin_paths, paths) = split_stdin(&args.paths);
    let mut sightings = Sightings::new(settings.indicators.clone());
    let mut on_event = |ev: Event| {
        tally.record(&ev);
        sightings.record(&ev);
        printer.print(&mut out, &ev);
    };
    if stdin_paths {
        let mut scanner = bolwerk_scan::Scanner::new(loaded.engine.clone(), settings.clone());
        let report = scanner.scan_reader(Path::new("stdin"), &mut std::io::stdin().lock());
        on_event(Event::File(report));
    }
    if !paths.is_empty() {
        scan_paths(loaded.engine.clone(), &settings, &walk, &paths, on_event);
    }
    if let Some(p) = &args.ind.stix_out {
        sightings.write(p)?;
    }
    yara.report_timeouts();
    if !on(args.no_summary) {
        summary(
            &mut out,
            &tally,
            loaded.engine.known_signatures() + yara.rule_count(),
            start,
            started,
        );
    }
    out.flush();
    Ok(tally.exit_code(loaded.errors + ind_errors + yara.errors))
}

/// Whether `-` was given, and the other paths (the current directory when
/// none at all was given).
fn split_stdin(paths: &[PathBuf]) -> (bool, Vec<PathBuf>) {
    let stdin = paths.iter().any(|p| p.as_os_str() == "-");
    let rest: Vec<PathBuf> = paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .cloned()
        .collect();
    if rest.is_empty() && !stdin {
        return (false, vec![PathBuf::from(".")]);
    }
    (stdin, rest)
}

struct Printer {
    infected_only: bool,
}

impl Printer {
    fn print(&self, out: &mut Output, ev: &Event) {
        let Event::File(f) = ev else { return };
        let p = f.path.display();
        for w in &f.warnings {
            eprintln!("WARNING: {p}: {w}");
        }
        match &f.outcome {
            Outcome::Infected(found) => {
                for d in found {
                    out.line(&format!("{p}: {} FOUND", d.name));
                }
            }
            Outcome::NotFound => {
                eprintln!("{p}: No such file or directory");
                eprintln!("WARNING: {p}: Can't access file");
            }
            Outcome::Error(msg) => eprintln!("{p}: {msg} ERROR"),
            Outcome::Skipped(SkipReason::NotRegular) => {
                eprintln!("WARNING: {p}: Not supported file type");
            }
            _ if self.infected_only => {}
            Outcome::Clean | Outcome::Skipped(SkipReason::MaxFileSize) => {
                out.line(&format!("{p}: OK"))
            }
            Outcome::Empty => out.line(&format!("{p}: Empty file")),
            Outcome::Skipped(SkipReason::Excluded) => out.line(&format!("{p}: Excluded")),
            Outcome::Skipped(SkipReason::SymbolicLink) => out.line(&format!("{p}: Symbolic link")),
        }
    }
}

fn summary(
    out: &mut Output,
    t: &Tally,
    known: u64,
    start: Instant,
    started: chrono::DateTime<chrono::Local>,
) {
    let secs = start.elapsed().as_secs_f64();
    let whole = secs as u64;
    let mb = t.read_mb();
    let ratio = if t.blocks > 0 { 1.0 } else { 0.0 };
    let fmt = "%Y:%m:%d %H:%M:%S";
    let mut lines = vec![
        String::new(),
        "----------- SCAN SUMMARY -----------".to_string(),
        format!("Known viruses: {known}"),
        format!("Engine version: {}", env!("CARGO_PKG_VERSION")),
        format!("Scanned directories: {}", t.dirs),
        format!("Scanned files: {}", t.files),
        format!("Infected files: {}", t.infected),
    ];
    if t.errors > 0 {
        lines.push(format!("Total errors: {}", t.errors));
    }
    lines.extend([
        format!("Data scanned: {mb:.2} MB"),
        format!("Data read: {mb:.2} MB (ratio {ratio:.2}:1)"),
        format!("Time: {secs:.3} sec ({} m {} s)", whole / 60, whole % 60),
        format!("Start Date: {}", started.format(fmt)),
        format!("End Date:   {}", chrono::Local::now().format(fmt)),
    ]);
    for l in lines {
        out.line(&l);
    }
}
