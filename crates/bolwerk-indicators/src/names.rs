//! signature-base's filename regexes, matched against a path without
//! compiling most of them.
//!
//! The built-in `filename-iocs.txt` holds about 2,300 regexes (at the
//! default minimum score), and compiling them into one `RegexSet` took
//! 15 ms, paid at every start. But most are literals (`\\libtcc\.dll`),
//! and nearly all the others contain one (`\\[Ss]ystem32\\rdiskloc\.dll`
//! cannot match without `\rdiskloc.dll`). So each regex is read once for
//! the longest run of literal bytes that any match must contain
//! ([`required_literal`], a conservative reading of the syntax: anything
//! it does not fully understand gives no literal), and:
//!
//! - a regex that *is* its literal is matched by finding the literal;
//! - one that contains a literal is compiled the first time its literal
//!   occurs in a path (most never are), then run on that path;
//! - the few without a literal of three bytes or more are compiled up
//!   front into one `RegexSet`.
//!
//! The literals of all of them go into two Aho-Corasick automata (case
//! sensitive, and ASCII case-insensitive for `(?i)` regexes), built in
//! about 2 ms. What matches is exactly what the `RegexSet` of all of them
//! would say (a test compares the two over the built-in pack).

use std::collections::HashMap;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

/// Literals shorter than this are no filter: the regex is compiled up front.
const MIN_LITERAL: usize = 3;
/// The size limit of the compiled regexes (the crate's default is 10 MiB,
/// too small for the set of signature-base's regexes with `(?i)`).
const SIZE_LIMIT: usize = 256 << 20;

/// What [`required_literal`] found in a regex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Literal {
    /// Bytes every match contains, contiguously.
    pub(crate) bytes: Vec<u8>,
    /// Whether they compare without ASCII case (a leading `(?i)`).
    pub(crate) fold: bool,
    /// Whether the regex matches exactly where the literal occurs.
    pub(crate) whole: bool,
}

/// Filename regexes, indexed for matching.
pub(crate) struct RegexIndex {
    sources: Vec<String>,
    whole: Vec<bool>,
    compiled: Vec<OnceLock<Option<Regex>>>,
    exact: Option<Literals>,
    folded: Option<Literals>,
    rest: Option<(RegexSet, Vec<usize>)>,
}

/// One automaton of literals and the regexes behind each.
struct Literals {
    ac: AhoCorasick,
    owners: Vec<Vec<usize>>,
}

impl RegexIndex {
    /// Index `sources` (each known to parse). An error is the `regex`
    /// crate's, for the regexes compiled up front.
    pub(crate) fn new(sources: Vec<String>) -> Result<RegexIndex, String> {
        let mut exact: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
        let mut folded: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
        let mut whole = vec![false; sources.len()];
        let mut rest = Vec::new();
        for (i, src) in sources.iter().enumerate() {
            match required_literal(src).filter(|l| l.bytes.len() >= MIN_LITERAL) {
                Some(lit) => {
                    whole[i] = lit.whole;
                    let map = if lit.fold { &mut folded } else { &mut exact };
                    let key = match lit.fold {
                        true => lit.bytes.to_ascii_lowercase(),
                        false => lit.bytes,
                    };
                    map.entry(key).or_default().push(i);
                }
                None => rest.push(i),
            }
        }
        let rest = match rest.is_empty() {
            true => None,
            false => Some((
                RegexSetBuilder::new(rest.iter().map(|&i| &sources[i]))
                    .unicode(false)
                    .size_limit(SIZE_LIMIT)
                    .dfa_size_limit(SIZE_LIMIT)
                    .build()
                    .map_err(|e| e.to_string())?,
                rest,
            )),
        };
        Ok(RegexIndex {
            compiled: (0..sources.len()).map(|_| OnceLock::new()).collect(),
            exact: Literals::new(exact, false)?,
            folded: Literals::new(folded, true)?,
            sources,
            whole,
            rest,
        })
    }

