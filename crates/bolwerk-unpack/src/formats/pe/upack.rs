//! Upack: the whole program compressed with a variant of LZMA, its headers
//! folded into the DOS header and its loader spread over the PE header
//! and the section table, where sections overlap.
//!
//! The file is first laid out in memory as Windows maps it (raw data
//! pointers rounded down to 512 bytes, raw sizes up to the file
//! alignment, at least 512), since the loader's tables lie in sections that share the
//! header's bytes. The loader, as in clamav-testfiles' `clam-upack.exe`:
//!
//! * at the entry point `mov esi, T; lodsd; push eax; push [esi+d];
//!   jmp short` to `push [esi+d]; lodsd; push eax; mov edi, [esi];
//!   mov esi, C; push N; pop ecx; rep movsd; push [esi+4]; or eax, -1;
//!   mov ebx, edi; stosd; jmp short` (the first bytes of [`STAGE1`] and
//!   [`STAGE2`]): `N` dwords of code and data are copied from `C` to the
//!   address at `T + 8`; the last of them is the compressed stream's
//!   address; past them (`ebx`) lie the coder's range, low and four
//!   recent distances, then its probabilities;
//! * then `inc eax; stosd; inc eax; mov cl, 4; rep stosd; shl eax, 10;
//!   mov ch, P; rep stosd; mov edi, [esi+0Ch]; push edi; push ecx;
//!   jmp DECODER` ([`STAGE3`]): `P × 256` probabilities; the output runs
//!   from `[esi+0Ch]` to `[esi+34h]` (`esi` past the copied dwords);
//! * the decoder starts as [`DECODER`], whose `shr ebp, S` gives the
//!   literal context (`lc = 8 - S`).
//!
//! The coder is LZMA's (11-bit probabilities, shift 5, the same states,
//! repeated distances and bit trees) with Upack's own layout of the
//! probabilities, no position bits, lengths from 2 to 273 and distances
//! counted from 1. [`decompress`] writes into the memory image as the
//! loader does. The `E8`/`E9` operands the packer made absolute (`[esi+4]`
//! of them, marked by a byte read from the loader's fix-up loop) are made
//! relative again. Upack's other loader forms are not read.
//!
//! The image is handed on from the output's start to its end, laid out
//! at its RVAs behind the packed file's headers; what the program held
//! (the test file's zip member) is then found in it by the scanner.

use memchr::memmem;

use super::headers::{rebuild, Headers};
use crate::formats::le::u32_at;

/// Entry point: `mov esi, imm32` then `lodsd; push eax; push [esi+d8]`;
/// a short jump follows at 10.
const STAGE1: ([u8; 1], [u8; 4]) = ([0xbe], [0xad, 0x50, 0xff, 0x76]);
/// `push [esi+d8]; lodsd; push eax; mov edi, [esi]; mov esi, imm32`, then
/// at 12 `push imm8; pop ecx; rep movsd; push [esi+4]; or eax, -1;
/// mov ebx, edi; stosd; jmp short`.
const STAGE2: ([u8; 2], [u8; 5], [u8; 14]) = (
    [0xff, 0x76],
    [0xad, 0x50, 0x8b, 0x3e, 0xbe],
    [
        0x6a, 0x00, 0x59, 0xf3, 0xa5, 0xff, 0x76, 0x04, 0x83, 0xc8, 0xff, 0x8b, 0xdf, 0xab,
    ],
);
/// `inc eax; stosd; inc eax; mov cl, 4; rep stosd; shl eax, 10; mov ch,`
/// then `P; rep stosd; mov edi, [esi+0Ch]; push edi; push ecx; jmp rel32`.
const STAGE3: ([u8; 12], [u8; 8]) = (
    [
        0x40, 0xab, 0x40, 0xb1, 0x04, 0xf3, 0xab, 0xc1, 0xe0, 0x0a, 0xb5, 0x00,
    ],
    [0xf3, 0xab, 0x8b, 0x7e, 0x0c, 0x57, 0x51, 0xe9],
);
/// The decoder's first instructions, up to `shr ebp, S` (the byte after),
/// then `imul bp, bp, 300h; lea ebp, [ebx + ebp*4 + 1008h]`.
const DECODER: ([u8; 26], [u8; 12]) = (
    [
        0x58, 0x8d, 0x54, 0x83, 0x58, 0xff, 0x16, 0x72, 0x4f, 0x04, 0xfd, 0x1a, 0xd2, 0x22, 0xc2,
        0x3c, 0x07, 0x73, 0xf6, 0x50, 0x0f, 0xb6, 0x6f, 0xff, 0xc1, 0xed,
    ],
    [
        0x66, 0x69, 0xed, 0x00, 0x03, 0x8d, 0xac, 0xab, 0x08, 0x10, 0x00, 0x00,
    ],
);
/// The fix-up loop's test of an operand's first byte: `…; mov eax, [edi];
/// cmp al,` then the marker.
const FIXUP: &[u8] = b"\x04\x18\x3c\x02\x73\xf7\x8b\x07\x3c";

