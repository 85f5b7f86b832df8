//! Android Binary XML ("ABX"), the form Android 12 and later write system
//! XML files such as `packages.xml` in (AOSP's `BinaryXmlSerializer`).
//!
//! The file starts with the magic `ABX\0` (version 0). Then comes a stream
//! of tokens: one byte whose low four bits are the event (0 start
//! document, 1 end document, 2 start tag, 3 end tag, 4 text, 5 CDATA, 6
//! entity reference, 7 ignorable whitespace, 8 processing instruction, 9
//! comment, 10 doctype, 15 attribute) and whose high four bits the type of
//! the data that follows (1 null, 2 string, 3 interned string, 4 bytes
//! shown as hex, 5 bytes shown as base64, 6 int, 7 int shown as hex, 8
//! long, 9 long shown as hex, 10 float, 11 double, 12 true, 13 false).
//! Numbers are big-endian. A string is a big-endian u16 length and that
//! many bytes of (Java's modified) UTF-8; an interned string is a u16
//! index into the strings interned so far, or `0xFFFF` followed by a new
//! string that is interned. Tag and attribute names are interned strings;
//! attributes follow their start tag.
//!
//! This reader gives the start tags asked for with their attributes
//! (values as the text serializer writes them: hex types in lower-case hex
//! without `0x`) and their depth. Every read is bounds-checked; each token
//! consumes at least one byte, so the loop ends with the input; the text
//! kept is bounded, so short references to long interned strings cannot
//! blow up memory.

use std::fmt::Write as _;

/// The magic at the start of an ABX file.
pub const MAGIC: &[u8; 4] = b"ABX\0";

/// The deepest nesting accepted.
const MAX_DEPTH: usize = 1024;

/// The most text (names and values) kept from one document.
pub const MAX_KEPT: usize = 64 * 1024 * 1024;

/// A start tag: its name, attributes and depth (the root element is 0).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StartTag {
    /// The tag's name.
    pub name: String,
    /// `(name, value)` in file order.
    pub attributes: Vec<(String, String)>,
    /// How many elements enclose it.
    pub depth: usize,
}

impl StartTag {
    /// The value of attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Input<'a> {
    data: &'a [u8],
    pos: usize,
    interned: Vec<String>,
}

impl<'a> Input<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| format!("truncated at byte {}", self.pos))?;
        let s = self.data.get(self.pos..end).ok_or("truncated")?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let s = self.take(N)?;
        s.try_into().map_err(|_| "truncated".to_string())
    }

    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn utf(&mut self) -> Result<String, String> {
        let len = usize::from(self.u16()?);
        Ok(String::from_utf8_lossy(self.take(len)?).into_owned())
    }

    /// An interned string: its index in the table (a new string is added
    /// first). Referring by index keeps a short reference to a long string
    /// from costing a copy.
    fn interned(&mut self) -> Result<usize, String> {
        let at = self.pos;
        let index = self.u16()?;
        if index == u16::MAX {
            let s = self.utf()?;
            // Indexes are u16 below 0xFFFF: later strings cannot be named.
            if self.interned.len() >= usize::from(u16::MAX) {
                return Err(format!("more than {} interned strings", u16::MAX));
            }
            self.interned.push(s);
            return Ok(self.interned.len() - 1);
        }
        let i = usize::from(index);
        if i < self.interned.len() {
            Ok(i)
        } else {
            Err(format!(
                "interned string #{index} at byte {at} was never defined"
            ))
        }
    }

    fn text(&self, v: Value) -> String {
        match v {
            Value::Interned(i) => self.interned.get(i).cloned().unwrap_or_default(),
            Value::Text(s) => s,
        }
    }

    /// The data of type `kind` (the token's high four bits).
    fn value(&mut self, kind: u8) -> Result<Value, String> {
        Ok(Value::Text(match kind {
            1 => String::new(),
            2 => self.utf()?,
            3 => return Ok(Value::Interned(self.interned()?)),
            4 | 5 => {
                let len = usize::from(self.u16()?);
                let mut s = String::with_capacity(len.saturating_mul(2));
                for b in self.take(len)? {
                    let _ = write!(s, "{b:02x}");
                }
                s
            }
            6 => i32::from_be_bytes(self.array()?).to_string(),
            7 => signed_hex(i64::from(i32::from_be_bytes(self.array()?))),
            8 => i64::from_be_bytes(self.array()?).to_string(),
            9 => signed_hex(i64::from_be_bytes(self.array()?)),
            10 => f32::from_be_bytes(self.array()?).to_string(),
            11 => f64::from_be_bytes(self.array()?).to_string(),
            12 => "true".into(),
            13 => "false".into(),
            t => return Err(format!("unknown data type {t} at byte {}", self.pos)),
        }))
    }
}

/// A value read: text, or a string in the intern table.
enum Value {
    Interned(usize),
    Text(String),
}

