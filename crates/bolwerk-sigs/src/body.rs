//! Body signatures (`.ndb`): byte patterns with wildcards, at an offset,
//! for a file type.
//!
//! A line is `NAME:TARGET:OFFSET:HEXSIG[:MINFL[:MAXFL]]`. The pattern
//! language (ClamAV's "body-based signature content format"):
//!
//! | syntax | meaning |
//! | --- | --- |
//! | `4d5a` | bytes in hex |
//! | `??` | any byte |
//! | `a?` `?a` | a byte whose high (low) nibble is `a` |
//! | `*` | any number of bytes |
//! | `{n}` `{-n}` `{n-}` `{n-m}` | exactly n, at most n, at least n, n to m bytes |
//! | `[n-m]` | n to m bytes (m ≤ 32), next to a single byte on one side |
//! | `(aa\|bbcc\|d?)` | one of the alternatives |
//! | `!(aa\|bb)` | any bytes but these (alternatives of one length) |
//! | `(B)` `(L)` `(W)` | a word boundary, a line boundary, a non-alphanumeric byte |
//!
//! Offsets: `*` (anywhere), `n`, `EOF-n`, `EP+n`/`EP-n` (from a PE's entry
//! point), `Sx+n` (from section x), `SEx` (within section x), `SL+n` (from
//! the last section), `VI` (at a key of the PE's version information); any
//! of them with `,m` floats the start over m more bytes. Every pattern needs a run of at least two known bytes to be found
//! by; one without is reported malformed.

use crate::hash::{split_fields, trim_cr};
use crate::names::{NameId, Names};
use crate::Error;

/// Largest bound of a `{n-m}` gap. ClamAV reads the numbers as C `int`s
/// (measured with 1.4.6: `{0-4000000000}` is refused, `{66232-66345}` and
/// `{-196608}` load); the matcher's work does not grow with a gap's bounds.
pub const MAX_GAP: u32 = i32::MAX as u32;
/// Most bytes a `[n-m]` range may span.
pub const MAX_SQUARE_RANGE: u32 = 32;
/// Most alternatives in one group.
pub const MAX_ALTERNATIVES: usize = 256;
/// Longest pattern, in hex characters.
pub const MAX_PATTERN_CHARS: usize = 1 << 16;

/// One byte of a pattern: matches `b` when `b & mask == value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ByteMatch {
    /// The bits to match.
    pub value: u8,
    /// Which bits matter (0xff exact, 0xf0 / 0x0f a nibble, 0 any).
    pub mask: u8,
}

impl ByteMatch {
    /// Whether `b` matches.
    pub fn matches(self, b: u8) -> bool {
        b & self.mask == self.value
    }
}

/// A boundary anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Boundary {
    /// `(B)`: between a word byte and a non-word byte, or at either end.
    Word,
    /// `(L)`: at a line end (CR or LF) or either end of the data.
    Line,
    /// `(W)`: a non-alphanumeric byte (consumes it).
    NonAlnum,
}

/// One element of a pattern.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Token {
    /// A run of single-byte matches.
    Bytes(Vec<ByteMatch>),
    /// Skip `min` to `max` bytes (`None`: any number).
    Gap {
        /// Fewest bytes.
        min: u32,
        /// Most bytes, if bounded.
        max: Option<u32>,
    },
    /// One of several byte runs (or, negated, none of them).
    Alt {
        /// The alternatives.
        alts: Vec<Vec<ByteMatch>>,
        /// `!(…)`: match any run of the same length that is none of them.
        negate: bool,
    },
    /// An anchor.
    Boundary(Boundary),
}

/// Where a match may start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Anchor {
    /// Anywhere.
    Any,
    /// From the start of the data.
    Start(u64),
    /// Before the end of the data.
    Eof(u64),
    /// From the entry point (may be negative).
    EntryPoint(i64),
    /// From the start of section `index`.
    Section(u32, u64),
    /// Anywhere within section `index`.
    SectionWhole(u32),
    /// From the start of the last section.
    LastSection(u64),
    /// `VI`: at the start of a key of the PE's version information (a
    /// `String` entry of its `VS_VERSIONINFO` resource), as ClamAV's
    /// `CLI_OFF_VERSION`.
    VersionInfo,
}

