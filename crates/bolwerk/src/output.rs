//! Where result lines go: standard output (buffered, flushed per line on a
//! terminal), a log file when asked, around a progress bar when one is
//! drawn. A closed pipe (`bolwerk scan … | head`) ends the program quietly.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Stdout, Write};

use indicatif::ProgressBar;

/// Line-oriented output.
pub struct Output {
    stdout: BufWriter<Stdout>,
    tty: bool,
    quiet: bool,
    log: Option<File>,
    bar: Option<ProgressBar>,
}

impl Output {
    /// Output to stdout; `quiet` suppresses stdout (the log still gets lines).
    pub fn new(quiet: bool) -> Output {
        Output {
            tty: io::stdout().is_terminal(),
            stdout: BufWriter::with_capacity(64 << 10, io::stdout()),
            quiet,
            log: None,
            bar: None,
        }
    }

    /// Also append every line to `file`.
    pub fn log_to(&mut self, file: File) {
        self.log = Some(file);
    }

    /// Print lines above this progress bar.
    pub fn set_bar(&mut self, bar: Option<ProgressBar>) {
        self.bar = bar;
    }

    /// Write one line.
    pub fn line(&mut self, text: &str) {
        if let Some(log) = &mut self.log {
            if let Err(e) = writeln!(log, "{text}") {
                eprintln!("ERROR: writing the log file: {e}");
                self.log = None;
            }
        }
        if self.quiet {
            return;
        }
        let (stdout, tty) = (&mut self.stdout, self.tty);
        let mut write = || -> io::Result<()> {
            writeln!(stdout, "{text}")?;
            if tty {
                stdout.flush()?;
            }
            Ok(())
        };
        let r = match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        };
        check(r);
    }

    /// Flush buffered output.
    pub fn flush(&mut self) {
        check(self.stdout.flush());
        if let Some(log) = &mut self.log {
            let _ = log.flush();
        }
    }
}

fn check(r: io::Result<()>) {
    if let Err(e) = r {
        if e.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("ERROR: writing output: {e}");
        std::process::exit(2);
    }
}