/// Whether `code` is at `at` in `mem`.
fn code_at(mem: &[u8], at: usize, code: &[u8]) -> bool {
    at.checked_add(code.len())
        .and_then(|end| mem.get(at..end))
        .is_some_and(|b| b == code)
}

/// The packed file mapped as Windows maps it, within `limit` bytes.
fn map(data: &[u8], h: &Headers, limit: u64) -> Option<Vec<u8>> {
    let size = u64::from(h.size_of_image).min(limit);
    let mut mem = vec![0u8; usize::try_from(size).ok()?];
    let align = h.file_alignment.clamp(0x200, 0x1_0000) as usize;
    let copy = |mem: &mut Vec<u8>, to: usize, from: usize, len: usize| {
        let from = from.min(data.len());
        let src = &data[from..from.saturating_add(len).min(data.len())];
        let to = to.min(mem.len());
        let n = src.len().min(mem.len() - to);
        mem[to..to + n].copy_from_slice(&src[..n]);
    };
    copy(&mut mem, 0, 0, h.size_of_headers as usize);
    for s in &h.sections {
        let raw = (s.raw as usize) & !0x1ff;
        let len = (s.rsize as usize)
            .div_ceil(align)
            .saturating_mul(align)
            .min(s.vsize.max(s.rsize) as usize);
        copy(&mut mem, s.rva as usize, raw, len);
    }
    Some(mem)
}

