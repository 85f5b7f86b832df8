//! clamd's wire protocol: how commands are framed, which commands exist,
//! and the exact reply strings clients look for.
//!
//! A command starts with `z` (it ends at a NUL byte, and so does every reply
//! line) or `n` (it ends at a newline, and so do the replies). A command
//! with neither prefix is the old style: the whole first packet is the
//! command, a trailing newline is dropped, and replies end with a newline.
//! Command words are case-sensitive and take no stray spaces: `nPING \n` is
//! an unknown command, as it is to clamd.
//!
//! The reply strings below were read off ClamAV 1.4.6's `clamd` and are
//! checked against it by the integration tests.

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// How a request was framed, and so how its reply lines end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delim {
    /// `z` prefix: NUL-terminated.
    Nul,
    /// `n` prefix, or no prefix: newline-terminated.
    Newline,
}

impl Delim {
    /// The terminating byte.
    pub fn byte(self) -> u8 {
        match self {
            Delim::Nul => 0,
            Delim::Newline => b'\n',
        }
    }

    /// The delimiter a command prefix announces, if the byte is one.
    pub fn from_prefix(b: u8) -> Option<Delim> {
        match b {
            b'z' => Some(Delim::Nul),
            b'n' => Some(Delim::Newline),
            _ => None,
        }
    }
}

/// A parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `PING` → `PONG`.
    Ping,
    /// `VERSION`.
    Version,
    /// `VERSIONCOMMANDS`: the version and the command list.
    VersionCommands,
    /// `RELOAD` → `RELOADING`.
    Reload,
    /// `SHUTDOWN` (and the old `QUIT`): stop, no reply.
    Shutdown,
    /// `STATS`.
    Stats,
    /// `DETSTATS`: ClamAV 1.4 answers nothing.
    DetStats,
    /// `DETSTATSCLEAR`: ClamAV 1.4 answers nothing.
    DetStatsClear,
    /// `IDSESSION`: start a session.
    IdSession,
    /// `END`: end a session.
    End,
    /// `SCAN path`: stop at the first detection.
    Scan(PathBuf),
    /// `CONTSCAN path`: go on after detections.
    ContScan(PathBuf),
    /// `MULTISCAN path`: as CONTSCAN, files in parallel.
    MultiScan(PathBuf),
    /// `ALLMATCHSCAN path`: every signature of every file.
    AllMatchScan(PathBuf),
    /// `INSTREAM`: length-prefixed chunks follow.
    Instream,
    /// `FILDES`: a file descriptor follows (Unix socket only).
    Fildes,
    /// Anything else.
    Unknown,
}

/// clamd's command words, in the order `VERSIONCOMMANDS` lists them.
pub const COMMANDS: &[&str] = &[
    "SCAN",
    "QUIT",
    "RELOAD",
    "PING",
    "CONTSCAN",
    "VERSIONCOMMANDS",
    "VERSION",
    "END",
    "SHUTDOWN",
    "MULTISCAN",
    "FILDES",
    "STATS",
    "IDSESSION",
    "INSTREAM",
    "DETSTATSCLEAR",
    "DETSTATS",
    "ALLMATCHSCAN",
];

/// Reply strings, byte for byte as clamd sends them (without terminator).
pub mod reply {
    /// To `PING`.
    pub const PONG: &str = "PONG";
    /// To `RELOAD`.
    pub const RELOADING: &str = "RELOADING";
    /// To a command clamd does not know.
    pub const UNKNOWN_COMMAND: &str = "UNKNOWN COMMAND";
    /// When no complete command arrives in `CommandReadTimeout`.
    pub const COMMAND_READ_TIMED_OUT: &str = "COMMAND READ TIMED OUT";
    /// When an INSTREAM grows beyond `StreamMaxLength`.
    pub const INSTREAM_LIMIT: &str = "INSTREAM size limit exceeded. ERROR";
    /// To a command not allowed inside `IDSESSION`.
    pub const INVALID_IN_SESSION: &str = "Command invalid inside IDSESSION. ERROR";
    /// When FILDES arrives without a descriptor.
    pub const NO_FD: &str = "FILDES: didn't receive file descriptor. ERROR";
    /// The name INSTREAM results carry.
    pub const STREAM: &str = "stream";
}

