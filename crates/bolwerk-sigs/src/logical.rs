//! Logical signatures (`.ldb`): up to 64 subsignatures combined by a
//! logical expression, for objects a target description selects.
//!
//! A line is `NAME;TARGETDESC;EXPRESSION;SUBSIG0[;SUBSIG1…]`.
//!
//! * The target description is comma-separated `Key:Value` pairs:
//!   `Engine:min-max` (functionality levels), `Target:n`, `FileSize:min-max`,
//!   `EntryPoint:min-max`, `NumberOfSections:min-max`, `Container:CL_TYPE_x`,
//!   `Intermediates:CL_TYPE_a>CL_TYPE_b`, `HandlerType:CL_TYPE_x` (on a
//!   match the object is also read as that type). `IconGroup1/2` (icon
//!   signatures) are not supported: such signatures are counted, not
//!   loaded.
//! * The expression combines subsignature indexes with `&`, `|` and
//!   parentheses; any subexpression may carry a count: `A=X`, `A>X`, `A<X`
//!   (matches of A in all) with `,Y` (at least Y different subsignatures of
//!   A matched). `A=0` negates.
//! * A subsignature is a body pattern (see [`crate::parse_pattern`]),
//!   optionally after `OFFSET:` and before `::MODIFIERS` (`i` case-
//!   insensitive, `w` wide, `a` ASCII too, `f` full word); a PCRE
//!   subsignature `[OFFSET:]TRIGGER/REGEX/[FLAGS]`; or a byte-compare
//!   subsignature `N(>>OFF#OPTIONS#COMPARISONS)`; or a macro subsignature
//!   `${min-max}id$`: a match of any `.ndb` signature of macro group `id`
//!   (offset `$id`) starting min to max bytes after a match of the
//!   subsignature before it (see [`SubSig::Macro`]).
//!
//! Each part is bounded: 64 subsignatures, expressions nested at most
//! [`MAX_DEPTH`] deep, patterns as for `.ndb`.

use crate::body::{check_offset_target, parse_offset, parse_pattern, ByteMatch, Offset, Token};
use crate::hash::trim_cr;
use crate::loader::note;
use crate::names::{NameId, Names};
use crate::{Error, LineOutcome};

/// Most subsignatures in one logical signature (ClamAV's limit).
pub const MAX_SUBSIGS: usize = 64;
/// Deepest nesting of parentheses in an expression.
pub const MAX_DEPTH: usize = 32;
/// Longest regular expression of a PCRE subsignature, in bytes.
pub const MAX_REGEX: usize = 8 << 10;

/// A range of values, inclusive.
pub type Range<T> = (T, T);

/// Which objects a logical signature applies to.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TargetDesc {
    /// ClamAV target type (0: any).
    pub target: u8,
    /// Allowed object sizes.
    pub file_size: Option<Range<u64>>,
    /// Allowed entry-point file offsets (executables).
    pub entry_point: Option<Range<u64>>,
    /// Allowed section counts (executables).
    pub sections: Option<Range<u32>>,
    /// The type of the immediate container (`CL_TYPE_ANY`: none).
    pub container: Option<String>,
    /// The innermost containers, outermost first (`CL_TYPE_ANY` matches
    /// any type).
    pub intermediates: Vec<String>,
    /// `HandlerType`: when the signature matches, the object is also read
    /// as this type (`CL_TYPE_…`), and what that finds is reported first.
    pub handler: Option<String>,
}

/// How a count compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CountOp {
    /// Exactly.
    Eq,
    /// More than.
    Gt,
    /// Fewer than.
    Lt,
}

/// A logical expression over subsignatures.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Expr {
    /// Subsignature `n` matched.
    Sub(u8),
    /// Both.
    And(Box<Expr>, Box<Expr>),
    /// Either.
    Or(Box<Expr>, Box<Expr>),
    /// The matches of the subexpression, counted.
    Count {
        /// What is counted.
        expr: Box<Expr>,
        /// How the count compares.
        op: CountOp,
        /// With what.
        value: u32,
        /// At least this many different subsignatures matched.
        distinct: Option<u32>,
    },
}

impl Expr {
    /// The highest subsignature index it names.
    pub fn max_sub(&self) -> u8 {
        match self {
            Expr::Sub(n) => *n,
            Expr::And(a, b) | Expr::Or(a, b) => a.max_sub().max(b.max_sub()),
            Expr::Count { expr, .. } => expr.max_sub(),
        }
    }

