//! Verifying a candidate: does a pattern match around an occurrence of its
//! atom, and where does the match start?
//!
//! A pattern is split at its atom and at its unbounded gaps (`*`):
//!
//! ```text
//!   before-atom  ATOM  after-atom  *  segment 1  *  segment 2 …
//!   `------------ segment 0 -----'
//! ```
//!
//! Segment 0 is matched outward from the atom: the tokens before it
//! backwards, those after it forwards. Both walk a *set of positions*
//! (sorted, disjoint intervals) rather than backtracking, so a bounded
//! gap `{n-m}` widens the set by `m - n` and an alternative unions, and the
//! work is at most the pattern's length times the width of the widest set
//! — never exponential, whatever the pattern. The backward set is the
//! pattern's possible match starts; the forward one its possible ends.
//!
//! Each later segment needs only the smallest end of a match that starts
//! after the previous segment's smallest end (plus the `*`'s minimum):
//! whatever follows is then free to start earliest. That search runs over
//! the rest of the object, so its answer is remembered per pattern and
//! segment for the object: a later candidate asking from a position at or
//! before the remembered match gets the same answer without a search, and
//! one asking after a failed search fails at once. A frequent atom
//! therefore costs one search per segment, not one per occurrence. The
//! search reads ahead of the prefilter's sweep, so over a mapped file it
//! hands back the pages it read more than a chunk ahead of where it began
//! (see [`crate::pages`]); the sweep reads them again when it gets there.
//!
//! Every position examined counts against a [`Work`] budget for the
//! object; when it runs out verification stops and the caller reports the
//! object's scan as cut short (never as clean).

use std::collections::HashMap;

use bolwerk_sigs::{Boundary, ByteMatch, Token};

use crate::pages::{Pages, CHUNK};

/// Positions: sorted, disjoint, inclusive intervals.
type Set = Vec<(usize, usize)>;

/// Work one object may cost: positions examined.
#[derive(Debug)]
pub(crate) struct Work {
    budget: u64,
    left: u64,
    /// The budget ran out.
    pub(crate) exhausted: bool,
}

/// Work allowed per object: a base, and a share per byte scanned. Real
/// signatures on real files stay orders of magnitude below it (measured
/// in DESIGN.md); a forged pattern or a pathological file reaches it and
/// is reported.
const WORK_BASE: u64 = 1 << 28;
const WORK_PER_BYTE: u64 = 256;

impl Work {
    /// The budget of an object of `len` bytes.
    pub(crate) fn for_len(len: usize) -> Work {
        Work::new(WORK_BASE.saturating_add((len as u64).saturating_mul(WORK_PER_BYTE)))
    }

    /// A budget of `units`.
    pub(crate) fn new(units: u64) -> Work {
        Work {
            budget: units,
            left: units,
            exhausted: false,
        }
    }

    /// Units spent so far.
    pub(crate) fn spent(&self) -> u64 {
        self.budget - self.left
    }

    /// Spend `n`; `false` (and exhausted) when the budget is gone.
    #[inline]
    fn spend(&mut self, n: u64) -> bool {
        if self.left < n {
            self.left = 0;
            self.exhausted = true;
            return false;
        }
        self.left -= n;
        true
    }
}

/// One stretch of a pattern after an unbounded gap: the gap's minimum and
/// the tokens up to the next `*`.
struct Segment<'t> {
    gap: u32,
    tokens: &'t [Token],
    /// Its shortest match.
    min_len: usize,
}

/// A pattern, with where its atom lies, for matching outward from it. The
/// tokens are the pattern's own: nothing is copied per part.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    tokens: Box<[Token]>,
    /// The byte run the atom lies in, the atom's first byte in it and its
    /// length.
    token: u32,
    at: u32,
    atom: u32,
    /// The first `*` (or the number of tokens).
    star: u32,
}

impl Plan {
    /// A plan for `tokens` with the atom of `atom` bytes at byte `at` of
    /// run token `token` (which lies before the first `*`).
    pub(crate) fn new(tokens: Vec<Token>, token: usize, at: usize, atom: usize) -> Plan {
        let star = tokens
            .iter()
            .position(|t| matches!(t, Token::Gap { max: None, .. }))
            .unwrap_or(tokens.len());
        debug_assert!(matches!(tokens[token], Token::Bytes(_)) && token < star);
        Plan {
            tokens: tokens.into_boxed_slice(),
            token: token as u32,
            at: at as u32,
            atom: atom as u32,
            star: star as u32,
        }
    }

