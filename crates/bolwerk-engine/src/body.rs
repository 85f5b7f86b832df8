//! Matching body signatures and the pattern subsignatures of logical
//! signatures: one prefilter pass, then verification outward from atoms.
//!
//! Each pattern contributes one *atom*: two to four exact bytes (or, for
//! `::i` subsignatures, every case of them), the window of its part before
//! the first `*` that occurs least often in real files by the byte-pair
//! table of [`crate::rarity`]. The [`Prefilter`] finds every atom
//! occurrence in one pass; where one occurs, its patterns are checked
//! against the object's target type and their offset, then verified by
//! [`crate::verify`] outward from the atom, in work bounded by the pattern
//! and never by backtracking. A body signature is reported once; for a
//! subsignature every match start is kept, since logical expressions
//! count them.
//!
//! Verification of one object has a work budget ([`crate::verify::Work`])
//! that real signatures do not reach; when it runs out the pass stops and
//! says so ([`BodyHits::cut_short`]), and the scan is reported as cut
//! short, not clean.
//!
//! Signatures without such an atom (nothing but wildcards before a `*`)
//! cannot be found by this pass and are counted as not matched.

use std::collections::{HashMap, HashSet};

use bolwerk_sigs::{Anchor, BodySig, Boundary, ByteMatch, NameId, Offset, Token};

use std::sync::Arc;

use memmap2::Mmap;
use serde::{Deserialize, Serialize};

use crate::flat::{encode_records, Flat, Records};
use crate::pages::Pages;
use crate::prefilter::Prefilter;
use crate::verify::{verify, Matched, Memo, Plan, Work};

/// What signatures need to know about an object besides its bytes.
#[derive(Clone, Debug, Default)]
pub struct ObjectContext {
    /// ClamAV target type of the object (0: none of the specific types).
    pub target: u8,
    /// File offset of a PE's entry point.
    pub entry: Option<u64>,
    /// File ranges (start, size) of a PE's sections, in header order.
    pub sections: Vec<(u64, u64)>,
    /// The types of the containers the object is in, outermost first, as
    /// ClamAV names them (`CL_TYPE_ZIP` …); empty for a file itself.
    pub containers: Vec<&'static str>,
    /// File offsets of the keys of a PE's version information strings
    /// (where `VI` subsignatures may start), sorted.
    pub version_info: Vec<u64>,
}

/// Who a compiled pattern belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Owner {
    /// A body signature: one match names it.
    Body(NameId),
    /// A subsignature of a logical signature: every match counts.
    Sub {
        /// The logical signature's index.
        lsig: u32,
        /// The subsignature's index.
        sub: u8,
        /// `::f`: delimited by non-alphanumeric bytes.
        fullword: bool,
        /// A wide (`::w`) variant: characters are two bytes.
        wide: bool,
        /// A macro subsignature follows: every match start is kept.
        events: bool,
    },
    /// A member of a macro group (an `.ndb` signature with offset `$N`):
    /// no detection itself; its match starts are kept for macro
    /// subsignatures.
    Macro(u8),
}

/// A pattern to find: a body signature or a logical subsignature.
pub(crate) struct Pattern {
    /// What it matches.
    pub(crate) tokens: Vec<Token>,
    /// Where it may start.
    pub(crate) offset: Offset,
    /// The object type it applies to (0: any).
    pub(crate) target: u8,
    /// Whose it is.
    pub(crate) owner: Owner,
}

impl From<BodySig> for Pattern {
    fn from(sig: BodySig) -> Pattern {
        Pattern {
            tokens: sig.tokens,
            offset: sig.offset,
            target: sig.target,
            owner: match sig.macro_group {
                Some(g) => Owner::Macro(g),
                None => Owner::Body(sig.name),
            },
        }
    }
}

/// The matches of one logical subsignature in one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct SubHits {
    /// The logical signature.
    pub(crate) lsig: u32,
    /// The subsignature.
    pub(crate) sub: u8,
    /// How many match starts.
    pub(crate) count: u32,
    /// The first and the last start.
    pub(crate) first: u64,
    pub(crate) last: u64,
}

