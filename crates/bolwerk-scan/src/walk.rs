//! The parallel walk: every path given, directories descended on all
//! cores, one [`Scanner`] per thread, events delivered to the caller's
//! thread in the order they complete.
//!
//! The walker is ripgrep's `ignore::WalkParallel` with every filter off: a
//! scanner must not skip what `.gitignore` or hidden-file rules would hide.
//! Paths named by the user are followed even when they are symbolic links
//! (as clamscan does); links met during the walk are reported and not
//! followed unless asked.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bolwerk_engine::Engine;
use crossbeam_channel::Sender;
use ignore::{DirEntry, WalkBuilder, WalkState};

use crate::filter::PathFilter;
use crate::report::{Event, FileReport, Outcome, SkipReason};
use crate::scanner::{io_outcome, ScanSettings, Scanner};

/// How to walk.
#[derive(Clone, Debug)]
pub struct WalkOptions {
    /// Descend into subdirectories (otherwise only a directory's own files).
    pub recursive: bool,
    /// Follow symbolic links met during the walk.
    pub follow_symlinks: bool,
    /// Worker threads (0: all cores).
    pub threads: usize,
    /// Which paths to scan.
    pub filter: PathFilter,
}

impl Default for WalkOptions {
    fn default() -> WalkOptions {
        WalkOptions {
            recursive: true,
            follow_symlinks: false,
            threads: 0,
            filter: PathFilter::default(),
        }
    }
}

/// Scan `paths`, calling `on_event` on this thread for every event.
pub fn scan_paths(
    engine: Arc<Engine>,
    settings: &ScanSettings,
    walk: &WalkOptions,
    paths: &[PathBuf],
    mut on_event: impl FnMut(Event),
) {
    let (tx, rx) = crossbeam_channel::bounded::<Event>(1024);
    std::thread::scope(|s| {
        s.spawn(move || walk_all(engine, settings, walk, paths, tx));
        for ev in rx {
            on_event(ev);
        }
    });
}

fn walk_all(
    engine: Arc<Engine>,
    settings: &ScanSettings,
    walk: &WalkOptions,
    paths: &[PathBuf],
    tx: Sender<Event>,
) {
    let mut dirs = Vec::new();
    let mut scanner = Scanner::new(engine.clone(), settings.clone());
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => dirs.push(p.clone()),
            Ok(m) if !m.is_file() => send_file(&tx, p, Outcome::Skipped(SkipReason::NotRegular)),
            Ok(_) => {
                let _ = tx.send(Event::File(scanner.scan_file(p)));
            }
            Err(e) => send_file(&tx, p, io_outcome(&e)),
        }
    }
    if let Some((first, rest)) = dirs.split_first() {
        walk_dirs(engine, settings, walk, first, rest, &tx);
    }
}

fn send_file(tx: &Sender<Event>, path: &Path, outcome: Outcome) {
    let _ = tx.send(Event::File(FileReport {
        path: path.to_path_buf(),
        size: 0,
        outcome,
        warnings: Vec::new(),
    }));
}

fn walk_dirs(
    engine: Arc<Engine>,
    settings: &ScanSettings,
    walk: &WalkOptions,
    first: &Path,
    rest: &[PathBuf],
    tx: &Sender<Event>,
) {
    let mut b = WalkBuilder::new(first);
    for r in rest {
        b.add(r);
    }
    b.standard_filters(false)
        .follow_links(walk.follow_symlinks)
        .threads(walk.threads)
        .max_depth((!walk.recursive).then_some(1));
    let filter = walk.filter.clone();
    b.filter_entry(move |e| {
        e.depth() == 0 || !e.file_type().is_some_and(|t| t.is_dir()) || filter.allows_dir(e.path())
    });
    b.build_parallel().run(|| {
        let mut scanner = Scanner::new(engine.clone(), settings.clone());
        let tx = tx.clone();
        Box::new(move |entry| {
            match entry {
                Ok(e) => visit(&mut scanner, walk, &e, &tx),
                Err(err) => report_walk_error(err, &tx),
            }
            WalkState::Continue
        })
    });
}

fn visit(scanner: &mut Scanner, walk: &WalkOptions, e: &DirEntry, tx: &Sender<Event>) {
    let Some(ft) = e.file_type() else { return };
    let path = e.path();
    if ft.is_dir() {
        if e.depth() == 0 || walk.recursive {
            let _ = tx.send(Event::Directory(path.to_path_buf()));
        }
    } else if ft.is_symlink() {
        send_file(tx, path, Outcome::Skipped(SkipReason::SymbolicLink));
    } else if !ft.is_file() {
        send_file(tx, path, Outcome::Skipped(SkipReason::NotRegular));
    } else if !walk.filter.allows_file(path) {
        send_file(tx, path, Outcome::Skipped(SkipReason::Excluded));
    } else {
        let _ = tx.send(Event::File(scanner.scan_file(path)));
    }
}

fn report_walk_error(err: ignore::Error, tx: &Sender<Event>) {
    let (path, outcome) = split_walk_error(err);
    send_file(tx, &path, outcome);
}

fn split_walk_error(err: ignore::Error) -> (PathBuf, Outcome) {
    match err {
        ignore::Error::WithPath { path, err } => (path, split_walk_error(*err).1),
        ignore::Error::WithDepth { err, .. } => split_walk_error(*err),
        ignore::Error::Loop { child, .. } => {
            (child, Outcome::Error("Symbolic link loop".to_string()))
        }
        ignore::Error::Io(e) => (PathBuf::new(), io_outcome(&e)),
        other => (PathBuf::new(), Outcome::Error(other.to_string())),
    }
}
