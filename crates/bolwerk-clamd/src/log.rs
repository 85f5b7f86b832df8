//! The daemon's log: `LogFile` when set (appended, one timestamped line
//! per event, as clamd writes it), standard error otherwise.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use crate::error::Error;

/// Where log lines go.
pub struct Log {
    file: Option<Mutex<File>>,
}

impl Log {
    /// Log to standard error.
    pub fn stderr() -> Log {
        Log { file: None }
    }

    /// Log to a file, appending.
    pub fn file(path: &Path) -> Result<Log, Error> {
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(format!("opening log file {}", path.display()), e))?;
        Ok(Log {
            file: Some(Mutex::new(f)),
        })
    }

    /// Write one line.
    pub fn line(&self, msg: &str) {
        let now = chrono::Local::now().format("%a %b %e %H:%M:%S %Y");
        let text = format!("{now} -> {msg}\n");
        match &self.file {
            Some(f) => {
                let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
                let _ = f.write_all(text.as_bytes());
            }
            None => {
                let _ = std::io::stderr().lock().write_all(text.as_bytes());
            }
        }
    }
}
