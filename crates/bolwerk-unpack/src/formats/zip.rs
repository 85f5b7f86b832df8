//! Zip archives: stored, deflate, deflate64, bzip2, LZMA and xz members,
//! and the legacy methods of PKZIP 1 (shrink, reduce, implode: the `zip`
//! crate's `legacy-zip` feature), read with the `zip` crate. When the
//! central directory is unreadable the local headers are walked from the
//! start, as ClamAV does with damaged archives. Encrypted members are not decrypted: they are handed on with
//! their metadata only (name, sizes, CRC), which container metadata
//! signatures match on.

use std::io::Cursor;

use crate::budget::Budget;
use crate::container::{emit_with, read_child, Meta, UnpackError, Visit};

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
        let readable = archive.by_index(i).is_ok();
        let flow = if readable {
            let file = archive.by_index(i).map_err(crate::container::malformed)?;
            member(file, budget, visit)?
        } else {
            // Encrypted (or an unsupported method, or a damaged header):
            // what the directory says about an encrypted member is known.
            match archive.by_index_raw(i) {
                Ok(raw) if raw.encrypted() && raw.is_file() => {
                    let name = raw.name().ok().map(|n| n.into_owned());
                    let meta = Meta {
                        encrypted: true,
                        ..meta_of(&raw)
                    };
                    emit_with(name, Vec::new(), meta, budget, visit)
                }
                _ => continue,
            }
        };
        if flow.is_break() {
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

/// Read the member whose local header starts at the cursor, if it is one
/// (a self-extracting archive's members, found by their magic).
pub(crate) fn member_at(
    cursor: &mut Cursor<&[u8]>,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<crate::Flow, UnpackError> {
    match zip::read::read_zipfile_from_stream(cursor) {
        // A damaged member (or bytes that only look like a header) ends
        // that member, not the search.
        Ok(Some(file)) => match member(file, budget, visit) {
            Err(UnpackError::Malformed(_)) => Ok(crate::Flow::Continue(())),
            other => other,
        },
        _ => Ok(crate::Flow::Continue(())),
    }
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
    let meta = meta_of(&file);
    match read_child(file, budget)? {
        Some(bytes) => Ok(emit_with(name, bytes, meta, budget, visit)),
        None => Ok(crate::Flow::Continue(())),
    }
}

fn meta_of<R: std::io::Read>(file: &zip::read::ZipFile<'_, R>) -> Meta {
    Meta {
        packed_size: Some(file.compressed_size()),
        stated_size: Some(file.size()),
        encrypted: file.encrypted(),
        crc32: Some(file.crc32()),
    }
}

#[cfg(test)]
mod tests {
    use crate::testfiles::{damaged_variants, holds_clam_exe, testfile};
    use crate::FileType;

    /// `clam.impl.zip` holds `CLAM.EXE` imploded (method 6; flags 0: a
    /// 4 KiB window and two trees, literals uncoded).
    #[test]
    fn imploded_member() {
        let data = testfile("clam.impl.zip");
        let (found, result) = holds_clam_exe(&data, FileType::Zip);
        assert!(found);
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn damaged_imploded_member_does_not_panic() {
        let data = testfile("clam.impl.zip");
        // Cut inside the member's data: neither directory nor member whole.
        assert!(!holds_clam_exe(&data[..200], FileType::Zip).0);
        assert!(damaged_variants(&data, FileType::Zip) > 0);
    }
}
