//! The engine cache: compiled images of the databases a command loads,
//! reused while those databases are unchanged.
//!
//! An image is named by a key over everything that decides its contents:
//! this program's version and the image format, the load options, and per
//! database file its path, size, modification time, inode, and a SHA-256
//! of its content (whole for files up to 1 MiB; for larger ones the first
//! and last 64 KiB, with the size and times to catch the rest: a
//! signature update rewrites the file, which changes them). Images live in
//! `$XDG_CACHE_HOME/bolwerk/engines` (or `~/.cache/bolwerk/engines`); the
//! most recently used few are kept.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use bolwerk_sigs::{DbKind, ErrorKind, LoadOptions, Loader, SignatureSet};
use sha2::{Digest, Sha256};

use crate::compiled::Check;
use crate::Engine;

/// Images kept in the cache directory; older ones are removed.
pub const KEEP: usize = 4;
/// Content hashed whole up to this size; beyond it, the two ends.
const WHOLE: u64 = 1 << 20;
const END: u64 = 64 << 10;

/// Databases with fewer signatures than this are compiled on every load
/// rather than cached: that takes milliseconds…
pub const MIN_SIGNATURES: u64 = 100_000;
/// … unless they hold at least this many body and logical signatures,
/// whose compiling (atoms, prefilters, deferral) is what a load spends its
/// time on: the official `main.ldb` alone (38,890 logical signatures)
/// takes about 0.5 s to compile and 10 ms to map (release build).
pub const MIN_PATTERN_SIGNATURES: u64 = 5_000;

/// Whether an image of databases is worth keeping in the cache.
fn worth_caching(errors: &[String], signatures: u64, patterns: u64) -> bool {
    errors.is_empty() && (signatures >= MIN_SIGNATURES || patterns >= MIN_PATTERN_SIGNATURES)
}

/// Body and logical signatures of a set.
fn pattern_signatures(set: &SignatureSet) -> u64 {
    (set.bodies.len() + set.logical.len()) as u64
}

/// What to load.
#[derive(Clone, Debug)]
pub struct Request {
    /// Database files and directories.
    pub paths: Vec<PathBuf>,
    /// Load the built-in pack (first, so users' signatures win).
    pub builtin: bool,
    /// Loader options.
    pub options: LoadOptions,
    /// Use the cache: map an image of these databases made earlier, or
    /// write one.
    pub cache: bool,
    /// Hold only what the image maps (the daemon): the image is compiled
    /// with the bulk of the databases spilled to disk as sorted runs beside
    /// the image, so compiling needs the memory of one batch of
    /// text rather than of the whole database, and then mapped. Without a
    /// cache directory the engine is built in memory. Databases of
    /// [`SPILL_BYTES`] or more are compiled this way whatever this says.
    pub prefer_mapped: bool,
    /// Checksum an image found in the cache every time it is mapped (a
    /// long-lived daemon does: it pays the read of the whole file once
    /// per load). Without it an image is checksummed the first time it is
    /// mapped, and again only if it changed since (its stamp, a file
    /// beside it with its inode, length and modification time, no longer
    /// matches): reading the whole image was 85 of
    /// the 110 ms a 7.2-million-signature set took to map. Images given
    /// with `-d x.bwdb` are always checksummed.
    pub verify_cached: bool,
}

/// A loaded engine and what was said on the way.
pub struct Loaded {
    /// The engine.
    pub engine: Engine,
    /// Malformed lines (`file:line: why`), each a warning: the rest loaded.
    pub warnings: Vec<String>,
    /// Databases that could not be loaded at all.
    pub errors: Vec<String>,
    /// The image the engine was mapped from or written to, if any.
    pub image: Option<PathBuf>,
}