/// Unpack an Upack-packed file into a rebuilt image of at most `limit`
/// bytes.
pub(crate) fn unpack(data: &[u8], h: &Headers, limit: u64) -> Option<(&'static str, Vec<u8>)> {
    // The entry point's bytes, read from the file before mapping it all.
    let ep = h.entry as usize;
    let quick = |at: usize, code: &[u8]| -> bool {
        let raw = h
            .sections
            .iter()
            .rev()
            .find(|s| h.entry >= s.rva && h.entry - s.rva < s.vsize.max(s.rsize))
            .map_or(at, |s| (s.raw as usize & !0x1ff) + (at - s.rva as usize));
        data.get(raw..raw.saturating_add(code.len())) == Some(code)
    };
    if !quick(ep, &STAGE1.0) || !quick(ep + 5, &STAGE1.1) {
        return None;
    }
    let mut mem = map(data, h, limit)?;
    let va = |v: u32| v.checked_sub(h.image_base).map(|r| r as usize);

    // Stage 1: T and the jump.
    let t = va(u32_at(&mem, ep + 1)?)?;
    if *mem.get(ep + 10)? != 0xeb {
        return None;
    }
    let s2 = (ep + 12).checked_add_signed(isize::from(*mem.get(ep + 11)? as i8))?;
    // Stage 2: the copy, made here too (the decoder may lie in it).
    if !code_at(&mem, s2, &STAGE2.0) || !code_at(&mem, s2 + 3, &STAGE2.1) {
        return None;
    }
    let c = va(u32_at(&mem, s2 + 8)?)?;
    let n = *mem.get(s2 + 13)?;
    let mut tail = STAGE2.2;
    tail[1] = n;
    if !code_at(&mem, s2 + 12, &tail) || *mem.get(s2 + 26)? != 0xeb {
        return None;
    }
    let s3 = (s2 + 28).checked_add_signed(isize::from(*mem.get(s2 + 27)? as i8))?;
    let dest = va(u32_at(&mem, t + 8)?)?;
    let copied = mem.get(c..c.checked_add(usize::from(n) * 4)?)?.to_vec();
    mem.get_mut(dest..dest.checked_add(copied.len())?)?
        .copy_from_slice(&copied);
    let esi = c + copied.len();
    // Stage 3: the probabilities and the decoder.
    let mut head = STAGE3.0;
    head[11] = *mem.get(s3 + 11)?;
    if !code_at(&mem, s3, &head) || !code_at(&mem, s3 + 12, &STAGE3.1) {
        return None;
    }
    let probs = usize::from(head[11]) << 8;
    let rel = u32_at(&mem, s3 + 20)? as i32;
    let dec = (s3 + 24).checked_add_signed(rel as isize)?;
    if !code_at(&mem, dec, &DECODER.0) || !code_at(&mem, dec + 27, &DECODER.1) {
        return None;
    }
    let shift = match mem.get(dec + 26) {
        Some(&s) if s <= 8 => s,
        _ => return None,
    };

    let stream_va = u32_at(&copied, copied.len().checked_sub(4)?)?;
    let stream = mem.get(va(stream_va)?..)?.to_vec();
    let out_start = va(u32_at(&mem, esi + 0xc)?)?;
    let out_end = va(u32_at(&mem, esi + 0x34)?)?;
    let fixups = u32_at(&mem, esi + 4)?;
    let fix_base = u32_at(&mem, esi + 0x38)?;
    let marker = memmem::find(&copied, FIXUP).and_then(|i| copied.get(i + FIXUP.len()).copied());

    let end = out_end.min(mem.len());
    if out_start == 0 || out_start >= end {
        return None;
    }
    decompress(&stream, &mut mem, out_start, end, probs, shift)?;
    if let Some(marker) = marker {
        unfilter(
            &mut mem[out_start..end],
            marker,
            fixups,
            fix_base,
            h.image_base,
            out_start,
        );
    }
    let body = &mem[out_start..end];
    rebuild(data, h, out_start as u32, body, limit).map(|img| ("(Upack)", img))
}

/// Make `count` marked `E8`/`E9` operands relative again, as the loader
/// does: the operand's last three bytes, big-endian, plus `base`, less
/// the operand's virtual address.
fn unfilter(code: &mut [u8], marker: u8, count: u32, base: u32, image_base: u32, rva: usize) {
    let mut i = 0usize;
    let mut left = count;
    while left > 0 {
        let Some(&op) = code.get(i) else { return };
        i += 1;
        if op != 0xe8 && op != 0xe9 {
            continue;
        }
        let Some(&[m, a, b, c]) = code.get(i..i + 4) else {
            return;
        };
        if m != marker {
            continue;
        }
        let at = image_base.wrapping_add((rva + i) as u32);
        let v = u32::from_be_bytes([0, a, b, c])
            .wrapping_add(base)
            .wrapping_sub(at);
        code[i..i + 4].copy_from_slice(&v.to_le_bytes());
        i += 4;
        left -= 1;
    }
}

/// LZMA's range decoder over `input`: no bit past its end is used.
struct Range<'a> {
    input: &'a [u8],
    pos: usize,
    range: u32,
    code: u32,
}

