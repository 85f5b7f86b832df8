//! `bolwerk update`: verify a signature pack repository and install its
//! files into a database directory, then tell a running daemon to reload.
//!
//! `--from DIR` reads a repository copy (removable media, an air-gapped
//! site); `--from URL` needs a build with the `http` feature. Nothing is
//! written unless every check passes (see `bolwerk_update::update`).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use bolwerk_update::tlog::Policy;
use bolwerk_update::{Source, UpdateOptions};
use clap::Args;

/// The transparency-log policy read when `--policy` is not given.
const DEFAULT_POLICY: &str = "/etc/bolwerk/update.toml";

/// The update's options.
#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// The pack repository: a directory, or an https:// URL (feature "http").
    #[arg(long, value_name = "DIR|URL")]
    pub from: String,
    /// The database directory to install into.
    #[arg(long, value_name = "DIR")]
    pub db: PathBuf,
    /// The repository's root.json, obtained out of band (first update only).
    #[arg(long, value_name = "FILE")]
    pub root: Option<PathBuf>,
    /// Where the trusted metadata is kept (default DB/.bolwerk-update).
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Transparency-log policy (TOML): log key, witnesses, threshold
    /// (default: /etc/bolwerk/update.toml when it exists).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Ask the daemon on this Unix socket to reload (RELOAD).
    #[arg(long, value_name = "PATH")]
    pub reload_socket: Option<PathBuf>,
    /// Send SIGUSR2 to the daemon whose pid is in this file.
    #[arg(long, value_name = "FILE")]
    pub reload_pid: Option<PathBuf>,
}

/// Run the update.
pub fn run(args: UpdateArgs) -> anyhow::Result<u8> {
    let source = if args.from.contains("://") {
        Source::Url(args.from.clone())
    } else {
        Source::Dir(PathBuf::from(&args.from))
    };
    let mut opts = UpdateOptions::new(source, &args.db);
    opts.root = args.root.clone();
    opts.state = args.state.clone();
    let policy = args
        .policy
        .clone()
        .or_else(|| Some(PathBuf::from(DEFAULT_POLICY)).filter(|p| p.is_file()));
    opts.policy = policy.as_deref().map(Policy::read).transpose()?;
    let report = bolwerk_update::update(&opts)?;
    for line in &report.log {
        println!("log: {line}");
    }
    for (name, len) in &report.written {
        println!("installed {name} ({len} bytes)");
    }
    for name in &report.removed {
        println!("removed {name}");
    }
    println!(
        "{}: pack v{} under root v{}",
        args.db.display(),
        report.targets_version,
        report.root_version
    );
    reload(&args)?;
    Ok(0)
}

fn reload(args: &UpdateArgs) -> anyhow::Result<()> {
    if let Some(sock) = &args.reload_socket {
        let mut s = UnixStream::connect(sock)
            .with_context(|| format!("connecting to the daemon at {}", sock.display()))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        s.write_all(b"zRELOAD\0")?;
        let mut reply = Vec::new();
        s.read_to_end(&mut reply)?;
        if reply != b"RELOADING\0" {
            bail!(
                "the daemon answered {:?} to RELOAD",
                String::from_utf8_lossy(&reply)
            );
        }
        println!("daemon at {} is reloading", sock.display());
    }
    if let Some(pidfile) = &args.reload_pid {
        let text = std::fs::read_to_string(pidfile)
            .with_context(|| format!("reading {}", pidfile.display()))?;
        let pid: i32 = text
            .trim()
            .parse()
            .with_context(|| format!("{}: not a pid", pidfile.display()))?;
        // SAFETY: kill(2) with a pid read from the daemon's pid file and a
        // signal the daemon handles; it touches no memory.
        if pid <= 0 || unsafe { libc::kill(pid, libc::SIGUSR2) } != 0 {
            bail!("signalling pid {pid}: {}", std::io::Error::last_os_error());
        }
        println!("sent SIGUSR2 to the daemon (pid {pid})");
    }
    Ok(())
}
