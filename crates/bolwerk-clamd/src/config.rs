//! `clamd.conf`: the keys the daemon acts on, with clamd's defaults.
//!
//! The file is clamd's: one `Key value` per line, `#` comments, booleans as
//! `yes`/`no` (or `true`/`false`, `1`/`0`), sizes with an optional `K`, `M`
//! or `G` suffix, times in seconds. Keys that clamd knows but bolwerk does
//! not act on are accepted quietly, so a distribution's `clamd.conf` loads
//! as it is; keys clamd would not know either are reported once each as a
//! warning, never as an error. A line reading `Example` (the marker left in
//! clamd's sample file) is refused, as clamd refuses it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bolwerk_scan::ObjectRules;
use bolwerk_unpack::{parse_size, Limits};

use crate::error::{Error, ErrorKind};
use crate::log::Log;

/// The daemon's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Unix socket to listen on (`LocalSocket`).
    pub local_socket: Option<PathBuf>,
    /// Permissions of the Unix socket (`LocalSocketMode`, octal).
    pub local_socket_mode: Option<u32>,
    /// TCP port (`TCPSocket`).
    pub tcp_port: Option<u16>,
    /// TCP addresses (`TCPAddr`, repeatable); loopback when none is given.
    pub tcp_addrs: Vec<IpAddr>,
    /// Largest INSTREAM accepted (`StreamMaxLength`, 100 MiB).
    pub stream_max_length: u64,
    /// Scans running at once (`MaxThreads`, 10).
    pub max_threads: usize,
    /// Scans waiting for a thread (`MaxQueue`, 100).
    pub max_queue: usize,
    /// Time allowed for each read of stream data (`ReadTimeout`, 120 s).
    pub read_timeout: Duration,
    /// Time allowed to send the first command (`CommandReadTimeout`, 30 s).
    pub command_read_timeout: Duration,
    /// Time a session may wait for its next command (`IdleTimeout`, 30 s).
    pub idle_timeout: Duration,
    /// Databases to load (`DatabaseDirectory`, or `--database`).
    pub databases: Vec<PathBuf>,
    /// Load bolwerk's built-in pack before the databases.
    pub builtin: bool,
    /// Load PUA signatures (`DetectPUA`).
    pub detect_pua: bool,
    /// Map a cached compiled engine of the databases, and write one.
    pub cache: bool,
    /// Scan limits (`MaxScanSize`, `MaxFileSize`, `MaxRecursion`, `MaxFiles`).
    pub limits: Limits,
    /// Paths not scanned by SCAN and friends (`ExcludePath`, regexes).
    pub exclude_paths: Vec<String>,
    /// Seconds between database change checks (`SelfCheck`, 600; 0: never).
    pub self_check: Duration,
    /// Where to log (`LogFile`); standard error when unset.
    pub log_file: Option<PathBuf>,
    /// Follow directory symbolic links while walking (`FollowDirectorySymlinks`).
    pub follow_dir_symlinks: bool,
    /// Follow file symbolic links (`FollowFileSymlinks`).
    pub follow_file_symlinks: bool,
    /// Where INSTREAM data larger than a small buffer is kept (`TemporaryDirectory`).
    pub temporary_directory: Option<PathBuf>,
    /// Listen backlog (`MaxConnectionQueueLength`, 200).
    pub backlog: u32,
    /// Report exceeded limits as detections (`AlertExceedsMax`).
    pub alert_exceeds_max: bool,
    /// Remember objects found clean and skip them until the databases
    /// change (clamd's cache; off with `DisableCache yes`).
    pub clean_cache: bool,
    /// Report archives with encrypted members (`AlertEncryptedArchive`,
    /// or `AlertEncrypted`).
    pub alert_encrypted_archive: bool,
    /// Report encrypted documents (`AlertEncryptedDoc`, or `AlertEncrypted`).
    pub alert_encrypted_doc: bool,
    /// Match HTML through its normalised copies (`ScanHTML`, yes).
    pub scan_html: bool,
    /// Loads the YARA rule files of the database directories (clamd loads
    /// `.yar` and `.yara` files there); none: such files are not loaded.
    pub rules: Option<RulesLoader>,
}

/// What loads YARA rules for the daemon, given the rule files and
/// directories of its databases; it tells its warnings to the log. The
/// program provides it, so this crate does not depend on a YARA engine.
#[derive(Clone)]
pub struct RulesLoader(pub Arc<LoadRules>);

/// The function behind a [`RulesLoader`].
pub type LoadRules = dyn Fn(&[PathBuf], &Log) -> Vec<Arc<dyn ObjectRules>> + Send + Sync;

impl std::fmt::Debug for RulesLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RulesLoader")
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            local_socket: None,
            local_socket_mode: None,
            tcp_port: None,
            tcp_addrs: Vec::new(),
            stream_max_length: 100 << 20,
            max_threads: 10,
            max_queue: 100,
            read_timeout: Duration::from_secs(120),
            command_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            databases: Vec::new(),
            builtin: true,
            detect_pua: false,
            cache: true,
            limits: Limits::default(),
            exclude_paths: Vec::new(),
            self_check: Duration::from_secs(600),
            log_file: None,
            follow_dir_symlinks: false,
            follow_file_symlinks: false,
            temporary_directory: None,
            backlog: 200,
            alert_exceeds_max: false,
            clean_cache: true,
            alert_encrypted_archive: false,
            alert_encrypted_doc: false,
            scan_html: true,
            rules: None,
        }
    }
}

