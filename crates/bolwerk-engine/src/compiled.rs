//! Compiled engine images (`.bwdb`): an engine written to one file that is
//! memory-mapped on load.
//!
//! The bulk of a database — millions of hash records and their names — is
//! laid out flat, so opening an image is a header check and a `mmap`; a
//! scan then touches only the pages its lookups need, and processes that
//! map the same image share its pages. The body matcher's prefilters are
//! stored as the flat tables it scans with and used in place; its
//! compiled patterns and the logical signatures are stored as records
//! (an index of offsets and a blob, see `flat`) each decoded the first
//! time a scan needs it. Opening an image therefore compiles nothing: its
//! cost is the header, the checksum (skipped for the cache's own images,
//! see [`Check`]) and a few small tables, whatever the number of
//! signatures.
//!
//! Layout (all integers little endian):
//!
//! | bytes | what |
//! | --- | --- |
//! | 0..8 | magic `BWDB\0\r\n\x1a` |
//! | 8..12 | format version |
//! | 12..16 | number of sections |
//! | 16..24 | file length |
//! | 24..28 | CRC-32 of every byte after the header |
//! | 28..64 | zero |
//! | 64.. | directory: per section, id (u32), zero (u32), offset (u64), length (u64) |
//!
//! Sections: the nine hash tables (whole file, PE section, allow list; MD5,
//! SHA-1, SHA-256), the name offsets (u32 per name, plus the end) and name
//! bytes, the metadata (sources, load statistics, container metadata
//! signatures, file type rules, the cover subsignatures of deferring
//! logical signatures, the logical signatures evaluated for every object,
//! handler types, load diagnostics; serialised with `postcard`), the body
//! matcher's patterns (index and blob) and its two prefilters, and the
//! logical signatures (index and blob; each as loaded, without the tokens
//! of its pattern subsignatures, which the body matcher holds).
//!
//! An image is untrusted input like any database: a wrong magic, version,
//! length or checksum is refused with the reason (the caller rebuilds), and
//! every access is bounds-checked, so even a forged image that passes the
//! checksum can give wrong answers but not unsafety: sizes are checked
//! against each other on open, probes of the prefilter's hash table end
//! after one round, and a pattern or logical signature whose record does
//! not decode to what the compiler makes is never matched. The one assumption of
//! the mapping is that the file is not truncated while mapped: images are
//! written aside and renamed into place, never rewritten.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use bolwerk_sigs::{ContainerSig, DbKind, FtmRule, LoadStats, NameId, Names, Source};
use memmap2::Mmap;
use serde::{Deserialize, Serialize};

use crate::hashindex::{stride, HashIndex, HashIndex3};

const MAGIC: &[u8; 8] = b"BWDB\0\r\n\x1a";
/// Format version; bumped on any layout change.
pub const VERSION: u32 = 7;
const HEADER: usize = 64;
const DIR_ENTRY: usize = 24;

/// Section ids.
pub(crate) const NAMES_OFFSETS: u32 = 10;
pub(crate) const NAMES_BYTES: u32 = 11;
pub(crate) const META: u32 = 12;
/// The body matcher: pattern index and blob, first and late prefilter;
/// the logical signatures: index and blob.
const MATCHERS: [u32; 6] = [13, 14, 15, 16, 17, 18];

/// Why an image was refused.
#[derive(Debug)]
pub enum ImageError {
    /// It could not be read.
    Io(std::io::Error),
    /// It is not an image of this version, or it is damaged.
    Invalid(String),
}

impl std::fmt::Display for ImageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageError::Io(e) => write!(f, "{e}"),
            ImageError::Invalid(why) => write!(f, "not a usable engine image: {why}"),
        }
    }
}

impl std::error::Error for ImageError {}

impl From<std::io::Error> for ImageError {
    fn from(e: std::io::Error) -> Self {
        ImageError::Io(e)
    }
}

fn invalid(why: impl Into<String>) -> ImageError {
    ImageError::Invalid(why.into())
}