    /// Evaluate with each subsignature's match count.
    pub fn eval(&self, counts: &[u32]) -> bool {
        match self {
            Expr::Sub(n) => counts.get(usize::from(*n)).is_some_and(|c| *c > 0),
            Expr::And(a, b) => a.eval(counts) && b.eval(counts),
            Expr::Or(a, b) => a.eval(counts) || b.eval(counts),
            Expr::Count {
                expr,
                op,
                value,
                distinct,
            } => {
                let (total, different) = expr.tally(counts);
                let ok = match op {
                    CountOp::Eq => total == u64::from(*value),
                    CountOp::Gt => total > u64::from(*value),
                    CountOp::Lt => total < u64::from(*value),
                };
                ok && distinct.is_none_or(|d| different >= d)
            }
        }
    }

    /// Matches of every subsignature named, and how many of them matched.
    fn tally(&self, counts: &[u32]) -> (u64, u32) {
        match self {
            Expr::Sub(n) => {
                let c = counts.get(usize::from(*n)).copied().unwrap_or(0);
                (u64::from(c), u32::from(c > 0))
            }
            Expr::And(a, b) | Expr::Or(a, b) => {
                let (x, y) = (a.tally(counts), b.tally(counts));
                (x.0 + y.0, x.1 + y.1)
            }
            Expr::Count { expr, .. } => expr.tally(counts),
        }
    }
}

/// Parse a logical expression.
pub fn parse_expr(s: &str) -> Result<Expr, Error> {
    let mut p = ExprParser {
        s: s.as_bytes(),
        i: 0,
        depth: 0,
    };
    let e = p.expr()?;
    if p.i != p.s.len() {
        return Err(p.err("unexpected character"));
    }
    Ok(e)
}

struct ExprParser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl ExprParser<'_> {
    fn err(&self, what: &str) -> Error {
        Error::malformed(format!(
            "{what} at character {} of the logical expression",
            self.i + 1
        ))
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Operands joined by `&` and `|`, left to right.
    fn expr(&mut self) -> Result<Expr, Error> {
        let mut left = self.counted()?;
        while let Some(op @ (b'&' | b'|')) = self.peek() {
            self.i += 1;
            let right = self.counted()?;
            left = match op {
                b'&' => Expr::And(Box::new(left), Box::new(right)),
                _ => Expr::Or(Box::new(left), Box::new(right)),
            };
        }
        Ok(left)
    }

    /// An operand with an optional count.
    ///
    /// ClamAV 1.4.6 reads a run of operator characters and keeps the last
    /// (measured: with one match, `1==1`, `1>=1`, `1<=1` and `1=>0` hold,
    /// `1>=0` and `1<=0` do not), and a `,` with no number after it sets no
    /// distinct count (`0=1,&1` loads and matches as `0=1&1`).
    fn counted(&mut self) -> Result<Expr, Error> {
        let e = self.operand()?;
        let mut op = None;
        while let Some(c @ (b'=' | b'>' | b'<')) = self.peek() {
            op = Some(match c {
                b'=' => CountOp::Eq,
                b'>' => CountOp::Gt,
                _ => CountOp::Lt,
            });
            self.i += 1;
        }
        let Some(op) = op else {
            return Ok(e);
        };
        let value = self.number()?;
        let distinct = if self.peek() == Some(b',') {
            self.i += 1;
            self.peek()
                .is_some_and(|c| c.is_ascii_digit())
                .then(|| self.number())
                .transpose()?
        } else {
            None
        };
        Ok(Expr::Count {
            expr: Box::new(e),
            op,
            value,
            distinct,
        })
    }

    fn operand(&mut self) -> Result<Expr, Error> {
        if self.peek() == Some(b'(') {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(self.err("expression nested too deeply"));
            }
            self.i += 1;
            let e = self.expr()?;
            if self.peek() != Some(b')') {
                return Err(self.err("expected ')'"));
            }
            self.i += 1;
            self.depth -= 1;
            return Ok(e);
        }
        let n = self.number()?;
        u8::try_from(n)
            .ok()
            .filter(|n| usize::from(*n) < MAX_SUBSIGS)
            .map(Expr::Sub)
            .ok_or_else(|| self.err("subsignature index out of range"))
    }

    fn number(&mut self) -> Result<u32, Error> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| self.err("expected a number"))
    }
}

/// Flags of a PCRE subsignature.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PcreFlags {
    /// `g`: count every match, not only the first.
    pub global: bool,
    /// `r`: search from the offset on rather than only at it.
    pub rolling: bool,
    /// `e`: the whole match lies within offset..offset+maxshift.
    pub encompass: bool,
    /// `i`.
    pub caseless: bool,
    /// `s`.
    pub dotall: bool,
    /// `m`.
    pub multiline: bool,
    /// `x`.
    pub extended: bool,
    /// `A`: anchored at the start offset.
    pub anchored: bool,
    /// `E`: `$` only at the very end.
    pub dollar_endonly: bool,
    /// `U`: quantifiers lazy by default.
    pub ungreedy: bool,
}

