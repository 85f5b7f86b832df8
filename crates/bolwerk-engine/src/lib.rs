//! The matching engine: a compiled [`SignatureSet`] and the code that
//! matches bytes against it.
//!
//! [`Engine::build`] takes the loader's records and sorts them into lookup
//! tables; the engine is immutable afterwards, `Send + Sync`, and shared by
//! every scanning thread behind an `Arc`.
//!
//! The engine knows nothing of files, paths or sockets: it is given the
//! bytes of one object and an [`ObjectContext`]: its type and, for PE files,
//! its sections and entry point
//! (found by `bolwerk-unpack`), and it answers with [`Detection`]s.
//!
//! Hashing is the costly part of a hash-signature scan, so a digest is
//! computed only when some signature of that type names the object's size
//! (or any size), and each digest at most once per object.
//!
//! ```
//! use bolwerk_engine::{Engine, ObjectContext, ScanOptions};
//! use bolwerk_sigs::{LoadOptions, Loader};
//!
//! let mut loader = Loader::new(LoadOptions::default());
//! loader.add_builtin();
//! let engine = Engine::build(loader.finish().0);
//! let eicar = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
//! let found = engine.scan(eicar, &ObjectContext::default(), &ScanOptions::default());
//! assert_eq!(engine.name(found[0].name), "Win.Test.EICAR_HDB-1");
//! ```

#![deny(missing_docs)]

mod body;
pub mod cache;
pub mod compiled;
mod container;
mod digests;
mod filetypes;
mod flat;
mod hashindex;
mod logical;
mod pages;
mod prefilter;
mod rarity;
mod spill;
mod verify;

pub use body::ObjectContext;
pub use container::Member;
pub use digests::Digests;
pub use pages::{Pages, CHUNK};

use std::path::Path;

use bolwerk_sigs::{note, ContainerSig, FtmRule, LoadStats, NameId, SignatureSet, Source};

use crate::body::{BodyMatcher, Owner, Pattern};
use crate::compiled::{Check, ImageError, NameTable};
use crate::container::ContainerMatcher;
use crate::filetypes::FileTypeRules;
use crate::hashindex::{HashIndex, HashIndex3};
use crate::logical::LogicalMatcher;

/// The hash function a signature uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashType {
    /// MD5.
    Md5,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
}

/// What kind of signature matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigKind {
    /// A whole-object hash (`.hdb`, `.hsb`).
    FileHash(HashType),
    /// A PE section hash (`.mdb`, `.msb`).
    SectionHash(HashType),
    /// A body signature (`.ndb`).
    Body,
    /// A logical signature (`.ldb`).
    Logical,
    /// A container metadata signature (`.cdb`).
    ContainerMeta,
}

/// One match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detection {
    /// The signature's name; resolve with [`Engine::name`].
    pub name: NameId,
    /// The kind of signature.
    pub kind: SigKind,
    /// Byte offset of the matched data in the object (0 for whole-object
    /// hashes, the section start for section hashes).
    pub offset: u64,
}

/// What matching one object found, and whether it looked everywhere.
///
/// Dereferences to the detections. `cut_short` is set when verification's
/// work budget ran out before every candidate was verified: the object may
/// hold a match that was not found, so a caller must not call it clean
/// without saying so (the scanner notes `MaxScanTime`, warns, and reports
/// `Heuristics.Limits.Exceeded.MaxScanTime` when asked to).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scanned {
    /// What matched.
    pub detections: Vec<Detection>,
    /// Matching stopped before it was done.
    pub cut_short: bool,
    /// Verification work spent on the object, in positions examined (the
    /// budget is 2^28 plus 256 a byte): a measure for benchmarks.
    pub work: u64,
}

impl std::ops::Deref for Scanned {
    type Target = [Detection];
    fn deref(&self) -> &[Detection] {
        &self.detections
    }
}

impl IntoIterator for Scanned {
    type Item = Detection;
    type IntoIter = std::vec::IntoIter<Detection>;
    fn into_iter(self) -> Self::IntoIter {
        self.detections.into_iter()
    }
}

/// What an engine is assembled from.
struct Parts {
    names: NameTable,
    sources: Vec<Source>,
    /// Whole-file, PE section and allow-list hashes.
    tables: [HashIndex3; 3],
}

