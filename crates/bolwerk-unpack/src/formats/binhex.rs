//! BinHex 4.0 (`.hqx`), the classic Mac encoding.
//!
//! After the line `(This file must be converted with BinHex 4.0)`, data
//! runs between two colons in a 64-character alphabet (line breaks
//! ignored); the decoded bytes are run-length encoded (`0x90 n` repeats the
//! previous byte `n` times in all, `0x90 0` is a literal `0x90`). They hold a
//! header (name length, name, type, creator, flags, data and resource fork
//! lengths, CRC) followed by the data fork, which is the child.

use crate::budget::Budget;
use crate::container::{emit, UnpackError, Visit};

const ALPHABET: &[u8; 64] = b"!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let Some(start) = memchr::memmem::find(data, b"BinHex 4.0") else {
        return Ok(());
    };
    let Some(colon) = memchr::memchr(b':', &data[start..]) else {
        return Ok(());
    };
    let allowance = budget.allowance()?;
    let decoded = unrle(
        &decode6(&data[start + colon + 1..]),
        allowance.saturating_add(1),
    );
    let Some((name, fork)) = data_fork(&decoded) else {
        return Ok(());
    };
    if fork.len() as u64 > allowance {
        budget.note(budget.blame(allowance));
        return Ok(());
    }
    let _ = emit(Some(name), fork.to_vec(), budget, visit);
    Ok(())
}

/// Six bits a character up to the closing colon; other characters skipped.
fn decode6(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for &c in text {
        if c == b':' {
            break;
        }
        let Some(v) = ALPHABET.iter().position(|&a| a == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Undo the run-length encoding, producing at most `limit` bytes.
fn unrle(input: &[u8], limit: u64) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() && (out.len() as u64) < limit {
        if input[i] == 0x90 && i + 1 < input.len() {
            let n = input[i + 1];
            i += 2;
            match (n, out.last().copied()) {
                (0, _) => out.push(0x90),
                (n, Some(prev)) => out.extend(std::iter::repeat_n(prev, usize::from(n) - 1)),
                (_, None) => {}
            }
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    out
}

/// The file name and the data fork.
fn data_fork(d: &[u8]) -> Option<(String, &[u8])> {
    let name_len = usize::from(*d.first()?);
    let name = String::from_utf8_lossy(d.get(1..1 + name_len)?).into_owned();
    // NUL, type (4), creator (4), flags (2), data length (4), resource
    // length (4), header CRC (2).
    let lens = 1 + name_len + 1 + 4 + 4 + 2;
    let data_len = u32::from_be_bytes(d.get(lens..lens + 4)?.try_into().ok()?) as usize;
    let start = lens + 4 + 4 + 2;
    let end = start.checked_add(data_len)?.min(d.len());
    Some((name, d.get(start..end)?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_length() {
        assert_eq!(super::unrle(&[1, 0x90, 4, 2], 100), vec![1, 1, 1, 1, 2]);
        assert_eq!(super::unrle(&[0x90, 0, 3], 100), vec![0x90, 3]);
        assert_eq!(super::unrle(&[0x90, 200], 100), Vec::<u8>::new());
        assert_eq!(super::unrle(&[7, 0x90, 255], 10).len(), 10);
    }
}
