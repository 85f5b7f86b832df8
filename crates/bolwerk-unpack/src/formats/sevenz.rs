//! 7-Zip archives, read with `sevenz-rust2` on one thread (the scanner is
//! already one of many) with a cap on the decoder's dictionary memory.

use std::io::{Cursor, Read};

use sevenz_rust2::{ArchiveReader, Password};

use crate::budget::Budget;
use crate::container::{emit, malformed, read_child, UnpackError, Visit};

/// Largest decoder dictionary accepted, in KiB (a hostile header could
/// otherwise ask for gigabytes).
const MEMORY_LIMIT_KB: usize = 256 * 1024;

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let mut archive =
        ArchiveReader::new_with_memory_limit(Cursor::new(data), Password::empty(), MEMORY_LIMIT_KB)
            .map_err(error)?;
    archive.set_thread_count(1);
    let mut stop: Option<UnpackError> = None;
    let result = archive.for_each_entries(|entry, reader: &mut dyn Read| {
        if entry.is_directory() || !entry.has_stream() {
            return Ok(true);
        }
        let name = Some(entry.name().to_string());
        match read_child(reader, budget) {
            Ok(Some(bytes)) => Ok(emit(name, bytes, budget, visit).is_continue()),
            Ok(None) => Ok(true),
            Err(e) => {
                stop = Some(e);
                Ok(false)
            }
        }
    });
    if let Some(e) = stop {
        return Err(e);
    }
    result.map_err(error)
}

/// Encrypted content (headers or entries) is told apart from damage. The
/// crate is built without its AES support, so an encrypted folder is an
/// unsupported method named `AES256_SHA256`.
fn error(e: sevenz_rust2::Error) -> UnpackError {
    match e {
        sevenz_rust2::Error::PasswordRequired | sevenz_rust2::Error::MaybeBadPassword(_) => {
            UnpackError::Encrypted
        }
        sevenz_rust2::Error::UnsupportedCompressionMethod(m) if m.starts_with("AES") => {
            UnpackError::Encrypted
        }
        other => malformed(other),
    }
}