/// How a byte-compare subsignature reads its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NumberFormat {
    /// `h`: hexadecimal text.
    Hex,
    /// `d`: decimal text.
    Decimal,
    /// `a`: hexadecimal when it starts with `0x`, else decimal.
    Auto,
    /// `i`: raw binary.
    Binary,
}

/// A byte-compare subsignature.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ByteCompare {
    /// The subsignature whose match starts it reads from.
    pub trigger: u8,
    /// Bytes from the trigger's match start (negative: before it).
    pub offset: i64,
    /// How the bytes are read.
    pub format: NumberFormat,
    /// Little endian (binary and hexadecimal only).
    pub little_endian: bool,
    /// Only compare when exactly `len` bytes could be read.
    pub exact: bool,
    /// Bytes to read.
    pub len: u8,
    /// One or two comparisons that must all hold.
    pub comparisons: Vec<(CountOp, u64)>,
}

/// One subsignature.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SubSig {
    /// A byte pattern; each variant (ASCII, wide) counts.
    Body {
        /// Where it may start.
        offset: Offset,
        /// The pattern, once per encoding asked for.
        variants: Vec<Vec<Token>>,
        /// `::f`: delimited by non-alphanumeric bytes.
        fullword: bool,
        /// The variants are wide (`::w`) from this index on.
        wide_from: usize,
    },
    /// A regular expression, run when its trigger holds.
    Pcre {
        /// Where it may match (`None`: anywhere).
        offset: Option<Offset>,
        /// When to run it.
        trigger: Expr,
        /// The expression, as PCRE syntax.
        regex: String,
        /// Its flags.
        flags: PcreFlags,
    },
    /// A number read near another subsignature's match.
    ByteCompare(ByteCompare),
    /// `${min-max}group$`: a member of the macro group (the `.ndb`
    /// signatures with offset `$group`) starting `min..=max` bytes after a
    /// match of the previous subsignature. As ClamAV evaluates it
    /// (measured): each match of the previous subsignature after its first
    /// counts once when the group's latest member match before it lies in
    /// that window from the previous subsignature's match before it.
    Macro {
        /// Least distance, start to start.
        min: u32,
        /// Greatest distance, start to start.
        max: u32,
        /// The macro group.
        group: u8,
    },
}

/// One logical signature.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogicalSig {
    /// Its name.
    pub name: NameId,
    /// Which objects it applies to.
    pub target: TargetDesc,
    /// When it matches.
    pub expr: Expr,
    /// Its subsignatures.
    pub subsigs: Vec<SubSig>,
}

/// Parses `.ldb` lines.
pub struct LogicalParser<'a> {
    /// This engine's functionality level.
    pub flevel: u32,
    /// Signatures to drop.
    pub ignore: &'a crate::IgnoreList,
}

impl LogicalParser<'_> {
    /// Parse one line; `Ok(None)` for comments and for signatures not
    /// loaded (the reason in the outcome).
    pub fn parse_line(
        &self,
        line: &[u8],
        names: &mut Names,
    ) -> Result<(LineOutcome, Option<LogicalSig>), Error> {
        let line = trim_cr(line);
        if line.is_empty() || line[0] == b'#' {
            return Ok((LineOutcome::Comment, None));
        }
        let text = std::str::from_utf8(line)
            .map_err(|_| Error::malformed("signature line is not valid UTF-8"))?;
        let fields: Vec<&str> = text.splitn(MAX_SUBSIGS + 4, ';').collect();
        if fields.len() < 4 {
            return Err(Error::malformed(
                "a logical signature needs a name, a target description, an expression and a subsignature",
            ));
        }
        if fields.len() > MAX_SUBSIGS + 3 {
            return Err(Error::malformed("more than 64 subsignatures"));
        }
        let name = fields[0];
        if name.is_empty() {
            return Err(Error::malformed("empty signature name"));
        }
        let target = match parse_target(fields[1], self.flevel)? {
            Tdb::Applies(t) => t,
            Tdb::OutOfLevel => return Ok((LineOutcome::OutOfLevel, None)),
            Tdb::Unsupported(what) => return Ok((LineOutcome::Unsupported(what), None)),
        };
        let expr = parse_expr(fields[2])?;
        let mut subsigs = Vec::with_capacity(fields.len() - 3);
        for (i, f) in fields[3..].iter().enumerate() {
            match parse_subsig(f, i, target.target) {
                Ok(s) => subsigs.push(s),
                Err(e) => return Err(prefix(e, &format!("subsignature {i}"))),
            }
        }
        if usize::from(expr.max_sub()) >= subsigs.len() {
            return Err(Error::malformed(
                "the expression names a subsignature that is not there",
            ));
        }
        if usize::from(expr.max_sub()) + 1 != subsigs.len() {
            // ClamAV refuses these too (measured).
            return Err(Error::malformed(format!(
                "{} subsignatures, but the expression names none above {}",
                subsigs.len(),
                expr.max_sub()
            )));
        }
        check_triggers(&subsigs)?;
        if self.ignore.ignores(name, line) {
            return Ok((LineOutcome::Ignored, None));
        }
        let name = names
            .push(name)
            .ok_or_else(|| Error::malformed("too many signature names"))?;
        let sig = LogicalSig {
            name,
            target,
            expr,
            subsigs,
        };
        Ok((LineOutcome::Added, Some(sig)))
    }
}