/// Sections larger than this are not hashed (ClamAV's allocation cap).
const MAX_SECTION_HASHED: u64 = 1 << 30;

/// Per-scan switches.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    /// Report every matching signature, not only the first.
    pub all_match: bool,
}

/// A compiled signature set.
#[derive(Debug)]
pub struct Engine {
    names: NameTable,
    sources: Vec<Source>,
    file: HashIndex3,
    section: HashIndex3,
    allow: HashIndex3,
    bodies: BodyMatcher,
    logical: LogicalMatcher,
    containers: ContainerMatcher,
    file_types: FileTypeRules,
    stats: LoadStats,
    known: u64,
}

/// An engine's parts besides its hash tables and names: what is compiled
/// from the body, logical, container metadata and file type signatures,
/// with the load statistics those signatures change.
pub(crate) struct Matchers {
    pub(crate) bodies: BodyMatcher,
    pub(crate) logical: LogicalMatcher,
    containers: ContainerMatcher,
    file_types: FileTypeRules,
    pub(crate) stats: LoadStats,
    pub(crate) known: u64,
    /// Kept when an image is to be written: the container signatures and
    /// file type rules as loaded (they are compiled again on open; there
    /// are few).
    pub(crate) stored: Option<(Vec<ContainerSig>, Vec<FtmRule>)>,
}

impl Matchers {
    /// Drop what was kept for an image once it is encoded.
    fn forget_stored(&mut self) {
        self.stored = None;
        self.logical.forget_stored();
    }

    /// Compile the body, logical, container and file type signatures of
    /// `set` (taking them out of it); with `keep`, what an image stores is
    /// kept too.
    pub(crate) fn compile(set: &mut SignatureSet, keep: bool) -> Matchers {
        let mut known = set
            .sources
            .iter()
            .fold(0u64, |n, s| n.saturating_add(s.loaded));
        let containers = std::mem::take(&mut set.container_sigs);
        let file_types = std::mem::take(&mut set.file_types);
        let stored = keep.then(|| (containers.clone(), file_types.clone()));
        let (logical, sub_patterns, refused) =
            LogicalMatcher::build(std::mem::take(&mut set.logical), keep);
        let mut patterns: Vec<Pattern> = std::mem::take(&mut set.bodies)
            .into_iter()
            .map(Pattern::from)
            .collect();
        patterns.extend(sub_patterns);
        let (bodies, unmatchable) =
            BodyMatcher::build_deferring(patterns, |owners, scores| logical.defer(owners, scores));
        let mut stats = set.stats.clone();
        let mut skip = |what: &'static str, n: u64| {
            if n > 0 {
                known = known.saturating_sub(n);
                *stats.unsupported.entry(what).or_default() += n;
            }
        };
        let lone = unmatchable
            .iter()
            .filter(|o| matches!(o, Owner::Body(_)))
            .count();
        skip(note::NDB_NO_LITERAL, lone as u64);
        skip(note::LDB_PCRE, refused.len() as u64);
        let (containers, too_large) = ContainerMatcher::build(containers);
        skip(note::CDB_NAME_TOO_LARGE, too_large);
        Matchers {
            bodies,
            logical,
            containers,
            file_types: FileTypeRules::build(&file_types),
            stats,
            known,
            stored,
        }
    }

    /// The matchers of a mapped image: the patterns and prefilters used
    /// where they are mapped, each pattern and logical signature decoded
    /// when an object first needs it.
    fn open(image: &compiled::Image, meta: compiled::MatcherMeta) -> Result<Matchers, ImageError> {
        let invalid = |why: String| ImageError::Invalid(why);
        let [index, blob, first, late, lindex, lblob] = image.matchers;
        let bodies = BodyMatcher::mapped(&image.map, [index, blob, first, late], meta.covers)
            .map_err(invalid)?;
        let flat = |(at, len)| flat::Flat::mapped(&image.map, at, len);
        let logical = flat(lindex)
            .zip(flat(lblob))
            .and_then(|(i, b)| LogicalMatcher::mapped(i, b, meta.always, meta.handlers))
            .ok_or_else(|| invalid("logical signature index malformed".into()))?;
        let (containers, _) = ContainerMatcher::build(meta.containers);
        Ok(Matchers {
            bodies,
            logical,
            containers,
            file_types: FileTypeRules::build(&meta.file_types),
            stats: meta.stats.restore(),
            known: meta.known,
            stored: None,
        })
    }
}

