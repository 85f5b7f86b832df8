//! Petite 2.2: the sections compressed with an LZ coder and unpacked at
//! run time by a loader in a last section (named `.petite`), driven by a
//! table of records.
//!
//! The entry point's code is `mov eax, B; push HANDLER; push fs:[0];
//! mov fs:[0], esp; pushf; pusha; push eax; push IMAGEBASE; …`, and after
//! moving part of itself into the PE header, `pop eax; lea edx,
//! [eax + TABLE]` (`58 8D 90 imm32`, at [`TABLE_AT`]): the records start
//! at `B + TABLE`. Their addresses are RVAs:
//!
//! * a first dword with its top bit set: a move of that many dwords (top
//!   bit cleared) from the range whose last dword is at the second dword
//!   to the range whose last dword is at the third, copied backwards (12
//!   bytes);
//! * otherwise a decompression (16 bytes): the stream at the first dword,
//!   unpacked to the third, the second being the unpacked size (a size of
//!   0 skips the record). The fourth is not used by this loop.
//!
//! The list has no end marker: its last record unpacks from RVA 0, which
//! faults, and the loader's exception handler (unpacked by then) goes on.
//! Here a decompression from RVA 0 ends the list; at most [`MAX_RECORDS`]
//! are read, and what they write or move together is bounded by the image
//! size.
//!
//! The stream ([`decompress`]) starts with a literal byte. Flag bits are
//! read most significant first from bytes fetched when needed, between
//! the literal bytes. Flag 0: a literal, stored XORed with the low byte of
//! the count of bytes still to unpack. Flag 1: a match, whose first
//! Elias-gamma number (bit pairs: a value bit, then 1 to go on) is 2 to
//! repeat the last distance, or else `(n - 3)` followed by 5, 7 or 8 more
//! bits (for blocks under 64 KiB, under 256 KiB, larger) gives the
//! distance minus 1. The length is two bits, or when they are 0, a gamma
//! number plus 2; a new distance adds 1, plus 1 more past each of two
//! distance thresholds that also depend on the block size.
//!
//! The image handed on runs from the first section to the end of the
//! other sections and the unpacked blocks, leaving out the loader's
//! section, as ClamAV's rebuilt file does; bounded by `SizeOfImage` and
//! the budget. What Petite does after the loop (a call-instruction filter
//! undone on code, imports resolved, the loader's second part, kept in an
//! unpacked section, run) is not redone: the data is scanned, not run.

use super::headers::{map_sections, rebuild_unpacked, Headers};
use crate::formats::le::u32_at;

/// `push fs:[0]; mov fs:[0], esp; pushf; pusha; push eax; push imm32`, at
/// offset 10 of the entry point's code.
const PROLOGUE: &[u8] = b"\x64\xff\x35\0\0\0\0\x64\x89\x25\0\0\0\0\x66\x9c\x60\x50\x68";
/// `pop eax; lea edx, [eax + TABLE]`.
const TABLE_LEA: &[u8] = b"\x58\x8d\x90";
const TABLE_AT: usize = 0x62;
/// The decoder's size test and literal step (`movsb; xor [edi-1], bl;
/// dec ebx`), where version 2.2 has them.
const SIZE_TEST: (usize, &[u8]) = (0xb6, b"\x81\xfb\0\0\x01\0");
const LITERAL: (usize, &[u8]) = (0x102, b"\xa4\x30\x5f\xff\x4b");
/// Records read at most.
const MAX_RECORDS: usize = 64;
/// The largest gamma number read; longer ones are damage.
const MAX_GAMMA: u32 = 1 << 30;

/// Flag bits from bytes fetched as they are needed, and the bytes
/// between them.
struct Stream<'a> {
    src: &'a [u8],
    pos: usize,
    /// The bits left, followed by a 1 bit that marks their end.
    bits: u8,
}

impl Stream<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.src.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn bit(&mut self) -> Option<u32> {
        if self.bits << 1 == 0 {
            let b = self.byte()?;
            self.bits = b << 1 | 1;
            return Some(u32::from(b >> 7));
        }
        let bit = self.bits >> 7;
        self.bits <<= 1;
        Some(u32::from(bit))
    }

    /// An Elias-gamma number, 2 or more.
    fn gamma(&mut self) -> Option<u32> {
        let mut v = 1u32;
        loop {
            v = v << 1 | self.bit()?;
            if v > MAX_GAMMA {
                return None;
            }
            if self.bit()? == 0 {
                return Some(v);
            }
        }
    }
}

/// The bits a new distance has below its gamma part, and the two
/// thresholds (distances as the loader keeps them, negated) past which a
/// match is one byte longer, by the block's size.
fn distance_params(size: usize) -> (u32, u32, u32) {
    if size < 0x1_0000 {
        (5, 0xffff_fc60, 0xffff_c060)
    } else if size < 0x4_0000 {
        (7, 0xffff_f980, 0xffff_8180)
    } else {
        (8, 0xffff_fb00, 0xffff_8300)
    }
}

