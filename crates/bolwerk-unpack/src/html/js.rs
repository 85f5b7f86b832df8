//! ClamAV's third copy of an HTML page: its scripts, normalised as its
//! JavaScript normaliser writes them (the `javascript` file of
//! `clamscan --leave-temps`), which HTML signatures (target type 3), text
//! signatures (target 7) and the generic ones are written against.
//!
//! Each script — the bytes of the HTML reader's stream from after the
//! `<script …>` tag to after its `</script>` tag, or to the end of the page
//! — is read as ClamAV reads it (measured with `clamscan --leave-temps`,
//! ClamAV 1.4.6):
//! * **Tokens.** Whitespace, comments (`/* */`, and `//` up to the next
//!   space: the reader has made line ends spaces) and bytes that start no
//!   token (`#`, `@`, `` ` ``, form feeds, bytes of 0x80 and above) go.
//!   Numbers are digits with at most one `.` and, after it, an exponent;
//!   there are no hexadecimal numbers (`0x10` is `0` then `x10`). String
//!   escapes are decoded. Operators are the longest of ECMAScript 3's, so
//!   `<!--` is `<`, `!`, `--`; regular expressions are not recognised.
//! * **Names.** Identifiers declared with `var`, as parameters or as a
//!   function's name become `n000`, `n001`, … in the order of their
//!   declaration within the script (a name declared twice in one scope
//!   takes the later number everywhere); other identifiers, member names
//!   after `.` and keywords stay as written. A function's name belongs to
//!   the function's own scope, as in ClamAV.
//! * **Folding and decoding.** `"a" + "b"` becomes `"ab"`;
//!   `unescape("…")` of a string becomes the string unescaped; then
//!   `eval("…")` is replaced by the tokens of its string, scriptasylum's
//!   `dF("…")` encoder is decoded (its tokens go to the end), and Dean
//!   Edwards' packer (`function(p,a,c,k,e,r)` called with its word list) is
//!   unpacked in place.
//! * **Output.** `<script>`, the tokens in lower case with a space only
//!   between two that would otherwise join (a word or number after a word or
//!   number), integers as C's `%ld` and other numbers as `%g`, strings in
//!   double quotes, and `</script>` unless the tokens already end with it.
//!   Scripts are separated by a line feed. A trailing number or
//!   identifier that nothing follows is lost, as in ClamAV.
//!
//! Bounded: at most [`MAX_TOKENS`] tokens per script (the rest of a longer
//! script is not read into the copy), at most [`MAX_DECODED`] bytes and
//! [`MAX_DECODES`] decodings per script (ClamAV has no such bounds; real
//! scripts come nowhere near them). Work is linear in the input apart from
//! the packer's unpacking, which runs at most [`MAX_UNPACKS`] times.

use std::collections::{HashMap, VecDeque};

/// Tokens kept per script.
pub const MAX_TOKENS: usize = 1 << 22;
/// Bytes decoded (by `eval`, `dF` and the packer) per script.
pub const MAX_DECODED: usize = 16 << 20;
/// Decodings per script.
pub const MAX_DECODES: usize = 4096;
/// Packer unpackings per script (each may move the rest of the tokens).
pub const MAX_UNPACKS: usize = 16;

/// The `javascript` copy of a page being written: one script at a time.
#[derive(Debug, Default)]
pub(super) struct Scripts {
    pub(super) out: Vec<u8>,
}

impl Scripts {
    /// Normalise one script (its source in the pieces the HTML reader
    /// reads it in) and append it to the copy.
    pub(super) fn script(&mut self, parts: Vec<&[u8]>) {
        let mut p = Parser::new();
        for part in parts {
            p.feed(part);
        }
        p.done();
        p.output(&mut self.out);
    }
}

/// What a token is, as far as the normaliser's rules tell tokens apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ident,
    /// A member name after `.`: never renamed.
    Unnorm,
    Str,
    Int,
    Float,
    /// `function`; its scope, or none for the marker of a function's end
    /// (which is not written out).
    Function,
    Var,
    Dot,
    Comma,
    Semicolon,
    ParOpen,
    ParClose,
    CurlyOpen,
    CurlyClose,
    BracketOpen,
    BracketClose,
    Plus,
    /// Other operators and keywords.
    Other,
}

/// Where a token's text is: in the parser's arena (`a` its start, `b` its
/// length) or in [`STATIC`] (`a` its index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    Arena,
    Static,
    /// Numbers (the value's bits in `a` and `b`) and functions (`a`: the
    /// scope's index plus one, 0 for a function's end).
    None,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    text: Text,
    a: u32,
    b: u32,
}

impl Token {
    fn number(kind: Kind, bits: u64) -> Token {
        Token {
            kind,
            text: Text::None,
            a: (bits >> 32) as u32,
            b: bits as u32,
        }
    }

    fn bits(&self) -> u64 {
        u64::from(self.a) << 32 | u64::from(self.b)
    }

    /// The scope a `function` token opens (`None`: a function's end).
    fn scope(&self) -> Option<usize> {
        (self.kind == Kind::Function && self.a > 0).then(|| self.a as usize - 1)
    }
}

