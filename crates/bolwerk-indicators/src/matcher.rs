//! Matching one scanned object (a file or a member inside a container)
//! against an [`Indicators`] set, and saying why each indicator matched.
//!
//! What is observed, and how it is compared (MVT's semantics where MVT has
//! the key):
//!
//! - `file:hashes.*`: the object's MD5, SHA-1, SHA-256 (only the kinds some
//!   indicator names are computed), case-insensitively;
//! - `file:name`: the object's own name (the last component of a member's
//!   name), exactly;
//! - `file:path`: the indicator's path as whole components anywhere in the
//!   object's path (`EVIDENCE/private/var/tmp/hooker` has
//!   `/private/var/tmp/hooker`); one ending in `/` matches everything below
//!   it, as MVT's prefix match does on a device's own paths;
//! - signature-base filename regexes: over the object's path as found and
//!   with `/` turned into `\`, the separator the IOCs were written for; a
//!   match of the entry's false-positive regex cancels it;
//! - domains, URLs, e-mail and IPv4 addresses: in the object's text (see
//!   [`crate::text`]), and in the text values of SQLite databases (see
//!   [`crate::sqlite`]).
//!
//! An indicator matches when every comparison of one of its conjunctions
//! matched on this object; it is reported once per object, with the first
//! place each of its comparisons matched.

use std::collections::BTreeMap;
use std::path::Path;

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::feed::Key;
use crate::set::{CRef, Indicators};
use crate::{sqlite, text};

/// The most indicators reported for one object.
pub const MAX_MATCHES_PER_OBJECT: usize = 1000;

/// Which object is being matched: the scanned file and, inside it, the
/// names of the container members that lead to the object.
#[derive(Clone, Copy, Debug)]
pub struct ObjectName<'a> {
    /// The file as the scan found it.
    pub file: &'a Path,
    /// Member names, outermost first (empty for the file itself).
    pub members: &'a [String],
}

impl ObjectName<'_> {
    /// The object's own name.
    fn base(&self) -> String {
        match self.members.last() {
            Some(m) => m.rsplit(['/', '\\']).next().unwrap_or(m).to_string(),
            None => self
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }

    /// The object's path: the file's, then each member's name after a `/`.
    fn full(&self) -> String {
        let mut s = self.file.to_string_lossy().into_owned();
        for m in self.members {
            s.push('/');
            s.push_str(m);
        }
        s
    }
}

/// One indicator that matched an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// The detection name: the family's (`Spyware.Pegasus`, `IOC.Hash`).
    pub name: String,
    /// The indicator's identity: its STIX id, or `FILE:LINE`.
    pub indicator: String,
    /// What kind of comparison matched (`indicator-domain`, …).
    pub kind: &'static str,
    /// The feed file it came from.
    pub source: String,
    /// Why: the comparison(s), what was observed, and where.
    pub detail: String,
    /// The indicator's score, when its feed gives one.
    pub score: Option<u8>,
}

/// What was seen for one comparison.
#[derive(Clone, Debug)]
struct Seen {
    observed: String,
    location: String,
}

/// Evidence gathered for one object, by indicator, conjunction, comparison.
#[derive(Default)]
pub(crate) struct Evidence {
    by: BTreeMap<u32, BTreeMap<u16, BTreeMap<u16, Seen>>>,
}

impl Evidence {
    /// Record a comparison's match unless one is recorded already (the
    /// first place is the one reported; `location` is computed only then).
    pub(crate) fn add(&mut self, r: CRef, observed: &str, location: impl FnOnce() -> String) {
        if self.by.len() >= MAX_MATCHES_PER_OBJECT && !self.by.contains_key(&r.ind) {
            return;
        }
        let comps = self.by.entry(r.ind).or_default().entry(r.conj).or_default();
        comps.entry(r.comp).or_insert_with(|| Seen {
            observed: observed.to_string(),
            location: location(),
        });
    }

    pub(crate) fn add_all(&mut self, refs: &[CRef], observed: &str, location: &dyn Fn() -> String) {
        for r in refs {
            self.add(*r, observed, location);
        }
    }
}

impl Indicators {
    /// Match an object by its name and path only (no bytes needed).
    pub fn match_name(&self, obj: ObjectName<'_>) -> Vec<Match> {
        let mut ev = Evidence::default();
        self.names_into(obj, &mut ev);
        self.resolve(ev)
    }

    /// Match an object: its name and path, its hashes, and the text in it.
    pub fn match_object(&self, obj: ObjectName<'_>, data: &[u8]) -> Vec<Match> {
        self.match_digested(obj, data, &mut |key| match key {
            Key::Md5 => Md5::digest(data).to_vec(),
            Key::Sha1 => Sha1::digest(data).to_vec(),
            _ => Sha256::digest(data).to_vec(),
        })
    }

