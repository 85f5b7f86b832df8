//! HTML: which objects ClamAV reads as HTML, and the normalised copies of
//! them that its HTML signatures (target type 3) and the generic ones are
//! written against.
//!
//! **Typing.** Text is HTML when one of ClamAV's HTML magics (`<html>`,
//! `<head>`, `<script`, `<iframe`, `<img`, `<object`, `<table`, `<a …href`
//! in the spellings ClamAV lists, and `<%@ LANGUAGE =` at the start) occurs
//! in its first [`TEXT_PROBE`](crate::text::TEXT_PROBE) bytes. Such an
//! object is matched only through its normalised copies: ClamAV skips its
//! raw bytes, hash signatures included (measured). Text with a magic further
//! in is matched raw, as text, and through the copies too.
//!
//! **Normalisation** (objects up to `MaxHTMLNormalize`, 10 MiB by default)
//! makes two copies, measured against `clamscan --leave-temps`:
//! * *nocomment*: the markup, lower case, without comments and
//!   declarations (`<!…>`, which end at the first `>`); whitespace runs in
//!   text become one space, whitespace after a tag and around attributes
//!   goes; attributes are written `name="value"` with either quote as `"`;
//!   character references are decoded (code points above 255 written back
//!   as `&#xHEX;`); inside `<script>` and `<style>` all whitespace goes and
//!   `'` becomes `"`; `data:` URIs leave `"data"` behind.
//! * *notags* (objects up to `MaxHTMLNoTags`, 2 MiB): the text between
//!   tags, lower case, one space for each run of whitespace, tags and
//!   references, with the targets of links and images (`href`, `src`) in
//!   their original case — the words a reader of the page sees.
//!
//! * *javascript*: the scripts, each normalised as ClamAV's JavaScript
//!   normaliser writes it — declared identifiers renamed `n000`, `n001`, …,
//!   strings decoded and joined, `unescape`, `eval` and two encoders undone
//!   (see [`js`]).
//!
//! Work is linear in the input: one pass, no backtracking, output at most a
//! fixed multiple of the input.

mod entities;
pub mod js;

/// ClamAV's HTML magics, matched anywhere in text (`ftm` type-1 rules with
/// offset `*`): the tag as written, in the spellings listed.
const MAGICS: &[&[u8]] = &[
    b"<HEAD>", b"<HTML>", b"<Head>", b"<Html>", b"<IFRAME", b"<IMG", b"<Img", b"<OBJECT",
    b"<Object", b"<SCRIPT", b"<Script", b"<TABLE", b"<head>", b"<html>", b"<iframe", b"<img",
    b"<object", b"<script", b"<table",
];

/// The magic ClamAV requires at the very start of a file (ASP pages).
const ASP_MAGIC: &[u8] = b"<%@ LANGUAGE =";

/// Where the first HTML magic in `data` starts, if any. Linear: the
/// anchor rule's `href` is looked for once, from the end.
pub fn magic_at(data: &[u8]) -> Option<usize> {
    if data.starts_with(ASP_MAGIC) {
        return Some(0);
    }
    let mut last_href: Option<Option<usize>> = None;
    for at in memchr::memchr_iter(b'<', data) {
        let rest = &data[at..];
        if MAGICS.iter().any(|m| rest.starts_with(m)) {
            return Some(at);
        }
        if rest.starts_with(b"<a ") || rest.starts_with(b"<A ") {
            let href = *last_href.get_or_insert_with(|| last_href_at(data));
            if href.is_some_and(|h| h >= at + 3) {
                return Some(at);
            }
        }
    }
    None
}

/// Where the last `href` of ClamAV's anchor rule (`<a `, then anywhere
/// later `(h|H)(r|R)EF` or `(h|H)(r|R)ef`) starts.
fn last_href_at(data: &[u8]) -> Option<usize> {
    const HREFS: [&[u8]; 8] = [
        b"href", b"hrEF", b"hRef", b"hREF", b"Href", b"HrEF", b"HRef", b"HREF",
    ];
    HREFS
        .iter()
        .filter_map(|h| memchr::memmem::rfind(data, h))
        .max()
}

/// The normalised copies of an HTML object.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Normalised {
    /// The markup without comments (ClamAV's `nocomment.html`).
    pub nocomment: Vec<u8>,
    /// The text without the markup (`notags.html`); empty unless asked for.
    pub notags: Vec<u8>,
    /// The scripts, normalised (ClamAV's `javascript`), one per line;
    /// empty when the page has no `<script>` tag. ClamAV matches it as
    /// HTML (target type 3) and then as text (7).
    pub javascript: Vec<u8>,
    /// Each `data:` URI of an attribute value (RFC 2397) with a comma, as
    /// ClamAV writes it out and scans it: a mail message, `From
    /// html-normalise`, whose `Content-type` is the URI's media type and
    /// whose body is its data — base64 as written (with a
    /// `Content-transfer-encoding: base64` header), otherwise with `%XX`
    /// escapes decoded.
    pub data_files: Vec<Vec<u8>>,
}