impl Engine {
    /// Compile a signature set.
    pub fn build(mut set: SignatureSet) -> Engine {
        let matchers = Matchers::compile(&mut set, false);
        Engine::with_tables(set, matchers)
    }

    /// The engine of `matchers` and the hash tables and names of `set`.
    fn with_tables(set: SignatureSet, matchers: Matchers) -> Engine {
        let ((file, section), allow) = rayon::join(
            || {
                rayon::join(
                    || HashIndex3::build(set.file_hashes),
                    || HashIndex3::build(set.section_hashes),
                )
            },
            || HashIndex3::build(set.allow),
        );
        let parts = Parts {
            names: NameTable::Arena(set.names),
            sources: set.sources,
            tables: [file, section, allow],
        };
        Engine::assemble(parts, matchers)
    }

    /// Compile a signature set and write it to `path` as an image that
    /// [`Engine::open`] maps; `notes` (load diagnostics) are stored with it.
    /// The engine is returned whether or not the image could be written.
    pub fn compile(
        mut set: SignatureSet,
        notes: &[String],
        path: &Path,
    ) -> (Engine, std::io::Result<()>) {
        let mut matchers = Matchers::compile(&mut set, true);
        let sections = compiled::matcher_sections(&matchers, &set.sources, notes);
        matchers.forget_stored();
        let engine = Engine::with_tables(set, matchers);
        let tables = [&engine.file, &engine.section, &engine.allow];
        let written = sections.and_then(|m| compiled::write(path, tables, &engine.names, &m));
        (engine, written)
    }

    /// Map an image written by [`Engine::compile`]; returns the engine and
    /// the load diagnostics stored with it. Nothing is compiled: the
    /// tables are used where they are mapped.
    pub fn open(path: &Path) -> Result<(Engine, Vec<String>), ImageError> {
        Engine::open_checked(path, Check::Full)
    }

    /// [`Engine::open`], checking the image as `check` says.
    pub fn open_checked(path: &Path, check: Check) -> Result<(Engine, Vec<String>), ImageError> {
        let mut image = compiled::open(path, check)?;
        let mut meta = image.meta.take().expect("read by open");
        let sources = std::mem::take(&mut meta.sources)
            .into_iter()
            .map(|s| s.restore())
            .collect::<Result<Vec<_>, _>>()?;
        let notes = std::mem::take(&mut meta.notes);
        let matchers = Matchers::open(&image, meta)?;
        let parts = Parts {
            names: image.names,
            sources,
            tables: image.tables,
        };
        Ok((Engine::assemble(parts, matchers), notes))
    }

    /// The engine from its tables and matchers.
    fn assemble(parts: Parts, m: Matchers) -> Engine {
        let [file, section, allow] = parts.tables;
        Engine {
            names: parts.names,
            sources: parts.sources,
            file,
            section,
            allow,
            bodies: m.bodies,
            logical: m.logical,
            containers: m.containers,
            file_types: m.file_types,
            stats: m.stats,
            known: m.known,
        }
    }

    /// Whether the databases hold file type rules (`.ftm`).
    pub fn has_file_type_rules(&self) -> bool {
        !self.file_types.is_empty()
    }

    /// The type (`CL_TYPE_…`) the databases' file type rules give `data`,
    /// whose built-in type is `current`; `text_or_binary` when that is
    /// text or binary data (only those are retyped by patterns).
    pub fn retype(&self, data: &[u8], current: &str, text_or_binary: bool) -> Option<&str> {
        self.file_types.retype(data, current, text_or_binary)
    }

    /// The type (`CL_TYPE_…`) a detection hands its object to: the
    /// `HandlerType` of a logical signature.
    pub fn handler(&self, d: &Detection) -> Option<&str> {
        match d.kind {
            SigKind::Logical => self.logical.handler(d.name),
            _ => None,
        }
    }

    /// The name of a signature.
    pub fn name(&self, id: NameId) -> String {
        self.names.get(id)
    }

    /// The database a signature came from.
    pub fn source(&self, id: NameId) -> Option<&Source> {
        let i = self.sources.partition_point(|s| s.first_name <= id.0);
        self.sources.get(i.checked_sub(1)?)
    }