    /// Add to `out` the index of every regex that matches somewhere in
    /// `hay` (unsorted; an index may come twice).
    pub(crate) fn matches_into(&self, hay: &[u8], out: &mut Vec<usize>) {
        for lits in [&self.exact, &self.folded].into_iter().flatten() {
            for hit in lits.ac.find_overlapping_iter(hay) {
                for &i in &lits.owners[hit.pattern().as_usize()] {
                    if self.whole[i] || self.regex(i).is_some_and(|r| r.is_match(hay)) {
                        out.push(i);
                    }
                }
            }
        }
        if let Some((set, ids)) = &self.rest {
            out.extend(set.matches(hay).iter().map(|k| ids[k]));
        }
    }

    /// Regex `i`, compiled on first use. The sources were parsed when
    /// they were loaded, so only a size limit can refuse one here.
    fn regex(&self, i: usize) -> Option<&Regex> {
        self.compiled[i]
            .get_or_init(|| compile(&self.sources[i]))
            .as_ref()
    }
}

/// A regex compiled on first use (false-positive regexes of filename
/// IOCs: few paths ever need one).
pub(crate) struct LazyRegex {
    source: String,
    compiled: OnceLock<Option<Regex>>,
}

impl LazyRegex {
    /// `source` must have parsed (see `set.rs`).
    pub(crate) fn new(source: String) -> LazyRegex {
        LazyRegex {
            source,
            compiled: OnceLock::new(),
        }
    }

    /// Whether it matches somewhere in `hay`; a regex the crate refuses
    /// (only its size limit can, once parsed) matches nothing.
    pub(crate) fn is_match(&self, hay: &[u8]) -> bool {
        self.compiled
            .get_or_init(|| compile(&self.source))
            .as_ref()
            .is_some_and(|r| r.is_match(hay))
    }
}

fn compile(source: &str) -> Option<Regex> {
    RegexBuilder::new(source)
        .unicode(false)
        .size_limit(SIZE_LIMIT)
        .build()
        .ok()
}

impl Literals {
    fn new(map: HashMap<Vec<u8>, Vec<usize>>, fold: bool) -> Result<Option<Literals>, String> {
        if map.is_empty() {
            return Ok(None);
        }
        let (pats, owners): (Vec<Vec<u8>>, Vec<Vec<usize>>) = map.into_iter().unzip();
        // The paths searched are short: a faster build beats a faster search.
        let ac = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::NoncontiguousNFA))
            .ascii_case_insensitive(fold)
            .build(&pats)
            .map_err(|e| e.to_string())?;
        Ok(Some(Literals { ac, owners }))
    }
}

/// The longest run of literal bytes that every match of `re` (the `regex`
/// crate's syntax, Unicode off) contains, and whether `re` is that
/// literal and nothing else. `None` when there is none, or when the
/// syntax holds anything this reading does not fully understand (an
/// inline flag other than a leading `(?i)`, an escape with arguments,
/// a top-level alternation).
pub(crate) fn required_literal(re: &str) -> Option<Literal> {
    let (fold, body) = match re.strip_prefix("(?i)") {
        Some(rest) => (true, rest.as_bytes()),
        None => (false, re.as_bytes()),
    };
    let mut best: Vec<u8> = Vec::new();
    let mut run: Vec<u8> = Vec::new();
    let mut whole = true;
    let mut i = 0;
    while i < body.len() {
        let (atom, next) = atom(body, i)?;
        let (min, after) = quantifier(body, next)?;
        i = after;
        match (atom, min) {
            (Atom::Byte(b), None) => run.push(b),
            (Atom::Byte(b), Some(m)) => {
                whole = false;
                if m > 0 {
                    run.push(b);
                }
                keep_longer(&mut best, &mut run);
            }
            (Atom::Other, _) => {
                whole = false;
                keep_longer(&mut best, &mut run);
            }
            (Atom::Alternation, _) => return None,
        }
    }
    keep_longer(&mut best, &mut run);
    (!best.is_empty()).then_some(Literal {
        bytes: best,
        fold,
        whole,
    })
}

