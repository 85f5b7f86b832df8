//! Matching body signatures: one multi-pattern pass, then verification.
//!
//! Each signature contributes one *atom*: up to four exact bytes, the most
//! selective window of the exact runs in the part of its pattern before the
//! first unbounded gap (`*`). All atoms
//! go into one Aho-Corasick automaton; a buffer is scanned once, and only
//! where an atom occurs is its signature verified — from each start the
//! bounded gaps before the atom allow, token by token, with a step budget
//! so that no pattern can make verification run away. The start must also
//! satisfy the signature's offset and the object its target type.
//!
//! Signatures without such an atom (nothing but wildcards before a `*`)
//! cannot be found by this pass and are counted as not matched.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use bolwerk_sigs::{Anchor, BodySig, Boundary, ByteMatch, NameId, Token};

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
}

struct Compiled {
    sig: BodySig,
    /// Fewest and most bytes between the match start and the atom.
    prefix: (u64, u64),
}

/// The compiled body signatures.
pub(crate) struct BodyMatcher {
    sigs: Vec<Compiled>,
    automaton: Option<AhoCorasick>,
    /// Signatures per automaton pattern.
    owners: Vec<Vec<u32>>,
}

impl std::fmt::Debug for BodyMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BodyMatcher({} signatures)", self.sigs.len())
    }
}

impl BodyMatcher {
    /// Compile; returns the matcher and how many signatures it cannot find.
    pub(crate) fn build(bodies: Vec<BodySig>) -> (BodyMatcher, u64) {
        let mut atoms: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut owners: Vec<Vec<u32>> = Vec::new();
        let mut sigs = Vec::with_capacity(bodies.len());
        let mut unmatchable = 0;
        for sig in bodies {
            let Some((atom, prefix)) = choose_atom(&sig.tokens) else {
                unmatchable += 1;
                continue;
            };
            let id = *atoms.entry(atom.clone()).or_insert_with(|| {
                patterns.push(atom);
                owners.push(Vec::new());
                patterns.len() - 1
            });
            owners[id].push(sigs.len() as u32);
            sigs.push(Compiled { sig, prefix });
        }
        let automaton = (!patterns.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .dense_depth(DENSE_DEPTH)
                .build(&patterns)
                .expect("atoms are plain byte strings")
        });
        (
            BodyMatcher {
                sigs,
                automaton,
                owners,
            },
            unmatchable,
        )
    }

    pub(crate) fn len(&self) -> usize {
        self.sigs.len()
    }

    /// Every signature that matches `data`, with its match start, in
    /// signature order; stops after the first unless `all`.
    pub(crate) fn scan(&self, data: &[u8], ctx: &ObjectContext, all: bool) -> Vec<(NameId, u64)> {
        let Some(ac) = &self.automaton else {
            return Vec::new();
        };
        let mut hits: Vec<(u32, u64)> = Vec::new();
        let mut spent = 0u64;
        for m in ac.find_overlapping_iter(data) {
            if spent >= OBJECT_BUDGET {
                break;
            }
            for &s in &self.owners[m.pattern().as_usize()] {
                if hits.iter().any(|h| h.0 == s) {
                    continue;
                }
                let found = self.verify(&self.sigs[s as usize], data, m.start(), ctx, &mut spent);
                if let Some(start) = found {
                    hits.push((s, start));
                    if !all {
                        return self.named(hits);
                    }
                }
            }
        }
        hits.sort_unstable();
        self.named(hits)
    }

    fn named(&self, hits: Vec<(u32, u64)>) -> Vec<(NameId, u64)> {
        hits.into_iter()
            .map(|(s, start)| (self.sigs[s as usize].sig.name, start))
            .collect()
    }

    /// The start of a match whose atom lies at `atom_pos`, if any.
    fn verify(
        &self,
        c: &Compiled,
        data: &[u8],
        atom_pos: usize,
        ctx: &ObjectContext,
        spent: &mut u64,
    ) -> Option<u64> {
        if c.sig.target != 0 && c.sig.target != ctx.target {
            return None;
        }
        let (lo, hi) = start_range(&c.sig, data.len() as u64, ctx)?;
        let atom_pos = atom_pos as u64;
        let first = atom_pos.saturating_sub(c.prefix.1).max(lo);
        let last = atom_pos.checked_sub(c.prefix.0)?.min(hi);
        let mut budget = STEP_BUDGET;
        let found = (first..=last)
            .find(|&start| matches_at(&c.sig.tokens, data, start as usize, &mut budget));
        *spent += u64::from(STEP_BUDGET - budget);
        found
    }
}

