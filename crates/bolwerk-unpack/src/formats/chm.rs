//! Compiled HTML Help (CHM, the `ITSF` format): every file in its
//! directory, as ClamAV hands them on (`CL_TYPE_MSCHM`).
//!
//! The `ITSF` header gives the directory's place and where content starts
//! (version 3 states it; version 2's content follows the directory). The
//! directory (`ITSP`) is a run of fixed-size chunks; listing chunks
//! (`PMGL`) hold entries: a name, then its content section, offset and
//! length as "encoded integers" (big-endian groups of 7 bits, the high bit
//! set on all but the last). Section 0 is stored: a file's bytes are at
//! content start + offset. Section 1, "MSCompressed", is the LZX-compressed
//! stream stored in section 0 as `::DataSpace/Storage/MSCompressed/Content`;
//! its `ControlData` (`LZXC`) gives the window size and how often the LZX
//! state is reset, and the `ResetTable` where each 32 KiB frame starts in
//! the compressed stream. Frames are decoded in order with the `lzxd`
//! crate, which restarts at every reset point, as far as the files need and
//! the budget allows; a file in section 1 is a range of that output.
//!
//! Like ClamAV (libmspack) this hands on every entry but directories (names
//! ending in `/`) and the internal `::DataSpace` files. Limits: the index
//! chunks (`PMGI`) are not needed and skipped; `lzxd` counts the position
//! E8 translation uses from the last reset, not checked against a file
//! that uses E8 translation past its first reset interval (clam.chm has a
//! single frame); windows above 2 MiB, the most LZX in CHM allows, are
//! refused. Section 1 is decoded into memory as far as the files in it
//! reach, at most the budget's `MaxScanSize`.

use lzxd::{Lzxd, WindowSize};

use super::le::{u32_at, u64_at};
use crate::budget::Budget;
use crate::container::{emit, malformed, UnpackError, Visit};

/// The first bytes of a CHM file.
pub(crate) const MAGIC: &[u8] = b"ITSF";
/// Directory entries read at most.
const MAX_ENTRIES: usize = 1 << 16;
/// The largest directory chunk accepted (they are 4 KiB in practice).
const MAX_CHUNK: usize = 1 << 16;
/// LZX frames: 32 KiB of output each.
const FRAME: usize = 0x8000;
const CONTENT: &str = "::DataSpace/Storage/MSCompressed/Content";
const CONTROL: &str = "::DataSpace/Storage/MSCompressed/ControlData";
const RESET_TABLE: &str = "::DataSpace/Storage/MSCompressed/Transform/\
    {7FC28940-9D31-11D0-9B27-00A0C91E9C7C}/InstanceData/ResetTable";

/// A directory entry.
struct Entry {
    name: String,
    section: u64,
    offset: u64,
    length: u64,
}

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let (content, entries) =
        directory(data).ok_or_else(|| malformed("CHM header or directory out of range"))?;
    let files: Vec<&Entry> = entries
        .iter()
        .filter(|e| !e.name.starts_with("::") && !e.name.ends_with('/'))
        .collect();
    let mut section1: Option<Vec<u8>> = None;
    for file in files {
        let bytes = match file.section {
            0 => range(data, content.checked_add(file.offset), file.length),
            1 => {
                let unpacked = section1.get_or_insert_with(|| {
                    let need = entries
                        .iter()
                        .filter(|e| e.section == 1)
                        .map(|e| e.offset.saturating_add(e.length))
                        .max()
                        .unwrap_or(0);
                    let cap = need.min(budget.scan_left());
                    decompress(data, content, &entries, cap).unwrap_or_default()
                });
                range(unpacked, Some(file.offset), file.length)
            }
            _ => None,
        };
        let Some(bytes) = bytes else { continue };
        let allowance = budget.allowance()?;
        if bytes.len() as u64 > allowance {
            budget.note(budget.blame(allowance));
            continue;
        }
        if emit(Some(file.name.clone()), bytes.to_vec(), budget, visit).is_break() {
            break;
        }
    }
    Ok(())
}

/// `len` bytes at `at` in `d`, if all there.
fn range(d: &[u8], at: Option<u64>, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(at?).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    d.get(start..end)
}

