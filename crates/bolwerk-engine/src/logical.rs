//! Evaluating logical signatures once the body pass has run.
//!
//! Pattern subsignatures are found by the body matcher's single pass
//! (their atoms share its automata); what it reports is every match start
//! of every subsignature. Here, per object, each logical signature that
//! had a match (or whose expression holds with none) is checked against
//! its target description; then its byte compares read numbers near their
//! trigger's matches, its PCRE subsignatures run when their trigger
//! expression holds, and the expression is evaluated over the counts.
//!
//! PCRE subsignatures use PCRE2 (with its JIT when available), so
//! look-around and back-references work as in ClamAV. PCRE2's own match
//! and heap limits bound each run; matches counted per subsignature are
//! capped at [`MAX_PCRE_MATCHES`].

use bolwerk_sigs::{
    ByteCompare, CountOp, Expr, LogicalSig, NameId, NumberFormat, Offset, PcreFlags, SubSig,
    TargetDesc,
};
use std::collections::HashMap;

use pcre2::bytes::{Regex, RegexBuilder};

use crate::body::{start_range, BodyHits, ObjectContext, Owner, Pattern, SubHits};
use crate::flat::{encode_records, Flat, Records};

/// Most matches a global (`g`) PCRE subsignature counts.
pub const MAX_PCRE_MATCHES: u32 = 4096;

/// A PCRE subsignature, compiled.
struct Pcre {
    sub: u8,
    trigger: Expr,
    offset: Option<Offset>,
    flags: PcreFlags,
    regex: Regex,
}

/// One logical signature, compiled.
struct Compiled {
    name: NameId,
    target: TargetDesc,
    expr: Expr,
    subsigs: usize,
    pcre: Vec<Pcre>,
    compares: Vec<(u8, ByteCompare)>,
    macros: Vec<Macro>,
}

/// A macro subsignature, compiled.
struct Macro {
    sub: u8,
    min: u64,
    max: u64,
    group: u8,
}

/// The compiled logical signatures.
pub(crate) struct LogicalMatcher {
    sigs: Records<Compiled>,
    /// Signatures whose expression can hold with no pattern matched:
    /// evaluated for every object.
    always: Vec<u32>,
    /// The `HandlerType` of the signatures that have one.
    handlers: std::collections::HashMap<NameId, String>,
    /// When an image is to be written: each compiled signature as the
    /// image stores it (see [`LogicalMatcher::sections`]).
    stored: Vec<Vec<u8>>,
}

/// A logical signature as an image stores it: as loaded, without the
/// tokens of its pattern subsignatures (the body matcher holds those).
fn stored_form(sig: &LogicalSig) -> Vec<u8> {
    let subsigs = sig
        .subsigs
        .iter()
        .map(|sub| match sub {
            SubSig::Body {
                offset,
                fullword,
                wide_from,
                ..
            } => SubSig::Body {
                offset: *offset,
                variants: Vec::new(),
                fullword: *fullword,
                wide_from: *wide_from,
            },
            other => other.clone(),
        })
        .collect();
    let stored = LogicalSig {
        name: sig.name,
        target: sig.target.clone(),
        expr: sig.expr.clone(),
        subsigs,
    };
    postcard::to_stdvec(&stored).expect("plain data serialises")
}

/// A logical signature read back from an image and compiled (its PCRE
/// subsignatures too); `None` when the bytes are not one
/// [`stored_form`] writes, or no longer compile.
fn decode(bytes: &[u8], index: u32) -> Option<Compiled> {
    let sig: LogicalSig = postcard::from_bytes(bytes).ok()?;
    let c = compile(sig, index, &mut Vec::new()).ok()?;
    let sound = c
        .macros
        .iter()
        .all(|m| (1..c.subsigs).contains(&usize::from(m.sub)))
        && c.compares.iter().all(|(i, _)| usize::from(*i) < c.subsigs)
        && c.pcre.iter().all(|p| usize::from(p.sub) < c.subsigs);
    sound.then_some(c)
}

impl std::fmt::Debug for LogicalMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LogicalMatcher({} signatures)", self.sigs.len())
    }
}

/// Why a logical signature could not be compiled.
pub(crate) enum Refused {
    /// A PCRE subsignature does not compile.
    Pcre,
}

