//! signature-base's IOC files, as Loki and THOR read them:
//!
//! - `hash-iocs.txt`: `HASH;COMMENT`, the hash MD5, SHA-1 or SHA-256 by its
//!   length;
//! - `filename-iocs.txt`: `REGEX;SCORE[;FALSE-POSITIVE-REGEX]`, each regex
//!   over a file's whole path; a `#` line sets the description of the lines
//!   after it;
//! - `c2-iocs.txt`: a domain or IPv4 address per line, optionally
//!   `;SCORE`; `#` lines describe as in filename IOCs.
//!
//! Fields are split at `;` as Loki splits them. Regexes are compiled when
//! the set is indexed (see [`crate::IndicatorsBuilder`]), where one that the
//! `regex` crate refuses is reported with its file and line.

use std::net::Ipv4Addr;

use crate::error::{malformed, Error};
use crate::feed::{Entry, Feed, FILENAME_REGEX};
use crate::pattern::Comparison;

/// Which of the three files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IocKind {
    /// `HASH;COMMENT`
    Hash,
    /// `REGEX;SCORE[;FP-REGEX]`
    Filename,
    /// `DOMAIN-OR-IP[;SCORE]`
    C2,
}

impl IocKind {
    /// The kind a file name names, as Loki decides it (`hash`, `filename`,
    /// `c2` in the name).
    pub fn from_name(name: &str) -> Option<IocKind> {
        let n = name.to_ascii_lowercase();
        if !n.ends_with(".txt") {
            return None;
        }
        if n.contains("filename") {
            Some(IocKind::Filename)
        } else if n.contains("hash") {
            Some(IocKind::Hash)
        } else if n.contains("c2") {
            Some(IocKind::C2)
        } else {
            None
        }
    }

    fn family(self) -> &'static str {
        match self {
            IocKind::Hash => "IOC.Hash",
            IocKind::Filename => "IOC.Filename",
            IocKind::C2 => "IOC.C2",
        }
    }
}

/// Read one IOC file. Returns the feed and the lines that were refused
/// (with their line numbers).
pub fn read(text: &str, kind: IocKind) -> (Feed, Vec<Error>) {
    let mut feed = Feed {
        families: vec![kind.family().to_string()],
        entries: Vec::new(),
    };
    let mut errors = Vec::new();
    let mut note: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            let c = c.trim();
            if !c.is_empty() {
                note = Some(c.to_string());
            }
            continue;
        }
        let lineno = i as u64 + 1;
        match parse_line(line, kind, note.as_deref()) {
            Ok(mut e) => {
                e.line = Some(lineno);
                feed.entries.push(e);
            }
            Err(e) => errors.push(e.with_line(lineno)),
        }
    }
    (feed, errors)
}

/// Parse one line that is neither blank nor a comment.
pub fn parse_line(line: &str, kind: IocKind, note: Option<&str>) -> Result<Entry, Error> {
    let mut fields = line.split(';');
    let first = fields.next().unwrap_or_default().trim();
    let second = fields.next().map(str::trim);
    let third = fields.next().map(str::trim).filter(|s| !s.is_empty());
    let (path, value, score, note) = match kind {
        IocKind::Hash => {
            let path = hash_path(first)?;
            (
                path,
                first.to_ascii_lowercase(),
                None,
                second.map(str::to_string),
            )
        }
        IocKind::Filename => {
            let score = score(second.ok_or_else(|| malformed("no score (REGEX;SCORE)"))?)?;
            if first.is_empty() {
                return Err(malformed("empty regex"));
            }
            (
                FILENAME_REGEX,
                first.to_string(),
                Some(score),
                note.map(str::to_string),
            )
        }
        IocKind::C2 => {
            let score = second.filter(|s| !s.is_empty()).map(score).transpose()?;
            (
                c2_path(first)?,
                first.to_ascii_lowercase(),
                score,
                note.map(str::to_string),
            )
        }
    };
    Ok(Entry {
        id: String::new(),
        family: 0,
        any: vec![vec![Comparison {
            path: path.to_string(),
            value,
        }]],
        score,
        note,
        false_positive: third
            .filter(|_| kind == IocKind::Filename)
            .map(str::to_string),
        line: None,
    })
}

fn hash_path(h: &str) -> Result<&'static str, Error> {
    if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed(format!("'{h}' is not a hexadecimal hash")));
    }
    match h.len() {
        32 => Ok("file:hashes.md5"),
        40 => Ok("file:hashes.sha1"),
        64 => Ok("file:hashes.sha256"),
        n => Err(malformed(format!(
            "a hash of {n} hex digits (MD5 has 32, SHA-1 40, SHA-256 64)"
        ))),
    }
}

fn c2_path(v: &str) -> Result<&'static str, Error> {
    if v.parse::<Ipv4Addr>().is_ok() {
        return Ok("ipv4-addr:value");
    }
    let host_like = !v.is_empty()
        && v.contains('.')
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
    if host_like {
        Ok("domain-name:value")
    } else {
        Err(malformed(format!(
            "'{v}' is neither a domain nor an IPv4 address"
        )))
    }
}

fn score(s: &str) -> Result<u8, Error> {
    match s.parse::<u8>() {
        Ok(n) if n <= 100 => Ok(n),
        _ => Err(malformed(format!(
            "score '{s}' is not a number from 0 to 100"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_names() {
        assert_eq!(IocKind::from_name("hash-iocs.txt"), Some(IocKind::Hash));
        assert_eq!(
            IocKind::from_name("my-filename-iocs.txt"),
            Some(IocKind::Filename)
        );
        assert_eq!(IocKind::from_name("c2-iocs.txt"), Some(IocKind::C2));
        assert_eq!(IocKind::from_name("keywords.txt"), None);
        assert_eq!(IocKind::from_name("hash-iocs.csv"), None);
    }

    #[test]
    fn lines() {
        let text = "# header\n\n0c2674c3a97c53082187d930efb645c2;DEEP PANDA\nxyz;bad\nAABB;short\n";
        let (feed, errs) = read(text, IocKind::Hash);
        assert_eq!(feed.entries.len(), 1);
        assert_eq!(feed.entries[0].any[0][0].path, "file:hashes.md5");
        assert_eq!(feed.entries[0].note.as_deref(), Some("DEEP PANDA"));
        assert_eq!(feed.entries[0].line, Some(3));
        let lines: Vec<_> = errs.iter().map(|e| e.line()).collect();
        assert_eq!(lines, [Some(4), Some(5)]);

        let text = "# Regin\n\\\\usbclass\\.sys;80\n(?i)\\\\x\\.exe;50;(?i)SysInternals\nnoscore\n";
        let (feed, errs) = read(text, IocKind::Filename);
        assert_eq!(feed.entries.len(), 2);
        assert_eq!(feed.entries[0].note.as_deref(), Some("Regin"));
        assert_eq!(feed.entries[0].score, Some(80));
        assert_eq!(
            feed.entries[1].false_positive.as_deref(),
            Some("(?i)SysInternals")
        );
        assert_eq!(errs[0].line(), Some(4));

        let text = "# Snowman\nSuRoot.com\n58.64.143.244;65\nnot a host\n";
        let (feed, errs) = read(text, IocKind::C2);
        let got: Vec<_> = feed
            .entries
            .iter()
            .map(|e| {
                (
                    e.any[0][0].path.as_str(),
                    e.any[0][0].value.as_str(),
                    e.score,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("domain-name:value", "suroot.com", None),
                ("ipv4-addr:value", "58.64.143.244", Some(65))
            ]
        );
        assert_eq!(errs.len(), 1);
    }
}