fn keep_longer(best: &mut Vec<u8>, run: &mut Vec<u8>) {
    if run.len() > best.len() {
        std::mem::swap(best, run);
    }
    run.clear();
}

/// One element of a regex at the top level.
enum Atom {
    /// A literal byte.
    Byte(u8),
    /// Anything else that matches (a class, a group, `.`, `\d`) or
    /// asserts (`^`, `\b`): it ends a run of literal bytes.
    Other,
    /// A `|` at the top level.
    Alternation,
}

/// The punctuation an escape makes literal (`\.` is `.`).
const ESCAPED: &[u8] = b"\\.-$()[]{}*+?|^/#&~ '\"";

/// The atom at `i` and where it ends; `None` for syntax not understood.
fn atom(re: &[u8], i: usize) -> Option<(Atom, usize)> {
    match re[i] {
        b'\\' => {
            let c = *re.get(i + 1)?;
            if ESCAPED.contains(&c) {
                Some((Atom::Byte(c), i + 2))
            } else if let Some(k) = b"ntrfva".iter().position(|&e| e == c) {
                Some((Atom::Byte(b"\n\t\r\x0c\x0b\x07"[k]), i + 2))
            } else if b"dDwWsSbBAz".contains(&c) {
                Some((Atom::Other, i + 2))
            } else {
                None
            }
        }
        b'[' => Some((Atom::Other, skip_class(re, i, 0)?)),
        b'(' => {
            if re.get(i + 1) == Some(&b'?') && !group_has_colon_or_name(re, i) {
                return None;
            }
            Some((Atom::Other, skip_group(re, i, 0)?))
        }
        b'|' => Some((Atom::Alternation, i + 1)),
        b'.' | b'^' | b'$' => Some((Atom::Other, i + 1)),
        b')' | b']' | b'{' | b'}' | b'*' | b'+' | b'?' => None,
        c if c.is_ascii() => Some((Atom::Byte(c), i + 1)),
        _ => Some((Atom::Other, i + 1)),
    }
}

/// Whether the group at `i` (`(?…`) is a scoped one — `(?flags:…)`,
/// `(?P<name>…)`, `(?<name>…)` — rather than flags for the rest.
fn group_has_colon_or_name(re: &[u8], i: usize) -> bool {
    match re.get(i + 2) {
        Some(b'P') | Some(b'<') => true,
        _ => {
            re[i + 2..]
                .iter()
                .take_while(|&&c| c.is_ascii_alphabetic() || c == b'-')
                .count()
                .checked_add(i + 2)
                .and_then(|end| re.get(end))
                == Some(&b':')
        }
    }
}

/// Deeper nesting of classes and groups gives no literal (the parser
/// refuses what is deeper than 250; this keeps the reading's stack small
/// whatever it is given).
const MAX_NESTING: usize = 32;