/// Keys clamd knows that bolwerk accepts without acting on them.
const KNOWN_IGNORED: &[&str] = &[
    "AlertBrokenExecutables",
    "AlertBrokenMedia",
    "AlertOLE2Macros",
    "AlertPartitionIntersection",
    "AlertPhishingCloak",
    "AlertPhishingSSLMismatch",
    "AllowAllMatchScan",
    "AllowSupplementaryGroups",
    "Bytecode",
    "BytecodeSecurity",
    "BytecodeTimeout",
    "BytecodeUnsigned",
    "ConcurrentDatabaseReload",
    "CrossFilesystems",
    "Debug",
    "DisableCertCheck",
    "ExcludePUA",
    "ExitOnOOM",
    "ExtendedDetectionInfo",
    "FixStaleSocket",
    "Foreground",
    "ForceToDisk",
    "GenerateMetadataJson",
    "HeuristicAlerts",
    "HeuristicScanPrecedence",
    "IncludePUA",
    "LeaveTemporaryFiles",
    "LocalSocketGroup",
    "LogClean",
    "LogFacility",
    "LogFileMaxSize",
    "LogFileUnlock",
    "LogRotate",
    "LogSyslog",
    "LogTime",
    "LogVerbose",
    "MaxDirectoryRecursion",
    "MaxEmbeddedPE",
    "MaxIconsPE",
    "MaxPartitions",
    "MaxRecHWP3",
    "MaxScanTime",
    "MaxZipTypeRcg",
    "OfficialDatabaseOnly",
    "OnAccessExcludeUname",
    "OnAccessMaxFileSize",
    "OnAccessPrevention",
    "PCREMatchLimit",
    "PCREMaxFileSize",
    "PCRERecMatchLimit",
    "PhishingScanURLs",
    "PhishingSignatures",
    "PidFile",
    "PreludeEnable",
    "PreludeAnalyzerName",
    "ScanArchive",
    "ScanELF",
    "ScanHWP3",
    "ScanMail",
    "ScanOLE2",
    "ScanOneNote",
    "ScanPartialMessages",
    "ScanPDF",
    "ScanPE",
    "ScanSWF",
    "ScanXMLDOCS",
    "SendBufTimeout",
    "StatsEnabled",
    "StatsHostID",
    "StatsPEDisabled",
    "StatsTimeout",
    "StructuredDataDetection",
    "User",
    "VirusEvent",
];

/// The result of reading a file: the settings and the warnings to log.
#[derive(Debug)]
pub struct Parsed {
    /// The settings.
    pub config: Config,
    /// One line per unknown key (once each) or ignored value.
    pub warnings: Vec<String>,
}