impl LogicalMatcher {
    /// Compile: the matcher, the patterns for the body pass, and the
    /// signatures refused.
    /// With `keep`, the signatures' stored forms are kept for
    /// [`LogicalMatcher::sections`].
    pub(crate) fn build(
        sigs: Vec<LogicalSig>,
        keep: bool,
    ) -> (LogicalMatcher, Vec<Pattern>, Vec<Refused>) {
        let mut compiled = Vec::new();
        let mut m = LogicalMatcher {
            sigs: Records::Built(Vec::new()),
            always: Vec::new(),
            handlers: HashMap::new(),
            stored: Vec::new(),
        };
        let mut patterns = Vec::new();
        let mut refused = Vec::new();
        for sig in sigs {
            let index = compiled.len() as u32;
            let (name, handler) = (sig.name, sig.target.handler.clone());
            let stored = keep.then(|| stored_form(&sig));
            match compile(sig, index, &mut patterns) {
                Ok(c) => {
                    let zeros = vec![0u32; c.subsigs];
                    if c.expr.eval(&zeros) || c.pcre.iter().any(|p| p.trigger.eval(&zeros)) {
                        m.always.push(index);
                    }
                    compiled.push(c);
                    m.stored.extend(stored);
                    if let Some(h) = handler {
                        m.handlers.insert(name, h);
                    }
                }
                Err((r, pats)) => {
                    patterns.truncate(pats);
                    refused.push(r);
                }
            }
        }
        m.sigs = Records::Built(compiled);
        (m, patterns, refused)
    }

    /// The signatures as image sections: an index and a blob (see
    /// [`crate::flat::Records`]). Built with `keep` only.
    pub(crate) fn sections(&self) -> (Vec<u8>, Vec<u8>) {
        debug_assert_eq!(self.stored.len(), self.sigs.len(), "built with keep");
        encode_records(self.stored.iter().cloned())
    }

    /// Drop the stored forms kept for an image.
    pub(crate) fn forget_stored(&mut self) {
        self.stored = Vec::new();
    }

    /// The signatures that are evaluated for every object, and the
    /// handler types: what the image keeps besides the signatures.
    pub(crate) fn always_and_handlers(&self) -> (Vec<u32>, Vec<(NameId, String)>) {
        let mut handlers: Vec<_> = self.handlers.iter().map(|(k, v)| (*k, v.clone())).collect();
        handlers.sort_unstable();
        (self.always.clone(), handlers)
    }

