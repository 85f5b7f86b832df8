//! Loading databases: files, directories and containers into one
//! [`SignatureSet`].
//!
//! Loading happens in two phases. First every path is expanded (directories
//! in ClamAV's order: `daily.*` first, then by name; containers opened and
//! verified) and every ignore list is
//! read, so `.ign2` entries apply to all databases whatever their order on
//! disk. Then the signature files are parsed one after another, each in
//! chunks cut at line ends on all cores, within a bounded buffer; results are
//! merged in load order, so names and line numbers are the same on every run.
//!
//! A malformed line becomes an [`Error`] naming the file and line, and the
//! rest of the file still loads. A container that fails verification is
//! refused whole. The caller decides whether diagnostics are fatal (a
//! `--strict` mode) or warnings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cvd::{self, ContainerKind, Header};
use crate::hash::{HashLayout, HashParser, HashSet3};
use crate::names::{NameId, Names};
use crate::parse::{
    add_stats, body_chunk, container_chunk, count_chunk, ftm_chunk, hash_chunk, logical_chunk,
    parse_stream, Parsed,
};
use crate::{DbKind, Error, ErrorKind, IgnoreList};

/// The functionality level this engine reports, as ClamAV 1.4 does. Lines
/// whose `MinFL:MaxFL` range excludes it are skipped and counted.
pub const FLEVEL: u32 = 216;

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

/// Keys of [`LoadStats::unsupported`] for signatures read but not matched,
/// besides file extensions.
pub mod note {
    /// `.ldb` signatures with an `IconGroup`.
    pub const LDB_ICON_GROUP: &str = "ldb icon group";
    /// `.ndb` patterns without a literal before their first `*`.
    pub const NDB_NO_LITERAL: &str = "ndb (no literal to find it by)";
    /// `.ldb` signatures whose PCRE does not compile for matching.
    pub const LDB_PCRE: &str = "ldb (PCRE does not compile)";
    /// `.ftm` partition type rules (magic type 4).
    pub const FTM_PARTITION: &str = "ftm (partition types)";
    /// `.cdb` name expressions too large for the matcher.
    pub const CDB_NAME_TOO_LARGE: &str = "cdb (name expression too large)";
}

const NOTES: &[&str] = &[
    note::LDB_ICON_GROUP,
    note::NDB_NO_LITERAL,
    note::LDB_PCRE,
    note::CDB_NAME_TOO_LARGE,
    note::FTM_PARTITION,
];

impl LoadStats {
    /// The static key of [`LoadStats::unsupported`] spelled `key`: an
    /// unsupported extension or a known note (anything else: "other").
    pub fn static_key(key: &str) -> &'static str {
        if let Some(n) = NOTES.iter().find(|n| **n == key) {
            return n;
        }
        match DbKind::from_name(&format!("x.{key}")) {
            Some(DbKind::Unsupported(ext)) => ext,
            _ => "other",
        }
    }

    /// Count one signature of an unsupported kind.
    pub(crate) fn unsupported_one(&mut self, what: &'static str) {
        *self.unsupported.entry(what).or_default() += 1;
    }
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
    /// Body signatures.
    pub bodies: Vec<crate::BodySig>,
    /// Logical signatures.
    pub logical: Vec<crate::LogicalSig>,
    /// Container metadata signatures.
    pub container_sigs: Vec<crate::ContainerSig>,
    /// File type rules (`.ftm`), in load order.
    pub file_types: Vec<crate::FtmRule>,
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
        // ClamAV loads the daily database before the others, then the rest;
        // the order decides which of two equal hashes is reported.
        files.sort_by_key(|(p, _)| {
            let daily = p.file_stem().is_some_and(|s| s == "daily");
            (!daily, p.clone())
        });
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
    ///
    /// Files are parsed one after another, each on all cores, so the text
    /// held in memory stays bounded.
    pub fn finish(self) -> (SignatureSet, Vec<Error>) {
        self.finish_to(None)
            .expect("without a spill nothing is written")
    }

    /// Parse everything added as [`Loader::finish`] does, but hand the
    /// hash records and names to `spill`, chunk by chunk in load order,
    /// instead of keeping them: the returned set has no hash records and no
    /// names (its other signatures name ids in `spill`'s order), so a
    /// database of any size loads in the memory of one batch of text. An
    /// error from `spill` stops the load.
    pub fn finish_spilled(
        self,
        spill: &mut dyn Spill,
    ) -> std::io::Result<(SignatureSet, Vec<Error>)> {
        self.finish_to(Some(spill))
    }

    fn finish_to(
        mut self,
        mut spill: Option<&mut dyn Spill>,
    ) -> std::io::Result<(SignatureSet, Vec<Error>)> {
        let mut set = SignatureSet {
            containers: std::mem::take(&mut self.containers),
            ..SignatureSet::default()
        };
        set.stats.ignore_entries = self.ignore.len() as u64;
        let mut into = Target {
            set: &mut set,
            spill: spill.take(),
            names: 0,
            failed: None,
        };
        for unit in &self.units {
            let ctx = Context {
                opts: &self.opts,
                ignore: &self.ignore,
            };
            if let Err(e) = load_unit(&mut into, unit, &ctx, &mut self.diagnostics) {
                self.diagnostics.push(e.with_path(&unit.path));
            }
            if let Some(e) = into.failed.take() {
                return Err(e);
            }
        }
        Ok((set, self.diagnostics))
    }
}