    /// The name as clamscan prints it: with `.UNOFFICIAL` appended when the
    /// signature came from an unsigned database.
    pub fn display_name(&self, id: NameId) -> String {
        let name = self.name(id);
        match self.source(id) {
            Some(s) if !s.official => format!("{name}.UNOFFICIAL"),
            _ => name,
        }
    }

    /// Signatures loaded, as clamscan's "Known viruses" counts them.
    pub fn known_signatures(&self) -> u64 {
        self.known
    }

    /// The databases loaded.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// What loading skipped.
    pub fn load_stats(&self) -> &LoadStats {
        &self.stats
    }

    /// Whether any whole-object hash signature names this size (or any
    /// size). When not, and no section signature applies, an object need
    /// not be read at all.
    pub fn wants_object(&self, size: u64) -> bool {
        self.file.wants(u32::try_from(size).ok())
    }

    /// Whether any PE section signature is loaded (if not, callers need not
    /// find sections at all).
    pub fn wants_sections(&self) -> bool {
        self.section.len() > 0
    }

    /// Whether any body signature is loaded (then every object's bytes
    /// matter).
    pub fn has_bodies(&self) -> bool {
        self.bodies.len() > 0 || self.logical.len() > 0
    }

    /// Whether any container metadata signature is loaded (then every
    /// member of a container is checked with [`Engine::scan_member`]).
    pub fn wants_members(&self) -> bool {
        self.containers.len() > 0
    }

    /// Match what a container records about one of its members against
    /// the container metadata signatures.
    pub fn scan_member(&self, m: &Member<'_>, opts: &ScanOptions) -> Vec<Detection> {
        self.containers
            .scan(m, opts.all_match)
            .into_iter()
            .map(|name| Detection {
                name,
                kind: SigKind::ContainerMeta,
                offset: 0,
            })
            .collect()
    }

    /// Approximate heap bytes held by the tables and names.
    pub fn heap_bytes(&self) -> usize {
        self.bodies.heap_bytes()
            + self.file.heap_bytes()
            + self.section.heap_bytes()
            + self.allow.heap_bytes()
            + self.names.heap_bytes()
    }

    /// Match one object: its bytes, and what is known of it (type, PE
    /// sections and entry point). Returns nothing when an allow-list entry
    /// names the object. Signatures are tried, and reported, in ClamAV's
    /// order (measured with and without `--allmatch`): body signatures,
    /// whole-file hashes, logical signatures, PE section hashes.
    pub fn scan(&self, data: &[u8], ctx: &ObjectContext, opts: &ScanOptions) -> Scanned {
        self.scan_digested(&mut Digests::new(data), ctx, opts)
    }

    /// [`Engine::scan`] of the object of `digests`, sharing its digests
    /// with the caller's other passes and handing the pages its sweeps
    /// pass to the object's [`Pages`].
    pub fn scan_digested(
        &self,
        digests: &mut Digests<'_>,
        ctx: &ObjectContext,
        opts: &ScanOptions,
    ) -> Scanned {
        let all = opts.all_match;
        let data = digests.data();
        let mut found = Vec::new();
        let size = u32::try_from(data.len()).ok();
        let detection = |kind| move |(name, offset)| Detection { name, kind, offset };
        // A whole-file MD5 the hash signatures will want is computed as the
        // prefilter passes each chunk, while the chunk is in cache and
        // before its pages are handed back.
        let wanted = self.file.md5.wants(size) && !digests.has_md5();
        let mut md5 = wanted.then(<md5::Md5 as md5::Digest>::new);
        let mut hashed = 0;
        let mut along = |part: &[u8]| {
            if let Some(h) = md5.as_mut() {
                md5::Digest::update(h, part);
                hashed += part.len();
            }
        };
        let mut hits = self
            .bodies
            .scan_paged(data, ctx, all, digests.pages(), &mut along);
        if let Some(h) = md5.filter(|_| hashed == data.len()) {
            digests.set_md5(md5::Digest::finalize(h).into());
        }
        let (cut_short, work) = (hits.cut_short, hits.work);
        found.extend(hits.bodies.drain(..).map(detection(SigKind::Body)));
        if found.is_empty() || all {
            match_hashes(&self.file, size, digests, &mut found, |t| {
                SigKind::FileHash(t)
            });
        }
        if found.is_empty() || all {
            let logical = self.logical.eval(data, ctx, &hits, all);
            found.extend(logical.into_iter().map(detection(SigKind::Logical)));
        }
        for &(raw, len) in &ctx.sections {
            if !found.is_empty() && !all {
                break;
            }
            if len != 0 && len <= MAX_SECTION_HASHED {
                self.scan_section(data, &(raw as usize..(raw + len) as usize), &mut found);
            }
        }
        if found.is_empty() || self.allowed(size, digests) {
            return Scanned {
                detections: Vec::new(),
                cut_short: cut_short && found.is_empty(),
                work,
            };
        }
        if !all {
            found.truncate(1);
        }
        Scanned {
            detections: found,
            cut_short,
            work,
        }
    }

