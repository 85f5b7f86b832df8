//! Matching body signatures and the pattern subsignatures of logical
//! signatures: one multi-pattern pass, then verification.
//!
//! Each pattern contributes one *atom*: up to four exact bytes, the most
//! selective window of the exact runs in the part of its pattern before the
//! first unbounded gap (`*`). All atoms
//! go into one Aho-Corasick automaton; a buffer is scanned once, and only
//! where an atom occurs is its signature verified — from each start the
//! bounded gaps before the atom allow, token by token, with a step budget
//! so that no pattern can make verification run away. The start must also
//! satisfy the signature's offset and the object its target type.
//! Atoms of case-insensitive (`::i`) subsignatures go into a second
//! automaton that ignores ASCII case. A body signature is reported once;
//! for a subsignature every match start is kept, since logical
//! expressions count them.
//!
//! Signatures without such an atom (nothing but wildcards before a `*`)
//! cannot be found by this pass and are counted as not matched.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use bolwerk_sigs::{Anchor, BodySig, Boundary, ByteMatch, NameId, Offset, Token};

/// Steps of verification one candidate may take.
const STEP_BUDGET: u32 = 200_000;
/// Steps of verification one object may take in all: a pattern whose atom
/// occurs everywhere cannot make a scan run away.
const OBJECT_BUDGET: u64 = 20_000_000;

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
}

/// Who a compiled pattern belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
}

/// Match starts kept per subsignature or macro group for macro
/// subsignatures.
pub(crate) const MAX_EVENTS: usize = 4096;

struct Compiled {
    pat: Pattern,
    /// Fewest and most bytes between the match start and the atom.
    prefix: (u64, u64),
    /// The pattern's length when it is its atom: found means matched,
    /// nothing to verify.
    literal: Option<usize>,
}

/// One automaton and the patterns each of its atoms belongs to.
struct Atoms {
    automaton: AhoCorasick,
    /// Patterns per automaton pattern.
    owners: Vec<Vec<u32>>,
}

/// The compiled patterns.
pub(crate) struct BodyMatcher {
    sigs: Vec<Compiled>,
    /// Atoms that must match exactly, and atoms matched without regard to
    /// ASCII case (from `::i` subsignatures).
    exact: Option<Atoms>,
    caseless: Option<Atoms>,
}

impl std::fmt::Debug for BodyMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BodyMatcher({} patterns)", self.sigs.len())
    }
}

#[derive(Default)]
struct AtomTable {
    ids: HashMap<Vec<u8>, usize>,
    patterns: Vec<Vec<u8>>,
    owners: Vec<Vec<u32>>,
}

impl AtomTable {
    fn add(&mut self, atom: Vec<u8>, owner: u32) {
        let id = *self.ids.entry(atom.clone()).or_insert_with(|| {
            self.patterns.push(atom);
            self.owners.push(Vec::new());
            self.patterns.len() - 1
        });
        self.owners[id].push(owner);
    }

    fn build(self, caseless: bool) -> Option<Atoms> {
        (!self.patterns.is_empty()).then(|| Atoms {
            automaton: AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(caseless)
                .dense_depth(DENSE_DEPTH)
                .build(&self.patterns)
                .expect("atoms are plain byte strings"),
            owners: self.owners,
        })
    }
}

impl BodyMatcher {
    /// Compile; returns the matcher and the owners of the patterns it
    /// cannot find (no literal before the first `*`).
    pub(crate) fn build(patterns: Vec<Pattern>) -> (BodyMatcher, Vec<Owner>) {
        let (mut exact, mut caseless) = (AtomTable::default(), AtomTable::default());
        let mut sigs = Vec::with_capacity(patterns.len());
        let mut unmatchable = Vec::new();
        for pat in patterns {
            let Some(atom) = choose_atom(&pat.tokens) else {
                unmatchable.push(pat.owner);
                continue;
            };
            let table = if atom.caseless {
                &mut caseless
            } else {
                &mut exact
            };
            let literal = match &pat.tokens[..] {
                [Token::Bytes(run)] if run.len() == atom.bytes.len() => Some(run.len()),
                _ => None,
            };
            table.add(atom.bytes, sigs.len() as u32);
            sigs.push(Compiled {
                pat,
                prefix: atom.prefix,
                literal,
            });
        }
        let (exact, caseless) = rayon::join(|| exact.build(false), || caseless.build(true));
        let m = BodyMatcher {
            sigs,
            exact,
            caseless,
        };
        (m, unmatchable)
    }

