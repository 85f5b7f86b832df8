//! Text: which objects ClamAV treats as text, and the normalised copy of
//! them that its text signatures (target type 7) are written against.
//!
//! **Typing.** An object no magic names is text when its first
//! [`TEXT_PROBE`] bytes pass one of four tests, tried in this order (the
//! character classes are those of file(1)'s text detection, which ClamAV
//! uses; measured against `clamscan --debug`):
//! * ASCII: no byte of the "never in text" class — controls other than
//!   BEL BS HT LF FF CR ESC, and DEL. Bytes of 0x80 and above are allowed
//!   (ISO-8859 and extended ASCII count as text).
//! * UTF-8: well-formed sequences of at least one multi-byte character and
//!   only text-class ASCII.
//! * UTF-16: after the first two bytes (a byte-order mark, or not), every
//!   code unit below 128 is a text character. Without a mark the units are
//!   read big-endian and a single unit that is not text rejects the object;
//!   with a mark, half of them may be. The test is lax, as ClamAV's is:
//!   most binary data without aligned runs of NUL passes as UTF-16BE.
//!
//! **Normalisation** (of objects up to `MaxScriptNormalize`, 5 MiB by
//! default): upper-case ASCII letters become lower case, each run of
//! whitespace (HT LF VT FF CR and space) becomes one space, other control
//! bytes and every byte of 0x80 and above are dropped (without ending a
//! whitespace run), DEL and the rest of printable ASCII are kept.

/// How many bytes of an object text typing looks at (ClamAV's magic
/// buffer).
pub const TEXT_PROBE: usize = 1024;

/// The kind of text an object is, as ClamAV types it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextKind {
    /// ASCII, ISO-8859 or other 8-bit text (`CL_TYPE_TEXT_ASCII`).
    Ascii,
    /// UTF-8 (`CL_TYPE_TEXT_UTF8`).
    Utf8,
    /// UTF-16, little-endian (`CL_TYPE_TEXT_UTF16LE`).
    Utf16Le,
    /// UTF-16, big-endian or without a byte-order mark (`CL_TYPE_TEXT_UTF16BE`).
    Utf16Be,
}

impl TextKind {
    /// ClamAV's name for the type.
    pub fn cl_type(self) -> &'static str {
        match self {
            TextKind::Ascii => "CL_TYPE_TEXT_ASCII",
            TextKind::Utf8 => "CL_TYPE_TEXT_UTF8",
            TextKind::Utf16Le => "CL_TYPE_TEXT_UTF16LE",
            TextKind::Utf16Be => "CL_TYPE_TEXT_UTF16BE",
        }
    }
}

/// The character classes of file(1)'s text detection that matter here.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Never appears in text.
    Never,
    /// Plain ASCII text.
    Text,
    /// ISO-8859 or extended ASCII: text, but not ASCII.
    High,
}

fn class(b: u8) -> Class {
    match b {
        0x07..=0x0a | 0x0c | 0x0d | 0x1b | 0x20..=0x7e | 0x85 => Class::Text,
        0x00..=0x1f | 0x7f => Class::Never,
        _ => Class::High,
    }
}

/// The kind of text `data` is, judged by its first [`TEXT_PROBE`] bytes;
/// `None` for binary data (and for nothing at all).
pub fn text_kind(data: &[u8]) -> Option<TextKind> {
    let head = &data[..data.len().min(TEXT_PROBE)];
    if head.is_empty() {
        return None;
    }
    if head.iter().all(|&b| class(b) != Class::Never) {
        Some(TextKind::Ascii)
    } else if is_utf8(head) {
        Some(TextKind::Utf8)
    } else {
        utf16(head)
    }
}

/// Well-formed UTF-8 with at least one multi-byte character, only
/// text-class ASCII, lead bytes of up to six-byte forms; a sequence cut off
/// by the end of the probe counts if one came before it.
fn is_utf8(head: &[u8]) -> bool {
    let mut multi = false;
    let mut i = 0;
    while let Some(&b) = head.get(i) {
        i += 1;
        if b < 0x80 {
            if class(b) != Class::Text {
                return false;
            }
            continue;
        }
        let following = match b.leading_ones() {
            2 => 1,
            3 => 2,
            4 => 3,
            5 => 4,
            6 => 5,
            _ => return false,
        };
        for _ in 0..following {
            match head.get(i) {
                None => return multi,
                Some(&c) if c & 0xc0 == 0x80 => i += 1,
                Some(_) => return false,
            }
        }
        multi = true;
    }
    multi
}