/// An offset: an anchor, and how many bytes further the start may float.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Offset {
    /// Where.
    pub anchor: Anchor,
    /// Extra bytes the start may move forward.
    pub float: u64,
}

/// One body signature.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BodySig {
    /// Its name.
    pub name: NameId,
    /// ClamAV target type (0 any, 1 PE, 2 OLE2, 3 HTML, 4 mail, 5 graphics,
    /// 6 ELF, 7 text, 9 Mach-O, 10 PDF, 11 Flash, 12 Java, …).
    pub target: u8,
    /// Where it may start.
    pub offset: Offset,
    /// What it matches.
    pub tokens: Vec<Token>,
    /// The macro group it belongs to (offset `$N`): then it names no
    /// detection itself, logical signatures' macro subsignatures use it.
    pub macro_group: Option<u8>,
}

/// Parse an offset field.
pub fn parse_offset(s: &str) -> Result<Offset, Error> {
    let bad = || Error::malformed(format!("invalid offset '{s}'"));
    let (base, float) = match s.split_once(',') {
        Some((b, f)) => (b, f.parse::<u64>().map_err(|_| bad())?),
        None => (s, 0),
    };
    let num = |t: &str| t.parse::<u64>().map_err(|_| bad());
    let anchor = if base == "*" {
        Anchor::Any
    } else if base.starts_with("VI") {
        // ClamAV compares the first two characters only.
        Anchor::VersionInfo
    } else if let Some(n) = base.strip_prefix("EOF-") {
        Anchor::Eof(num(n)?)
    } else if let Some(n) = base.strip_prefix("EP+") {
        Anchor::EntryPoint(i64::try_from(num(n)?).map_err(|_| bad())?)
    } else if let Some(n) = base.strip_prefix("EP-") {
        Anchor::EntryPoint(-i64::try_from(num(n)?).map_err(|_| bad())?)
    } else if let Some(n) = base.strip_prefix("SL+") {
        Anchor::LastSection(num(n)?)
    } else if let Some(x) = base.strip_prefix("SE") {
        Anchor::SectionWhole(u32::try_from(num(x)?).map_err(|_| bad())?)
    } else if let Some(rest) = base.strip_prefix('S') {
        let (x, n) = rest.split_once('+').ok_or_else(bad)?;
        Anchor::Section(u32::try_from(num(x)?).map_err(|_| bad())?, num(n)?)
    } else {
        Anchor::Start(num(base)?)
    };
    if anchor == Anchor::Any && float != 0 {
        return Err(bad());
    }
    Ok(Offset { anchor, float })
}

impl Offset {
    /// Whether it counts from an executable's entry point or sections.
    pub fn is_executable_relative(&self) -> bool {
        matches!(
            self.anchor,
            Anchor::EntryPoint(_)
                | Anchor::Section(..)
                | Anchor::SectionWhole(_)
                | Anchor::LastSection(_)
        )
    }
}

/// Refuse an entry-point or section offset for a target that is not an
/// executable type (PE 1, ELF 6, Mach-O 9), as ClamAV does.
pub(crate) fn check_offset_target(offset: &Offset, target: u8) -> Result<(), Error> {
    if offset.is_executable_relative() && ![1, 6, 9].contains(&target) {
        return Err(Error::malformed(format!(
            "entry-point and section offsets need an executable target type (1, 6 or 9), not {target}"
        )));
    }
    Ok(())
}

/// Parse a hex pattern.
pub fn parse_pattern(hex: &str) -> Result<Vec<Token>, Error> {
    if hex.len() > MAX_PATTERN_CHARS {
        return Err(Error::malformed("pattern too long"));
    }
    let mut p = PatternParser {
        s: hex.as_bytes(),
        i: 0,
        out: Vec::new(),
    };
    p.parse()?;
    if longest_literal(&p.out) < 2 {
        return Err(Error::malformed(
            "a body signature needs at least two consecutive known bytes",
        ));
    }
    Ok(p.out)
}