impl Config {
    /// Read a `clamd.conf` file.
    pub fn from_file(path: &Path) -> Result<Parsed, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        Config::parse(&text).map_err(|e| e.with_path(path))
    }

    /// Parse the text of a `clamd.conf`.
    pub fn parse(text: &str) -> Result<Parsed, Error> {
        let mut config = Config::default();
        let mut warnings = Vec::new();
        let mut seen_unknown = Vec::<String>::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = split_line(line);
            let result = config.apply(key, value);
            match result {
                Ok(true) => {}
                Ok(false) if KNOWN_IGNORED.contains(&key) => {}
                Ok(false) if !seen_unknown.iter().any(|k| k == key) => {
                    warnings.push(format!("line {}: unknown option {key}, ignored", i + 1));
                    seen_unknown.push(key.to_string());
                }
                Ok(false) => {}
                Err(msg) => return Err(Error::new(ErrorKind::Config { line: i + 1, msg })),
            }
        }
        Ok(Parsed { config, warnings })
    }

    /// Apply one key; `Ok(false)` when the key is not one acted on.
    fn apply(&mut self, key: &str, v: &str) -> Result<bool, String> {
        match key {
            "Example" => return Err("the Example line must be removed".into()),
            "LocalSocket" => self.local_socket = Some(PathBuf::from(v)),
            "LocalSocketMode" => self.local_socket_mode = Some(octal(v)?),
            "TCPSocket" => self.tcp_port = Some(number(v)?),
            "TCPAddr" => self.tcp_addrs.push(ip(v)?),
            "StreamMaxLength" => self.stream_max_length = size(v)?,
            "MaxThreads" => self.max_threads = number::<usize>(v)?.max(1),
            "MaxQueue" => self.max_queue = number::<usize>(v)?.max(1),
            "ReadTimeout" => self.read_timeout = secs(v)?,
            "CommandReadTimeout" => self.command_read_timeout = secs(v)?,
            "IdleTimeout" => self.idle_timeout = secs(v)?,
            "DatabaseDirectory" => self.databases = vec![PathBuf::from(v)],
            "DetectPUA" => self.detect_pua = boolean(v)?,
            "MaxScanSize" => self.limits.max_scan_size = size(v)?,
            "MaxFileSize" => self.limits.max_file_size = size(v)?,
            "MaxRecursion" => self.limits.max_recursion = number(v)?,
            "MaxFiles" => self.limits.max_files = number(v)?,
            "MaxScriptNormalize" => self.limits.max_script_normalize = size(v)?,
            "MaxHTMLNormalize" => self.limits.max_html_normalize = size(v)?,
            "MaxHTMLNoTags" => self.limits.max_html_notags = size(v)?,
            "ScanHTML" => self.scan_html = boolean(v)?,
            "ExcludePath" => self.exclude_paths.push(v.to_string()),
            "SelfCheck" => self.self_check = secs(v)?,
            "LogFile" => self.log_file = Some(PathBuf::from(v)),
            "FollowDirectorySymlinks" => self.follow_dir_symlinks = boolean(v)?,
            "FollowFileSymlinks" => self.follow_file_symlinks = boolean(v)?,
            "TemporaryDirectory" => self.temporary_directory = Some(PathBuf::from(v)),
            "MaxConnectionQueueLength" => self.backlog = number(v)?,
            "AlertExceedsMax" => self.alert_exceeds_max = boolean(v)?,
            "DisableCache" => self.clean_cache = !boolean(v)?,
            "AlertEncrypted" => {
                let on = boolean(v)?;
                self.alert_encrypted_archive = on;
                self.alert_encrypted_doc = on;
            }
            "AlertEncryptedArchive" => self.alert_encrypted_archive = boolean(v)?,
            "AlertEncryptedDoc" => self.alert_encrypted_doc = boolean(v)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The TCP addresses to listen on: `TCPAddr`s, or loopback.
    pub fn tcp_listen_addrs(&self) -> Vec<SocketAddr> {
        let Some(port) = self.tcp_port else {
            return Vec::new();
        };
        if self.tcp_addrs.is_empty() {
            return vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)];
        }
        self.tcp_addrs
            .iter()
            .map(|a| SocketAddr::new(*a, port))
            .collect()
    }
}

/// `Key value`, the value without surrounding quotes.
fn split_line(line: &str) -> (&str, &str) {
    let (key, rest) = line
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((line, ""));
    let v = rest.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v);
    (key, v)
}

fn boolean(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" => Ok(true),
        "no" | "false" | "0" => Ok(false),
        _ => Err(format!("expected yes or no, got '{v}'")),
    }
}

fn number<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("expected a number, got '{v}'"))
}

fn size(v: &str) -> Result<u64, String> {
    parse_size(v).ok_or_else(|| format!("expected a size such as 25M, got '{v}'"))
}

fn secs(v: &str) -> Result<Duration, String> {
    number::<u64>(v).map(Duration::from_secs)
}

fn octal(v: &str) -> Result<u32, String> {
    u32::from_str_radix(v, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| format!("expected an octal mode such as 660, got '{v}'"))
}

fn ip(v: &str) -> Result<IpAddr, String> {
    match v {
        "localhost" => Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        _ => v
            .parse()
            .map_err(|_| format!("expected an IP address, got '{v}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_keys_that_matter() {
        let p = Config::parse(
            "# comment\nLocalSocket /run/c.sock\nLocalSocketMode 660\nTCPSocket 3310\n\
             TCPAddr 127.0.0.1\nStreamMaxLength 25M\nMaxThreads 4\nReadTimeout 5\n\
             DatabaseDirectory /var/lib/clamav\nExcludePath ^/proc/\nExcludePath ^/sys/\n\
             User clamav\nScanPE yes\n",
        )
        .unwrap();
        let c = p.config;
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(c.local_socket, Some(PathBuf::from("/run/c.sock")));
        assert_eq!(c.local_socket_mode, Some(0o660));
        assert_eq!(c.stream_max_length, 25 << 20);
        assert_eq!(c.max_threads, 4);
        assert_eq!(c.read_timeout, Duration::from_secs(5));
        assert_eq!(c.exclude_paths.len(), 2);
        assert_eq!(
            c.tcp_listen_addrs(),
            vec!["127.0.0.1:3310".parse().unwrap()]
        );
    }

    #[test]
    fn unknown_keys_warn_once() {
        let p = Config::parse("Frobnicate yes\nFrobnicate no\nWhatever 1\n").unwrap();
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
    }

    #[test]
    fn bad_values_and_example_are_errors() {
        assert!(Config::parse("MaxThreads many\n").is_err());
        assert!(Config::parse("Example\n").is_err());
        assert!(Config::parse("LocalSocketMode 999\n").is_err());
    }

    #[test]
    fn tcp_defaults_to_loopback() {
        let c = Config::parse("TCPSocket 3310\n").unwrap().config;
        assert_eq!(c.tcp_listen_addrs()[0].ip(), Ipv4Addr::LOCALHOST);
    }
}