/// Where content starts, and the directory's entries.
fn directory(d: &[u8]) -> Option<(u64, Vec<Entry>)> {
    if !d.starts_with(MAGIC) {
        return None;
    }
    let header_len = u32_at(d, 8)?;
    let (dir_at, dir_len) = (u64_at(d, 0x48)?, u64_at(d, 0x50)?);
    let content = if header_len >= 0x60 {
        u64_at(d, 0x58)?
    } else {
        dir_at.checked_add(dir_len)?
    };
    let dir = range(d, Some(dir_at), dir_len)?;
    if dir.get(..4)? != b"ITSP" {
        return None;
    }
    let itsp_len = u32_at(dir, 8)? as usize;
    let chunk = u32_at(dir, 0x10)? as usize;
    if !(0x14..=MAX_CHUNK).contains(&chunk) {
        return None;
    }
    let chunks = dir.get(itsp_len..)?;
    let mut entries = Vec::new();
    for c in chunks.chunks_exact(chunk) {
        if c.starts_with(b"PMGL") {
            listing(c, &mut entries);
        }
    }
    Some((content, entries))
}

/// Add a listing chunk's entries; a damaged entry ends the chunk.
fn listing(c: &[u8], entries: &mut Vec<Entry>) {
    let Some(free) = u32_at(c, 4) else { return };
    let end = c.len().saturating_sub(free as usize);
    let mut at = 0x14;
    while at < end && entries.len() < MAX_ENTRIES {
        let Some((entry, next)) = entry(c, at) else {
            return;
        };
        entries.push(entry);
        at = next;
    }
}

fn entry(c: &[u8], at: usize) -> Option<(Entry, usize)> {
    let (name_len, at) = encint(c, at)?;
    let name_end = at.checked_add(usize::try_from(name_len).ok()?)?;
    let name = String::from_utf8_lossy(c.get(at..name_end)?).into_owned();
    let (section, at) = encint(c, name_end)?;
    let (offset, at) = encint(c, at)?;
    let (length, at) = encint(c, at)?;
    Some((
        Entry {
            name,
            section,
            offset,
            length,
        },
        at,
    ))
}

/// An encoded integer at `at`: big-endian 7-bit groups, high bit set on all
/// but the last; the value and the offset after it.
fn encint(c: &[u8], mut at: usize) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for _ in 0..9 {
        let b = *c.get(at)?;
        at += 1;
        v = v.checked_mul(128)? | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            return Some((v, at));
        }
    }
    None
}

/// The LZX parameters and reset table of section 1.
struct Lzx<'a> {
    window: WindowSize,
    /// Frames from one reset of the decoder to the next.
    frames_per_reset: usize,
    /// Where each frame starts in the compressed stream.
    frame_starts: Vec<u64>,
    uncompressed: u64,
    stream: &'a [u8],
}

/// Decode section 1 as far as `cap` bytes (whole frames).
fn decompress(d: &[u8], content: u64, entries: &[Entry], cap: u64) -> Option<Vec<u8>> {
    let lzx = lzx_params(d, content, entries)?;
    let mut decoder = Lzxd::new(lzx.window);
    let total = lzx.uncompressed.min(cap);
    let mut out = Vec::new();
    for (frame, &start) in lzx.frame_starts.iter().enumerate() {
        if out.len() as u64 >= total {
            break;
        }
        if frame > 0 && frame % lzx.frames_per_reset == 0 {
            decoder.reset();
        }
        let chunk = lzx.stream.get(usize::try_from(start).ok()?..)?;
        let left = lzx.uncompressed.saturating_sub(out.len() as u64);
        let len = usize::try_from(left.min(FRAME as u64)).ok()?;
        match decoder.decompress_next(chunk, len) {
            Ok(bytes) => out.extend_from_slice(bytes),
            Err(_) => break,
        }
    }
    Some(out)
}