/// What one pass found.
#[derive(Debug, Default)]
pub(crate) struct BodyHits {
    /// Body signatures, with their match start, in signature order.
    pub(crate) bodies: Vec<(NameId, u64)>,
    /// Matches of each logical subsignature, sorted.
    pub(crate) subs: Vec<SubHits>,
    /// Every match start of the subsignatures a macro subsignature
    /// follows, by (signature, subsignature), sorted (at most
    /// [`MAX_EVENTS`] each).
    pub(crate) events: HashMap<(u32, u8), Vec<u64>>,
    /// Every match start of each macro group's members, sorted (at most
    /// [`MAX_EVENTS`] each).
    pub(crate) groups: HashMap<u8, Vec<u64>>,
    /// Verification's work budget ran out: what was not verified is not
    /// known, so the object's scan was cut short.
    pub(crate) cut_short: bool,
    /// Verification work spent (positions examined).
    pub(crate) work: u64,
}

/// Match starts kept per subsignature or macro group for macro
/// subsignatures.
pub(crate) const MAX_EVENTS: usize = 4096;

/// A pattern ready to verify.
struct Compiled {
    offset: Offset,
    target: u8,
    owner: Owner,
    /// How to match it outward from its atom.
    plan: Plan,
    /// Fewest and most bytes between the match start and the atom.
    prefix: (u64, u64),
    /// The pattern's length when it is its atom: found means matched,
    /// nothing to verify.
    literal: Option<usize>,
}

/// A compiled pattern as an image stores it.
#[derive(Serialize, Deserialize)]
struct Stored<'a> {
    offset: Offset,
    target: u8,
    owner: Owner,
    prefix: (u64, u64),
    literal: Option<u64>,
    /// The plan: tokens, the atom's run token, its start and length.
    #[serde(borrow)]
    tokens: std::borrow::Cow<'a, [Token]>,
    atom: (u32, u32, u32),
}

impl Compiled {
    fn encode(&self) -> Vec<u8> {
        let (tokens, token, at, atom) = self.plan.parts();
        let stored = Stored {
            offset: self.offset,
            target: self.target,
            owner: self.owner,
            prefix: self.prefix,
            literal: self.literal.map(|l| l as u64),
            tokens: std::borrow::Cow::Borrowed(tokens),
            atom: (token, at, atom),
        };
        postcard::to_stdvec(&stored).expect("plain data serialises")
    }

    /// A pattern read back from an image; `None` when the bytes are not
    /// one [`Compiled::encode`] writes.
    fn decode(bytes: &[u8], _: u32) -> Option<Compiled> {
        let s: Stored<'_> = postcard::from_bytes(bytes).ok()?;
        let (token, at, atom) = s.atom;
        Some(Compiled {
            plan: Plan::checked(s.tokens.into_owned(), token, at, atom)?,
            offset: s.offset,
            target: s.target,
            owner: s.owner,
            prefix: s.prefix,
            literal: s.literal.and_then(|l| usize::try_from(l).ok()),
        })
    }
}

/// The image sections of a body matcher (see [`BodyMatcher::sections`]).
pub(crate) struct Sections {
    pub(crate) index: Vec<u8>,
    pub(crate) blob: Vec<u8>,
    pub(crate) first: Vec<u8>,
    pub(crate) late: Vec<u8>,
}

/// The compiled patterns.
pub(crate) struct BodyMatcher {
    sigs: Records<Compiled>,
    /// The atoms of the first pass.
    prefilter: Prefilter,
    /// The atoms of deferred subsignatures: a second pass over an object
    /// in which a signature with deferred subsignatures was activated.
    late: Prefilter,
    /// Those signatures, sorted, with their cover subsignatures.
    covers: Vec<(u32, Vec<u8>)>,
}

impl std::fmt::Debug for BodyMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "BodyMatcher({} patterns, {:?})",
            self.sigs.len(),
            self.prefilter
        )
    }
}

impl BodyMatcher {
    /// Compile; returns the matcher and the owners of the patterns it
    /// cannot find (no literal before the first `*`). Nothing is deferred.
    pub(crate) fn build(patterns: Vec<Pattern>) -> (BodyMatcher, Vec<Owner>) {
        BodyMatcher::build_deferring(patterns, |owners, _| {
            (vec![false; owners.len()], HashMap::new())
        })
    }

