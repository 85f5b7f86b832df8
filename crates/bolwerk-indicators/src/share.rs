//! Indicators as STIX 2.1 objects, so a scan's sightings can be shared
//! with the indicators they sight.
//!
//! An indicator read from a STIX feed keeps its id; one read from a
//! line-based feed (signature-base, whose lines have no id) gets a
//! deterministic one, a name-based UUID (version 5, RFC 4122 §4.3) of its
//! feed, line and values, so two scans of the same feed sight the same
//! indicator. The pattern is written back from what was parsed: one
//! observation per conjunction, joined by `OR`; filename regexes use
//! STIX's `MATCHES` on the custom object path [`FILENAME_REGEX`].
//!
//! [`FILENAME_REGEX`]: crate::FILENAME_REGEX

use sha1::{Digest, Sha1};

use crate::feed::Key;
use crate::set::{Indicators, Term};

/// The namespace of the name-based ids given to line-based indicators
/// (a random UUID, fixed once).
const NAMESPACE: [u8; 16] = [
    0x6b, 0x1f, 0x3c, 0x9e, 0x52, 0xa4, 0x4d, 0x0b, 0x8e, 0x27, 0xf1, 0x90, 0x3a, 0x6c, 0xd5, 0x18,
];

/// An indicator as a STIX 2.1 `indicator` object needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StixIndicator {
    /// `indicator--…`: the feed's id, or a name-based one.
    pub id: String,
    /// The detection name of its family.
    pub name: String,
    /// Its pattern, in STIX patterning.
    pub pattern: String,
    /// The feed file it came from.
    pub source: String,
}

impl Indicators {
    /// The indicator reported as `id` (a [`Match`](crate::Match)'s
    /// `indicator`), as a STIX object.
    pub fn stix_indicator(&self, id: &str) -> Option<StixIndicator> {
        let ind = self.by_id(id)?;
        let pattern = pattern_text(&ind.any);
        let stix_id = if id.starts_with("indicator--") {
            id.to_string()
        } else {
            format!("indicator--{}", uuid5(&format!("{id}\n{pattern}")))
        };
        let fam = &self.families[ind.family];
        Some(StixIndicator {
            id: stix_id,
            name: fam.name.clone(),
            pattern,
            source: self.sources[fam.source].path.clone(),
        })
    }
}

/// The STIX pattern of a disjunction of conjunctions.
fn pattern_text(any: &[Vec<Term>]) -> String {
    let obs: Vec<String> = any
        .iter()
        .map(|conj| {
            let cmps: Vec<String> = conj.iter().map(comparison).collect();
            format!("[{}]", cmps.join(" AND "))
        })
        .collect();
    obs.join(" OR ")
}

fn comparison(t: &Term) -> String {
    let op = if t.key == Key::FilenameRegex {
        "MATCHES"
    } else {
        "="
    };
    let value = t.value.replace('\\', "\\\\").replace('\'', "\\'");
    format!("{} {op} '{value}'", t.path)
}

/// A name-based (version 5) UUID of `name`, in a namespace of bolwerk's own.
pub fn uuid5(name: &str) -> String {
    let mut h = Sha1::new();
    h.update(NAMESPACE);
    h.update(name.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h.finalize()[..16]);
    uuid_text(b, 5)
}

/// A random (version 4) UUID, from the kernel's random source (the time,
/// should that be unreadable).
pub fn uuid4() -> String {
    let mut b = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b));
    if read.is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        b.copy_from_slice(&t.to_le_bytes());
    }
    uuid_text(b, 4)
}

/// RFC 4122 text of 16 bytes, with the version and variant bits set.
fn uuid_text(mut b: [u8; 16], version: u8) -> String {
    b[6] = (b[6] & 0x0f) | (version << 4);
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern;

    fn term(path: &str, value: &str) -> Term {
        Term {
            key: Key::of(path),
            path: path.into(),
            value: value.into(),
        }
    }

    #[test]
    fn patterns_round_trip_through_the_parser() {
        let any = vec![
            vec![
                term("file:name", r"it's a \ name"),
                term("file:hashes.sha256", "ab"),
            ],
            vec![term("domain-name:value", "x.com")],
        ];
        let text = pattern_text(&any);
        assert_eq!(
            text,
            r"[file:name = 'it\'s a \\ name' AND file:hashes.sha256 = 'ab'] OR [domain-name:value = 'x.com']"
        );
        let back = pattern::parse(&text).unwrap();
        assert_eq!(back.any[0][0].value, r"it's a \ name");
        assert_eq!(back.any[1][0].path, "domain-name:value");
        let re = pattern_text(&[vec![term(crate::FILENAME_REGEX, r"\\x\.exe")]]);
        assert_eq!(
            re,
            r"[x-signature-base:filename_regex MATCHES '\\\\x\\.exe']"
        );
    }

    #[test]
    fn name_based_ids_are_stable_and_version_5() {
        let a = uuid5("hash-iocs.txt:12");
        assert_eq!(a, uuid5("hash-iocs.txt:12"));
        assert_ne!(a, uuid5("hash-iocs.txt:13"));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "5");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
        let (r1, r2) = (uuid4(), uuid4());
        assert_ne!(r1, r2);
        assert_eq!(&r1[14..15], "4");
    }
}