    /// The signatures stored as `index` and `blob` of an image, each
    /// compiled when an object first needs it.
    pub(crate) fn mapped(
        index: Flat,
        blob: Flat,
        mut always: Vec<u32>,
        handlers: Vec<(NameId, String)>,
    ) -> Option<LogicalMatcher> {
        always.sort_unstable();
        always.dedup();
        Some(LogicalMatcher {
            sigs: Records::mapped(index, blob, decode)?,
            always,
            handlers: handlers.into_iter().collect(),
            stored: Vec::new(),
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.sigs.len()
    }

    /// Which patterns the body pass may defer: given each pattern's owner
    /// and atom score (`None`: it cannot be found), the subsignatures whose
    /// atoms are common (score below [`COMMON`]) and that are not in their
    /// signature's *cover* — a set of subsignatures one of which must match
    /// for the expression to hold, the rarest such set the expression
    /// allows. They are looked for only in objects where a cover
    /// subsignature matched; without one the signature cannot match, so
    /// its common subsignatures need not be counted. Returns the deferral
    /// of each pattern and the cover of each signature with a deferred
    /// pattern.
    pub(crate) fn defer(
        &self,
        owners: &[Owner],
        scores: &[Option<i32>],
    ) -> (Vec<bool>, HashMap<u32, Vec<u8>>) {
        let mut sub_score: HashMap<(u32, u8), i32> = HashMap::new();
        for (o, s) in owners.iter().zip(scores) {
            if let Owner::Sub { lsig, sub, .. } = *o {
                let s = s.unwrap_or(i32::MAX);
                let e = sub_score.entry((lsig, sub)).or_insert(s);
                *e = (*e).min(s);
            }
        }
        let mut covers: HashMap<u32, Vec<u8>> = HashMap::new();
        let mut deferred = vec![false; owners.len()];
        for (i, (o, s)) in owners.iter().zip(scores).enumerate() {
            let Owner::Sub {
                lsig, sub, events, ..
            } = *o
            else {
                continue;
            };
            if events || s.is_none_or(|s| s >= COMMON) {
                continue;
            }
            let Some(c) = self.sigs.get(lsig as usize) else {
                continue;
            };
            if self.always.binary_search(&lsig).is_ok() || !c.macros.is_empty() {
                continue;
            }
            let cover = covers.entry(lsig).or_insert_with(|| {
                let score = |n: u8| sub_score.get(&(lsig, n)).copied().unwrap_or(i32::MAX);
                // A common cover would activate the signature in most
                // objects: then nothing is gained by a second pass.
                match c.cover(&c.expr, &score, 0) {
                    Some((set, s)) if s >= COMMON => set,
                    _ => Vec::new(),
                }
            });
            if !cover.is_empty() && !cover.contains(&sub) {
                deferred[i] = true;
            }
        }
        covers.retain(|_, c| !c.is_empty());
        (deferred, covers)
    }

    /// The `HandlerType` of a logical signature.
    pub(crate) fn handler(&self, name: NameId) -> Option<&str> {
        self.handlers.get(&name).map(String::as_str)
    }

    /// The signatures that match, given the body pass's subsignature
    /// matches; stops after the first unless `all`.
    pub(crate) fn eval(
        &self,
        data: &[u8],
        ctx: &ObjectContext,
        hits: &BodyHits,
        all: bool,
    ) -> Vec<(NameId, u64)> {
        let mut candidates: Vec<u32> = hits.subs.iter().map(|h| h.lsig).collect();
        candidates.extend(&self.always);
        candidates.sort_unstable();
        candidates.dedup();
        let mut found = Vec::new();
        for i in candidates {
            let lo = hits.subs.partition_point(|h| h.lsig < i);
            let hi = hits.subs.partition_point(|h| h.lsig <= i);
            let Some(sig) = self.sigs.get(i as usize) else {
                continue;
            };
            if let Some(at) = sig.matches(data, ctx, i, hits, lo..hi) {
                found.push((sig.name, at));
                if !all {
                    break;
                }
            }
        }
        found
    }
}

/// Compile one signature, appending its patterns; on failure, the reason
/// and how many patterns there were before it.
fn compile(
    sig: LogicalSig,
    index: u32,
    patterns: &mut Vec<Pattern>,
) -> Result<Compiled, (Refused, usize)> {
    let before = patterns.len();
    let mut c = Compiled {
        name: sig.name,
        subsigs: sig.subsigs.len(),
        target: sig.target,
        expr: sig.expr,
        pcre: Vec::new(),
        compares: Vec::new(),
        macros: Vec::new(),
    };
    for (i, sub) in sig.subsigs.into_iter().enumerate() {
        let i = i as u8;
        match sub {
            SubSig::Body {
                offset,
                variants,
                fullword,
                wide_from,
            } => {
                for (v, tokens) in variants.into_iter().enumerate() {
                    patterns.push(Pattern {
                        tokens,
                        offset,
                        target: c.target.target,
                        owner: Owner::Sub {
                            lsig: index,
                            sub: i,
                            fullword,
                            wide: v >= wide_from,
                            events: false,
                        },
                    });
                }
            }
            SubSig::Pcre {
                offset,
                trigger,
                regex,
                flags,
            } => {
                let regex = build_regex(&regex, &flags, offset.as_ref())
                    .map_err(|_| (Refused::Pcre, before))?;
                c.pcre.push(Pcre {
                    sub: i,
                    trigger,
                    offset,
                    flags,
                    regex,
                });
            }
            SubSig::ByteCompare(b) => c.compares.push((i, b)),
            SubSig::Macro { min, max, group } => {
                // The subsignature before it keeps every match start.
                for p in &mut patterns[before..] {
                    if let Owner::Sub { sub, events, .. } = &mut p.owner {
                        if *sub + 1 == i {
                            *events = true;
                        }
                    }
                }
                c.macros.push(Macro {
                    sub: i,
                    min: min.into(),
                    max: max.into(),
                    group,
                });
            }
        }
    }
    Ok(c)
}

/// The subsignatures an expression names.
fn leaves_of(e: &Expr, out: &mut Vec<u8>) {
    match e {
        Expr::Sub(n) => out.push(*n),
        Expr::And(a, b) | Expr::Or(a, b) => {
            leaves_of(a, out);
            leaves_of(b, out);
        }
        Expr::Count { expr, .. } => leaves_of(expr, out),
    }
}

/// Whether a PCRE subsignature must match right at its offset.
fn anchored(flags: &PcreFlags, offset: Option<&Offset>) -> bool {
    flags.anchored || offset.is_some_and(|o| o.float == 0 && !flags.rolling)
}

fn build_regex(
    text: &str,
    flags: &PcreFlags,
    offset: Option<&Offset>,
) -> Result<Regex, pcre2::Error> {
    let mut pattern = String::with_capacity(text.len() + 16);
    if flags.ungreedy {
        pattern.push_str("(?U)");
    }
    if anchored(flags, offset) {
        pattern.push_str("\\G");
    }
    pattern.push_str("(?:");
    if flags.dollar_endonly && !flags.multiline {
        pattern.push_str(&dollar_end_only(text));
    } else {
        pattern.push_str(text);
    }
    pattern.push(')');
    RegexBuilder::new()
        .caseless(flags.caseless)
        .dotall(flags.dotall)
        .multi_line(flags.multiline)
        .extended(flags.extended)
        .jit_if_available(true)
        .build(&pattern)
}

/// PCRE's `DOLLAR_ENDONLY` (ClamAV's flag `E`), which the `pcre2` crate
/// does not expose: every `$` that is an assertion (not escaped, not in a
/// character class, not quoted with `\Q…\E`) becomes `\z`, which matches
/// only at the very end, not before a final newline.
fn dollar_end_only(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut class = false;
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            out.push(c);
            if c == '\\' && chars.peek() == Some(&'E') {
                out.extend(chars.next());
                quoted = false;
            }
            continue;
        }
        match c {
            '\\' => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                    quoted = n == 'Q';
                }
            }
            '[' if !class => {
                class = true;
                out.push(c);
                // A `]` (after an optional `^`) first in a class is literal.
                if chars.peek() == Some(&'^') {
                    out.extend(chars.next());
                }
                if chars.peek() == Some(&']') {
                    out.extend(chars.next());
                }
            }
            '[' if chars.peek() == Some(&':') => {
                // A POSIX class such as `[:alpha:]` inside a class.
                out.push(c);
                for n in chars.by_ref() {
                    out.push(n);
                    if n == ']' {
                        break;
                    }
                }
            }
            ']' if class => {
                class = false;
                out.push(c);
            }
            '$' if !class => out.push_str("\\z"),
            _ => out.push(c),
        }
    }
    out
}