fn prefix(e: Error, what: &str) -> Error {
    match e.kind() {
        crate::ErrorKind::Malformed(m) => Error::malformed(format!("{what}: {m}")),
        _ => e,
    }
}

/// PCRE triggers and byte compares may only name earlier subsignatures
/// that are plain patterns; a macro subsignature follows a pattern.
fn check_triggers(subsigs: &[SubSig]) -> Result<(), Error> {
    for (i, s) in subsigs.iter().enumerate() {
        let named = match s {
            SubSig::Pcre { trigger, .. } => trigger.max_sub(),
            SubSig::ByteCompare(b) => b.trigger,
            SubSig::Body { .. } => continue,
            SubSig::Macro { .. } => {
                let after_pattern = i
                    .checked_sub(1)
                    .is_some_and(|p| matches!(subsigs[p], SubSig::Body { .. }));
                if !after_pattern {
                    return Err(Error::malformed(format!(
                        "subsignature {i}: a macro subsignature must follow a pattern subsignature"
                    )));
                }
                continue;
            }
        };
        let plain = matches!(subsigs.get(usize::from(named)), Some(SubSig::Body { .. }));
        if usize::from(named) >= i && matches!(s, SubSig::Pcre { .. }) {
            return Err(Error::malformed(format!(
                "subsignature {i}: a trigger may only name earlier subsignatures"
            )));
        }
        if matches!(s, SubSig::ByteCompare(_)) && !plain {
            return Err(Error::malformed(format!(
                "subsignature {i}: a byte compare must name a pattern subsignature"
            )));
        }
    }
    Ok(())
}

enum Tdb {
    Applies(TargetDesc),
    OutOfLevel,
    Unsupported(&'static str),
}

fn parse_target(s: &str, flevel: u32) -> Result<Tdb, Error> {
    let mut t = TargetDesc::default();
    for pair in s.split(',') {
        let (key, value) = pair.split_once(':').ok_or_else(|| {
            Error::malformed(format!("target description: '{pair}' is not Key:Value"))
        })?;
        let bad = || Error::malformed(format!("target description: invalid {key} '{value}'"));
        match key {
            "Engine" => {
                let (lo, hi) = range::<u32>(value).ok_or_else(bad)?;
                if flevel < lo || flevel > hi {
                    return Ok(Tdb::OutOfLevel);
                }
            }
            "Target" => t.target = value.parse().map_err(|_| bad())?,
            "FileSize" => t.file_size = Some(range(value).ok_or_else(bad)?),
            "EntryPoint" => t.entry_point = Some(range(value).ok_or_else(bad)?),
            "NumberOfSections" => t.sections = Some(range(value).ok_or_else(bad)?),
            "Container" => t.container = Some(cl_type(value).ok_or_else(bad)?),
            "Intermediates" => {
                t.intermediates = value
                    .split('>')
                    .map(|v| cl_type(v).ok_or_else(bad))
                    .collect::<Result<_, _>>()?;
                if t.intermediates.len() > 16 {
                    return Err(bad());
                }
            }
            "HandlerType" => t.handler = Some(cl_type(value).ok_or_else(bad)?),
            "IconGroup1" | "IconGroup2" => return Ok(Tdb::Unsupported(note::LDB_ICON_GROUP)),
            _ => {
                return Err(Error::malformed(format!(
                    "target description: unknown key '{key}'"
                )))
            }
        }
    }
    Ok(Tdb::Applies(t))
}

/// `n` or `min-max`.
fn range<T: std::str::FromStr + Copy + PartialOrd>(s: &str) -> Option<(T, T)> {
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let n = s.parse().ok()?;
            (n, n)
        }
    };
    (lo <= hi).then_some((lo, hi))
}

