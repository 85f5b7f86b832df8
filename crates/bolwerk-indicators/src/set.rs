//! Loading feeds into one [`Indicators`] set, indexed for matching.
//!
//! [`IndicatorsBuilder`] reads files and directories (the format from the
//! name and, for `.json`, the content), collects each feed's bad lines or
//! objects as diagnostics, and [`IndicatorsBuilder::build`] indexes every
//! comparison by what a scan observes:
//!
//! - hashes, file names, hosts, e-mail and IPv4 addresses: one hash map per
//!   key, so each observation costs one lookup however many indicators;
//! - `file:path` values and URLs: one Aho-Corasick automaton each;
//! - signature-base filename regexes: one `RegexSet`, so a path is matched
//!   against all of them in one pass; each regex is first parsed on its
//!   own, so one the `regex` crate refuses is reported with file:line.
//!   They are compiled with ASCII semantics (`\w`, `(?i)` and `.` on
//!   bytes): the IOCs are ASCII, and Unicode classes made the set two to
//!   three times slower to build, a cost paid at every start.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use aho_corasick::AhoCorasick;
use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use crate::builtin;
use crate::error::{Error, ErrorKind};
use crate::feed::{Entry, Feed, Key};
use crate::pattern::Comparison;
use crate::sigbase::{self, IocKind};
use crate::{misp, stix};

/// The largest feed file read.
pub const MAX_FEED_SIZE: u64 = 256 << 20;
/// How deep directories given to [`IndicatorsBuilder::add_path`] are walked.
pub const MAX_DIR_DEPTH: usize = 8;
/// Scored indicators (signature-base filename and C2 IOCs) below this score
/// are not loaded by default: Loki's "warning" level. Many below it are
/// generic names such as `\\t\.exe$`.
pub const DEFAULT_MIN_SCORE: u8 = 60;
/// The regex size limit for the filename IOC set (the crate's default is
/// 10 MiB, too small for signature-base's 3,800 regexes with `(?i)`).
const REGEX_SET_SIZE_LIMIT: usize = 256 << 20;

/// One feed file that was loaded.
#[derive(Clone, Debug)]
pub struct Source {
    /// Its path (`builtin:amnesty/pegasus.stix2` for the built-in pack).
    pub path: String,
    /// Indicators loaded from it.
    pub indicators: usize,
    /// Comparisons loaded, by normalised STIX object path
    /// (`domain-name:value`, `file:hashes.sha256`, …).
    pub by_path: BTreeMap<String, usize>,
    /// Indicators left out for a score below the minimum.
    pub below_score: usize,
}

/// A family: the detection name its indicators report.
#[derive(Clone, Debug)]
pub(crate) struct Family {
    pub(crate) name: String,
    pub(crate) source: usize,
}

/// One comparison of an indicator, resolved.
#[derive(Clone, Debug)]
pub(crate) struct Term {
    pub(crate) key: Key,
    pub(crate) path: String,
    pub(crate) value: String,
}

/// An indicator, indexed.
#[derive(Clone, Debug)]
pub(crate) struct Ind {
    pub(crate) id: String,
    pub(crate) family: usize,
    pub(crate) any: Vec<Vec<Term>>,
    pub(crate) score: Option<u8>,
    pub(crate) note: Option<String>,
}

/// Where a comparison sits: indicator, conjunction, comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct CRef {
    pub(crate) ind: u32,
    pub(crate) conj: u16,
    pub(crate) comp: u16,
}

/// Values matched as substrings (paths, URLs): one automaton, and the
/// comparisons behind each pattern.
pub(crate) struct Multi {
    pub(crate) ac: AhoCorasick,
    pub(crate) values: Vec<String>,
    pub(crate) refs: Vec<Vec<CRef>>,
}

/// signature-base filename regexes.
pub(crate) struct NameRegexes {
    pub(crate) set: RegexSet,
    pub(crate) false_positive: Vec<Option<Regex>>,
    pub(crate) refs: Vec<CRef>,
}