/// Operators (longest first within each first byte does not matter: the
/// lexer tries lengths from 4 down), keywords and punctuators: the texts
/// tokens point to with [`Text::Static`].
const STATIC: &[&[u8]] = &[
    // Operators.
    b">",
    b">>",
    b">>>",
    b">=",
    b">>=",
    b">>>=",
    b"=",
    b"==",
    b"===",
    b"<=",
    b"<<=",
    b"<",
    b"<<",
    b"/=",
    b"|=",
    b"*=",
    b"~",
    b"-=",
    b"/",
    b"+=",
    b"%=",
    b"|",
    b"||",
    b"*",
    b"&=",
    b"-",
    b"--",
    b"!=",
    b"!==",
    b"+",
    b"++",
    b"%",
    b"^=",
    b"?",
    b"&",
    b"&&",
    b":",
    b"!",
    b"^",
    // Punctuators.
    b"[",
    b"]",
    b",",
    b"{",
    b"}",
    b"(",
    b")",
    b".",
    b";",
    // Keywords (ECMAScript 3's, with its future reserved words).
    b"break",
    b"case",
    b"catch",
    b"continue",
    b"default",
    b"delete",
    b"do",
    b"else",
    b"finally",
    b"for",
    b"function",
    b"if",
    b"in",
    b"instanceof",
    b"new",
    b"return",
    b"switch",
    b"this",
    b"throw",
    b"try",
    b"typeof",
    b"var",
    b"void",
    b"while",
    b"with",
    b"null",
    b"true",
    b"false",
    b"abstract",
    b"boolean",
    b"byte",
    b"char",
    b"class",
    b"const",
    b"debugger",
    b"double",
    b"enum",
    b"export",
    b"extends",
    b"final",
    b"float",
    b"goto",
    b"implements",
    b"import",
    b"int",
    b"interface",
    b"long",
    b"native",
    b"package",
    b"private",
    b"protected",
    b"public",
    b"short",
    b"static",
    b"super",
    b"synchronized",
    b"throws",
    b"transient",
    b"volatile",
];

/// How many of [`STATIC`]'s entries are operators, and where the keywords
/// start.
const OPERATORS: usize = 39;
const KEYWORDS: usize = OPERATORS + PUNCTUATORS.len();
/// The punctuators, in [`STATIC`]'s order.
const PUNCTUATORS: &[u8] = b"[],{}().;";

/// The longest operator at the start of `rest` (which starts with an
/// operator byte, each of which is an operator by itself).
fn operator(rest: &[u8]) -> (Kind, usize, usize) {
    for len in (1..=rest.len().min(4)).rev() {
        if let Some(i) = STATIC[..OPERATORS].iter().position(|s| *s == &rest[..len]) {
            let kind = if len == 1 && rest[0] == b'+' {
                Kind::Plus
            } else {
                Kind::Other
            };
            return (kind, i, len);
        }
    }
    (Kind::Other, 0, 1)
}

/// A keyword's kind and index in [`STATIC`].
fn keyword(word: &[u8]) -> Option<(Kind, usize)> {
    let i = KEYWORDS + STATIC[KEYWORDS..].iter().position(|s| *s == word)?;
    let kind = match word {
        b"var" => Kind::Var,
        b"function" => Kind::Function,
        _ => Kind::Other,
    };
    Some((kind, i))
}

/// The classes of bytes at the start of a token.
#[derive(Clone, Copy)]
enum Class {
    Space,
    Slash,
    Op,
    DQuote,
    SQuote,
    Digit,
    IdStart,
    Punct(Kind),
    Nop,
}

fn class(c: u8) -> Class {
    match c {
        b'\t' | b'\n' | 0x0b | b'\r' | b' ' => Class::Space,
        b'/' => Class::Slash,
        b'!' | b'%' | b'&' | b'*' | b'+' | b'-' | b':' | b'<' | b'=' | b'>' | b'?' | b'^'
        | b'|' | b'~' => Class::Op,
        b'"' => Class::DQuote,
        b'\'' => Class::SQuote,
        b'0'..=b'9' => Class::Digit,
        b'$' | b'\\' | b'_' | b'A'..=b'Z' | b'a'..=b'z' => Class::IdStart,
        b'[' => Class::Punct(Kind::BracketOpen),
        b']' => Class::Punct(Kind::BracketClose),
        b',' => Class::Punct(Kind::Comma),
        b'{' => Class::Punct(Kind::CurlyOpen),
        b'}' => Class::Punct(Kind::CurlyClose),
        b'(' => Class::Punct(Kind::ParOpen),
        b')' => Class::Punct(Kind::ParClose),
        b'.' => Class::Punct(Kind::Dot),
        b';' => Class::Punct(Kind::Semicolon),
        _ => Class::Nop,
    }
}

fn is_id(c: u8) -> bool {
    matches!(c, b'$' | b'0'..=b'9' | b'A'..=b'Z' | b'_' | b'a'..=b'z')
}

/// The lexer's state between tokens (and across the pieces of input fed
/// to it: a decoded string is read by the same lexer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    Initial,
    Multiline,
    Singleline,
    Number,
    DQuote,
    SQuote,
    Ident,
}

/// A token as the lexer hands it on: its text is the lexer's buffer
/// unless static.
enum Lexed {
    Buf(Kind),
    Static(Kind, usize),
    Int(i64),
    Float(f64),
}

struct Lexer {
    state: Lex,
    buf: Vec<u8>,
}