    /// Compile, asking `defer` (given every pattern's owner and atom score)
    /// which subsignature patterns the first pass may leave out, and the
    /// cover subsignatures of their signatures (see
    /// `LogicalMatcher::defer`).
    pub(crate) fn build_deferring(
        patterns: Vec<Pattern>,
        defer: impl FnOnce(&[Owner], &[Option<i32>]) -> (Vec<bool>, HashMap<u32, Vec<u8>>),
    ) -> (BodyMatcher, Vec<Owner>) {
        let chosen: Vec<Option<Atom>> = patterns.iter().map(|p| choose_atom(&p.tokens)).collect();
        let owners: Vec<Owner> = patterns.iter().map(|p| p.owner).collect();
        let scores: Vec<Option<i32>> = chosen.iter().map(|a| a.as_ref().map(|a| a.score)).collect();
        let (deferred, covers) = defer(&owners, &scores);
        let mut sigs = Vec::with_capacity(patterns.len());
        let (mut first, mut late) = (Vec::new(), Vec::new());
        let mut unmatchable = Vec::new();
        for ((pat, atom), late_one) in patterns.into_iter().zip(chosen).zip(deferred) {
            let Some(atom) = atom else {
                unmatchable.push(pat.owner);
                continue;
            };
            let literal = match &pat.tokens[..] {
                [Token::Bytes(run)] if run.len() == atom.len => Some(run.len()),
                _ => None,
            };
            let id = sigs.len() as u32;
            let atoms = if late_one { &mut late } else { &mut first };
            atoms.extend(atom.variants.into_iter().map(|v| (v, id, pat.target)));
            sigs.push(Compiled {
                plan: Plan::new(pat.tokens, atom.token, atom.at, atom.len),
                offset: pat.offset,
                target: pat.target,
                owner: pat.owner,
                prefix: atom.prefix,
                literal,
            });
        }
        let (first, late) = rayon::join(|| Prefilter::build(first), || Prefilter::build(late));
        let mut covers: Vec<(u32, Vec<u8>)> = covers.into_iter().collect();
        covers.sort_unstable();
        let m = BodyMatcher {
            sigs: Records::Built(sigs),
            prefilter: first,
            late,
            covers,
        };
        (m, unmatchable)
    }

    /// Patterns compiled (body signatures and subsignatures).
    pub(crate) fn len(&self) -> usize {
        self.sigs.len()
    }

    /// Bytes of the prefilters' tables and the patterns' index held in
    /// memory.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.prefilter.heap_bytes() + self.late.heap_bytes() + self.sigs.heap_bytes()
    }

    /// The cover subsignatures of the signatures with deferred ones.
    pub(crate) fn covers(&self) -> &[(u32, Vec<u8>)] {
        &self.covers
    }

    /// The matcher as image sections: the patterns (an index and a blob,
    /// see [`crate::flat::Records`]) and the two prefilters.
    pub(crate) fn sections(&self) -> std::io::Result<Sections> {
        let records =
            (0..self.sigs.len()).map(|i| self.sigs.get(i).map_or_else(Vec::new, Compiled::encode));
        let (index, blob) = encode_records(records);
        let (mut first, mut late) = (Vec::new(), Vec::new());
        self.prefilter.write_to(&mut first)?;
        self.late.write_to(&mut late)?;
        Ok(Sections {
            index,
            blob,
            first,
            late,
        })
    }

    /// The matcher stored in `map` at the given (offset, length) ranges of
    /// [`BodyMatcher::sections`], with `covers`: the prefilters used in
    /// place, each pattern decoded when it is first a candidate.
    pub(crate) fn mapped(
        map: &Arc<Mmap>,
        [index, blob, first, late]: [(usize, usize); 4],
        covers: Vec<(u32, Vec<u8>)>,
    ) -> Result<BodyMatcher, String> {
        let flat = |(at, len): (usize, usize)| {
            Flat::mapped(map, at, len).ok_or_else(|| "pattern table past the end".to_string())
        };
        let sigs = Records::mapped(flat(index)?, flat(blob)?, Compiled::decode)
            .ok_or("pattern index malformed")?;
        Ok(BodyMatcher {
            sigs,
            prefilter: Prefilter::mapped(map, first.0, first.1)?,
            late: Prefilter::mapped(map, late.0, late.1)?,
            covers,
        })
    }

    /// Every body signature that matches `data` (stopping after the first
    /// unless `all`) and every match of every logical subsignature.
    pub(crate) fn scan(&self, data: &[u8], ctx: &ObjectContext, all: bool) -> BodyHits {
        self.scan_paged(data, ctx, all, Pages::default(), &mut |_| {})
    }

    /// [`BodyMatcher::scan`] over an object whose sweeps hand the pages
    /// behind them to `pages`; `along` is given, in order, each part of
    /// `data` the first sweep has passed, while it is still in cache, and
    /// all of `data` only if that sweep was not stopped.
    pub(crate) fn scan_paged(
        &self,
        data: &[u8],
        ctx: &ObjectContext,
        all: bool,
        pages: Pages<'_>,
        along: &mut dyn FnMut(&[u8]),
    ) -> BodyHits {
        let mut pass = Pass {
            m: self,
            data,
            pages,
            ctx,
            hits: BodyHits::default(),
            seen: HashSet::new(),
            last: HashMap::new(),
            subs: HashMap::new(),
            memo: Memo::paged(pages),
            work: Work::for_len(data.len()),
            active: None,
        };
        let mut done = 0;
        let passed = |pos: usize| {
            along(&data[done..pos]);
            done = pos;
            pages.behind(data, pos);
        };
        let stopped = self
            .prefilter
            .scan(data, ctx.target, passed, |pos, owners| {
                for s in owners.iter() {
                    if pass.candidate(s, pos) && !all {
                        return true;
                    }
                }
                pass.work.exhausted
            });
        if !stopped && !pass.work.exhausted {
            self.second_pass(&mut pass);
        }
        let mut hits = pass.hits;
        hits.cut_short = pass.work.exhausted;
        hits.work = pass.work.spent();
        for v in hits.events.values_mut().chain(hits.groups.values_mut()) {
            v.sort_unstable();
            v.dedup();
        }
        hits.bodies.sort_unstable_by_key(|h| h.0);
        hits.subs = pass.subs.into_values().collect();
        hits.subs.sort_unstable();
        hits
    }
}

