//! The error type: what went wrong, and where (file, line).

use std::fmt;
use std::path::{Path, PathBuf};

/// An error while loading a policy, reading a source or a report.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    path: Option<PathBuf>,
    line: Option<usize>,
}

/// What kind of error happened.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be read.
    Io(std::io::Error),
    /// A policy is not valid TOML or does not have the expected shape.
    Policy(String),
    /// A source's data is malformed (a dpkg status file, an RPM header, a hive).
    Format(String),
    /// A report given to `merge` could not be read.
    Report(String),
}

impl Error {
    /// A new error of this kind, without a location.
    pub fn new(kind: ErrorKind) -> Error {
        Error {
            kind,
            path: None,
            line: None,
        }
    }

    /// A policy error with this message.
    pub fn policy(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Policy(msg.into()))
    }

    /// A format error with this message.
    pub fn format(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Format(msg.into()))
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, err: std::io::Error) -> Error {
        Error::new(ErrorKind::Io(err)).with_path(path)
    }

    /// The same error, located in `path`.
    pub fn with_path(mut self, path: &Path) -> Error {
        self.path = Some(path.to_path_buf());
        self
    }

    /// The same error, located at `line` (1-based).
    pub fn with_line(mut self, line: usize) -> Error {
        self.line = Some(line);
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The file the error is about, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.line) {
            (Some(p), Some(l)) => write!(f, "{}:{l}: ", p.display())?,
            (Some(p), None) => write!(f, "{}: ", p.display())?,
            (None, Some(l)) => write!(f, "line {l}: ")?,
            (None, None) => {}
        }
        match &self.kind {
            ErrorKind::Io(e) => write!(f, "{e}"),
            ErrorKind::Policy(m) => write!(f, "policy: {m}"),
            ErrorKind::Format(m) => write!(f, "{m}"),
            ErrorKind::Report(m) => write!(f, "report: {m}"),
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

/// A result with this crate's error.
pub type Result<T> = std::result::Result<T, Error>;
