//! `bolwerk clamdscan`: clamdscan's flags, output and exit codes — a client
//! of a running daemon (bolwerk's or ClamAV's clamd), so scripts written
//! for clamdscan run unchanged.
//!
//! As clamdscan does, it reads the daemon's address from `clamd.conf`
//! (`--config-file`, default `/etc/clamav/clamd.conf`), sends each path
//! made absolute (`CONTSCAN`, `MULTISCAN` with `-m`: the daemon walks the
//! tree), or walks the tree itself and sends each file's path
//! (`--allmatch`: `ALLMATCHSCAN`), streams it (`--stream`: `INSTREAM`) or passes their descriptors
//! (`--fdpass`: `FILDES`); `-` scans standard input. Output: the daemon's
//! `PATH: NAME FOUND` and `PATH: OK` lines, `ERROR: Can't access file PATH`,
//! and the `SCAN SUMMARY` block. Exit code 1 when something was found, else
//! 2 on any error, else 0; 21 when `--ping` or `--wait` gives up.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bolwerk_clamd::client::{absolute, parse_reply, Endpoint, Verdict};
use bolwerk_clamd::Config;
use clap::Args;

use crate::output::Output;

/// clamdscan's exit code when `--ping` or `--wait` times out (ClamAV's
/// `CL_ETIMEOUT`).
const TIMED_OUT: u8 = 21;

/// Attempts and seconds between them for `--ping` without a value and
/// for `--wait`.
const PING_DEFAULT: (u64, u64) = (30, 1);

/// clamdscan's options.
#[derive(Args, Debug)]
pub struct ClamdscanArgs {
    /// Files and directories to scan ('-' for standard input); default: the current directory.
    pub paths: Vec<PathBuf>,
    /// Read the daemon's address from FILE.
    #[arg(long, value_name = "FILE", default_value = "/etc/clamav/clamd.conf")]
    pub config_file: PathBuf,
    /// Only print infected files.
    #[arg(short = 'i', long)]
    pub infected: bool,
    /// Only output error messages.
    #[arg(long)]
    pub quiet: bool,
    /// Write all messages (errors too) to standard output.
    #[arg(long)]
    pub stdout: bool,
    /// Do not print the scan summary.
    #[arg(long)]
    pub no_summary: bool,
    /// Have the daemon scan in parallel (MULTISCAN).
    #[arg(short = 'm', long)]
    pub multiscan: bool,
    /// Read the files here and stream them to the daemon (INSTREAM).
    #[arg(long)]
    pub stream: bool,
    /// Pass the files' descriptors to the daemon (FILDES; Unix socket only).
    #[arg(long)]
    pub fdpass: bool,
    /// Report every signature that matched (ALLMATCHSCAN).
    #[arg(short = 'z', long)]
    pub allmatch: bool,
    /// Append the scan report to FILE.
    #[arg(short = 'l', long = "log", value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Scan the files listed in FILE (one per line).
    #[arg(short = 'f', long = "file-list", value_name = "FILE")]
    pub file_list: Option<PathBuf>,
    /// Ping the daemon up to A times, I seconds apart (default 30:1), and exit.
    #[arg(short = 'p', long, value_name = "A[:I]", num_args = 0..=1, default_missing_value = "")]
    pub ping: Option<String>,
    /// Wait for the daemon to answer before scanning.
    #[arg(short = 'w', long)]
    pub wait: bool,
    /// Ask the daemon to reload its databases, and exit.
    #[arg(long)]
    pub reload: bool,
    /// Print the daemon's version and exit.
    #[arg(short = 'V', long = "version")]
    pub version: bool,
    /// Accepted for compatibility.
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// How files reach the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Cont,
    Multi,
    AllMatch,
    Stream,
    Fildes,
}

impl Mode {
    fn command(self) -> &'static str {
        match self {
            Mode::Cont => "CONTSCAN",
            Mode::Multi => "MULTISCAN",
            Mode::AllMatch => "ALLMATCHSCAN",
            Mode::Stream => "INSTREAM",
            Mode::Fildes => "FILDES",
        }
    }
}

/// What a run saw.
#[derive(Default)]
struct Counts {
    infected: BTreeSet<String>,
    errors: u64,
}

