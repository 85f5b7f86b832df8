//! Errors met while loading indicator feeds.
//!
//! The shape follows ripgrep's `ignore` crate and `bolwerk-sigs`: an error
//! may carry the feed file and the line (or the STIX object) it came from,
//! so a user reads `filename-iocs.txt:812: regex: …` and the rest of the
//! feed still loads.

use std::fmt;
use std::path::{Path, PathBuf};

/// An error with optional file and line context.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    path: Option<PathBuf>,
    line: Option<u64>,
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read.
    Io(std::io::Error),
    /// The file is not valid JSON, or not the structure its format needs.
    Json(String),
    /// A STIX pattern could not be parsed (or uses what the matcher cannot honour).
    Pattern(String),
    /// A regular expression does not compile with the `regex` crate.
    Regex(String),
    /// A line or object does not follow its format.
    Malformed(String),
    /// The file is larger than a feed may be.
    TooLarge(u64),
    /// Neither the name nor the content tells which feed format this is.
    UnknownFormat,
}

impl Error {
    /// A new error of the given kind without context.
    pub fn new(kind: ErrorKind) -> Error {
        Error {
            kind,
            path: None,
            line: None,
        }
    }

    /// Attach the feed file (kept if already set).
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Error {
        if self.path.is_none() {
            self.path = Some(path.as_ref().to_path_buf());
        }
        self
    }

    /// Attach a 1-based line number (kept if already set).
    pub fn with_line(mut self, line: u64) -> Error {
        if self.line.is_none() {
            self.line = Some(line);
        }
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The feed file, if known.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The 1-based line, if known.
    pub fn line(&self) -> Option<u64> {
        self.line
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{}:", p.display())?;
            if let Some(l) = self.line {
                write!(f, "{l}:")?;
            }
            f.write_str(" ")?;
        }
        match &self.kind {
            ErrorKind::Io(e) => write!(f, "{e}"),
            ErrorKind::Json(m) => write!(f, "JSON: {m}"),
            ErrorKind::Pattern(m) => write!(f, "STIX pattern: {m}"),
            ErrorKind::Regex(m) => write!(f, "regex: {m}"),
            ErrorKind::Malformed(m) => f.write_str(m),
            ErrorKind::TooLarge(n) => write!(f, "larger than {n} bytes"),
            ErrorKind::UnknownFormat => f.write_str(
                "not a known indicator format (.stix2 or .json STIX bundle, MISP event; \
                 signature-base hash-, filename- or c2-iocs .txt)",
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::new(ErrorKind::Io(e))
    }
}

pub(crate) fn malformed(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Malformed(msg.into()))
}
