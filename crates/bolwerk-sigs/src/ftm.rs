//! File type magic (`.ftm`): rules that type objects, as ClamAV's
//! `daily.ftm` does.
//!
//! A line is `MAGICTYPE:OFFSET:MAGIC:NAME:REQUIRED:TYPE[:MINFL[:MAXFL]]`:
//! * magic type 0: the bytes `MAGIC` (hex) at the decimal `OFFSET`;
//! * magic type 1: the body pattern `MAGIC` (as in `.ndb`) anywhere in the
//!   first bytes ClamAV types by (`OFFSET` `*`, or where it must start),
//!   applied to objects typed as text or binary data only;
//! * magic type 4: partition types (not read: counted as unsupported).
//!
//! `REQUIRED` is the type an object must have for a type-1 rule to apply
//! (`CL_TYPE_ANY`: any), `TYPE` the type it then gets; `NAME` describes it.
//! Rules are data: no field is executed or looked up elsewhere.

use crate::body::{parse_pattern, Token};
use crate::hash::{field_text, out_of_level, split_fields, trim_cr};
use crate::loader::note;
use crate::names::Names;
use crate::{Error, LineOutcome};

/// Where a rule looks.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Magic {
    /// Type 0: these bytes at this offset.
    At {
        /// Offset from the start of the object.
        offset: u64,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Type 1: a body pattern, starting anywhere or at one offset.
    Pattern {
        /// Where it must start (`None`: anywhere).
        offset: Option<u64>,
        /// The pattern.
        tokens: Vec<Token>,
    },
}

/// One file type rule.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FtmRule {
    /// What to look for.
    pub magic: Magic,
    /// Its description (ClamAV logs "Recognized NAME file").
    pub name: String,
    /// The type an object must have for the rule to apply (`CL_TYPE_ANY`).
    pub required: String,
    /// The type the object gets.
    pub result: String,
}

/// Longest magic accepted, in bytes (ClamAV's type buffer is 1 KiB).
const MAX_MAGIC: usize = 1024;

/// Parses `.ftm` lines.
pub struct FtmParser {
    /// This engine's functionality level.
    pub flevel: u32,
}

impl FtmParser {
    /// Parse one line; `Ok(None)` for comments, out-of-level and
    /// unsupported (partition) rules.
    pub fn parse_line(
        &self,
        line: &[u8],
        _names: &mut Names,
    ) -> Result<(LineOutcome, Option<FtmRule>), Error> {
        let line = trim_cr(line);
        if line.is_empty() || line[0] == b'#' {
            return Ok((LineOutcome::Comment, None));
        }
        let mut f: [&[u8]; 8] = [&[]; 8];
        let n = split_fields(line, &mut f)
            .ok_or_else(|| Error::malformed("too many ':' fields (at most 8)"))?;
        if n < 6 {
            return Err(Error::malformed("a file type rule needs 6 ':' fields"));
        }
        let text = |i: usize| field_text(f[i]);
        if out_of_level(self.flevel, f[6], f[7])? {
            return Ok((LineOutcome::OutOfLevel, None));
        }
        let (offset, magic) = (text(1)?, text(2)?);
        let bad_offset = || Error::malformed(format!("invalid offset '{offset}'"));
        let magic = match text(0)? {
            "0" => {
                let hex = magic.as_bytes();
                if hex.is_empty() || hex.len() % 2 != 0 || hex.len() > 2 * MAX_MAGIC {
                    return Err(Error::malformed(
                        "magic bytes must be 1 to 1024 bytes in hex",
                    ));
                }
                let mut bytes = vec![0u8; hex.len() / 2];
                crate::hex::decode_into(hex, &mut bytes)
                    .ok_or_else(|| Error::malformed(format!("invalid magic bytes '{magic}'")))?;
                Magic::At {
                    offset: offset.parse().map_err(|_| bad_offset())?,
                    bytes,
                }
            }
            "1" => Magic::Pattern {
                offset: match offset {
                    "*" => None,
                    o => Some(o.parse().map_err(|_| bad_offset())?),
                },
                tokens: parse_pattern(magic)?,
            },
            "4" => return Ok((LineOutcome::Unsupported(note::FTM_PARTITION), None)),
            t => return Err(Error::malformed(format!("unknown magic type '{t}'"))),
        };
        let cl_type = |i: usize| -> Result<String, Error> {
            let t = text(i)?;
            let ok = t.starts_with("CL_TYPE_")
                && t.len() <= 40
                && t[8..]
                    .bytes()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_');
            ok.then(|| t.to_string())
                .ok_or_else(|| Error::malformed(format!("invalid type '{t}'")))
        };
        let rule = FtmRule {
            magic,
            name: text(3)?.to_string(),
            required: cl_type(4)?,
            result: cl_type(5)?,
        };
        Ok((LineOutcome::Added, Some(rule)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<(LineOutcome, Option<FtmRule>), Error> {
        FtmParser { flevel: 216 }.parse_line(line.as_bytes(), &mut Names::default())
    }

    #[test]
    fn rules() {
        let (o, r) = parse("0:0:504b0304:ZIP:CL_TYPE_ANY:CL_TYPE_ZIP").unwrap();
        assert_eq!(o, LineOutcome::Added);
        let r = r.unwrap();
        assert_eq!(
            r.magic,
            Magic::At {
                offset: 0,
                bytes: b"PK\x03\x04".to_vec()
            }
        );
        assert_eq!(
            (r.required.as_str(), r.result.as_str()),
            ("CL_TYPE_ANY", "CL_TYPE_ZIP")
        );
        let (_, r) = parse("1:*:3c68746d6c:HTML:CL_TYPE_ANY:CL_TYPE_HTML:10").unwrap();
        assert!(matches!(
            r.unwrap().magic,
            Magic::Pattern { offset: None, .. }
        ));
        assert_eq!(
            parse("0:0:4142:X:CL_TYPE_ANY:CL_TYPE_ZIP:999").unwrap().0,
            LineOutcome::OutOfLevel
        );
        assert_eq!(
            parse("4:1024:482B0004:HFS+:CL_TYPE_PART_ANY:CL_TYPE_PART_HFSPLUS")
                .unwrap()
                .0,
            LineOutcome::Unsupported(note::FTM_PARTITION)
        );
        assert_eq!(parse("# comment").unwrap().0, LineOutcome::Comment);
        for bad in [
            "0:0:4142:X:CL_TYPE_ANY",
            "2:0:4142:X:CL_TYPE_ANY:CL_TYPE_ZIP",
            "0:x:4142:X:CL_TYPE_ANY:CL_TYPE_ZIP",
            "0:0:41z2:X:CL_TYPE_ANY:CL_TYPE_ZIP",
            "0:0::X:CL_TYPE_ANY:CL_TYPE_ZIP",
            "0:0:4142:X:ANY:CL_TYPE_ZIP",
            "1:*:41{:X:CL_TYPE_ANY:CL_TYPE_ZIP",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