    /// Patterns compiled (body signatures and subsignatures).
    pub(crate) fn len(&self) -> usize {
        self.sigs.len()
    }

    /// Every body signature that matches `data` (stopping after the first
    /// unless `all`) and every match of every logical subsignature.
    pub(crate) fn scan(&self, data: &[u8], ctx: &ObjectContext, all: bool) -> BodyHits {
        let mut scan = Pass {
            m: self,
            data,
            ctx,
            all,
            spent: 0,
            hits: BodyHits::default(),
            seen: Vec::new(),
            last: HashMap::new(),
            subs: HashMap::new(),
        };
        for atoms in [&self.exact, &self.caseless].into_iter().flatten() {
            if scan.run(atoms) {
                break;
            }
        }
        let mut hits = scan.hits;
        for v in hits.events.values_mut().chain(hits.groups.values_mut()) {
            v.sort_unstable();
            v.dedup();
        }
        hits.bodies.sort_unstable_by_key(|h| h.0);
        hits.subs = scan.subs.into_values().collect();
        hits.subs.sort_unstable();
        hits
    }
}

/// One scan of one object.
struct Pass<'a> {
    m: &'a BodyMatcher,
    data: &'a [u8],
    ctx: &'a ObjectContext,
    all: bool,
    spent: u64,
    hits: BodyHits,
    /// Body signatures already found.
    seen: Vec<u32>,
    /// Per subsignature pattern: the last match start counted (atoms are
    /// met in order, so starts only grow).
    last: HashMap<u32, u64>,
    /// Matches per (signature, subsignature).
    subs: HashMap<(u32, u8), SubHits>,
}

impl Pass<'_> {
    /// Run one automaton; `true` when the scan may stop (first match).
    fn run(&mut self, atoms: &Atoms) -> bool {
        for m in atoms.automaton.find_overlapping_iter(self.data) {
            if self.spent >= OBJECT_BUDGET {
                return true;
            }
            for &s in &atoms.owners[m.pattern().as_usize()] {
                if self.candidate(s, m.start()) && !self.all {
                    return true;
                }
            }
        }
        false
    }

    /// Verify pattern `s` around an atom at `atom_pos`; `true` when a body
    /// signature was found.
    fn candidate(&mut self, s: u32, atom_pos: usize) -> bool {
        let c = &self.m.sigs[s as usize];
        match c.pat.owner {
            Owner::Body(name) => {
                if self.seen.contains(&s) {
                    return false;
                }
                let Some(start) = self.starts(c, atom_pos).next() else {
                    return false;
                };
                self.seen.push(s);
                self.hits.bodies.push((name, start));
                true
            }
            Owner::Macro(group) => {
                let starts: Vec<u64> = self.starts(c, atom_pos).collect();
                let kept = self.hits.groups.entry(group).or_default();
                for start in starts {
                    if kept.len() < MAX_EVENTS {
                        kept.push(start);
                    }
                }
                false
            }
            Owner::Sub {
                lsig, sub, events, ..
            } => {
                let starts: Vec<u64> = self.starts(c, atom_pos).collect();
                if events {
                    let kept = self.hits.events.entry((lsig, sub)).or_default();
                    kept.extend(starts.iter().take(MAX_EVENTS.saturating_sub(kept.len())));
                }
                for start in starts {
                    let last = self.last.get(&s).copied();
                    if last.is_some_and(|l| start <= l) {
                        continue;
                    }
                    self.last.insert(s, start);
                    let h = self.subs.entry((lsig, sub)).or_insert(SubHits {
                        lsig,
                        sub,
                        count: 0,
                        first: start,
                        last: start,
                    });
                    h.count = h.count.saturating_add(1);
                    h.first = h.first.min(start);
                    h.last = h.last.max(start);
                }
                false
            }
        }
    }

    /// The match starts of `c` whose atom lies at `atom_pos`.
    fn starts<'s>(
        &'s mut self,
        c: &'s Compiled,
        atom_pos: usize,
    ) -> impl Iterator<Item = u64> + 's {
        let (data, ctx) = (self.data, self.ctx);
        let range = (c.pat.target == 0 || c.pat.target == ctx.target)
            .then(|| start_range(&c.pat.offset, data.len() as u64, ctx))
            .flatten()
            .and_then(|(lo, hi)| {
                let atom_pos = atom_pos as u64;
                let first = atom_pos.saturating_sub(c.prefix.1).max(lo);
                let last = atom_pos.checked_sub(c.prefix.0)?.min(hi);
                Some(first..=last)
            });
        let range = range.into_iter().flatten();
        let spent = &mut self.spent;
        let mut budget = STEP_BUDGET;
        range.filter(move |&start| {
            if let Some(len) = c.literal {
                return whole_word(c.pat.owner, data, start as usize, start as usize + len);
            }
            if budget == 0 {
                return false;
            }
            let before = budget;
            let end = matches_at(&c.pat.tokens, data, start as usize, &mut budget);
            *spent += u64::from(before - budget);
            end.is_some_and(|end| whole_word(c.pat.owner, data, start as usize, end))
        })
    }
}

