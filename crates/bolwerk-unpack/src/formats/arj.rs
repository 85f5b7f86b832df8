//! ARJ archives: stored members and methods 1 to 4.
//!
//! An archive is a run of headers, each `60 EA`, a 16-bit size of the
//! "basic header" (0 ends the archive), the basic header (its first byte
//! is the size of the fixed fields; then the NUL-terminated name and
//! comment), a CRC-32 of it, and extended headers (a 16-bit size each, 0
//! ending them, each followed by its CRC). The first header describes the
//! archive; every further one a member, whose compressed bytes follow it.
//! All integers are little-endian. The member fields read here are the
//! flags (bit 0: garbled, that is encrypted), the method, the file type
//! (3 directory, 4 volume label: no content), the compressed and original
//! sizes and the CRC-32.
//!
//! Method 0 is stored. Methods 1 to 3 are LZ77 with Huffman codes in
//! blocks, the scheme of LHA's `-lh7-`: each block opens with its count of
//! codes and three code-length tables (lengths of the length code, of the
//! 510 literal/length codes, of the 17 distance codes); a literal/length
//! code above 255 is a match of `code - 253` bytes at a distance coded as a
//! bit count and that many bits. Method 4 codes literals and matches with
//! unary-prefixed integers. [`lzh`] and [`fastest`] decode them, written
//! from the format's public description; both read bits most significant
//! first. Members are decoded to their stated size within the budget; an
//! encrypted member is handed on with its metadata only. Multi-volume
//! archives are read one volume at a time like any other.

use super::le::u16_at;
use crate::budget::Budget;
use crate::container::{emit_with, malformed, Meta, UnpackError, Visit};

/// The two bytes every header starts with.
pub(crate) const MAGIC: [u8; 2] = [0x60, 0xEA];
/// The largest basic header ARJ writes.
const MAX_BASIC: usize = 2600;
/// Extended headers looked at per header.
const MAX_EXTENDED: usize = 64;
/// Member flag: garbled (encrypted).
const GARBLED: u8 = 0x01;
/// Member file types without content.
const DIRECTORY: u8 = 3;
const VOLUME_LABEL: u8 = 4;

/// One header's fields of interest, and where its member's data starts.
struct Header {
    flags: u8,
    method: u8,
    file_type: u8,
    packed: u32,
    original: u32,
    crc32: u32,
    name: String,
    data_at: usize,
}

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let Some(main) = header(data, 0)? else {
        return Ok(());
    };
    let mut at = main.data_at;
    while let Some(h) = header(data, at)? {
        let end = h
            .data_at
            .checked_add(h.packed as usize)
            .filter(|&end| end <= data.len())
            .ok_or_else(|| malformed("ARJ member data past the end"))?;
        if member(&h, &data[h.data_at..end], budget, visit)?.is_break() {
            break;
        }
        at = end;
    }
    Ok(())
}

/// Decode one member and hand it on.
fn member(
    h: &Header,
    packed: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<crate::Flow, UnpackError> {
    if h.file_type == DIRECTORY || h.file_type == VOLUME_LABEL {
        return Ok(crate::Flow::Continue(()));
    }
    let meta = Meta {
        packed_size: Some(u64::from(h.packed)),
        stated_size: Some(u64::from(h.original)),
        encrypted: h.flags & GARBLED != 0,
        crc32: Some(h.crc32),
    };
    let name = Some(h.name.clone());
    if meta.encrypted {
        return Ok(emit_with(name, Vec::new(), meta, budget, visit));
    }
    let allowance = budget.allowance()?;
    if u64::from(h.original) > allowance {
        budget.note(budget.blame(allowance));
        return Ok(crate::Flow::Continue(()));
    }
    let size = h.original as usize;
    let out = match h.method {
        0 => packed.get(..size).map(<[u8]>::to_vec),
        1..=3 => lzh(packed, size),
        4 => fastest(packed, size),
        _ => None,
    };
    let out = out.ok_or_else(|| malformed(format!("ARJ member {:?} does not decode", h.name)))?;
    Ok(emit_with(name, out, meta, budget, visit))
}

/// Parse the header at `at`; `None` at the end-of-archive header.
fn header(d: &[u8], at: usize) -> Result<Option<Header>, UnpackError> {
    let bad = || malformed("ARJ header out of range");
    if d.get(at..at.checked_add(2).ok_or_else(bad)?) != Some(MAGIC.as_slice()) {
        return Err(malformed("ARJ header signature missing"));
    }
    let size = usize::from(u16_at(d, at + 2).ok_or_else(bad)?);
    if size == 0 {
        return Ok(None);
    }
    if size > MAX_BASIC {
        return Err(malformed("ARJ basic header too large"));
    }
    let basic = d.get(at + 4..at + 4 + size).ok_or_else(bad)?;
    let first = usize::from(basic[0]);
    if first < 24 || first > size {
        return Err(malformed("ARJ fixed header size out of range"));
    }
    let name_field = &basic[first..];
    let name_end = name_field
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(name_field.len());
    let mut data_at = at + 4 + size + 4;
    for _ in 0..MAX_EXTENDED {
        let ext = usize::from(u16_at(d, data_at).ok_or_else(bad)?);
        data_at += 2;
        if ext == 0 {
            break;
        }
        data_at = data_at.checked_add(ext + 4).ok_or_else(bad)?;
    }
    let le32 = |i: usize| u32::from_le_bytes([basic[i], basic[i + 1], basic[i + 2], basic[i + 3]]);
    Ok(Some(Header {
        flags: basic[4],
        method: basic[5],
        file_type: basic[6],
        packed: le32(12),
        original: le32(16),
        crc32: le32(20),
        name: String::from_utf8_lossy(&name_field[..name_end]).into_owned(),
        data_at,
    }))
}

/// A bit reader, most significant bit of each byte first. Past the end it
/// reads zeros, as ARJ's decoder does, but only a few bytes' worth.
struct Bits<'a> {
    data: &'a [u8],
    /// The next bit, counted from the start.
    pos: usize,
}