/// Atom scores (eighths of a bit of rarity) below which a subsignature is
/// common enough to defer: an atom expected more often than about once a
/// mebibyte.
pub(crate) const COMMON: i32 = 20 * 8;

impl Compiled {
    /// A set of subsignatures one of which must match for `e` to hold, and
    /// its score (its commonest member's); `None` when `e` can hold with no
    /// match (or the expression is too deep to tell).
    fn cover(&self, e: &Expr, score: &dyn Fn(u8) -> i32, depth: u32) -> Option<(Vec<u8>, i32)> {
        if depth > 64 {
            return None;
        }
        match e {
            Expr::Sub(n) => self.sub_cover(*n, score, depth),
            Expr::And(a, b) => {
                let (x, y) = (
                    self.cover(a, score, depth + 1),
                    self.cover(b, score, depth + 1),
                );
                match (x, y) {
                    (Some(x), Some(y)) => Some(if y.1 > x.1 { y } else { x }),
                    (x, y) => x.or(y),
                }
            }
            Expr::Or(a, b) => {
                let (mut x, y) = (
                    self.cover(a, score, depth + 1)?,
                    self.cover(b, score, depth + 1)?,
                );
                x.0.extend(y.0);
                x.0.sort_unstable();
                x.0.dedup();
                Some((x.0, x.1.min(y.1)))
            }
            Expr::Count {
                expr, op, value, ..
            } => {
                let zero_holds = match op {
                    CountOp::Eq => *value == 0,
                    CountOp::Lt => *value > 0,
                    CountOp::Gt => false,
                };
                if zero_holds {
                    return None;
                }
                let mut leaves = Vec::new();
                leaves_of(expr, &mut leaves);
                let mut set = Vec::new();
                let mut worst = i32::MAX;
                for n in leaves {
                    let (c, s) = self.sub_cover(n, score, depth + 1)?;
                    set.extend(c);
                    worst = worst.min(s);
                }
                set.sort_unstable();
                set.dedup();
                Some((set, worst))
            }
        }
    }

