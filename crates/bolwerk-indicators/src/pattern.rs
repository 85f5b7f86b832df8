//! The STIX 2.1 patterning language, as far as indicator feeds use it.
//!
//! A pattern is one or more *observation expressions* in square brackets,
//! joined by `AND` / `OR`; inside the brackets, *comparisons*
//! (`object-type:property.path = 'value'`) joined by `AND` / `OR`, with
//! parentheses for grouping (STIX 2.1 §9). Feeds such as MVT's and
//! Amnesty's use one equality per indicator; the grammar here also takes
//! `AND`/`OR` of equalities at either level, string escapes (`\'`, `\\`),
//! and quoted path steps (`file:hashes.'SHA-256'`).
//!
//! A file scan sees one object at a time, so the observation level's `AND`
//! is read as "all on the same object", like the comparison level's. The
//! parsed form is a disjunction of conjunctions ([`Pattern::any`]), which
//! is what the matcher needs: the indicator matches when every comparison
//! of any one conjunction matched.
//!
//! Everything the matcher could not honour — operators other than `=`,
//! `FOLLOWEDBY`, qualifiers (`WITHIN`, `REPEATS`, `START`) — is an error
//! naming it, so no indicator is silently read as something weaker. Input
//! is bounded: [`MAX_PATTERN_LEN`] bytes, [`MAX_DEPTH`] nesting levels,
//! [`MAX_TERMS`] comparisons after expansion.

use std::fmt;

/// The longest pattern accepted, in bytes.
pub const MAX_PATTERN_LEN: usize = 64 * 1024;
/// The deepest nesting of brackets and parentheses accepted.
pub const MAX_DEPTH: usize = 32;
/// The most comparisons a pattern may hold once expanded into a
/// disjunction of conjunctions.
pub const MAX_TERMS: usize = 256;

/// One equality: an object path and the value it must have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    /// The object path, normalised: lower case, hash names without dashes
    /// or quotes (`file:hashes.'SHA-256'` → `file:hashes.sha256`).
    pub path: String,
    /// The value, escapes resolved.
    pub value: String,
}

/// A parsed pattern: matches when all comparisons of any one conjunction
/// match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// The conjunctions, at least one, each with at least one comparison.
    pub any: Vec<Vec<Comparison>>,
}

/// Why a pattern was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    /// Byte offset in the pattern where the problem was seen.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for PatternError {}

/// Parse a STIX 2.1 pattern.
pub fn parse(pattern: &str) -> Result<Pattern, PatternError> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(err(0, format!("longer than {MAX_PATTERN_LEN} bytes")));
    }
    let tokens = tokenize(pattern)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
        end: pattern.len(),
    };
    let any = p.observation_or()?;
    if let Some(t) = p.tokens.get(p.pos) {
        return Err(err(t.offset, format!("unexpected {}", t.tok)));
    }
    Ok(Pattern { any })
}

fn err(offset: usize, message: impl Into<String>) -> PatternError {
    PatternError {
        offset,
        message: message.into(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    LBracket,
    RBracket,
    LParen,
    RParen,
    Colon,
    Dot,
    Op(String),
    Word(String),
    Str(String),
    Other(String),
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::LBracket => f.write_str("'['"),
            Tok::RBracket => f.write_str("']'"),
            Tok::LParen => f.write_str("'('"),
            Tok::RParen => f.write_str("')'"),
            Tok::Colon => f.write_str("':'"),
            Tok::Dot => f.write_str("'.'"),
            Tok::Op(o) => write!(f, "operator '{o}'"),
            Tok::Word(w) => write!(f, "'{w}'"),
            Tok::Str(s) => write!(f, "string '{s}'"),
            Tok::Other(s) => write!(f, "'{s}'"),
        }
    }
}

struct Token {
    tok: Tok,
    offset: usize,
}

fn tokenize(s: &str) -> Result<Vec<Token>, PatternError> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let c = b[i];
        let tok = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'[' | b']' | b'(' | b')' | b':' | b'.' => {
                i += 1;
                punct(c)
            }
            b'\'' => {
                let (v, next) = string(s, i + 1)?;
                i = next;
                Tok::Str(v)
            }
            b'=' | b'!' | b'<' | b'>' => {
                i += 1;
                while i < b.len() && matches!(b[i], b'=' | b'<' | b'>') {
                    i += 1;
                }
                Tok::Op(s[start..i].to_string())
            }
            c if is_word(c) => {
                while i < b.len() && is_word(b[i]) {
                    i += 1;
                }
                Tok::Word(s[start..i].to_string())
            }
            _ => {
                let ch = s[i..].chars().next().unwrap_or('?');
                i += ch.len_utf8();
                Tok::Other(ch.to_string())
            }
        };
        out.push(Token { tok, offset: start });
    }
    Ok(out)
}

