//! NSIS's bzip2: the bzip2 block format without the stream header and the
//! checksums. Each block starts with the byte `0x31` (where bzip2 has a
//! 48-bit magic, a CRC-32 and a randomisation bit), then the 24-bit origin
//! pointer and the usual block; `0x17` ends the stream. Bits are read most
//! significant first, across byte boundaries.
//!
//! A block is decoded as bzip2 defines it: the symbol map, the Huffman
//! tables (2 to 6, chosen every 50 symbols by move-to-front coded
//! selectors), run lengths of the first move-to-front position (RUNA,
//! RUNB), move-to-front, the inverse Burrows-Wheeler transform from the
//! origin pointer, and the final run-length step (four equal bytes and a
//! count). Blocks hold at most 900 000 bytes before that last step, and
//! [`Decoder`] decodes one block at a time as it is read.

use std::io::Read;

/// The most bytes a block holds (bzip2's largest block size).
const MAX_BLOCK: usize = 900_000;
const BLOCK: u8 = 0x31;
const END: u8 = 0x17;
const MAX_CODE_LEN: u32 = 20;
const GROUP_SIZE: usize = 50;
const MAX_SELECTORS: usize = 18_002;

/// Reads NSIS bzip2 data as it decodes it, block by block; damaged data
/// ends the output.
pub(super) struct Decoder<'a> {
    bits: Bits<'a>,
    out: Vec<u8>,
    at: usize,
    done: bool,
}

impl<'a> Decoder<'a> {
    pub(super) fn new(input: &'a [u8]) -> Decoder<'a> {
        Decoder {
            bits: Bits {
                data: input,
                at: 0,
                acc: 0,
                n: 0,
            },
            out: Vec::new(),
            at: 0,
            done: false,
        }
    }
}

impl Read for Decoder<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.out.len() && !self.done {
            self.at = 0;
            self.out.clear();
            match block(&mut self.bits) {
                Some(Some(data)) => unrle(&data, &mut self.out),
                Some(None) | None => self.done = true,
            }
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A most-significant-bit-first reader.
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
    acc: u64,
    n: u32,
}

impl Bits<'_> {
    fn get(&mut self, count: u32) -> Option<u32> {
        while self.n < count {
            let byte = *self.data.get(self.at)?;
            self.at += 1;
            self.acc = self.acc << 8 | u64::from(byte);
            self.n += 8;
        }
        self.n -= count;
        Some(((self.acc >> self.n) & ((1u64 << count) - 1)) as u32)
    }

    fn bit(&mut self) -> Option<bool> {
        self.get(1).map(|b| b == 1)
    }
}

/// A Huffman table as canonical codes: per length, the first code and the
/// index of its first symbol in `symbols`.
struct Table {
    limit: [i32; MAX_CODE_LEN as usize + 2],
    base: [i32; MAX_CODE_LEN as usize + 2],
    symbols: Vec<u16>,
    min: u32,
}

impl Table {
    fn new(lengths: &[u8]) -> Option<Table> {
        let min = u32::from(*lengths.iter().min()?);
        let max = u32::from(*lengths.iter().max()?);
        let mut symbols = Vec::with_capacity(lengths.len());
        for len in min..=max {
            for (s, &l) in lengths.iter().enumerate() {
                if u32::from(l) == len {
                    symbols.push(s as u16);
                }
            }
        }
        let mut limit = [-1i32; MAX_CODE_LEN as usize + 2];
        let mut base = [0i32; MAX_CODE_LEN as usize + 2];
        let (mut code, mut index) = (0i32, 0i32);
        for len in min..=max {
            let count = lengths.iter().filter(|&&l| u32::from(l) == len).count() as i32;
            base[len as usize] = index - code;
            code += count;
            index += count;
            limit[len as usize] = code - 1;
            code <<= 1;
        }
        Some(Table {
            limit,
            base,
            symbols,
            min,
        })
    }