    /// What subsignature `n` needs to count at all.
    fn sub_cover(&self, n: u8, score: &dyn Fn(u8) -> i32, depth: u32) -> Option<(Vec<u8>, i32)> {
        if let Some(p) = self.pcre.iter().find(|p| p.sub == n) {
            return self.cover(&p.trigger, score, depth + 1);
        }
        if let Some((_, b)) = self.compares.iter().find(|(i, _)| *i == n) {
            return Some((vec![b.trigger], score(b.trigger)));
        }
        if self.macros.iter().any(|m| m.sub == n) {
            return None;
        }
        Some((vec![n], score(n)))
    }

    /// The offset reported when the signature matches this object.
    fn matches(
        &self,
        data: &[u8],
        ctx: &ObjectContext,
        index: u32,
        all: &BodyHits,
        range: std::ops::Range<usize>,
    ) -> Option<u64> {
        if !applies(&self.target, data.len() as u64, ctx) {
            return None;
        }
        let hits: &[SubHits] = &all.subs[range];
        let mut counts = vec![0u32; self.subsigs];
        // Subsignature numbers come from the compiled patterns; in a
        // forged image they may lie outside the signature: not counted.
        for h in hits {
            if let Some(c) = counts.get_mut(usize::from(h.sub)) {
                *c = h.count;
            }
        }
        for m in &self.macros {
            let Some(before_sub) = m.sub.checked_sub(1) else {
                continue;
            };
            if let Some(before) = all.events.get(&(index, before_sub)) {
                let members = all.groups.get(&m.group).map_or(&[][..], Vec::as_slice);
                let (prev, count) = macro_counts(m, before, members);
                counts[usize::from(before_sub)] = prev;
                counts[usize::from(m.sub)] = count;
            }
        }
        for (i, b) in &self.compares {
            let last = hits.iter().find(|h| h.sub == b.trigger).map(|h| h.last);
            counts[usize::from(*i)] = u32::from(last.is_some_and(|at| byte_compare(b, data, at)));
        }
        for p in &self.pcre {
            if p.trigger.eval(&counts) {
                counts[usize::from(p.sub)] = run_pcre(p, data, ctx);
            }
        }
        self.expr
            .eval(&counts)
            .then(|| hits.iter().map(|h| h.first).min().unwrap_or(0))
    }
}

/// The counts of a macro subsignature and of the subsignature before it,
/// as ClamAV keeps them (measured with clamscan 1.4.6). The previous
/// subsignature's first match opens a window `min..=max` bytes after it.
/// Each later match checks the group's latest member match before it: in
/// the window, the macro counts one more; outside, this match does not
/// count and opens the window afresh. Once the scan ends, the check is made
/// once more with the group's last member match (when the previous
/// subsignature counts more than once). Both lists are sorted match
/// starts.
fn macro_counts(m: &Macro, before: &[u64], members: &[u64]) -> (u32, u32) {
    let in_window = |opened: u64, member: Option<u64>| {
        member.is_some_and(|at| {
            at >= opened.saturating_add(m.min) && at <= opened.saturating_add(m.max)
        })
    };
    let latest_before = |pos: u64| {
        let i = members.partition_point(|&s| s < pos);
        i.checked_sub(1).and_then(|i| members.get(i)).copied()
    };
    let (mut prev, mut count, mut opened) = (0u32, 0u32, 0u64);
    for &at in before {
        prev += 1;
        if prev == 1 {
            opened = at;
        } else if in_window(opened, latest_before(at)) {
            count += 1;
        } else {
            prev -= 1;
            opened = at;
        }
    }
    if prev > 1 {
        if in_window(opened, members.last().copied()) {
            count += 1;
        } else {
            prev -= 1;
        }
    }
    (prev, count)
}

