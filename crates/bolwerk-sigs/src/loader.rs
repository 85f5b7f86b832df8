//! Loading databases: files, directories and containers into one
//! [`SignatureSet`].
//!
//! Loading happens in two phases. First every path is expanded (directories
//! in name order, containers opened and verified) and every ignore list is
//! read, so `.ign2` entries apply to all databases whatever their order on
//! disk. Then the signature files are parsed in parallel: each file, and
//! each large file in chunks cut at line ends, on its own thread; results are
//! merged in load order, so names and line numbers are the same on every run.
//!
//! A malformed line becomes an [`Error`] naming the file and line, and the
//! rest of the file still loads. A container that fails verification is
//! refused whole. The caller decides whether diagnostics are fatal (a
//! `--strict` mode) or warnings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::cvd::{self, ContainerKind, Header};
use crate::hash::{HashLayout, HashParser, HashSet3, LineOutcome};
use crate::names::{NameId, Names};
use crate::{DbKind, Error, ErrorKind, IgnoreList};

/// The functionality level this engine reports, as ClamAV 1.4 does. Lines
/// whose `MinFL:MaxFL` range excludes it are skipped and counted.
pub const FLEVEL: u32 = 216;

/// Files larger than this are parsed in chunks on several threads.
const CHUNK_BYTES: usize = 4 << 20;

/// How databases are loaded.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// The functionality level to load for.
    pub flevel: u32,
    /// Load potentially-unwanted-application signatures (`.hdu` …).
    pub detect_pua: bool,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            flevel: FLEVEL,
            detect_pua: false,
        }
    }
}

/// One loaded database file (a plain file or a container member).
#[derive(Clone, Debug)]
pub struct Source {
    /// Where it came from: a path, or `container//member`.
    pub path: String,
    /// Its kind.
    pub kind: DbKind,
    /// Whether it came signed (its detections carry no `.UNOFFICIAL`).
    pub official: bool,
    /// The first name id its signatures use; ids are handed out in load
    /// order, so a signature's source is found by its name id.
    pub first_name: u32,
    /// Signatures loaded from it.
    pub loaded: u64,
}

/// What was read but not loaded, and why.
#[derive(Clone, Debug, Default)]
pub struct LoadStats {
    /// Lines outside this engine's functionality-level range.
    pub out_of_level: u64,
    /// Signatures dropped by an ignore list.
    pub ignored: u64,
    /// PUA signatures not loaded because PUA detection is off.
    pub pua_not_loaded: u64,
    /// Signature lines of formats this version does not match yet, by extension.
    pub unsupported: BTreeMap<&'static str, u64>,
    /// Ignore-list entries read.
    pub ignore_entries: u64,
}

/// A verified container, for reporting.
#[derive(Clone, Debug)]
pub struct ContainerInfo {
    /// The container file.
    pub path: PathBuf,
    /// Its kind.
    pub kind: ContainerKind,
    /// Its header.
    pub header: Header,
    /// Checks that passed.
    pub checks: Vec<String>,
    /// Member names.
    pub members: Vec<String>,
}

/// Every signature loaded, in a typed, engine-neutral form.
#[derive(Clone, Debug, Default)]
pub struct SignatureSet {
    /// All signature names.
    pub names: Names,
    /// Whole-file hash signatures.
    pub file_hashes: HashSet3,
    /// PE section hash signatures.
    pub section_hashes: HashSet3,
    /// Allow-list hashes: a file with one of these is never reported.
    pub allow: HashSet3,
    /// The files the signatures came from, in load order.
    pub sources: Vec<Source>,
    /// The containers opened.
    pub containers: Vec<ContainerInfo>,
    /// What was skipped.
    pub stats: LoadStats,
}

impl SignatureSet {
    /// Signatures loaded, counted as clamscan counts "Known viruses"
    /// (allow-list entries included).
    pub fn known_signatures(&self) -> u64 {
        self.sources.iter().map(|s| s.loaded).sum()
    }