struct Client {
    endpoint: Endpoint,
    args: ClamdscanArgs,
    out: Output,
    counts: Counts,
}

/// Run clamdscan with `args`; the exit code.
pub fn run(args: ClamdscanArgs) -> anyhow::Result<u8> {
    let config = Config::from_file(&args.config_file)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .config;
    let endpoint = Endpoint::from_config(&config)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.config_file.display()))?;
    let mut out = Output::new(args.quiet);
    if let Some(log) = &args.log {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| anyhow::anyhow!("cannot open the log file {}: {e}", log.display()))?;
        out.log_to(file);
    }
    let mut client = Client {
        endpoint,
        args,
        out,
        counts: Counts::default(),
    };
    let code = client.run();
    client.out.flush();
    Ok(code)
}

impl Client {
    fn run(&mut self) -> u8 {
        if self.args.version {
            return self.version();
        }
        if let Some(spec) = self.args.ping.clone() {
            return self.ping(&spec, false);
        }
        if self.args.reload {
            return self.reload();
        }
        if self.args.wait && self.ping("", true) != 0 {
            return TIMED_OUT;
        }
        let (start, started) = (Instant::now(), chrono::Local::now());
        self.scan_all();
        if !self.args.no_summary {
            self.summary(start, started);
        }
        if !self.counts.infected.is_empty() {
            1
        } else if self.counts.errors > 0 {
            2
        } else {
            0
        }
    }

    fn scan_all(&mut self) {
        let dash = self.args.file_list.is_none()
            && self.args.paths.len() == 1
            && self.args.paths[0] == Path::new("-");
        let mode = self.mode(dash);
        if dash {
            self.scan_stdin(mode);
            return;
        }
        let paths = match self.paths() {
            Ok(p) => p,
            Err(e) => {
                self.error(&format!("ERROR: {e}"));
                return;
            }
        };
        for path in paths {
            if path == Path::new("-") {
                self.error(
                    "ERROR: Scanning from standard input requires \"-\" to be the only file argument",
                );
                continue;
            }
            self.scan_path(&absolute(&path), mode);
        }
    }

    /// The scan type clamdscan would choose.
    fn mode(&self, dash: bool) -> Mode {
        let unix = matches!(self.endpoint, Endpoint::Unix(_));
        if self.args.stream {
            Mode::Stream
        } else if unix && (self.args.fdpass || dash) {
            Mode::Fildes
        } else if dash {
            Mode::Stream
        } else if self.args.multiscan {
            Mode::Multi
        } else if self.args.allmatch {
            Mode::AllMatch
        } else {
            Mode::Cont
        }
    }

    /// The paths to scan: `--file-list`, the arguments, or the current
    /// directory.
    fn paths(&mut self) -> std::io::Result<Vec<PathBuf>> {
        if let Some(list) = self.args.file_list.clone() {
            if !self.args.paths.is_empty() {
                self.message("WARNING: Only scanning files from --file-list (files passed at cmdline are ignored)");
            }
            let file = File::open(list)?;
            let mut paths = Vec::new();
            for line in BufReader::new(file).lines() {
                let line = line?;
                if !line.trim().is_empty() {
                    paths.push(PathBuf::from(line.trim_end()));
                }
            }
            return Ok(paths);
        }
        if self.args.paths.is_empty() {
            return Ok(vec![std::env::current_dir()?]);
        }
        Ok(self.args.paths.clone())
    }

    fn scan_stdin(&mut self, mode: Mode) {
        let stdin = std::io::stdin();
        let regular = stdin_is_regular();
        let mode = if mode == Mode::Fildes && !regular {
            Mode::Stream
        } else {
            mode
        };
        let replies = self.endpoint.connect().and_then(|conn| match mode {
            Mode::Fildes => conn.fildes(&stdin_file()),
            _ => conn.instream(&mut stdin.lock()),
        });
        match replies {
            Ok(replies) => {
                for r in replies {
                    self.reply(&r, None);
                }
            }
            Err(e) => self.connect_error(&e),
        }
    }