fn punct(c: u8) -> Tok {
    match c {
        b'[' => Tok::LBracket,
        b']' => Tok::RBracket,
        b'(' => Tok::LParen,
        b')' => Tok::RParen,
        b':' => Tok::Colon,
        _ => Tok::Dot,
    }
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// A quoted string starting after its opening quote; returns the value and
/// the offset after the closing quote. Only `\'` and `\\` are escapes
/// (STIX 2.1 §9.2).
fn string(s: &str, mut i: usize) -> Result<(String, usize), PatternError> {
    let b = s.as_bytes();
    let open = i - 1;
    let mut v = String::new();
    let mut run = i;
    while i < b.len() {
        match b[i] {
            b'\'' => {
                v.push_str(&s[run..i]);
                return Ok((v, i + 1));
            }
            b'\\' => {
                v.push_str(&s[run..i]);
                match b.get(i + 1) {
                    Some(&e @ (b'\'' | b'\\')) => v.push(e as char),
                    _ => return Err(err(i, "only \\' and \\\\ are escapes in a string")),
                }
                i += 2;
                run = i;
            }
            _ => i += 1,
        }
    }
    Err(err(open, "string not closed"))
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    end: usize,
}

type Dnf = Vec<Vec<Comparison>>;

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |t| t.offset)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.tokens.get(self.pos).map(|t| t.tok.clone());
        self.pos += 1;
        t
    }

    fn expect(&mut self, want: Tok) -> Result<(), PatternError> {
        let at = self.offset();
        match self.next() {
            Some(t) if t == want => Ok(()),
            Some(t) => Err(err(at, format!("expected {want}, found {t}"))),
            None => Err(err(at, format!("expected {want}, found the end"))),
        }
    }

    fn keyword(&self) -> Option<String> {
        match self.peek() {
            Some(Tok::Word(w)) => Some(w.to_ascii_uppercase()),
            _ => None,
        }
    }

    fn enter(&mut self) -> Result<(), PatternError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(
                self.offset(),
                format!("nested deeper than {MAX_DEPTH}"),
            ));
        }
        Ok(())
    }

    /// `operand (KEYWORD operand)*`, folded with `combine`: the shape of
    /// every `AND` and `OR` level of the grammar.
    fn chain(
        &mut self,
        keyword: &str,
        operand: fn(&mut Self) -> Result<Dnf, PatternError>,
        combine: fn(Dnf, Dnf, usize) -> Result<Dnf, PatternError>,
    ) -> Result<Dnf, PatternError> {
        let mut dnf = operand(self)?;
        while self.keyword().as_deref() == Some(keyword) {
            self.pos += 1;
            let rhs = operand(self)?;
            dnf = combine(dnf, rhs, self.offset())?;
        }
        Ok(dnf)
    }

    /// observation (OR observation)*, with AND binding tighter.
    fn observation_or(&mut self) -> Result<Dnf, PatternError> {
        self.chain("OR", Self::observation_and, or)
    }

    fn observation_and(&mut self) -> Result<Dnf, PatternError> {
        let mut dnf = self.observation()?;
        loop {
            match self.keyword().as_deref() {
                Some("AND") => {
                    self.pos += 1;
                    let rhs = self.observation()?;
                    dnf = and(dnf, rhs, self.offset())?;
                }
                Some(k @ ("FOLLOWEDBY" | "WITHIN" | "REPEATS" | "START" | "STOP")) => {
                    return Err(err(self.offset(), format!("{k} is not supported")));
                }
                _ => return Ok(dnf),
            }
        }
    }

    /// `[ comparisons ]` or `( observations )`.
    fn observation(&mut self) -> Result<Dnf, PatternError> {
        self.enter()?;
        let at = self.offset();
        let dnf = match self.next() {
            Some(Tok::LBracket) => {
                let d = self.comparison_or()?;
                self.expect(Tok::RBracket)?;
                d
            }
            Some(Tok::LParen) => {
                let d = self.observation_or()?;
                self.expect(Tok::RParen)?;
                d
            }
            Some(t) => return Err(err(at, format!("expected '[', found {t}"))),
            None => return Err(err(at, "expected '[', found the end")),
        };
        self.depth -= 1;
        Ok(dnf)
    }

    fn comparison_or(&mut self) -> Result<Dnf, PatternError> {
        self.chain("OR", Self::comparison_and, or)
    }

    fn comparison_and(&mut self) -> Result<Dnf, PatternError> {
        self.chain("AND", Self::comparison_term, and)
    }

    fn comparison_term(&mut self) -> Result<Dnf, PatternError> {
        if self.peek() == Some(&Tok::LParen) {
            self.enter()?;
            self.pos += 1;
            let d = self.comparison_or()?;
            self.expect(Tok::RParen)?;
            self.depth -= 1;
            return Ok(d);
        }
        Ok(vec![vec![self.comparison()?]])
    }

    fn comparison(&mut self) -> Result<Comparison, PatternError> {
        let path = self.object_path()?;
        let at = self.offset();
        match self.next() {
            Some(Tok::Op(o)) if o == "=" => {}
            Some(Tok::Op(o)) => return Err(err(at, format!("operator '{o}' is not supported"))),
            Some(Tok::Word(w)) => {
                return Err(err(at, format!("operator '{w}' is not supported")));
            }
            Some(t) => return Err(err(at, format!("expected '=', found {t}"))),
            None => return Err(err(at, "expected '=', found the end")),
        }
        let value = self.value()?;
        Ok(Comparison { path, value })
    }

    /// A quoted string, a number or a boolean (STIX 2.1 §9.3's literals
    /// that an equality on a file scan can use).
    fn value(&mut self) -> Result<String, PatternError> {
        let at = self.offset();
        match self.next() {
            Some(Tok::Str(v)) => Ok(v),
            Some(Tok::Word(w)) if w == "true" || w == "false" => Ok(w),
            Some(Tok::Word(w)) if w.parse::<i64>().is_ok() => {
                let frac = match (self.peek(), self.tokens.get(self.pos + 1).map(|t| &t.tok)) {
                    (Some(Tok::Dot), Some(Tok::Word(f)))
                        if f.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        Some(f.clone())
                    }
                    _ => None,
                };
                match frac {
                    Some(f) => {
                        self.pos += 2;
                        Ok(format!("{w}.{f}"))
                    }
                    None => Ok(w),
                }
            }
            Some(Tok::Word(w)) => Err(err(at, format!("'{w}' is not a literal (quote strings)"))),
            Some(t) => Err(err(at, format!("expected a value, found {t}"))),
            None => Err(err(at, "expected a value, found the end")),
        }
    }

    /// `type:prop(.prop | .'quoted')*`, normalised.
    fn object_path(&mut self) -> Result<String, PatternError> {
        let at = self.offset();
        let Some(Tok::Word(ty)) = self.next() else {
            return Err(err(at, "expected an object type such as 'file'"));
        };
        self.expect(Tok::Colon)?;
        let mut path = format!("{}:", ty.to_ascii_lowercase());
        path.push_str(&self.path_step()?);
        while self.peek() == Some(&Tok::Dot) {
            self.pos += 1;
            path.push('.');
            path.push_str(&self.path_step()?);
        }
        Ok(path)
    }

    fn path_step(&mut self) -> Result<String, PatternError> {
        let at = self.offset();
        match self.next() {
            Some(Tok::Word(w) | Tok::Str(w)) => Ok(normalise_step(&w)),
            Some(t) => Err(err(at, format!("expected a property name, found {t}"))),
            None => Err(err(at, "expected a property name, found the end")),
        }
    }
}