impl Lexer {
    /// The next token of `input` from `*pos`, or `None` at its end (where
    /// an unfinished string, number or identifier waits for more input).
    fn next(&mut self, input: &[u8], pos: &mut usize) -> Option<Lexed> {
        while *pos < input.len() {
            match self.state {
                Lex::Initial => {
                    self.buf.clear();
                    let c = input[*pos];
                    *pos += 1;
                    match class(c) {
                        Class::Space | Class::Nop => {}
                        Class::Slash => match input.get(*pos) {
                            Some(b'*') => {
                                self.state = Lex::Multiline;
                                *pos += 1;
                            }
                            Some(b'/') => {
                                self.state = Lex::Singleline;
                                *pos += 1;
                            }
                            _ => return Some(self.operator(input, pos)),
                        },
                        Class::Op => return Some(self.operator(input, pos)),
                        Class::DQuote => return self.string(input, pos, b'"'),
                        Class::SQuote => return self.string(input, pos, b'\''),
                        Class::Digit => {
                            *pos -= 1;
                            return self.number(input, pos);
                        }
                        Class::IdStart => {
                            *pos -= 1;
                            return self.ident(input, pos);
                        }
                        Class::Punct(kind) => {
                            let i = PUNCTUATORS.iter().position(|&p| p == c).unwrap_or(0);
                            return Some(Lexed::Static(kind, OPERATORS + i));
                        }
                    }
                }
                Lex::DQuote => return self.string(input, pos, b'"'),
                Lex::SQuote => return self.string(input, pos, b'\''),
                Lex::Ident => return self.ident(input, pos),
                Lex::Number => return self.number(input, pos),
                Lex::Multiline => {
                    while *pos + 1 < input.len() {
                        if input[*pos] == b'*' && input[*pos + 1] == b'/' {
                            self.state = Lex::Initial;
                            *pos += 1;
                            break;
                        }
                        *pos += 1;
                    }
                    *pos += 1;
                }
                Lex::Singleline => {
                    while *pos < input.len() && !matches!(input[*pos], b'\n' | b' ') {
                        *pos += 1;
                    }
                    self.state = Lex::Initial;
                }
            }
        }
        None
    }

    /// An operator at `*pos - 1`.
    fn operator(&mut self, input: &[u8], pos: &mut usize) -> Lexed {
        *pos -= 1;
        let (kind, i, len) = operator(&input[*pos..]);
        *pos += len;
        Lexed::Static(kind, i)
    }

    /// A string's bytes up to the closing quote `q` (one after a backslash
    /// does not close it), escapes decoded.
    fn string(&mut self, input: &[u8], pos: &mut usize, q: u8) -> Option<Lexed> {
        let start = *pos;
        let mut from = start;
        let end = loop {
            match memchr::memchr(q, &input[from..]) {
                Some(k) if from + k > start && input[from + k - 1] == b'\\' => from += k + 1,
                Some(k) => break Some(from + k),
                None => break None,
            }
        };
        let len = end.unwrap_or(input.len()) - start;
        append_unescaped(&mut self.buf, &input[start..start + len]);
        match end {
            Some(_) => {
                *pos += len + 1;
                self.state = Lex::Initial;
                Some(Lexed::Buf(Kind::Str))
            }
            None => {
                *pos += len;
                self.state = if q == b'"' { Lex::DQuote } else { Lex::SQuote };
                None
            }
        }
    }

    fn number(&mut self, input: &[u8], pos: &mut usize) -> Option<Lexed> {
        let mut float = false;
        while *pos < input.len() {
            let c = input[*pos];
            *pos += 1;
            if c.is_ascii_digit() {
                self.buf.push(c);
                continue;
            }
            if c == b'.' && !float {
                float = true;
                self.buf.push(c);
                continue;
            }
            if matches!(c, b'e' | b'E') && float {
                self.buf.push(c);
                if let Some(&d) = input.get(*pos) {
                    *pos += 1;
                    if d == b'+' || d == b'-' || d.is_ascii_digit() {
                        self.buf.push(d);
                        continue;
                    }
                }
            }
            *pos -= 1;
            self.state = Lex::Initial;
            return Some(if float {
                Lexed::Float(atof(&self.buf))
            } else {
                Lexed::Int(atoi(&self.buf))
            });
        }
        self.state = Lex::Number;
        None
    }

    /// An identifier or keyword. A backslash is kept only before `u`
    /// (which goes); otherwise it ends the identifier, as in ClamAV.
    fn ident(&mut self, input: &[u8], pos: &mut usize) -> Option<Lexed> {
        self.state = Lex::Initial;
        while *pos < input.len() {
            let c = input[*pos];
            *pos += 1;
            if is_id(c) {
                self.buf.push(c);
                continue;
            }
            if c == b'\\' {
                if *pos < input.len() {
                    *pos += 1;
                    if input[*pos - 1] == b'u' {
                        self.buf.push(c);
                        continue;
                    }
                }
                if *pos == input.len() {
                    *pos += 1;
                }
            }
            *pos -= 1;
            return Some(match keyword(&self.buf) {
                Some((kind, i)) => Lexed::Static(kind, i),
                None => Lexed::Buf(Kind::Ident),
            });
        }
        self.state = Lex::Ident;
        None
    }
}

/// C's `atoi` of a run of digits: `strtol`'s saturated value cut to 32
/// bits.
fn atoi(digits: &[u8]) -> i64 {
    let mut v: i64 = 0;
    for &d in digits {
        v = v.saturating_mul(10).saturating_add(i64::from(d - b'0'));
    }
    i64::from(v as i32)
}