/// Zero bits that may be read past the end of a member's data.
const OVERRUN: usize = 32;

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Bits<'a> {
        Bits { data, pos: 0 }
    }

    fn bit(&mut self) -> Option<u32> {
        if self.pos >= self.data.len().saturating_mul(8).saturating_add(OVERRUN) {
            return None;
        }
        let byte = self.data.get(self.pos / 8).copied().unwrap_or(0);
        let b = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(b))
    }

    /// `n` bits (at most 16) as a number, the first read the highest.
    fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v = 0;
        for _ in 0..n {
            v = (v << 1) | self.bit()?;
        }
        Some(v)
    }
}

/// The longest code any ARJ Huffman table has.
const MAX_CODE_LEN: usize = 16;

/// A canonical Huffman code (shorter codes first, ties by symbol), or the
/// one symbol a table with a single entry codes in zero bits.
enum Huffman {
    Single(u16),
    Codes {
        counts: [u16; MAX_CODE_LEN + 1],
        symbols: Vec<u16>,
    },
}

impl Huffman {
    fn from_lengths(lengths: &[u8]) -> Huffman {
        let mut counts = [0u16; MAX_CODE_LEN + 1];
        for &l in lengths {
            if let Some(c) = counts.get_mut(usize::from(l)) {
                *c += 1;
            }
        }
        counts[0] = 0;
        let mut symbols = Vec::with_capacity(lengths.len());
        for len in 1..=MAX_CODE_LEN as u8 {
            for (sym, _) in lengths.iter().enumerate().filter(|(_, &l)| l == len) {
                symbols.push(sym as u16);
            }
        }
        Huffman::Codes { counts, symbols }
    }