impl BodyMatcher {
    /// Look for the deferred subsignatures of the signatures whose cover
    /// matched in the first pass, if there are any.
    fn second_pass(&self, pass: &mut Pass<'_>) {
        let active: HashSet<u32> = self
            .covers
            .iter()
            .filter(|(lsig, cover)| cover.iter().any(|&s| pass.subs.contains_key(&(*lsig, s))))
            .map(|(lsig, _)| *lsig)
            .collect();
        if active.is_empty() {
            return;
        }
        pass.active = Some(active);
        let (data, pages) = (pass.data, pass.pages);
        let passed = |pos: usize| pages.behind(data, pos);
        self.late
            .scan(data, pass.ctx.target, passed, |pos, owners| {
                for s in owners.iter() {
                    pass.candidate(s, pos);
                }
                pass.work.exhausted
            });
    }
}

/// One scan of one object.
struct Pass<'a> {
    m: &'a BodyMatcher,
    data: &'a [u8],
    /// Where the sweeps hand back the pages they passed.
    pages: Pages<'a>,
    ctx: &'a ObjectContext,
    hits: BodyHits,
    /// Body signatures already found.
    seen: HashSet<u32>,
    /// Per subsignature pattern: the last match start counted (atoms are
    /// met in order, so starts only grow).
    last: HashMap<u32, u64>,
    /// Matches per (signature, subsignature).
    subs: HashMap<(u32, u8), SubHits>,
    memo: Memo<'a>,
    work: Work,
    /// In the second pass: the signatures whose deferred subsignatures are
    /// looked for.
    active: Option<HashSet<u32>>,
}