impl Range<'_> {
    fn normalize(&mut self) -> Option<()> {
        if self.range < 1 << 24 {
            let b = *self.input.get(self.pos)?;
            self.pos += 1;
            self.range <<= 8;
            self.code = self.code << 8 | u32::from(b);
        }
        Some(())
    }

    /// One bit with the probability (of a 0, in 2048ths) at `i`.
    fn bit(&mut self, probs: &mut [u32], i: usize) -> Option<u32> {
        let p = probs.get_mut(i)?;
        let bound = (self.range >> 11) * *p;
        let bit = if self.code < bound {
            self.range = bound;
            *p += (0x800 - *p) >> 5;
            0
        } else {
            self.code -= bound;
            self.range -= bound;
            *p -= *p >> 5;
            1
        };
        self.normalize()?;
        Some(bit)
    }

    /// A bit tree of `n` leaves whose nodes are at `base + 1…`, from the
    /// node `sym`.
    fn tree(&mut self, probs: &mut [u32], base: usize, n: u32, mut sym: u32) -> Option<u32> {
        while sym < n {
            sym = sym << 1 | self.bit(probs, base + sym as usize)?;
        }
        Some(sym - n)
    }

    /// `n` bits of even probability.
    fn direct(&mut self, n: u32) -> Option<u32> {
        let mut v = 0;
        for _ in 0..n {
            self.range >>= 1;
            v <<= 1;
            if self.code >= self.range {
                self.code -= self.range;
                v |= 1;
            }
            self.normalize()?;
        }
        Some(v)
    }

    /// A length less 1 (1–272): choice bits, then a 3-, 3- or 8-bit tree.
    fn length(&mut self, probs: &mut [u32], b: usize) -> Option<u32> {
        if self.bit(probs, b)? == 0 {
            return Some(1 + self.tree(probs, b + 2, 8, 1)?);
        }
        if self.bit(probs, b + 1)? == 0 {
            return Some(9 + self.tree(probs, b + 10, 8, 1)?);
        }
        Some(17 + self.tree(probs, b + 18, 256, 1)?)
    }
}

/// Upack's layout of the probabilities (indices).
const ALIGN: usize = 0;
const IS_MATCH: usize = 0x10;
const IS_REP: usize = 0x1c;
const IS_REP_G0: usize = 0x28;
const IS_REP0_LONG: usize = 0x34;
const IS_REP_G1: usize = 0x40;
const IS_REP_G2: usize = 0x4c;
const SPEC_POS: usize = 0x58;
const POS_SLOT: usize = 0xd8;
const REP_LEN: usize = 0x1d8;
const LEN: usize = 0x2ea;
const LITERAL: usize = 0x3fc;

