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
//! - signature-base filename regexes: found by the literal each contains
//!   (see `names.rs`: most are never compiled); each regex is first
//!   parsed on its own, so one the `regex` crate refuses is reported with
//!   file:line.
//!   They are compiled with ASCII semantics (`\w`, `(?i)` and `.` on
//!   bytes): the IOCs are ASCII, and Unicode classes made the set two to
//!   three times slower to build, a cost paid at every start.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

use crate::error::{Error, ErrorKind};
use crate::feed::{Entry, Feed, Key};
use crate::names::{LazyRegex, RegexIndex};
use crate::pattern::Comparison;
use crate::read::format_of;
use crate::{builtin, packed, read};

/// The largest feed file read.
pub const MAX_FEED_SIZE: u64 = 256 << 20;
/// How deep directories given to [`IndicatorsBuilder::add_path`] are walked.
pub const MAX_DIR_DEPTH: usize = 8;
/// Scored indicators (signature-base filename and C2 IOCs) below this score
/// are not loaded by default: Loki's "warning" level. Many below it are
/// generic names such as `\\t\.exe$`.
pub const DEFAULT_MIN_SCORE: u8 = 60;

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
    pub(crate) index: RegexIndex,
    pub(crate) false_positive: Vec<Option<LazyRegex>>,
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
    /// Indicator by id, made on first use (only sharing sightings asks).
    pub(crate) by_id: OnceLock<HashMap<String, u32>>,
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

    /// The indicator with this id (the first, if feeds repeat one).
    pub(crate) fn by_id(&self, id: &str) -> Option<&Ind> {
        let ids = self.by_id.get_or_init(|| {
            let mut by_id = HashMap::with_capacity(self.inds.len());
            for (i, ind) in self.inds.iter().enumerate() {
                by_id.entry(ind.id.clone()).or_insert(i as u32);
            }
            by_id
        });
        Some(&self.inds[*ids.get(id)? as usize])
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
    /// Each feed, and whether its regexes are known to parse (the
    /// built-in pack's were checked when it was built).
    feeds: Vec<(String, Feed, bool)>,
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
        match packed::decode(builtin::PACKED) {
            Some(feeds) => self
                .feeds
                .extend(feeds.into_iter().map(|(name, feed)| (name, feed, true))),
            None => self.errors.push(
                Error::new(ErrorKind::Malformed(
                    "the pack in the binary is damaged".into(),
                ))
                .with_path("builtin:"),
            ),
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
        let (feed, errs) = read::read(name, bytes)?;
        self.errors
            .extend(errs.into_iter().map(|e| e.with_path(name)));
        self.feeds.push((name.to_string(), feed, false));
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
        for (name, feed, checked) in self.feeds {
            ix.add_feed(name, feed, checked);
        }
        ix.finish()
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
    regexes: Vec<(String, Option<String>, CRef)>,
}

impl Index {
    fn add_feed(&mut self, name: String, feed: Feed, checked: bool) {
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
            if let Err(err) = self.add_entry(&source.path, fam0, e, checked, &mut source.by_path) {
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
        checked: bool,
        by_path: &mut BTreeMap<String, usize>,
    ) -> Result<(), Error> {
        let line = e.line;
        let at = |err: Error| match line {
            Some(l) => err.with_path(src).with_line(l),
            None => err.with_path(src),
        };
        let fp = e.false_positive;
        if let (Some(f), false) = (&fp, checked) {
            validate(f).map_err(at)?;
        }
        let any = e
            .any
            .into_iter()
            .map(|conj| conj.into_iter().map(|c| term(c, checked)).collect())
            .collect::<Result<Vec<Vec<Term>>, Error>>()
            .map_err(at)?;
        let ind = self.inds.len() as u32;
        for (c, conj) in any.iter().enumerate() {
            for (k, t) in conj.iter().enumerate() {
                match by_path.get_mut(&t.path) {
                    Some(n) => *n += 1,
                    None => {
                        by_path.insert(t.path.clone(), 1);
                    }
                }
                let r = CRef {
                    ind,
                    conj: c as u16,
                    comp: k as u16,
                };
                self.index_term(t.key, &t.value, r, fp.as_deref());
            }
        }
        let id = match line {
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

    fn index_term(&mut self, key: Key, value: &str, r: CRef, fp: Option<&str>) {
        match key {
            Key::NotScanned => {}
            Key::FilePath => self.paths.entry(value.to_string()).or_default().push(r),
            Key::Url => self.urls.entry(value.to_string()).or_default().push(r),
            Key::FilenameRegex => self
                .regexes
                .push((value.to_string(), fp.map(str::to_string), r)),
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
        let set = Indicators {
            by_id: OnceLock::new(),
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
        let (sources, rest): (Vec<String>, Vec<(Option<String>, CRef)>) =
            std::mem::take(&mut self.regexes)
                .into_iter()
                .map(|(re, fp, r)| (re, (fp, r)))
                .unzip();
        match RegexIndex::new(sources) {
            Ok(index) => Some(NameRegexes {
                index,
                false_positive: rest
                    .iter()
                    .map(|(fp, _)| fp.clone().map(LazyRegex::new))
                    .collect(),
                refs: rest.iter().map(|(_, r)| *r).collect(),
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
/// compares without case; a filename regex must parse (unless `checked`).
fn term(c: Comparison, checked: bool) -> Result<Term, Error> {
    let key = Key::of(&c.path);
    if key == Key::FilenameRegex && !checked {
        validate(&c.value)?;
    }
    let mut value = c.value;
    if key.folds_case() {
        value.make_ascii_lowercase();
    }
    Ok(Term {
        key,
        path: c.path,
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