/// A loaded, indexed set of indicators. Immutable, `Send + Sync`: one per
/// scan, shared by every thread.
pub struct Indicators {
    pub(crate) sources: Vec<Source>,
    pub(crate) families: Vec<Family>,
    pub(crate) inds: Vec<Ind>,
    pub(crate) exact: HashMap<Key, HashMap<Box<str>, Vec<CRef>>>,
    pub(crate) paths: Option<Multi>,
    pub(crate) urls: Option<Multi>,
    pub(crate) names: Option<NameRegexes>,
    pub(crate) by_id: HashMap<String, u32>,
}

impl std::fmt::Debug for Indicators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indicators")
            .field("sources", &self.sources.len())
            .field("indicators", &self.inds.len())
            .finish()
    }
}

impl Indicators {
    /// The feed files loaded, in load order.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// How many indicators are loaded.
    pub fn len(&self) -> usize {
        self.inds.len()
    }

    /// Whether no indicator is loaded.
    pub fn is_empty(&self) -> bool {
        self.inds.is_empty()
    }

    /// Whether matching needs an object's bytes (hashes or text keys), not
    /// only its name.
    pub fn reads_content(&self) -> bool {
        self.urls.is_some()
            || [
                Key::Md5,
                Key::Sha1,
                Key::Sha256,
                Key::Domain,
                Key::Email,
                Key::Ipv4,
            ]
            .iter()
            .any(|k| self.exact.contains_key(k))
    }

    /// Whether any indicator of `key` is loaded.
    pub(crate) fn has(&self, key: Key) -> bool {
        match key {
            Key::FilePath => self.paths.is_some(),
            Key::Url => self.urls.is_some(),
            Key::FilenameRegex => self.names.is_some(),
            k => self.exact.contains_key(&k),
        }
    }

    pub(crate) fn lookup(&self, key: Key, value: &str) -> &[CRef] {
        self.exact
            .get(&key)
            .and_then(|m| m.get(value))
            .map_or(&[], Vec::as_slice)
    }
}

/// Reads feeds and builds an [`Indicators`] set.
#[derive(Default)]
pub struct IndicatorsBuilder {
    feeds: Vec<(String, Feed)>,
    errors: Vec<Error>,
    min_score: Option<u8>,
}

impl IndicatorsBuilder {
    /// An empty builder.
    pub fn new() -> IndicatorsBuilder {
        IndicatorsBuilder::default()
    }

    /// Leave out scored indicators below `score` (default
    /// [`DEFAULT_MIN_SCORE`]; 0 loads all).
    pub fn min_score(&mut self, score: u8) -> &mut Self {
        self.min_score = Some(score);
        self
    }

    /// Load the built-in pack (see [`builtin`](crate::builtin)).
    pub fn add_builtin(&mut self) -> &mut Self {
        for (name, bytes) in builtin::feeds() {
            let label = format!("builtin:{name}");
            if let Err(e) = self.add_bytes(&label, &bytes) {
                self.errors.push(e.with_path(&label));
            }
        }
        self
    }

    /// Load a feed file, or every feed file under a directory (by name:
    /// `.stix2`, `.json`, signature-base `*hash*`, `*filename*`, `*c2*`
    /// `.txt`; other files in a directory are passed over). Returns how
    /// many files loaded. Bad lines inside a file are diagnostics (see
    /// [`build`](Self::build)), not errors.
    pub fn add_path(&mut self, path: &Path) -> Result<usize, Error> {
        if path.is_dir() {
            let mut files = Vec::new();
            walk(path, 0, &mut files).map_err(|e| Error::from(e).with_path(path))?;
            files.sort();
            let mut n = 0;
            for f in files.iter().filter(|f| format_of(f, None).is_some()) {
                match self.add_file(f) {
                    Ok(()) => n += 1,
                    Err(e) if matches!(e.kind(), ErrorKind::UnknownFormat) => {}
                    Err(e) => self.errors.push(e),
                }
            }
            return Ok(n);
        }
        self.add_file(path).map(|()| 1)
    }

    fn add_file(&mut self, path: &Path) -> Result<(), Error> {
        let len = std::fs::metadata(path)
            .map_err(|e| Error::from(e).with_path(path))?
            .len();
        if len > MAX_FEED_SIZE {
            return Err(Error::new(ErrorKind::TooLarge(MAX_FEED_SIZE)).with_path(path));
        }
        let bytes = std::fs::read(path).map_err(|e| Error::from(e).with_path(path))?;
        let label = path.display().to_string();
        self.add_bytes(&label, &bytes)
            .map_err(|e| e.with_path(path))
    }

