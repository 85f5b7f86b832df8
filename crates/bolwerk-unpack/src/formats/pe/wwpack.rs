//! WWPack32 1.12: sections compressed in place with an LZ coder, unpacked
//! at run time by a loader in a last section (named `.WWP32`) at the entry
//! point.
//!
//! The loader starts `push ebx; push ebp; mov ebp, eax; xor ebx, ebx;
//! jmp` over its banner (`WWPack32 decompression routine version 1.12`),
//! then `call $+5; pop eax; sub eax, 6Dh`: its own address, `B`, from
//! which its tables are found. At `B + 2A1h` is a list of 17-byte block
//! records: four dwords and a flag byte, non-zero when another record
//! follows (at most [`MAX_BLOCKS`] are read).
//!
//! * `back`: the block's destination is at `B - back`;
//! * `last`: the destination's last dword is at `dest + last`, so the
//!   block unpacks to `last + 4` bytes;
//! * `count`: the compressed stream's length in dwords;
//! * `src_last`: the stream's last dword is at `dest + src_last`.
//!
//! The loader moves the stream to the end of the destination and decodes
//! it forwards from the destination's start, zero-filling what the stream
//! leaves. Here the stream is copied out of the memory image (sections at
//! their RVAs) and decoded into the destination ([`decompress`]).
//!
//! The stream: flag bits are read most significant first from
//! little-endian dwords, a dword fetched as soon as the previous one is
//! used up; literal bytes are taken from the stream between them, where
//! the reader has got to. Each step is a flag bit: 0, a literal byte; 1, a
//! 2-bit code:
//!
//! * 3: a 2-byte match; 2 bits select a distance of 5, 6, 8 or 9 bits
//!   (from 1, 33, 97 and 353); the 9-bit value `1FFh` ends the stream;
//! * 0, 1, 2: a 3-bit class then the distance ([`distance`], 1 to 57312),
//!   and a length of 3 (code 1), 4 (code 2) or read from the stream
//!   (code 0, [`length`]).
//!
//! The image handed on runs from the first section to the end of the
//! other sections and the unpacked blocks, leaving out the loader's
//! section, as ClamAV's rebuilt file does; it is bounded by `SizeOfImage`
//! and the budget. The loader's fix-ups for a moved image base are not
//! applied (the image is scanned, not run).

use super::headers::{map_sections, rebuild_unpacked, Headers};
use crate::formats::le::u32_at;

/// The loader's first instructions.
const ENTRY: &[u8] = b"\x53\x55\x8b\xe8\x33\xdb\xeb\x60";
/// Its banner, at [`BANNER_AT`].
const BANNER: &[u8] = b"WWPack32 decompression routine version 1.12";
const BANNER_AT: usize = 0x0c;
/// `call $+5; pop eax; sub eax, 6Dh`, at [`BASE_AT`].
const BASE: &[u8] = b"\xe8\0\0\0\0\x58\x2d\x6d\0\0\0";
const BASE_AT: usize = 0x68;
/// Where the block records start, past the loader's address.
const RECORDS_AT: usize = 0x2a1;
const RECORD_LEN: usize = 17;
/// Block records read at most.
const MAX_BLOCKS: usize = 96;

/// The stream's reader: flag bits from dwords, literal bytes in between.
struct Stream<'a> {
    src: &'a [u8],
    pos: usize,
    word: u32,
    /// Bits left in `word`; 0 once the stream has no dword to refill it.
    left: u32,
}

impl<'a> Stream<'a> {
    fn new(src: &'a [u8]) -> Option<Self> {
        Some(Stream {
            src,
            pos: 4,
            word: u32_at(src, 0)?,
            left: 32,
        })
    }

    fn bit(&mut self) -> Option<u32> {
        if self.left == 0 {
            return None;
        }
        let bit = self.word >> 31;
        self.word <<= 1;
        self.left -= 1;
        if self.left == 0 {
            if let Some(word) = u32_at(self.src, self.pos) {
                self.word = word;
                self.pos += 4;
                self.left = 32;
            }
        }
        Some(bit)
    }

    /// `n` bits, the first read the most significant.
    fn bits(&mut self, n: u32) -> Option<u32> {
        (0..n).try_fold(0, |v, _| Some(v << 1 | self.bit()?))
    }