fn lzx_params<'a>(d: &'a [u8], content: u64, entries: &[Entry]) -> Option<Lzx<'a>> {
    let file = |name: &str| {
        let e = entries.iter().find(|e| e.section == 0 && e.name == name)?;
        range(d, content.checked_add(e.offset), e.length)
    };
    let control = file(CONTROL)?;
    if control.get(4..8)? != b"LZXC" {
        return None;
    }
    let (version, mut reset, mut window) = (
        u32_at(control, 8)?,
        u32_at(control, 12)?,
        u32_at(control, 16)?,
    );
    if version == 2 {
        reset = reset.checked_mul(FRAME as u32)?;
        window = window.checked_mul(FRAME as u32)?;
    }
    let window = window_size(window)?;
    let table = file(RESET_TABLE)?;
    let (count, entry_size, header) = (
        u32_at(table, 4)? as usize,
        u32_at(table, 8)? as usize,
        u32_at(table, 12)? as usize,
    );
    if entry_size != 8 {
        return None;
    }
    let frame_starts = (0..count)
        .map_while(|i| u64_at(table, header.checked_add(i.checked_mul(8)?)?))
        .collect();
    Some(Lzx {
        window,
        frames_per_reset: (reset as usize / FRAME).max(1),
        frame_starts,
        uncompressed: u64_at(table, 0x10)?,
        stream: file(CONTENT)?,
    })
}

/// The LZX window of `bytes` (a power of two from 32 KiB to 2 MiB).
pub(crate) fn window_size(bytes: u32) -> Option<WindowSize> {
    Some(match bytes {
        0x8000 => WindowSize::KB32,
        0x1_0000 => WindowSize::KB64,
        0x2_0000 => WindowSize::KB128,
        0x4_0000 => WindowSize::KB256,
        0x8_0000 => WindowSize::KB512,
        0x10_0000 => WindowSize::MB1,
        0x20_0000 => WindowSize::MB2,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testfiles::{damaged_variants, holds_clam_exe, testfile};
    use crate::{file_type, FileType};

    #[test]
    fn clam_chm_holds_clam_exe() {
        let data = testfile("clam.chm");
        assert_eq!(file_type(&data), FileType::Chm);
        let (found, result) = holds_clam_exe(&data, FileType::Chm);
        assert!(found);
        assert_eq!(result, Ok(()));
    }

    /// The files ClamAV hands on from clam.chm, in its order, with their
    /// sizes (from `clamscan --debug`).
    #[test]
    fn clam_chm_files_as_clamav_lists_them() {
        let data = testfile("clam.chm");
        let mut budget = Budget::new(&crate::Limits::default());
        let mut got = Vec::new();
        read(&data, &mut budget, &mut |child, _| {
            got.push((child.name.unwrap(), child.data.len()));
            crate::Flow::Continue(())
        })
        .unwrap();
        let want = [
            ("/#IDXHDR", 4096),
            ("/#ITBITS", 0),
            ("/#STRINGS", 41),
            ("/#SYSTEM", 4254),
            ("/#TOPICS", 48),
            ("/#URLSTR", 64),
            ("/#URLTBL", 36),
            ("/#WINDOWS", 204),
            ("/$FIftiMain", 0),
            ("/$OBJINST", 2751),
            ("/$WWAssociativeLinks/Property", 4),
            ("/$WWKeywordLinks/Property", 4),
            ("/clam.chm.hhc", 444),
            ("/clam.chm.hhk", 207),
            ("/clam.exe.txt", 544),
        ];
        let want: Vec<(String, usize)> = want.iter().map(|(n, l)| (n.to_string(), *l)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn damaged_clam_chm_does_not_panic() {
        let data = testfile("clam.chm");
        assert!(holds_clam_exe(&data[..0x100], FileType::Chm).1.is_err());
        // The compressed stream cut short: clam.exe.txt cannot be decoded.
        assert!(!holds_clam_exe(&data[..data.len() - 2000], FileType::Chm).0);
        assert!(damaged_variants(&data, FileType::Chm) > 0);
    }

    #[test]
    fn encoded_integers() {
        assert_eq!(encint(&[0x05], 0), Some((5, 1)));
        assert_eq!(encint(&[0x81, 0x00], 0), Some((128, 2)));
        assert_eq!(encint(&[0x80; 9], 0), None);
        assert_eq!(encint(&[0x81], 0), None);
    }
}