/// Decode a stream from `src` into all of `out`; `None` when it is damaged
/// or does not fill `out` exactly.
fn decompress(src: &[u8], out: &mut [u8]) -> Option<()> {
    let (low_bits, near, far) = distance_params(out.len());
    let mut s = Stream {
        src,
        pos: 0,
        bits: 0,
    };
    *out.first_mut()? = s.byte()?;
    let mut at = 1;
    // The last distance, negated, as the loader keeps it.
    let mut last = 0u32;
    while at < out.len() {
        let left = out.len() - at;
        if s.bit()? == 0 {
            out[at] = s.byte()? ^ left as u8;
            at += 1;
            continue;
        }
        let mut extra = 0;
        let n = s.gamma()?;
        if n >= 3 {
            let mut v = n - 3;
            for _ in 0..low_bits {
                v = v.wrapping_shl(1) | s.bit()?;
            }
            last = !v;
            extra = 1 + u32::from(last < near) + u32::from(last < far);
        }
        let mut len = s.bit()? << 1 | s.bit()?;
        if len == 0 {
            len = s.gamma()? + 2;
        }
        let len = (len + extra) as usize;
        let dist = last.wrapping_neg() as usize;
        if dist == 0 || len > left {
            return None;
        }
        let from = at.checked_sub(dist)?;
        for i in 0..len {
            out[at + i] = out[from + i];
        }
        at += len;
    }
    Some(())
}

/// Where the entry point's code says the record table is, as an RVA;
/// `None` when the code is not Petite 2.2's.
fn table(data: &[u8], h: &Headers) -> Option<u32> {
    let ep = h.offset_of(h.entry)?;
    let code = data.get(ep..ep.checked_add(0x110)?)?;
    let at = |(off, bytes): (usize, &[u8])| code.get(off..off + bytes.len()) == Some(bytes);
    let ok = code[0] == 0xb8
        && code[5] == 0x68
        && at((10, PROLOGUE))
        && at((TABLE_AT, TABLE_LEA))
        && at(SIZE_TEST)
        && at(LITERAL);
    if !ok {
        return None;
    }
    let b = u32_at(code, 1)?.checked_sub(h.image_base)?;
    b.checked_add(u32_at(code, TABLE_AT + TABLE_LEA.len())?)
}

/// The byte range of `dwords` dwords whose last is at `last`.
fn dword_range(last: u32, dwords: u32) -> Option<std::ops::Range<usize>> {
    let len = dwords.checked_mul(4)? as usize;
    let start = (last as usize).checked_add(4)?.checked_sub(len)?;
    Some(start..start + len)
}

/// Run the record table at `at` over `image`; the end of the furthest
/// block unpacked.
fn run_records(image: &mut [u8], mut at: usize) -> Option<usize> {
    let mut end = 0;
    let mut work = 0usize;
    for _ in 0..MAX_RECORDS {
        let first = u32_at(image, at)?;
        let second = u32_at(image, at.checked_add(4)?)?;
        let third = u32_at(image, at.checked_add(8)?)?;
        let len = if first & 0x8000_0000 != 0 {
            let from = dword_range(second, first & 0x7fff_ffff)?;
            let to = dword_range(third, first & 0x7fff_ffff)?;
            if from.end > image.len() || to.end > image.len() {
                return None;
            }
            image.copy_within(from, to.start);
            at = at.checked_add(12)?;
            to.len()
        } else {
            at = at.checked_add(16)?;
            if second == 0 {
                continue;
            }
            if first == 0 {
                break;
            }
            let dest = third as usize;
            let dest_end = dest.checked_add(second as usize)?;
            let mut out = vec![0u8; image.get(dest..dest_end)?.len()];
            decompress(image.get(first as usize..)?, &mut out)?;
            image[dest..dest_end].copy_from_slice(&out);
            end = end.max(dest_end);
            out.len()
        };
        work = work.saturating_add(len);
        if work > image.len() {
            return None;
        }
    }
    Some(end)
}

/// Unpack a Petite-packed file into a rebuilt image of at most `limit`
/// bytes.
pub(crate) fn unpack(data: &[u8], h: &Headers, limit: u64) -> Option<(&'static str, Vec<u8>)> {
    let table = table(data, h)?;
    let size = usize::try_from(u64::from(h.size_of_image).min(limit)).ok()?;
    let mut image = map_sections(data, h, size);
    let end = run_records(&mut image, table as usize)?;
    rebuild_unpacked(data, h, &image, end, limit).map(|img| ("(Petite)", img))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_xored_then_a_match() {
        // 'a', then flags 0 ('b' stored XORed with 3, the bytes left) and
        // 1 (a match): gamma 0b11 (bits 1 0), so a new distance of
        // ((3 - 3) << 5 | 0b00001) + 1 = 2; length bits 01, plus 1: 2.
        // Bits: 0 1 10 00001 01, the second byte of them fetched after 'b'.
        let src = [b'a', 0b0110_0000, b'b' ^ 3, 0b1010_0000];
        let mut out = [0u8; 4];
        assert_eq!(decompress(&src, &mut out), Some(()));
        assert_eq!(&out, b"abab");
        assert_eq!(decompress(&src[..3], &mut out), None);
        assert_eq!(decompress(&src, &mut out[..3]), None);
    }
}