/// Load databases into an engine: a single `.bwdb` path is mapped as it is;
/// otherwise, with `cache`, an image of the same databases is mapped when
/// there is a valid one, and written when there is none (damaged images are
/// reported among the warnings and rebuilt).
pub fn load(req: &Request) -> Loaded {
    let images: Vec<&PathBuf> = req.paths.iter().filter(|p| is_image(p)).collect();
    if !images.is_empty() {
        return load_image(req, &images);
    }
    let mut warnings = Vec::new();
    let slot = req
        .cache
        .then(|| dir().and_then(|d| image_path(&d, &req.paths, req.builtin, &req.options).ok()))
        .flatten();
    if let Some(slot) = slot.as_ref().filter(|s| s.is_file()) {
        let check = if !req.verify_cached && stamp_matches(slot) {
            Check::Structure
        } else {
            Check::Full
        };
        match Engine::open_checked(slot, check) {
            Ok((engine, notes)) => {
                mark_used(slot);
                stamp(slot);
                return Loaded {
                    engine,
                    warnings: notes,
                    errors: Vec::new(),
                    image: Some(slot.clone()),
                };
            }
            Err(e) => {
                warnings.push(format!("{}: {e}; rebuilding it", slot.display()));
                let _ = fs::remove_file(slot);
                let _ = fs::remove_file(stamp_path(slot));
            }
        }
    }
    if let Some(slot) = slot
        .as_ref()
        .filter(|_| req.prefer_mapped || large(req, SPILL_BYTES))
    {
        match load_spilled(req, slot) {
            Ok(mut loaded) => {
                warnings.append(&mut loaded.warnings);
                loaded.warnings = warnings;
                return loaded;
            }
            Err(e) => warnings.push(format!(
                "engine cache {}: {e}; compiling in memory",
                slot.display()
            )),
        }
    }
    let (set, mut notes, errors) = parse(req);
    let worth = worth_caching(&errors, set.known_signatures(), pattern_signatures(&set));
    let (mut engine, image) = match slot.filter(|_| worth) {
        Some(slot) => compile_into(set, &notes, slot, &mut warnings),
        None => (Engine::build(set), None),
    };
    if let Some(path) = image.as_ref().filter(|_| req.prefer_mapped) {
        match Engine::open(path) {
            Ok((mapped, _)) => engine = mapped,
            Err(e) => warnings.push(format!("{}: {e}", path.display())),
        }
    }
    warnings.append(&mut notes);
    Loaded {
        engine,
        warnings,
        errors,
        image,
    }
}

fn is_image(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "bwdb")
}

fn load_image(req: &Request, images: &[&PathBuf]) -> Loaded {
    let fail = |msg: String| Loaded {
        engine: Engine::build(SignatureSet::default()),
        warnings: Vec::new(),
        errors: vec![msg],
        image: None,
    };
    if req.paths.len() > 1 || req.builtin {
        return fail(format!(
            "{}: an engine image (.bwdb) is used alone, without other databases or the built-in pack",
            images[0].display()
        ));
    }
    match Engine::open(images[0]) {
        Ok((engine, notes)) => Loaded {
            engine,
            warnings: notes,
            errors: Vec::new(),
            image: Some(images[0].clone()),
        },
        Err(e) => fail(format!("{}: {e}", images[0].display())),
    }
}

/// Parse the databases: the set, the malformed-line warnings, and the
/// databases that failed as a whole.
fn parse(req: &Request) -> (SignatureSet, Vec<String>, Vec<String>) {
    let (loader, mut errors) = loader(req);
    let (set, diags) = loader.finish();
    let warnings = sort_diagnostics(diags, &mut errors);
    (set, warnings, errors)
}

/// Parse the databases with their bulk spilled to disk, write the image to
/// `slot` from the spill and map it (see [`crate::spill`]): the engine in
/// the memory of one batch of text. The image stays in the cache when it
/// is worth keeping (as [`load`] decides); otherwise it is unlinked once
/// mapped.
fn load_spilled(req: &Request, slot: &Path) -> std::io::Result<Loaded> {
    let dir = slot.parent().unwrap_or(Path::new("."));
    let image = compile_image(req, slot)?;
    let (engine, _) = Engine::open(slot).map_err(std::io::Error::other)?;
    let worth = worth_caching(&image.errors, image.signatures, image.pattern_signatures);
    let kept = if worth {
        prune(dir, slot);
        Some(slot.to_path_buf())
    } else {
        let _ = fs::remove_file(slot);
        None
    };
    Ok(Loaded {
        engine,
        warnings: image.warnings,
        errors: image.errors,
        image: kept,
    })
}

/// What [`compile_image`] wrote.
#[derive(Debug)]
pub struct CompiledImage {
    /// Signatures in the image.
    pub signatures: u64,
    /// Of them, body and logical signatures.
    pub pattern_signatures: u64,
    /// Databases they came from.
    pub sources: usize,
    /// Malformed lines (`file:line: why`), each a warning: the rest loaded.
    pub warnings: Vec<String>,
    /// Databases that could not be loaded at all.
    pub errors: Vec<String>,
}

