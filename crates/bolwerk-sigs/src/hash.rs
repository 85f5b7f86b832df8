//! Hash signatures: whole-file hashes (`.hdb` `.hsb`), PE section hashes
//! (`.mdb` `.msb`) and allow lists (`.fp` `.sfp`).
//!
//! A line is `HASH:SIZE:NAME[:MINFL[:MAXFL]]` (section files swap the first
//! two fields: `SIZE:HASH:NAME…`). The hash type is told by its length: 32
//! hex digits are MD5, 40 SHA-1, 64 SHA-256, whatever the file extension. A
//! size of `*` matches any size; ClamAV requires such lines to name a minimum
//! functionality level of at least 73, the level that introduced wildcards.
//! Lines outside this engine's level range are skipped and counted, never
//! loaded by accident.
//!
//! Records are compact (`digest`, `size`, name id) because official databases
//! carry about seven million of them.

use crate::names::{NameId, Names};
use crate::Error;

/// Size value that stands for `*` (ClamAV forbids a real size of 0).
pub const ANY_SIZE: u32 = 0;

/// One hash signature: a digest of `N` bytes, the size it applies to (or
/// [`ANY_SIZE`]) and its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashRecord<const N: usize> {
    /// The digest.
    pub digest: [u8; N],
    /// The object size it names, or [`ANY_SIZE`].
    pub size: u32,
    /// The signature name.
    pub name: NameId,
}

/// Hash signatures of one purpose, split by hash type.
#[derive(Clone, Debug, Default)]
pub struct HashSet3 {
    /// MD5 records.
    pub md5: Vec<HashRecord<16>>,
    /// SHA-1 records.
    pub sha1: Vec<HashRecord<20>>,
    /// SHA-256 records.
    pub sha256: Vec<HashRecord<32>>,
}

impl HashSet3 {
    /// How many records of all types.
    pub fn len(&self) -> usize {
        self.md5.len() + self.sha1.len() + self.sha256.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Move `other`'s records here, shifting their name ids by `shift`.
    pub fn append(&mut self, other: HashSet3, shift: u32) {
        fn mv<const N: usize>(to: &mut Vec<HashRecord<N>>, from: Vec<HashRecord<N>>, s: u32) {
            to.extend(from.into_iter().map(|mut r| {
                r.name.0 += s;
                r
            }));
        }
        mv(&mut self.md5, other.md5, shift);
        mv(&mut self.sha1, other.sha1, shift);
        mv(&mut self.sha256, other.sha256, shift);
    }

    /// Add a record parsed from hex, typed by the hex length.
    fn push_hex(&mut self, hex: &[u8], size: u32, name: NameId) -> Result<(), Error> {
        let bad = || Error::malformed(format!("malformed hash '{}'", String::from_utf8_lossy(hex)));
        match hex.len() {
            32 => self.md5.push(record(hex, size, name).ok_or_else(bad)?),
            40 => self.sha1.push(record(hex, size, name).ok_or_else(bad)?),
            64 => self.sha256.push(record(hex, size, name).ok_or_else(bad)?),
            _ => return Err(bad()),
        }
        Ok(())
    }
}

fn record<const N: usize>(hex: &[u8], size: u32, name: NameId) -> Option<HashRecord<N>> {
    let mut digest = [0u8; N];
    crate::hex::decode_into(hex, &mut digest)?;
    Some(HashRecord { digest, size, name })
}

/// Field order of a hash line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashLayout {
    /// `HASH:SIZE:NAME` (`.hdb` `.hsb` `.fp` `.sfp` and PUA variants).
    HashFirst,
    /// `SIZE:HASH:NAME` (`.mdb` `.msb` and PUA variants).
    SizeFirst,
}

/// What a parsed line turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum LineOutcome {
    /// A record was added.
    Added,
    /// The line is a comment or blank.
    Comment,
    /// The line's functionality-level range excludes this engine.
    OutOfLevel,
    /// An ignore list names the signature.
    Ignored,
    /// A signature using a feature this version does not match (named).
    Unsupported(&'static str),
}

