//! The report model: what a scan says about each object.

use std::path::PathBuf;

use serde::Serialize;

/// One signature that matched an object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Found {
    /// The name as clamscan prints it (`.UNOFFICIAL` for unsigned databases).
    pub name: String,
    /// The signature's own name.
    pub signature: String,
    /// What kind of signature (`hdb-md5`, `mdb-sha256`, …).
    pub kind: &'static str,
    /// The database it came from.
    pub source: String,
    /// Offset of the matched bytes in the object.
    pub offset: u64,
    /// Where inside the scanned file the object is: the names of the
    /// containers' members, joined with `//` (empty for the file itself).
    pub object: String,
    /// Why it matched, for indicators: the comparison, what was observed
    /// and where (`domain-name:value = 'x.com' matched 'a.x.com' in table
    /// urls, row 3, column url`). None for ClamAV signatures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Why an object was not scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// Larger than the file size limit (reported clean, as clamscan does).
    MaxFileSize,
    /// A symbolic link met while walking, not followed.
    SymbolicLink,
    /// Matched an exclude pattern (or no include pattern).
    Excluded,
    /// A FIFO, socket or device.
    NotRegular,
}

/// The verdict on one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Scanned, nothing found.
    Clean,
    /// Scanned, with what matched (at least one).
    Infected(Vec<Found>),
    /// Zero bytes long; nothing to scan.
    Empty,
    /// Not scanned.
    Skipped(SkipReason),
    /// A path that was named does not exist.
    NotFound,
    /// Could not be read.
    Error(String),
}

/// The report on one file (or standard input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileReport {
    /// The path as given or found by the walk; `stdin` for standard input.
    pub path: PathBuf,
    /// Bytes in the object (0 when unknown).
    pub size: u64,
    /// The verdict.
    pub outcome: Outcome,
    /// Said about the scan besides the verdict: that matching was cut
    /// short (its verdict may then miss what was not looked at), for the
    /// front end to print as a warning naming the file.
    pub warnings: Vec<String>,
}

/// What the driver reports as it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A directory was entered.
    Directory(PathBuf),
    /// A file was dealt with.
    File(FileReport),
}
