//! PDF: every stream is a child, decoded through the filters its dictionary
//! names (`FlateDecode`, `ASCIIHexDecode`, `ASCII85Decode`, in order).
//! Streams are found by their keywords rather than by the cross-reference
//! table, which hostile and damaged files get wrong: the dictionary is the
//! text between the preceding `obj` and `stream`, the data runs to the next
//! `endstream`. An unknown filter leaves the stream as it is.

use std::io::Read;

use crate::budget::Budget;
use crate::container::{emit, UnpackError, Visit};

/// Streams per file, at most (a hostile file can declare millions).
const MAX_STREAMS: usize = 10_000;

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let mut prev_end = 0;
    for (n, at) in memchr::memmem::find_iter(data, b"stream").enumerate() {
        if n >= MAX_STREAMS || at < prev_end || data[..at].ends_with(b"end") {
            continue;
        }
        let mut start = at + 6;
        if data.get(start) == Some(&b'\r') {
            start += 1;
        }
        if data.get(start) == Some(&b'\n') {
            start += 1;
        }
        let Some(len) = memchr::memmem::find(&data[start..], b"endstream") else {
            break;
        };
        prev_end = start + len;
        // The end-of-line before `endstream` is not part of the data.
        let body = &data[start..start + len];
        let body = body.strip_suffix(b"\n").unwrap_or(body);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        let dict_from = memchr::memmem::rfind(&data[..at], b"obj").map_or(0, |o| o + 3);
        let dict = &data[dict_from..at];
        let allowance = budget.allowance()?;
        let Some(decoded) = decode(dict, body, allowance) else {
            continue;
        };
        if decoded.len() as u64 > allowance {
            budget.note(budget.blame(allowance));
            continue;
        }
        if !decoded.is_empty()
            && emit(Some(format!("stream@{at}")), decoded, budget, visit).is_break()
        {
            break;
        }
    }
    Ok(())
}

/// Apply the dictionary's filters in order.
fn decode(dict: &[u8], raw: &[u8], limit: u64) -> Option<Vec<u8>> {
    let mut data = raw.to_vec();
    for filter in filters(dict) {
        data = match filter.as_slice() {
            b"FlateDecode" | b"Fl" => inflate(&data, limit),
            b"ASCIIHexDecode" | b"AHx" => hex(&data),
            b"ASCII85Decode" | b"A85" => ascii85(&data)?,
            _ => return Some(data),
        };
    }
    Some(data)
}

/// The names after `/Filter`, whether one name or an array.
fn filters(dict: &[u8]) -> Vec<Vec<u8>> {
    let Some(at) = memchr::memmem::find(dict, b"/Filter") else {
        return Vec::new();
    };
    let rest = &dict[at + 7..];
    let rest = rest.trim_ascii_start();
    let body = if rest.first() == Some(&b'[') {
        &rest[1..memchr::memchr(b']', rest).unwrap_or(rest.len())]
    } else {
        let end = rest[1.min(rest.len())..]
            .iter()
            .position(|&c| c == b'/' || c == b'>' || c.is_ascii_whitespace())
            .map_or(rest.len(), |p| p + 1);
        &rest[..end]
    };
    body.split(|&c| c == b'/' || c.is_ascii_whitespace())
        .filter(|n| !n.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// zlib data (raw deflate as a fallback); what inflates before an error is kept.
fn inflate(data: &[u8], limit: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let cap = limit.saturating_add(1);
    let _ = flate2::read::ZlibDecoder::new(data)
        .take(cap)
        .read_to_end(&mut out);
    if out.is_empty() {
        let _ = flate2::read::DeflateDecoder::new(data)
            .take(cap)
            .read_to_end(&mut out);
    }
    out
}

fn hex(data: &[u8]) -> Vec<u8> {
    let digits: Vec<u8> = data
        .iter()
        .take_while(|&&c| c != b'>')
        .filter_map(|&c| (c as char).to_digit(16).map(|d| d as u8))
        .collect();
    digits
        .chunks(2)
        .map(|p| p[0] << 4 | p.get(1).copied().unwrap_or(0))
        .collect()
}

fn ascii85(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut group = [0u32; 5];
    let mut n = 0;
    for &c in data {
        match c {
            b'~' => break,
            b'z' if n == 0 => out.extend_from_slice(&[0; 4]),
            b'!'..=b'u' => {
                group[n] = u32::from(c - b'!');
                n += 1;
                if n == 5 {
                    let v = group
                        .iter()
                        .try_fold(0u32, |a, &d| a.checked_mul(85)?.checked_add(d))?;
                    out.extend_from_slice(&v.to_be_bytes());
                    n = 0;
                }
            }
            _ => {}
        }
    }
    if n > 1 {
        group[n..].fill(84);
        let v = group
            .iter()
            .try_fold(0u32, |a, &d| a.checked_mul(85)?.checked_add(d))?;
        out.extend_from_slice(&v.to_be_bytes()[..n - 1]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_names() {
        assert_eq!(
            filters(b"<< /Length 5 /Filter /FlateDecode >>"),
            vec![b"FlateDecode".to_vec()]
        );
        assert_eq!(
            filters(b"<< /Filter [/ASCIIHexDecode /FlateDecode] >>"),
            vec![b"ASCIIHexDecode".to_vec(), b"FlateDecode".to_vec()]
        );
        assert!(filters(b"<< /Length 5 >>").is_empty());
    }

    #[test]
    fn text_filters() {
        assert_eq!(hex(b"48 65 6c6c6f>"), b"Hello");
        assert_eq!(ascii85(b"87cURD]i,\"Ebo7~>").unwrap(), b"Hello World");
        assert_eq!(ascii85(b"87cURD]i,\"Ebk").unwrap(), b"Hello Worl");
        assert_eq!(ascii85(b"z~>").unwrap(), [0; 4]);
    }
}