    /// Load a feed held in memory; `name` gives its format (and is the
    /// source reported with its detections).
    pub fn add_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        let path = Path::new(name);
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (feed, errs) = match format_of(path, Some(bytes)) {
            Some(Format::Stix) => stix::read(bytes, &stem)?,
            Some(Format::Misp) => (misp::read(bytes)?, Vec::new()),
            Some(Format::Ioc(kind)) => sigbase::read(&String::from_utf8_lossy(bytes), kind),
            None => return Err(Error::new(ErrorKind::UnknownFormat)),
        };
        self.errors
            .extend(errs.into_iter().map(|e| e.with_path(name)));
        self.feeds.push((name.to_string(), feed));
        Ok(())
    }

    /// Index everything loaded. Returns the set and the diagnostics: bad
    /// lines, objects and regexes, each naming its file (and line), none of
    /// which kept the rest from loading.
    pub fn build(self) -> (Indicators, Vec<Error>) {
        let mut ix = Index {
            min_score: self.min_score.unwrap_or(DEFAULT_MIN_SCORE),
            errors: self.errors,
            ..Index::default()
        };
        for (name, feed) in self.feeds {
            ix.add_feed(name, feed);
        }
        ix.finish()
    }
}

#[derive(Clone, Copy)]
enum Format {
    Stix,
    Misp,
    Ioc(IocKind),
}

fn format_of(path: &Path, bytes: Option<&[u8]>) -> Option<Format> {
    let name = path.file_name()?.to_str()?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext.to_ascii_lowercase().as_str() {
        "stix2" => Some(Format::Stix),
        "json" => match bytes {
            None => Some(Format::Stix),
            Some(b) if stix::sniff(b) => Some(Format::Stix),
            Some(b) if misp::sniff(b) => Some(Format::Misp),
            Some(_) => None,
        },
        _ => IocKind::from_name(name).map(Format::Ioc),
    }
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if depth > MAX_DIR_DEPTH {
        return Ok(());
    }
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let ft = e.file_type()?;
        if ft.is_dir() {
            walk(&e.path(), depth + 1, out)?;
        } else if ft.is_file() {
            out.push(e.path());
        }
    }
    Ok(())
}

#[derive(Default)]
struct Index {
    min_score: u8,
    errors: Vec<Error>,
    sources: Vec<Source>,
    families: Vec<Family>,
    inds: Vec<Ind>,
    exact: HashMap<Key, HashMap<Box<str>, Vec<CRef>>>,
    paths: BTreeMap<String, Vec<CRef>>,
    urls: BTreeMap<String, Vec<CRef>>,
    regexes: Vec<(String, Option<Regex>, CRef)>,
}

impl Index {
    fn add_feed(&mut self, name: String, feed: Feed) {
        let src = self.sources.len();
        let fam0 = self.families.len();
        self.families
            .extend(feed.families.into_iter().map(|n| Family {
                name: n,
                source: src,
            }));
        let mut source = Source {
            path: name,
            indicators: 0,
            by_path: BTreeMap::new(),
            below_score: 0,
        };
        for e in feed.entries {
            if e.score.is_some_and(|s| s < self.min_score) {
                source.below_score += 1;
                continue;
            }
            if let Err(err) = self.add_entry(&source.path, fam0, e, &mut source.by_path) {
                self.errors.push(err);
            } else {
                source.indicators += 1;
            }
        }
        self.sources.push(source);
    }

    fn add_entry(
        &mut self,
        src: &str,
        fam0: usize,
        e: Entry,
        by_path: &mut BTreeMap<String, usize>,
    ) -> Result<(), Error> {
        let at = |err: Error| match e.line {
            Some(l) => err.with_path(src).with_line(l),
            None => err.with_path(src),
        };
        let fp = e
            .false_positive
            .as_deref()
            .map(compile)
            .transpose()
            .map_err(at)?;
        let any = e
            .any
            .iter()
            .map(|conj| conj.iter().map(term).collect())
            .collect::<Result<Vec<Vec<Term>>, Error>>()
            .map_err(at)?;
        let ind = self.inds.len() as u32;
        for (c, conj) in any.iter().enumerate() {
            for (k, t) in conj.iter().enumerate() {
                *by_path.entry(t.path.clone()).or_default() += 1;
                let r = CRef {
                    ind,
                    conj: c as u16,
                    comp: k as u16,
                };
                self.index_term(t.key, &t.value, r, fp.clone());
            }
        }
        let id = match e.line {
            Some(l) if e.id.is_empty() => format!("{src}:{l}"),
            _ => e.id,
        };
        self.inds.push(Ind {
            id,
            family: fam0 + e.family,
            any,
            score: e.score,
            note: e.note,
        });
        Ok(())
    }

