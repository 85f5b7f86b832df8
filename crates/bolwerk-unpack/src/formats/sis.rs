//! Symbian installation files (SIS) of EPOC releases 3 to 6 (Symbian OS
//! up to 8.x), the format ClamAV reads as `CL_TYPE_SIS`.
//!
//! A SIS file opens with four UIDs (the third is `0x10000419`; the second
//! `0x10003A12` for release 6, `0x1000006D` before), counts and options,
//! then pointers to tables. All integers are little-endian. The file table
//! holds records of several types: a simple file (one data block) or a
//! multi-language file (one block per language) names its source and
//! destination and gives each block's length and offset; option lists and
//! `if`/`elseif`/`else`/`endif` records sit between them and are skipped.
//! Unless the header's options say "not compressed", each block is a zlib
//! stream. Every block is handed on as a child, named by its source name;
//! blocks outside the file, damaged streams and records past the first
//! unknown one are skipped. The newer SIS format of Symbian 9 (UID1
//! `0x10201A7A`) is a different format and not read.

use flate2::read::ZlibDecoder;

use super::le::{u16_at, u32_at};
use crate::budget::Budget;
use crate::container::{emit, malformed, read_child, UnpackError, Visit};

/// UID3 of every old-format SIS file, at offset 8.
pub(crate) const UID3: [u8; 4] = 0x1000_0419_u32.to_le_bytes();
/// UID2 of release-6 files, whose header and file records are longer.
const UID2_RELEASE6: u32 = 0x1000_3A12;
/// Header option: file data is stored, not zlib-compressed.
const OPT_NOT_COMPRESSED: u16 = 0x0008;
/// Header option: names are UTF-16.
const OPT_UNICODE: u16 = 0x0001;
/// At most this many records are looked at (the count is a 16-bit field).
const MAX_RECORDS: usize = u16::MAX as usize;
/// A multi-language record has a block per language; at most this many.
const MAX_LANGUAGES: usize = 256;

struct Header {
    release6: bool,
    languages: usize,
    files: usize,
    options: u16,
    files_at: usize,
}

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let h = header(data).ok_or_else(|| malformed("SIS header too short"))?;
    let mut at = h.files_at;
    if at > data.len() {
        return Err(malformed("SIS file table out of range"));
    }
    for _ in 0..h.files.min(MAX_RECORDS) {
        let Some(kind) = u32_at(data, at) else {
            return Err(malformed("SIS file table out of range"));
        };
        let next = match kind {
            0 | 1 => {
                let blocks = if kind == 0 { 1 } else { h.languages };
                let Some((next, file)) = file_record(data, at, blocks, h.release6) else {
                    return Err(malformed("SIS file record out of range"));
                };
                if emit_blocks(data, &h, &file, budget, visit)?.is_break() {
                    return Ok(());
                }
                Some(next)
            }
            2 => skip_options(data, at, h.languages),
            3 | 4 => u32_at(data, at + 4).and_then(|len| (at + 8).checked_add(len as usize)),
            5 | 6 => Some(at + 4),
            _ => None,
        };
        at = next
            .filter(|&next| next <= data.len())
            .ok_or_else(|| malformed("SIS record out of range"))?;
    }
    Ok(())
}

fn header(d: &[u8]) -> Option<Header> {
    if d.get(8..12)? != UID3 {
        return None;
    }
    Some(Header {
        release6: u32_at(d, 4)? == UID2_RELEASE6,
        languages: usize::from(u16_at(d, 18)?).min(MAX_LANGUAGES),
        files: usize::from(u16_at(d, 20)?),
        options: u16_at(d, 36)?,
        files_at: u32_at(d, 52)? as usize,
    })
}

/// A file record: its source name and its blocks (offset, stored length).
struct FileRecord {
    name: Option<Vec<u8>>,
    blocks: Vec<(usize, usize)>,
}

/// Read the file record at `at` with `n` blocks; the offset after it.
fn file_record(d: &[u8], at: usize, n: usize, release6: bool) -> Option<(usize, FileRecord)> {
    let name_len = u32_at(d, at + 12)? as usize;
    let name_at = u32_at(d, at + 16)? as usize;
    let lengths = at + 28;
    let offsets = lengths + 4 * n;
    let mut blocks = Vec::with_capacity(n);
    for i in 0..n {
        let len = u32_at(d, lengths + 4 * i)? as usize;
        let off = u32_at(d, offsets + 4 * i)? as usize;
        blocks.push((off, len));
    }
    // Release 6 adds the original lengths, then a MIME type's length and
    // offset.
    let end = offsets + 4 * n + if release6 { 4 * n + 8 } else { 0 };
    let name = d
        .get(name_at..name_at.checked_add(name_len)?)
        .map(<[u8]>::to_vec);
    Some((end, FileRecord { name, blocks }))
}

/// Skip an options record: a count, per option a name per language
/// (length and offset), then 128 bits of selected options.
fn skip_options(d: &[u8], at: usize, languages: usize) -> Option<usize> {
    let count = u32_at(d, at + 4)? as usize;
    let names = count.checked_mul(languages)?.checked_mul(8)?;
    (at + 8).checked_add(names)?.checked_add(16)
}

fn emit_blocks(
    data: &[u8],
    h: &Header,
    file: &FileRecord,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<crate::Flow, UnpackError> {
    let name = file.name.as_ref().map(|raw| decode_name(raw, h.options));
    for &(off, len) in &file.blocks {
        let Some(block) = off.checked_add(len).and_then(|end| data.get(off..end)) else {
            continue;
        };
        let content = if h.options & OPT_NOT_COMPRESSED != 0 {
            read_child(block, budget)?
        } else {
            inflate(block, budget)?
        };
        if let Some(bytes) = content {
            if emit(name.clone(), bytes, budget, visit).is_break() {
                return Ok(crate::Flow::Break(()));
            }
        }
    }
    Ok(crate::Flow::Continue(()))
}

/// Inflate a zlib block within the budget; a damaged stream yields nothing.
fn inflate(block: &[u8], budget: &mut Budget) -> Result<Option<Vec<u8>>, UnpackError> {
    match read_child(ZlibDecoder::new(block), budget) {
        Ok(bytes) => Ok(bytes),
        Err(UnpackError::Malformed(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A name as the header's options encode it: UTF-16LE or 8-bit.
fn decode_name(raw: &[u8], options: u16) -> String {
    if options & OPT_UNICODE == 0 {
        return raw.iter().map(|&b| char::from(b)).collect();
    }
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

#[cfg(test)]
mod tests {
    use crate::testfiles::{damaged_variants, holds_clam_exe, testfile};
    use crate::{file_type, FileType};

    #[test]
    fn clam_sis_holds_clam_exe() {
        let data = testfile("clam.sis");
        assert_eq!(file_type(&data), FileType::Sis);
        let (found, result) = holds_clam_exe(&data, FileType::Sis);
        assert!(found);
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn damaged_clam_sis_does_not_panic() {
        let data = testfile("clam.sis");
        // Cut before the end of the compressed block, clam.exe is gone.
        assert!(!holds_clam_exe(&data[..0x14e + 0x100], FileType::Sis).0);
        assert!(holds_clam_exe(&data[..12], FileType::Sis).1.is_err());
        assert!(damaged_variants(&data, FileType::Sis) > 0);
    }
}
