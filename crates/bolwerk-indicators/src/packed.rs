//! The built-in pack's form in the binary: its feeds already read, so a
//! start-up neither decompresses nor parses JSON.
//!
//! `build.rs` reads `builtin/` with this crate's own feed readers (it
//! includes their modules) and writes the feeds with [`encode`];
//! [`decode`] turns the bytes back into the same [`Feed`]s, which are then
//! indexed as any feed is (the minimum score is an option of the run, so
//! every entry is kept). Decoding the 13 feeds takes about as long as
//! reading one of them as JSON.
//!
//! The layout is little-endian and length-prefixed:
//!
//! ```text
//! "BWIND1\0\0"  u32 feeds
//! feed:  str name  u32 families  str*  u32 entries  entry*
//! entry: str id  u32 family  u8 flags  [u8 score] [str note] [str fp] [u64 line]
//!        u32 conjunctions  (u32 comparisons  (str path  str value)*)*
//! str:   u32 length, UTF-8 bytes
//! ```
//!
//! The decoder checks every length against what is left, so a damaged
//! build is refused (and reported), never read past its end.

use crate::feed::{Entry, Feed};
use crate::pattern::Comparison;

const MAGIC: &[u8; 8] = b"BWIND1\0\0";
const SCORE: u8 = 1;
const NOTE: u8 = 2;
const FALSE_POSITIVE: u8 = 4;
const LINE: u8 = 8;

/// Write feeds (name, feed) in the packed form.
#[allow(dead_code)] // by build.rs and the tests
pub(crate) fn encode(feeds: &[(String, Feed)]) -> Vec<u8> {
    let mut w = Vec::from(&MAGIC[..]);
    put_len(&mut w, feeds.len());
    for (name, feed) in feeds {
        put_str(&mut w, name);
        put_len(&mut w, feed.families.len());
        for f in &feed.families {
            put_str(&mut w, f);
        }
        put_len(&mut w, feed.entries.len());
        for e in &feed.entries {
            put_entry(&mut w, e);
        }
    }
    w
}

fn put_entry(w: &mut Vec<u8>, e: &Entry) {
    put_str(w, &e.id);
    put_len(w, e.family);
    let mut flags = 0;
    for (set, bit) in [
        (e.score.is_some(), SCORE),
        (e.note.is_some(), NOTE),
        (e.false_positive.is_some(), FALSE_POSITIVE),
        (e.line.is_some(), LINE),
    ] {
        if set {
            flags |= bit;
        }
    }
    w.push(flags);
    if let Some(s) = e.score {
        w.push(s);
    }
    if let Some(n) = &e.note {
        put_str(w, n);
    }
    if let Some(f) = &e.false_positive {
        put_str(w, f);
    }
    if let Some(l) = e.line {
        w.extend_from_slice(&l.to_le_bytes());
    }
    put_len(w, e.any.len());
    for conj in &e.any {
        put_len(w, conj.len());
        for c in conj {
            put_str(w, &c.path);
            put_str(w, &c.value);
        }
    }
}

fn put_len(w: &mut Vec<u8>, n: usize) {
    let n = u32::try_from(n).expect("a built-in feed holds fewer than 2^32 items");
    w.extend_from_slice(&n.to_le_bytes());
}

fn put_str(w: &mut Vec<u8>, s: &str) {
    put_len(w, s.len());
    w.extend_from_slice(s.as_bytes());
}

/// Read feeds back; `None` if the bytes are not a complete packed form.
pub(crate) fn decode(bytes: &[u8]) -> Option<Vec<(String, Feed)>> {
    let mut r = Reader(bytes.strip_prefix(&MAGIC[..])?);
    let n = r.len()?;
    let mut feeds = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let name = r.string()?;
        let families = (0..r.len()?)
            .map(|_| r.string())
            .collect::<Option<Vec<_>>>()?;
        let count = r.len()?;
        let mut entries = Vec::with_capacity(count.min(r.0.len()));
        for _ in 0..count {
            entries.push(r.entry()?);
        }
        feeds.push((name, Feed { families, entries }));
    }
    r.0.is_empty().then_some(feeds)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn len(&mut self) -> Option<usize> {
        let b = self.take(4)?;
        Some(u32::from_le_bytes(b.try_into().ok()?) as usize)
    }

    fn string(&mut self) -> Option<String> {
        let n = self.len()?;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).ok()
    }

    fn entry(&mut self) -> Option<Entry> {
        let id = self.string()?;
        let family = self.len()?;
        let flags = self.byte()?;
        let score = match flags & SCORE {
            0 => None,
            _ => Some(self.byte()?),
        };
        let note = match flags & NOTE {
            0 => None,
            _ => Some(self.string()?),
        };
        let false_positive = match flags & FALSE_POSITIVE {
            0 => None,
            _ => Some(self.string()?),
        };
        let line = match flags & LINE {
            0 => None,
            _ => Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?)),
        };
        let conjunctions = self.len()?;
        let mut any = Vec::with_capacity(conjunctions.min(self.0.len()));
        for _ in 0..conjunctions {
            let n = self.len()?;
            let mut conj = Vec::with_capacity(n.min(self.0.len()));
            for _ in 0..n {
                let path = self.string()?;
                let value = self.string()?;
                conj.push(Comparison { path, value });
            }
            any.push(conj);
        }
        Some(Entry {
            id,
            family,
            any,
            score,
            note,
            false_positive,
            line,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<(String, Feed)> {
        let entry = Entry {
            id: "indicator--1".into(),
            family: 0,
            any: vec![
                vec![Comparison {
                    path: "file:hashes.sha256".into(),
                    value: "ab".repeat(32),
                }],
                vec![
                    Comparison {
                        path: "domain-name:value".into(),
                        value: "example.org".into(),
                    },
                    Comparison {
                        path: "file:name".into(),
                        value: "é.exe".into(),
                    },
                ],
            ],
            score: Some(80),
            note: None,
            false_positive: Some("(?i)sysinternals".into()),
            line: Some(12),
        };
        let feed = Feed {
            families: vec!["Spyware.Pegasus".into()],
            entries: vec![
                entry.clone(),
                Entry {
                    score: None,
                    line: None,
                    ..entry
                },
            ],
        };
        vec![
            ("builtin:a.stix2".into(), feed),
            ("b".into(), Feed::default()),
        ]
    }

    fn shown(feeds: &[(String, Feed)]) -> String {
        format!("{feeds:?}")
    }

    #[test]
    fn feeds_come_back_as_they_went_in() {
        let feeds = sample();
        let bytes = encode(&feeds);
        assert_eq!(shown(&decode(&bytes).unwrap()), shown(&feeds));
    }

    #[test]
    fn every_truncation_and_every_changed_flag_byte_is_refused_or_decodes() {
        let bytes = encode(&sample());
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n]).is_none(), "truncated to {n}");
        }
        for i in 0..bytes.len() {
            for v in [0u8, 0x0f, 0xff] {
                let mut b = bytes.clone();
                b[i] = v;
                let _ = decode(&b);
            }
        }
    }

    #[test]
    fn the_built_in_pack_decodes() {
        let feeds = decode(crate::builtin::PACKED).expect("the built-in pack decodes");
        assert_eq!(feeds.len(), crate::builtin::names().count());
        let entries: usize = feeds.iter().map(|(_, f)| f.entries.len()).sum();
        assert!(entries > 17_000, "{entries} entries");
    }
}