    /// A plan read back from an image: `None` unless the atom lies in a
    /// byte run before the first `*` and the tokens are ones the parser
    /// makes (non-empty alternatives, of one length when negated; gaps
    /// whose minimum is at most their maximum), so verification's own
    /// assumptions hold whatever the image says.
    pub(crate) fn checked(tokens: Vec<Token>, token: u32, at: u32, atom: u32) -> Option<Plan> {
        let sound = tokens.iter().all(|t| match t {
            Token::Alt { alts, negate } => {
                !alts.is_empty() && (!negate || alts.iter().all(|a| a.len() == alts[0].len()))
            }
            Token::Gap { min, max } => max.is_none_or(|m| *min <= m),
            _ => true,
        });
        let star = tokens
            .iter()
            .position(|t| matches!(t, Token::Gap { max: None, .. }))
            .unwrap_or(tokens.len());
        let run = match tokens.get(token as usize) {
            Some(Token::Bytes(run)) if (token as usize) < star => run,
            _ => return None,
        };
        let fits = (at as usize)
            .checked_add(atom as usize)
            .is_some_and(|end| end <= run.len());
        (sound && fits).then(|| Plan::new(tokens, token as usize, at as usize, atom as usize))
    }

    /// What [`Plan::checked`] is given back: the tokens, the atom's run
    /// token, its first byte in that run and its length.
    pub(crate) fn parts(&self) -> (&[Token], u32, u32, u32) {
        (&self.tokens, self.token, self.at, self.atom)
    }

    /// The atom's run, split: before the atom, after it.
    fn run(&self) -> (&[ByteMatch], &[ByteMatch]) {
        let Token::Bytes(run) = &self.tokens[self.token as usize] else {
            unreachable!("atoms lie in byte runs")
        };
        let (at, atom) = (self.at as usize, self.atom as usize);
        (&run[..at], &run[at + atom..])
    }

    /// The segments after each `*`. Adjacent `*`s leave empty segments:
    /// they only add their minimum.
    fn segments(&self) -> impl Iterator<Item = Segment<'_>> {
        let tokens = &self.tokens[..];
        let mut i = self.star as usize;
        std::iter::from_fn(move || {
            let Some(Token::Gap { min, max: None }) = tokens.get(i) else {
                return None;
            };
            let end = tokens[i + 1..]
                .iter()
                .position(|t| matches!(t, Token::Gap { max: None, .. }))
                .map_or(tokens.len(), |p| i + 1 + p);
            let seg = &tokens[i + 1..end];
            i = end;
            Some(Segment {
                gap: *min,
                tokens: seg,
                min_len: seg.iter().map(min_len).sum(),
            })
        })
    }
}

/// Shortest stretch a token matches.
fn min_len(t: &Token) -> usize {
    match t {
        Token::Bytes(run) => run.len(),
        Token::Gap { min, .. } => *min as usize,
        Token::Alt { alts, .. } => alts.iter().map(Vec::len).min().unwrap_or(0),
        Token::Boundary(Boundary::NonAlnum) => 1,
        Token::Boundary(_) => 0,
    }
}

/// What a later segment's search found: asked from `from`, the smallest
/// end of a match starting at `from` or later, and that match's start.
#[derive(Clone, Copy, Debug)]
struct Found {
    from: usize,
    hit: Option<(usize, usize)>,
}

/// Per-object memory of later-segment searches, by (pattern, segment).
#[derive(Debug, Default)]
pub(crate) struct Memo<'a> {
    found: HashMap<(u32, u16), Found>,
    /// Where the searches hand back the pages they read far ahead.
    pages: Pages<'a>,
}

impl<'a> Memo<'a> {
    /// The memory of the searches over an object whose pages are `pages`.
    pub(crate) fn paged(pages: Pages<'a>) -> Self {
        Memo {
            found: HashMap::new(),
            pages,
        }
    }
}