    /// The database a name came from.
    pub fn source_of(&self, name: NameId) -> Option<&Source> {
        let i = self.sources.partition_point(|s| s.first_name <= name.0);
        self.sources.get(i.checked_sub(1)?)
    }
}

/// Loads databases; see the module documentation.
pub struct Loader {
    opts: LoadOptions,
    ignore: IgnoreList,
    units: Vec<Unit>,
    diagnostics: Vec<Error>,
    containers: Vec<ContainerInfo>,
}

struct Unit {
    path: String,
    kind: DbKind,
    official: bool,
    data: UnitData,
}

enum UnitData {
    File(PathBuf),
    Bytes(Vec<u8>),
    Static(&'static str),
}

impl Loader {
    /// A loader with the given options.
    pub fn new(opts: LoadOptions) -> Loader {
        Loader {
            opts,
            ignore: IgnoreList::default(),
            units: Vec::new(),
            diagnostics: Vec::new(),
            containers: Vec::new(),
        }
    }

    /// Add the built-in pack (official).
    pub fn add_builtin(&mut self) {
        self.units.push(Unit {
            path: crate::BUILTIN_PATH.to_string(),
            kind: DbKind::FileHash,
            official: true,
            data: UnitData::Static(crate::BUILTIN_HDB),
        });
    }

