//! Mail: RFC 5322 messages and mbox files. Every MIME part with content is
//! a child, decoded from base64 or quoted-printable by `mail-parser`;
//! uuencoded blocks (`begin 644 name` … `end`), in a part or in plain text,
//! are decoded here. An mbox is split at its `From ` lines first.

use mail_parser::MimeHeaders;

use crate::budget::Budget;
use crate::container::{emit, UnpackError, Visit};

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    for message in mbox_messages(data) {
        if read_message(message, budget, visit)?.is_break() {
            break;
        }
    }
    Ok(())
}

fn read_message(
    raw: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<crate::Flow, UnpackError> {
    let parser = mail_parser::MessageParser::default();
    let Some(message) = parser.parse(raw) else {
        return uu_blocks(raw, budget, visit);
    };
    let mut uu_in_parts = false;
    for part in message.parts.iter() {
        if matches!(part.body, mail_parser::PartType::Multipart(_)) {
            continue;
        }
        let contents = part.contents();
        if contents.is_empty() {
            continue;
        }
        uu_in_parts |= memchr::memmem::find(contents, b"begin ").is_some();
        let name = part.attachment_name().map(str::to_string);
        let allowance = budget.allowance()?;
        if contents.len() as u64 > allowance {
            budget.note(budget.blame(allowance));
            continue;
        }
        if emit(name, contents.to_vec(), budget, visit).is_break() {
            return Ok(crate::Flow::Break(()));
        }
    }
    if uu_in_parts || message.parts.len() <= 1 {
        return uu_blocks(raw, budget, visit);
    }
    Ok(crate::Flow::Continue(()))
}

/// The messages of an mbox (a single message is an mbox of one).
fn mbox_messages(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = vec![0];
    for i in memchr::memmem::find_iter(data, b"\nFrom ") {
        starts.push(i + 1);
    }
    starts.push(data.len());
    starts
        .windows(2)
        .map(|w| &data[w[0]..w[1]])
        .filter(|m| !m.is_empty())
        .collect()
}

/// Decode every uuencoded block in `text`.
pub(crate) fn uu_blocks(
    text: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<crate::Flow, UnpackError> {
    let mut rest = text;
    while let Some(at) = memchr::memmem::find(rest, b"begin ") {
        let block = &rest[at..];
        let header_end = memchr::memchr(b'\n', block).unwrap_or(block.len());
        let header = String::from_utf8_lossy(&block[6..header_end]);
        let mut words = header.split_whitespace();
        let (Some(mode), Some(name)) = (words.next(), words.next()) else {
            rest = &block[6..];
            continue;
        };
        if !mode.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            rest = &block[6..];
            continue;
        }
        let allowance = budget.allowance()?;
        let (decoded, used) = uudecode(&block[header_end..], allowance);
        rest = &block[header_end + used..];
        if decoded.len() as u64 > allowance {
            budget.note(budget.blame(allowance));
            continue;
        }
        if !decoded.is_empty() && emit(Some(name.to_string()), decoded, budget, visit).is_break() {
            return Ok(crate::Flow::Break(()));
        }
    }
    Ok(crate::Flow::Continue(()))
}

/// Decode uuencoded lines up to `end`; returns the bytes (at most
/// `limit + 1`) and how much input was used.
fn uudecode(text: &[u8], limit: u64) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut used = 0;
    for line in text.split_inclusive(|&b| b == b'\n') {
        used += line.len();
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line.starts_with(b"end") {
            break;
        }
        let n = usize::from(line[0].wrapping_sub(b' ') & 0x3f);
        let chars: Vec<u8> = line[1..]
            .iter()
            .map(|c| c.wrapping_sub(b' ') & 0x3f)
            .collect();
        let mut bytes = Vec::with_capacity(n);
        for q in chars.chunks(4) {
            let get = |i: usize| u32::from(*q.get(i).unwrap_or(&0));
            let v = get(0) << 18 | get(1) << 12 | get(2) << 6 | get(3);
            bytes.extend_from_slice(&[(v >> 16) as u8, (v >> 8) as u8, v as u8]);
        }
        bytes.truncate(n);
        out.extend_from_slice(&bytes);
        if out.len() as u64 > limit {
            break;
        }
    }
    (out, used)
}

#[cfg(test)]
mod tests {
    #[test]
    fn uudecode_a_line() {
        // "Cat" uuencoded.
        let (out, _) = super::uudecode(b"#0V%T\n`\nend\n", 100);
        assert_eq!(out, b"Cat");
    }
}