impl Pass<'_> {
    /// Verify pattern `s` around an atom at `pos`; `true` when a body
    /// signature was found.
    fn candidate(&mut self, s: u32, pos: usize) -> bool {
        let m = self.m;
        let Some(c) = m.sigs.get(s as usize) else {
            return false;
        };
        match (c.owner, &self.active) {
            (Owner::Body(_), _) if self.seen.contains(&s) => return false,
            (Owner::Sub { lsig, .. }, Some(active)) if !active.contains(&lsig) => return false,
            _ => {}
        }
        let Some(starts) = self.starts(c, s, pos) else {
            return false;
        };
        match c.owner {
            Owner::Body(name) => {
                self.seen.insert(s);
                self.hits.bodies.push((name, starts[0].0 as u64));
                true
            }
            Owner::Macro(group) => {
                let kept = self.hits.groups.entry(group).or_default();
                keep_events(kept, &starts);
                false
            }
            Owner::Sub {
                lsig, sub, events, ..
            } => {
                if events {
                    let kept = self.hits.events.entry((lsig, sub)).or_default();
                    keep_events(kept, &starts);
                }
                self.count(s, lsig, sub, &starts);
                false
            }
        }
    }

    /// Count the match starts of subsignature pattern `s`.
    fn count(&mut self, s: u32, lsig: u32, sub: u8, starts: &[(usize, usize)]) {
        for &(a, b) in starts {
            let a = a as u64;
            let b = b as u64;
            let from = match self.last.get(&s) {
                Some(&l) if l >= b => continue,
                Some(&l) => a.max(l + 1),
                None => a,
            };
            self.last.insert(s, b);
            let n = u32::try_from(b - from + 1).unwrap_or(u32::MAX);
            let h = self.subs.entry((lsig, sub)).or_insert(SubHits {
                lsig,
                sub,
                count: 0,
                first: from,
                last: b,
            });
            h.count = h.count.saturating_add(n);
            h.first = h.first.min(from);
            h.last = h.last.max(b);
        }
    }

    /// The match starts of `c` (pattern `s`) whose atom lies at `pos`, or
    /// `None` when it does not match there.
    fn starts(&mut self, c: &Compiled, s: u32, pos: usize) -> Option<Vec<(usize, usize)>> {
        let (data, ctx) = (self.data, self.ctx);
        if c.target != 0 && c.target != ctx.target {
            return None;
        }
        let (lo, hi) = start_range(&c.offset, data.len() as u64, ctx)?;
        let p = pos as u64;
        if p.saturating_sub(c.prefix.1) > hi || p.checked_sub(c.prefix.0)? < lo {
            return None;
        }
        if c.offset.anchor == Anchor::VersionInfo && ctx.version_info.is_empty() {
            return None;
        }
        let hi = usize::try_from(hi).unwrap_or(usize::MAX).min(data.len());
        let lo = usize::try_from(lo).ok()?;
        let mut matched = match c.literal {
            Some(len) => Matched {
                starts: vec![(pos, pos)],
                ends: vec![(pos.saturating_add(len), pos.saturating_add(len))],
            },
            None => verify(
                &c.plan,
                s,
                data,
                pos,
                (lo, hi),
                &mut self.memo,
                &mut self.work,
            )?,
        };
        if c.offset.anchor == Anchor::VersionInfo {
            matched.starts = at_version_info(&matched.starts, &ctx.version_info);
        }
        fullword(c.owner, data, &mut matched);
        (!matched.starts.is_empty()).then_some(matched.starts)
    }
}

/// Add match starts to a list kept for macro subsignatures.
fn keep_events(kept: &mut Vec<u64>, starts: &[(usize, usize)]) {
    for &(a, b) in starts {
        for p in a..=b {
            if kept.len() >= MAX_EVENTS {
                return;
            }
            kept.push(p as u64);
        }
    }
}

/// The starts that are keys of version information strings.
fn at_version_info(starts: &[(usize, usize)], keys: &[u64]) -> Vec<(usize, usize)> {
    keys.iter()
        .map(|&k| k as usize)
        .filter(|k| starts.iter().any(|&(a, b)| a <= *k && *k <= b))
        .map(|k| (k, k))
        .collect()
}

/// For a `::f` subsignature, keep the starts after a non-alphanumeric byte,
/// and none unless some end is before one.
fn fullword(owner: Owner, data: &[u8], m: &mut Matched) {
    let Owner::Sub {
        fullword: true,
        wide,
        ..
    } = owner
    else {
        return;
    };
    let word = |i: Option<usize>| {
        i.and_then(|i| data.get(i))
            .is_some_and(u8::is_ascii_alphanumeric)
    };
    let before = |start: usize| {
        if wide {
            start.checked_sub(2).filter(|i| data.get(i + 1) == Some(&0))
        } else {
            start.checked_sub(1)
        }
    };
    let end_ok = m.ends.iter().any(|&(a, b)| (a..=b).any(|e| !word(Some(e))));
    let mut kept = Vec::new();
    if end_ok {
        for &(a, b) in &m.starts {
            kept.extend((a..=b).filter(|&s| !word(before(s))).map(|s| (s, s)));
        }
    }
    m.starts = kept;
}

