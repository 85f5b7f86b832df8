//! The daemon's errors: what failed, with the context needed to fix it.

use std::fmt;
use std::path::{Path, PathBuf};

/// An error starting or running the daemon.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    path: Option<PathBuf>,
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A bad line in `clamd.conf`.
    Config {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        msg: String,
    },
    /// An I/O operation failed.
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        err: std::io::Error,
    },
    /// The settings cannot work (no listener, a socket in use, …).
    Setup(String),
    /// The databases could not be loaded.
    Database(String),
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error { kind, path: None }
    }

    pub(crate) fn io(context: impl Into<String>, err: std::io::Error) -> Error {
        Error::new(ErrorKind::Io {
            context: context.into(),
            err,
        })
    }

    pub(crate) fn setup(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Setup(msg.into()))
    }

    pub(crate) fn with_path(mut self, path: &Path) -> Error {
        self.path = Some(path.to_path_buf());
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{}: ", p.display())?;
        }
        match &self.kind {
            ErrorKind::Config { line, msg } => write!(f, "line {line}: {msg}"),
            ErrorKind::Io { context, err } => write!(f, "{context}: {err}"),
            ErrorKind::Setup(msg) | ErrorKind::Database(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io { err, .. } => Some(err),
            _ => None,
        }
    }
}