/// What is stored besides the tables.
#[derive(Serialize, Deserialize)]
pub(crate) struct MatcherMeta {
    pub(crate) sources: Vec<StoredSource>,
    /// The statistics after compiling (signatures that cannot be matched
    /// counted as unsupported), and the signatures that can.
    pub(crate) stats: StoredStats,
    pub(crate) known: u64,
    pub(crate) containers: Vec<ContainerSig>,
    pub(crate) file_types: Vec<FtmRule>,
    /// Load diagnostics, shown again whenever the image is used.
    pub(crate) notes: Vec<String>,
    /// The body matcher's deferring signatures and their covers.
    pub(crate) covers: Vec<(u32, Vec<u8>)>,
    /// Logical signatures evaluated for every object, and handler types.
    pub(crate) always: Vec<u32>,
    pub(crate) handlers: Vec<(NameId, String)>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct StoredSource {
    path: String,
    ext: String,
    official: bool,
    first_name: u32,
    loaded: u64,
}

impl From<&Source> for StoredSource {
    fn from(s: &Source) -> Self {
        StoredSource {
            path: s.path.clone(),
            ext: s.kind.ext().to_string(),
            official: s.official,
            first_name: s.first_name,
            loaded: s.loaded,
        }
    }
}

impl StoredSource {
    pub(crate) fn restore(self) -> Result<Source, ImageError> {
        let kind = DbKind::from_name(&format!("x.{}", self.ext))
            .ok_or_else(|| invalid(format!("unknown database kind '{}'", self.ext)))?;
        Ok(Source {
            path: self.path,
            kind,
            official: self.official,
            first_name: self.first_name,
            loaded: self.loaded,
        })
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct StoredStats {
    out_of_level: u64,
    ignored: u64,
    pua_not_loaded: u64,
    unsupported: Vec<(String, u64)>,
    ignore_entries: u64,
}

impl From<&LoadStats> for StoredStats {
    fn from(s: &LoadStats) -> Self {
        StoredStats {
            out_of_level: s.out_of_level,
            ignored: s.ignored,
            pua_not_loaded: s.pua_not_loaded,
            unsupported: s
                .unsupported
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            ignore_entries: s.ignore_entries,
        }
    }
}

impl StoredStats {
    pub(crate) fn restore(self) -> LoadStats {
        let mut stats = LoadStats {
            out_of_level: self.out_of_level,
            ignored: self.ignored,
            pua_not_loaded: self.pua_not_loaded,
            ignore_entries: self.ignore_entries,
            ..LoadStats::default()
        };
        for (k, v) in self.unsupported {
            *stats
                .unsupported
                .entry(LoadStats::static_key(&k))
                .or_default() += v;
        }
        stats
    }
}

/// Names: built in memory, or two sections of a mapped image.
#[derive(Debug)]
pub(crate) enum NameTable {
    Arena(Names),
    Mapped {
        map: Arc<Mmap>,
        offsets: (usize, usize),
        bytes: (usize, usize),
    },
}

impl NameTable {
    pub(crate) fn len(&self) -> usize {
        match self {
            NameTable::Arena(n) => n.len(),
            NameTable::Mapped { offsets, .. } => (offsets.1 / 4).saturating_sub(1),
        }
    }

    pub(crate) fn get(&self, id: NameId) -> String {
        match self {
            NameTable::Arena(n) => n.get(id),
            NameTable::Mapped {
                map,
                offsets,
                bytes,
            } => {
                let word = |i: usize| -> Option<usize> {
                    let at = offsets.0 + i * 4;
                    let b = map.get(at..at + 4).filter(|_| i * 4 + 4 <= offsets.1)?;
                    Some(u32::from_le_bytes(b.try_into().ok()?) as usize)
                };
                let i = id.0 as usize;
                let range = word(i)
                    .zip(word(i + 1))
                    .filter(|(a, b)| a <= b && *b <= bytes.1);
                range
                    .and_then(|(a, b)| map.get(bytes.0 + a..bytes.0 + b))
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .unwrap_or_default()
            }
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            NameTable::Arena(n) => n.heap_bytes(),
            NameTable::Mapped { .. } => 0,
        }
    }
}

/// Everything an image holds, ready to assemble an engine from.
pub(crate) struct Image {
    pub(crate) tables: [HashIndex3; 3],
    pub(crate) names: NameTable,
    /// Taken by the engine as it is assembled.
    pub(crate) meta: Option<MatcherMeta>,
    pub(crate) map: Arc<Mmap>,
    /// (offset, length) of the [`MATCHERS`] sections.
    pub(crate) matchers: [(usize, usize); 6],
}

/// The encoded sections of an engine's matchers and metadata.
pub(crate) struct MatcherSections {
    body: crate::body::Sections,
    logical: (Vec<u8>, Vec<u8>),
    meta: Vec<u8>,
}

/// Encode `m` (compiled with `keep`), the `sources` and the load
/// diagnostics `notes` as image sections.
pub(crate) fn matcher_sections(
    m: &crate::Matchers,
    sources: &[Source],
    notes: &[String],
) -> std::io::Result<MatcherSections> {
    let (containers, file_types) = m
        .stored
        .clone()
        .ok_or_else(|| std::io::Error::other("matchers compiled without keep"))?;
    let (always, handlers) = m.logical.always_and_handlers();
    let meta = MatcherMeta {
        sources: sources.iter().map(Into::into).collect(),
        stats: (&m.stats).into(),
        known: m.known,
        containers,
        file_types,
        notes: notes.to_vec(),
        covers: m.bodies.covers().to_vec(),
        always,
        handlers,
    };
    Ok(MatcherSections {
        body: m.bodies.sections()?,
        logical: m.logical.sections(),
        meta: postcard::to_stdvec(&meta).expect("plain data serialises"),
    })
}

/// Write the metadata and matcher sections.
pub(crate) fn write_matchers(w: &mut ImageWriter, s: &MatcherSections) -> std::io::Result<()> {
    w.section(META, |w| w.write_all(&s.meta))?;
    let parts: [&[u8]; 6] = [
        &s.body.index,
        &s.body.blob,
        &s.body.first,
        &s.body.late,
        &s.logical.0,
        &s.logical.1,
    ];
    for (id, bytes) in MATCHERS.into_iter().zip(parts) {
        w.section(id, |w| w.write_all(bytes))?;
    }
    Ok(())
}

/// Write an image of `tables` (file, section, allow), `names` and the
/// encoded matchers to `path`: streamed to a file beside it (no section is
/// held in memory twice), synced, then renamed into place.
pub(crate) fn write(
    path: &Path,
    tables: [&HashIndex3; 3],
    names: &NameTable,
    matchers: &MatcherSections,
) -> std::io::Result<()> {
    let mut w = ImageWriter::create(path)?;
    for (t, table) in tables.iter().enumerate() {
        let id = t as u32 * 3;
        w.section(id + 1, |w| table.md5.write_to(w))?;
        w.section(id + 2, |w| table.sha1.write_to(w))?;
        w.section(id + 3, |w| table.sha256.write_to(w))?;
    }
    let too_long = || std::io::Error::other("names exceed 4 GiB");
    let mut total = 0u32;
    w.section(NAMES_OFFSETS, |w| {
        for i in 0..names.len() {
            w.write_all(&total.to_le_bytes())?;
            let len = names.get(NameId(i as u32)).len();
            total = u32::try_from(len)
                .ok()
                .and_then(|l| total.checked_add(l))
                .ok_or_else(too_long)?;
        }
        w.write_all(&total.to_le_bytes())
    })?;
    w.section(NAMES_BYTES, |w| {
        (0..names.len()).try_for_each(|i| w.write_all(names.get(NameId(i as u32)).as_bytes()))
    })?;
    write_matchers(&mut w, matchers)?;
    w.finish()
}

/// An image being written: sections one after another, each at a multiple
/// of 8, into a file beside its final path; [`ImageWriter::finish`] writes
/// the directory and header (the checksum of the directory joined with that
/// of the sections, so nothing is read back), syncs and renames the file
/// into place. Dropped unfinished, the file is removed.
pub(crate) struct ImageWriter {
    path: std::path::PathBuf,
    tmp: std::path::PathBuf,
    out: Option<Checked<std::io::BufWriter<File>>>,
    /// (id, offset, length) of the sections written.
    sections: Vec<(u32, u64, u64)>,
}

/// Sections an image has: nine tables, two of names, the metadata, four
/// of the body matcher and two of the logical signatures.
const SECTIONS: usize = 18;

impl ImageWriter {
    /// Start an image for `path`.
    pub(crate) fn create(path: &Path) -> std::io::Result<ImageWriter> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let (tmp, file) = tempfile_in(dir, path)?;
        let mut w = ImageWriter {
            path: path.to_path_buf(),
            tmp,
            out: None,
            sections: Vec::with_capacity(SECTIONS),
        };
        let mut buffered = std::io::BufWriter::with_capacity(1 << 20, file);
        buffered.write_all(&[0u8; HEADER + SECTIONS * DIR_ENTRY])?;
        w.out = Some(Checked::new(buffered));
        Ok(w)
    }

    /// Write the next section with `body`.
    pub(crate) fn section(
        &mut self,
        id: u32,
        body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        if self.sections.len() == SECTIONS {
            return Err(std::io::Error::other("too many image sections"));
        }
        let out = self.out.as_mut().expect("open until finished");
        let at = (HEADER + SECTIONS * DIR_ENTRY) as u64 + out.written;
        let pad = at.next_multiple_of(8) - at;
        out.write_all(&[0u8; 8][..pad as usize])?;
        let start = out.written;
        body(out)?;
        let len = out.written - start;
        self.sections.push((id, at + pad, len));
        Ok(())
    }

    /// Write the directory and header, sync, and rename into place.
    pub(crate) fn finish(mut self) -> std::io::Result<()> {
        if self.sections.len() != SECTIONS {
            return Err(std::io::Error::other("image sections missing"));
        }
        let out = self.out.take().expect("open until finished");
        let mut dir = Vec::with_capacity(SECTIONS * DIR_ENTRY);
        for (id, at, len) in &self.sections {
            dir.extend_from_slice(&id.to_le_bytes());
            dir.extend_from_slice(&0u32.to_le_bytes());
            dir.extend_from_slice(&at.to_le_bytes());
            dir.extend_from_slice(&len.to_le_bytes());
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(&dir);
        crc.combine(&out.hasher);
        let len = (HEADER + dir.len()) as u64 + out.written;
        let mut file = out.inner.into_inner().map_err(|e| e.into_error())?;
        let mut header = [0u8; HEADER];
        header[..8].copy_from_slice(MAGIC);
        header[8..12].copy_from_slice(&VERSION.to_le_bytes());
        header[12..16].copy_from_slice(&(SECTIONS as u32).to_le_bytes());
        header[16..24].copy_from_slice(&len.to_le_bytes());
        header[24..28].copy_from_slice(&crc.finalize().to_le_bytes());
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&header)?;
        file.write_all(&dir)?;
        file.sync_all()?;
        std::fs::rename(&self.tmp, &self.path)
    }
}

impl Drop for ImageWriter {
    fn drop(&mut self) {
        if self.out.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// A writer that keeps the CRC-32 and the count of what passes through.
struct Checked<W: Write> {
    inner: W,
    hasher: crc32fast::Hasher,
    written: u64,
}

impl<W: Write> Checked<W> {
    fn new(inner: W) -> Self {
        Checked {
            inner,
            hasher: crc32fast::Hasher::new(),
            written: 0,
        }
    }
}

impl<W: Write> Write for Checked<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A new file beside `path` to write into.
fn tempfile_in(dir: &Path, path: &Path) -> std::io::Result<(std::path::PathBuf, File)> {
    let stem = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("engine");
    for i in 0..100u32 {
        let tmp = dir.join(format!(".{stem}.{}.{i}.tmp", std::process::id()));
        match File::options().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no temporary file name free"))
}

/// How much of an image is checked before it is mapped
/// ([`Engine::open_checked`](crate::Engine::open_checked)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// The header, the directory and the sizes of every table, and the
    /// checksum of every byte (reading the whole file: about 40 ms for
    /// 100 MB from the page cache).
    Full,
    /// The same without the checksum: for images bolwerk wrote itself
    /// into its cache, which are written aside, synced and renamed into
    /// place, and trusted as much as the database files they were made
    /// from (which carry no checksum either). Every read is still
    /// bounds-checked, so a damaged image can answer wrongly but not
    /// unsafely.
    Structure,
}

/// Open and check an image.
pub(crate) fn open(path: &Path, check: Check) -> Result<Image, ImageError> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut header = [0u8; HEADER];
    file.read_exact(&mut header)
        .map_err(|_| invalid("shorter than its header"))?;
    if &header[..8] != MAGIC {
        return Err(invalid("wrong magic"));
    }
    let word = |r: std::ops::Range<usize>| u32::from_le_bytes(header[r].try_into().expect("4"));
    let version = word(8..12);
    if version != VERSION {
        return Err(invalid(format!("format version {version}, not {VERSION}")));
    }
    let count = word(12..16) as usize;
    let stated = u64::from_le_bytes(header[16..24].try_into().expect("8"));
    if stated != len {
        return Err(invalid(format!("{len} bytes, header says {stated}")));
    }
    // The checksum is computed with reads, not through the mapping, so
    // checking it does not make the tables resident in this process.
    if check == Check::Full && checksum(&mut file)? != word(24..28) {
        return Err(invalid("checksum mismatch"));
    }
    // SAFETY: the image is opened read-only and images are only ever
    // replaced by rename, never written in place or truncated, so the
    // mapped bytes stay valid for the life of the map. All reads through
    // it are bounds-checked.
    let map = Arc::new(unsafe { Mmap::map(&file)? });
    let sections = directory(&map, count)?;
    let find = |id: u32| -> Result<(usize, usize), ImageError> {
        sections
            .iter()
            .find(|s| s.0 == id)
            .map(|s| (s.1, s.2))
            .ok_or_else(|| invalid(format!("section {id} missing")))
    };
    let table = |base: u32| -> Result<HashIndex3, ImageError> {
        Ok(HashIndex3 {
            md5: mapped_index(&map, find(base + 1)?)?,
            sha1: mapped_index(&map, find(base + 2)?)?,
            sha256: mapped_index(&map, find(base + 3)?)?,
        })
    };
    let tables = [table(0)?, table(3)?, table(6)?];
    let offsets = find(NAMES_OFFSETS)?;
    if offsets.1 % 4 != 0 || offsets.1 == 0 {
        return Err(invalid("name offsets misaligned"));
    }
    let names = NameTable::Mapped {
        map: Arc::clone(&map),
        offsets,
        bytes: find(NAMES_BYTES)?,
    };
    let (at, n) = find(META)?;
    let meta: MatcherMeta =
        postcard::from_bytes(&map[at..at + n]).map_err(|e| invalid(format!("metadata: {e}")))?;
    let mut matchers = [(0, 0); 6];
    for (slot, id) in matchers.iter_mut().zip(MATCHERS) {
        *slot = find(id)?;
    }
    Ok(Image {
        tables,
        names,
        meta: Some(meta),
        map,
        matchers,
    })
}

fn checksum(file: &mut File) -> std::io::Result<u32> {
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hasher.finalize());
        }
        hasher.update(&buf[..n]);
    }
}

/// The directory entries: (id, offset, length), each within the file.
fn directory(map: &Mmap, count: usize) -> Result<Vec<(u32, usize, usize)>, ImageError> {
    if count > 64 {
        return Err(invalid("too many sections"));
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let at = HEADER + i * DIR_ENTRY;
        let e = map
            .get(at..at + DIR_ENTRY)
            .ok_or_else(|| invalid("directory past the end"))?;
        let id = u32::from_le_bytes(e[..4].try_into().expect("4"));
        let off = u64::from_le_bytes(e[8..16].try_into().expect("8"));
        let len = u64::from_le_bytes(e[16..24].try_into().expect("8"));
        let end = off.checked_add(len).filter(|end| *end <= map.len() as u64);
        if end.is_none() {
            return Err(invalid(format!("section {id} past the end")));
        }
        out.push((id, off as usize, len as usize));
    }
    Ok(out)
}

fn mapped_index<const N: usize>(
    map: &Arc<Mmap>,
    (at, len): (usize, usize),
) -> Result<HashIndex<N>, ImageError> {
    if len % stride::<N>() != 0 {
        return Err(invalid("hash table of a partial record"));
    }
    Ok(HashIndex::mapped(Arc::clone(map), at, len / stride::<N>()))
}
