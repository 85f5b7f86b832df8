//! MEW 11: the sections' contents compressed with an aPLib-style coder
//! ([`super::aplib`]) in a stream of blocks, unpacked by a loader kept in
//! the PE header.
//!
//! The entry point is a `jmp rel32` to the loader, which starts
//! `mov esi, TABLE; mov ebx, esi; lodsd; lodsd; push eax; lodsd;
//! xchg edi, eax; mov dl, 80h; movsb` (`BE imm32 8B DE AD AD 50 AD 97 B2 80
//! A4`): TABLE holds the bit-reader's address, the original entry point
//! and the first block's destination, followed by that block's stream.
//! After each stream's end marker comes the next block's destination, or 0
//! after the last. Blocks are unpacked into one memory image of
//! `SizeOfImage` bytes (bounded by the budget), at most [`MAX_BLOCKS`] of
//! them; the image is handed on from the first destination to the end of
//! what was written.
//! MEW's LZMA-compressed form (another loader) is not read.

use super::aplib::depack;
use super::headers::{rebuild, Headers};

/// Blocks unpacked at most.
const MAX_BLOCKS: usize = 64;
const LOADER: [u8; 12] = [
    0x8b, 0xde, 0xad, 0xad, 0x50, 0xad, 0x97, 0xb2, 0x80, 0xa4, 0, 0,
];

/// The loader's table: its file offset.
fn table(data: &[u8], h: &Headers) -> Option<usize> {
    let ep = h
        .offset_of(h.entry)
        .or_else(|| (h.entry < h.size_of_headers).then_some(h.entry as usize))?;
    let jmp = data.get(ep..ep.checked_add(5)?)?;
    if jmp[0] != 0xe9 {
        return None;
    }
    let rel = i32::from_le_bytes([jmp[1], jmp[2], jmp[3], jmp[4]]);
    let loader = h.entry.checked_add(5)?.checked_add_signed(rel)?;
    let at = rva_offset(h, loader)?;
    let code = data.get(at..at.checked_add(15)?)?;
    if code[0] != 0xbe || code[5..15] != LOADER[..10] {
        return None;
    }
    let va = u32::from_le_bytes([code[1], code[2], code[3], code[4]]);
    rva_offset(h, va.checked_sub(h.image_base)?)
}

/// A file offset for an RVA in a section's raw data or in the headers.
fn rva_offset(h: &Headers, rva: u32) -> Option<usize> {
    h.offset_of(rva)
        .or_else(|| (rva < h.size_of_headers).then_some(rva as usize))
}

fn dword(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Unpack a MEW-packed file into a rebuilt image of at most `limit` bytes.
pub(crate) fn unpack(data: &[u8], h: &Headers, limit: u64) -> Option<(&'static str, Vec<u8>)> {
    let t = table(data, h)?;
    let size = u64::from(h.size_of_image).min(limit);
    let mut image = vec![0u8; usize::try_from(size).ok()?];
    let mut dest_va = dword(data, t.checked_add(8)?)?;
    let mut pos = t.checked_add(12)?;
    let first = dest_va.checked_sub(h.image_base)?;
    let mut end = first as usize;
    for _ in 0..MAX_BLOCKS {
        let at = dest_va.checked_sub(h.image_base)? as usize;
        let (used, written) = depack(data.get(pos..)?, &mut image, at).ok()?;
        end = end.max(written);
        pos = pos.checked_add(used)?;
        dest_va = match dword(data, pos) {
            Some(0) | None => break,
            Some(next) => next,
        };
        pos = pos.checked_add(4)?;
    }
    image.truncate(end);
    let body = image.get(first as usize..)?;
    rebuild(data, h, first, body, limit).map(|img| ("(MEW)", img))
}