    fn decode(&self, bits: &mut Bits<'_>) -> Option<u16> {
        let mut len = self.min;
        let mut code = bits.get(len)? as i32;
        while len <= MAX_CODE_LEN {
            if code <= self.limit[len as usize] {
                let i = self.base[len as usize] + code;
                return self.symbols.get(usize::try_from(i).ok()?).copied();
            }
            code = code << 1 | bits.get(1)? as i32;
            len += 1;
        }
        None
    }
}

/// The next block's bytes before the final run-length step; `Some(None)`
/// at the end of the stream, `None` for damaged data.
fn block(bits: &mut Bits<'_>) -> Option<Option<Vec<u8>>> {
    match bits.get(8)? as u8 {
        END => return Some(None),
        BLOCK => {}
        _ => return None,
    }
    let orig = bits.get(24)? as usize;
    let symbols = symbol_map(bits)?;
    let alpha = symbols.len() + 2;
    let groups = bits.get(3)? as usize;
    if !(2..=6).contains(&groups) {
        return None;
    }
    let selectors = selectors(bits, groups)?;
    let mut tables = Vec::with_capacity(groups);
    for _ in 0..groups {
        tables.push(Table::new(&code_lengths(bits, alpha)?)?);
    }
    let data = symbols_to_bytes(bits, &symbols, &selectors, &tables)?;
    if orig >= data.len() {
        return None;
    }
    Some(Some(inverse_bwt(&data, orig)))
}

/// The bytes the block uses, in order.
fn symbol_map(bits: &mut Bits<'_>) -> Option<Vec<u8>> {
    let used = bits.get(16)?;
    let mut symbols = Vec::new();
    for i in 0..16 {
        if used & (0x8000 >> i) != 0 {
            let row = bits.get(16)?;
            for j in 0..16 {
                if row & (0x8000 >> j) != 0 {
                    symbols.push((i * 16 + j) as u8);
                }
            }
        }
    }
    (!symbols.is_empty()).then_some(symbols)
}

/// The table chosen for each group of 50 symbols (move-to-front coded,
/// each a unary number).
fn selectors(bits: &mut Bits<'_>, groups: usize) -> Option<Vec<u8>> {
    let count = bits.get(15)? as usize;
    if count == 0 || count > MAX_SELECTORS {
        return None;
    }
    let mut order: Vec<u8> = (0..groups as u8).collect();
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let mut j = 0;
        while bits.bit()? {
            j += 1;
            if j >= groups {
                return None;
            }
        }
        let v = order.remove(j);
        order.insert(0, v);
        out.push(v);
    }
    Some(out)
}

/// One table's code lengths, delta coded from a 5-bit start.
fn code_lengths(bits: &mut Bits<'_>, alpha: usize) -> Option<Vec<u8>> {
    let mut len = bits.get(5)? as i32;
    let mut out = Vec::with_capacity(alpha);
    for _ in 0..alpha {
        loop {
            if !(1..=MAX_CODE_LEN as i32).contains(&len) {
                return None;
            }
            if !bits.bit()? {
                break;
            }
            len += if bits.bit()? { -1 } else { 1 };
        }
        out.push(len as u8);
    }
    Some(out)
}

/// Huffman symbols to bytes: RUNA/RUNB runs of the front byte, other
/// symbols move-to-front positions, until end of block.
fn symbols_to_bytes(
    bits: &mut Bits<'_>,
    symbols: &[u8],
    selectors: &[u8],
    tables: &[Table],
) -> Option<Vec<u8>> {
    let end = symbols.len() as u16 + 1;
    let mut mtf: Vec<u8> = (0..symbols.len()).map(|i| i as u8).collect();
    let mut out = Vec::new();
    let (mut run, mut weight) = (0usize, 1usize);
    for n in 0.. {
        let table = &tables[usize::from(*selectors.get(n / GROUP_SIZE)?)];
        let sym = table.decode(bits)?;
        if sym <= 1 {
            run = run.checked_add(weight << sym)?;
            weight = weight.checked_mul(2)?;
            if run > MAX_BLOCK {
                return None;
            }
            continue;
        }
        if run > 0 {
            if out.len() + run > MAX_BLOCK {
                return None;
            }
            out.resize(out.len() + run, symbols[usize::from(mtf[0])]);
            (run, weight) = (0, 1);
        }
        if sym == end {
            break;
        }
        let i = usize::from(sym - 1);
        if i >= mtf.len() || out.len() >= MAX_BLOCK {
            return None;
        }
        let v = mtf.remove(i);
        mtf.insert(0, v);
        out.push(symbols[usize::from(v)]);
    }
    Some(out)
}