fn cl_type(s: &str) -> Option<String> {
    let ok = s.starts_with("CL_TYPE_")
        && s.len() <= 64
        && s[8..]
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_');
    ok.then(|| s.to_string())
}

/// `${min-max}group$`.
fn parse_macro(s: &str, index: usize) -> Result<SubSig, Error> {
    let bad = || Error::malformed(format!("invalid macro subsignature '{s}'"));
    let inner = s
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('$'))
        .ok_or_else(bad)?;
    let (range, group) = inner.split_once('}').ok_or_else(bad)?;
    let (min, max) = range.split_once('-').ok_or_else(bad)?;
    let (min, max): (u32, u32) = (
        min.parse().map_err(|_| bad())?,
        max.parse().map_err(|_| bad())?,
    );
    let group = group.parse::<u8>().map_err(|_| bad())?;
    if min > max {
        return Err(Error::malformed(format!(
            "macro subsignature '{s}': minimum above maximum"
        )));
    }
    if index == 0 {
        return Err(Error::malformed(
            "a macro subsignature needs a subsignature before it",
        ));
    }
    Ok(SubSig::Macro { min, max, group })
}

/// Parse one subsignature.
fn parse_subsig(s: &str, index: usize, target: u8) -> Result<SubSig, Error> {
    if s.starts_with("${") {
        return parse_macro(s, index);
    }
    if let Some(b) = parse_byte_compare(s)? {
        return Ok(SubSig::ByteCompare(b));
    }
    if s.contains('/') {
        let pcre = parse_pcre(s, index)?;
        if let SubSig::Pcre {
            offset: Some(o), ..
        } = &pcre
        {
            check_offset_target(o, target)?;
        }
        return Ok(pcre);
    }
    // The pattern ends at the first `::`, the modifiers are what follows
    // the last: ClamAV 1.4.6 loads `…657865::i*5773…6570::i` as the first
    // pattern alone, case-insensitive (measured: it matches a file with
    // only `POWERSHELL.EXE`), and refuses `…::i*5773…` (modifier `*`).
    let (body, modifiers) = match (s.split_once("::"), s.rsplit_once("::")) {
        (Some((b, _)), Some((_, m))) => (b, m),
        _ => (s, ""),
    };
    let (offset, hex) = match body.split_once(':') {
        Some((o, h)) => (parse_offset(o)?, h),
        None => (parse_offset("*")?, body),
    };
    check_offset_target(&offset, target)?;
    let tokens = parse_pattern(hex)?;
    let (mut nocase, mut wide, mut ascii, mut fullword) = (false, false, false, false);
    for m in modifiers.chars() {
        match m {
            'i' => nocase = true,
            'w' => wide = true,
            'a' => ascii = true,
            'f' => fullword = true,
            _ => return Err(Error::malformed(format!("unknown modifier '{m}'"))),
        }
    }
    let tokens = if nocase { caseless(tokens) } else { tokens };
    let mut variants = Vec::new();
    if ascii || !wide {
        variants.push(tokens.clone());
    }
    let wide_from = variants.len();
    if wide {
        variants.push(widen(tokens));
    }
    Ok(SubSig::Body {
        offset,
        variants,
        fullword,
        wide_from,
    })
}

/// Letters match either case: bit 0x20 stops mattering.
fn caseless(tokens: Vec<Token>) -> Vec<Token> {
    let fold = |run: Vec<ByteMatch>| -> Vec<ByteMatch> {
        run.into_iter()
            .map(|m| {
                if m.mask == 0xff && m.value.is_ascii_alphabetic() {
                    ByteMatch {
                        value: m.value & !0x20,
                        mask: 0xdf,
                    }
                } else {
                    m
                }
            })
            .collect()
    };
    map_runs(tokens, fold)
}

/// Every byte followed by a zero byte (wildcards and gaps stay as they
/// are, as ClamAV does).
fn widen(tokens: Vec<Token>) -> Vec<Token> {
    let zero = ByteMatch {
        value: 0,
        mask: 0xff,
    };
    map_runs(tokens, |run| {
        run.into_iter().flat_map(|m| [m, zero]).collect()
    })
}

fn map_runs(tokens: Vec<Token>, f: impl Fn(Vec<ByteMatch>) -> Vec<ByteMatch>) -> Vec<Token> {
    tokens
        .into_iter()
        .map(|t| match t {
            Token::Bytes(run) => Token::Bytes(f(run)),
            Token::Alt { alts, negate } => Token::Alt {
                alts: alts.into_iter().map(&f).collect(),
                negate,
            },
            other => other,
        })
        .collect()
}