/// Whether the target description admits this object.
fn applies(t: &TargetDesc, size: u64, ctx: &ObjectContext) -> bool {
    let within = |r: Option<(u64, u64)>, v: Option<u64>| {
        r.is_none_or(|(lo, hi)| v.is_some_and(|v| lo <= v && v <= hi))
    };
    let pe = ctx.target == 1;
    let sections = pe.then_some(ctx.sections.len() as u64);
    (t.target == 0 || t.target == ctx.target)
        && within(t.file_size, Some(size))
        && within(t.entry_point, ctx.entry)
        && within(t.sections.map(|(a, b)| (a.into(), b.into())), sections)
        && container_matches(t, &ctx.containers)
}

fn container_matches(t: &TargetDesc, chain: &[&str]) -> bool {
    let container = match t.container.as_deref() {
        None => true,
        Some("CL_TYPE_ANY") => chain.is_empty(),
        Some(c) => chain.last() == Some(&c),
    };
    let n = t.intermediates.len();
    let intermediates = n == 0
        || (chain.len() >= n
            && t.intermediates
                .iter()
                .zip(&chain[chain.len() - n..])
                .all(|(want, got)| want == "CL_TYPE_ANY" || want == got));
    container && intermediates
}

/// Matches of a PCRE subsignature, counted (at most one unless global).
fn run_pcre(p: &Pcre, data: &[u8], ctx: &ObjectContext) -> u32 {
    let (lo, hi) = match &p.offset {
        None => (0, data.len() as u64),
        Some(o) => match start_range(o, data.len() as u64, ctx) {
            Some(r) => r,
            None => return 0,
        },
    };
    let Ok(lo) = usize::try_from(lo) else {
        return 0;
    };
    if lo > data.len() {
        return 0;
    }
    let floating = p.offset.is_some_and(|o| o.float > 0);
    let subject = if floating && p.flags.encompass {
        &data[..usize::try_from(hi).unwrap_or(usize::MAX).min(data.len())]
    } else {
        data
    };
    let last_start = if floating { hi } else { u64::MAX };
    let limit = if p.flags.global { MAX_PCRE_MATCHES } else { 1 };
    let mut count = 0;
    let mut at = lo.min(subject.len());
    while count < limit {
        let Ok(Some(m)) = p.regex.find_at(subject, at) else {
            break;
        };
        if m.start() as u64 > last_start {
            break;
        }
        count += 1;
        at = if m.end() > m.start() {
            m.end()
        } else {
            m.end() + 1
        };
        if at > subject.len() || anchored(&p.flags, p.offset.as_ref()) {
            break;
        }
    }
    count
}

/// Whether the comparison holds, read relative to the trigger's match at
/// `start` (ClamAV reads at the trigger's last match).
fn byte_compare(b: &ByteCompare, data: &[u8], start: u64) -> bool {
    let Some(value) = start
        .checked_add_signed(b.offset)
        .and_then(|pos| usize::try_from(pos).ok())
        .and_then(|p| data.get(p..))
        .and_then(|bytes| read_number(b, bytes))
    else {
        return false;
    };
    b.comparisons.iter().all(|&(op, want)| match op {
        CountOp::Eq => value == want,
        CountOp::Gt => value > want,
        CountOp::Lt => value < want,
    })
}

/// The number a byte compare reads from the start of `bytes`.
fn read_number(b: &ByteCompare, bytes: &[u8]) -> Option<u64> {
    let len = usize::from(b.len);
    if b.format == NumberFormat::Binary {
        let raw = bytes.get(..len)?;
        let fold = |acc: u64, &x: &u8| (acc << 8) | u64::from(x);
        return Some(if b.little_endian {
            raw.iter().rev().fold(0, fold)
        } else {
            raw.iter().fold(0, fold)
        });
    }
    let window = &bytes[..len.min(bytes.len())];
    let (digits, radix) = match b.format {
        NumberFormat::Hex => (window, 16),
        NumberFormat::Auto => match window.strip_prefix(b"0x") {
            Some(rest) => (rest, 16),
            None => (window, 10),
        },
        _ => (window, 10),
    };
    let n = digits
        .iter()
        .take_while(|c| (**c as char).is_digit(radix))
        .count();
    if n == 0 || (b.exact && n != digits.len()) || (b.exact && window.len() < len) {
        return None;
    }
    let text = std::str::from_utf8(&digits[..n]).ok()?;
    let value = u64::from_str_radix(text, radix).ok()?;
    Some(if b.little_endian && radix == 16 {
        swap_hex(value, n.div_ceil(2))
    } else {
        value
    })
}

