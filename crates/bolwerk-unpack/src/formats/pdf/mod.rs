//! PDF: every stream is a child, decoded through the filters its dictionary
//! names (`FlateDecode`, `LZWDecode`, `RunLengthDecode`, `ASCIIHexDecode`,
//! `ASCII85Decode`, in order; LZW with its `EarlyChange` parameter).
//! Object streams are streams like any other: their decoded objects are
//! scanned as the child's bytes. A document encrypted for an empty user
//! password (see [`crypt`]) has its streams decrypted first.
//! Streams are found by their keywords rather than by the cross-reference
//! table, which hostile and damaged files get wrong: the dictionary is the
//! text between the preceding `obj` and `stream`, the data runs to the next
//! `endstream`. An unknown filter leaves the stream as it is.

use std::io::Read;

use crate::budget::Budget;
use crate::container::{emit, UnpackError, Visit};

mod crypt;

/// Streams per file, at most (a hostile file can declare millions).
const MAX_STREAMS: usize = 10_000;

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let decrypter = crypt::Decrypter::for_document(data);
    // Encrypted for a password other than the empty one: the streams are
    // read as they are (their plain parts may still match), and the
    // document is reported as encrypted.
    let locked = decrypter.is_none() && crypt::is_encrypted(data);
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
        let obj_at = memchr::memmem::rfind(&data[..at], b"obj");
        let dict = &data[obj_at.map_or(0, |o| o + 3)..at];
        let decrypted = decrypter
            .as_ref()
            .filter(|_| memchr::memmem::find(dict, b"/XRef").is_none())
            .zip(obj_at.and_then(|o| object_id(&data[..o])))
            .and_then(|(d, (num, gen))| d.decrypt(num, gen, body));
        let body = decrypted.as_deref().unwrap_or(body);
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
    if locked {
        return Err(UnpackError::Encrypted);
    }
    Ok(())
}

/// The object number and generation that end `head` (the text before an
/// object's `obj` keyword: `12 0 `).
fn object_id(head: &[u8]) -> Option<(u32, u16)> {
    let mut words = head
        .rsplit(|c| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    let gen = std::str::from_utf8(words.next()?).ok()?.parse().ok()?;
    let num = std::str::from_utf8(words.next()?).ok()?.parse().ok()?;
    Some((num, gen))
}

/// Apply the dictionary's filters in order.
fn decode(dict: &[u8], raw: &[u8], limit: u64) -> Option<Vec<u8>> {
    let mut data = raw.to_vec();
    for filter in filters(dict) {
        data = match filter.as_slice() {
            b"FlateDecode" | b"Fl" => inflate(&data, limit),
            b"LZWDecode" | b"LZW" => lzw(&data, early_change(dict), limit),
            b"RunLengthDecode" | b"RL" => run_length(&data, limit),
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

/// `/EarlyChange 0` in the dictionary's parameters; 1 (the default) otherwise.
fn early_change(dict: &[u8]) -> bool {
    let Some(at) = memchr::memmem::find(dict, b"/EarlyChange") else {
        return true;
    };
    dict[at + 12..].trim_ascii_start().first() != Some(&b'0')
}

/// PDF's LZW: codes of 9 to 12 bits, most significant bit first, 256
/// clears the table, 257 ends the data; with `early_change` the code width
/// grows one code early (as TIFF's does). What decodes before an error is
/// kept, and decoding stops once past `limit`.
fn lzw(data: &[u8], early_change: bool, limit: u64) -> Vec<u8> {
    use weezl::{decode::Decoder, BitOrder, LzwStatus};
    let mut decoder = if early_change {
        Decoder::with_tiff_size_switch(BitOrder::Msb, 8)
    } else {
        Decoder::new(BitOrder::Msb, 8)
    };
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut input = data;
    while out.len() as u64 <= limit {
        let r = decoder.decode_bytes(input, &mut buf);
        out.extend_from_slice(&buf[..r.consumed_out]);
        input = &input[r.consumed_in..];
        match r.status {
            Ok(LzwStatus::Ok) if r.consumed_in + r.consumed_out > 0 => {}
            _ => break,
        }
    }
    out
}

/// PDF's run-length encoding: a length byte `n` below 128 copies the next
/// `n + 1` bytes, above 128 repeats the next byte `257 - n` times, 128 ends
/// the data. Stops once past `limit`.
fn run_length(data: &[u8], limit: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        if n == 128 || out.len() as u64 > limit {
            break;
        }
        if n < 128 {
            let take = (usize::from(n) + 1).min(tail.len());
            out.extend_from_slice(&tail[..take]);
            rest = &tail[take..];
        } else {
            let Some((&b, tail)) = tail.split_first() else {
                break;
            };
            out.resize(out.len() + 257 - usize::from(n), b);
            rest = tail;
        }
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

    #[test]
    fn object_ids() {
        assert_eq!(object_id(b"endobj\n12 0 "), Some((12, 0)));
        assert_eq!(object_id(b"%PDF-1.4\n3 1"), Some((3, 1)));
        assert_eq!(object_id(b"x"), None);
    }

    #[test]
    fn run_length_decoding() {
        // Literal "ab", "x" three times, then end; bytes after 128 ignored.
        assert_eq!(run_length(b"\x01ab\xfex\x80zz", 100), b"abxxx");
        // A truncated literal keeps what is there.
        assert_eq!(run_length(b"\x05ab", 100), b"ab");
        // Stops once past the limit.
        assert!(run_length(&[0x81, b'y'].repeat(1000), 10).len() < 300);
    }

    /// The example of the PDF reference (ISO 32000-1, 7.4.4.2): the codes
    /// 256 45 258 258 65 259 66 257 decode to `-----A---B`.
    #[test]
    fn lzw_reference_example() {
        let codes = [256u16, 45, 258, 258, 65, 259, 66, 257];
        let mut bits = 0u64;
        let mut n = 0;
        let mut packed = Vec::new();
        for c in codes {
            bits = bits << 9 | u64::from(c);
            n += 9;
            while n >= 8 {
                packed.push((bits >> (n - 8)) as u8);
                n -= 8;
            }
        }
        packed.push((bits << (8 - n)) as u8);
        assert_eq!(lzw(&packed, true, 1000), b"-----A---B");
        assert_eq!(lzw(&packed, false, 1000), b"-----A---B");
        assert!(early_change(b"<< /DecodeParms << /EarlyChange 1 >> >>"));
        assert!(!early_change(b"<< /DecodeParms << /EarlyChange 0 >> >>"));
        assert!(early_change(b"<< /Filter /LZWDecode >>"));
    }
}
