//! SZDD: files compressed by Microsoft's `COMPRESS.EXE` (`clam.ex_`).
//!
//! A 14-byte header (magic `SZDD\x88\xf0\x27\x33`, mode `A`, the replaced
//! last character of the name, the 32-bit uncompressed length) and LZSS
//! data: a flag byte governs the next eight items, read from its lowest bit;
//! a set bit is a literal, a clear bit a 12-bit window position and a 4-bit
//! length (plus 3) in two bytes. The 4 KiB window starts filled with spaces
//! and writing starts 16 bytes before its end.

use crate::budget::Budget;
use crate::container::{emit, UnpackError, Visit};

const HEADER: usize = 14;
const WINDOW: usize = 4096;

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let Some(len) = data.get(10..14) else {
        return Ok(());
    };
    let declared = u32::from_le_bytes(len.try_into().expect("4 bytes")) as u64;
    let allowance = budget.allowance()?;
    if declared > allowance {
        budget.note(budget.blame(allowance));
        return Ok(());
    }
    let out = expand(&data[HEADER.min(data.len())..], declared as usize);
    let _ = emit(Some("(szdd)".to_string()), out, budget, visit);
    Ok(())
}

/// Expand LZSS data to at most `limit` bytes; truncated input ends early.
fn expand(mut input: &[u8], limit: usize) -> Vec<u8> {
    let mut window = [b' '; WINDOW];
    let mut pos = WINDOW - 16;
    let mut out = Vec::with_capacity(limit.min(1 << 20));
    while let Some((&flags, rest)) = input.split_first() {
        input = rest;
        for bit in 0..8 {
            if out.len() >= limit {
                return out;
            }
            if flags & (1 << bit) != 0 {
                let Some((&b, rest)) = input.split_first() else {
                    return out;
                };
                input = rest;
                window[pos] = b;
                pos = (pos + 1) % WINDOW;
                out.push(b);
            } else {
                let [lo, hi, ..] = *input else { return out };
                input = &input[2..];
                let mut from = usize::from(lo) | (usize::from(hi & 0xf0) << 4);
                for _ in 0..usize::from(hi & 0x0f) + 3 {
                    let b = window[from];
                    window[pos] = b;
                    pos = (pos + 1) % WINDOW;
                    from = (from + 1) % WINDOW;
                    out.push(b);
                    if out.len() >= limit {
                        return out;
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn literals_and_a_back_reference() {
        // Flags 0b0111_1111: seven literals "abcdefg", then a reference to
        // window position 4080 (where writing started), length 3: "abc".
        let data = [0x7f, b'a', b'b', b'c', b'd', b'e', b'f', b'g', 0xf0, 0xf0];
        assert_eq!(super::expand(&data, 100), b"abcdefgabc");
        assert_eq!(super::expand(&data, 4), b"abcd");
        assert_eq!(super::expand(&data[..3], 100), b"ab");
    }
}