/// Hand the `data:` files of an HTML object already normalised (its
/// [`Normalised::data_files`]) to `visit` as its children, as
/// [`unpack`](crate::unpack) of the object as [`FileType::Html`](crate::FileType::Html)
/// would — without normalising it again.
pub fn visit_data_files(
    files: Vec<Vec<u8>>,
    budget: &mut crate::Budget,
    visit: &mut crate::Visit<'_>,
) -> Result<(), crate::UnpackError> {
    crate::formats::html_hand_on(files, budget, visit)
}

/// Normalise `data` as HTML; `notags` also makes the text-only copy.
pub fn normalise(data: &[u8], notags: bool) -> Normalised {
    normalise_with(data, notags, true)
}

/// As [`normalise`]; `scripts` makes the scripts' copy.
pub(crate) fn normalise_with(data: &[u8], notags: bool, scripts: bool) -> Normalised {
    let raw: std::borrow::Cow<'_, [u8]> = if memchr::memchr(0, data).is_some() {
        data.iter().copied().filter(|&c| c != 0).collect()
    } else {
        std::borrow::Cow::Borrowed(data)
    };
    let stream = Stream::read(&raw);
    let mut n = Normaliser {
        data: &stream.bytes,
        at: 0,
        out: Vec::with_capacity(stream.bytes.len()),
        text: Text::new(notags, stream.bytes.len()),
        in_script: false,
        script_end: b"",
        glued: false,
        data_files: Vec::new(),
        script_at: None,
        script_spans: scripts.then(Vec::new),
    };
    n.run();
    let mut js = js::Scripts::default();
    if let Some(mut spans) = n.script_spans.take() {
        spans.extend(n.script_at.map(|at| (at, stream.bytes.len())));
        for (start, end) in spans {
            let (start, end) = (stream.raw_at(&raw, start), stream.raw_at(&raw, end));
            js.script(stream.raw_parts(&raw, start, end.max(start)));
        }
    }
    Normalised {
        nocomment: n.out,
        notags: n.text.buf,
        javascript: js.out,
        data_files: n.data_files,
    }
}

/// How much ClamAV's HTML reader reads at a time.
const CHUNK: usize = 8191;

/// The byte stream ClamAV's normaliser sees, and where its chunks came
/// from.
struct Stream {
    bytes: Vec<u8>,
    /// Per chunk: where its bytes start in `bytes`, where it starts in the
    /// input (NUL bytes dropped) and how much leading whitespace it had.
    chunks: Vec<(usize, usize, usize)>,
}

impl Stream {
    /// The input (NUL bytes dropped already) read in chunks of up to
    /// [`CHUNK`] bytes, each cut back to its last whitespace when it would
    /// end inside a word, and each chunk's leading whitespace skipped (so a
    /// space that falls at the start of a chunk is lost, measured);
    /// carriage returns dropped and line feeds read as spaces.
    fn read(data: &[u8]) -> Stream {
        let mut bytes = Vec::with_capacity(data.len());
        let mut chunks = Vec::with_capacity(data.len() / CHUNK + 1);
        let mut at = 0;
        while at < data.len() {
            let mut end = (at + CHUNK).min(data.len());
            if end < data.len() && !is_space(data[end]) {
                if let Some(k) = data[at + 1..end].iter().rposition(|&c| is_space(c)) {
                    end = at + 1 + k + 1;
                }
            }
            let chunk = &data[at..end];
            let lead = chunk.iter().take_while(|&&c| is_space(c)).count();
            chunks.push((bytes.len(), at, lead));
            bytes.extend(chunk[lead..].iter().filter(|&&c| c != b'\r').map(|&c| {
                if c == b'\n' {
                    b' '
                } else {
                    c
                }
            }));
            at = end;
        }
        Stream { bytes, chunks }
    }