/// The match of one candidate.
#[derive(Debug)]
pub(crate) struct Matched {
    /// The possible match starts.
    pub(crate) starts: Vec<(usize, usize)>,
    /// The possible ends of segment 0, or of the last segment (then only
    /// the smallest).
    pub(crate) ends: Vec<(usize, usize)>,
}

/// Match `plan` (pattern `id`) around its atom at `pos`, with the starts
/// limited to `lo..=hi`.
pub(crate) fn verify(
    plan: &Plan,
    id: u32,
    data: &[u8],
    pos: usize,
    (lo, hi): (usize, usize),
    memo: &mut Memo<'_>,
    work: &mut Work,
) -> Option<Matched> {
    let (head, tail) = plan.run();
    let mut starts = vec![(pos, pos)];
    if !head.is_empty() {
        starts = step_run(head, &starts, data, Dir::Back, work)?;
    }
    for t in plan.tokens[..plan.token as usize].iter().rev() {
        starts = step(t, &starts, data, Dir::Back, work)?;
    }
    let starts = clip(starts, lo, hi)?;
    let end = pos + plan.atom as usize;
    let mut ends = vec![(end, end)];
    if !tail.is_empty() {
        ends = step_run(tail, &ends, data, Dir::Fwd, work)?;
    }
    for t in &plan.tokens[plan.token as usize + 1..plan.star as usize] {
        ends = step(t, &ends, data, Dir::Fwd, work)?;
    }
    for (k, seg) in plan.segments().enumerate() {
        let from = ends[0].0.saturating_add(seg.gap as usize);
        let end = search(&seg, (id, k as u16), data, from, memo, work)?;
        ends = vec![(end, end)];
    }
    Some(Matched { starts, ends })
}

/// The smallest end of a match of `seg` starting at `from` or later.
fn search(
    seg: &Segment<'_>,
    key: (u32, u16),
    data: &[u8],
    from: usize,
    memo: &mut Memo<'_>,
    work: &mut Work,
) -> Option<usize> {
    if let Some(f) = memo.found.get(&key) {
        match f.hit {
            None if from >= f.from => return None,
            Some((start, end)) if from >= f.from && from <= start => return Some(end),
            _ => {}
        }
    }
    let hit = leftmost(seg, data, from, memo.pages, work);
    if work.exhausted {
        return None;
    }
    memo.found.insert(key, Found { from, hit });
    hit.map(|(_, end)| end)
}

/// The first occurrence of `f`'s needle in `hay` (a tail of `data`), read
/// [`CHUNK`] by chunk; the chunks read more than a chunk past `from` (the
/// search's start, near the sweep) are handed back to `pages`.
fn find_ahead(
    f: &memchr::memmem::Finder<'_>,
    hay: &[u8],
    from: usize,
    data: &[u8],
    pages: Pages<'_>,
) -> Option<usize> {
    let overlap = f.needle().len().saturating_sub(1);
    let base = data.len() - hay.len();
    let mut at = 0;
    loop {
        let end = (at + CHUNK + overlap).min(hay.len());
        if let Some(i) = f.find(&hay[at..end]) {
            return Some(at + i);
        }
        if end == hay.len() {
            return None;
        }
        if base + at >= from + CHUNK {
            pages.release(&hay[at..at + CHUNK]);
        }
        at += CHUNK;
    }
}

/// The match of `seg` starting at `from` or later with the smallest end.
fn leftmost(
    seg: &Segment<'_>,
    data: &[u8],
    from: usize,
    pages: Pages<'_>,
    work: &mut Work,
) -> Option<(usize, usize)> {
    if seg.tokens.is_empty() {
        return (from <= data.len()).then_some((from, from));
    }
    let lead = match seg.tokens.first() {
        Some(Token::Bytes(run)) => exact_prefix(run),
        _ => Vec::new(),
    };
    let finder = (!lead.is_empty()).then(|| memchr::memmem::Finder::new(&lead));
    let mut best: Option<(usize, usize)> = None;
    let mut x = from;
    while x + seg.min_len <= data.len() {
        if best.is_some_and(|(_, e)| x + seg.min_len >= e) {
            break;
        }
        if let Some(f) = &finder {
            let hay = &data[x..];
            let skip = find_ahead(f, hay, from, data, pages);
            if !work.spend((skip.unwrap_or(hay.len()) as u64 >> 4) + 1) {
                return None;
            }
            match skip {
                Some(s) => x += s,
                None => break,
            }
            if best.is_some_and(|(_, e)| x + seg.min_len >= e) {
                break;
            }
        }
        let mut set = vec![(x, x)];
        for t in seg.tokens {
            match step(t, &set, data, Dir::Fwd, work) {
                Some(s) => set = s,
                None => {
                    set.clear();
                    break;
                }
            }
        }
        if work.exhausted {
            return None;
        }
        if let Some(&(e, _)) = set.first() {
            if best.is_none_or(|(_, b)| e < b) {
                best = Some((x, e));
            }
        }
        x += 1;
    }
    best
}