/// Hex as Java's `Integer.toString(v, 16)` writes it: a sign, no prefix.
fn signed_hex(v: i64) -> String {
    if v < 0 {
        format!("-{:x}", v.unsigned_abs())
    } else {
        format!("{v:x}")
    }
}

/// The start tags of an ABX document for which `keep(name, depth)` holds,
/// with their attributes. The text kept is bounded by [`MAX_KEPT`].
pub fn start_tags(
    data: &[u8],
    keep: impl Fn(&str, usize) -> bool,
) -> Result<Vec<StartTag>, String> {
    if data.get(..4) != Some(MAGIC.as_slice()) {
        return Err("not Android binary XML (no ABX magic)".into());
    }
    let mut input = Input {
        data,
        pos: 4,
        interned: Vec::new(),
    };
    let mut out: Vec<StartTag> = Vec::new();
    let mut kept = 0usize;
    // The kept tag whose attributes may still follow.
    let mut open: Option<StartTag> = None;
    // Whether the last event was a start tag (attributes may follow).
    let mut in_tag = false;
    let mut depth = 0usize;
    while input.pos < data.len() {
        let [token] = input.array()?;
        let (event, kind) = (token & 0x0F, token >> 4);
        if event != 15 {
            out.extend(open.take());
            in_tag = false;
        }
        match event {
            0 | 1 => {}
            2 => {
                if depth >= MAX_DEPTH {
                    return Err(format!("nested deeper than {MAX_DEPTH} elements"));
                }
                let name = input.interned()?;
                let name = input.interned.get(name).map_or("", String::as_str);
                if keep(name, depth) {
                    kept = kept.saturating_add(name.len());
                    open = Some(StartTag {
                        name: name.to_string(),
                        attributes: Vec::new(),
                        depth,
                    });
                }
                in_tag = true;
                depth += 1;
            }
            3 => {
                input.interned()?;
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("end tag without a start at byte {}", input.pos))?;
            }
            4..=10 => {
                input.value(kind)?;
            }
            15 => {
                if !in_tag {
                    return Err(format!(
                        "attribute outside a start tag at byte {}",
                        input.pos
                    ));
                }
                let name = input.interned()?;
                let value = input.value(kind)?;
                if let Some(tag) = open.as_mut() {
                    let (name, value) = (input.text(Value::Interned(name)), input.text(value));
                    kept = kept.saturating_add(name.len()).saturating_add(value.len());
                    tag.attributes.push((name, value));
                }
            }
            e => return Err(format!("unknown event {e} at byte {}", input.pos)),
        }
        if kept > MAX_KEPT {
            return Err(format!("more than {MAX_KEPT} bytes of text kept"));
        }
    }
    out.extend(open.take());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `<a>` with `n` attributes each naming the same long interned string.
    fn many_refs(n: usize) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.push(0x10); // start document
        b.extend_from_slice(&[0x32, 0xFF, 0xFF, 0, 1, b'a']); // <a>, interned #0
        let long = vec![b'x'; 60_000];
        // The first attribute defines #1 (name "n") and #2 (the long value).
        b.extend_from_slice(&[0x3F, 0xFF, 0xFF, 0, 1, b'n', 0xFF, 0xFF]);
        b.extend_from_slice(&(long.len() as u16).to_be_bytes());
        b.extend_from_slice(&long);
        for _ in 1..n {
            b.extend_from_slice(&[0x3F, 0, 1, 0, 2]);
        }
        b.extend_from_slice(&[0x33, 0, 0, 0x11]); // </a>, end document
        b
    }

    #[test]
    fn references_to_long_strings_are_bounded() {
        let doc = many_refs(2_000);
        // Not kept: read through without copying.
        assert_eq!(start_tags(&doc, |_, _| false), Ok(Vec::new()));
        // Kept: past the bound it is an error, not 120 MB of copies.
        let err = start_tags(&doc, |_, _| true).unwrap_err();
        assert!(err.contains("bytes of text kept"), "{err}");
        let small = start_tags(&many_refs(3), |_, _| true).unwrap();
        assert_eq!(small.len(), 1);
        assert_eq!(small[0].attributes.len(), 3);
        assert_eq!(small[0].attribute("n").map(str::len), Some(60_000));
    }

    #[test]
    fn malformed() {
        assert!(start_tags(b"ABX", |_, _| true).is_err());
        assert!(start_tags(b"XML\0", |_, _| true).is_err());
        // An end tag with no start, an undefined interned string.
        assert!(start_tags(b"ABX\0\x33\xff\xff\0\x01a", |_, _| true).is_err());
        assert!(start_tags(b"ABX\0\x32\0\x05", |_, _| true).is_err());
        // An attribute with no tag.
        assert!(start_tags(b"ABX\0\x2f\xff\xff\0\x01n\0\x01v", |_, _| true).is_err());
        assert_eq!(start_tags(b"ABX\0", |_, _| true), Ok(Vec::new()));
    }
}