/// C's `atof` of what the lexer read as a number: the longest prefix that
/// is one.
fn atof(text: &[u8]) -> f64 {
    let int = text.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut end = int;
    if text.get(end) == Some(&b'.') {
        end += 1;
        end += text[end..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
    }
    if matches!(text.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(text.get(end + 1), Some(b'+' | b'-')));
        let digits = text[(end + 1 + sign).min(text.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits > 0 {
            end += 1 + sign + digits;
        }
    }
    let mut s = String::from_utf8_lossy(&text[..end]).into_owned();
    if s.ends_with('.') || s.contains(".e") || s.contains(".E") {
        s = s.replacen('.', ".0", 1);
    }
    s.parse().unwrap_or(0.0)
}

/// C's `%g`: six significant digits, trailing zeros dropped, an exponent
/// below 1e-4 and from 1e6.
fn format_g(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v.is_nan() {
        return "nan".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let sci = format!("{v:.5e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if (-4..6).contains(&exp) {
        let decimals = usize::try_from(5 - exp).unwrap_or(0);
        trim(&format!("{v:.decimals$}"))
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exp.unsigned_abs())
    }
}

/// A hexadecimal digit's value, or -1.
fn hex(c: Option<&u8>) -> i32 {
    c.and_then(|c| char::from(*c).to_digit(16))
        .map_or(-1, |d| d as i32)
}

/// ClamAV's value of hex digits: each missing or invalid digit but the
/// last counts as 0; an invalid last one sets every bit.
fn hex_value(digits: &[Option<&u8>]) -> i32 {
    let (last, init) = digits.split_last().unwrap_or((&None, &[]));
    let mut v = 0;
    for d in init {
        v = v << 4 | hex(*d).max(0);
    }
    v << 4 | hex(*last)
}

/// A code unit as UTF-8 (up to three bytes; 0 as 1: no NUL is kept).
fn push_utf8(out: &mut Vec<u8>, u: u16) {
    match u {
        0 => out.push(1),
        0x01..=0x7f => out.push(u as u8),
        0x80..=0x7ff => out.extend_from_slice(&[0xc0 | (u >> 6) as u8, 0x80 | (u & 0x3f) as u8]),
        _ => out.extend_from_slice(&[
            0xe0 | (u >> 12) as u8,
            0x80 | ((u >> 6) & 0x3f) as u8,
            0x80 | (u & 0x3f) as u8,
        ]),
    }
}

/// A string literal's escapes decoded (`\0 \b \t \n \v \f \r \xHH
/// \uHHHH`, any other escaped byte as itself), as ClamAV decodes them.
fn append_unescaped(out: &mut Vec<u8>, s: &[u8]) {
    let mut i = 0;
    while i < s.len() {
        let mut c = s[i];
        if c == b'\\' && i + 1 < s.len() {
            i += 1;
            match s[i] {
                b'0' => c = 0,
                b'b' => c = 8,
                b't' => c = 9,
                b'n' => c = 10,
                b'v' => c = 11,
                b'f' => c = 12,
                b'r' => c = 13,
                b'x' => {
                    if i + 2 < s.len() {
                        c = hex_value(&[s.get(i + 1), s.get(i + 2)]) as u8;
                    }
                    i += 2;
                }
                b'u' => {
                    if i + 4 < s.len() {
                        let digits = [s.get(i + 1), s.get(i + 2), s.get(i + 3), s.get(i + 4)];
                        push_utf8(out, hex_value(&digits) as u16);
                        i += 5;
                        continue;
                    }
                }
                other => c = other,
            }
        }
        out.push(if c == 0 { 1 } else { c });
        i += 1;
    }
}

/// JavaScript's `unescape` as ClamAV has it: `%uHHHH` as UTF-8, `%HH` as
/// the byte, NUL as 1.
fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut k = 0;
    while k < s.len() {
        let mut c = s[k];
        if c == b'%' {
            let u = k + 5 < s.len()
                && s[k + 1] == b'u'
                && s[k + 2..k + 6].iter().all(u8::is_ascii_hexdigit);
            if u {
                let digits = [s.get(k + 2), s.get(k + 3), s.get(k + 4), s.get(k + 5)];
                push_utf8(&mut out, hex_value(&digits) as u16);
                k += 6;
                continue;
            }
            if k + 2 < s.len() && s[k + 1].is_ascii_hexdigit() && s[k + 2].is_ascii_hexdigit() {
                c = hex_value(&[s.get(k + 1), s.get(k + 2)]) as u8;
                k += 2;
            }
        }
        out.push(if c == 0 { 1 } else { c });
        k += 1;
    }
    out
}

/// Where the parser is in a declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fsm {
    Base,
    InsideVar,
    InsideInitializer,
    WaitFunctionName,
    WaitParameterList,
    InsideFunctionDecl,
}

/// A function's scope (or the script's): the identifiers seen in it, with
/// the number of their last declaration here, if any.
struct Scope {
    ids: HashMap<Vec<u8>, Option<u64>>,
    parent: Option<usize>,
    fsm: Fsm,
    last: Option<Kind>,
    brackets: u32,
    blocks: u32,
}

impl Scope {
    fn new(parent: Option<usize>) -> Scope {
        Scope {
            ids: HashMap::new(),
            parent,
            fsm: Fsm::Base,
            last: None,
            brackets: 0,
            blocks: 0,
        }
    }
}

/// A decoding found by a decoder: the tokens it replaces (offsets from the
/// current token) and the text whose tokens replace them, or go to the
/// end (`append`).
struct Decode {
    begin: usize,
    end: usize,
    text: Vec<u8>,
    append: bool,
}

struct Parser {
    lexer: Lexer,
    scopes: Vec<Scope>,
    current: usize,
    next_id: u64,
    tokens: Vec<Token>,
    arena: Vec<u8>,
    /// How many tokens [`Parser::feed`] may keep.
    room: usize,
    decoded: usize,
    decodes: usize,
    unpacks: usize,
}