/// Parses hash lines into a [`HashSet3`] and a [`Names`] arena.
pub struct HashParser<'a> {
    /// Field order.
    pub layout: HashLayout,
    /// This engine's functionality level.
    pub flevel: u32,
    /// Signatures to drop at load time.
    pub ignore: &'a crate::IgnoreList,
}

impl HashParser<'_> {
    /// Parse one line (without its line terminator).
    pub fn parse_line(
        &self,
        line: &[u8],
        set: &mut HashSet3,
        names: &mut Names,
    ) -> Result<LineOutcome, Error> {
        let line = trim_cr(line);
        if line.is_empty() || line[0] == b'#' {
            return Ok(LineOutcome::Comment);
        }
        let mut fields: [&[u8]; 5] = [&[]; 5];
        let n = split_fields(line, &mut fields).ok_or_else(|| {
            Error::malformed("too many ':' fields for a hash signature (at most 5)")
        })?;
        if n < 3 {
            return Err(Error::malformed(
                "a hash signature needs at least 3 ':' fields",
            ));
        }
        let (hash, size, name) = match self.layout {
            HashLayout::HashFirst => (fields[0], fields[1], fields[2]),
            HashLayout::SizeFirst => (fields[1], fields[0], fields[2]),
        };
        let min_fl = level_field(fields[3], "minimum")?;
        let max_fl = level_field(fields[4], "maximum")?;
        if min_fl.is_some_and(|m| self.flevel < m) || max_fl.is_some_and(|m| self.flevel > m) {
            return Ok(LineOutcome::OutOfLevel);
        }
        let size = parse_size(size, min_fl)?;
        let name = std::str::from_utf8(name)
            .map_err(|_| Error::malformed("signature name is not valid UTF-8"))?;
        if name.is_empty() {
            return Err(Error::malformed("empty signature name"));
        }
        if self.ignore.ignores(name, line) {
            return Ok(LineOutcome::Ignored);
        }
        let id = names
            .push(name)
            .ok_or_else(|| Error::malformed("too many signature names"))?;
        set.push_hex(hash, size, id)?;
        Ok(LineOutcome::Added)
    }
}

/// A field as text.
pub(crate) fn field_text(f: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(f).map_err(|_| Error::malformed("line is not valid UTF-8"))
}

/// Whether optional `MinFL` and `MaxFL` fields put a line out of `flevel`.
pub(crate) fn out_of_level(flevel: u32, min: &[u8], max: &[u8]) -> Result<bool, Error> {
    let level = |f: &[u8]| -> Result<Option<u32>, Error> {
        match field_text(f)? {
            "" => Ok(None),
            t => t
                .parse()
                .map(Some)
                .map_err(|_| Error::malformed(format!("invalid functionality level '{t}'"))),
        }
    };
    let (min, max) = (level(min)?, level(max)?);
    Ok(min.is_some_and(|m| flevel < m) || max.is_some_and(|m| flevel > m))
}

/// Split on ':' into at most `out.len()` fields; `None` when there are more.
pub(crate) fn split_fields<'t>(text: &'t [u8], out: &mut [&'t [u8]]) -> Option<usize> {
    let mut n = 0;
    let mut start = 0;
    for i in memchr::memchr_iter(b':', text) {
        *out.get_mut(n)? = &text[start..i];
        n += 1;
        start = i + 1;
    }
    *out.get_mut(n)? = &text[start..];
    Some(n + 1)
}

pub(crate) fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Decimal digits only (no sign, no spaces), as a `u32`.
fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(c - b'0');
    }
    u32::try_from(v).ok()
}

fn level_field(s: &[u8], which: &str) -> Result<Option<u32>, Error> {
    if s.is_empty() {
        return Ok(None);
    }
    parse_u32(s).map(Some).ok_or_else(|| {
        let s = String::from_utf8_lossy(s);
        Error::malformed(format!("invalid {which} functionality level '{s}'"))
    })
}