/// Whether a `::f` match is delimited by non-alphanumeric bytes.
fn whole_word(owner: Owner, data: &[u8], start: usize, end: usize) -> bool {
    let Owner::Sub {
        fullword: true,
        wide,
        ..
    } = owner
    else {
        return true;
    };
    let word = |i: Option<usize>| {
        i.and_then(|i| data.get(i))
            .is_some_and(u8::is_ascii_alphanumeric)
    };
    let before = if wide {
        start.checked_sub(2).filter(|i| data.get(i + 1) == Some(&0))
    } else {
        start.checked_sub(1)
    };
    !word(before) && !word(Some(end))
}

/// An atom: the bytes to find a pattern by.
struct Atom {
    bytes: Vec<u8>,
    /// Found without regard to ASCII case.
    caseless: bool,
    /// Fewest and most bytes between the match start and the atom.
    prefix: (u64, u64),
}

/// Whether a pattern byte can be part of an atom: exact, or a letter of
/// either case.
fn atom_byte(m: &ByteMatch) -> bool {
    m.mask == 0xff || (m.mask == 0xdf && m.value.is_ascii_uppercase())
}

/// The best atom in the part of a pattern before its first `*`, and the
/// fewest and most bytes before it.
fn choose_atom(tokens: &[Token]) -> Option<Atom> {
    let mut best: Option<Atom> = None;
    let (mut min, mut max) = (0u64, 0u64);
    for t in tokens {
        match t {
            Token::Bytes(run) => {
                let mut i = 0;
                while i < run.len() {
                    let len = run[i..].iter().take_while(|m| atom_byte(m)).count();
                    if len >= 2 {
                        let window = &run[i..i + len];
                        let caseless = window.iter().any(|m| m.mask != 0xff);
                        let bytes: Vec<u8> = window.iter().map(|m| m.value).collect();
                        let (at, atom) = best_window(&bytes);
                        let better = best
                            .as_ref()
                            .is_none_or(|b| quality(atom) > quality(&b.bytes));
                        if better {
                            let skip = (i + at) as u64;
                            best = Some(Atom {
                                bytes: atom.to_vec(),
                                caseless,
                                prefix: (min + skip, max + skip),
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

/// Automaton states this close to the root get a full transition table.
/// The crate's default (3) costs up to 64 Ki tables of 256 entries with
/// hundreds of thousands of atoms; two levels keep the hot states fast.
const DENSE_DEPTH: usize = 2;

/// Longest atom taken from a pattern. Short atoms keep the automaton small
/// and quick to build (yara-x uses four bytes); verification does the rest.
const ATOM_MAX: usize = 4;

/// How selective an atom is likely to be: longer is better, and bytes that
/// fill files (0x00, 0xff, NOP, INT3, spaces) count for little.
fn quality(atom: &[u8]) -> u32 {
    atom.iter()
        .map(|&b| match b {
            0x00 | 0xff | 0x90 | 0xcc | 0x20 => 1,
            _ => 4,
        })
        .sum()
}

/// The best window of at most [`ATOM_MAX`] bytes in an exact run.
fn best_window(exact: &[u8]) -> (usize, &[u8]) {
    let n = exact.len().min(ATOM_MAX);
    (0..=exact.len() - n)
        .map(|at| (at, &exact[at..at + n]))
        .max_by_key(|(at, w)| (quality(w), std::cmp::Reverse(*at)))
        .expect("runs are at least two bytes")
}

/// The allowed match starts, inclusive, or `None` when the offset cannot
/// apply to this object.
pub(crate) fn start_range(offset: &Offset, len: u64, ctx: &ObjectContext) -> Option<(u64, u64)> {
    let base = match offset.anchor {
        Anchor::Any => return Some((0, len)),
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

/// Where a match of `tokens` starting at `pos` ends, backtracking over
/// gaps and alternatives within `budget` steps.
pub(crate) fn matches_at(
    tokens: &[Token],
    data: &[u8],
    pos: usize,
    budget: &mut u32,
) -> Option<usize> {
    if *budget == 0 {
        return None;
    }
    *budget -= 1;
    let Some((first, rest)) = tokens.split_first() else {
        return Some(pos);
    };
    match first {
        Token::Bytes(run) => run_matches(run, data, pos)
            .then(|| matches_at(rest, data, pos + run.len(), budget))
            .flatten(),
        Token::Gap { min, max } => {
            let from = pos.saturating_add(*min as usize);
            let to = match max {
                Some(m) => pos.saturating_add(*m as usize).min(data.len()),
                None => data.len(),
            };
            for p in from..=to {
                if *budget == 0 {
                    return None;
                }
                if let Some(end) = matches_at(rest, data, p, budget) {
                    return Some(end);
                }
            }
            None
        }
        Token::Alt {
            alts,
            negate: false,
        } => alts.iter().find_map(|a| {
            run_matches(a, data, pos)
                .then(|| matches_at(rest, data, pos + a.len(), budget))
                .flatten()
        }),
        Token::Alt { alts, negate: true } => {
            let n = alts[0].len();
            (pos + n <= data.len() && !alts.iter().any(|a| run_matches(a, data, pos)))
                .then(|| matches_at(rest, data, pos + n, budget))
                .flatten()
        }
        Token::Boundary(Boundary::NonAlnum) => data
            .get(pos)
            .is_some_and(|c| !c.is_ascii_alphanumeric())
            .then(|| matches_at(rest, data, pos + 1, budget))
            .flatten(),
        Token::Boundary(b) => boundary_at(*b, data, pos)
            .then(|| matches_at(rest, data, pos, budget))
            .flatten(),
    }
}

fn run_matches(run: &[ByteMatch], data: &[u8], pos: usize) -> bool {
    data.get(pos..pos + run.len())
        .is_some_and(|d| d.iter().zip(run).all(|(&b, m)| m.matches(b)))
}

fn boundary_at(b: Boundary, data: &[u8], pos: usize) -> bool {
    let (before, after) = (pos.checked_sub(1).and_then(|i| data.get(i)), data.get(pos));
    match b {
        Boundary::Word => {
            let word = |c: Option<&u8>| c.is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_');
            word(before) != word(after) || before.is_none() || after.is_none()
        }
        Boundary::Line => {
            let eol = |c: Option<&u8>| c.is_none_or(|c| *c == b'\n' || *c == b'\r');
            eol(before) || eol(after)
        }
        Boundary::NonAlnum => unreachable!("consumes a byte"),
    }
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
            containers: Vec::new(),
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