/// `[OFFSET:]TRIGGER/REGEX/[FLAGS]`.
fn parse_pcre(s: &str, index: usize) -> Result<SubSig, Error> {
    let open = s.find('/').expect("caller checked");
    let close = s.rfind('/').filter(|c| *c > open).ok_or_else(|| {
        Error::malformed("a PCRE subsignature needs the expression between two '/'")
    })?;
    let (head, regex, flag_text) = (&s[..open], &s[open + 1..close], &s[close + 1..]);
    if regex.is_empty() || regex.len() > MAX_REGEX {
        return Err(Error::malformed("PCRE expression empty or too long"));
    }
    let (offset, trigger) = match head.rsplit_once(':') {
        Some((o, t)) => (Some(parse_offset(o)?), t),
        None => (None, head),
    };
    // Compiled here (without JIT) only to report a bad expression with its
    // line; the engine compiles it for matching.
    if let Err(e) = pcre2::bytes::RegexBuilder::new().build(regex) {
        return Err(Error::malformed(format!("PCRE does not compile: {e}")));
    }
    let trigger = parse_expr(trigger)?;
    if usize::from(trigger.max_sub()) >= index {
        return Err(Error::malformed(
            "a trigger may only name earlier subsignatures",
        ));
    }
    let mut flags = PcreFlags::default();
    for c in flag_text.chars() {
        let f = match c {
            'g' => &mut flags.global,
            'r' => &mut flags.rolling,
            'e' => &mut flags.encompass,
            'i' => &mut flags.caseless,
            's' => &mut flags.dotall,
            'm' => &mut flags.multiline,
            'x' => &mut flags.extended,
            'A' => &mut flags.anchored,
            'E' => &mut flags.dollar_endonly,
            'U' => &mut flags.ungreedy,
            _ => return Err(Error::malformed(format!("unknown PCRE flag '{c}'"))),
        };
        *f = true;
    }
    Ok(SubSig::Pcre {
        offset,
        trigger,
        regex: regex.to_string(),
        flags,
    })
}