/// Compile the request's databases into an engine image at `output`, with
/// their bulk spilled to sorted runs beside it (the spill the daemon uses), so
/// that compiling needs the memory of one batch of text, not of the whole
/// database (`bolwerk db compile`, and the cache of large databases).
pub fn compile_image(req: &Request, output: &Path) -> std::io::Result<CompiledImage> {
    let dir = output.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut spill = crate::spill::Spiller::beside(output)?;
    let (loader, mut errors) = loader(req);
    let (mut set, diags) = loader.finish_spilled(&mut spill)?;
    let warnings = sort_diagnostics(diags, &mut errors);
    let signatures = set.known_signatures();
    let pattern_signatures = pattern_signatures(&set);
    let matchers = crate::Matchers::compile(&mut set, true);
    let sections = crate::compiled::matcher_sections(&matchers, &set.sources, &warnings)?;
    drop(matchers);
    spill.write_image(output, &sections)?;
    Ok(CompiledImage {
        signatures,
        pattern_signatures,
        sources: set.sources.len(),
        warnings,
        errors,
    })
}

/// Databases larger than this (in bytes of their files) are compiled for
/// the cache with their bulk spilled to disk even where the engine would
/// otherwise be built in memory: parsing them whole costs hundreds of MiB.
pub const SPILL_BYTES: u64 = 32 << 20;

/// Whether the request's database files add up to `threshold` bytes or
/// more (directories are read one level deep, as databases are found in
/// them).
fn large(req: &Request, threshold: u64) -> bool {
    let mut total = 0u64;
    for p in &req.paths {
        let Ok(meta) = fs::metadata(p) else { continue };
        if meta.is_dir() {
            for e in fs::read_dir(p).into_iter().flatten().flatten() {
                total += e
                    .metadata()
                    .map(|m| if m.is_file() { m.len() } else { 0 })
                    .unwrap_or(0);
            }
        } else {
            total += meta.len();
        }
        if total >= threshold {
            return true;
        }
    }
    false
}

/// A loader with the request's databases added, and the databases that
/// could not be added.
fn loader(req: &Request) -> (Loader, Vec<String>) {
    let mut loader = Loader::new(req.options.clone());
    if req.builtin {
        loader.add_builtin();
    }
    let mut errors = Vec::new();
    for p in &req.paths {
        if let Err(e) = loader.add_path(p) {
            let msg = e.to_string();
            let shown = p.display().to_string();
            errors.push(if msg.starts_with(&shown) {
                msg
            } else {
                format!("{shown}: {msg}")
            });
        }
    }
    (loader, errors)
}

/// Malformed lines become warnings (returned), everything else errors.
fn sort_diagnostics(diags: Vec<bolwerk_sigs::Error>, errors: &mut Vec<String>) -> Vec<String> {
    let mut warnings = Vec::new();
    for d in diags {
        match d.kind() {
            ErrorKind::Malformed(_) => warnings.push(d.to_string()),
            _ => errors.push(d.to_string()),
        }
    }
    warnings
}

/// Build the engine and write its image to the cache.
fn compile_into(
    set: SignatureSet,
    notes: &[String],
    slot: PathBuf,
    warnings: &mut Vec<String>,
) -> (Engine, Option<PathBuf>) {
    let dir = slot.parent().unwrap_or(Path::new(".")).to_path_buf();
    if let Err(e) = fs::create_dir_all(&dir) {
        warnings.push(format!("engine cache {}: {e}", dir.display()));
        return (Engine::build(set), None);
    }
    let (engine, written) = Engine::compile(set, notes, &slot);
    match written {
        Ok(()) => {
            prune(&dir, &slot);
            (engine, Some(slot))
        }
        Err(e) => {
            warnings.push(format!("engine cache {}: {e}", slot.display()));
            (engine, None)
        }
    }
}

/// The cache directory, if a home or cache directory is known.
pub fn dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("bolwerk").join("engines"))
}

/// The image path for these databases in `dir`.
pub fn image_path(
    dir: &Path,
    paths: &[PathBuf],
    builtin: bool,
    opts: &LoadOptions,
) -> std::io::Result<PathBuf> {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(crate::compiled::VERSION.to_le_bytes());
    h.update([u8::from(builtin), u8::from(opts.detect_pua)]);
    h.update(opts.flevel.to_le_bytes());
    for file in database_files(paths)? {
        key_file(&mut h, &file)?;
    }
    let key: String = h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(dir.join(format!("{key}.bwdb")))
}