/// Where [`Loader::finish_spilled`] puts the bulk of a database: hash
/// records and names, one parsed chunk at a time, in load order.
pub trait Spill {
    /// The hash records of one chunk for `table`, their name ids final.
    fn hashes(&mut self, table: HashTable, records: HashSet3) -> std::io::Result<()>;
    /// The names of one chunk: the next ids, in order (`names`' id 0 is
    /// the first id not yet given).
    fn names(&mut self, names: &Names) -> std::io::Result<()>;
}

/// The purpose of a hash record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashTable {
    /// Whole-file hashes.
    File,
    /// PE section hashes.
    Section,
    /// The allow list.
    Allow,
}

/// What parsed chunks go into: the set, or the set and a spill.
struct Target<'a, 's> {
    set: &'a mut SignatureSet,
    spill: Option<&'s mut dyn Spill>,
    /// Names given so far.
    names: u32,
    /// The spill's first error; nothing is added after it.
    failed: Option<std::io::Error>,
}

impl Target<'_, '_> {
    /// Take a chunk's names and hash records; the shift of its name ids,
    /// or `None` when there would be more than 2^32 names.
    fn bulk(&mut self, table: HashTable, names: Names, hashes: HashSet3) -> Option<u32> {
        let shift = self.names;
        self.names = shift.checked_add(u32::try_from(names.len()).ok()?)?;
        let Some(spill) = self.spill.as_mut() else {
            self.set.names.append(names)?;
            let to = match table {
                HashTable::Section => &mut self.set.section_hashes,
                HashTable::Allow => &mut self.set.allow,
                HashTable::File => &mut self.set.file_hashes,
            };
            to.extend_shifted(hashes, shift);
            return Some(shift);
        };
        let mut shifted = HashSet3::default();
        shifted.extend_shifted(hashes, shift);
        let written = spill.names(&names).and_then(|()| match shifted.len() {
            0 => Ok(()),
            _ => spill.hashes(table, shifted),
        });
        if let Err(e) = written {
            self.failed.get_or_insert(e);
        }
        Some(shift)
    }
}

/// The loader's settings a unit is parsed with.
struct Context<'a> {
    opts: &'a LoadOptions,
    ignore: &'a IgnoreList,
}