    /// Where a position of the stream is in the input: ClamAV's scripts
    /// are the raw bytes of its chunks, leading whitespace and carriage
    /// returns included. A position where a chunk starts is that chunk's
    /// first byte after its leading whitespace.
    fn raw_at(&self, raw: &[u8], pos: usize) -> usize {
        let c = self.chunks.partition_point(|&(start, _, _)| start <= pos);
        let Some(&(start, from, lead)) = c.checked_sub(1).and_then(|c| self.chunks.get(c)) else {
            return 0;
        };
        let mut left = pos - start;
        let mut at = from + lead;
        let end = self.chunks.get(c).map_or(raw.len(), |&(_, next, _)| next);
        while left > 0 && at < end {
            if raw.get(at) != Some(&b'\r') {
                left -= 1;
            }
            at += 1;
        }
        // Carriage returns before the byte belong to the part before it.
        while at < end && raw.get(at) == Some(&b'\r') {
            at += 1;
        }
        at
    }

    /// The input from `start` to `end` in the pieces ClamAV hands its
    /// JavaScript normaliser: one per chunk (a string, escape or token
    /// that a chunk's end cuts is read as two, as in ClamAV).
    fn raw_parts<'r>(&self, raw: &'r [u8], start: usize, end: usize) -> Vec<&'r [u8]> {
        let first = self.chunks.partition_point(|&(_, from, _)| from <= start);
        let mut cuts: Vec<usize> = self.chunks[first..]
            .iter()
            .map(|&(_, from, _)| from)
            .take_while(|&from| from < end)
            .collect();
        cuts.push(end);
        let mut parts = Vec::with_capacity(cuts.len());
        let mut at = start;
        for cut in cuts {
            if cut > at {
                parts.push(&raw[at..cut]);
            }
            at = cut;
        }
        parts
    }
}

/// The text-only copy being written: one space for each run of
/// separators.
struct Text {
    on: bool,
    buf: Vec<u8>,
    spaced: bool,
}

impl Text {
    fn new(on: bool, capacity: usize) -> Text {
        Text {
            on,
            buf: Vec::with_capacity(if on { capacity / 2 } else { 0 }),
            spaced: false,
        }
    }

    fn space(&mut self) {
        if self.on && !self.spaced {
            self.buf.push(b' ');
            self.spaced = true;
        }
    }

    fn byte(&mut self, c: u8) {
        if self.on {
            self.buf.push(c);
            self.spaced = false;
        }
    }

    /// Bytes that leave a pending space pending.
    fn raw(&mut self, s: &[u8]) {
        if self.on {
            self.buf.extend_from_slice(s);
        }
    }

    fn bytes(&mut self, s: &[u8]) {
        if self.on && !s.is_empty() {
            self.buf.extend_from_slice(s);
            self.spaced = false;
        }
    }
}

struct Normaliser<'a> {
    data: &'a [u8],
    at: usize,
    out: Vec<u8>,
    text: Text,
    /// Inside `<script>` or `<style>`: whitespace goes, `'` becomes `"`.
    in_script: bool,
    /// The end tag that ends `in_script` (`/script` or `/style`).
    script_end: &'static [u8],
    /// A `data:` URI with data just ended a value: the next attribute of
    /// the tag follows without a space, as in ClamAV.
    glued: bool,
    /// The `data:` URIs found in attribute values, as ClamAV writes them
    /// out for scanning (see [`Normalised::data_files`]).
    data_files: Vec<Vec<u8>>,
    /// Where the script being read starts: after its `<script …>` tag
    /// and the whitespace after it, as ClamAV starts it.
    script_at: Option<usize>,
    /// The scripts read, as spans of `data`; `None` when the scripts' copy
    /// is not wanted.
    script_spans: Option<Vec<(usize, usize)>>,
}

/// A tag's attribute as written: its name (lower case) and raw value.
struct Attr {
    name: Vec<u8>,
    value: Vec<u8>,
}