    fn index_term(&mut self, key: Key, value: &str, r: CRef, fp: Option<Regex>) {
        match key {
            Key::NotScanned => {}
            Key::FilePath => self.paths.entry(value.to_string()).or_default().push(r),
            Key::Url => self.urls.entry(value.to_string()).or_default().push(r),
            Key::FilenameRegex => self.regexes.push((value.to_string(), fp, r)),
            k => self
                .exact
                .entry(k)
                .or_default()
                .entry(value.into())
                .or_default()
                .push(r),
        }
    }

    fn finish(mut self) -> (Indicators, Vec<Error>) {
        let names = self.name_regexes();
        let mut by_id = HashMap::with_capacity(self.inds.len());
        for (i, ind) in self.inds.iter().enumerate() {
            by_id.entry(ind.id.clone()).or_insert(i as u32);
        }
        let set = Indicators {
            by_id,
            paths: multi(std::mem::take(&mut self.paths), false),
            urls: multi(std::mem::take(&mut self.urls), true),
            names,
            sources: self.sources,
            families: self.families,
            inds: self.inds,
            exact: self.exact,
        };
        (set, self.errors)
    }

    fn name_regexes(&mut self) -> Option<NameRegexes> {
        if self.regexes.is_empty() {
            return None;
        }
        let regexes = std::mem::take(&mut self.regexes);
        let set = RegexSetBuilder::new(regexes.iter().map(|(r, _, _)| r))
            .unicode(false)
            .size_limit(REGEX_SET_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SET_SIZE_LIMIT)
            .build();
        match set {
            Ok(set) => Some(NameRegexes {
                set,
                false_positive: regexes.iter().map(|(_, fp, _)| fp.clone()).collect(),
                refs: regexes.iter().map(|(_, _, r)| *r).collect(),
            }),
            Err(e) => {
                self.errors.push(Error::new(ErrorKind::Regex(format!(
                    "filename IOCs as a set: {e}"
                ))));
                None
            }
        }
    }
}

/// A comparison resolved: its key, and its value case-folded where the key
/// compares without case; a filename regex must parse.
fn term(c: &Comparison) -> Result<Term, Error> {
    let key = Key::of(&c.path);
    if key == Key::FilenameRegex {
        validate(&c.value)?;
    }
    let value = if key.folds_case() {
        c.value.to_ascii_lowercase()
    } else {
        c.value.clone()
    };
    Ok(Term {
        key,
        path: c.path.clone(),
        value,
    })
}

fn multi(map: BTreeMap<String, Vec<CRef>>, fold: bool) -> Option<Multi> {
    if map.is_empty() {
        return None;
    }
    let (values, refs): (Vec<String>, Vec<Vec<CRef>>) = map.into_iter().unzip();
    let ac = AhoCorasick::builder()
        .ascii_case_insensitive(fold)
        .build(&values)
        .ok()?;
    Some(Multi { ac, values, refs })
}

/// Parse a regex on its own, so a refusal names its line.
fn validate(re: &str) -> Result<(), Error> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(re)
        .map(|_| ())
        .map_err(|e| Error::new(ErrorKind::Regex(first_line(&e.to_string()))))
}

fn compile(re: &str) -> Result<Regex, Error> {
    RegexBuilder::new(re)
        .unicode(false)
        .build()
        .map_err(|e| Error::new(ErrorKind::Regex(first_line(&e.to_string()))))
}

/// The regex crate's messages span several lines (a caret under the
/// pattern); the last line says what is wrong.
fn first_line(msg: &str) -> String {
    let what = msg
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(msg);
    what.trim().trim_start_matches("error: ").to_string()
}