/// Parse one unit straight into the set (and the spill).
fn load_unit(
    into: &mut Target<'_, '_>,
    unit: &Unit,
    ctx: &Context<'_>,
    diags: &mut Vec<Error>,
) -> Result<(), Error> {
    let first_name = into.names;
    let table = match unit.kind {
        DbKind::SectionHash | DbKind::SectionHashPua => HashTable::Section,
        DbKind::Allow => HashTable::Allow,
        _ => HashTable::File,
    };
    let mut loaded = 0;
    let mut sink = |p: Parsed| {
        if into.failed.is_some() {
            return;
        }
        let Some(shift) = into.bulk(table, p.names, p.hashes) else {
            diags.push(Error::malformed("more than 2^32 signature names").with_path(&unit.path));
            return;
        };
        let set = &mut *into.set;
        set.bodies.extend(p.bodies.into_iter().map(|mut b| {
            b.name.0 += shift;
            b
        }));
        set.logical.extend(p.logical.into_iter().map(|mut l| {
            l.name.0 += shift;
            l
        }));
        set.container_sigs
            .extend(p.containers.into_iter().map(|mut c| {
                c.name.0 += shift;
                c
            }));
        set.file_types.extend(p.file_types);
        add_stats(&mut set.stats, p.stats);
        loaded += p.loaded;
        diags.extend(
            p.errors
                .into_iter()
                .map(|(line, e)| e.with_path(&unit.path).with_line(line)),
        );
    };
    let (opts, ignore) = (ctx.opts, ctx.ignore);
    match &unit.data {
        UnitData::File(p) => {
            parse_kind(std::fs::File::open(p)?, unit.kind, opts, ignore, &mut sink)?
        }
        UnitData::Bytes(b) => parse_kind(b.as_slice(), unit.kind, opts, ignore, &mut sink)?,
        UnitData::Static(s) => parse_kind(s.as_bytes(), unit.kind, opts, ignore, &mut sink)?,
    }
    into.set.sources.push(Source {
        path: unit.path.clone(),
        kind: unit.kind,
        official: unit.official,
        first_name,
        loaded,
    });
    Ok(())
}

fn parse_kind(
    r: impl std::io::Read,
    kind: DbKind,
    opts: &LoadOptions,
    ignore: &IgnoreList,
    sink: &mut dyn FnMut(Parsed),
) -> std::io::Result<()> {
    if kind.is_pua() && !opts.detect_pua {
        let count = |c: &[u8]| counted(|s| s.pua_not_loaded = count_chunk(c));
        return parse_stream(r, count, sink);
    }
    if matches!(kind, DbKind::Body | DbKind::BodyPua) {
        let parser = crate::body::BodyParser {
            flevel: opts.flevel,
            ignore,
        };
        return parse_stream(r, |c| body_chunk(c, &parser), sink);
    }
    if kind == DbKind::ContainerMeta {
        let parser = crate::cdb::ContainerParser {
            flevel: opts.flevel,
            ignore,
        };
        return parse_stream(r, |c| container_chunk(c, &parser), sink);
    }
    if kind == DbKind::FileTypeMagic {
        let parser = crate::FtmParser {
            flevel: opts.flevel,
        };
        return parse_stream(r, |c| ftm_chunk(c, &parser), sink);
    }
    if matches!(kind, DbKind::Logical | DbKind::LogicalPua) {
        let parser = crate::logical::LogicalParser {
            flevel: opts.flevel,
            ignore,
        };
        return parse_stream(r, |c| logical_chunk(c, &parser), sink);
    }
    let layout = match kind {
        DbKind::FileHash | DbKind::FileHashPua | DbKind::Allow => HashLayout::HashFirst,
        DbKind::SectionHash | DbKind::SectionHashPua => HashLayout::SizeFirst,
        DbKind::Unsupported(ext) => {
            let count = |c: &[u8]| {
                counted(|s| {
                    s.unsupported.insert(ext, count_chunk(c));
                })
            };
            return parse_stream(r, count, sink);
        }
        _ => return Ok(()),
    };
    let parser = HashParser {
        layout,
        flevel: opts.flevel,
        ignore,
    };
    parse_stream(r, |c| hash_chunk(c, &parser), sink)
}

/// A result that only counts lines.
fn counted(f: impl FnOnce(&mut LoadStats)) -> Parsed {
    let mut p = Parsed::default();
    f(&mut p.stats);
    p.stats.unsupported.retain(|_, n| *n > 0);
    p
}