/// `N(>>OFF#OPTIONS#CMP[,CMP])`, or `None` when `s` is not one.
fn parse_byte_compare(s: &str) -> Result<Option<ByteCompare>, Error> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &s[digits..];
    if digits == 0 || !(rest.starts_with("(>>") || rest.starts_with("(<<")) {
        return Ok(None);
    }
    let bad = |what: &str| Error::malformed(format!("byte compare: {what}"));
    let inner = rest[1..]
        .strip_suffix(')')
        .ok_or_else(|| bad("missing ')'"))?;
    let trigger: u8 = s[..digits]
        .parse()
        .ok()
        .filter(|t| usize::from(*t) < MAX_SUBSIGS)
        .ok_or_else(|| bad("invalid trigger"))?;
    let mut parts = inner.split('#');
    let (Some(off), Some(opts), Some(cmps), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("expected offset#options#comparisons"));
    };
    let negative = off.starts_with("<<");
    let magnitude = number(&off[2..]).ok_or_else(|| bad("invalid offset"))?;
    let magnitude = i64::try_from(magnitude).map_err(|_| bad("invalid offset"))?;
    let offset = if negative { -magnitude } else { magnitude };
    let mut o = opts.chars().peekable();
    let format = match o.next() {
        Some('h') => NumberFormat::Hex,
        Some('d') => NumberFormat::Decimal,
        Some('a') => NumberFormat::Auto,
        Some('i') => NumberFormat::Binary,
        _ => return Err(bad("options must start with h, d, a or i")),
    };
    let little_endian = match o.peek() {
        Some('l') => true,
        Some('b') => false,
        _ => return Err(bad("options need l or b after the format")),
    };
    o.next();
    let exact = o.peek() == Some(&'e') || format == NumberFormat::Binary;
    if o.peek() == Some(&'e') {
        o.next();
    }
    let len_text: String = o.collect();
    let len = number(&len_text)
        .and_then(|n| u8::try_from(n).ok())
        .filter(|n| (1..=64).contains(n))
        .ok_or_else(|| bad("invalid byte count"))?;
    if format == NumberFormat::Binary && ![1, 2, 4, 8].contains(&len) {
        return Err(bad("binary reads 1, 2, 4 or 8 bytes"));
    }
    if format == NumberFormat::Decimal && little_endian {
        return Err(bad("decimal text is big endian"));
    }
    let comparisons = cmps
        .split(',')
        .map(|c| {
            let op = match c.chars().next() {
                Some('=') => CountOp::Eq,
                Some('>') => CountOp::Gt,
                Some('<') => CountOp::Lt,
                _ => return Err(bad("comparison must start with <, > or =")),
            };
            Ok((op, number(&c[1..]).ok_or_else(|| bad("invalid value"))?))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    if comparisons.len() > 2 {
        return Err(bad("at most two comparisons"));
    }
    Ok(Some(ByteCompare {
        trigger,
        offset,
        format,
        little_endian,
        exact,
        len,
        comparisons,
    }))
}

/// Decimal, or hexadecimal after `0x`.
fn number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IgnoreList;

    fn parse(line: &str) -> Result<(LineOutcome, Option<LogicalSig>), Error> {
        let ign = IgnoreList::default();
        let p = LogicalParser {
            flevel: crate::FLEVEL,
            ignore: &ign,
        };
        p.parse_line(line.as_bytes(), &mut Names::new())
    }

    #[test]
    fn expressions_and_counts() {
        let e = parse_expr("((0|1|2)>5,2)&(3|1)").unwrap();
        assert_eq!(e.max_sub(), 3);
        assert!(e.eval(&[3, 3, 0, 1]));
        assert!(!e.eval(&[6, 0, 0, 1]), "needs two different subsignatures");
        assert!(!e.eval(&[3, 2, 0, 1]), "needs more than five matches");
        assert!(!e.eval(&[3, 0, 3, 0]));
        let neg = parse_expr("0&1=0").unwrap();
        assert!(neg.eval(&[1, 0]));
        assert!(!neg.eval(&[1, 1]));
        assert!(parse_expr("0<3").unwrap().eval(&[2]));
        assert!(!parse_expr("0<3").unwrap().eval(&[3]));
        assert!(parse_expr("(0|1)=4,2").unwrap().eval(&[1, 3]));
        for bad in ["", "(0", "0&", "0)", "64", "0=x", "a", "0&&1"] {
            assert!(parse_expr(bad).is_err(), "{bad}");
        }
        let deep = format!("{}0{}", "(".repeat(40), ")".repeat(40));
        assert!(parse_expr(&deep).is_err());
    }

    /// ClamAV's lenient forms, each measured with clamscan 1.4.6 on a file
    /// where subsignature 1 matches once: the last of a run of operator
    /// characters counts, and `,` may stand without a number.
    #[test]
    fn lenient_expressions_as_clamav_reads_them() {
        for (expr, holds) in [
            ("0&(1==1)", true),
            ("0&(1==2)", false),
            ("0&(1>=1)", true),
            ("0&(1>=0)", false),
            ("0&(1<=1)", true),
            ("0&(1<=0)", false),
            ("0&(1=>0)", true),
            ("0&(1=<2)", true),
            ("0&(1>>0)", true),
            ("0=1,&1", true),
            ("0=2,&1", false),
            ("(0|1)>1,&1", true),
            ("(0|1)>1,3&1", false),
        ] {
            let e = parse_expr(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
            assert_eq!(e.eval(&[1, 1]), holds, "{expr}");
        }
        // `3` is a count, not an index: three subsignatures (as ClamAV
        // loads main.ldb's `(…&(8==9))` with nine), and four are refused.
        let (o, _) = parse("Q;Target:1;(0&1&(2==3));41414141;42424242;43434343").unwrap();
        assert_eq!(o, LineOutcome::Added);
        assert!(parse("Q;Target:1;(0&1&(2==3));41414141;42424242;43434343;44444444").is_err());
    }

    /// The pattern ends at the first `::`, the modifiers follow the last.
    #[test]
    fn modifiers_after_the_last_double_colon() {
        let (_, s) = parse("Q;Target:7;0;706f7765727368656c6c::i*5773637269707400::i").unwrap();
        let SubSig::Body { variants, .. } = &s.unwrap().subsigs[0] else {
            panic!("body expected")
        };
        assert_eq!(variants.len(), 1);
        let Token::Bytes(run) = &variants[0][0] else {
            panic!()
        };
        assert_eq!(
            (run.len(), run[0].mask),
            (10, 0xdf),
            "the first pattern, caseless"
        );
        assert_eq!(
            variants[0].len(),
            1,
            "what follows the first '::' is not matched"
        );
        assert!(parse("Q;Target:7;0;706f7765727368656c6c::i*5773637269707400").is_err());
        assert!(parse("Q;Target:7;0;706f7765727368656c6c::*5773637269707400").is_err());
    }

    #[test]
    fn version_info_offsets_and_long_ranges_load() {
        let (o, s) = parse(
            "Q;Engine:51-255,Target:1;0&1;EP+0:837c2408;VI:43006f006d00700061006e0079004e0061006d006500",
        )
        .unwrap();
        assert_eq!(o, LineOutcome::Added);
        let SubSig::Body { offset, .. } = &s.unwrap().subsigs[1] else {
            panic!("body expected")
        };
        assert_eq!(offset.anchor, crate::Anchor::VersionInfo);
        let (o, _) = parse("Q;Target:1;0;0:4d5a{-196608}????0080{66232-66345}!(00)0000").unwrap();
        assert_eq!(o, LineOutcome::Added);
    }

    #[test]
    fn full_line() {
        let (o, s) = parse(
            "Sig4;Engine:51-255,Target:1,FileSize:10-2000,NumberOfSections:3-5,Container:CL_TYPE_ZIP;\
             ((0|1)&(2|3))&4;EP+123:33c06834;S2+78:22??232c2d;6865::iwa;0/ab+c/gi;0(>>4#hb2#>0x10,<0x40)",
        )
        .unwrap();
        assert_eq!(o, LineOutcome::Added);
        let s = s.unwrap();
        assert_eq!(s.target.target, 1);
        assert_eq!(s.target.file_size, Some((10, 2000)));
        assert_eq!(s.target.sections, Some((3, 5)));
        assert_eq!(s.target.container.as_deref(), Some("CL_TYPE_ZIP"));
        assert_eq!(s.subsigs.len(), 5);
        let SubSig::Body {
            variants,
            wide_from,
            ..
        } = &s.subsigs[2]
        else {
            panic!("body expected")
        };
        assert_eq!((variants.len(), *wide_from), (2, 1));
        let Token::Bytes(wide) = &variants[1][0] else {
            panic!()
        };
        assert_eq!(wide.len(), 4);
        assert_eq!(wide[0].mask, 0xdf, "caseless letter");
        assert_eq!(wide[1].value, 0);
        let SubSig::Pcre { flags, regex, .. } = &s.subsigs[3] else {
            panic!("pcre expected")
        };
        assert!(flags.global && flags.caseless && !flags.rolling);
        assert_eq!(regex, "ab+c");
        let SubSig::ByteCompare(b) = &s.subsigs[4] else {
            panic!("byte compare expected")
        };
        assert_eq!(b.offset, 4);
        assert_eq!(b.format, NumberFormat::Hex);
        assert_eq!(
            b.comparisons,
            vec![(CountOp::Gt, 0x10), (CountOp::Lt, 0x40)]
        );
    }

    #[test]
    fn skipped_and_malformed() {
        assert_eq!(
            parse("X;Engine:300-400;0;4142").unwrap().0,
            LineOutcome::OutOfLevel
        );
        let (outcome, sig) = parse("X;Engine:51-255,Target:0;0&1;4142;${6-7}12$").unwrap();
        assert_eq!(outcome, LineOutcome::Added);
        assert_eq!(
            sig.unwrap().subsigs[1],
            SubSig::Macro {
                min: 6,
                max: 7,
                group: 12
            }
        );
        let (outcome, sig) = parse("X;Engine:51-255,HandlerType:CL_TYPE_ZIP;0;4142").unwrap();
        assert_eq!(outcome, LineOutcome::Added);
        assert_eq!(sig.unwrap().target.handler.as_deref(), Some("CL_TYPE_ZIP"));
        for bad in [
            "X;Target:0;0",
            "X;Target:0;1;4142",
            "X;Target:x;0;4142",
            "X;Bogus:1;0;4142",
            "X;Target:0;0;41",
            "X;Target:0;0;4142::q",
            "X;Target:0;0;${1-2}3$",
            "X;Target:0;0&1;4142;${2-1}3$",
            "X;Target:0;0&1;4142;${1-2}300$",
            "X;Target:0;0&1;4142;${1-2}3",
            "X;Target:0;0&1&2;4142;${1-2}3$;${1-2}3$",
            "X;Target:0;0;4142;4344",
            "X;Target:0;0&1;4142;1/abc/",
            "X;Target:0;0&1;4142;0/abc/z",
            "X;Target:0;0&1;4142;0(>>4#xb2#=1)",
            "X;Target:0;0&1;4142;0(>>4#dl2#=1)",
            "X;Target:0;0&1;4142;0(>>4#ib3#=1)",
            "X;Target:0;0&1;4142;5(>>4#hb2#=1)",
            ";Target:0;0;4142",
            "X;Target:0;0;EP+0:4142",
            "X;Target:7;0;S0+2:4142",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let many = format!("X;Target:0;0;{}", vec!["4142"; 65].join(";"));
        assert!(parse(&many).is_err());
    }
}