/// Property names compare case-insensitively, and hash names are written
/// both `SHA-256` and `sha256` in the wild.
fn normalise_step(s: &str) -> String {
    s.to_ascii_lowercase().replace('-', "")
}

fn or(mut a: Dnf, b: Dnf, at: usize) -> Result<Dnf, PatternError> {
    a.extend(b);
    check_size(&a, at)?;
    Ok(a)
}

fn and(a: Dnf, b: Dnf, at: usize) -> Result<Dnf, PatternError> {
    if a.len().saturating_mul(b.len()) > MAX_TERMS {
        return Err(err(at, format!("more than {MAX_TERMS} comparisons")));
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in &a {
        for y in &b {
            out.push(x.iter().chain(y).cloned().collect());
        }
    }
    check_size(&out, at)?;
    Ok(out)
}

fn check_size(d: &Dnf, at: usize) -> Result<(), PatternError> {
    let n: usize = d.iter().map(Vec::len).sum();
    if n > MAX_TERMS {
        return Err(err(at, format!("more than {MAX_TERMS} comparisons")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(path: &str, value: &str) -> Pattern {
        Pattern {
            any: vec![vec![Comparison {
                path: path.into(),
                value: value.into(),
            }]],
        }
    }

    #[test]
    fn single_comparisons() {
        assert_eq!(
            parse("[domain-name:value='x.com']").unwrap(),
            one("domain-name:value", "x.com")
        );
        assert_eq!(
            parse("[ file:hashes.'SHA-256' = 'AB' ]").unwrap(),
            one("file:hashes.sha256", "AB")
        );
        assert_eq!(
            parse("[file:hashes.sha256='ab']").unwrap(),
            one("file:hashes.sha256", "ab")
        );
        assert_eq!(
            parse("[app:cert.sha256='ff']").unwrap(),
            one("app:cert.sha256", "ff")
        );
    }

    #[test]
    fn escapes_and_equals_in_values() {
        assert_eq!(
            parse(r"[url:value = 'http://a.b/?q=1&r=it\'s']").unwrap(),
            one("url:value", "http://a.b/?q=1&r=it's")
        );
        assert_eq!(
            parse(r"[file:path = 'C:\\Temp\\x = y']").unwrap(),
            one("file:path", r"C:\Temp\x = y")
        );
        assert_eq!(
            parse("[process:name = 'a] OR [b']").unwrap(),
            one("process:name", "a] OR [b")
        );
    }

    #[test]
    fn and_or_at_both_levels() {
        let p = parse("[file:name = 'a' AND file:hashes.md5 = 'b' OR file:name = 'c']").unwrap();
        assert_eq!(p.any.len(), 2);
        assert_eq!(p.any[0].len(), 2);
        assert_eq!(p.any[1][0].value, "c");
        let p = parse("[file:name = 'a'] AND ([domain-name:value = 'b'] OR [url:value = 'c'])")
            .unwrap();
        assert_eq!(p.any.len(), 2);
        assert!(p.any.iter().all(|c| c.len() == 2 && c[0].value == "a"));
        let p = parse("[(file:name = 'a' OR file:name = 'b') AND file:size = 3]").unwrap();
        assert_eq!(p.any.len(), 2);
        assert_eq!(
            p.any[1][1],
            Comparison {
                path: "file:size".into(),
                value: "3".into()
            }
        );
        let p = parse("[file:size = -1 AND x:y = 1.25 AND x:z = true]").unwrap();
        let values: Vec<&str> = p.any[0].iter().map(|c| c.value.as_str()).collect();
        assert_eq!(values, ["-1", "1.25", "true"]);
    }

    #[test]
    fn refused_with_reason() {
        let e = |s: &str| parse(s).unwrap_err().message;
        assert!(e("[file:name != 'a']").contains("'!='"));
        assert!(e("[file:name LIKE 'a%']").contains("LIKE"));
        assert!(e("[file:name = 'a'] FOLLOWEDBY [file:name = 'b']").contains("FOLLOWEDBY"));
        assert!(e("[file:name = 'a'] WITHIN 5 SECONDS").contains("WITHIN"));
        assert!(e("[file:name = 'a").contains("not closed"));
        assert!(e(r"[file:name = 'a\n']").contains("escapes"));
        assert!(e("[file:name = 'a'").contains("']'"));
        assert!(e("file:name = 'a'").contains("'['"));
        assert!(e("").contains("the end"));
        assert!(e(&"(".repeat(100)).contains("deeper"));
        assert!(e(&format!("[{}", "(".repeat(100))).contains("deeper"));
        assert!(e("[file:name = abc]").contains("not a literal"));
        let wide = ["([file:name = 'a'] OR [file:name = 'b'])"; 10].join(" AND ");
        assert!(e(&wide).contains("comparisons"));
    }
}