/// Decompress `input` into `mem[start..end]` (matches may reach before
/// `start`, as in memory), with `count` probabilities and the literal
/// context `prev >> shift`. `None` on a broken stream.
pub(crate) fn decompress(
    input: &[u8],
    mem: &mut [u8],
    start: usize,
    end: usize,
    count: usize,
    shift: u8,
) -> Option<()> {
    let mut rc = Range {
        input,
        pos: 4,
        range: u32::MAX,
        code: u32::from_be_bytes(input.get(..4)?.try_into().ok()?),
    };
    let mut probs = vec![0x400u32; count];
    let p = &mut probs[..];
    let (mut state, mut reps, mut after_match) = (0usize, [1usize; 4], false);
    let mut out = start;
    let end = end.min(mem.len());
    while out < end {
        if rc.bit(p, IS_MATCH + state)? == 0 {
            state = match state {
                0..=3 => 0,
                4..=9 => state - 3,
                _ => state - 6,
            };
            let prev = *mem.get(out.checked_sub(1)?)?;
            let base = LITERAL + 0x300 * (usize::from(prev) >> shift.min(8));
            let mut sym = 1u32;
            if after_match {
                let mut mb = *mem.get(out.checked_sub(reps[0])?)?;
                while sym < 0x100 {
                    let m = u32::from(mb >> 7);
                    mb <<= 1;
                    let bit = rc.bit(p, base + (((1 + m) << 8) + sym) as usize)?;
                    sym = sym << 1 | bit;
                    if bit != m {
                        break;
                    }
                }
            }
            let byte = rc.tree(p, base, 0x100, sym)? as u8;
            mem[out] = byte;
            out += 1;
            after_match = false;
            continue;
        }
        let (dist, len);
        if rc.bit(p, IS_REP + state)? == 1 {
            if rc.bit(p, IS_REP_G0 + state)? == 0 {
                if rc.bit(p, IS_REP0_LONG + state)? == 0 {
                    state = if state < 7 { 9 } else { 11 };
                    mem[out] = *mem.get(out.checked_sub(reps[0])?)?;
                    out += 1;
                    after_match = true;
                    continue;
                }
                dist = reps[0];
            } else {
                if rc.bit(p, IS_REP_G1 + state)? == 0 {
                    dist = reps[1];
                } else {
                    if rc.bit(p, IS_REP_G2 + state)? == 0 {
                        dist = reps[2];
                    } else {
                        dist = reps[3];
                        reps[3] = reps[2];
                    }
                    reps[2] = reps[1];
                }
                reps[1] = reps[0];
            }
            state = if state < 7 { 8 } else { 11 };
            len = rc.length(p, REP_LEN)?;
        } else {
            state = if state < 7 { 7 } else { 10 };
            reps = [reps[0], reps[0], reps[1], reps[2]];
            len = rc.length(p, LEN)?;
            let slot = rc.tree(p, POS_SLOT + 64 * (len.min(4) as usize - 1), 64, 1)?;
            dist = if slot < 4 {
                slot as usize + 1
            } else {
                let bits = (slot >> 1) - 1;
                let mut base = u64::from(2 | (slot & 1)) << bits;
                let (tree, n) = if bits > 5 {
                    base += u64::from(rc.direct(bits - 4)?) << 4;
                    (ALIGN, 4)
                } else {
                    (SPEC_POS + base as usize, bits)
                };
                let t = rc.tree(p, tree, 1 << n, 1)?;
                usize::try_from(base + u64::from(t.reverse_bits() >> (32 - n)) + 1).ok()?
            };
        }
        reps[0] = dist;
        // The length and one more byte, as the loader copies them.
        let from = out.checked_sub(dist)?;
        for k in 0..=len as usize {
            if out >= end {
                break;
            }
            mem[out] = *mem.get(from + k)?;
            out += 1;
        }
        after_match = true;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfilter_counts_marked_operands() {
        // At RVA 1000h of an image based at 400000h: a marked call whose
        // target offset is 10h, with the loader's base 400FFCh.
        let mut code = [0x90, 0xe8, 0x00, 0x00, 0x00, 0x10, 0xe8, 0x07, 1, 2, 3];
        unfilter(&mut code, 0, 1, 0x40_0ffc, 0x40_0000, 0x1000);
        let v = 0x10u32 + 0x40_0ffc - 0x40_1002;
        assert_eq!(code[2..6], v.to_le_bytes());
        assert_eq!(code[6..], [0xe8, 0x07, 1, 2, 3]);
    }

    #[test]
    fn broken_streams_fail() {
        let mut mem = [0u8; 64];
        // No code; a match (all ones) before any byte; too few
        // probabilities for the literals; bits run out.
        assert!(decompress(&[], &mut mem, 8, 64, 0x1c00, 5).is_none());
        assert!(decompress(&[0xff; 6], &mut mem, 0, 64, 0x1c00, 5).is_none());
        assert!(decompress(&[0; 64], &mut mem, 8, 64, 0x10, 5).is_none());
        assert!(decompress(&[0; 5], &mut mem, 8, 64, 0x1c00, 5).is_none());
    }
}
