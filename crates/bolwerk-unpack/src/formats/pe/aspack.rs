//! ASPack 2.12: each section's contents compressed in place (the
//! compressed stream stored at the section's own address), unpacked at
//! run time by a loader in a section of its own, entered at its second
//! byte.
//!
//! The loader starts `pusha; call $+8; jmp …; pop ebp; inc ebp; push ebp;
//! ret; call $+6; jmp …; pop ebp` (the bytes of [`ENTRY`]); the `pop`
//! leaves in `ebp` the address 18 bytes past the entry point, against
//! which the loader addresses its data. At `ebp + 8Bh`, `lea esi, [ebp +
//! TABLE]` points at the block table: (RVA, unpacked size) pairs up to a
//! zero RVA, at most [`MAX_BLOCKS`] of them, unpacking together no more
//! than the image holds. Each block's compressed
//! stream, read from the memory image (earlier blocks already unpacked),
//! is unpacked by [`decompress`] and written back at the block's RVA. When
//! the byte at `ebp + ECh` (the operand of `mov bl, imm8`) is 0, the first
//! block is code whose `E8`/`E9` operands were made absolute; [`unfilter`]
//! undoes that as the loader does.
//!
//! The coder is an LZ77 with canonical Huffman codes (MSB first, codes of
//! at most 15 bits, which must be complete), in the manner of LZX:
//! a 721-symbol main code (256 literals; 58 position slots × 8 length
//! headers; one symbol that reads new codes), a 28-symbol code for long
//! lengths, an 8-symbol code for the low 3 bits of long distances (used
//! unless all its lengths are 3) and three recent distances. The codes'
//! lengths are sent as differences from the previous ones through a
//! 19-symbol pre-code with runs. The tables and the bit reader were
//! learnt from the loader's own code in the test file.
//!
//! The image is laid out as the loader leaves memory (sections' raw data
//! at their RVAs, blocks unpacked over them), bounded by `SizeOfImage` and
//! the budget, and handed on from the first section to the end of the
//! last block, less its trailing zeros, rounded up to the file alignment —
//! so it ends where the original program's data ends, as ClamAV's rebuilt
//! file does (17,408 bytes for clamav-testfiles' `clam-aspack.exe`), and
//! what was appended to the packed program is carved as ClamAV carves it.
//! Imports and relocations are not rebuilt.

use super::headers::{rebuild, Headers};
use crate::formats::le::u32_at;

/// The loader's first bytes, from the entry point.
const ENTRY: [u8; 29] = [
    0x60, 0xe8, 0x03, 0x00, 0x00, 0x00, 0xe9, 0xeb, 0x04, 0x5d, 0x45, 0x55, 0xc3, 0xe8, 0x01, 0x00,
    0x00, 0x00, 0xeb, 0x5d, 0xbb, 0xed, 0xff, 0xff, 0xff, 0x03, 0xdd, 0x81, 0xeb,
];
/// `ebp` past the entry point.
const EBP: u32 = 0x12;
/// `lea esi, [ebp + disp32]` (the block table) at `ebp + 8Bh`.
const TABLE_LEA: (u32, [u8; 2]) = (0x8b, [0x8d, 0xb5]);
/// `mov bl, imm8; cmp bl, 0` at `ebp + EBh`: the filter's flag.
const FILTER_FLAG: (u32, [u8; 1]) = (0xeb, [0xb3]);
/// `cmp byte [esi], imm8` at `ebp + 133h`: the filter's marker.
const FILTER_MARK: (u32, [u8; 2]) = (0x133, [0x80, 0x3e]);
/// Blocks unpacked at most.
const MAX_BLOCKS: usize = 128;

