//! The NRV2B, NRV2D and NRV2E decompressors UPX uses on i386, in their
//! 32-bit little-endian bit-buffer form (written from the format: literals
//! and matches told apart by single bits, offsets and lengths as
//! interleaved Elias-gamma-like codes, the offset's low byte stored whole).
//!
//! A control bit is read from a 32-bit little-endian word, most significant
//! bit first; bytes are read from the same stream between words. Each
//! decoder writes at most `limit` bytes and stops at the end marker (an
//! offset of `0xffffffff`); running out of input, a match reaching before
//! the output's start or past `limit` is an error.

/// Which of UPX's NRV coders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Nrv2b,
    Nrv2d,
    Nrv2e,
}

/// Why decompression stopped short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NrvError {
    /// The input ended before the end marker.
    Truncated,
    /// A match refers to bytes before the output's start.
    BadOffset,
    /// The output would exceed the limit.
    TooLarge,
}

struct Bits<'a> {
    input: &'a [u8],
    pos: usize,
    word: u32,
    left: u32,
}

impl Bits<'_> {
    fn bit(&mut self) -> Result<u32, NrvError> {
        if self.left == 0 {
            let w = self
                .input
                .get(self.pos..self.pos + 4)
                .ok_or(NrvError::Truncated)?;
            self.word = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            self.pos += 4;
            self.left = 32;
        }
        self.left -= 1;
        Ok((self.word >> self.left) & 1)
    }

    fn byte(&mut self) -> Result<u8, NrvError> {
        let b = *self.input.get(self.pos).ok_or(NrvError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    /// Grow `v` by one gamma step: `v * 2 + bit`, refusing to overflow.
    fn step(&mut self, v: u32) -> Result<u32, NrvError> {
        let b = self.bit()?;
        v.checked_mul(2)
            .and_then(|v| v.checked_add(b))
            .ok_or(NrvError::BadOffset)
    }
}

/// Decompress `input` with `method`, writing at most `limit` bytes.
/// Returns the output and how many input bytes were used.
pub(crate) fn decompress(
    input: &[u8],
    method: Method,
    limit: usize,
) -> Result<(Vec<u8>, usize), NrvError> {
    let mut bits = Bits {
        input,
        pos: 0,
        word: 0,
        left: 0,
    };
    let mut out: Vec<u8> = Vec::with_capacity(limit.min(1 << 20));
    let mut last_off: u32 = 1;
    loop {
        while bits.bit()? == 1 {
            if out.len() >= limit {
                return Err(NrvError::TooLarge);
            }
            out.push(bits.byte()?);
        }
        let Some((off, len)) = (match method {
            Method::Nrv2b => match_2b(&mut bits, &mut last_off)?,
            Method::Nrv2d => match_2d(&mut bits, &mut last_off, false)?,
            Method::Nrv2e => match_2d(&mut bits, &mut last_off, true)?,
        }) else {
            return Ok((out, bits.pos));
        };
        copy_match(&mut out, off, len, limit)?;
    }
}

/// An NRV2B match: `(offset, total length)`, or `None` at the end marker.
fn match_2b(bits: &mut Bits<'_>, last_off: &mut u32) -> Result<Option<(u32, u32)>, NrvError> {
    let mut off: u32 = 1;
    loop {
        off = bits.step(off)?;
        if bits.bit()? == 1 {
            break;
        }
    }
    if off == 2 {
        off = *last_off;
    } else {
        let hi = off.checked_sub(3).ok_or(NrvError::BadOffset)?;
        let low = u32::from(bits.byte()?);
        let full = hi.checked_mul(256).and_then(|v| v.checked_add(low));
        match full {
            Some(u32::MAX) => return Ok(None),
            Some(v) => off = v + 1,
            None => return Err(NrvError::BadOffset),
        }
        *last_off = off;
    }
    let mut len = bits.bit()?;
    len = len * 2 + bits.bit()?;
    if len == 0 {
        len = 1;
        loop {
            len = bits.step(len)?;
            if bits.bit()? == 1 {
                break;
            }
        }
        len += 2;
    }
    len += u32::from(off > 0xd00);
    Ok(Some((off, len + 1)))
}

/// An NRV2D match (or NRV2E's, with `e`): the low bit of the offset byte
/// carries the first length bit.
fn match_2d(
    bits: &mut Bits<'_>,
    last_off: &mut u32,
    e: bool,
) -> Result<Option<(u32, u32)>, NrvError> {
    let mut off: u32 = 1;
    loop {
        off = bits.step(off)?;
        if bits.bit()? == 1 {
            break;
        }
        off = off.checked_sub(1).ok_or(NrvError::BadOffset)?;
        off = bits.step(off)?;
    }
    let mut len;
    if off == 2 {
        off = *last_off;
        len = bits.bit()?;
    } else {
        let hi = off.checked_sub(3).ok_or(NrvError::BadOffset)?;
        let low = u32::from(bits.byte()?);
        let full = hi.checked_mul(256).and_then(|v| v.checked_add(low));
        let v = match full {
            Some(u32::MAX) => return Ok(None),
            Some(v) => v,
            None => return Err(NrvError::BadOffset),
        };
        len = (v ^ 1) & 1;
        off = (v >> 1) + 1;
        *last_off = off;
    }
    if e {
        if len == 1 {
            len = 1 + bits.bit()?;
        } else if bits.bit()? == 1 {
            len = 3 + bits.bit()?;
        } else {
            len = 1;
            loop {
                len = bits.step(len)?;
                if bits.bit()? == 1 {
                    break;
                }
            }
            len = len.checked_add(3).ok_or(NrvError::TooLarge)?;
        }
    } else {
        len = len * 2 + bits.bit()?;
        if len == 0 {
            len = 1;
            loop {
                len = bits.step(len)?;
                if bits.bit()? == 1 {
                    break;
                }
            }
            len = len.checked_add(2).ok_or(NrvError::TooLarge)?;
        }
    }
    len = len.saturating_add(u32::from(off > 0x500));
    Ok(Some((off, len.saturating_add(1))))
}

/// Append `len` bytes copied from `off` bytes back (overlapping copies
/// repeat the pattern).
fn copy_match(out: &mut Vec<u8>, off: u32, len: u32, limit: usize) -> Result<(), NrvError> {
    let off = off as usize;
    let len = len as usize;
    if off == 0 || off > out.len() {
        return Err(NrvError::BadOffset);
    }
    if out.len().saturating_add(len) > limit {
        return Err(NrvError::TooLarge);
    }
    let start = out.len() - off;
    for i in 0..len {
        let b = out[start + i];
        out.push(b);
    }
    Ok(())
}