fn parse_size(s: &[u8], min_fl: Option<u32>) -> Result<u32, Error> {
    if s == b"*" {
        // Wildcard sizes came with functionality level 73; ClamAV refuses
        // them on lines that older engines would misread.
        if min_fl.unwrap_or(0) < 73 {
            return Err(Error::malformed(
                "a '*' size needs a minimum functionality level of at least 73",
            ));
        }
        return Ok(ANY_SIZE);
    }
    match parse_u32(s) {
        Some(v) if v != 0 && v != u32::MAX => Ok(v),
        _ => Err(Error::malformed(format!(
            "invalid size field '{}'",
            String::from_utf8_lossy(s)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IgnoreList;

    fn parse(layout: HashLayout, line: &str) -> (Result<LineOutcome, Error>, HashSet3, Names) {
        let ign = IgnoreList::default();
        let p = HashParser {
            layout,
            flevel: 216,
            ignore: &ign,
        };
        let (mut set, mut names) = (HashSet3::default(), Names::new());
        let r = p.parse_line(line.as_bytes(), &mut set, &mut names);
        (r, set, names)
    }

    #[test]
    fn types_by_length() {
        let (r, s, n) = parse(
            HashLayout::HashFirst,
            "44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature",
        );
        assert_eq!(r.unwrap(), LineOutcome::Added);
        assert_eq!(s.md5[0].size, 68);
        assert_eq!(s.md5[0].digest[0], 0x44);
        assert_eq!(n.get(s.md5[0].name), "Eicar-Test-Signature");
        let (_, s, _) = parse(
            HashLayout::SizeFirst,
            "45056:f9b304ced34fcce3ab75c6dc58ad59e4d62177ffed35494f79f09bc4e8986c16:E",
        );
        assert_eq!(s.sha256[0].size, 45056);
        let (_, s, _) = parse(
            HashLayout::HashFirst,
            "3395856ce81f2b7382dee72602f798b642f14140:68:E:73",
        );
        assert_eq!(s.sha1.len(), 1);
    }

    #[test]
    fn wildcard_needs_level_73() {
        let (r, _, _) = parse(
            HashLayout::HashFirst,
            "44d88612fea8a8f36de82e1278abb02f:*:E",
        );
        assert!(r.is_err());
        let (r, s, _) = parse(
            HashLayout::HashFirst,
            "44d88612fea8a8f36de82e1278abb02f:*:E:73",
        );
        assert_eq!(r.unwrap(), LineOutcome::Added);
        assert_eq!(s.md5[0].size, ANY_SIZE);
    }

    #[test]
    fn level_range() {
        let sig = "44d88612fea8a8f36de82e1278abb02f:68:E";
        for (suffix, want) in [
            (":216", LineOutcome::Added),
            (":217", LineOutcome::OutOfLevel),
            (":0:38", LineOutcome::OutOfLevel),
            (":0:216", LineOutcome::Added),
            (":", LineOutcome::Added),
        ] {
            let (r, _, _) = parse(HashLayout::HashFirst, &format!("{sig}{suffix}"));
            assert_eq!(r.unwrap(), want, "{suffix}");
        }
    }

    #[test]
    fn malformed_lines() {
        for bad in [
            "44d88612fea8a8f36de82e1278abb02f:68",
            "44d88612fea8a8f36de82e1278abb02:68:E",
            "44d88612fea8a8f36de82e1278abb02g:68:E",
            "44d88612fea8a8f36de82e1278abb02f:0:E",
            "44d88612fea8a8f36de82e1278abb02f:-1:E",
            "44d88612fea8a8f36de82e1278abb02f:68:",
            "44d88612fea8a8f36de82e1278abb02f:68:E:1:2:3",
            "44d88612fea8a8f36de82e1278abb02f:68:E:x",
            "44d88612fea8a8f36de82e1278abb02f:+68:E",
            "44d88612fea8a8f36de82e1278abb02f:68:\u{fffd}\u{0}:x:1",
            "44d88612fea8a8f36de82e1278abb02f:4294967296:E",
        ] {
            assert!(parse(HashLayout::HashFirst, bad).0.is_err(), "{bad}");
        }
        for ok in ["", "# comment", "\r"] {
            assert_eq!(
                parse(HashLayout::HashFirst, ok).0.unwrap(),
                LineOutcome::Comment
            );
        }
    }
}