/// An atom: the bytes to find a pattern by.
struct Atom {
    /// The bytes, in every case for a caseless atom.
    variants: Vec<Vec<u8>>,
    len: usize,
    /// Where: the run token, and the byte in it.
    token: usize,
    at: usize,
    /// Fewest and most bytes between the match start and the atom.
    prefix: (u64, u64),
    /// How rare it is (higher is better).
    score: i32,
}

/// Whether a pattern byte can be part of an atom: exact, or a letter of
/// either case.
fn atom_byte(m: &ByteMatch) -> bool {
    m.mask == 0xff || (m.mask == 0xdf && m.value.is_ascii_uppercase())
}

/// Longest atom taken from a pattern (yara-x uses four bytes too); the
/// prefilter's tables are made for two to four.
const ATOM_MAX: usize = 4;

/// The best atom in the part of a pattern before its first `*`, and the
/// fewest and most bytes before it.
fn choose_atom(tokens: &[Token]) -> Option<Atom> {
    let mut best: Option<Atom> = None;
    let (mut min, mut max) = (0u64, 0u64);
    for (ti, t) in tokens.iter().enumerate() {
        match t {
            Token::Bytes(run) => {
                let mut i = 0;
                while i < run.len() {
                    let len = run[i..].iter().take_while(|m| atom_byte(m)).count();
                    if len >= 2 {
                        let (at, score) = best_window(&run[i..i + len]);
                        if best.as_ref().is_none_or(|b| score > b.score) {
                            let at = i + at;
                            let n = len.min(ATOM_MAX);
                            let skip = at as u64;
                            best = Some(Atom {
                                variants: variants(&run[at..at + n]),
                                len: n,
                                token: ti,
                                at,
                                prefix: (min + skip, max + skip),
                                score,
                            });
                        }
                    }
                    i += len.max(1);
                }
                min += run.len() as u64;
                max += run.len() as u64;
            }
            Token::Gap {
                min: a,
                max: Some(b),
            } => {
                min += u64::from(*a);
                max += u64::from(*b);
            }
            Token::Gap { max: None, .. } => break,
            Token::Alt { alts, .. } => {
                min += alts.iter().map(|a| a.len() as u64).min().unwrap_or(0);
                max += alts.iter().map(|a| a.len() as u64).max().unwrap_or(0);
            }
            Token::Boundary(Boundary::NonAlnum) => {
                min += 1;
                max += 1;
            }
            Token::Boundary(_) => {}
        }
    }
    best
}

/// The rarest window of at most [`ATOM_MAX`] bytes in a run of atom bytes,
/// and its score.
fn best_window(run: &[ByteMatch]) -> (usize, i32) {
    let n = run.len().min(ATOM_MAX);
    (0..=run.len() - n)
        .map(|at| (at, score(&run[at..at + n])))
        .max_by_key(|&(at, s)| (s, std::cmp::Reverse(at)))
        .expect("runs are at least two bytes")
}

/// How rare a window is: for a caseless one, its rarer case less a bit for
/// every letter (each doubles the strings it stands for).
fn score(window: &[ByteMatch]) -> i32 {
    let upper: Vec<u8> = window.iter().map(|m| m.value).collect();
    let letters = window.iter().filter(|m| m.mask != 0xff).count() as i32;
    if letters == 0 {
        return crate::rarity::of(&upper);
    }
    let lower = upper.to_ascii_lowercase();
    crate::rarity::of(&upper).min(crate::rarity::of(&lower)) - 8 * letters
}

/// Every string a window stands for (both cases of each caseless letter).
fn variants(window: &[ByteMatch]) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::with_capacity(window.len())];
    for m in window {
        if m.mask == 0xff {
            out.iter_mut().for_each(|v| v.push(m.value));
        } else {
            let lower = m.value.to_ascii_lowercase();
            out = out
                .into_iter()
                .flat_map(|v| {
                    let mut l = v.clone();
                    l.push(lower);
                    let mut u = v;
                    u.push(m.value);
                    [u, l]
                })
                .collect();
        }
    }
    out
}

