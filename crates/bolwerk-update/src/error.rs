//! One error type: what went wrong, where, and what kind of thing it was.

use std::fmt;
use std::path::{Path, PathBuf};

/// What kind of failure an [`Error`] is.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Reading or writing a file failed.
    Io,
    /// A file is not what it should be (bad JSON, bad key, bad name).
    Format,
    /// The repository or the user asked for something that cannot be done
    /// (no trusted root, publishing without enough signatures).
    Usage,
    /// Verification refused the update: signatures, thresholds, expiry,
    /// versions, hashes, lengths, sizes, root rotation.
    Untrusted,
    /// The transparency log refused: not included, inconsistent, too few
    /// witnesses.
    Log,
}

/// An error with its context.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    path: Option<PathBuf>,
    line: Option<usize>,
}

impl Error {
    /// A new error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            path: None,
            line: None,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, err: std::io::Error) -> Error {
        Error::new(ErrorKind::Io, err.to_string()).with_path(path)
    }

    /// Names the file the error is about.
    pub fn with_path(mut self, path: &Path) -> Error {
        self.path = Some(path.to_path_buf());
        self
    }

    /// Names the line of the file the error is about.
    pub fn with_line(mut self, line: usize) -> Error {
        self.line = Some(line);
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The file it is about, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.line) {
            (Some(p), Some(l)) => write!(f, "{}:{l}: {}", p.display(), self.message),
            (Some(p), None) => write!(f, "{}: {}", p.display(), self.message),
            (None, _) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

/// Shorthand used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A verification failure reported by `tough`, with its whole chain of causes.
pub(crate) fn untrusted(what: &str, err: &dyn std::error::Error) -> Error {
    let mut text = format!("{what}: {err}");
    let mut cause = err.source();
    while let Some(c) = cause {
        let c_text = c.to_string();
        if !text.contains(&c_text) {
            text.push_str(&format!(": {c_text}"));
        }
        cause = c.source();
    }
    Error::new(ErrorKind::Untrusted, text)
}