    fn decode(&self, bits: &mut Bits<'_>) -> Option<u16> {
        let (counts, symbols) = match self {
            Huffman::Single(sym) => return Some(*sym),
            Huffman::Codes { counts, symbols } => (counts, symbols),
        };
        let (mut code, mut first, mut index) = (0u32, 0u32, 0u32);
        for &count in &counts[1..] {
            code |= bits.bit()?;
            let count = u32::from(count);
            if code.wrapping_sub(first) < count && code >= first {
                return symbols.get((index + code - first) as usize).copied();
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        None
    }
}

/// Literal/length codes: 256 literals and matches of 3 to 256 bytes.
const NC: usize = 510;
/// Bits of the count of literal/length code lengths.
const CBIT: u32 = 9;
/// Codes of the table that codes the literal/length code lengths.
const NT: usize = 19;
const TBIT: u32 = 5;
/// Distance codes (bit counts 0 to 16).
const NP: usize = 17;
const PBIT: u32 = 5;
/// The shortest match.
const THRESHOLD: usize = 3;

/// Decode methods 1 to 3 to `size` bytes.
fn lzh(packed: &[u8], size: usize) -> Option<Vec<u8>> {
    let mut bits = Bits::new(packed);
    let mut out = Vec::with_capacity(size.min(1 << 20));
    let mut left_in_block = 0u32;
    let (mut codes, mut distances) = (Huffman::Single(0), Huffman::Single(0));
    while out.len() < size {
        if left_in_block == 0 {
            left_in_block = bits.bits(16)?;
            if left_in_block == 0 {
                return None;
            }
            let lengths = read_lengths(&mut bits, NT, TBIT, Some(3))?;
            codes = read_code_lengths(&mut bits, &lengths)?;
            distances = read_lengths(&mut bits, NP, PBIT, None)?;
        }
        left_in_block -= 1;
        let c = usize::from(codes.decode(&mut bits)?);
        match u8::try_from(c) {
            Ok(literal) => out.push(literal),
            Err(_) if c < NC => {
                let len = c - 256 + THRESHOLD;
                let p = u32::from(distances.decode(&mut bits)?);
                let distance = match p {
                    0 => 0,
                    1..=16 => (1usize << (p - 1)) + bits.bits(p - 1)? as usize,
                    _ => return None,
                };
                copy_match(&mut out, distance + 1, len, size)?;
            }
            Err(_) => return None,
        }
    }
    Some(out)
}

/// Read a table of `n` code lengths in the form used for the length code
/// and the distance code: a count in `nbit` bits (0: one symbol, in the
/// next `nbit` bits), then each length in three bits, 7 followed by a run
/// of 1 bits adding one each; after the `special`-th length, two bits of
/// zero lengths.
fn read_lengths(
    bits: &mut Bits<'_>,
    n: usize,
    nbit: u32,
    special: Option<usize>,
) -> Option<Huffman> {
    let count = bits.bits(nbit)? as usize;
    if count == 0 {
        let sym = bits.bits(nbit)?;
        return ((sym as usize) < n).then_some(Huffman::Single(sym as u16));
    }
    if count > n {
        return None;
    }
    let mut lengths = vec![0u8; n];
    let mut i = 0;
    while i < count {
        let mut len = bits.bits(3)?;
        if len == 7 {
            while bits.bit()? == 1 {
                len += 1;
                if len as usize > MAX_CODE_LEN {
                    return None;
                }
            }
        }
        *lengths.get_mut(i)? = len as u8;
        i += 1;
        if Some(i) == special {
            for _ in 0..bits.bits(2)? {
                *lengths.get_mut(i)? = 0;
                i += 1;
            }
        }
    }
    Some(Huffman::from_lengths(&lengths))
}

/// Read the literal/length code's lengths, coded with `lengths_code`:
/// symbols 0 to 2 are runs of zero lengths (1, 3 to 18 with four more
/// bits, 20 to 531 with nine more), symbol `k` above 2 a length of `k - 2`.
fn read_code_lengths(bits: &mut Bits<'_>, lengths_code: &Huffman) -> Option<Huffman> {
    let count = bits.bits(CBIT)? as usize;
    if count == 0 {
        let sym = bits.bits(CBIT)?;
        return ((sym as usize) < NC).then_some(Huffman::Single(sym as u16));
    }
    if count > NC {
        return None;
    }
    let mut lengths = vec![0u8; NC];
    let mut i = 0;
    while i < count {
        let c = lengths_code.decode(bits)?;
        let zeros = match c {
            0 => 1,
            1 => bits.bits(4)? as usize + 3,
            2 => bits.bits(CBIT)? as usize + 20,
            _ => {
                *lengths.get_mut(i)? = u8::try_from(c - 2).ok()?;
                i += 1;
                continue;
            }
        };
        if i + zeros > NC {
            return None;
        }
        i += zeros;
    }
    Some(Huffman::from_lengths(&lengths))
}

/// Append `len` bytes copied from `distance` back, stopping at `size`.
fn copy_match(out: &mut Vec<u8>, distance: usize, len: usize, size: usize) -> Option<()> {
    let from = out.len().checked_sub(distance)?;
    for k in 0..len.min(size - out.len()) {
        let b = out[from + k];
        out.push(b);
    }
    Some(())
}

/// Decode method 4 ("fastest") to `size` bytes. A length is an integer
/// with a unary prefix of up to 7 one bits (`w` of them, then `w` bits,
/// plus `2^w - 1`); 0 is a literal in the next 8 bits, `n` a match of
/// `n + 2` bytes. A distance has a prefix of up to 4 one bits (`w`), then
/// `9 + w` bits, plus `2^(9+w) - 512`.
fn fastest(packed: &[u8], size: usize) -> Option<Vec<u8>> {
    let mut bits = Bits::new(packed);
    let mut out = Vec::with_capacity(size.min(1 << 20));
    while out.len() < size {
        let c = prefixed(&mut bits, 0, 7)? as usize;
        if c == 0 {
            out.push(bits.bits(8)? as u8);
        } else {
            let len = c - 1 + THRESHOLD;
            let distance = prefixed(&mut bits, 9, 13)? as usize;
            copy_match(&mut out, distance + 1, len, size)?;
        }
    }
    Some(out)
}

/// An integer of method 4: one bits (each widening the field by one,
/// from `start` up to `stop`, a zero bit ending them early), then the field.
fn prefixed(bits: &mut Bits<'_>, start: u32, stop: u32) -> Option<u32> {
    let (mut width, mut plus) = (start, 0u32);
    while width < stop {
        if bits.bit()? == 0 {
            break;
        }
        plus += 1 << width;
        width += 1;
    }
    Some(plus + bits.bits(width)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testfiles::{damaged_variants, holds_clam_exe, testfile};
    use crate::{file_type, FileType};

    #[test]
    fn clam_arj_holds_clam_exe() {
        let data = testfile("clam.arj");
        assert_eq!(file_type(&data), FileType::Arj);
        let (found, result) = holds_clam_exe(&data, FileType::Arj);
        assert!(found);
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn damaged_clam_arj_does_not_panic() {
        let data = testfile("clam.arj");
        let (found, result) = holds_clam_exe(&data[..300], FileType::Arj);
        assert!(!found);
        assert!(result.is_err());
        assert!(holds_clam_exe(&data[..10], FileType::Arj).1.is_err());
        assert!(damaged_variants(&data, FileType::Arj) > 0);
    }

    /// `small.txt` (123 bytes) archived by `arj a -m4` and `arj a -m1`
    /// (ARJ 3.10 for Linux).
    const SMALL_M4: &str = "60ea2a00220b0102100002229122046b9122046b00000000000000000000000000000000000073342e61726a00004c2019b0000060ea39002e0b0102100400919122046b400000007b0000008aba8ebb0000a4110000000000009122046b9122046b00000000736d616c6c2e747874000045995ca90000311bcd877329c8d620311d4d87730d01fca07884404129128406d329d0d06f32080e865399d0742030988c7cc02100c06232198d06a361b8e073e602bb0b40a060ea0000";
    const SMALL_M1: &str = "60ea2a00220b0102100002229122046b9122046b00000000000000000000000000000000000073312e61726a0000eb0f21e2000060ea39002e0b0102100100919122046b450000007b0000008aba8ebb0000a4110000000000009122046b9122046b00000000736d616c6c2e747874000082108ffc000000344b76b198ad77803f5b181b53d55516f71d224769a439378eaa8914c4009201149267c6e0ba49c3b7faf487e79089aed2d429f2ae102d3c02aaec65b75f862dfe5eed5060ea0000";
    const SMALL_TXT: &[u8] = b"bolwerk bulwark bolwerk bulwark bolwerk! ARJ method test: abcabcabcabcabc 0123456789 0123456789 0123456789 bolwerk bulwark\n";

    #[test]
    fn methods_1_and_4_made_by_arj() {
        for (archive, method) in [(SMALL_M4, 4), (SMALL_M1, 1)] {
            let data = hex(archive);
            let mut budget = Budget::new(&crate::Limits::default());
            let mut children = Vec::new();
            read(&data, &mut budget, &mut |child, _| {
                children.push(child);
                crate::Flow::Continue(())
            })
            .unwrap();
            assert_eq!(children.len(), 1, "method {method}");
            assert_eq!(children[0].name.as_deref(), Some("small.txt"));
            assert_eq!(children[0].data, SMALL_TXT, "method {method}");
            assert_eq!(children[0].meta.crc32, Some(0xbb8e_ba8a));
        }
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn fastest_literals_and_a_match() {
        // 0 → literal 'a' (0 + 8 bits), 0 → literal 'b', then length code
        // 1 (prefix "10", 1 bit "0" → 1): a match of 3 bytes at distance
        // code 1 (prefix "0", 9 bits = 1) → distance 2: "aba".
        // Bits: 0 01100001 0 01100010 10 0 0 000000001
        let bits = "0011000010011000101000000000001";
        let mut bytes = vec![0u8; bits.len().div_ceil(8)];
        for (i, b) in bits.bytes().enumerate() {
            if b == b'1' {
                bytes[i / 8] |= 0x80 >> (i % 8);
            }
        }
        assert_eq!(fastest(&bytes, 5).as_deref(), Some(b"ababa".as_slice()));
        assert_eq!(fastest(&bytes, 2).as_deref(), Some(b"ab".as_slice()));
    }
}