    /// [`Indicators::match_object`] with the object's digests from
    /// `digest`, asked only for [`Key::Md5`], [`Key::Sha1`] and
    /// [`Key::Sha256`] and only when an indicator of that hash is loaded: a
    /// scanner that hashes the object for its own passes hashes it once.
    pub fn match_digested(
        &self,
        obj: ObjectName<'_>,
        data: &[u8],
        digest: &mut dyn FnMut(Key) -> Vec<u8>,
    ) -> Vec<Match> {
        let mut ev = Evidence::default();
        self.names_into(obj, &mut ev);
        self.hashes_into(digest, &mut ev);
        if sqlite::is_sqlite(data) {
            if self.has_text_keys() {
                sqlite::scan(self, data, &mut ev);
            }
        } else if self.has_text_keys() && text::looks_like_text(data) {
            text::scan(self, text::capped(data), &mut ev, &|off| {
                format!("line {}", text::line_of(data, off))
            });
        }
        self.resolve(ev)
    }

    pub(crate) fn has_text_keys(&self) -> bool {
        [Key::Domain, Key::Url, Key::Email, Key::Ipv4]
            .iter()
            .any(|k| self.has(*k))
    }

    fn names_into(&self, obj: ObjectName<'_>, ev: &mut Evidence) {
        if self.has(Key::FileName) {
            let base = obj.base();
            ev.add_all(self.lookup(Key::FileName, &base), &base, &|| "name".into());
        }
        if self.paths.is_none() && self.names.is_none() {
            return;
        }
        let full = obj.full();
        self.paths_into(&full, ev);
        self.regexes_into(&full, ev);
    }

    fn paths_into(&self, full: &str, ev: &mut Evidence) {
        let Some(m) = &self.paths else { return };
        let unix = full.replace('\\', "/");
        let b = unix.as_bytes();
        for hit in m.ac.find_overlapping_iter(&unix) {
            let v = m.values[hit.pattern().as_usize()].as_bytes();
            let starts = v.first() == Some(&b'/') || hit.start() == 0 || b[hit.start() - 1] == b'/';
            let ends = v.last() == Some(&b'/') || hit.end() == b.len() || b[hit.end()] == b'/';
            if starts && ends {
                ev.add_all(&m.refs[hit.pattern().as_usize()], &unix, &|| "path".into());
            }
        }
    }

    fn regexes_into(&self, full: &str, ev: &mut Evidence) {
        let Some(n) = &self.names else { return };
        let windows = full.replace('/', "\\");
        let forms: &[&str] = if windows == full {
            &[full]
        } else {
            &[full, &windows]
        };
        let mut hits: Vec<usize> = Vec::new();
        for f in forms {
            n.index.matches_into(f.as_bytes(), &mut hits);
        }
        hits.sort_unstable();
        hits.dedup();
        for i in hits {
            let cancelled = n.false_positive[i]
                .as_ref()
                .is_some_and(|fp| forms.iter().any(|f| fp.is_match(f.as_bytes())));
            if !cancelled {
                ev.add(n.refs[i], full, || "path".into());
            }
        }
    }

    fn hashes_into(&self, digest: &mut dyn FnMut(Key) -> Vec<u8>, ev: &mut Evidence) {
        for key in [Key::Md5, Key::Sha1, Key::Sha256] {
            if self.has(key) {
                let hex = hex(&digest(key));
                ev.add_all(self.lookup(key, &hex), &hex, &|| "content".into());
            }
        }
    }

    /// The indicators whose comparisons all matched, as reports.
    fn resolve(&self, ev: Evidence) -> Vec<Match> {
        let mut out = Vec::new();
        for (ind, conjs) in ev.by {
            let i = &self.inds[ind as usize];
            let full = conjs
                .iter()
                .find(|(c, comps)| comps.len() == i.any[**c as usize].len());
            let Some((c, comps)) = full else { continue };
            out.push(self.report(ind, *c, comps));
        }
        out
    }

    fn report(&self, ind: u32, conj: u16, comps: &BTreeMap<u16, Seen>) -> Match {
        let i = &self.inds[ind as usize];
        let terms = &i.any[conj as usize];
        let why: Vec<String> = comps
            .iter()
            .map(|(k, seen)| {
                let t = &terms[*k as usize];
                let mut s = format!("{} = '{}'", t.path, t.value);
                if !seen.observed.eq_ignore_ascii_case(&t.value) {
                    s.push_str(&format!(" matched '{}'", seen.observed));
                }
                s.push_str(&format!(" in {}", seen.location));
                s
            })
            .collect();
        let mut detail = why.join(" AND ");
        if let Some(sc) = i.score {
            detail.push_str(&format!("; score {sc}"));
        }
        if let Some(n) = &i.note {
            detail.push_str(&format!("; {n}"));
        }
        let fam = &self.families[i.family];
        Match {
            name: fam.name.clone(),
            indicator: i.id.clone(),
            kind: terms[0].key.kind(),
            source: self.sources[fam.source].path.clone(),
            detail,
            score: i.score,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}