/// The longest run of exact bytes in a pattern.
pub fn longest_literal(tokens: &[Token]) -> usize {
    tokens
        .iter()
        .filter_map(|t| match t {
            Token::Bytes(b) => b.split(|m| m.mask != 0xff).map(<[ByteMatch]>::len).max(),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

struct PatternParser<'a> {
    s: &'a [u8],
    i: usize,
    out: Vec<Token>,
}

impl PatternParser<'_> {
    fn err(&self, what: &str) -> Error {
        Error::malformed(format!("{what} at character {} of the pattern", self.i + 1))
    }

    fn parse(&mut self) -> Result<(), Error> {
        while self.i < self.s.len() {
            match self.s[self.i] {
                b'*' => {
                    self.i += 1;
                    self.push_gap(0, None);
                }
                b'{' | b'[' => self.gap()?,
                b'!' if self.s.get(self.i + 1) == Some(&b'(') => {
                    self.i += 1;
                    self.group(true)?;
                }
                b'(' => self.group(false)?,
                _ => {
                    let b = self.byte()?;
                    self.push_byte(b);
                }
            }
        }
        Ok(())
    }

    fn push_byte(&mut self, b: ByteMatch) {
        if let Some(Token::Bytes(run)) = self.out.last_mut() {
            run.push(b);
        } else {
            self.out.push(Token::Bytes(vec![b]));
        }
    }

    fn push_gap(&mut self, min: u32, max: Option<u32>) {
        self.out.push(Token::Gap { min, max });
    }

    /// Two hex characters, either of which may be `?`.
    fn byte(&mut self) -> Result<ByteMatch, Error> {
        let pair = self
            .s
            .get(self.i..self.i + 2)
            .ok_or_else(|| self.err("odd hex"))?;
        let nib = |c: u8| -> Option<Option<u8>> {
            match c {
                b'?' => Some(None),
                _ => (c as char).to_digit(16).map(|d| Some(d as u8)),
            }
        };
        let (hi, lo) = match (nib(pair[0]), nib(pair[1])) {
            (Some(h), Some(l)) => (h, l),
            _ => return Err(self.err("not a hex digit")),
        };
        self.i += 2;
        Ok(ByteMatch {
            value: hi.unwrap_or(0) << 4 | lo.unwrap_or(0),
            mask: if hi.is_some() { 0xf0 } else { 0 } | if lo.is_some() { 0x0f } else { 0 },
        })
    }

    /// `{n}`, `{-n}`, `{n-}`, `{n-m}` or `[n-m]`.
    fn gap(&mut self) -> Result<(), Error> {
        let square = self.s[self.i] == b'[';
        if square && !self.beside_single_byte() {
            return Err(self.err("'[n-m]' needs a single byte on one side"));
        }
        let close = if square { b']' } else { b'}' };
        let end = self.s[self.i..]
            .iter()
            .position(|&c| c == close)
            .ok_or_else(|| self.err("unclosed range"))?;
        let body = std::str::from_utf8(&self.s[self.i + 1..self.i + end]).unwrap_or("");
        let num = |t: &str| t.parse::<u32>().ok().filter(|n| *n <= MAX_GAP);
        let (min, max) = match body.split_once('-') {
            None => (num(body), num(body)),
            Some(("", m)) => (Some(0), num(m)),
            Some((n, "")) => (num(n), None),
            Some((n, m)) => (num(n), num(m)),
        };
        let min = min.ok_or_else(|| self.err("invalid range"))?;
        let max = match (max, body.ends_with('-')) {
            (None, true) => None,
            (Some(m), _) if m >= min => Some(m),
            _ => return Err(self.err("invalid range")),
        };
        if square && max.is_none_or(|m| m > MAX_SQUARE_RANGE) {
            return Err(self.err("'[n-m]' spans at most 32 bytes"));
        }
        self.i += end + 1;
        self.push_gap(min, max);
        Ok(())
    }

    /// Whether the `[` at the cursor has a lone byte right before it or
    /// right after its `]` (ClamAV refuses it between two longer runs).
    fn beside_single_byte(&self) -> bool {
        let before = matches!(self.out.last(), Some(Token::Bytes(run)) if run.len() == 1);
        let after = self.s[self.i..]
            .iter()
            .position(|&c| c == b']')
            .map(|e| &self.s[self.i + e + 1..])
            .map(|rest| {
                rest.iter()
                    .take_while(|c| c.is_ascii_hexdigit() || **c == b'?')
                    .count()
            });
        before || after == Some(2)
    }

    /// `(…|…)`, a boundary `(B)`, `(L)`, `(W)`, or (negated) `!(…)`.
    fn group(&mut self, negate: bool) -> Result<(), Error> {
        let end = self.s[self.i..]
            .iter()
            .position(|&c| c == b')')
            .ok_or_else(|| self.err("unclosed group"))?;
        let body = &self.s[self.i + 1..self.i + end];
        let boundary = match body {
            b"B" => Some(Boundary::Word),
            b"L" => Some(Boundary::Line),
            b"W" => Some(Boundary::NonAlnum),
            _ => None,
        };
        if let (Some(b), false) = (boundary, negate) {
            self.i += end + 1;
            self.out.push(Token::Boundary(b));
            return Ok(());
        }
        let mut alts = Vec::new();
        for alt in body.split(|&c| c == b'|') {
            let mut sub = PatternParser {
                s: alt,
                i: 0,
                out: Vec::new(),
            };
            let mut run = Vec::new();
            while sub.i < alt.len() {
                run.push(sub.byte()?);
            }
            if run.is_empty() {
                return Err(self.err("empty alternative"));
            }
            alts.push(run);
        }
        if alts.len() > MAX_ALTERNATIVES {
            return Err(self.err("too many alternatives"));
        }
        if negate && alts.iter().any(|a| a.len() != alts[0].len()) {
            return Err(self.err("negated alternatives of different lengths"));
        }
        self.i += end + 1;
        self.out.push(Token::Alt { alts, negate });
        Ok(())
    }
}

/// Parses `.ndb` lines.
pub struct BodyParser<'a> {
    /// This engine's functionality level.
    pub flevel: u32,
    /// Signatures to drop.
    pub ignore: &'a crate::IgnoreList,
}