impl Parser {
    fn new() -> Parser {
        Parser {
            lexer: Lexer {
                state: Lex::Initial,
                buf: Vec::new(),
            },
            scopes: vec![Scope::new(None)],
            current: 0,
            next_id: 0,
            tokens: Vec::new(),
            arena: Vec::new(),
            room: MAX_TOKENS,
            decoded: 0,
            decodes: 0,
            unpacks: 0,
        }
    }

    fn text(&self, t: &Token) -> Option<&[u8]> {
        match t.text {
            Text::Arena => Some(&self.arena[t.a as usize..(t.a + t.b) as usize]),
            Text::Static => Some(STATIC[t.a as usize]),
            Text::None => None,
        }
    }

    fn is_named(&self, t: &Token, name: &[u8]) -> bool {
        t.kind == Kind::Ident && self.text(t) == Some(name)
    }

    fn arena_token(&mut self, kind: Kind, text: &[u8]) -> Token {
        let a = self.arena.len() as u32;
        self.arena.extend_from_slice(text);
        Token {
            kind,
            text: Text::Arena,
            a,
            b: text.len() as u32,
        }
    }

    /// Read `input` into tokens, tracking declarations and scopes.
    fn feed(&mut self, input: &[u8]) {
        let mut pos = 0;
        while self.tokens.len() < self.room {
            let Some(lexed) = self.lexer.next(input, &mut pos) else {
                return;
            };
            let (kind, token) = match lexed {
                Lexed::Int(v) => (Kind::Int, Token::number(Kind::Int, v as u64)),
                Lexed::Float(v) => (Kind::Float, Token::number(Kind::Float, v.to_bits())),
                Lexed::Static(kind, i) => (
                    kind,
                    Token {
                        kind,
                        text: Text::Static,
                        a: i as u32,
                        b: 0,
                    },
                ),
                Lexed::Buf(kind) => {
                    let text = std::mem::take(&mut self.lexer.buf);
                    let token = self.arena_token(kind, &text);
                    self.lexer.buf = text;
                    (kind, token)
                }
            };
            if let Some(token) = self.parse(kind, token) {
                self.tokens.push(token);
                self.scopes[self.current].last = Some(kind);
            }
        }
    }

    /// What one token does to the declaration state; the token to keep,
    /// or `None` when it was folded into the one before.
    fn parse(&mut self, kind: Kind, mut token: Token) -> Option<Token> {
        let cur = self.current;
        let scope = &mut self.scopes[cur];
        match kind {
            Kind::Var => scope.fsm = Fsm::InsideVar,
            Kind::Ident => {
                if scope.last == Some(Kind::Dot) {
                    token.kind = Kind::Unnorm;
                } else {
                    let name = self.arena[token.a as usize..(token.a + token.b) as usize].to_vec();
                    self.identifier(name);
                }
            }
            Kind::ParOpen => {
                if matches!(scope.fsm, Fsm::WaitFunctionName | Fsm::WaitParameterList) {
                    scope.fsm = Fsm::InsideFunctionDecl;
                }
            }
            Kind::ParClose if scope.fsm == Fsm::WaitParameterList => scope.fsm = Fsm::Base,
            Kind::CurlyOpen => {
                if matches!(
                    scope.fsm,
                    Fsm::WaitFunctionName | Fsm::WaitParameterList | Fsm::InsideFunctionDecl
                ) {
                    scope.fsm = Fsm::Base;
                }
                scope.blocks += 1;
            }
            Kind::CurlyClose => {
                scope.blocks = scope.blocks.saturating_sub(1);
                if scope.blocks == 0 {
                    if let Some(parent) = scope.parent {
                        self.tokens.push(token);
                        self.current = parent;
                        token = Token {
                            kind: Kind::Function,
                            text: Text::None,
                            a: 0,
                            b: 0,
                        };
                    }
                }
            }
            Kind::BracketOpen => scope.brackets += 1,
            Kind::BracketClose => scope.brackets = scope.brackets.saturating_sub(1),
            Kind::Comma
                if scope.fsm == Fsm::InsideInitializer
                    && scope.brackets == 0
                    && scope.blocks == 0 =>
            {
                scope.fsm = Fsm::InsideVar;
            }
            Kind::Semicolon if scope.brackets == 0 && scope.blocks == 0 => scope.fsm = Fsm::Base,
            Kind::Function => {
                self.scopes.push(Scope::new(Some(cur)));
                self.current = self.scopes.len() - 1;
                self.scopes[self.current].fsm = Fsm::WaitFunctionName;
                token = Token {
                    kind: Kind::Function,
                    text: Text::None,
                    a: self.current as u32 + 1,
                    b: 0,
                };
            }
            Kind::Str => return self.fold(token),
            _ => {}
        }
        Some(token)
    }

    /// An identifier outside a member access: declared or used, by where
    /// the declaration state is.
    fn identifier(&mut self, name: Vec<u8>) {
        let scope = &mut self.scopes[self.current];
        match scope.fsm {
            Fsm::WaitParameterList | Fsm::Base | Fsm::InsideInitializer => {
                scope.ids.entry(name).or_insert(None);
            }
            Fsm::InsideVar | Fsm::InsideFunctionDecl => {
                scope.ids.insert(name, Some(self.next_id));
                self.next_id += 1;
                scope.fsm = Fsm::InsideInitializer;
                scope.brackets = 0;
            }
            Fsm::WaitFunctionName => {
                scope.ids.insert(name, Some(self.next_id));
                self.next_id += 1;
                scope.fsm = Fsm::WaitParameterList;
            }
        }
    }