/// The end of the class opening at `i` (nested classes, escapes, a `]`
/// first is literal), `depth` classes and groups deep.
fn skip_class(re: &[u8], i: usize, depth: usize) -> Option<usize> {
    if depth > MAX_NESTING {
        return None;
    }
    let mut j = i + 1;
    if re.get(j) == Some(&b'^') {
        j += 1;
    }
    if re.get(j) == Some(&b']') {
        j += 1;
    }
    while j < re.len() {
        match re[j] {
            b'\\' => j += 2,
            b'[' => j = skip_class(re, j, depth + 1)?,
            b']' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// The end of the group opening at `i`, `depth` classes and groups deep.
fn skip_group(re: &[u8], i: usize, depth: usize) -> Option<usize> {
    if depth > MAX_NESTING {
        return None;
    }
    let mut j = i + 1;
    while j < re.len() {
        match re[j] {
            b'\\' => j += 2,
            b'[' => j = skip_class(re, j, depth + 1)?,
            b'(' => j = skip_group(re, j, depth + 1)?,
            b')' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// A repetition at `i`: its minimum (`None` when there is none) and where
/// it ends (a lazy `?` included).
fn quantifier(re: &[u8], i: usize) -> Option<(Option<u32>, usize)> {
    let (min, end) = match re.get(i) {
        Some(b'?') | Some(b'*') => (0, i + 1),
        Some(b'+') => (1, i + 1),
        Some(b'{') => {
            let close = i + re[i..].iter().position(|&c| c == b'}')?;
            let inner = std::str::from_utf8(&re[i + 1..close]).ok()?;
            let first = inner.split(',').next()?;
            let ok = inner.split(',').count() <= 2
                && inner.bytes().all(|c| c.is_ascii_digit() || c == b',');
            (ok.then(|| first.parse().ok())??, close + 1)
        }
        _ => return Some((None, i)),
    };
    let end = end + usize::from(re.get(end) == Some(&b'?'));
    Some((Some(min), end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(re: &str) -> Option<(String, bool, bool)> {
        required_literal(re).map(|l| (String::from_utf8(l.bytes).unwrap(), l.fold, l.whole))
    }

    #[test]
    fn literals_of_signature_base_shapes() {
        let s = |x: &str| x.to_string();
        assert_eq!(
            lit(r"\\libtcc\.dll"),
            Some((s(r"\libtcc.dll"), false, true))
        );
        assert_eq!(
            lit(r"\\[Ss]ystem32\\rdiskloc\.dll"),
            Some((s(r"ystem32\rdiskloc.dll"), false, false))
        );
        assert_eq!(lit(r"^/bin/rdt$"), Some((s("/bin/rdt"), false, false)));
        assert_eq!(lit(r"(?i)\\x\.exe"), Some((s(r"\x.exe"), true, true)));
        assert_eq!(
            lit(r"(Temp|Tmp|TEMP)\\penguin\.exe"),
            Some((s(r"\penguin.exe"), false, false))
        );
        assert_eq!(
            lit(r#"C:\\ProgramData\\CON\\[^\."]{1,40}\.aspx"#),
            Some((s(r"C:\ProgramData\CON\"), false, false))
        );
        assert_eq!(
            lit(r"\\AppData\\Local\\Microsoft\\credprov.tlb"),
            Some((s(r"\AppData\Local\Microsoft\credprov"), false, false))
        );
    }

    #[test]
    fn quantifiers_take_what_they_repeat_out_of_the_literal() {
        let s = |x: &str| x.to_string();
        assert_eq!(lit("abcd?ef"), Some((s("abc"), false, false)));
        assert_eq!(lit("abc*defg"), Some((s("defg"), false, false)));
        assert_eq!(lit("abc+defg"), Some((s("defg"), false, false)));
        assert_eq!(lit("abcd+efg"), Some((s("abcd"), false, false)));
        assert_eq!(lit("xy{0,3}abcd"), Some((s("abcd"), false, false)));
        assert_eq!(lit("abcde{2}fg"), Some((s("abcde"), false, false)));
        assert_eq!(lit("abc(de)?fgh"), Some((s("abc"), false, false)));
        assert_eq!(lit("ab[c]]de"), None);
        assert_eq!(lit("a{x}bc"), None);
    }

    #[test]
    fn what_is_not_understood_gives_no_literal() {
        for re in [
            "abc|def",
            r"abc\x41def",
            r"\pLabcdef",
            "abc(?i)def",
            "(?x)abc def",
            "abc(?",
            "abc[def",
            "é.exe",
            "",
        ] {
            let got = lit(re);
            assert!(
                got.as_ref().is_none_or(|(l, _, w)| !w && !l.contains('é')),
                "{re}: {got:?}"
            );
        }
        assert_eq!(lit("abc|def"), None);
        assert_eq!(lit("(?x)abc def"), None);
        assert_eq!(lit(r"abc\x41def"), None);
        assert_eq!(
            lit("(?i:ab)cdef(?P<n>x)gh"),
            Some(("cdef".to_string(), false, false))
        );
    }

    #[test]
    fn deep_nesting_gives_no_literal_and_no_deep_recursion() {
        let deep = format!("abcd{}x{}", "(".repeat(100_000), ")".repeat(100_000));
        assert_eq!(lit(&deep), None);
        let deep = format!("abcd{}", "[".repeat(100_000));
        assert_eq!(lit(&deep), None);
    }

    #[test]
    fn nested_and_bracket_first_classes_are_skipped_whole() {
        assert_eq!(
            lit(r"[[:alpha:]]abc[]x]defg[^]]hijkl"),
            Some(("hijkl".to_string(), false, false))
        );
        assert_eq!(
            lit(r"([a(b]c\)x)yz12"),
            Some(("yz12".to_string(), false, false))
        );
    }

    fn check_against_set(sources: &[String], hays: &[Vec<u8>]) {
        let set = RegexSetBuilder::new(sources)
            .unicode(false)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(SIZE_LIMIT)
            .build()
            .unwrap();
        let names = RegexIndex::new(sources.to_vec()).unwrap();
        for hay in hays {
            let want: Vec<usize> = set.matches(hay).iter().collect();
            let mut got = Vec::new();
            names.matches_into(hay, &mut got);
            got.sort_unstable();
            got.dedup();
            assert_eq!(got, want, "{}", String::from_utf8_lossy(hay));
        }
    }

    #[test]
    fn same_answers_as_one_regex_set_on_hand_made_cases() {
        let sources: Vec<String> = [
            r"\\libtcc\.dll",
            r"(?i)\\PSEXESVC\.exe",
            r"^/bin/rdt$",
            r"\\[Ss]ystem32\\rdiskloc\.dll",
            r"\\[0-9]\.(aspx|asp)",
            r"ab",
            r"evil(\.exe)?$",
            r"\\temp\rot\.exe",
        ]
        .map(String::from)
        .to_vec();
        let hays: Vec<Vec<u8>> = [
            r"C:\x\libtcc.dll",
            r"C:\x\LIBTCC.DLL",
            r"C:\windows\psexesvc.EXE",
            "/bin/rdt",
            "/usr/bin/rdt",
            "/bin/rdtx",
            r"C:\Windows\system32\rdiskloc.dll",
            r"C:\Windows\Xystem32\rdiskloc.dll",
            r"\\srv\4.aspx",
            r"\\srv\x.aspx",
            "tab",
            "evil.exe",
            "evil",
            "evil.exe.txt",
            "\\temp\rot.exe",
            r"\temp\rot.exe",
            "",
        ]
        .map(|s| s.as_bytes().to_vec())
        .to_vec();
        check_against_set(&sources, &hays);
    }

    #[test]
    fn same_answers_as_one_regex_set_over_the_built_in_pack() {
        let feeds = crate::packed::decode(crate::builtin::PACKED).unwrap();
        let sources: Vec<String> = feeds
            .iter()
            .flat_map(|(_, f)| f.entries.iter())
            .flat_map(|e| e.any.iter().flatten())
            .filter(|c| c.path == crate::feed::FILENAME_REGEX)
            .map(|c| c.value.clone())
            .collect();
        assert!(sources.len() > 2000, "{} regexes", sources.len());
        // Paths made to hit: each regex's literal in a Windows path, in
        // its case and upper-cased, then real paths of this machine.
        let mut hays: Vec<Vec<u8>> = Vec::new();
        for s in &sources {
            if let Some(l) = required_literal(s) {
                let mut h = b"C:\\Users\\x\\AppData".to_vec();
                h.extend_from_slice(&l.bytes);
                hays.push(h.clone());
                hays.push(h.to_ascii_uppercase());
                h.extend_from_slice(b".exe");
                hays.push(h);
                hays.push(l.bytes.clone());
            }
        }
        for dir in ["/usr/bin", "/etc", "/usr/lib/python3"] {
            if let Ok(rd) = std::fs::read_dir(dir) {
                for e in rd.flatten().take(500) {
                    let p = e.path().display().to_string();
                    hays.push(p.replace('/', "\\").into_bytes());
                    hays.push(p.into_bytes());
                }
            }
        }
        check_against_set(&sources, &hays);
    }
}