impl<'a> Normaliser<'a> {
    fn peek(&self) -> Option<u8> {
        self.data.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.at += 1;
        }
    }

    fn run(&mut self) {
        self.skip_ws();
        while let Some(c) = self.peek() {
            match c {
                b'<' => {
                    if !self.in_script {
                        self.text.space();
                    }
                    self.at += 1;
                    self.tag();
                }
                c if is_space(c) => {
                    if !self.in_script {
                        self.text.space();
                    }
                    self.skip_ws();
                    if !self.in_script && self.peek().is_some() {
                        self.out.push(b' ');
                    }
                }
                b'&' => {
                    if !self.in_script {
                        self.text.space();
                    }
                    self.at += 1;
                    self.reference();
                }
                0x80.. => self.multibyte(),
                _ => {
                    self.at += 1;
                    let mut l = c.to_ascii_lowercase();
                    if self.in_script && l == b'\'' {
                        l = b'"';
                    }
                    self.out.push(l);
                    if !self.in_script {
                        if c < 0x20 {
                            self.text.space();
                        } else {
                            self.text.byte(l);
                        }
                    }
                }
            }
        }
    }

    /// Bytes of 0x80 and above, up to three at a time, as ClamAV groups
    /// them (it does not decode UTF-8): kept as they are, but for the full
    /// stops phishing pages use in host names, which become `.`. The text
    /// copy gets ClamAV's rendering (the last byte replaced by the one
    /// before it) and keeps a pending space pending. Bytes still grouped
    /// when the input ends are lost, as in ClamAV.
    fn multibyte(&mut self) {
        let mut group = [0u8; 3];
        let mut n = 0;
        while n < group.len() {
            match self.peek() {
                Some(c) if c >= 0x80 => {
                    group[n] = c;
                    n += 1;
                    self.at += 1;
                }
                _ => break,
            }
        }
        let Some(next) = self.peek() else {
            return;
        };
        if n == 1 && group[0] == 0xa1 && matches!(next, b'C' | b'D' | b'O') {
            self.at += 1;
            self.out.push(b'.');
            self.text.raw(b".");
            return;
        }
        if is_full_stop(&group[..n]) {
            self.out.push(b'.');
            self.text.raw(b".");
            return;
        }
        self.out.extend_from_slice(&group[..n]);
        let (c0, c1) = match n {
            3 => (Some(group[0]), group[1]),
            2 => (None, group[0]),
            _ => (None, 0),
        };
        if let Some(c0) = c0 {
            self.text.raw(&[c0]);
        }
        if n >= 2 {
            self.text.raw(&[c1]);
        }
        self.text.raw(&[c1]);
    }

    /// After `<`: a comment or declaration, an end tag or a start tag.
    fn tag(&mut self) {
        self.glued = false;
        self.out.push(b'<');
        self.skip_ws();
        if self.peek() == Some(b'!') {
            self.comment();
            return;
        }
        let mut name = Vec::new();
        while let Some(c) = self.peek() {
            if c == b'>' || is_space(c) {
                break;
            }
            self.at += 1;
            let l = c.to_ascii_lowercase();
            self.out.push(l);
            if self.in_script && name.is_empty() && c != b'/' {
                // Inside a script only an end tag is markup.
                return;
            }
            name.push(l);
        }
        // Inside a script ClamAV acts on a tag at the whitespace after its
        // name, and the `>` after it is text.
        let spaced = self.in_script && self.peek().is_some_and(is_space);
        let attrs = if self.in_script {
            self.skip_ws();
            Vec::new()
        } else {
            self.attributes()
        };
        if !spaced {
            if self.peek() == Some(b'>') {
                self.at += 1;
                self.out.push(b'>');
            }
            self.skip_ws();
        }
        self.process(&name, &attrs);
    }

    /// `<!…>` up to the first `>`: dropped, except inside a script, where
    /// it is kept without whitespace.
    fn comment(&mut self) {
        if !self.in_script {
            self.out.pop();
        }
        while let Some(c) = self.peek() {
            self.at += 1;
            if self.in_script && !is_space(c) {
                let l = c.to_ascii_lowercase();
                self.out.push(if l == b'\'' { b'"' } else { l });
            }
            if c == b'>' {
                break;
            }
        }
        self.skip_ws();
    }

    /// Attributes up to the tag's `>` (not consumed) or the end.
    fn attributes(&mut self) -> Vec<Attr> {
        let mut attrs = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None | Some(b'>') => return attrs,
                Some(_) => {}
            }
            let mut name = Vec::new();
            if !std::mem::take(&mut self.glued) {
                self.out.push(b' ');
            }
            while let Some(c) = self.peek() {
                if c == b'>' || c == b'=' || is_space(c) {
                    break;
                }
                self.at += 1;
                let l = c.to_ascii_lowercase();
                self.out.push(l);
                name.push(l);
            }
            self.skip_ws();
            let mut value = Vec::new();
            if self.peek() == Some(b'=') {
                self.at += 1;
                self.out.push(b'=');
                self.skip_ws();
                value = self.value();
            }
            if attrs.len() < MAX_ATTRS {
                attrs.push(Attr { name, value });
            }
        }
    }

    /// An attribute's value after `=`: quoted or not. Returns it raw
    /// (without quotes, references decoded).
    fn value(&mut self) -> Vec<u8> {
        let mut quote = match self.peek() {
            Some(q @ (b'"' | b'\'')) => {
                self.at += 1;
                self.out.push(b'"');
                Some(q)
            }
            _ => None,
        };
        // The value as ClamAV records it: an opening quote kept as `"`,
        // which makes it drop the first and the last byte at the end.
        let mut raw = if quote.is_some() {
            b"\"".to_vec()
        } else {
            Vec::new()
        };
        // Bytes of 0x80 and above wait for the next plain byte, as in
        // ClamAV (a space or quote between them comes out first).
        let mut pending = Vec::new();
        while let Some(c) = self.peek() {
            let body = &raw[usize::from(raw.first() == Some(&b'"'))..];
            if body == b"data:" {
                self.data_uri(quote);
                return Vec::new();
            }
            match (c, quote) {
                (b'>', None) => break,
                (c, None) if is_space(c) => break,
                (c, Some(q)) if c == q => {
                    self.at += 1;
                    self.out.push(b'"');
                    keep(&mut raw, b"\"");
                    break;
                }
                (b'&', _) => {
                    self.at += 1;
                    let start = self.out.len();
                    self.reference();
                    keep(&mut raw, &self.out[start..]);
                }
                (c, Some(_)) if is_space(c) || c == b'>' => {
                    // ClamAV's quirk: whitespace or `>` ends the quoting;
                    // the value goes on, unquoted, to whitespace or `>`.
                    self.out.push(c);
                    keep(&mut raw, if c == b'>' { b">" } else { b" " });
                    self.at += 1;
                    self.skip_ws();
                    quote = None;
                }
                (b'"' | b'\'', _) => {
                    self.at += 1;
                    self.out.push(b'"');
                    keep(&mut raw, b"\"");
                }
                (0x80.., _) => {
                    if pending.len() == 3 {
                        self.flush(&mut pending, &mut raw);
                    }
                    pending.push(c);
                    self.at += 1;
                }
                (b'C' | b'D' | b'O', _) if pending == [0xa1] => {
                    self.at += 1;
                    pending.clear();
                    self.out.push(b'.');
                    keep(&mut raw, b".");
                }
                (c, _) => {
                    self.at += 1;
                    self.flush(&mut pending, &mut raw);
                    self.out.push(c.to_ascii_lowercase());
                    keep(&mut raw, &[c]);
                }
            }
        }
        self.flush(&mut pending, &mut raw);
        if raw.first() == Some(&b'"') {
            raw.pop();
            if !raw.is_empty() {
                raw.remove(0);
            }
        }
        raw
    }

    /// Write the bytes of 0x80 and above a value held back.
    fn flush(&mut self, pending: &mut Vec<u8>, raw: &mut Vec<u8>) {
        if pending.is_empty() {
            return;
        }
        let bytes: &[u8] = if is_full_stop(pending) { b"." } else { pending };
        self.out.extend_from_slice(bytes);
        keep(raw, bytes);
        pending.clear();
    }

    /// A `data:` URI in an attribute value, after `data:`: the copy keeps
    /// `data` (closed by a quote when the value was quoted); the URI,
    /// with its end (the quote, whitespace or `>`), goes into
    /// [`Normalised::data_files`] when it has a comma.
    fn data_uri(&mut self, quote: Option<u8>) {
        self.out.pop();
        if quote.is_some() {
            self.out.push(b'"');
        }
        let start = self.at;
        let mut end = self.data.len();
        while let Some(c) = self.peek() {
            self.at += 1;
            let done = match quote {
                Some(q) => c == q,
                None => c == b'>' || is_space(c),
            };
            if done {
                end = self.at - 1;
                break;
            }
        }
        let uri = &self.data[start..end];
        if let Some(comma) = memchr::memchr(b',', uri) {
            let file = data_file(&uri[..comma], &uri[comma + 1..]);
            self.data_files.push(file);
            self.glued = true;
        }
    }

    /// What a tag does to the state and to the text copy; a script starts
    /// or ends where ClamAV acts on its tag, here.
    fn process(&mut self, name: &[u8], attrs: &[Attr]) {
        match name {
            b"script" | b"style" if !self.in_script => {
                self.in_script = true;
                self.script_end = if name == b"script" {
                    self.script_at = Some(self.at);
                    b"/script"
                } else {
                    b"/style"
                };
            }
            end if self.in_script && end == self.script_end => {
                self.in_script = false;
                if let (Some(start), Some(spans)) = (self.script_at.take(), &mut self.script_spans)
                {
                    spans.push((start, self.at));
                }
            }
            b"a" | b"img" => {
                let link = if name == b"a" { &b"href"[..] } else { b"src" };
                if let Some(a) = attrs.iter().find(|a| a.name == link) {
                    if !a.value.is_empty() {
                        self.text.space();
                        self.text.bytes(&a.value);
                        self.text.space();
                    }
                }
            }
            _ => {}
        }
    }

    /// After `&`: a character reference, decoded into the markup copy, or
    /// a plain `&`.
    fn reference(&mut self) {
        let rest = &self.data[self.at..];
        let Some((cps, len)) = decode_reference(rest) else {
            self.out.push(b'&');
            return;
        };
        self.at += len;
        for cp in cps {
            match u8::try_from(cp) {
                Ok(b) => self.out.push(b.to_ascii_lowercase()),
                Err(_) => {
                    use std::io::Write as _;
                    let _ = write!(self.out, "&#x{cp:04x};");
                }
            }
        }
    }
}

