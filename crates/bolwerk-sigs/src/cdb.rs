//! Container metadata signatures (`.cdb`): conditions on a member of a
//! container — its name, sizes, encryption, position, CRC — rather than on
//! its bytes, so that, for instance, an encrypted `.exe` inside a zip can
//! be named without being decrypted.
//!
//! A line is `NAME:CONTAINERTYPE:CONTAINERSIZE:NAMEREGEX:SIZEINCONTAINER:
//! SIZEREAL:ISENCRYPTED:FILEPOS:RES1:RES2[:MINFL[:MAXFL]]`; `*` leaves a
//! field out, sizes and positions are `n` or `min-max`, `RES1` is the
//! member's CRC-32 in hexadecimal (zip and RAR), `RES2` is unused.

use crate::hash::{field_text, out_of_level, split_fields, trim_cr};
use crate::names::{NameId, Names};
use crate::{Error, LineOutcome};

/// Longest name regular expression, in bytes.
pub const MAX_NAME_REGEX: usize = 4096;

/// One container metadata signature.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContainerSig {
    /// Its name.
    pub name: NameId,
    /// The container's type (`CL_TYPE_ZIP` …), if given.
    pub container: Option<String>,
    /// The container's size in bytes.
    pub container_size: Option<(u64, u64)>,
    /// A regular expression the member's name must contain a match of.
    pub name_regex: Option<String>,
    /// The member's size in the container (compressed).
    pub size_in: Option<(u64, u64)>,
    /// The member's real (uncompressed) size.
    pub size_real: Option<(u64, u64)>,
    /// Whether the member is encrypted.
    pub encrypted: Option<bool>,
    /// The member's position in the container, counting from 1.
    pub position: Option<(u64, u64)>,
    /// The member's CRC-32 (zip and RAR).
    pub crc: Option<u32>,
}

/// Parses `.cdb` lines.
pub struct ContainerParser<'a> {
    /// This engine's functionality level.
    pub flevel: u32,
    /// Signatures to drop.
    pub ignore: &'a crate::IgnoreList,
}

impl ContainerParser<'_> {
    /// Parse one line; `Ok(None)` for comments and skipped lines.
    pub fn parse_line(
        &self,
        line: &[u8],
        names: &mut Names,
    ) -> Result<(LineOutcome, Option<ContainerSig>), Error> {
        let line = trim_cr(line);
        if line.is_empty() || line[0] == b'#' {
            return Ok((LineOutcome::Comment, None));
        }
        let mut f: [&[u8]; 12] = [&[]; 12];
        let n = split_fields(line, &mut f)
            .ok_or_else(|| Error::malformed("too many ':' fields (at most 12)"))?;
        if n < 10 {
            return Err(Error::malformed(
                "a container metadata signature needs 10 ':' fields",
            ));
        }
        let text = |i: usize| field_text(f[i]);
        if out_of_level(self.flevel, f[10], f[11])? {
            return Ok((LineOutcome::OutOfLevel, None));
        }
        let name = text(0)?;
        if name.is_empty() {
            return Err(Error::malformed("empty signature name"));
        }
        let sig = ContainerSig {
            name: NameId(0),
            container: field(
                text(1)?,
                |t| (t.starts_with("CL_TYPE_") && t.len() <= 64).then(|| t.to_string()),
                "container type",
            )?,
            container_size: field(text(2)?, range, "container size")?,
            name_regex: field(text(3)?, name_regex, "file name regular expression")?,
            size_in: field(text(4)?, range, "size in container")?,
            size_real: field(text(5)?, range, "real size")?,
            encrypted: field(
                text(6)?,
                |t| match t {
                    "1" => Some(true),
                    "0" => Some(false),
                    _ => None,
                },
                "encryption flag",
            )?,
            position: field(text(7)?, range, "file position")?,
            crc: field(text(8)?, |t| u32::from_str_radix(t, 16).ok(), "CRC")?,
        };
        if self.ignore.ignores(name, line) {
            return Ok((LineOutcome::Ignored, None));
        }
        let id = names
            .push(name)
            .ok_or_else(|| Error::malformed("too many signature names"))?;
        Ok((LineOutcome::Added, Some(ContainerSig { name: id, ..sig })))
    }
}

/// `*` (any), or a value `parse` accepts.
fn field<T>(t: &str, parse: impl Fn(&str) -> Option<T>, what: &str) -> Result<Option<T>, Error> {
    if t == "*" {
        return Ok(None);
    }
    parse(t)
        .map(Some)
        .ok_or_else(|| Error::malformed(format!("invalid {what} '{t}'")))
}

/// `n` or `min-max`.
fn range(t: &str) -> Option<(u64, u64)> {
    let (lo, hi) = match t.split_once('-') {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let n = t.parse().ok()?;
            (n, n)
        }
    };
    (lo <= hi).then_some((lo, hi))
}

fn name_regex(t: &str) -> Option<String> {
    (t.len() <= MAX_NAME_REGEX && regex::Regex::new(t).is_ok()).then(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<(LineOutcome, Option<ContainerSig>), Error> {
        let ign = crate::IgnoreList::default();
        let p = ContainerParser {
            flevel: crate::FLEVEL,
            ignore: &ign,
        };
        p.parse_line(line.as_bytes(), &mut Names::new())
    }

    #[test]
    fn fields() {
        let (o, s) = parse(r"Cdb.Exe:CL_TYPE_ZIP:100-2000:.*\.exe$:*:1-99:1:2:1a2b3c4d:*").unwrap();
        assert_eq!(o, LineOutcome::Added);
        let s = s.unwrap();
        assert_eq!(s.container.as_deref(), Some("CL_TYPE_ZIP"));
        assert_eq!(s.container_size, Some((100, 2000)));
        assert_eq!(s.name_regex.as_deref(), Some(r".*\.exe$"));
        assert_eq!((s.size_in, s.size_real), (None, Some((1, 99))));
        assert_eq!(
            (s.encrypted, s.position, s.crc),
            (Some(true), Some((2, 2)), Some(0x1a2b3c4d))
        );
        let (o, _) = parse("X:*:*:*:*:*:*:*:*:*:300").unwrap();
        assert_eq!(o, LineOutcome::OutOfLevel);
        for bad in [
            "X:*:*:*:*:*:*:*:*",
            "X:ZIP:*:*:*:*:*:*:*:*",
            "X:*:5-2:*:*:*:*:*:*:*",
            "X:*:*:(unclosed:*:*:*:*:*:*",
            "X:*:*:*:*:*:2:*:*:*",
            "X:*:*:*:*:*:*:*:xyz:*",
            ":*:*:*:*:*:*:*:*:*",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
