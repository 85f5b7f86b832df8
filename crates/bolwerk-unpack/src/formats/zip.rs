//! Zip archives: stored, deflate, deflate64, bzip2, LZMA and xz members,
//! read with the `zip` crate. When the central directory is unreadable the
//! local headers are walked from the start, as ClamAV does with damaged
//! archives. Encrypted members are skipped.

use std::io::Cursor;

use crate::budget::Budget;
use crate::container::{emit, read_child, UnpackError, Visit};

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    match zip::ZipArchive::new(Cursor::new(data)) {
        Ok(mut archive) => central(&mut archive, budget, visit),
        Err(_) => local_headers(data, budget, visit),
    }
}

fn central(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    for i in 0..archive.len() {
        let Ok(file) = archive.by_index(i) else {
            continue; // unsupported method, encrypted, damaged header
        };
        if member(file, budget, visit)?.is_break() {
            break;
        }
    }
    Ok(())
}

fn local_headers(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let mut cursor = Cursor::new(data);
    while let Ok(Some(file)) = zip::read::read_zipfile_from_stream(&mut cursor) {
        if member(file, budget, visit)?.is_break() {
            break;
        }
    }
    Ok(())
}

/// Read one member (directories have no content) and hand it on.
fn member<R: std::io::Read>(
    file: zip::read::ZipFile<'_, R>,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<crate::Flow, UnpackError> {
    if !file.is_file() {
        return Ok(crate::Flow::Continue(()));
    }
    let name = file.name().ok().map(|n| n.into_owned());
    match read_child(file, budget)? {
        Some(bytes) => Ok(emit(name, bytes, budget, visit)),
        None => Ok(crate::Flow::Continue(())),
    }
}