/// The exact bytes a run starts with.
fn exact_prefix(run: &[ByteMatch]) -> Vec<u8> {
    run.iter()
        .take_while(|m| m.mask == 0xff)
        .map(|m| m.value)
        .collect()
}

/// Limit a set of starts to `lo..=hi`; `None` when nothing is left.
fn clip(set: Set, lo: usize, hi: usize) -> Option<Set> {
    let out: Set = set
        .into_iter()
        .filter_map(|(a, b)| {
            let (a, b) = (a.max(lo), b.min(hi));
            (a <= b).then_some((a, b))
        })
        .collect();
    (!out.is_empty()).then_some(out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// Positions are where what follows starts; find where the token does.
    Back,
    /// Positions are where the token starts; find where it ends.
    Fwd,
}

/// Apply one token to a set of positions; `None` when nothing is left (or
/// the work budget ran out).
fn step(t: &Token, set: &Set, data: &[u8], dir: Dir, work: &mut Work) -> Option<Set> {
    let len = data.len();
    let mut out = Set::new();
    match t {
        Token::Gap { min, max } => {
            let (min, max) = (*min as usize, max.map(|m| m as usize));
            for &(a, b) in set {
                let iv = match dir {
                    Dir::Fwd => {
                        let lo = a.saturating_add(min);
                        let hi = max.map_or(len, |m| b.saturating_add(m)).min(len);
                        (lo <= hi).then_some((lo, hi))
                    }
                    Dir::Back => {
                        let hi = b.checked_sub(min);
                        let lo = a.saturating_sub(max.unwrap_or(usize::MAX));
                        hi.map(|hi| (lo, hi))
                    }
                };
                if let Some(iv) = iv {
                    push(&mut out, iv);
                }
            }
            if !work.spend(set.len() as u64) {
                return None;
            }
        }
        Token::Bytes(run) => runs(&[run], false, set, data, dir, &mut out, work)?,
        Token::Alt { alts, negate } => {
            let alts: Vec<&[ByteMatch]> = alts.iter().map(Vec::as_slice).collect();
            runs(&alts, *negate, set, data, dir, &mut out, work)?
        }
        Token::Boundary(Boundary::NonAlnum) => {
            each(
                set,
                work,
                |p| {
                    let at = match dir {
                        Dir::Fwd => p,
                        Dir::Back => p.checked_sub(1)?,
                    };
                    let ok = data.get(at).is_some_and(|c| !c.is_ascii_alphanumeric());
                    ok.then_some(if dir == Dir::Fwd { p + 1 } else { at })
                },
                &mut out,
            )?;
        }
        Token::Boundary(b) => {
            each(
                set,
                work,
                |p| boundary_at(*b, data, p).then_some(p),
                &mut out,
            )?;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Apply a run of byte matches (part of a run token).
fn step_run(run: &[ByteMatch], set: &Set, data: &[u8], dir: Dir, work: &mut Work) -> Option<Set> {
    let mut out = Set::new();
    runs(&[run], false, set, data, dir, &mut out, work)?;
    (!out.is_empty()).then_some(out)
}

/// Map every position of `set` through `f` into `out`.
fn each(
    set: &Set,
    work: &mut Work,
    mut f: impl FnMut(usize) -> Option<usize>,
    out: &mut Set,
) -> Option<()> {
    for &(a, b) in set {
        if !work.spend((b - a + 1) as u64) {
            return None;
        }
        for p in a..=b {
            if let Some(q) = f(p) {
                push(out, (q, q));
            }
        }
    }
    sort_merge(out);
    Some(())
}

/// Apply alternatives of byte runs (one run for a plain run; negated: any
/// bytes of the same length that match none of them).
fn runs(
    alts: &[&[ByteMatch]],
    negate: bool,
    set: &Set,
    data: &[u8],
    dir: Dir,
    out: &mut Set,
    work: &mut Work,
) -> Option<()> {
    let at = |p: usize, n: usize| match dir {
        Dir::Fwd => Some(p),
        Dir::Back => p.checked_sub(n),
    };
    let next = |p: usize, n: usize| match dir {
        Dir::Fwd => p + n,
        Dir::Back => p,
    };
    if negate {
        let n = alts[0].len();
        return each(
            set,
            work,
            |p| {
                let s = at(p, n)?;
                (s + n <= data.len() && !alts.iter().any(|a| run_matches(a, data, s)))
                    .then_some(next(s, n))
            },
            out,
        );
    }
    for &(a, b) in set {
        if !work.spend(((b - a + 1) * alts.len()) as u64) {
            return None;
        }
        for alt in alts {
            let n = alt.len();
            // A wide interval with a run that starts exactly: jump between
            // occurrences of its first byte.
            let first = alt.first().filter(|m| m.mask == 0xff).map(|m| m.value);
            let (from, to) = match dir {
                Dir::Fwd => (a, b),
                Dir::Back => match (a.checked_sub(n), b.checked_sub(n)) {
                    (Some(x), Some(y)) => (x, y),
                    (None, Some(y)) => (0, y),
                    _ => continue,
                },
            };
            let to = to.min(data.len().saturating_sub(n));
            if from > to || from + n > data.len() {
                continue;
            }
            match first {
                Some(byte) if to - from > 32 => {
                    for i in memchr::memchr_iter(byte, &data[from..=to]) {
                        let s = from + i;
                        if run_matches(alt, data, s) {
                            push(out, (next(s, n), next(s, n)));
                        }
                    }
                }
                _ => {
                    for s in from..=to {
                        if run_matches(alt, data, s) {
                            push(out, (next(s, n), next(s, n)));
                        }
                    }
                }
            }
        }
    }
    sort_merge(out);
    Some(())
}

/// Add an interval, merging with the last when they touch.
fn push(out: &mut Set, (a, b): (usize, usize)) {
    if let Some(last) = out.last_mut() {
        if a >= last.0 && a <= last.1.saturating_add(1) {
            last.1 = last.1.max(b);
            return;
        }
    }
    out.push((a, b));
}

/// Sort and merge intervals added out of order.
fn sort_merge(out: &mut Set) {
    if out.windows(2).all(|w| w[0].1 < w[1].0) {
        return;
    }
    out.sort_unstable();
    let mut merged = Set::with_capacity(out.len());
    for &iv in out.iter() {
        push(&mut merged, iv);
    }
    *out = merged;
}

/// Whether `run` matches `data` at `pos`.
pub(crate) fn run_matches(run: &[ByteMatch], data: &[u8], pos: usize) -> bool {
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
    use bolwerk_sigs::parse_pattern;

    /// Starts of `pattern` in `data` with its atom the `atom` bytes at byte
    /// `at` of token `token`, found at every occurrence of the atom.
    fn starts(pattern: &str, token: usize, at: usize, atom: usize, data: &[u8]) -> Vec<usize> {
        let tokens = parse_pattern(pattern).unwrap();
        let Token::Bytes(run) = &tokens[token] else {
            panic!()
        };
        let atom_bytes: Vec<u8> = run[at..at + atom].iter().map(|m| m.value).collect();
        let plan = Plan::new(tokens, token, at, atom);
        let mut memo = Memo::default();
        let mut work = Work::for_len(data.len());
        let mut out = Vec::new();
        for pos in memchr::memmem::find_iter(data, &atom_bytes) {
            if let Some(m) = verify(&plan, 0, data, pos, (0, data.len()), &mut memo, &mut work) {
                for (a, b) in m.starts {
                    out.extend(a..=b);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    #[test]
    fn outward_from_the_atom() {
        let d = b"..aXbcdYe..";
        assert_eq!(starts("61??626364", 0, 2, 2, d), [2], "run before the atom");
        assert_eq!(starts("61{1-3}6364", 2, 0, 2, d), [2]);
        assert_eq!(starts("61{3-4}6364", 2, 0, 2, d), []);
        assert_eq!(starts("61{1-3}626364", 2, 0, 3, d), [2]);
        assert_eq!(starts("61{0-3}(58|59)6263", 3, 0, 2, d), [2]);
        assert_eq!(starts("61{0-3}(5a|59)6263", 3, 0, 2, d), []);
        assert_eq!(starts("6162636465", 0, 1, 2, b"abcde abcdx"), [0]);
        assert_eq!(starts("2e2e{-4}6263", 2, 0, 2, d), [0]);
        assert_eq!(starts("2e2e{-4}6263", 2, 0, 2, b"..x..bc"), [0, 3]);
        assert_eq!(starts("6263!(58|59)65", 0, 0, 2, d), []);
        assert_eq!(starts("6263!(58|60)5965", 0, 0, 2, d), [4]);
    }

    #[test]
    fn later_segments_anywhere_after() {
        let d = b"abXX..cd..abYY";
        assert_eq!(starts("6162*6364", 0, 0, 2, d), [0]);
        assert_eq!(starts("6162*6364*6162", 0, 0, 2, d), [0]);
        assert_eq!(starts("6162*6364*7a7a", 0, 0, 2, d), []);
        assert_eq!(starts("6162{3-}6364", 0, 0, 2, d), [0]);
        assert_eq!(starts("6162{7-}6364", 0, 0, 2, d), []);
        assert_eq!(starts("6162*63??2e", 0, 0, 2, d), [0]);
    }

    #[test]
    fn a_later_segment_is_found_across_chunks_of_a_mapped_file() {
        use std::io::Write;
        let mut bytes = vec![0u8; 3 * CHUNK + 100];
        bytes[..2].copy_from_slice(b"ab");
        bytes[2 * CHUNK - 2..2 * CHUNK + 2].copy_from_slice(b"cdef");
        assert_eq!(starts("6162*63646566", 0, 0, 2, &bytes), [0]);
        assert_eq!(starts("6162*63646567", 0, 0, 2, &bytes), []);
        // Searched over a mapping whose pages are handed back as the
        // search passes them: the same answers.
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&bytes).unwrap();
        let map = unsafe { memmap2::Mmap::map(f.as_file()).unwrap() };
        let pages = Pages::of(&map);
        for needle in [&b"cdef"[..], b"ef", b"cdeg"] {
            let finder = memchr::memmem::Finder::new(needle);
            for from in [0, 1, CHUNK, 2 * CHUNK - 2] {
                let got = find_ahead(&finder, &map[from..], from, &map, pages);
                assert_eq!(got, memchr::memmem::find(&bytes[from..], needle));
            }
        }
    }

    /// Patterns that make a backtracking matcher take exponential time take
    /// linear work here, and answer.
    #[test]
    fn no_pattern_makes_verification_run_away() {
        let data = vec![b'a'; 200_000];
        let tokens = parse_pattern("6161{0-100}{0-100}{0-100}{0-100}{0-100}6262").unwrap();
        let plan = Plan::new(tokens, 0, 0, 2);
        let mut work = Work::for_len(data.len());
        let mut memo = Memo::default();
        for pos in 0..data.len() - 1 {
            let r = verify(&plan, 0, &data, pos, (0, data.len()), &mut memo, &mut work);
            assert!(r.is_none());
        }
        assert!(!work.exhausted);
        // A later segment is searched once, not once per candidate.
        let tokens = parse_pattern("6161*6262").unwrap();
        let plan = Plan::new(tokens, 0, 0, 2);
        let mut work = Work::new(4 * data.len() as u64);
        for pos in 0..data.len() - 1 {
            assert!(verify(&plan, 0, &data, pos, (0, data.len()), &mut memo, &mut work).is_none());
        }
        assert!(!work.exhausted);
    }

    #[test]
    fn an_exhausted_budget_is_said() {
        let data = vec![b'a'; 10_000];
        let tokens = parse_pattern("6161{0-5000}6262").unwrap();
        let plan = Plan::new(tokens, 0, 0, 2);
        let mut work = Work::new(1000);
        let mut memo = Memo::default();
        let r = verify(&plan, 0, &data, 0, (0, data.len()), &mut memo, &mut work);
        assert!(r.is_none());
        assert!(work.exhausted);
    }
}
