//! Rules that run on every scanned object beside the engine: YARA rules
//! today, and any other matcher that wants each object's bytes and name.
//!
//! The scanner owns no state for them: an implementation keeps whatever it
//! needs per thread itself (a YARA scanner is not `Send`, so it lives in a
//! thread-local), and the scanner calls [`ObjectRules::scan_object`] once
//! for every object it matches, archive members included, on the same
//! buffer the engine saw.

use std::fmt::Debug;
use std::path::Path;

use bolwerk_unpack::{Budget, FileType};

use crate::report::Found;

/// One object as the scanner sees it.
#[derive(Clone, Copy, Debug)]
pub struct ObjectRef<'a> {
    /// The file on disk that holds the object (`stdin` for a stream; empty
    /// when bytes were scanned without a name).
    pub file: &'a Path,
    /// The members' names from the file down to this object (empty for the
    /// file itself).
    pub members: &'a [String],
    /// Its type, as the scanner typed it.
    pub file_type: FileType,
    /// Its bytes.
    pub data: &'a [u8],
}

impl ObjectRef<'_> {
    /// The object's place inside the file, as [`Found::object`] writes it.
    pub fn object_path(&self) -> String {
        self.members.join("//")
    }
}

/// A set of rules run on every object. Shared by all scanning threads.
pub trait ObjectRules: Debug + Send + Sync {
    /// Match `object`, adding what matched to `found`. A limit met on the
    /// way (a timeout) is noted in `budget`; it never stops the scan.
    fn scan_object(&self, object: &ObjectRef<'_>, budget: &mut Budget, found: &mut Vec<Found>);
}
