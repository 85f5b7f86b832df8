//! `bolwerk daemon`: clamd's socket protocol and `clamd.conf`, so mail
//! gateways, upload scanners and scripts written for clamd work unchanged.
//!
//! Settings come from `clamd.conf` (`-c`; by default
//! `/etc/clamav/clamd.conf` when it exists), then the flags, which win.
//! YARA rule files among the databases are loaded as clamd loads them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context;
use bolwerk_clamd::{Config, Log};
use clap::Args;

use crate::load::default_dirs;

/// clamd's configuration file, read when no other is named.
const DEFAULT_CONFIG: &str = "/etc/clamav/clamd.conf";

/// The daemon's options.
#[derive(Args, Debug)]
pub struct DaemonArgs {
    /// clamd.conf to read (default: /etc/clamav/clamd.conf when present).
    #[arg(short = 'c', long = "config-file", value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Unix socket to listen on (LocalSocket).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// TCP port, or address:port, to listen on (TCPSocket, TCPAddr; loopback by default).
    #[arg(long, value_name = "[ADDR:]PORT", value_parser = tcp)]
    pub tcp: Option<SocketAddr>,
    /// Database file or directory (repeatable; replaces DatabaseDirectory).
    #[arg(short = 'd', long = "database", value_name = "FILE/DIR")]
    pub database: Vec<PathBuf>,
    /// Do not load bolwerk's built-in pack.
    #[arg(long)]
    pub no_builtin: bool,
    /// Neither use nor write the compiled-engine cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Stay in the foreground (always the case; accepted as clamd accepts it).
    #[arg(short = 'F', long)]
    pub foreground: bool,
}

fn tcp(s: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    s.parse()
        .map_err(|_| format!("expected PORT or ADDRESS:PORT, got '{s}'"))
}

/// Run the daemon until it is told to stop.
pub fn run(args: DaemonArgs) -> anyhow::Result<u8> {
    let config = config(&args)?;
    let log = match &config.log_file {
        Some(p) => Log::file(p)?,
        None => Log::stderr(),
    };
    bolwerk_clamd::serve(config, log)?;
    Ok(0)
}

fn config(args: &DaemonArgs) -> anyhow::Result<Config> {
    let path = args
        .config_file
        .clone()
        .or_else(|| Some(PathBuf::from(DEFAULT_CONFIG)).filter(|p| p.is_file()));
    let mut config = match &path {
        Some(p) => read_config(p)?,
        None => Config::default(),
    };
    if let Some(s) = &args.socket {
        config.local_socket = Some(s.clone());
    }
    if let Some(a) = args.tcp {
        config.tcp_port = Some(a.port());
        config.tcp_addrs = vec![a.ip()];
    }
    if !args.database.is_empty() {
        config.databases = args.database.clone();
    }
    if config.databases.is_empty() {
        config.databases = default_dirs();
    }
    config.builtin = !args.no_builtin;
    config.cache = !args.no_cache;
    config.rules = crate::yara::daemon_rules();
    Ok(config)
}

fn read_config(path: &Path) -> anyhow::Result<Config> {
    let parsed = Config::from_file(path).context("reading the configuration")?;
    for w in &parsed.warnings {
        eprintln!("WARNING: {}: {w}", path.display());
    }
    Ok(parsed.config)
}