impl BodyParser<'_> {
    /// Parse one line; `Ok(None)` for comments, out-of-level and ignored
    /// lines (the reason in the outcome).
    pub fn parse_line(
        &self,
        line: &[u8],
        names: &mut Names,
    ) -> Result<(crate::LineOutcome, Option<BodySig>), Error> {
        use crate::LineOutcome::*;
        let line = trim_cr(line);
        if line.is_empty() || line[0] == b'#' {
            return Ok((Comment, None));
        }
        let mut f: [&[u8]; 6] = [&[]; 6];
        let n = split_fields(line, &mut f).ok_or_else(|| {
            Error::malformed("too many ':' fields for a body signature (at most 6)")
        })?;
        if n < 4 {
            return Err(Error::malformed("a body signature needs 4 ':' fields"));
        }
        fn text(b: &[u8]) -> Result<&str, Error> {
            std::str::from_utf8(b)
                .map_err(|_| Error::malformed("signature line is not valid UTF-8"))
        }
        let level = |b: &[u8]| -> Result<Option<u32>, Error> {
            match text(b)? {
                "" => Ok(None),
                t => t
                    .parse()
                    .map(Some)
                    .map_err(|_| Error::malformed(format!("invalid functionality level '{t}'"))),
            }
        };
        let (min_fl, max_fl) = (level(f[4])?, level(f[5])?);
        if min_fl.is_some_and(|m| self.flevel < m) || max_fl.is_some_and(|m| self.flevel > m) {
            return Ok((OutOfLevel, None));
        }
        let name = text(f[0])?;
        if name.is_empty() {
            return Err(Error::malformed("empty signature name"));
        }
        let target = match text(f[1])? {
            "*" => 0,
            t => t
                .parse::<u8>()
                .map_err(|_| Error::malformed(format!("invalid target type '{t}'")))?,
        };
        let (offset, macro_group) = match text(f[2])?.strip_prefix('$') {
            Some(g) => {
                let g = g.parse::<u8>().map_err(|_| {
                    Error::malformed(format!("invalid macro group '${g}' (0 to 255)"))
                })?;
                (parse_offset("*")?, Some(g))
            }
            None => (parse_offset(text(f[2])?)?, None),
        };
        check_offset_target(&offset, target)?;
        let tokens = parse_pattern(text(f[3])?)?;
        if self.ignore.ignores(name, line) {
            return Ok((Ignored, None));
        }
        let name = names
            .push(name)
            .ok_or_else(|| Error::malformed("too many signature names"))?;
        Ok((
            Added,
            Some(BodySig {
                name,
                target,
                offset,
                tokens,
                macro_group,
            }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(bytes: &[u8]) -> Vec<ByteMatch> {
        bytes
            .iter()
            .map(|&b| ByteMatch {
                value: b,
                mask: 0xff,
            })
            .collect()
    }

    #[test]
    fn pattern_syntax() {
        let t = parse_pattern("4d5a??a?{2-4}(0102|03)*!(ff)(B)[1-3]0a*0b0c").unwrap();
        assert_eq!(
            t[0],
            Token::Bytes(vec![
                ByteMatch {
                    value: 0x4d,
                    mask: 0xff
                },
                ByteMatch {
                    value: 0x5a,
                    mask: 0xff
                },
                ByteMatch { value: 0, mask: 0 },
                ByteMatch {
                    value: 0xa0,
                    mask: 0xf0
                },
            ])
        );
        assert_eq!(
            t[1],
            Token::Gap {
                min: 2,
                max: Some(4)
            }
        );
        assert_eq!(
            t[2],
            Token::Alt {
                alts: vec![exact(&[1, 2]), exact(&[3])],
                negate: false
            }
        );
        assert_eq!(t[3], Token::Gap { min: 0, max: None });
        assert_eq!(
            t[4],
            Token::Alt {
                alts: vec![exact(&[0xff])],
                negate: true
            }
        );
        assert_eq!(t[5], Token::Boundary(Boundary::Word));
        assert_eq!(
            t[6],
            Token::Gap {
                min: 1,
                max: Some(3)
            }
        );
        assert_eq!(t[7], Token::Bytes(exact(&[0x0a])));
        assert_eq!(
            parse_pattern("aabb{-5}cc").unwrap()[1],
            Token::Gap {
                min: 0,
                max: Some(5)
            }
        );
        assert_eq!(
            parse_pattern("aabb{5-}cc").unwrap()[1],
            Token::Gap { min: 5, max: None }
        );
        assert_eq!(
            parse_pattern("aabb{66232-66345}cc").unwrap()[1],
            Token::Gap {
                min: 66232,
                max: Some(66345)
            }
        );
        assert_eq!(
            parse_pattern("aabb{5}cc").unwrap()[1],
            Token::Gap {
                min: 5,
                max: Some(5)
            }
        );
    }

    #[test]
    fn malformed_patterns() {
        for bad in [
            "",
            "a",
            "4d5",
            "zz11",
            "aabb{5-2}cc",
            "aabb{x}",
            "aabb(cc",
            "aa??bb",
            "!(aa|bbcc)aabb",
            "aabb()",
            "aabbccdd[1-4]aabbccdd",
            "aabbcc[1-40]dd",
            "aabb{0-4000000000}cc",
        ] {
            assert!(parse_pattern(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn offsets() {
        let o = |s| parse_offset(s).unwrap();
        assert_eq!(
            o("*"),
            Offset {
                anchor: Anchor::Any,
                float: 0
            }
        );
        assert_eq!(
            o("100"),
            Offset {
                anchor: Anchor::Start(100),
                float: 0
            }
        );
        assert_eq!(
            o("100,20"),
            Offset {
                anchor: Anchor::Start(100),
                float: 20
            }
        );
        assert_eq!(
            o("EOF-10"),
            Offset {
                anchor: Anchor::Eof(10),
                float: 0
            }
        );
        assert_eq!(
            o("EP-4"),
            Offset {
                anchor: Anchor::EntryPoint(-4),
                float: 0
            }
        );
        assert_eq!(
            o("EP+0,8"),
            Offset {
                anchor: Anchor::EntryPoint(0),
                float: 8
            }
        );
        assert_eq!(
            o("S2+16"),
            Offset {
                anchor: Anchor::Section(2, 16),
                float: 0
            }
        );
        assert_eq!(
            o("SE1"),
            Offset {
                anchor: Anchor::SectionWhole(1),
                float: 0
            }
        );
        assert_eq!(
            o("SL+4"),
            Offset {
                anchor: Anchor::LastSection(4),
                float: 0
            }
        );
        for bad in ["", "x", "EOF+3", "*,4", "S2", "EP+x", "-1"] {
            assert!(parse_offset(bad).is_err(), "{bad}");
        }
    }
}