    fn byte(&mut self) -> Option<u8> {
        let b = *self.src.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
}

/// A `width`-bit value over the range that starts at `2^width - 31`.
fn ranged(s: &mut Stream<'_>, width: u32) -> Option<u32> {
    Some(s.bits(width)? + (1 << width) - 31)
}

/// The distance of a match of length 3 or more.
fn distance(s: &mut Stream<'_>) -> Option<u32> {
    let width = match s.bits(3)? {
        class @ 0..=2 => class + 5,
        3 => 8 + s.bit()?,
        4 => 10 + s.bit()?,
        5 => 12,
        6 => return Some(s.bits(14)? + 0x1fe1),
        _ => return Some(s.bits(15)? + 0x5fe1),
    };
    ranged(s, width)
}

/// The length of a match whose code is 0: 5 to 252, or 14 bits as they
/// stand.
fn length(s: &mut Stream<'_>) -> Option<u32> {
    if s.bit()? == 0 {
        return Some(5 + s.bit()?);
    }
    match s.bits(3)? {
        0 => {}
        v => return Some(v + 6),
    }
    match s.bits(4)? {
        0 => {}
        v => return Some(v + 13),
    }
    for width in 5..=7 {
        if s.bit()? == 1 {
            return Some(s.bits(width)? + (1 << width) - 3);
        }
    }
    s.bits(14)
}

/// Decode a block's stream into `out`, which must hold all of it; the
/// bytes written, or `None` for a damaged stream.
fn decompress(src: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut s = Stream::new(src)?;
    let mut at = 0usize;
    loop {
        if s.bit()? == 0 {
            *out.get_mut(at)? = s.byte()?;
            at += 1;
            continue;
        }
        let (len, dist) = match s.bits(2)? {
            3 => {
                let n = s.bits(2)?;
                let raw = s.bits([5, 6, 8, 9][n as usize])?;
                if n == 3 && raw == 0x1ff {
                    return Some(at);
                }
                (2, raw + [1, 33, 97, 353][n as usize])
            }
            code => {
                let dist = distance(&mut s)?;
                let len = match code {
                    1 => 3,
                    2 => 4,
                    _ => length(&mut s)?,
                };
                (len, dist)
            }
        };
        let from = at.checked_sub(dist as usize)?;
        let end = at.checked_add(len as usize)?;
        if end > out.len() {
            return None;
        }
        for i in 0..len as usize {
            out[at + i] = out[from + i];
        }
        at = end;
    }
}

/// Unpack the block described by `rec` into `image`; its destination's
/// start and end. The stream is no longer than the destination.
fn unpack_block(rec: &[u8], entry: u32, image: &mut [u8]) -> Option<(usize, usize)> {
    let back = u32_at(rec, 0)?;
    let last = u32_at(rec, 4)?;
    let count = u32_at(rec, 8)?;
    let src_last = u32_at(rec, 12)?;
    let dest = entry.checked_sub(back)? as usize;
    let end = dest.checked_add(last.checked_add(4)? as usize)?;
    let src_len = count.checked_mul(4)? as usize;
    if src_len > end - dest {
        return None;
    }
    let src_start = dest.checked_add((src_last.checked_add(4)? as usize).checked_sub(src_len)?)?;
    let src = image
        .get(src_start..src_start.checked_add(src_len)?)?
        .to_vec();
    let out = image.get_mut(dest..end)?;
    out.fill(0);
    decompress(&src, out)?;
    Some((dest, end))
}

/// Unpack a WWPack32-packed file into a rebuilt image of at most `limit`
/// bytes.
pub(crate) fn unpack(data: &[u8], h: &Headers, limit: u64) -> Option<(&'static str, Vec<u8>)> {
    let ep = h.offset_of(h.entry)?;
    let loader = data.get(ep..)?;
    if !loader.starts_with(ENTRY)
        || !loader.get(BANNER_AT..)?.starts_with(BANNER)
        || !loader.get(BASE_AT..)?.starts_with(BASE)
    {
        return None;
    }
    let size = usize::try_from(u64::from(h.size_of_image).min(limit)).ok()?;
    let mut image = map_sections(data, h, size);
    let mut end = 0;
    // Blocks unpack to separate places: together no larger than the image,
    // which bounds the work however many records there are.
    let mut unpacked = 0usize;
    for i in 0..MAX_BLOCKS {
        let at = RECORDS_AT + i * RECORD_LEN;
        let rec = loader.get(at..at + RECORD_LEN)?;
        let (dest, block_end) = unpack_block(rec, h.entry, &mut image)?;
        unpacked = unpacked.saturating_add(block_end - dest);
        if unpacked > size {
            return None;
        }
        end = end.max(block_end);
        if rec[16] == 0 {
            break;
        }
    }
    rebuild_unpacked(data, h, &image, end, limit).map(|img| ("(WWPack)", img))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bits written most significant first into little-endian dwords,
    /// literal bytes placed where the reader will be when it takes them.
    #[test]
    fn literals_then_a_match_then_the_end() {
        // Flags: 0 (literal 'a'), 0 (literal 'b'), 1 11 00 00001
        // (2-byte match at distance 2), 1 11 11 111111111 (end).
        let bits = concat!("00", "1", "11", "00", "00001", "1", "11", "11", "111111111");
        let mut word = 0u32;
        for (i, c) in bits.chars().enumerate() {
            word |= u32::from(c == '1') << (31 - i);
        }
        let mut src = word.to_le_bytes().to_vec();
        src.extend_from_slice(b"ab");
        let mut out = [0u8; 8];
        assert_eq!(decompress(&src, &mut out), Some(4));
        assert_eq!(&out[..4], b"abab");
        assert_eq!(decompress(&src[..5], &mut out), None);
        assert_eq!(decompress(&src, &mut out[..3]), None);
    }
}