    /// `"a" + "b"`: the second string joins the first, the `+` goes.
    fn fold(&mut self, token: Token) -> Option<Token> {
        let n = self.tokens.len();
        if n > 1 && self.tokens[n - 1].kind == Kind::Plus && self.tokens[n - 2].kind == Kind::Str {
            self.tokens.pop();
            let prev = self.tokens[n - 2];
            let added = token.a as usize..(token.a + token.b) as usize;
            // Unless the two are adjacent in the arena, both go to its end.
            if (prev.a + prev.b) as usize != token.a as usize {
                let text = self.arena[added].to_vec();
                let moved = self.arena[prev.a as usize..(prev.a + prev.b) as usize].to_vec();
                let start = self.arena.len() as u32;
                self.arena.extend_from_slice(&moved);
                self.arena.extend_from_slice(&text);
                self.tokens[n - 2].a = start;
            }
            self.tokens[n - 2].b = prev.b + token.b;
            return None;
        }
        Some(token)
    }

    /// The end of the script: an unfinished string is closed, unbalanced
    /// parentheses are closed, then the folders and decoders run.
    fn done(&mut self) {
        match self.lexer.state {
            Lex::DQuote => self.feed(b"\""),
            Lex::SQuote => self.feed(b"'"),
            _ => {}
        }
        let mut open = 0usize;
        for t in &self.tokens {
            match t.kind {
                Kind::ParOpen => open += 1,
                Kind::ParClose if open > 0 => open -= 1,
                _ => {}
            }
        }
        let close = Token {
            kind: Kind::ParClose,
            text: Text::Static,
            a: (OPERATORS + 6) as u32,
            b: 0,
        };
        for _ in 0..open {
            if self.tokens.len() >= self.room {
                break;
            }
            self.tokens.push(close);
        }
        self.unescape_strings();
        self.decode();
    }

    /// `unescape("…")`: the call becomes the string unescaped.
    fn unescape_strings(&mut self) {
        let tokens = std::mem::take(&mut self.tokens);
        let mut kept = Vec::with_capacity(tokens.len());
        let mut i = 0;
        while i < tokens.len() {
            let t = tokens[i];
            if i + 3 < tokens.len()
                && self.is_named(&t, b"unescape")
                && tokens[i + 1].kind == Kind::ParOpen
                && tokens[i + 2].kind == Kind::Str
            {
                let s = unescape(self.text(&tokens[i + 2]).unwrap_or_default());
                let token = self.arena_token(Kind::Str, &s);
                kept.push(token);
                i += 4;
                continue;
            }
            kept.push(t);
            i += 1;
        }
        self.tokens = kept;
    }

    /// The decoders, run over the tokens from the first to the last, the
    /// tokens a decoding makes included.
    fn decode(&mut self) {
        let mut rest: VecDeque<Token> = std::mem::take(&mut self.tokens).into();
        let mut done: Vec<Token> = Vec::with_capacity(rest.len());
        self.current = 0;
        while let Some(&t) = rest.front() {
            let mut found = None;
            if t.kind == Kind::Function && rest.len() > 13 {
                done.extend(rest.pop_front());
                let mut name = None;
                if rest.front().is_some_and(|n| n.kind == Kind::Ident) {
                    name = rest.front().and_then(|n| self.text(n)).map(<[u8]>::to_vec);
                    done.extend(rest.pop_front());
                }
                if self.packer_parameters(&rest) && self.unpacks < MAX_UNPACKS {
                    self.unpacks += 1;
                    found = self.unpack(&rest, name.as_deref());
                }
            } else if rest.len() > 2 && self.is_named(&t, b"dF") && rest[1].kind == Kind::ParOpen {
                found = self.scriptasylum(&rest);
            } else if rest.len() > 2 && self.is_named(&t, b"eval") && rest[1].kind == Kind::ParOpen
            {
                found = self.eval(&rest);
            }
            if let Some(d) = found.filter(|d| d.end > d.begin) {
                self.room = MAX_TOKENS.saturating_sub(done.len() + rest.len());
                self.apply(&mut rest, d);
            }
            if let Some(t) = rest.front() {
                self.enter(t);
            }
            done.extend(rest.pop_front());
        }
        self.tokens = done;
    }

    /// Follow the scopes as the output does: a function's token enters its
    /// scope, a function's end leaves it.
    fn enter(&mut self, t: &Token) -> bool {
        if t.kind != Kind::Function {
            return true;
        }
        match t.scope() {
            Some(s) => self.current = s,
            None => self.current = self.scopes[self.current].parent.unwrap_or(self.current),
        }
        t.scope().is_some()
    }

    /// Replace (or delete and append) the tokens a decoding names with the
    /// tokens of its text, within the bounds.
    fn apply(&mut self, rest: &mut VecDeque<Token>, mut d: Decode) {
        if d.end < rest.len() && rest[d.end].kind == Kind::Semicolon {
            d.end += 1;
        }
        if self.decodes >= MAX_DECODES || self.decoded + d.text.len() > MAX_DECODED {
            return;
        }
        self.decodes += 1;
        self.decoded += d.text.len();
        let outer = std::mem::take(&mut self.tokens);
        self.feed(&d.text);
        let new = std::mem::replace(&mut self.tokens, outer);
        let fits = d.begin < rest.len() && d.end <= rest.len();
        if d.append {
            if fits {
                rest.drain(d.begin..d.end);
            }
            rest.extend(new);
        } else if fits {
            if d.begin == 0 {
                rest.drain(..d.end);
                for t in new.into_iter().rev() {
                    rest.push_front(t);
                }
            } else {
                let mut tail = rest.split_off(d.end);
                rest.truncate(d.begin);
                rest.extend(new);
                rest.append(&mut tail);
            }
        }
    }