/// The ideographic, fullwidth and small full stops, read as `.`.
fn is_full_stop(seq: &[u8]) -> bool {
    matches!(
        seq,
        [0xe3, 0x80, 0x82] | [0xef, 0xbc, 0x8e] | [0xef, 0xb9, 0x92]
    )
}

/// A `data:` URI as ClamAV writes it out: a mail message (see
/// [`Normalised::data_files`]). Character references in the data are
/// dropped, as ClamAV drops them.
fn data_file(media_type: &[u8], data: &[u8]) -> Vec<u8> {
    let base64 = media_type.ends_with(b";base64");
    let mut file = Vec::with_capacity(media_type.len() + data.len() + 80);
    file.extend_from_slice(b"From html-normalise\nContent-type: ");
    file.extend_from_slice(media_type);
    file.push(b'\n');
    if base64 {
        file.extend_from_slice(b"Content-transfer-encoding: base64\n");
    }
    file.push(b'\n');
    let mut i = 0;
    while let Some(&c) = data.get(i) {
        i += 1;
        match c {
            b'&' => {
                let name = data[i..]
                    .iter()
                    .take(MAX_ENTITY_NAME + 2)
                    .position(|&c| c == b';');
                if let Some(n) = name {
                    i += n + 1;
                }
            }
            b'%' if !base64 => match (
                data.get(i).and_then(hex_digit),
                data.get(i + 1).and_then(hex_digit),
            ) {
                (Some(h), Some(l)) => {
                    file.push(h << 4 | l);
                    i += 2;
                }
                _ => file.push(c),
            },
            _ => file.push(c),
        }
    }
    file
}