    /// Add a database file or a directory of them. Errors that stop this
    /// path from loading at all are returned; problems inside it are kept
    /// as diagnostics.
    pub fn add_path(&mut self, path: &Path) -> Result<(), Error> {
        let meta = std::fs::metadata(path).map_err(|e| Error::from(e).with_path(path))?;
        if meta.is_dir() {
            return self.add_dir(path);
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let kind = DbKind::from_name(name)
            .ok_or_else(|| Error::new(ErrorKind::UnknownFormat).with_path(path))?;
        self.add_file(path, kind);
        Ok(())
    }

    fn add_dir(&mut self, dir: &Path) -> Result<(), Error> {
        let rd = std::fs::read_dir(dir).map_err(|e| Error::from(e).with_path(dir))?;
        let mut files: Vec<(PathBuf, DbKind)> = rd
            .filter_map(Result::ok)
            .filter_map(|e| {
                let kind = DbKind::from_name(e.file_name().to_str()?)?;
                let path = e.path();
                path.is_file().then_some((path, kind))
            })
            .collect();
        files.sort();
        for (path, kind) in files {
            self.add_file(&path, kind);
        }
        Ok(())
    }

    fn add_file(&mut self, path: &Path, kind: DbKind) {
        match kind {
            DbKind::Container(ck) => self.add_container(path, ck),
            DbKind::Ignore => match std::fs::read(path) {
                Ok(data) => self.read_ignore(&path.display().to_string(), &data),
                Err(e) => self.diagnostics.push(Error::from(e).with_path(path)),
            },
            DbKind::Info | DbKind::Config => {}
            _ => self.units.push(Unit {
                path: path.display().to_string(),
                kind,
                official: false,
                data: UnitData::File(path.to_path_buf()),
            }),
        }
    }

    fn add_container(&mut self, path: &Path, ck: ContainerKind) {
        let opened = std::fs::read(path)
            .map_err(Error::from)
            .and_then(|bytes| cvd::open(&bytes, ck));
        let container = match opened {
            Ok(c) => c,
            Err(e) => return self.diagnostics.push(e.with_path(path)),
        };
        let official = container.is_signed();
        self.containers.push(ContainerInfo {
            path: path.to_path_buf(),
            kind: ck,
            header: container.header,
            checks: container.checks,
            members: container.members.iter().map(|m| m.name.clone()).collect(),
        });
        for m in container.members {
            let member_path = format!("{}//{}", path.display(), m.name);
            match DbKind::from_name(&m.name) {
                None | Some(DbKind::Info | DbKind::Config | DbKind::Container(_)) => {}
                Some(DbKind::Ignore) => self.read_ignore(&member_path, &m.data),
                Some(kind) => self.units.push(Unit {
                    path: member_path,
                    kind,
                    official,
                    data: UnitData::Bytes(m.data),
                }),
            }
        }
    }

    fn read_ignore(&mut self, path: &str, data: &[u8]) {
        for (i, line) in data.split(|&b| b == b'\n').enumerate() {
            match self.ignore.parse_line(line) {
                Ok(()) => {}
                Err(e) => self
                    .diagnostics
                    .push(e.with_path(path).with_line(i as u64 + 1)),
            }
        }
    }

    /// Parse everything added and return the set with every diagnostic.
    pub fn finish(mut self) -> (SignatureSet, Vec<Error>) {
        let mut set = SignatureSet {
            containers: std::mem::take(&mut self.containers),
            ..SignatureSet::default()
        };
        set.stats.ignore_entries = self.ignore.len() as u64;
        let parsed: Vec<Result<Parsed, Error>> = self
            .units
            .par_iter()
            .map(|u| parse_unit(u, &self.opts, &self.ignore))
            .collect();
        for (unit, result) in self.units.iter().zip(parsed) {
            match result {
                Ok(p) => merge(&mut set, unit, p, &mut self.diagnostics),
                Err(e) => self.diagnostics.push(e.with_path(&unit.path)),
            }
        }
        (set, self.diagnostics)
    }
}

/// What one unit (or one chunk of it) parsed into.
#[derive(Default)]
struct Parsed {
    names: Names,
    hashes: HashSet3,
    loaded: u64,
    lines: u64,
    stats: LoadStats,
    /// Errors with their line relative to the start of the chunk.
    errors: Vec<(u64, Error)>,
}

fn merge(set: &mut SignatureSet, unit: &Unit, p: Parsed, diags: &mut Vec<Error>) {
    let first_name = set.names.len() as u32;
    let Some(shift) = set.names.append(p.names) else {
        diags.push(Error::malformed("too many signature names").with_path(&unit.path));
        return;
    };
    let target = match unit.kind {
        DbKind::SectionHash | DbKind::SectionHashPua => &mut set.section_hashes,
        DbKind::Allow => &mut set.allow,
        _ => &mut set.file_hashes,
    };
    target.append(p.hashes, shift);
    add_stats(&mut set.stats, p.stats);
    diags.extend(
        p.errors
            .into_iter()
            .map(|(line, e)| e.with_path(&unit.path).with_line(line)),
    );
    set.sources.push(Source {
        path: unit.path.clone(),
        kind: unit.kind,
        official: unit.official,
        first_name,
        loaded: p.loaded,
    });
}

fn add_stats(to: &mut LoadStats, from: LoadStats) {
    to.out_of_level += from.out_of_level;
    to.ignored += from.ignored;
    to.pua_not_loaded += from.pua_not_loaded;
    for (k, v) in from.unsupported {
        *to.unsupported.entry(k).or_default() += v;
    }
}

fn parse_unit(unit: &Unit, opts: &LoadOptions, ignore: &IgnoreList) -> Result<Parsed, Error> {
    let owned;
    let data: &[u8] = match &unit.data {
        UnitData::File(p) => {
            owned = std::fs::read(p)?;
            &owned
        }
        UnitData::Bytes(b) => b,
        UnitData::Static(s) => s.as_bytes(),
    };
    let layout = match unit.kind {
        DbKind::FileHash | DbKind::FileHashPua | DbKind::Allow => HashLayout::HashFirst,
        DbKind::SectionHash | DbKind::SectionHashPua => HashLayout::SizeFirst,
        DbKind::Unsupported(ext) => return Ok(count_unsupported(ext, data)),
        _ => return Ok(Parsed::default()),
    };
    if unit.kind.is_pua() && !opts.detect_pua {
        let mut p = Parsed::default();
        p.stats.pua_not_loaded = count_signature_lines(data);
        return Ok(p);
    }
    let parser = HashParser {
        layout,
        flevel: opts.flevel,
        ignore,
    };
    Ok(parse_chunked(data, &parser, CHUNK_BYTES))
}

fn count_unsupported(ext: &'static str, data: &[u8]) -> Parsed {
    let mut p = Parsed::default();
    p.stats.unsupported.insert(ext, count_signature_lines(data));
    p
}

fn count_signature_lines(data: &[u8]) -> u64 {
    data.split(|&b| b == b'\n')
        .filter(|l| {
            let l = crate::hash::trim_cr(l);
            !l.is_empty() && l[0] != b'#'
        })
        .count() as u64
}

/// Parse a hash file, in parallel chunks when it is large.
fn parse_chunked(data: &[u8], parser: &HashParser<'_>, chunk_bytes: usize) -> Parsed {
    let chunks = split_at_lines(data, chunk_bytes);
    let parts: Vec<Parsed> = chunks
        .par_iter()
        .map(|c| parse_hash_lines(c, parser))
        .collect();
    let mut all = Parsed::default();
    for p in parts {
        let base = all.lines;
        let shift = all.names.append(p.names).expect("chunk names fit");
        all.hashes.append(p.hashes, shift);
        all.loaded += p.loaded;
        all.lines += p.lines;
        add_stats(&mut all.stats, p.stats);
        all.errors
            .extend(p.errors.into_iter().map(|(l, e)| (base + l, e)));
    }
    all
}

fn parse_hash_lines(chunk: &[u8], parser: &HashParser<'_>) -> Parsed {
    let mut p = Parsed::default();
    let mut lines = chunk.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        if lines.peek().is_none() && line.is_empty() {
            break; // the text after the final newline
        }
        p.lines += 1;
        match parser.parse_line(line, &mut p.hashes, &mut p.names) {
            Ok(LineOutcome::Added) => p.loaded += 1,
            Ok(LineOutcome::Comment) => {}
            Ok(LineOutcome::OutOfLevel) => p.stats.out_of_level += 1,
            Ok(LineOutcome::Ignored) => p.stats.ignored += 1,
            Err(e) => p.errors.push((p.lines, e)),
        }
    }
    p
}

/// Cut `data` into pieces of about `size` bytes, each ending at a newline.
fn split_at_lines(data: &[u8], size: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while rest.len() > size {
        let cut = match memchr::memchr(b'\n', &rest[size..]) {
            Some(i) => size + i + 1,
            None => rest.len(),
        };
        let (head, tail) = rest.split_at(cut);
        out.push(head);
        rest = tail;
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_end_at_lines() {
        let data = b"aa\nbbbb\ncc\nd";
        let chunks = split_at_lines(data, 3);
        assert_eq!(chunks.concat(), data.to_vec());
        for c in &chunks[..chunks.len() - 1] {
            assert_eq!(c.last(), Some(&b'\n'));
        }
    }

    #[test]
    fn chunked_line_numbers_are_file_line_numbers() {
        let mut text = String::new();
        for i in 0..5000 {
            if i == 4321 {
                text.push_str("not a signature\n");
            } else {
                text.push_str(&format!("{:032x}:{}:Sig-{i}\n", i + 1, i + 1));
            }
        }
        let ign = IgnoreList::default();
        let parser = HashParser {
            layout: HashLayout::HashFirst,
            flevel: FLEVEL,
            ignore: &ign,
        };
        assert!(split_at_lines(text.as_bytes(), 1000).len() > 10);
        let p = parse_chunked(text.as_bytes(), &parser, 1000);
        assert_eq!(p.loaded, 4999);
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].0, 4322);
        assert_eq!(p.names.get(p.hashes.md5[4998].name), "Sig-4999");
    }
}
