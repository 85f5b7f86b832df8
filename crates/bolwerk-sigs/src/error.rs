//! Errors met while loading signature databases.
//!
//! The shape follows ripgrep's `ignore` crate: an error may carry the database
//! file it came from and the line within it, so a user reads
//! `main.hdb:12: malformed hash signature: ...` and can fix or report that line.
//! A bad line never stops the rest of a database from loading; the loader
//! collects these errors as diagnostics (see [`crate::Loader`]).

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
    /// A signature line does not follow its format.
    Malformed(String),
    /// A CVD/CLD/CUD container failed a check (header, MD5, digital
    /// signature, `.info` listing) and was refused as a whole.
    Container(String),
    /// The file is not a database format this loader knows.
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

    /// A malformed-line error with a message.
    pub fn malformed(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Malformed(msg.into()))
    }

    /// A refused-container error with a message.
    pub fn container(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Container(msg.into()))
    }

    /// Attach the database file this error came from (kept if already set).
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

    /// The database file, if known.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The 1-based line, if the error is about one line.
    pub fn line(&self) -> Option<u64> {
        self.line
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Error {
        Error::new(ErrorKind::Io(err))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.line) {
            (Some(p), Some(l)) => write!(f, "{}:{}: ", p.display(), l)?,
            (Some(p), None) => write!(f, "{}: ", p.display())?,
            (None, Some(l)) => write!(f, "line {l}: ")?,
            (None, None) => {}
        }
        match &self.kind {
            ErrorKind::Io(e) => write!(f, "{e}"),
            ErrorKind::Malformed(m) => write!(f, "{m}"),
            ErrorKind::Container(m) => write!(f, "refused: {m}"),
            ErrorKind::UnknownFormat => write!(f, "not a known signature database format"),
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
