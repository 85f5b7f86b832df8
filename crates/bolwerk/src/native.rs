//! `bolwerk scan`: the native front end. Human lines in clamscan's style,
//! a progress bar on a terminal, or JSON lines for machines.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bolwerk_scan::{
    scan_paths, Event, FileReport, Outcome, PathFilter, ScanSettings, Scanner, WalkOptions,
};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::indicators::{IndicatorArgs, Sightings};
use crate::limits::LimitArgs;
use crate::load::{load, DbRequest, Loaded};
use crate::output::Output;
use crate::tally::Tally;
use crate::yara::YaraArgs;

/// Options of `bolwerk scan`.
#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Files and directories to scan ('-' for standard input); default: the current directory.
    pub paths: Vec<PathBuf>,
    /// Database file or directory (repeatable). Default: /var/lib/bolwerk and /var/lib/clamav.
    #[arg(short = 'd', long = "database", value_name = "FILE|DIR")]
    pub database: Vec<PathBuf>,
    /// Do not load the built-in pack (signatures and indicators).
    #[arg(long)]
    pub no_builtin: bool,
    /// Neither use nor write the compiled-engine cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Print only infected files and errors.
    #[arg(short = 'i', long)]
    pub infected: bool,
    /// Do not print the summary.
    #[arg(long)]
    pub no_summary: bool,
    /// JSON lines: one object per detection and error, then a summary object.
    #[arg(long)]
    pub json: bool,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// Only scan files matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Do not scan files matching this glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Scan limits.
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Only scan the files directly inside the directories given.
    #[arg(long)]
    pub no_recursive: bool,
    /// Follow symbolic links met while walking.
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Report every signature that matches, not only the first.
    #[arg(long)]
    pub allmatch: bool,
    /// Load potentially-unwanted-application signatures.
    #[arg(long)]
    pub detect_pua: bool,
    /// Fail when a database has a malformed line or is refused.
    #[arg(long)]
    pub strict: bool,
    /// Never draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Indicators.
    #[command(flatten)]
    pub ind: IndicatorArgs,
    /// YARA rules.
    #[command(flatten)]
    pub yara: YaraArgs,
}