fn utf16(head: &[u8]) -> Option<TextKind> {
    let (little, bom) = match head {
        [0xff, 0xfe, ..] => (true, true),
        [0xfe, 0xff, ..] => (false, true),
        [_, _, ..] => (false, false),
        _ => return None,
    };
    let mut bad = 0usize;
    for unit in head[2..].chunks_exact(2) {
        let c = if little {
            u16::from_le_bytes([unit[0], unit[1]])
        } else {
            u16::from_be_bytes([unit[0], unit[1]])
        };
        if c == 0xfffe {
            return None;
        }
        if c < 128 && class(c as u8) != Class::Text {
            if !bom {
                return None;
            }
            bad += 1;
        }
    }
    if bom && bad >= head.len() / 2 {
        return None;
    }
    Some(if little {
        TextKind::Utf16Le
    } else {
        TextKind::Utf16Be
    })
}

/// The normalised copy of `data` (see the module docs), appended to `out`.
pub fn normalise_into(data: &[u8], out: &mut Vec<u8>) {
    out.reserve(data.len());
    let mut in_space = false;
    for &b in data {
        match b {
            b'\t'..=b'\r' | b' ' => {
                if !in_space {
                    out.push(b' ');
                    in_space = true;
                }
            }
            0x00..=0x1f | 0x80..=0xff => {}
            _ => {
                out.push(b.to_ascii_lowercase());
                in_space = false;
            }
        }
    }
}

/// The normalised copy of `data`.
pub fn normalise(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    normalise_into(data, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cases measured with clamscan 1.4.6 (`--debug` names the type).
    #[test]
    fn typing_as_clamscan() {
        assert_eq!(text_kind(b"HELLO   WORLD\n"), Some(TextKind::Ascii));
        // Bytes of 0x80 and above are ASCII text to ClamAV.
        assert_eq!(
            text_kind(b"HELLO \xc3\xa9 \x80\x81\n"),
            Some(TextKind::Ascii)
        );
        // A NUL makes it not ASCII; aligned NUL units make it binary.
        assert_eq!(
            text_kind(b"HELLO   WORLD\nabc\0\0def\n"),
            Some(TextKind::Utf16Be)
        );
        assert_eq!(text_kind(b"HELLO WORLD\n\0\0\0\0\0\0\0\0"), None);
        assert_eq!(
            text_kind(b"HELLO WORLD\n\x01\x02\x03\x04\x05\x06"),
            Some(TextKind::Utf16Be)
        );
        // Only the first 1024 bytes are looked at.
        let mut late = vec![b'a'; 1100];
        late.extend_from_slice(b"\0\0\0\0");
        assert_eq!(text_kind(&late), Some(TextKind::Ascii));
        let mut early = vec![b'a'; 1000];
        early.extend_from_slice(b"HELLO WORLD\0\0\0\0");
        assert_eq!(text_kind(&early), None);
        assert_eq!(text_kind(b""), None);
    }

    #[test]
    fn utf8_and_utf16_with_marks() {
        // UTF-8 is reached only past the ASCII test, which accepts every
        // byte a well-formed sequence has; a DEL rejects both.
        assert_eq!(text_kind(b"caf\xc3\xa9\x7f"), Some(TextKind::Utf16Be));
        assert!(is_utf8(b"caf\xc3\xa9"));
        assert!(!is_utf8(b"plain"));
        assert!(!is_utf8(b"\x80"));
        assert!(is_utf8(b"\xc3\xa9\xe2\x82"));
        let le: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("hi\0".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(text_kind(&le), Some(TextKind::Utf16Le));
        assert_eq!(text_kind(b"\xfe\xff\xff\xfe\0"), None);
        assert_eq!(text_kind(b"\x00"), None);
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalise(b"HELLO   WORLD\n"), b"hello world ");
        assert_eq!(normalise(b"HELLO \xc3\xa9  WORLD"), b"hello world");
        assert_eq!(normalise(b"HELLO\t\r\n WORLD"), b"hello world");
        assert_eq!(normalise(b"HEL\x01LO\x7f"), b"hello\x7f");
        assert_eq!(normalise(b"\x0b\x0c"), b" ");
        assert_eq!(normalise(b""), b"");
    }
}