/// The allowed match starts, inclusive, or `None` when the offset cannot
/// apply to this object.
pub(crate) fn start_range(offset: &Offset, len: u64, ctx: &ObjectContext) -> Option<(u64, u64)> {
    let base = match offset.anchor {
        Anchor::Any => return Some((0, len)),
        Anchor::VersionInfo => {
            let (first, last) = (ctx.version_info.first()?, ctx.version_info.last()?);
            return Some((*first, *last));
        }
        Anchor::Start(n) => n,
        Anchor::Eof(n) => len.checked_sub(n)?,
        Anchor::EntryPoint(d) => ctx.entry?.checked_add_signed(d)?,
        Anchor::Section(i, n) => ctx.sections.get(i as usize)?.0 + n,
        Anchor::SectionWhole(i) => {
            let (raw, size) = *ctx.sections.get(i as usize)?;
            return Some((raw, (raw + size).saturating_sub(1)));
        }
        Anchor::LastSection(n) => ctx.sections.last()?.0 + n,
    };
    Some((base, base.saturating_add(offset.float)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bolwerk_sigs::{parse_offset, parse_pattern};

    fn sig(pattern: &str, offset: &str, target: u8) -> BodySig {
        BodySig {
            name: NameId(0),
            target,
            offset: parse_offset(offset).unwrap(),
            tokens: parse_pattern(pattern).unwrap(),
            macro_group: None,
        }
    }

    fn finds(pattern: &str, offset: &str, data: &[u8]) -> Option<u64> {
        let (m, _) = BodyMatcher::build(vec![sig(pattern, offset, 0).into()]);
        m.scan(data, &ObjectContext::default(), false)
            .bodies
            .first()
            .map(|h| h.1)
    }

    #[test]
    fn syntax_elements() {
        let data = b"xxHELLO, wide world!\r\nsecond line";
        let cases: &[(&str, Option<u64>)] = &[
            ("48454c4c4f", Some(2)),
            ("4845??4c4f", Some(2)),
            ("48454c4c4?", Some(2)),
            ("48454c4c?f", Some(2)),
            ("4845{2}4f2c", Some(2)),
            ("4845{-3}4f2c", Some(2)),
            ("4845{1-}7769", Some(2)),
            ("4845{1-2}7769", None),
            ("48454c4c4f*776f726c64", Some(2)),
            ("4845(4c|58)4c4f", Some(2)),
            ("4845(5858|4c4c)4f", Some(2)),
            ("4845!(58)4c4f", Some(2)),
            ("4845!(4c)4c4f", None),
            ("(B)48454c4c4f", None),
            ("(B)776964", Some(9)),
            ("2177(W)", None),
            ("776f726c6421(L)", Some(14)),
            ("6c696e65(L)", Some(29)),
            ("4845[1-3]4f", Some(2)),
        ];
        for (pattern, want) in cases {
            assert_eq!(finds(pattern, "*", data), *want, "{pattern}");
        }
    }

    #[test]
    fn offsets_and_targets() {
        let data = b"0123456789abcdef";
        assert_eq!(finds("3031", "0", data), Some(0));
        assert_eq!(finds("3132", "0", data), None);
        assert_eq!(finds("3132", "0,1", data), Some(1));
        assert_eq!(finds("6566", "EOF-2", data), Some(14));
        assert_eq!(finds("6566", "EOF-3", data), None);
        assert_eq!(finds("6566", "EOF-99", data), None);
        let (m, _) = BodyMatcher::build(vec![sig("3031", "*", 1).into()]);
        assert!(m
            .scan(data, &ObjectContext::default(), false)
            .bodies
            .is_empty());
        let pe = ObjectContext {
            target: 1,
            entry: Some(4),
            sections: vec![(2, 4), (8, 8)],
            ..ObjectContext::default()
        };
        assert_eq!(m.scan(data, &pe, false).bodies.len(), 1);
        for (offset, want) in [
            ("EP+0", true),
            ("EP-1", false),
            ("S1+0", true),
            ("SE0", false),
            ("SL+0", true),
        ] {
            let (m, _) = BodyMatcher::build(vec![sig(
                if offset == "EP+0" { "3435" } else { "3839" },
                offset,
                0,
            )
            .into()]);
            assert_eq!(
                !m.scan(data, &pe, false).bodies.is_empty(),
                want,
                "{offset}"
            );
        }
    }

    #[test]
    fn runaway_patterns_stop_within_the_budget() {
        let data = vec![b'a'; 100_000];
        assert_eq!(finds("6161{0-}{0-}{0-}6262", "*", &data), None);
    }
}