/// Every database file the paths name, in a stable order.
fn database_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if fs::metadata(p)?.is_dir() {
            let mut files: Vec<PathBuf> = fs::read_dir(p)?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|f| {
                    f.is_file()
                        && f.file_name()
                            .and_then(|n| n.to_str())
                            .and_then(DbKind::from_name)
                            .is_some()
                })
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn key_file(h: &mut Sha256, path: &Path) -> std::io::Result<()> {
    let abs = fs::canonicalize(path)?;
    let meta = fs::metadata(&abs)?;
    h.update(abs.as_os_str().as_encoded_bytes());
    h.update([0]);
    for n in [
        meta.len(),
        meta.ino(),
        meta.mtime() as u64,
        meta.mtime_nsec() as u64,
        meta.ctime() as u64,
        meta.ctime_nsec() as u64,
    ] {
        h.update(n.to_le_bytes());
    }
    let mut f = File::open(&abs)?;
    if meta.len() <= WHOLE {
        let mut buf = Vec::with_capacity(meta.len() as usize);
        f.read_to_end(&mut buf)?;
        h.update(&buf);
    } else {
        let mut buf = vec![0u8; END as usize];
        f.read_exact(&mut buf)?;
        h.update(&buf);
        f.seek(SeekFrom::Start(meta.len() - END))?;
        f.read_exact(&mut buf)?;
        h.update(&buf);
    }
    Ok(())
}

/// Note that a cached image was used: [`prune`] keeps the most recently
/// used images (by modification time; the image's contents and its key do
/// not depend on it), so an image mapped on every run is not dropped for
/// ones made after it and used once.
/// The stamp of a cached image: written after the image was mapped, with
/// the image's inode, length and modification time, so that the next map
/// can skip the checksum of an image that has not changed since one was
/// checked (a rewrite, a copy or a truncation changes one of the three).
/// Damage at rest that changes none of them is not caught after the first
/// check, as it is not in the database files the image was made from; every
/// read of the image is bounds-checked whatever it holds.
fn stamp_path(image: &Path) -> PathBuf {
    let mut name = image.as_os_str().to_os_string();
    name.push(".checked");
    PathBuf::from(name)
}

fn stamp_of(image: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(image).ok()?;
    Some(format!(
        "{} {} {} {}\n",
        m.ino(),
        m.len(),
        m.mtime(),
        m.mtime_nsec()
    ))
}

/// Record that `image` was checked as it now is.
fn stamp(image: &Path) {
    if let Some(s) = stamp_of(image) {
        let _ = fs::write(stamp_path(image), s);
    }
}

/// Whether `image` is as it was when its stamp was written.
fn stamp_matches(image: &Path) -> bool {
    match (fs::read_to_string(stamp_path(image)), stamp_of(image)) {
        (Ok(recorded), Some(now)) => recorded == now,
        _ => false,
    }
}

fn mark_used(image: &Path) {
    if let Ok(f) = File::open(image) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}

