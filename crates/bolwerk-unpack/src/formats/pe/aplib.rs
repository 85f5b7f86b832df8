//! aPLib-style LZ decompression, the coder of FSG and of MEW's first
//! stage (written from the format).
//!
//! Control bits come from tag bytes read from the input stream as needed,
//! most significant bit first; other bytes are read from the same stream
//! between them. The first byte is a literal; then each item is:
//!
//! * `0`: a literal byte;
//! * `10`: a match: a gamma-coded high offset part (`2` right after a
//!   literal means "the last offset again", with a gamma length), else the
//!   offset's low byte follows, then a gamma length, lengthened by one from
//!   offset 1280 and again from 32000, by two below 128;
//! * `110`: a short match: one byte, offset in its high seven bits (0 ends
//!   the stream), length 2 or 3 by its low bit;
//! * `111`: four bits of offset for one byte (offset 0 writes a zero).
//!
//! A gamma number starts at 1 and takes a bit `b` and a continue bit per
//! step (`n = 2n + b` while the continue bit is set).
//!
//! The decoder writes into a caller's buffer (a memory image) from a given
//! position, so matches may reach into what earlier streams wrote there;
//! it never reads before the buffer's start nor writes past its end.

/// Why decompression stopped short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AplibError {
    /// The input ended before the end marker.
    Truncated,
    /// A match refers to bytes before the buffer's start.
    BadOffset,
    /// The output would run past the buffer's end.
    TooLarge,
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    tag: u8,
    left: u8,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, AplibError> {
        let b = *self.input.get(self.pos).ok_or(AplibError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn bit(&mut self) -> Result<u32, AplibError> {
        if self.left == 0 {
            self.tag = self.byte()?;
            self.left = 8;
        }
        self.left -= 1;
        Ok(u32::from(self.tag >> self.left) & 1)
    }

    fn gamma(&mut self) -> Result<u32, AplibError> {
        let mut n: u32 = 1;
        loop {
            n = n
                .checked_mul(2)
                .and_then(|v| v.checked_add(self.bit().ok()?))
                .ok_or(AplibError::TooLarge)?;
            if self.bit()? == 0 {
                return Ok(n);
            }
        }
    }
}

/// Decompress `input` into `out` from position `at`. Returns the input
/// bytes used and the position after the last byte written.
pub(crate) fn depack(
    input: &[u8],
    out: &mut [u8],
    at: usize,
) -> Result<(usize, usize), AplibError> {
    let mut r = Reader {
        input,
        pos: 0,
        tag: 0,
        left: 0,
    };
    let mut w = at;
    put(out, &mut w, r.byte()?)?;
    let mut last_off: usize = 0;
    let mut after_literal = true;
    loop {
        if r.bit()? == 0 {
            let b = r.byte()?;
            put(out, &mut w, b)?;
            after_literal = true;
        } else if r.bit()? == 0 {
            let hi = r.gamma()?;
            if after_literal && hi == 2 {
                let len = r.gamma()?;
                copy(out, &mut w, last_off, len as usize)?;
            } else {
                let hi = hi - if after_literal { 3 } else { 2 };
                let off = (hi as usize)
                    .checked_mul(256)
                    .and_then(|v| v.checked_add(usize::from(r.byte().ok()?)))
                    .ok_or(AplibError::BadOffset)?;
                let mut len = r.gamma()? as usize;
                if off >= 32000 {
                    len += 1;
                }
                if off >= 1280 {
                    len += 1;
                }
                if off < 128 {
                    len += 2;
                }
                copy(out, &mut w, off, len)?;
                last_off = off;
            }
            after_literal = false;
        } else if r.bit()? == 0 {
            let b = r.byte()?;
            let off = usize::from(b >> 1);
            if off == 0 {
                return Ok((r.pos, w));
            }
            copy(out, &mut w, off, 2 + usize::from(b & 1))?;
            last_off = off;
            after_literal = false;
        } else {
            let mut off = 0usize;
            for _ in 0..4 {
                off = off * 2 + r.bit()? as usize;
            }
            let b = if off == 0 {
                0
            } else {
                let from = w.checked_sub(off).ok_or(AplibError::BadOffset)?;
                *out.get(from).ok_or(AplibError::BadOffset)?
            };
            put(out, &mut w, b)?;
            after_literal = true;
        }
    }
}

fn put(out: &mut [u8], w: &mut usize, b: u8) -> Result<(), AplibError> {
    *out.get_mut(*w).ok_or(AplibError::TooLarge)? = b;
    *w += 1;
    Ok(())
}

/// Copy `len` bytes from `off` back (overlapping copies repeat).
fn copy(out: &mut [u8], w: &mut usize, off: usize, len: usize) -> Result<(), AplibError> {
    let from = w
        .checked_sub(off)
        .filter(|_| off != 0)
        .ok_or(AplibError::BadOffset)?;
    let end = w
        .checked_add(len)
        .filter(|&e| e <= out.len())
        .ok_or(AplibError::TooLarge)?;
    for i in 0..len {
        out[*w + i] = out[from + i];
    }
    *w = end;
    Ok(())
}
