//! Microsoft cabinets (MS-CAB): stored, MSZIP and LZX folders.
//!
//! A cabinet is a header, folder entries (each a run of data blocks and a
//! compression type), file entries (name, size, offset within a folder's
//! uncompressed data) and the data blocks. MSZIP blocks are each a deflate
//! stream (after `CK`) whose back-references may reach into the previous
//! block's output, so blocks are inflated into one buffer that keeps the
//! last 32 KiB. LZX folders (window of 2^15 to 2^21 bytes, from the
//! compression type's high byte) are one LZX stream whose frames are the
//! data blocks, decoded in order with the `lzxd` crate, as in CHM files. A
//! folder is unpacked no further than its files need and the budget allows;
//! files outside their folder's data are skipped. Quantum folders are not
//! read.
//!
//! The format is parsed here rather than with the `cab` crate, which
//! trusted block sizes and offsets and panicked on fuzzed input.

use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};

use super::le::{u16_at, u32_at};
use crate::budget::Budget;
use crate::container::{emit, malformed, UnpackError, Visit};

const RESERVE_PRESENT: u16 = 0x0004;
const PREV_CABINET: u16 = 0x0001;
const NEXT_CABINET: u16 = 0x0002;
const STORED: u16 = 0;
const MSZIP: u16 = 1;
const LZX: u16 = 3;
/// MSZIP's window, and the most one block may unpack to.
const MSZIP_WINDOW: usize = 32 * 1024;

struct Folder {
    start: usize,
    blocks: u16,
    /// The method (low nibble) and its parameter (LZX: window bits in the
    /// high byte).
    compression: u16,
}

struct File {
    name: String,
    size: u64,
    offset: u64,
    folder: usize,
}