/// Remove all but the [`KEEP`] most recently modified images (and any
/// temporary file or spill directory, an hour old, left by a writer that
/// died), keeping `current`.
pub fn prune(dir: &Path, current: &Path) {
    let Ok(rd) = fs::read_dir(dir) else {
        return;
    };
    let mut images: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    for e in rd.filter_map(Result::ok) {
        let path = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        let modified = e.metadata().and_then(|m| m.modified());
        let stale = modified
            .as_ref()
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > 3600);
        if name.ends_with(".tmp") {
            if stale {
                let _ = fs::remove_file(&path);
            }
        } else if name.starts_with('.') && name.ends_with(".spill") {
            // The spill of a compile that was killed midway.
            if stale && path.is_dir() {
                let _ = fs::remove_dir_all(&path);
            }
        } else if let Some(image) = name.strip_suffix(".checked") {
            if !dir.join(image).is_file() {
                let _ = fs::remove_file(&path);
            }
        } else if name.ends_with(".bwdb") && path != current {
            if let Ok(t) = modified {
                images.push((t, path));
            }
        }
    }
    images.sort_by_key(|i| std::cmp::Reverse(i.0));
    for (_, old) in images.into_iter().skip(KEEP - 1) {
        let _ = fs::remove_file(&old);
        let _ = fs::remove_file(stamp_path(&old));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_follows_content_options_and_files() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("db");
        fs::create_dir(&db).unwrap();
        fs::write(db.join("a.hdb"), "44d88612fea8a8f36de82e1278abb02f:68:A\n").unwrap();
        fs::write(db.join("README"), "not a database").unwrap();
        let opts = LoadOptions::default();
        let key =
            |builtin| image_path(d.path(), std::slice::from_ref(&db), builtin, &opts).unwrap();
        let first = key(true);
        assert_eq!(first, key(true));
        assert_ne!(first, key(false));
        fs::write(db.join("README"), "still not a database").unwrap();
        assert_eq!(
            first,
            key(true),
            "files that are not databases do not count"
        );
        fs::write(db.join("a.hdb"), "44d88612fea8a8f36de82e1278abb02f:68:B\n").unwrap();
        assert_ne!(first, key(true));
        fs::write(db.join("b.ndb"), "X:0:*:41424344\n").unwrap();
        let with_b = key(true);
        fs::remove_file(db.join("b.ndb")).unwrap();
        assert_ne!(with_b, key(true));
    }

    #[test]
    fn large_counts_files_and_directories_one_level_deep() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("db");
        fs::create_dir_all(db.join("sub")).unwrap();
        fs::write(db.join("a.hdb"), vec![b'a'; 600]).unwrap();
        fs::write(db.join("sub/b.hdb"), vec![b'b'; 5000]).unwrap();
        let single = d.path().join("c.ndb");
        fs::write(&single, vec![b'c'; 500]).unwrap();
        let req = |paths: Vec<PathBuf>| Request {
            paths,
            builtin: false,
            options: LoadOptions::default(),
            cache: true,
            prefer_mapped: false,
            verify_cached: false,
        };
        assert!(large(&req(vec![db.clone(), single.clone()]), 1100));
        assert!(!large(&req(vec![db.clone(), single]), 1101));
        assert!(!large(&req(vec![db, d.path().join("missing")]), 601));
    }

    /// A spilled compile makes the image `Engine::compile` makes, and
    /// reports what it compiled.
    #[test]
    fn compile_image_writes_a_mappable_image() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("a.hdb");
        fs::write(
            &db,
            "44d88612fea8a8f36de82e1278abb02f:68:Eicar\nnot a line\n",
        )
        .unwrap();
        let req = Request {
            paths: vec![db],
            builtin: false,
            options: LoadOptions::default(),
            cache: false,
            prefer_mapped: true,
            verify_cached: true,
        };
        let out = d.path().join("out/x.bwdb");
        let image = compile_image(&req, &out).unwrap();
        assert_eq!((image.signatures, image.sources), (1, 1));
        assert_eq!(image.warnings.len(), 1, "{:?}", image.warnings);
        assert!(image.errors.is_empty());
        let (engine, notes) = Engine::open(&out).unwrap();
        assert_eq!(notes, image.warnings);
        assert!(engine.wants_object(68));
        // Nothing is left beside the image but the image.
        let left: Vec<_> = fs::read_dir(d.path().join("out")).unwrap().collect();
        assert_eq!(left.len(), 1);
    }

    #[test]
    fn a_stamp_holds_until_the_image_changes() {
        let d = tempfile::tempdir().unwrap();
        let image = d.path().join("k.bwdb");
        fs::write(&image, "image").unwrap();
        assert!(!stamp_matches(&image), "no stamp yet");
        stamp(&image);
        assert!(stamp_matches(&image));
        mark_used(&image);
        assert!(
            !stamp_matches(&image),
            "mtime moved: stamped again after use"
        );
        stamp(&image);
        assert!(stamp_matches(&image));
        fs::write(&image, "imagf").unwrap();
        assert!(!stamp_matches(&image), "rewritten in place");
        stamp(&image);
        let other = d.path().join("other");
        fs::write(&other, "imagf").unwrap();
        fs::rename(&other, &image).unwrap();
        assert!(!stamp_matches(&image), "replaced by rename");
        // Pruning drops stamps whose image is gone.
        fs::remove_file(&image).unwrap();
        prune(d.path(), &d.path().join("none.bwdb"));
        assert!(!stamp_path(&image).exists());
    }

    #[test]
    fn prune_keeps_the_most_recently_used() {
        let d = tempfile::tempdir().unwrap();
        for i in 0..7 {
            fs::write(d.path().join(format!("{i}.bwdb")), "x").unwrap();
            std::thread::sleep(std::time::Duration::from_millis(15));
        }
        let hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        for spill in [".0.bwdb.old.spill", ".0.bwdb.new.spill"] {
            fs::create_dir(d.path().join(spill)).unwrap();
            fs::write(d.path().join(spill).join("run"), "r").unwrap();
        }
        fs::File::open(d.path().join(".0.bwdb.old.spill"))
            .unwrap()
            .set_modified(hours_ago)
            .unwrap();
        // Image 1, old but used just now, stays; 4, newer but unused, goes.
        std::thread::sleep(std::time::Duration::from_millis(15));
        mark_used(&d.path().join("1.bwdb"));
        let current = d.path().join("0.bwdb");
        prune(d.path(), &current);
        let mut left: Vec<String> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [".0.bwdb.new.spill", "0.bwdb", "1.bwdb", "5.bwdb", "6.bwdb"]
        );
    }
}