    fn scan_path(&mut self, path: &Path, mode: Mode) {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(_) => {
                self.error(&format!("ERROR: Can't access file {}", path.display()));
                return;
            }
        };
        if !meta.is_file() && !meta.is_dir() {
            // Counted as an error, but a warning: `--quiet` hides it.
            self.counts.errors += 1;
            if !self.args.quiet {
                self.message(&format!(
                    "WARNING: {}: Not supported file type",
                    path.display()
                ));
            }
            return;
        }
        match mode {
            Mode::Cont | Mode::Multi => {
                let command = format!("{} {}", mode.command(), path.display());
                match self.endpoint.connect().and_then(|c| c.request(&command)) {
                    Ok(replies) => {
                        for r in replies {
                            self.reply(&r, None);
                        }
                    }
                    Err(e) => self.connect_error(&e),
                }
            }
            Mode::AllMatch | Mode::Stream | Mode::Fildes => self.send_tree(path, mode),
        }
    }

    /// `--allmatch`, `--stream` and `--fdpass`: walk the tree here, one
    /// request per file (as clamdscan does); print the findings, and
    /// `PATH: OK` for a clean tree.
    fn send_tree(&mut self, root: &Path, mode: Mode) {
        let before = (self.counts.infected.len(), self.counts.errors);
        let mut stack = vec![root.to_path_buf()];
        while let Some(path) = stack.pop() {
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                self.error(&format!("ERROR: Can't access file {}", path.display()));
                continue;
            };
            if meta.is_dir() {
                match std::fs::read_dir(&path) {
                    Ok(rd) => {
                        let mut children: Vec<PathBuf> =
                            rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                        children.sort_by(|a, b| b.cmp(a));
                        stack.extend(children);
                    }
                    Err(_) => self.error(&format!("ERROR: Can't access file {}", path.display())),
                }
            } else if meta.is_file() || (path == root && meta.file_type().is_symlink()) {
                self.send_file(&path, mode);
            }
        }
        if (self.counts.infected.len(), self.counts.errors) == before && !self.args.infected {
            self.out.line(&format!("{}: OK", root.display()));
        }
    }

    fn send_file(&mut self, path: &Path, mode: Mode) {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(_) => {
                self.error(&format!("ERROR: Can't access file {}", path.display()));
                return;
            }
        };
        let replies = self.endpoint.connect().and_then(|conn| match mode {
            Mode::Fildes => conn.fildes(&file),
            Mode::AllMatch => conn.request(&format!("ALLMATCHSCAN {}", path.display())),
            _ => conn.instream(&mut &file),
        });
        match replies {
            Ok(replies) => {
                for r in replies {
                    self.reply(&r, Some(path));
                }
            }
            Err(e) => self.connect_error(&e),
        }
    }

    /// Print and count one reply; `path` replaces the daemon's prefix
    /// (`stream`, `fd[N]`) for files read here, whose clean results are
    /// summed up per tree instead of printed.
    fn reply(&mut self, reply: &str, path: Option<&Path>) {
        let (prefix, verdict) = parse_reply(reply);
        let name = path.map_or_else(|| prefix.to_string(), |p| p.display().to_string());
        match verdict {
            Verdict::Found(sig) => {
                self.counts.infected.insert(name.clone());
                self.out.line(&format!("{name}: {sig} FOUND"));
            }
            Verdict::Clean if path.is_none() && !self.args.infected => {
                self.out.line(&format!("{name}: OK"));
            }
            Verdict::Clean => {}
            Verdict::Error(msg) => self.error(&format!("{name}: {msg} ERROR")),
            Verdict::Other(text) => self.out.line(&text),
        }
    }

    fn connect_error(&mut self, e: &std::io::Error) {
        let text = connect_error_text(&self.endpoint, e);
        self.error(&text);
    }

    /// An error message (standard error, or standard output with
    /// `--stdout`), counted.
    fn error(&mut self, text: &str) {
        self.counts.errors += 1;
        self.message(text);
    }

    fn message(&mut self, text: &str) {
        if self.args.stdout {
            self.out.line(text);
        } else {
            self.out.flush();
            eprintln!("{text}");
        }
    }

    fn summary(&mut self, start: Instant, started: chrono::DateTime<chrono::Local>) {
        let fmt = "%Y:%m:%d %H:%M:%S";
        let secs = start.elapsed().as_secs_f64();
        let whole = start.elapsed().as_secs();
        self.out.line("");
        self.out.line("----------- SCAN SUMMARY -----------");
        self.out
            .line(&format!("Infected files: {}", self.counts.infected.len()));
        if self.counts.errors > 0 {
            self.out
                .line(&format!("Total errors: {}", self.counts.errors));
        }
        self.out.line(&format!(
            "Time: {secs:.3} sec ({} m {} s)",
            whole / 60,
            whole % 60
        ));
        self.out
            .line(&format!("Start Date: {}", started.format(fmt)));
        self.out
            .line(&format!("End Date:   {}", chrono::Local::now().format(fmt)));
    }

    fn version(&mut self) -> u8 {
        match self.endpoint.connect().and_then(|c| c.request("VERSION")) {
            Ok(replies) if !replies.is_empty() => {
                for r in replies {
                    self.out.line(&r);
                }
            }
            _ => self
                .out
                .line(&format!("bolwerk {}", env!("CARGO_PKG_VERSION"))),
        }
        0
    }

    fn reload(&mut self) -> u8 {
        match self.endpoint.connect().and_then(|c| c.request("RELOAD")) {
            Ok(r) if r.first().is_some_and(|l| l.starts_with("RELOADING")) => 0,
            Ok(_) => {
                self.message("ERROR: Clamd did not reload the database");
                2
            }
            Err(e) => {
                self.connect_error(&e);
                2
            }
        }
    }

    /// `--ping A[:I]` (and `--wait`, `quiet`): 0 once the daemon answers,
    /// [`TIMED_OUT`] after A attempts.
    fn ping(&mut self, spec: &str, quiet: bool) -> u8 {
        let (attempts, interval) = match parse_ping(spec) {
            Some(p) => p,
            None => {
                self.message(&format!("ERROR: invalid --ping value '{spec}'"));
                return 2;
            }
        };
        for i in 0..attempts {
            match self.endpoint.connect().and_then(|c| c.request("PING")) {
                Ok(r) if r.first().map(String::as_str) == Some("PONG") => {
                    if !quiet {
                        self.out.line("PONG");
                    }
                    return 0;
                }
                Ok(_) => {}
                Err(e) => {
                    self.out.flush();
                    eprintln!("{}", connect_error_text(&self.endpoint, &e));
                }
            }
            if i + 1 < attempts {
                if !quiet {
                    let unit = if interval == 1 { "second" } else { "seconds" };
                    self.out.line(&format!(
                        "Could not connect, will PING again in {interval} {unit}"
                    ));
                    self.out.flush();
                }
                std::thread::sleep(Duration::from_secs(interval));
            }
        }
        self.out.line(if quiet {
            "Wait timeout exceeded; Could not connect to clamd"
        } else {
            "PING timeout exceeded; No response from clamd"
        });
        TIMED_OUT
    }
}