    /// `eval("…")`.
    fn eval(&self, rest: &VecDeque<Token>) -> Option<Decode> {
        let s = rest.get(2)?;
        if !matches!(s.kind, Kind::Str | Kind::Unnorm) || rest.get(3)?.kind != Kind::ParClose {
            return None;
        }
        Some(Decode {
            begin: 0,
            end: 4,
            text: self.text(s)?.to_vec(),
            append: false,
        })
    }

    /// scriptasylum's encoder: `dF("…N")`, the string unescaped, each byte
    /// less the digit N, unescaped again.
    fn scriptasylum(&self, rest: &VecDeque<Token>) -> Option<Decode> {
        let s = rest.get(2)?;
        if s.kind != Kind::Str {
            return None;
        }
        let text = self.text(s)?;
        let (&last, body) = text.split_last()?;
        let shift = last.wrapping_sub(b'0');
        let mut shifted: Vec<u8> = unescape(body)
            .into_iter()
            .map(|c| c.wrapping_sub(shift))
            .collect();
        if let Some(nul) = memchr::memchr(0, &shifted) {
            shifted.truncate(nul);
        }
        Some(Decode {
            begin: 0,
            end: 4,
            text: unescape(&shifted),
            append: true,
        })
    }

    /// After `function` and its name: `(p,a,c,` — the packer's first
    /// three parameters, all ClamAV compares.
    fn packer_parameters(&self, rest: &VecDeque<Token>) -> bool {
        if rest.front().map(|t| t.kind) != Some(Kind::ParOpen) {
            return false;
        }
        [b"p", b"a", b"c"].iter().enumerate().all(|(k, name)| {
            rest.get(1 + 2 * k)
                .is_some_and(|t| self.is_named(t, name.as_slice()))
                && rest.get(2 + 2 * k).map(|t| t.kind) == Some(Kind::Comma)
        })
    }

    /// Dean Edwards' packer: the function's end, then its calls (by name,
    /// or the call right after an anonymous one) with six arguments, each
    /// call's packed text unpacked with its word list.
    fn unpack(&self, rest: &VecDeque<Token>, name: Option<&[u8]>) -> Option<Decode> {
        let cnt = rest.len();
        let mut i = 0;
        let mut nesting = 1;
        while i < cnt {
            if rest[i].kind == Kind::Function {
                if rest[i].scope().is_some() {
                    nesting += 1;
                } else {
                    nesting -= 1;
                }
                if nesting == 0 {
                    break;
                }
            }
            i += 1;
        }
        if nesting != 0 {
            return None;
        }
        let mut text = Vec::new();
        let mut first = None;
        let mut last = None;
        let mut call = |i: &mut usize, text: &mut Vec<u8>| {
            if let Some(params) = arguments(rest, i) {
                first.get_or_insert(params[0]);
                last = Some(params[5]);
                self.unpack_call(rest, &params, text);
            }
        };
        match name {
            Some(name) => {
                while i + 2 < cnt {
                    if self.is_named(&rest[i], name) && rest[i + 1].kind == Kind::ParOpen {
                        i += 2;
                        call(&mut i, &mut text);
                    }
                    i += 1;
                }
            }
            None => {
                while i < cnt && rest[i].kind != Kind::ParOpen {
                    i += 1;
                }
                i += 1;
                if i >= cnt {
                    return None;
                }
                call(&mut i, &mut text);
            }
        }
        let (begin, last) = (first?, last?);
        let mut end = last + 1;
        if end + 2 < cnt
            && rest[end].kind == Kind::BracketOpen
            && rest[end + 1].kind == Kind::BracketClose
            && rest[end + 2].kind == Kind::ParClose
        {
            end += 3;
        } else if end < cnt {
            end += 1;
        }
        Some(Decode {
            begin,
            end,
            text,
            append: false,
        })
    }

    /// One packed call: the words of `p` (numbers in base `a`) replaced by
    /// the entries of the word list `k` that are not empty.
    fn unpack_call(&self, rest: &VecDeque<Token>, params: &[usize; 6], out: &mut Vec<u8>) {
        let p = &rest[params[0]];
        let p = match p.kind {
            Kind::Int | Kind::Float | Kind::Function => None,
            _ => self.text(p),
        };
        let k = &rest[params[3]];
        let k = match k.kind {
            Kind::Str | Kind::Unnorm => self.text(k),
            _ => None,
        };
        let a = match rest[params[1]].kind {
            Kind::Int => rest[params[1]].bits() as i64 as u32,
            _ => u32::MAX,
        };
        let (Some(p), Some(k)) = (p, k) else {
            return;
        };
        let words: Vec<&[u8]> = k.split(|&c| c == b'|').collect();
        let mut j = 0;
        loop {
            while j < p.len() && !p[j].is_ascii_alphanumeric() {
                if p[j] == b'\\' && matches!(p.get(j + 1), Some(b'\'' | b'"')) {
                    j += 1;
                } else {
                    out.push(p[j]);
                    j += 1;
                }
            }
            if j >= p.len() {
                break;
            }
            let word = j;
            let mut val: u32 = 0;
            while j < p.len() && p[j].is_ascii_alphanumeric() {
                let v = p[j];
                j += 1;
                let x = match v {
                    b'a'.. => 10 + u32::from(v - b'a'),
                    b'A'.. => 36 + u32::from(v - b'A'),
                    _ => u32::from(v - b'0'),
                };
                val = val.wrapping_mul(a).wrapping_add(x);
            }
            match words.get(val as usize) {
                Some(w) if !w.is_empty() => out.extend_from_slice(w),
                _ => out.extend_from_slice(&p[word..j]),
            }
            if j >= p.len() {
                break;
            }
        }
    }