/// Run `bolwerk scan`; returns the exit code.
pub fn run(args: ScanArgs) -> anyhow::Result<u8> {
    let start = Instant::now();
    let loaded = load(&DbRequest {
        paths: &args.database,
        builtin: !args.no_builtin,
        cache: !args.no_cache,
        detect_pua: args.detect_pua,
        strict: args.strict,
    })?;
    crate::doctor::confine_scan();
    if !args.json {
        note_unsupported(&loaded);
    }
    let (indicators, ind_errors) =
        crate::indicators::load(&args.ind, !args.no_builtin, args.strict)?;
    let ind_count = indicators.as_ref().map_or(0, |i| i.len());
    let yara = crate::yara::load(&args.yara, &[])?;
    let settings = ScanSettings {
        limits: args.limits.limits(),
        all_match: args.allmatch,
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
        recursive: !args.no_recursive,
        follow_symlinks: args.follow_symlinks,
        threads: args.threads,
        filter: PathFilter::from_globs(&args.include, &args.exclude)?,
    };
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let mut out = Output::new(false);
    let bar = progress_bar(&args, &paths, &walk);
    out.set_bar(bar.clone());
    let mut tally = Tally::default();
    let mut sightings = Sightings::new(settings.indicators.clone());
    let mut on_event = |ev: Event| {
        tally.record(&ev);
        sightings.record(&ev);
        if let Some(b) = &bar {
            update_bar(b, &ev, &tally);
        }
        print_event(&mut out, &args, &ev);
    };
    if paths.iter().any(|p| p.as_os_str() == "-") {
        let mut scanner = Scanner::new(loaded.engine.clone(), settings.clone());
        on_event(Event::File(
            scanner.scan_reader(Path::new("stdin"), &mut std::io::stdin().lock()),
        ));
    }
    let rest: Vec<PathBuf> = paths.into_iter().filter(|p| p.as_os_str() != "-").collect();
    if !rest.is_empty() {
        scan_paths(loaded.engine.clone(), &settings, &walk, &rest, on_event);
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Some(p) = &args.ind.stix_out {
        sightings.write(p)?;
    }
    yara.report_timeouts();
    if !args.no_summary {
        let known = loaded.engine.known_signatures() + yara.rule_count();
        print_summary(
            &mut out,
            &args,
            &tally,
            &loaded,
            known,
            ind_count,
            start.elapsed(),
        );
    }
    out.flush();
    Ok(tally.exit_code(loaded.errors + ind_errors + yara.errors))
}

fn print_event(out: &mut Output, args: &ScanArgs, ev: &Event) {
    let Event::File(f) = ev else { return };
    for w in &f.warnings {
        eprintln!("WARNING: {}: {w}", f.path.display());
    }
    if args.json {
        for line in json_lines(f) {
            out.line(&line);
        }
        return;
    }
    let p = f.path.display();
    match &f.outcome {
        Outcome::Infected(found) => {
            for d in found {
                // A YARA rule is named as `yr` names it: namespace:rule.
                let name = if d.kind == "yara" {
                    &d.signature
                } else {
                    &d.name
                };
                if d.object.is_empty() {
                    out.line(&format!("{p}: {name} FOUND"));
                } else {
                    out.line(&format!("{p}//{}: {name} FOUND", d.object));
                }
                if let Some(why) = &d.detail {
                    out.line(&format!("  because {why}"));
                }
            }
        }
        Outcome::Error(msg) => eprintln!("ERROR: {p}: {msg}"),
        Outcome::NotFound => eprintln!("ERROR: {p}: No such file or directory"),
        Outcome::Clean if !args.infected => out.line(&format!("{p}: OK")),
        _ => {}
    }
}

fn json_lines(f: &FileReport) -> Vec<String> {
    let path = f.path.to_string_lossy();
    match &f.outcome {
        Outcome::Infected(found) => found
            .iter()
            .map(|d| {
                let mut j = json!({
                    "type": "detection",
                    "path": path,
                    "name": d.name,
                    "signature": d.signature,
                    "kind": d.kind,
                    "source": d.source,
                    "offset": d.offset,
                    "object": d.object,
                    "size": f.size,
                });
                if let Some(why) = &d.detail {
                    j["detail"] = json!(why);
                }
                j.to_string()
            })
            .collect(),
        Outcome::Error(msg) => {
            vec![json!({"type": "error", "path": path, "message": msg}).to_string()]
        }
        Outcome::NotFound => vec![json!({
            "type": "error",
            "path": path,
            "message": "No such file or directory"
        })
        .to_string()],
        _ => Vec::new(),
    }
}

fn print_summary(
    out: &mut Output,
    args: &ScanArgs,
    t: &Tally,
    loaded: &Loaded,
    known: u64,
    indicators: usize,
    took: Duration,
) {
    if args.json {
        let s = json!({
            "type": "summary",
            "known_signatures": known,
            "indicators": indicators,
            "directories": t.dirs,
            "files": t.files,
            "infected": t.infected,
            "errors": t.errors + t.missing,
            "database_errors": loaded.errors,
            "bytes": t.bytes,
            "load_seconds": loaded.elapsed.as_secs_f64(),
            "signatures_not_matched": loaded.engine.load_stats().unsupported,
            "seconds": took.as_secs_f64(),
        });
        out.line(&s.to_string());
        return;
    }
    out.line(&format!(
        "\nScanned {} files ({}) in {} directories with {known} signatures and {indicators} indicators (signatures loaded in {:.2} s) in {:.2} s: {} infected, {} errors.",
        t.files,
        human_bytes(t.bytes),
        t.dirs,
        loaded.elapsed.as_secs_f64(),
        took.as_secs_f64(),
        t.infected,
        t.errors + t.missing,
    ));
}

/// Signatures of formats this version does not match are named, never
/// dropped in silence.
fn note_unsupported(loaded: &Loaded) {
    let kinds: Vec<String> = loaded
        .engine
        .load_stats()
        .unsupported
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(ext, n)| format!("{n} .{ext}"))
        .collect();
    if !kinds.is_empty() {
        eprintln!(
            "NOTE: not matched by this version: {} signatures (bolwerk db info lists them)",
            kinds.join(", ")
        );
    }
}

fn human_bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

/// A bar on stderr when it is a terminal; a background walk totals the
/// bytes to scan, so the bar can show an ETA.
fn progress_bar(args: &ScanArgs, paths: &[PathBuf], walk: &WalkOptions) -> Option<ProgressBar> {
    if args.json || args.no_progress || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(8));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let counter = bar.clone();
    let (paths, recursive) = (paths.to_vec(), walk.recursive);
    std::thread::spawn(move || count_bytes(&paths, recursive, &counter));
    Some(bar)
}

fn count_bytes(paths: &[PathBuf], recursive: bool, bar: &ProgressBar) {
    for p in paths {
        let mut w = ignore::WalkBuilder::new(p);
        w.standard_filters(false)
            .max_depth((!recursive).then_some(1));
        for e in w.build().flatten() {
            if e.file_type().is_some_and(|t| t.is_file()) {
                let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                bar.inc_length(len);
            }
        }
    }
}

fn update_bar(bar: &ProgressBar, ev: &Event, t: &Tally) {
    if let Event::File(f) = ev {
        bar.inc(f.size);
        bar.set_message(format!("{} files, {} infected", t.files, t.infected));
    }
}
