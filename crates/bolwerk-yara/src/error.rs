//! What went wrong while loading rules: always the file, and the line when
//! the fault is in a rule. A bad file never stops the others from loading.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A rule file that could not be read, or a rule in it that did not compile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadError {
    /// The rule file (or the path given, when it could not be listed).
    pub path: PathBuf,
    /// The line of the fault, counted from 1, when it is in the source.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl LoadError {
    pub(crate) fn io(path: &Path, err: &std::io::Error) -> LoadError {
        LoadError {
            path: path.to_path_buf(),
            line: None,
            message: err.to_string(),
        }
    }

    pub(crate) fn new(path: &Path, message: impl Into<String>) -> LoadError {
        LoadError {
            path: path.to_path_buf(),
            line: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for LoadError {}