    /// Write the script out: `<script>`, the tokens, `</script>`.
    fn output(&mut self, out: &mut Vec<u8>) {
        let mut w = Writer { out, pos: 0 };
        if !w.out.is_empty() {
            w.byte(b'\n');
        }
        w.text(b"<script>");
        self.current = 0;
        let mut last = 0u8;
        let tokens = std::mem::take(&mut self.tokens);
        for t in &tokens {
            if self.enter(t) {
                last = self.token(t, &mut w, last);
            }
        }
        if w.pos < 9 || !w.out.ends_with(b"</script>") {
            w.text(b"</script>");
        }
    }

    /// One token; returns the class of its last byte (for the spacing of
    /// the next).
    fn token(&self, t: &Token, w: &mut Writer<'_>, last: u8) -> u8 {
        match t.kind {
            Kind::Str => {
                w.byte(b'"');
                w.text(self.text(t).unwrap_or_default());
                w.byte(b'"');
                b'"'
            }
            Kind::Int | Kind::Float => {
                w.space(last, b'0');
                let n = if t.kind == Kind::Int {
                    (t.bits() as i64).to_string()
                } else {
                    format_g(f64::from_bits(t.bits()))
                };
                w.text(n.as_bytes());
                b'0'
            }
            Kind::Ident => {
                w.space(last, b'a');
                let name = self.text(t).unwrap_or_default();
                match self.lookup(name) {
                    Some(id) => w.text(format!("n{id:03}").as_bytes()),
                    None => w.text(name),
                }
                b'a'
            }
            Kind::Function => {
                w.space(last, b'a');
                w.text(b"function");
                b'a'
            }
            _ => {
                let s = self.text(t).unwrap_or_default();
                let Some(&first) = s.first() else {
                    return 0;
                };
                w.space(last, first);
                w.text(s);
                s[s.len() - 1]
            }
        }
    }

    /// An identifier's number: its declaration in the current scope or the
    /// nearest enclosing one that declares it.
    fn lookup(&self, name: &[u8]) -> Option<u64> {
        let mut s = Some(self.current);
        while let Some(i) = s {
            if let Some(Some(id)) = self.scopes[i].ids.get(name) {
                return Some(*id);
            }
            s = self.scopes[i].parent;
        }
        None
    }
}

/// The six arguments of a packed call from `*i` (after its `(`): where
/// each starts. ClamAV takes an argument's first token and skips to the
/// next comma (to `)` after the sixth).
fn arguments(rest: &VecDeque<Token>, i: &mut usize) -> Option<[usize; 6]> {
    let mut params = [0; 6];
    let mut j = 0;
    while j < 6 && *i < rest.len() {
        params[j] = *i;
        *i += 1;
        let stop = if j == 5 { Kind::ParClose } else { Kind::Comma };
        while *i < rest.len() && rest[*i].kind != stop {
            *i += 1;
        }
        *i += 1;
        j += 1;
    }
    (j == 6).then_some(params)
}

/// The output, as ClamAV's 64 KiB write buffer sees it: bytes in lower
/// case and whitespace as spaces, and the buffer's fill (which decides
/// whether `</script>` is looked for).
struct Writer<'o> {
    out: &'o mut Vec<u8>,
    pos: usize,
}

const WRITE_BUFFER: usize = 65536;

impl Writer<'_> {
    fn byte(&mut self, c: u8) {
        if self.pos >= WRITE_BUFFER {
            self.pos = 0;
        }
        self.out.push(c);
        self.pos += 1;
    }

    fn text(&mut self, s: &[u8]) {
        if s.is_empty() {
            return;
        }
        for &c in s {
            if self.pos == WRITE_BUFFER {
                self.pos = 0;
            }
            let c = if matches!(c, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ') {
                b' '
            } else {
                c.to_ascii_lowercase()
            };
            self.out.push(c);
            self.pos += 1;
        }
        if self.pos == WRITE_BUFFER {
            self.pos = 0;
        }
    }

    fn space(&mut self, last: u8, next: u8) {
        if last.is_ascii_alphanumeric() && next.is_ascii_alphanumeric() {
            self.byte(b' ');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_printed_as_c_prints_them() {
        assert_eq!(format_g(1500.0), "1500");
        assert_eq!(format_g(1.234567891), "1.23457");
        assert_eq!(format_g(1e10), "1e+10");
        assert_eq!(format_g(0.0001), "0.0001");
        assert_eq!(format_g(0.00001), "1e-05");
        assert_eq!(format_g(123456.0), "123456");
        assert_eq!(format_g(1234567.0), "1.23457e+06");
        assert_eq!(atof(b"1.5e"), 1.5);
        assert_eq!(atof(b"1."), 1.0);
        assert_eq!(atof(b"1.e5"), 100000.0);
        assert_eq!(atoi(b"4294967297"), 1);
    }

    #[test]
    fn escapes_decode_as_clamav_decodes_them() {
        let mut out = Vec::new();
        append_unescaped(&mut out, br"a\x41\u0042\'\0\q");
        assert_eq!(out, b"aAB'\x01q");
        assert_eq!(unescape(b"%41%u00e9%zz%4"), b"A\xc3\xa9%zz%4");
    }
}