/// Unpack an ASPack 2.12-packed file into a rebuilt image of at most
/// `limit` bytes.
pub(crate) fn unpack(data: &[u8], h: &Headers, limit: u64) -> Option<(&'static str, Vec<u8>)> {
    let ep = h.offset_of(h.entry)?;
    if data.get(ep..ep.checked_add(ENTRY.len())?)? != ENTRY {
        return None;
    }
    let ebp = h.entry.checked_add(EBP)?;
    let at = |(off, code): (u32, &[u8])| -> Option<usize> {
        let o = h.offset_of(ebp.checked_add(off)?)?;
        (data.get(o..o.checked_add(code.len())?)? == code).then_some(o + code.len())
    };
    let table_disp = u32_at(data, at((TABLE_LEA.0, &TABLE_LEA.1))?)?;
    let filter = *data.get(at((FILTER_FLAG.0, &FILTER_FLAG.1))?)? == 0;
    let marker = *data.get(at((FILTER_MARK.0, &FILTER_MARK.1))?)?;
    let table = h.offset_of(ebp.checked_add(table_disp)?)?;

    let size = u64::from(h.size_of_image).min(limit);
    let mut mem = vec![0u8; usize::try_from(size).ok()?];
    for s in &h.sections {
        let from = (s.raw as usize).min(data.len());
        let raw = &data[from..from.saturating_add(s.rsize as usize).min(data.len())];
        let to = (s.rva as usize).min(mem.len());
        let n = raw.len().min(mem.len() - to);
        mem[to..to + n].copy_from_slice(&raw[..n]);
    }
    let mut end = 0usize;
    // Blocks are disjoint: what they unpack together fits the image.
    let mut left = mem.len();
    for i in 0..MAX_BLOCKS {
        let entry = table.checked_add(i * 8)?;
        let rva = u32_at(data, entry)? as usize;
        if rva == 0 {
            break;
        }
        let len = u32_at(data, entry + 4)? as usize;
        let stream = mem.get(rva..)?;
        let mut out = decompress(stream, len.min(left))?;
        left -= out.len();
        if i == 0 && filter {
            unfilter(&mut out, marker);
        }
        let dest = mem.get_mut(rva..rva.checked_add(out.len())?)?;
        dest.copy_from_slice(&out);
        end = end.max(rva + out.len());
    }
    let first = h.sections.iter().map(|s| s.rva).min()? as usize;
    let body = mem.get(first..end)?;
    let used = body.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    let align = (h.file_alignment as usize).clamp(1, 0x1_0000);
    let cut = used.div_ceil(align).saturating_mul(align).min(body.len());
    rebuild(data, h, first as u32, &body[..cut], limit).map(|img| ("(ASPack)", img))
}

/// Undo the `E8`/`E9` filter as the loader does, over all but the last 6
/// bytes: an operand whose first byte is `marker` holds, in its other
/// three bytes, the absolute offset of the target in the block; the
/// opcode's offset is subtracted from it and the result stored as the
/// operand.
fn unfilter(code: &mut [u8], marker: u8) {
    let mut left = code.len() as i64 - 6;
    let mut i = 0usize;
    while left > 0 {
        let op = code.get(i).copied();
        let arg = code.get(i + 1..i + 5);
        match arg {
            Some(&[m, a, b, c]) if m == marker && matches!(op, Some(0xe8 | 0xe9)) => {
                let v = u32::from_le_bytes([a, b, c, 0]).wrapping_sub(i as u32);
                code[i + 1..i + 5].copy_from_slice(&v.to_le_bytes());
                i += 5;
                left -= 5;
            }
            _ => {
                i += 1;
                left -= 1;
            }
        }
    }
}

/// Lengths of the main code (721), long-length code (28) and aligned code
/// (8), sent together.
const MAIN: usize = 721;
const LONG: usize = 28;
const ALIGNED: usize = 8;
const ALL: usize = MAIN + LONG + ALIGNED;
/// Symbols of the pre-code for the lengths.
const PRE: usize = 19;
/// Long-length symbols: the length's base and extra bits.
const LEN_BASE: [u8; LONG] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128,
    160, 192, 224,
];
const LEN_EXTRA: [u8; LONG] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5,
];
/// Position slots: each slot's extra bits (its base is the sum of the
/// sizes of the slots before it).
const POS_EXTRA: [u8; 58] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13, 14, 14, 15, 15, 16, 16, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 17, 18, 18, 18,
    18, 18, 18, 18, 18,
];
const POS_BASE: [u32; 58] = {
    let mut base = [0u32; 58];
    let mut i = 1;
    while i < 58 {
        base[i] = base[i - 1] + (1 << POS_EXTRA[i - 1]);
        i += 1;
    }
    base
};
/// The main code's symbol that reads new codes.
const NEW_CODES: u16 = 720;