/// clamdscan's message for a failed connection: the system's text for the
/// error, without Rust's "(os error N)".
fn connect_error_text(endpoint: &Endpoint, e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_string(),
        _ => text,
    };
    format!(
        "ERROR: Could not connect to clamd on {}: {text}",
        endpoint.describe()
    )
}

/// `A[:I]`, empty for the defaults.
fn parse_ping(spec: &str) -> Option<(u64, u64)> {
    if spec.is_empty() {
        return Some(PING_DEFAULT);
    }
    let (a, i) = match spec.split_once(':') {
        Some((a, i)) => (a, i.parse().ok()?),
        None => (spec, PING_DEFAULT.1),
    };
    Some((a.parse().ok()?, i))
}

fn stdin_is_regular() -> bool {
    stdin_file().metadata().is_ok_and(|m| m.is_file()) && !std::io::stdin().is_terminal()
}

/// Standard input as a `File`, for FILDES (not closed when dropped).
fn stdin_file() -> std::mem::ManuallyDrop<File> {
    use std::os::fd::FromRawFd;
    // SAFETY: descriptor 0 stays open for the life of the process; the
    // ManuallyDrop keeps this File from closing it.
    std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(0) })
}

#[cfg(test)]
mod tests {
    #[test]
    fn ping_values() {
        assert_eq!(super::parse_ping(""), Some((30, 1)));
        assert_eq!(super::parse_ping("3"), Some((3, 1)));
        assert_eq!(super::parse_ping("3:2"), Some((3, 2)));
        assert_eq!(super::parse_ping("x"), None);
    }
}