/// Reverse the byte order of a value that was `bytes` long.
fn swap_hex(v: u64, bytes: usize) -> u64 {
    let le = v.to_le_bytes();
    le[..bytes.min(8)]
        .iter()
        .fold(0, |acc, &x| (acc << 8) | u64::from(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compare(spec: &str) -> ByteCompare {
        let line = format!("X;Target:0;0&1;4142;{spec}");
        let ign = bolwerk_sigs::IgnoreList::default();
        let p = bolwerk_sigs::LogicalParser {
            flevel: bolwerk_sigs::FLEVEL,
            ignore: &ign,
        };
        let (_, sig) = p
            .parse_line(line.as_bytes(), &mut bolwerk_sigs::Names::new())
            .unwrap();
        match sig.unwrap().subsigs.pop().unwrap() {
            SubSig::ByteCompare(b) => b,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dollar_end_only_rewrites_only_assertions() {
        for (from, to) in [
            ("abc$", "abc\\z"),
            ("a\\$b$", "a\\$b\\z"),
            ("[$]$", "[$]\\z"),
            ("[]$]x$", "[]$]x\\z"),
            ("[^]$][[:alpha:]$]$", "[^]$][[:alpha:]$]\\z"),
            ("\\Q$\\E$", "\\Q$\\E\\z"),
            ("(a$|b)", "(a\\z|b)"),
        ] {
            assert_eq!(dollar_end_only(from), to, "{from}");
        }
        let flags = PcreFlags {
            dollar_endonly: true,
            ..PcreFlags::default()
        };
        let re = build_regex("abc$", &flags, None).unwrap();
        assert!(re.is_match(b"x abc").unwrap());
        assert!(!re.is_match(b"x abc\n").unwrap());
        let plain = build_regex("abc$", &PcreFlags::default(), None).unwrap();
        assert!(plain.is_match(b"x abc\n").unwrap());
    }

    #[test]
    fn numbers_read_as_asked() {
        let data = b"AB0x1f 0042 \x34\x12 ff10";
        let at = |spec: &str, start: u64| byte_compare(&compare(spec), data, start);
        assert!(at("0(>>2#ab4#=31)", 0), "auto hex");
        assert!(at("0(>>7#db4#=42)", 0), "decimal");
        assert!(at("0(>>12#ib2#=0x3412)", 0), "binary big endian");
        assert!(at("0(>>12#il2#=0x1234)", 0), "binary little endian");
        assert!(at("0(>>15#hb4#=0xff10)", 0), "hex text");
        assert!(at("0(>>15#hl4#=0x10ff)", 0), "hex text, little endian");
        assert!(at("0(>>7#db4#>40,<43)", 0), "two comparisons");
        assert!(!at("0(>>7#db4#>42)", 0));
        assert!(!at("0(>>8#dbe4#=42)", 0), "exact: three digits only");
        assert!(at("0(>>8#db4#=42)", 0), "not exact: the digits there are");
        assert!(at("0(<<2#db4#=42)", 9), "before the trigger");
        assert!(!at("0(>>99#ib2#=1)", 0), "past the end");
    }

    #[test]
    fn containers() {
        let t = |c: Option<&str>, i: &[&str]| TargetDesc {
            container: c.map(str::to_string),
            intermediates: i.iter().map(|s| s.to_string()).collect(),
            ..TargetDesc::default()
        };
        let chain = ["CL_TYPE_ZIP", "CL_TYPE_GZ"];
        assert!(container_matches(&t(Some("CL_TYPE_GZ"), &[]), &chain));
        assert!(!container_matches(&t(Some("CL_TYPE_ZIP"), &[]), &chain));
        assert!(container_matches(&t(Some("CL_TYPE_ANY"), &[]), &[]));
        assert!(!container_matches(&t(Some("CL_TYPE_ANY"), &[]), &chain));
        assert!(container_matches(
            &t(None, &["CL_TYPE_ZIP", "CL_TYPE_ANY"]),
            &chain
        ));
        assert!(!container_matches(
            &t(None, &["CL_TYPE_GZ", "CL_TYPE_ZIP"]),
            &chain
        ));
    }
}