    /// Match the body and logical signatures for text against `normalised`,
    /// the normalised copy of the text object `original` (ClamAV's second
    /// pass over text: target types 7 and 0 match there; hash signatures do
    /// not). Allow lists are checked against the original's digests. Other
    /// derived copies that ClamAV matches without hashes (VBA macro source,
    /// with target type 2) go through here too, as their own original.
    pub fn scan_text(
        &self,
        original: &[u8],
        normalised: &[u8],
        ctx: &ObjectContext,
        opts: &ScanOptions,
    ) -> Scanned {
        let mut found = Vec::new();
        let (cut_short, work) = self.scan_patterns(normalised, ctx, opts.all_match, &mut found);
        let size = u32::try_from(original.len()).ok();
        if found.is_empty() || self.allowed(size, &mut Digests::new(original)) {
            return Scanned {
                detections: Vec::new(),
                cut_short: cut_short && found.is_empty(),
                work,
            };
        }
        if !opts.all_match {
            found.truncate(1);
        }
        Scanned {
            detections: found,
            cut_short,
            work,
        }
    }

    /// Body and logical signatures: one pass over the bytes, then the
    /// logical expressions. Returns whether the pass was cut short, and
    /// the verification work it spent.
    fn scan_patterns(
        &self,
        data: &[u8],
        ctx: &ObjectContext,
        all: bool,
        found: &mut Vec<Detection>,
    ) -> (bool, u64) {
        let detection = |kind| move |(name, offset)| Detection { name, kind, offset };
        let mut hits = self.bodies.scan(data, ctx, all);
        found.extend(hits.bodies.drain(..).map(detection(SigKind::Body)));
        if found.is_empty() || all {
            let logical = self.logical.eval(data, ctx, &hits, all);
            found.extend(logical.into_iter().map(detection(SigKind::Logical)));
        }
        (hits.cut_short, hits.work)
    }

    fn scan_section(
        &self,
        data: &[u8],
        range: &std::ops::Range<usize>,
        found: &mut Vec<Detection>,
    ) {
        let Some(bytes) = data.get(range.clone()) else {
            return;
        };
        let size = u32::try_from(bytes.len()).ok();
        if bytes.is_empty() || !self.section.wants(size) {
            return;
        }
        let start = found.len();
        let mut digests = Digests::new(bytes);
        match_hashes(&self.section, size, &mut digests, found, |t| {
            SigKind::SectionHash(t)
        });
        for d in &mut found[start..] {
            d.offset = range.start as u64;
        }
    }

    fn allowed(&self, size: Option<u32>, digests: &mut Digests<'_>) -> bool {
        let mut hit = Vec::new();
        lookup(&self.allow.md5, size, || *digests.md5(), &mut hit);
        lookup(&self.allow.sha1, size, || *digests.sha1(), &mut hit);
        lookup(&self.allow.sha256, size, || *digests.sha256(), &mut hit);
        !hit.is_empty()
    }
}

fn match_hashes(
    idx: &HashIndex3,
    size: Option<u32>,
    digests: &mut Digests<'_>,
    found: &mut Vec<Detection>,
    kind: impl Fn(HashType) -> SigKind,
) {
    let mut names = Vec::new();
    let mut push = |names: &mut Vec<NameId>, t: HashType| {
        found.extend(names.drain(..).map(|name| Detection {
            name,
            kind: kind(t),
            offset: 0,
        }));
    };
    lookup(&idx.md5, size, || *digests.md5(), &mut names);
    push(&mut names, HashType::Md5);
    lookup(&idx.sha1, size, || *digests.sha1(), &mut names);
    push(&mut names, HashType::Sha1);
    lookup(&idx.sha256, size, || *digests.sha256(), &mut names);
    push(&mut names, HashType::Sha256);
}