/// Parse a command (without its prefix and terminator).
pub fn parse(cmd: &[u8]) -> Command {
    let with_path = |rest: &[u8]| PathBuf::from(std::ffi::OsStr::from_bytes(rest));
    match cmd {
        b"PING" => Command::Ping,
        b"VERSION" => Command::Version,
        b"VERSIONCOMMANDS" => Command::VersionCommands,
        b"RELOAD" => Command::Reload,
        b"SHUTDOWN" | b"QUIT" => Command::Shutdown,
        b"STATS" => Command::Stats,
        b"DETSTATS" => Command::DetStats,
        b"DETSTATSCLEAR" => Command::DetStatsClear,
        b"IDSESSION" => Command::IdSession,
        b"END" => Command::End,
        b"INSTREAM" => Command::Instream,
        b"FILDES" => Command::Fildes,
        _ => {
            if let Some(p) = cmd.strip_prefix(b"SCAN ") {
                Command::Scan(with_path(p))
            } else if let Some(p) = cmd.strip_prefix(b"CONTSCAN ") {
                Command::ContScan(with_path(p))
            } else if let Some(p) = cmd.strip_prefix(b"MULTISCAN ") {
                Command::MultiScan(with_path(p))
            } else if let Some(p) = cmd.strip_prefix(b"ALLMATCHSCAN ") {
                Command::AllMatchScan(with_path(p))
            } else {
                Command::Unknown
            }
        }
    }
}

impl Command {
    /// Whether the command may be sent inside an `IDSESSION` (as ClamAV
    /// 1.4.6 allows: CONTSCAN, MULTISCAN and ALLMATCHSCAN are refused).
    pub fn allowed_in_session(&self) -> bool {
        matches!(
            self,
            Command::Ping
                | Command::Version
                | Command::VersionCommands
                | Command::Stats
                | Command::Scan(_)
                | Command::Instream
                | Command::Fildes
                | Command::End
        )
    }
}

/// `VERSIONCOMMANDS`' reply for a version string.
pub fn version_commands(version: &str) -> String {
    let mut s = format!("{version}| COMMANDS:");
    for c in COMMANDS {
        s.push(' ');
        s.push_str(c);
    }
    s
}

/// Append one reply line, with the session id when in a session.
pub fn push_line(out: &mut Vec<u8>, id: Option<u64>, line: &str, delim: Delim) {
    if let Some(id) = id {
        out.extend_from_slice(format!("{id}: ").as_bytes());
    }
    out.extend_from_slice(line.as_bytes());
    out.push(delim.byte());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_exact() {
        assert_eq!(parse(b"PING"), Command::Ping);
        assert_eq!(parse(b"PING "), Command::Unknown);
        assert_eq!(parse(b"ping"), Command::Unknown);
        assert_eq!(parse(b"SCAN"), Command::Unknown);
        assert_eq!(parse(b"SCAN "), Command::Scan(PathBuf::new()));
        assert_eq!(parse(b"QUIT"), Command::Shutdown);
        assert_eq!(
            parse(b"MULTISCAN /a b"),
            Command::MultiScan(PathBuf::from("/a b"))
        );
    }

    #[test]
    fn replies_carry_ids_and_terminators() {
        let mut out = Vec::new();
        push_line(&mut out, Some(3), "PONG", Delim::Nul);
        push_line(&mut out, None, "PONG", Delim::Newline);
        assert_eq!(out, b"3: PONG\0PONG\n");
    }

    #[test]
    fn version_commands_lists_all() {
        assert_eq!(
            version_commands("V"),
            "V| COMMANDS: SCAN QUIT RELOAD PING CONTSCAN VERSIONCOMMANDS VERSION END \
             SHUTDOWN MULTISCAN FILDES STATS IDSESSION INSTREAM DETSTATSCLEAR DETSTATS \
             ALLMATCHSCAN"
        );
    }
}