/// The longest exact run before the first `*`, and the fewest and most
/// bytes before it.
fn choose_atom(tokens: &[Token]) -> Option<(Vec<u8>, (u64, u64))> {
    let mut best: Option<(Vec<u8>, (u64, u64))> = None;
    let (mut min, mut max) = (0u64, 0u64);
    for t in tokens {
        match t {
            Token::Bytes(run) => {
                let mut i = 0;
                while i < run.len() {
                    let len = run[i..].iter().take_while(|m| m.mask == 0xff).count();
                    if len >= 2 {
                        let exact: Vec<u8> = run[i..i + len].iter().map(|m| m.value).collect();
                        let (at, atom) = best_window(&exact);
                        let better = best.as_ref().is_none_or(|b| quality(atom) > quality(&b.0));
                        if better {
                            let skip = (i + at) as u64;
                            best = Some((atom.to_vec(), (min + skip, max + skip)));
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
fn start_range(sig: &BodySig, len: u64, ctx: &ObjectContext) -> Option<(u64, u64)> {
    let base = match sig.offset.anchor {
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
    Some((base, base.saturating_add(sig.offset.float)))
}

/// Whether `tokens` match at `pos`, backtracking over gaps and
/// alternatives within `budget` steps.
fn matches_at(tokens: &[Token], data: &[u8], pos: usize, budget: &mut u32) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    let Some((first, rest)) = tokens.split_first() else {
        return true;
    };
    match first {
        Token::Bytes(run) => {
            run_matches(run, data, pos) && matches_at(rest, data, pos + run.len(), budget)
        }
        Token::Gap { min, max } => {
            let from = pos.saturating_add(*min as usize);
            let to = match max {
                Some(m) => pos.saturating_add(*m as usize).min(data.len()),
                None => data.len(),
            };
            for p in from..=to {
                if *budget == 0 {
                    return false;
                }
                if matches_at(rest, data, p, budget) {
                    return true;
                }
            }
            false
        }
        Token::Alt {
            alts,
            negate: false,
        } => alts
            .iter()
            .any(|a| run_matches(a, data, pos) && matches_at(rest, data, pos + a.len(), budget)),
        Token::Alt { alts, negate: true } => {
            let n = alts[0].len();
            pos + n <= data.len()
                && !alts.iter().any(|a| run_matches(a, data, pos))
                && matches_at(rest, data, pos + n, budget)
        }
        Token::Boundary(b) => match b {
            Boundary::NonAlnum => {
                data.get(pos).is_some_and(|c| !c.is_ascii_alphanumeric())
                    && matches_at(rest, data, pos + 1, budget)
            }
            _ => boundary_at(*b, data, pos) && matches_at(rest, data, pos, budget),
        },
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
        }
    }

    fn finds(pattern: &str, offset: &str, data: &[u8]) -> Option<u64> {
        let (m, _) = BodyMatcher::build(vec![sig(pattern, offset, 0)]);
        m.scan(data, &ObjectContext::default(), false)
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
        let (m, _) = BodyMatcher::build(vec![sig("3031", "*", 1)]);
        assert!(m.scan(data, &ObjectContext::default(), false).is_empty());
        let pe = ObjectContext {
            target: 1,
            entry: Some(4),
            sections: vec![(2, 4), (8, 8)],
        };
        assert_eq!(m.scan(data, &pe, false).len(), 1);
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
            )]);
            assert_eq!(!m.scan(data, &pe, false).is_empty(), want, "{offset}");
        }
    }

    #[test]
    fn runaway_patterns_stop_within_the_budget() {
        let data = vec![b'a'; 100_000];
        assert_eq!(finds("6161{0-}{0-}{0-}6262", "*", &data), None);
    }
}