fn hex_digit(c: &u8) -> Option<u8> {
    char::from(*c).to_digit(16).map(|d| d as u8)
}

/// Add to an attribute's raw value, up to [`MAX_VALUE`] bytes.
fn keep(raw: &mut Vec<u8>, bytes: &[u8]) {
    let room = MAX_VALUE.saturating_sub(raw.len());
    raw.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

/// Attributes kept per tag and bytes kept per value (for the text copy).
const MAX_ATTRS: usize = 64;
const MAX_VALUE: usize = 4096;

/// HTML's whitespace as C's `isspace` has it.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// A reference after `&`: `#digits;`, `#xhex;` or `name;` (the `;`
/// optional where a non-name byte ends it). The code point and the bytes
/// it took.
fn decode_reference(rest: &[u8]) -> Option<(Vec<u32>, usize)> {
    if let Some(num) = rest.strip_prefix(b"#") {
        let (radix, digits, skip) = match num.first() {
            Some(b'x' | b'X') => (16, &num[1..], 2),
            _ => (10, num, 1),
        };
        let n = digits
            .iter()
            .take(8)
            .take_while(|c| c.is_ascii_digit() || (radix == 16 && c.is_ascii_hexdigit()))
            .count();
        if n == 0 {
            return None;
        }
        let cp = u32::from_str_radix(std::str::from_utf8(&digits[..n]).ok()?, radix).ok()?;
        let semi = usize::from(digits.get(n) == Some(&b';'));
        return Some((vec![cp.min(0x10ffff)], skip + n + semi));
    }
    let n = rest
        .iter()
        .take(MAX_ENTITY_NAME + 1)
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    if n == 0 || n > MAX_ENTITY_NAME {
        return None;
    }
    let chars = entity(&rest[..n])?;
    let semi = usize::from(rest.get(n) == Some(&b';'));
    Some((chars.chars().map(u32::from).collect(), n + semi))
}

const MAX_ENTITY_NAME: usize = 32;

/// A named character reference (HTML5's list, names as written, then in
/// lower case): its characters.
fn entity(name: &[u8]) -> Option<&'static str> {
    let find = |name: &[u8]| {
        entities::ENTITIES
            .binary_search_by(|(n, _)| n.as_bytes().cmp(name))
            .ok()
            .map(|i| entities::ENTITIES[i].1)
    };
    find(name).or_else(|| find(&name.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page exercising most rules, with the copies `clamscan
    /// --leave-temps` (ClamAV 1.4.6) wrote for it.
    const PAGE: &[u8] = include_bytes!("../../tests/data/page.html");

    #[test]
    fn copies_are_clamscans() {
        let n = normalise(PAGE, true);
        assert_eq!(
            n.nocomment,
            b"<html><head><title>test page</title><script language=\"javascript\">\
varx=\"hello\";document.write(x);</script></head><body bgcolor=\"#ffffff\" \
onload=foo()><p>some text & more ab <b> \xa0end <a href=\"http://example.com/x\">\
link</a><img src=\"data\"></body></html>"
                .as_slice()
        );
        assert_eq!(
            n.notags,
            b" test page some text more b end http://Example.COM/x link ".as_slice()
        );
        assert!(normalise(PAGE, false).notags.is_empty());
        assert_eq!(
            n.javascript,
            b"<script>var n000=\"hello\";document.write(n000);</script>".as_slice()
        );
        assert_eq!(
            n.data_files,
            [b"From html-normalise\nContent-type: image/png;base64\n\
Content-transfer-encoding: base64\n\nQUJD"
                .to_vec()]
        );
    }

    /// Scripts that exercise the JavaScript normaliser's rules — scopes,
    /// numbers, escapes, folding, `unescape`, `eval`, the packer and the
    /// `dF` encoder, an end tag with a space, an unterminated string — and
    /// the `javascript` copy `clamscan --leave-temps` (ClamAV 1.4.6) wrote.
    #[test]
    fn the_scripts_copy_is_clamscans() {
        let page = include_bytes!("../../tests/data/scripts.html");
        let want = include_bytes!("../../tests/data/scripts.javascript");
        assert_eq!(
            String::from_utf8_lossy(&normalise(page, false).javascript),
            String::from_utf8_lossy(want)
        );
        assert!(normalise(b"<p>no script</p>", false).javascript.is_empty());
    }

    /// A script that a chunk's end cuts is read in two pieces, as ClamAV
    /// reads it: an escaped quote cut from its backslash ends the string
    /// (measured with `clamscan --leave-temps` on this page).
    #[test]
    fn a_chunk_boundary_cuts_a_string_as_in_clamav() {
        let mut page = b"<script>x=\"".to_vec();
        page.resize(CHUNK - 1, b'a');
        page.extend_from_slice(b"\\\"b c\";</script>");
        let js = normalise(&page, false).javascript;
        let tail = &js[js.len() - 30..];
        // The string ends at the next piece's quote; `;</script>` is read
        // as a string the end of the script closes (clamscan's output).
        assert!(
            tail.ends_with(b"a\\\"b c\";</script>\"</script>"),
            "{}",
            String::from_utf8_lossy(tail)
        );
        // Without the cut the quote is escaped and the string goes on.
        let whole = normalise(b"<script>x=\"a\\\"b c\";</script>", false).javascript;
        assert_eq!(whole, b"<script>x=\"a\"b c\";</script>".as_slice());
    }

    /// `data:` URIs as ClamAV writes them out and leaves them in the copy
    /// (each case measured with `clamscan --leave-temps`).
    #[test]
    fn data_uris_are_written_out_as_clamav_does() {
        let n = normalise(
            b"<html><img src=data:image/gif;base64,R0lG alt=x>after</html>",
            false,
        );
        assert_eq!(
            n.nocomment,
            b"<html><img src=dataalt=x>after</html>".as_slice()
        );
        let n = normalise(
            b"<html><img src='data:image/gif;base64,R0lG' alt=x>after</html>",
            false,
        );
        assert_eq!(
            n.nocomment,
            b"<html><img src=\"data\"alt=x>after</html>".as_slice()
        );
        let n = normalise(b"<a href=\"data:,Hello%20World\">x</a>", false);
        assert_eq!(
            n.data_files,
            [b"From html-normalise\nContent-type: \n\nHello World".to_vec()]
        );
        let n = normalise(
            b"<a href=\"data:text/plain;base64,SG k=AB&amp;C\">x</a>",
            false,
        );
        assert_eq!(
            n.data_files,
            [b"From html-normalise\nContent-type: text/plain;base64\n\
Content-transfer-encoding: base64\n\nSG k=ABC"
                .to_vec()]
        );
        let n = normalise(
            b"<a href=\"data:text/plain\" title=t>x</a><img src=x>",
            false,
        );
        assert!(n.data_files.is_empty());
        assert_eq!(
            n.nocomment,
            b"<a href=\"data\" title=t>x</a><img src=x>".as_slice()
        );
        // Only `data:` in lower case, and only in attribute values.
        let n = normalise(b"<a href=\"DATA:,x\">data:,y</a>", false);
        assert!(n.data_files.is_empty());
        // An unquoted URI ends the tag at `>`, which it takes.
        let n = normalise(b"<img src=data:,x></body>", false);
        assert_eq!(n.nocomment, b"<img src=data</body>".as_slice());
    }

    #[test]
    fn magics_are_clamavs() {
        assert_eq!(magic_at(b"hello <script>x"), Some(6));
        assert_eq!(magic_at(b"x <SCRIPT>"), Some(2));
        assert_eq!(magic_at(b"<a class=x href=y>"), Some(0));
        assert_eq!(magic_at(b"<A HREF=y>"), Some(0));
        assert_eq!(magic_at(b"<html lang=en><body>"), None);
        assert_eq!(magic_at(b"<b>bold</b> <a name=x>"), None);
        assert_eq!(magic_at(b"<%@ LANGUAGE = VBScript %>"), Some(0));
        assert_eq!(magic_at(b"<img"), Some(0));
        assert_eq!(magic_at(b""), None);
    }

    #[test]
    fn quirks_are_kept() {
        // Whitespace in a quoted value ends the quoting: the closing quote
        // and what follows belong to the value.
        let n = normalise(b"<meta content=\"a b\"/><a href=\"x y\">t</a>", true);
        assert_eq!(
            n.nocomment,
            b"<meta content=\"a b\"/><a href=\"x y\">t</a>".as_slice()
        );
        // ... and the recorded value loses its last byte.
        assert_eq!(n.notags, b" x y t ".as_slice());
        // A comment ends at the first `>`.
        assert_eq!(
            normalise(b"<b><!-- a > b -->c</b>", false).nocomment,
            b"<b>b -->c</b>"
        );
        // Bytes of 0x80 and above: the full stops become `.`; the text copy
        // repeats the byte before the last.
        let n = normalise(b"<p>a\xe3\x80\x82b \xc3\xb6 x</p>", true);
        assert_eq!(n.nocomment, b"<p>a.b \xc3\xb6 x</p>".as_slice());
        assert_eq!(n.notags, b" a.b \xc3\xc3x ".as_slice());
        // Inside scripts `'` becomes `"` and whitespace goes; `<` is text.
        let n = normalise(b"<script>if (a < b) x = 'y';</script>", false);
        assert_eq!(n.nocomment, b"<script>if(a<b)x=\"y\";</script>".as_slice());
    }

    #[test]
    fn a_space_at_the_start_of_a_chunk_is_lost() {
        // The byte after the first chunk is a space: no cut-back, and the
        // next chunk's leading space is skipped.
        let mut page = b"<html>".to_vec();
        page.resize(CHUNK, b'a');
        page.extend_from_slice(b" b</html>");
        let n = normalise(&page, false);
        assert!(
            n.nocomment.ends_with(b"aab</html>"),
            "{:?}",
            &n.nocomment[n.nocomment.len() - 12..]
        );
        // A chunk that would end inside a word is cut back to its last
        // space, which it keeps: the next chunk starts after it, and the
        // space past the old end is in the middle of a chunk: kept.
        let mut page = b"<html>".to_vec();
        page.resize(CHUNK + 10, b'a');
        page[100] = b' ';
        page.extend_from_slice(b" b</html>");
        let n = normalise(&page, false);
        assert!(n.nocomment.ends_with(b"aa b</html>"));
        assert_eq!(n.nocomment.iter().filter(|&&c| c == b' ').count(), 2);
    }

    #[test]
    fn references_decode_as_clamav_writes_them() {
        let n = normalise(b"<p>&mdash;&scaron;&AMP;&#x41;&#66;&bogus;&</p>", false);
        assert_eq!(
            n.nocomment,
            b"<p>&#x2014;&#x0161;&ab&bogus;&</p>".as_slice()
        );
    }

    #[test]
    fn hostile_input_is_bounded() {
        for input in [
            &b"<"[..],
            b"<!",
            b"<a href=",
            b"<a href=\"",
            b"<a href='data:",
            b"&#xffffffffff;",
            b"&#99999999999;",
            b"<script><",
            b"\xe3\x80",
            b"\x00\x00<html>\x00",
        ] {
            let n = normalise(input, true);
            assert!(n.nocomment.len() <= 4 * input.len() + 16);
        }
        // The anchor rule is found in one pass, however many `<a ` there are.
        let mut anchors = b"<a ".repeat(300_000);
        assert_eq!(magic_at(&anchors), None);
        anchors.extend_from_slice(b"HRef");
        assert_eq!(magic_at(&anchors), Some(0));
        // Output grows at most linearly: every byte a one-byte reference.
        let refs = b"&#x10ffff;".repeat(1000);
        assert!(normalise(&refs, true).nocomment.len() <= refs.len());
    }
}