/// Look up a digest, computing it only when the index wants this size.
fn lookup<const N: usize>(
    idx: &HashIndex<N>,
    size: Option<u32>,
    digest: impl FnOnce() -> [u8; N],
    out: &mut Vec<NameId>,
) {
    if idx.wants(size) {
        idx.lookup(size, &digest(), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bolwerk_sigs::{LoadOptions, Loader};

    fn engine(files: &[(&str, &str)]) -> Engine {
        let dir = tempfile::tempdir().unwrap();
        let mut loader = Loader::new(LoadOptions::default());
        for (name, text) in files {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            loader.add_path(&p).unwrap();
        }
        let (set, diags) = loader.finish();
        assert!(diags.is_empty(), "{diags:?}");
        Engine::build(set)
    }

    fn none() -> ObjectContext {
        ObjectContext::default()
    }

    fn pe(sections: &[(u64, u64)]) -> ObjectContext {
        ObjectContext {
            target: 1,
            entry: None,
            sections: sections.to_vec(),
            ..ObjectContext::default()
        }
    }

    const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

    /// The whole-file MD5 the prefilter's sweep computes as it passes
    /// (objects of any size, chunk boundaries included) is the MD5: a
    /// `*`-size hash signature finds each object, a body signature
    /// that stops the sweep early leaves the hash to be computed whole.
    #[test]
    fn an_md5_computed_along_the_sweep_is_the_md5() {
        let md5_hex = |o: &[u8]| -> String {
            let d: [u8; 16] = digests::Digests::new(o).md5().to_owned();
            d.iter().map(|b| format!("{b:02x}")).collect()
        };
        let objects: Vec<Vec<u8>> = [0usize, 3, 4, 5000, 2 * CHUNK + 7]
            .iter()
            .map(|&n| (0..n).map(|i| (i * 31 % 253) as u8).collect())
            .collect();
        let hdb: String = objects
            .iter()
            .enumerate()
            .map(|(i, o)| format!("{}:*:Star.{i}:73\n", md5_hex(o)))
            .collect();
        let e = engine(&[
            ("a.hdb", &hdb),
            ("b.ndb", "Body.Never:0:*:7a7a7a7a7a7a7a7a\n"),
        ]);
        let all = ScanOptions { all_match: true };
        for (i, o) in objects.iter().enumerate().skip(1) {
            let got: Vec<String> = e
                .scan(o, &none(), &all)
                .into_iter()
                .map(|d| e.name(d.name))
                .collect();
            assert_eq!(got, [format!("Star.{i}")], "object {i}");
        }
        // The sweep stopped by a body match: the MD5 comes from a sweep of
        // its own, and is the same.
        let mut stopped = objects[4].clone();
        stopped[10..18].copy_from_slice(b"zzzzzzzz");
        let hdb = format!("{}:*:Star.S:73\n", md5_hex(&stopped));
        let e = engine(&[("a.hdb", &hdb), ("b.ndb", "Body.Z:0:*:7a7a7a7a7a7a7a7a\n")]);
        let mut got: Vec<String> = e
            .scan(&stopped, &none(), &all)
            .into_iter()
            .map(|d| e.name(d.name))
            .collect();
        got.sort();
        assert_eq!(got, ["Body.Z", "Star.S"]);
        let first: Vec<String> = e
            .scan(&stopped, &none(), &ScanOptions::default())
            .into_iter()
            .map(|d| e.name(d.name))
            .collect();
        assert_eq!(first.len(), 1);
    }

    #[test]
    fn first_match_and_all_match() {
        let e = engine(&[
            ("a.hdb", "44d88612fea8a8f36de82e1278abb02f:68:E.Md5\n"),
            (
                "b.hsb",
                "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f:68:E.Sha256\n\
                 3395856ce81f2b7382dee72602f798b642f14140:*:E.Sha1:73\n",
            ),
        ]);
        let one = e.scan(EICAR, &none(), &ScanOptions::default());
        assert_eq!(one.len(), 1);
        assert_eq!(e.display_name(one[0].name), "E.Md5.UNOFFICIAL");
        let all = e.scan(EICAR, &none(), &ScanOptions { all_match: true });
        let names: Vec<String> = all.iter().map(|d| e.name(d.name)).collect();
        assert_eq!(names, ["E.Md5", "E.Sha1", "E.Sha256"]);
        assert!(e
            .scan(b"clean", &none(), &ScanOptions::default())
            .is_empty());
    }

    #[test]
    fn allow_list_wins() {
        let e = engine(&[
            ("a.hdb", "44d88612fea8a8f36de82e1278abb02f:68:E.Md5\n"),
            (
                "a.sfp",
                "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f:68:Allowed\n",
            ),
        ]);
        assert!(e.scan(EICAR, &none(), &ScanOptions::default()).is_empty());
    }

    #[test]
    fn section_hashes_use_section_bytes() {
        let mut data = vec![0u8; 100];
        data.extend_from_slice(EICAR);
        data.extend_from_slice(&[1u8; 50]);
        let e = engine(&[("s.mdb", "68:44d88612fea8a8f36de82e1278abb02f:Sec.E\n")]);
        let hit = e.scan(&data, &pe(&[(0, 100), (100, 68)]), &ScanOptions::default());
        assert_eq!(hit.len(), 1);
        assert_eq!(hit[0].offset, 100);
        assert_eq!(hit[0].kind, SigKind::SectionHash(HashType::Md5));
        assert!(e
            .scan(&data, &pe(&[(0, 100)]), &ScanOptions::default())
            .is_empty());
        // A range past the end is ignored, not a panic.
        assert!(e
            .scan(&data, &pe(&[(200, 700)]), &ScanOptions::default())
            .is_empty());
    }

    /// Counts, modifiers, blocks, negation and PCRE, as measured with
    /// clamscan 1.4.6 on the same bytes (`--allmatch`, binary file so no
    /// text normalisation applies).
    #[test]
    fn logical_signatures() {
        let e = engine(&[(
            "t.ldb",
            "Cnt.Eq4;Engine:81-255,Target:0;0=4;6161\n\
             Cnt.Eq2;Engine:81-255,Target:0;0=2;6161\n\
             Cnt.Gt3;Engine:81-255,Target:0;0>3;6161\n\
             Cnt.Wild2;Engine:81-255,Target:0;0=2;6161??61\n\
             Nocase.A;Engine:81-255,Target:0;0&1;6161616161::i;68656c6c6f\n\
             Nocase.B;Engine:81-255,Target:0;0=3;41414141::i\n\
             Full.A;Engine:81-255,Target:0;0=1;68656c6c6f::f\n\
             Full.B;Engine:81-255,Target:0;0=2;68656c6c6f::f\n\
             Block.A;Engine:81-255,Target:0;(0|1)>4,2;6161;6c6c\n\
             Block.C;Engine:81-255,Target:0;(0|1)=6,2;6161;6c6c\n\
             Neg.A;Engine:81-255,Target:0;0&1=0;6161;7a7a7a\n\
             Neg.B;Engine:81-255,Target:0;0&1=0;6161;68656c6c6f\n\
             Pcre.A;Engine:81-255,Target:0;0&1;6161;0/hel+o\\s+w/\n\
             Pcre.B;Engine:81-255,Target:0;1=2;6161;0/hel+o/g\n\
             Pcre.C;Engine:81-255,Target:0;1=1;6161;0/hel+o/g\n\
             Wide.A;Engine:81-255,Target:0;0;77696465::w\n\
             Size.A;Engine:81-255,Target:0,FileSize:1-10;0;6161\n\
             Pe.A;Engine:81-255,Target:1;0;6161\n",
        )]);
        let data = b"\x01xxaaaaaxx hello world AAAA hello_x w\0i\0d\0e\0\0\0";
        let all = e.scan(data, &none(), &ScanOptions { all_match: true });
        let mut names: Vec<String> = all.iter().map(|d| e.name(d.name)).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "Block.A",
                "Block.C",
                "Cnt.Eq4",
                "Cnt.Gt3",
                "Cnt.Wild2",
                "Full.B",
                "Neg.A",
                "Nocase.A",
                "Nocase.B",
                "Pcre.A",
                "Pcre.B",
                "Wide.A"
            ]
        );
        assert!(all.iter().all(|d| d.kind == SigKind::Logical));
        assert_eq!(e.scan(data, &none(), &ScanOptions::default()).len(), 1);
    }

    /// An image answers as the engine it was made from, and a damaged,
    /// truncated or foreign image is refused, never used.
    #[test]
    fn compiled_image_round_trip_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let files = [
            ("a.hdb", "44d88612fea8a8f36de82e1278abb02f:68:E.Md5\n"),
            (
                "b.hsb",
                "3395856ce81f2b7382dee72602f798b642f14140:*:E.Sha1:73\n",
            ),
            ("s.mdb", "68:44d88612fea8a8f36de82e1278abb02f:Sec.E\n"),
            ("c.ndb", "Body.E:0:*:2445494341522d5354414e44415244\n"),
            (
                "d.ldb",
                "Logic.E;Engine:81-255,Target:0;0&1;45494341::i;0/STANDARD-[A-Z]+/\n",
            ),
        ];
        let mut loader = Loader::new(LoadOptions::default());
        for (name, text) in files {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            loader.add_path(&p).unwrap();
        }
        let (set, _) = loader.finish();
        let image = dir.path().join("engine.bwdb");
        let (built, written) = Engine::compile(set, &["a note".to_string()], &image);
        written.unwrap();
        let (opened, notes) = Engine::open(&image).unwrap();
        assert_eq!(notes, ["a note"]);
        let all = ScanOptions { all_match: true };
        let mut data = vec![0u8; 100];
        data.extend_from_slice(EICAR);
        let ctx = pe(&[(0, 100), (100, 68)]);
        for e in [&built, &opened] {
            let names: Vec<String> = e
                .scan(EICAR, &none(), &all)
                .iter()
                .map(|d| e.display_name(d.name))
                .collect();
            assert_eq!(
                names,
                // ClamAV's order: body, file hashes, logical.
                [
                    "Body.E.UNOFFICIAL",
                    "E.Md5.UNOFFICIAL",
                    "E.Sha1.UNOFFICIAL",
                    "Logic.E.UNOFFICIAL"
                ]
            );
            assert_eq!(
                e.scan(&data, &ctx, &all).len(),
                3,
                "body, logical, section hash"
            );
        }
        assert_eq!(built.known_signatures(), opened.known_signatures());
        assert!(opened.heap_bytes() < built.heap_bytes());

        let bytes = std::fs::read(&image).unwrap();
        let damaged = |name: &str, data: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, data).unwrap();
            match Engine::open(&p) {
                Err(compiled::ImageError::Invalid(why)) => why,
                other => panic!("{name}: {:?}", other.map(|_| ())),
            }
        };
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(damaged("flipped", &flipped).contains("checksum"));
        assert!(damaged("short", &bytes[..bytes.len() - 8]).contains("header says"));
        assert!(damaged("tiny", &bytes[..10]).contains("shorter"));
        let mut foreign = bytes.clone();
        foreign[8] = 99;
        assert!(damaged("version", &foreign).contains("version"));
        assert!(damaged("text", &b"not an engine at all, just text. ".repeat(4)).contains("magic"));
        forged_images_never_panic(&bytes, dir.path(), &data, &ctx);
    }

    /// A forged image: each byte after the header changed in turn, the
    /// checksum made right again. Opening either refuses it or gives an
    /// engine whose scans end without a panic (answers may be wrong).
    fn forged_images_never_panic(image: &[u8], dir: &Path, data: &[u8], ctx: &ObjectContext) {
        let p = dir.join("forged.bwdb");
        let all = ScanOptions { all_match: true };
        let (mut opened, mut refused) = (0, 0);
        for i in 64..image.len() {
            // Small changes (counts, offsets off by one) and large ones.
            let flip = if i % 2 == 0 { 0x01u8 } else { 0xff };
            let mut forged = image.to_vec();
            forged[i] ^= flip;
            let crc = crc32fast::hash(&forged[64..]);
            forged[24..28].copy_from_slice(&crc.to_le_bytes());
            std::fs::write(&p, &forged).unwrap();
            match Engine::open(&p) {
                Ok((e, _)) => {
                    opened += 1;
                    e.scan(EICAR, &none(), &all);
                    e.scan(data, ctx, &all);
                }
                Err(_) => refused += 1,
            }
        }
        assert!(
            opened > 0 && refused > 0,
            "{opened} opened, {refused} refused"
        );
    }
}