/// An MSB-first bit reader that sees 24 bits ahead; bytes past the end
/// read as zero, but no bit past the end is consumed.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    /// The next 24 bits, most significant first.
    fn peek(&self) -> u32 {
        let byte = self.pos >> 3;
        let w = (0..4).fold(0u32, |w, i| {
            let b = byte.checked_add(i).and_then(|at| self.data.get(at));
            w << 8 | u32::from(b.copied().unwrap_or(0))
        });
        (w << (self.pos & 7)) >> 8
    }

    fn skip(&mut self, n: u32) -> Option<()> {
        self.pos = self.pos.checked_add(n as usize)?;
        (self.pos <= self.data.len().saturating_mul(8)).then_some(())
    }

    /// `n` (at most 24) bits as a number.
    fn bits(&mut self, n: u32) -> Option<u32> {
        if n == 0 {
            return Some(0);
        }
        let v = self.peek() >> (24 - n);
        self.skip(n)?;
        Some(v)
    }
}

/// A canonical Huffman code: `limit[l]` is the first code (left-justified
/// in 24 bits) longer than `l` bits, `offset[l]` the index in `symbols` of
/// the first symbol of length `l`.
struct Code {
    limit: [u32; 16],
    offset: [u32; 16],
    symbols: Vec<u16>,
}

impl Code {
    /// Build from code lengths (0: unused); `None` unless the code is
    /// complete.
    fn new(lengths: &[u8]) -> Option<Code> {
        let mut count = [0u32; 16];
        for &l in lengths {
            *count.get_mut(usize::from(l))? += 1;
        }
        count[0] = 0;
        let (mut limit, mut offset) = ([0u32; 16], [0u32; 16]);
        let mut code = 0u32;
        for l in 1..16 {
            code = code.checked_add(count[l] << (24 - l))?;
            if code > 1 << 24 {
                return None;
            }
            limit[l] = code;
            offset[l] = offset[l - 1] + count[l - 1];
        }
        if code != 1 << 24 {
            return None;
        }
        let mut next = offset;
        let mut symbols = vec![0u16; lengths.len()];
        for (sym, &l) in lengths.iter().enumerate() {
            if l != 0 {
                let slot = &mut next[usize::from(l)];
                *symbols.get_mut(*slot as usize)? = sym as u16;
                *slot += 1;
            }
        }
        Some(Code {
            limit,
            offset,
            symbols,
        })
    }

    fn decode(&self, bits: &mut Bits<'_>) -> Option<u16> {
        let v = bits.peek() & 0xff_fe00;
        let len = (1..16).find(|&l| v < self.limit[l])?;
        let index = ((v - self.limit[len - 1]) >> (24 - len)) + self.offset[len];
        bits.skip(len as u32)?;
        self.symbols.get(index as usize).copied()
    }
}

/// The decoder's codes and the lengths they were built from.
struct Codes {
    lengths: [u8; ALL],
    main: Code,
    long: Code,
    aligned: Code,
    use_aligned: bool,
}

/// Read new codes: a flag (0: the previous lengths are forgotten), the
/// pre-code's 19 four-bit lengths, then the lengths through the pre-code
/// (0–15: added to the previous length, mod 16; 16: 3–6 repeats of the
/// last length; 17: 3–10 zeros; 18: 11–138 zeros).
fn read_codes(bits: &mut Bits<'_>, previous: &[u8; ALL]) -> Option<Codes> {
    let old = if bits.bits(1)? == 0 {
        [0u8; ALL]
    } else {
        *previous
    };
    let mut pre = [0u8; PRE];
    for l in &mut pre {
        *l = bits.bits(4)? as u8;
    }
    let pre = Code::new(&pre)?;
    let mut lengths = [0u8; ALL];
    let mut i = 0;
    while i < ALL {
        let sym = pre.decode(bits)?;
        let (run, value) = match sym {
            0..=15 => {
                lengths[i] = (old[i] + sym as u8) & 15;
                i += 1;
                continue;
            }
            16 => (
                bits.bits(2)? + 3,
                i.checked_sub(1).map_or(0, |p| lengths[p]),
            ),
            17 => (bits.bits(3)? + 3, 0),
            _ => (bits.bits(7)? + 11, 0),
        };
        let to = i.saturating_add(run as usize).min(ALL);
        lengths[i..to].fill(value);
        i = to;
    }
    let (main, rest) = lengths.split_at(MAIN);
    let (long, aligned) = rest.split_at(LONG);
    Some(Codes {
        main: Code::new(main)?,
        long: Code::new(long)?,
        aligned: Code::new(aligned)?,
        use_aligned: aligned.iter().any(|&l| l != 3),
        lengths,
    })
}