struct Cabinet {
    folders: Vec<Folder>,
    files: Vec<File>,
    data_reserve: usize,
}

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let cab = parse(data).ok_or_else(|| malformed("cabinet tables out of range"))?;
    for (index, folder) in cab.folders.iter().enumerate() {
        let files: Vec<&File> = cab.files.iter().filter(|f| f.folder == index).collect();
        let Some(needed) = files.iter().map(|f| f.offset.saturating_add(f.size)).max() else {
            continue;
        };
        let cap = needed.min(budget.scan_left());
        let Some(unpacked) = unpack_folder(data, folder, cab.data_reserve, cap) else {
            continue;
        };
        for f in files {
            let (start, end) = (f.offset as usize, (f.offset + f.size) as usize);
            let Some(bytes) = unpacked.get(start..end.min(unpacked.len())) else {
                continue;
            };
            let allowance = budget.allowance()?;
            if bytes.len() as u64 > allowance {
                budget.note(budget.blame(allowance));
                continue;
            }
            if emit(Some(f.name.clone()), bytes.to_vec(), budget, visit).is_break() {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Skip a NUL-terminated string at `at`; the offset after it.
fn skip_cstr(d: &[u8], at: usize) -> Option<usize> {
    Some(at + d.get(at..)?.iter().position(|&b| b == 0)? + 1)
}

fn parse(d: &[u8]) -> Option<Cabinet> {
    let (files_at, folders, files, flags) = (
        u32_at(d, 16)? as usize,
        u16_at(d, 26)?,
        u16_at(d, 28)?,
        u16_at(d, 30)?,
    );
    let mut at = 36;
    let (mut folder_reserve, mut data_reserve) = (0, 0);
    if flags & RESERVE_PRESENT != 0 {
        folder_reserve = usize::from(*d.get(38)?);
        data_reserve = usize::from(*d.get(39)?);
        at = 40 + usize::from(u16_at(d, 36)?);
    }
    for flag in [PREV_CABINET, NEXT_CABINET] {
        if flags & flag != 0 {
            at = skip_cstr(d, skip_cstr(d, at)?)?;
        }
    }
    let mut cab = Cabinet {
        folders: Vec::with_capacity(usize::from(folders)),
        files: Vec::with_capacity(usize::from(files)),
        data_reserve,
    };
    for _ in 0..folders {
        cab.folders.push(Folder {
            start: u32_at(d, at)? as usize,
            blocks: u16_at(d, at + 4)?,
            compression: u16_at(d, at + 6)?,
        });
        at += 8 + folder_reserve;
    }
    let mut at = files_at;
    for _ in 0..files {
        let name_end = skip_cstr(d, at + 16)?;
        cab.files.push(File {
            size: u64::from(u32_at(d, at)?),
            offset: u64::from(u32_at(d, at + 4)?),
            folder: usize::from(u16_at(d, at + 8)?),
            name: String::from_utf8_lossy(&d[at + 16..name_end - 1]).into_owned(),
        });
        at = name_end;
    }
    Some(cab)
}

/// A folder's uncompressed data, at most `cap` bytes (more or less when the
/// blocks end early); `None` for a compression not read.
fn unpack_folder(d: &[u8], folder: &Folder, reserve: usize, cap: u64) -> Option<Vec<u8>> {
    let method = folder.compression & 0x000f;
    let mut lzx = match method {
        STORED | MSZIP => None,
        LZX => {
            let bits = (folder.compression >> 8) & 0x1f;
            Some(lzxd::Lzxd::new(super::chm::window_size(
                1u32.checked_shl(bits.into())?,
            )?))
        }
        _ => return None,
    };
    let mut out = Vec::new();
    let mut at = folder.start;
    for _ in 0..folder.blocks {
        if out.len() as u64 >= cap {
            break;
        }
        let (packed, unpacked) = (u16_at(d, at + 4)?, u16_at(d, at + 6)?);
        let start = at + 8 + reserve;
        let Some(block) = d.get(start..start + usize::from(packed)) else {
            break;
        };
        at = start + usize::from(packed);
        let ok = match (method, lzx.as_mut()) {
            (STORED, _) => {
                out.extend_from_slice(&block[..block.len().min(usize::from(unpacked))]);
                true
            }
            (LZX, Some(decoder)) => lzx_block(decoder, &mut out, block, usize::from(unpacked)),
            _ => inflate_block(&mut out, block),
        };
        if !ok {
            break;
        }
    }
    out.truncate(usize::try_from(cap).unwrap_or(usize::MAX));
    Some(out)
}

/// Decode one LZX frame (a data block of at most 32 KiB of output) onto
/// `out`.
fn lzx_block(decoder: &mut lzxd::Lzxd, out: &mut Vec<u8>, block: &[u8], unpacked: usize) -> bool {
    if unpacked == 0 || unpacked > MSZIP_WINDOW {
        return false;
    }
    match decoder.decompress_next(block, unpacked) {
        Ok(bytes) => {
            out.extend_from_slice(bytes);
            true
        }
        Err(_) => false,
    }
}

/// Inflate one MSZIP block onto `out`, whose last 32 KiB are its history.
fn inflate_block(out: &mut Vec<u8>, block: &[u8]) -> bool {
    let Some(deflate) = block.strip_prefix(b"CK") else {
        return false;
    };
    let history = out.len().saturating_sub(MSZIP_WINDOW);
    let old = out.len();
    out.resize(old + MSZIP_WINDOW, 0);
    let mut state = DecompressorOxide::new();
    let (_, _, written) = decompress(
        &mut state,
        deflate,
        &mut out[history..],
        old - history,
        inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
    );
    out.truncate(old + written);
    written > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two MSZIP blocks, the second made of back-references into the first
    /// (raw deflate made with the first block as preset dictionary).
    #[test]
    fn mszip_history_spans_blocks() {
        let first = [
            b"CK".as_slice(),
            &hex("4bcacf294f2dca56482acd294f04d174e60300"),
        ]
        .concat();
        let second = [b"CK".as_slice(), &hex("1b307ba17c00")].concat();
        let mut out = Vec::new();
        assert!(inflate_block(&mut out, &first));
        assert_eq!(out, b"bolwerk bulwark ".repeat(8));
        assert!(inflate_block(&mut out, &second));
        assert_eq!(&out[128..], b"bulwark bolwerk ".repeat(8).as_slice());
        assert!(!inflate_block(&mut out, b"XX"));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