/// Undo the Burrows-Wheeler transform of `last` (the sorted rotations'
/// last column), starting from row `orig`.
fn inverse_bwt(last: &[u8], orig: usize) -> Vec<u8> {
    let mut start = [0usize; 256];
    for &b in last {
        start[usize::from(b)] += 1;
    }
    let mut sum = 0;
    for s in start.iter_mut() {
        let count = *s;
        *s = sum;
        sum += count;
    }
    let mut next = vec![0u32; last.len()];
    for (i, &b) in last.iter().enumerate() {
        next[start[usize::from(b)]] = i as u32;
        start[usize::from(b)] += 1;
    }
    let mut out = Vec::with_capacity(last.len());
    let mut p = next[orig] as usize;
    for _ in 0..last.len() {
        out.push(last[p]);
        p = next[p] as usize;
    }
    out
}

/// bzip2's first run-length step undone: after four equal bytes, a count
/// of more.
fn unrle(data: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    let mut same = 0;
    let mut last = None;
    while i < data.len() {
        let b = data[i];
        i += 1;
        out.push(b);
        if Some(b) == last {
            same += 1;
        } else {
            (last, same) = (Some(b), 1);
        }
        if same == 4 {
            if let Some(&count) = data.get(i) {
                out.resize(out.len() + usize::from(count), b);
                i += 1;
            }
            (last, same) = (None, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A standard bzip2 stream of one block, rewritten as NSIS writes it:
    /// the 32-bit stream header, 48-bit block magic, CRC-32 and
    /// randomisation bit become the byte 0x31, the end-of-stream magic and
    /// CRC become 0x17.
    fn nsis_form(standard: &[u8]) -> Vec<u8> {
        let bit = |i: usize| standard[i / 8] >> (7 - i % 8) & 1;
        let total = standard.len() * 8;
        // The end-of-stream magic, found from the end (it is followed by
        // the 32-bit CRC and at most 7 bits of padding).
        let eos: u64 = 0x1772_4538_5090;
        let end = (0..total - 80)
            .rev()
            .find(|&i| (0..48).fold(0u64, |a, k| a << 1 | u64::from(bit(i + k))) == eos)
            .unwrap();
        let mut out_bits: Vec<u8> = vec![0, 0, 1, 1, 0, 0, 0, 1];
        out_bits.extend((32 + 48 + 32 + 1..end).map(bit));
        out_bits.extend([0, 0, 0, 1, 0, 1, 1, 1]);
        out_bits
            .chunks(8)
            .map(|c| {
                c.iter()
                    .enumerate()
                    .fold(0u8, |a, (k, &b)| a | b << (7 - k))
            })
            .collect()
    }

    fn decode(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = Decoder::new(input).read_to_end(&mut out);
        out
    }

    #[test]
    fn decodes_what_bzip2_encodes() {
        use std::io::Write;
        let text = std::fs::read("/usr/share/common-licenses/GPL-3").unwrap();
        let mut samples = vec![
            b"a".to_vec(),
            b"hello hello hello world".repeat(40),
            vec![0u8; 5000],
            (0..=255u8).cycle().take(70_000).collect(),
            text,
        ];
        samples.push([samples[1].as_slice(), &[7u8; 300], &samples[4]].concat());
        for s in samples {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
            e.write_all(&s).unwrap();
            let nsis = nsis_form(&e.finish().unwrap());
            assert!(decode(&nsis) == s, "{} bytes differ", s.len());
            // Cut anywhere, flipped anywhere: no panic.
            for cut in (0..nsis.len()).step_by(nsis.len() / 50 + 1) {
                let _ = decode(&nsis[..cut]);
                let mut bad = nsis.clone();
                bad[cut] ^= 0x55;
                let _ = decode(&bad);
            }
        }
    }
}