/// Decompress one block of `size` bytes from `src`; `None` on a broken
/// stream.
pub(crate) fn decompress(src: &[u8], size: usize) -> Option<Vec<u8>> {
    let mut bits = Bits { data: src, pos: 0 };
    let mut codes = read_codes(&mut bits, &[0; ALL])?;
    let mut recent = [0u32; 3];
    let mut out = Vec::with_capacity(size);
    while out.len() < size {
        let sym = codes.main.decode(&mut bits)?;
        if sym < 256 {
            out.push(sym as u8);
            continue;
        }
        if sym == NEW_CODES {
            codes = read_codes(&mut bits, &codes.lengths)?;
            continue;
        }
        let sym = sym - 256;
        let slot = usize::from(sym >> 3);
        let mut len = usize::from(sym & 7) + 2;
        if sym & 7 == 7 {
            let s = usize::from(codes.long.decode(&mut bits)?);
            len += usize::from(*LEN_BASE.get(s)?);
            len += bits.bits(u32::from(*LEN_EXTRA.get(s)?))? as usize;
        }
        let extra = u32::from(*POS_EXTRA.get(slot)?);
        let mut pos = *POS_BASE.get(slot)?;
        if codes.use_aligned && extra >= 3 {
            pos += bits.bits(extra - 3)? << 3;
            pos += u32::from(codes.aligned.decode(&mut bits)?);
        } else {
            pos += bits.bits(extra)?;
        }
        // A recent distance is swapped to the front; a new one pushes
        // the others back.
        if pos < 3 {
            recent.swap(pos as usize, 0);
        } else {
            recent = [pos - 3, recent[0], recent[1]];
        }
        let dist = recent[0] as usize + 1;
        let from = out.len().checked_sub(dist)?;
        for k in 0..len.min(size - out.len()) {
            let b = *out.get(from + k)?;
            out.push(b);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfilter_makes_marked_operands_relative() {
        let mut code = [
            0x90, 0xe8, 0xaa, 0x20, 0x01, 0x00, 0xe9, 0x00, 0x05, 0, 0, 0, 0, 0, 0,
        ];
        unfilter(&mut code, 0xaa);
        // The call at 1 is made relative (0x120 - 1); the jump at 6 lacks
        // the marker and is left alone.
        assert_eq!(
            code,
            [0x90, 0xe8, 0x1f, 0x01, 0x00, 0x00, 0xe9, 0x00, 0x05, 0, 0, 0, 0, 0, 0]
        );
        let mut short = [0xe8, 0xaa, 0, 0];
        unfilter(&mut short, 0xaa);
        assert_eq!(short, [0xe8, 0xaa, 0, 0]);
    }

    #[test]
    fn codes_must_be_complete() {
        assert!(Code::new(&[1, 1]).is_some());
        assert!(Code::new(&[1, 2, 2]).is_some());
        assert!(Code::new(&[1, 2]).is_none());
        assert!(Code::new(&[1, 1, 1]).is_none());
        assert!(Code::new(&[0; 8]).is_none());
    }

    #[test]
    fn broken_streams_fail() {
        // No bits; a pre-code of nineteen 15-bit lengths; all lengths 0.
        assert!(decompress(&[], 4).is_none());
        assert!(decompress(&[0xff; 64], 16).is_none());
        assert!(decompress(&[0; 64], 16).is_none());
    }
}
