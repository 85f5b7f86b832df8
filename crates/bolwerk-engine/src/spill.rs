//! Compiling an image in bounded memory: hash records and names go to
//! temporary files as the loader parses them, and the image is written from
//! those files.
//!
//! A database's bulk — millions of hash records and their names — would
//! otherwise be held in memory whole while the image is built: for the
//! official databases some 250 MiB, next to the engine a daemon is still
//! scanning with. Here each hash table's records are gathered up to
//! [`RUN_BYTES`], sorted as [`crate::hashindex`] sorts them and appended to
//! a file as a sorted run; the image's table is the merge of its runs, with
//! the same rule for duplicates (the last one loaded wins). Names are
//! written in id order to two files (offsets and bytes) that are copied
//! into the image. What stays in memory is one batch of database text, one
//! run per table being gathered, and a small read buffer per run.
//!
//! The files live in a directory beside the image, removed when done
//! (also on error).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bolwerk_sigs::{HashRecord, HashSet3, HashTable, NameId, Names, Spill};

use crate::compiled::{write_matchers, ImageWriter, MatcherSections, NAMES_BYTES, NAMES_OFFSETS};
use crate::hashindex::stride;

/// Records of one table gathered before they are sorted and written. With
/// [`READ_AHEAD`] this sets the compile's memory: runs being gathered
/// (this per table) against the merge's buffers (read-ahead per run, and
/// fewer runs the longer they are); for the 6.9M-signature database the
/// two balance near 256 KiB (measured: 2.3 MiB anonymous memory added by a
/// daemon's reload).
pub(crate) const RUN_BYTES: usize = 256 << 10;
/// Records read ahead per run while merging.
const READ_AHEAD: usize = 64;

/// The spill of one compile; see the module documentation.
pub(crate) struct Spiller {
    dir: tempfile::TempDir,
    /// Per purpose (file, section, allow): MD5, SHA-1, SHA-256 runs.
    tables: [Runs3; 3],
    name_offsets: BufWriter<File>,
    name_bytes: BufWriter<File>,
    names_total: u32,
}

struct Runs3 {
    md5: Runs<16>,
    sha1: Runs<20>,
    sha256: Runs<32>,
}

impl Runs3 {
    /// The runs of table `t`, in files of `dir` named after it.
    fn new(dir: &Path, t: usize, run_bytes: usize) -> Runs3 {
        let path = |h: &str| dir.join(format!("{t}-{h}"));
        Runs3 {
            md5: Runs::new(path("md5"), run_bytes),
            sha1: Runs::new(path("sha1"), run_bytes),
            sha256: Runs::new(path("sha256"), run_bytes),
        }
    }
}

/// One table's runs: records being gathered, and the file of sorted runs
/// (created with the first run) with each run's first record and length.
struct Runs<const N: usize> {
    path: PathBuf,
    run_bytes: usize,
    gathering: Vec<HashRecord<N>>,
    file: Option<BufWriter<File>>,
    runs: Vec<(u64, u64)>,
    written: u64,
}

impl Spiller {
    /// A spill in a new directory beside `image`.
    pub(crate) fn beside(image: &Path) -> std::io::Result<Spiller> {
        Spiller::with_run_bytes(image, RUN_BYTES)
    }

    pub(crate) fn with_run_bytes(image: &Path, run_bytes: usize) -> std::io::Result<Spiller> {
        let dir = spill_dir(image)?;
        let name_offsets = BufWriter::new(File::create_new(dir.path().join("name-offsets"))?);
        let name_bytes = BufWriter::new(File::create_new(dir.path().join("name-bytes"))?);
        let tables = [0, 1, 2].map(|t| Runs3::new(dir.path(), t, run_bytes.max(1)));
        Ok(Spiller {
            dir,
            tables,
            name_offsets,
            name_bytes,
            names_total: 0,
        })
    }

    /// Write the image to `path`: the merged tables, the names and the
    /// encoded matchers.
    pub(crate) fn write_image(
        mut self,
        path: &Path,
        matchers: &MatcherSections,
    ) -> std::io::Result<()> {
        self.name_offsets
            .write_all(&self.names_total.to_le_bytes())?;
        let offsets = finish_file(self.name_offsets, &self.dir.path().join("name-offsets"))?;
        let bytes = finish_file(self.name_bytes, &self.dir.path().join("name-bytes"))?;
        let mut w = ImageWriter::create(path)?;
        for (t, table) in self.tables.iter_mut().enumerate() {
            let id = t as u32 * 3;
            table.md5.flush(true)?;
            table.sha1.flush(true)?;
            table.sha256.flush(true)?;
            w.section(id + 1, |w| table.md5.merge(w))?;
            w.section(id + 2, |w| table.sha1.merge(w))?;
            w.section(id + 3, |w| table.sha256.merge(w))?;
        }
        w.section(NAMES_OFFSETS, |w| copy(&offsets, w))?;
        w.section(NAMES_BYTES, |w| copy(&bytes, w))?;
        write_matchers(&mut w, matchers)?;
        w.finish()
    }
}

impl Spill for Spiller {
    fn hashes(&mut self, table: HashTable, records: HashSet3) -> std::io::Result<()> {
        let t = match table {
            HashTable::File => 0,
            HashTable::Section => 1,
            HashTable::Allow => 2,
        };
        let runs = &mut self.tables[t];
        runs.md5.gather(records.md5)?;
        runs.sha1.gather(records.sha1)?;
        runs.sha256.gather(records.sha256)
    }

    fn names(&mut self, names: &Names) -> std::io::Result<()> {
        for i in 0..names.len() {
            self.name_offsets
                .write_all(&self.names_total.to_le_bytes())?;
            let name = names.get(NameId(i as u32));
            self.names_total = u32::try_from(name.len())
                .ok()
                .and_then(|l| self.names_total.checked_add(l))
                .ok_or_else(|| std::io::Error::other("names exceed 4 GiB"))?;
            self.name_bytes.write_all(name.as_bytes())?;
        }
        Ok(())
    }
}

impl<const N: usize> Runs<N> {
    fn new(path: PathBuf, run_bytes: usize) -> Self {
        Runs {
            path,
            run_bytes,
            gathering: Vec::new(),
            file: None,
            runs: Vec::new(),
            written: 0,
        }
    }

    /// Add records; write a run when a run's worth is gathered.
    fn gather(&mut self, mut records: Vec<HashRecord<N>>) -> std::io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        if self.gathering.is_empty() {
            std::mem::swap(&mut self.gathering, &mut records);
        } else {
            self.gathering.append(&mut records);
        }
        self.flush(false)
    }

    /// Write the gathered records as a run if there are a run's worth of
    /// them, or any at all when `all`.
    fn flush(&mut self, all: bool) -> std::io::Result<()> {
        let full = self.gathering.len() * std::mem::size_of::<HashRecord<N>>() >= self.run_bytes;
        if self.gathering.is_empty() || !(all || full) {
            return Ok(());
        }
        let mut run = std::mem::take(&mut self.gathering);
        run.sort_unstable_by_key(key);
        if self.file.is_none() {
            self.file = Some(BufWriter::new(File::create_new(&self.path)?));
        }
        let out = self.file.as_mut().expect("created above");
        for r in &run {
            write_record(out, r.size, &r.digest, r.name)?;
        }
        self.runs.push((self.written, run.len() as u64));
        self.written += run.len() as u64;
        Ok(())
    }

    /// Merge the runs into `out` in image layout, keeping one record per
    /// (size, digest): the one loaded last.
    fn merge(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        let Some(w) = self.file.take() else {
            return Ok(());
        };
        let file = finish_file(w, &self.path)?;
        let mut cursors: Vec<Cursor<N>> = self
            .runs
            .iter()
            .map(|&(first, len)| Cursor::new(first, len))
            .collect();
        let mut heap = BinaryHeap::with_capacity(cursors.len());
        for (i, c) in cursors.iter_mut().enumerate() {
            if let Some(r) = c.next(&file)? {
                heap.push(Reverse((key(&r), i)));
            }
        }
        let mut last: Option<(u32, [u8; N])> = None;
        while let Some(Reverse(((size, digest, Reverse(name)), i))) = heap.pop() {
            if last != Some((size, digest)) {
                write_record(out, size, &digest, NameId(name))?;
                last = Some((size, digest));
            }
            if let Some(r) = cursors[i].next(&file)? {
                heap.push(Reverse((key(&r), i)));
            }
        }
        Ok(())
    }
}

/// The order of a table: by size, digest, and the last loaded first.
fn key<const N: usize>(r: &HashRecord<N>) -> (u32, [u8; N], Reverse<u32>) {
    (r.size, r.digest, Reverse(r.name.0))
}

fn write_record<const N: usize>(
    out: &mut (impl Write + ?Sized),
    size: u32,
    digest: &[u8; N],
    name: NameId,
) -> std::io::Result<()> {
    out.write_all(&size.to_le_bytes())?;
    out.write_all(digest)?;
    out.write_all(&name.0.to_le_bytes())
}

/// Reading one run back, a few records at a time.
struct Cursor<const N: usize> {
    /// The next record to read, and the end of the run (record indices).
    at: u64,
    end: u64,
    buf: Vec<u8>,
    used: usize,
}

impl<const N: usize> Cursor<N> {
    fn new(first: u64, len: u64) -> Self {
        Cursor {
            at: first,
            end: first + len,
            buf: Vec::new(),
            used: 0,
        }
    }

    fn next(&mut self, file: &File) -> std::io::Result<Option<HashRecord<N>>> {
        let stride = stride::<N>();
        if self.used == self.buf.len() {
            let n = (self.end - self.at).min(READ_AHEAD as u64) as usize;
            if n == 0 {
                return Ok(None);
            }
            self.buf.resize(n * stride, 0);
            file.read_exact_at(&mut self.buf, self.at * stride as u64)?;
            self.at += n as u64;
            self.used = 0;
        }
        let rec = &self.buf[self.used..self.used + stride];
        self.used += stride;
        let word = |b: &[u8]| u32::from_le_bytes(b.try_into().expect("four bytes"));
        Ok(Some(HashRecord {
            size: word(&rec[..4]),
            digest: rec[4..4 + N].try_into().expect("digest length"),
            name: NameId(word(&rec[4 + N..])),
        }))
    }
}

/// Flush a spill file and open it for reading.
fn finish_file(w: BufWriter<File>, path: &Path) -> std::io::Result<File> {
    w.into_inner().map_err(|e| e.into_error())?;
    File::open(path)
}

fn copy(mut file: &File, out: &mut dyn Write) -> std::io::Result<()> {
    std::io::copy(&mut file, out).map(drop)
}

/// A directory beside `image` for the spill, removed with everything in
/// it when dropped.
fn spill_dir(image: &Path) -> std::io::Result<tempfile::TempDir> {
    let stem = image
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("engine");
    tempfile::Builder::new()
        .prefix(&format!(".{stem}."))
        .suffix(".spill")
        .tempdir_in(image.parent().unwrap_or(Path::new(".")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;
    use bolwerk_sigs::{LoadOptions, Loader};

    /// `n` hex digits from a counter (a cheap, repeatable spread).
    fn hex(seed: u64, n: usize) -> String {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from_digit((x % 16) as u32, 16).expect("hex digit")
            })
            .collect()
    }

    /// Databases of every hash table and type, with duplicates inside a
    /// file and across files, wildcard sizes, a body signature, and a
    /// malformed line.
    fn databases(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<(&str, String)> = Vec::new();
        let lines = |ext: &str, n: u64, digits: usize| -> String {
            (0..n)
                .map(|i| {
                    let h = hex(i % (n / 2), digits); // every hash twice
                    let size = if i % 7 == 0 {
                        "*".into()
                    } else {
                        (i % 5 + 1).to_string()
                    };
                    match ext {
                        "mdb" | "msb" => format!("{size}:{h}:Sec.{ext}-{i}\n").replace("*:", "10:"),
                        _ if size == "*" => format!("{h}:*:Sig.{ext}-{i}:73\n"),
                        _ => format!("{h}:{size}:Sig.{ext}-{i}\n"),
                    }
                })
                .collect()
        };
        files.push(("a.hdb", lines("hdb", 120_000, 32))); // three parse chunks
        files.push(("b.hsb", lines("hsb", 2000, 40) + &lines("hsb", 2000, 64)));
        files.push(("c.mdb", lines("mdb", 1500, 32)));
        files.push(("d.fp", lines("fp", 400, 32)));
        files.push(("e.hdb", lines("hdb", 500, 32) + "not a line\n"));
        files.push((
            "f.ndb",
            "Body.E:0:*:2445494341522d5354414e44415244\n".into(),
        ));
        files
            .into_iter()
            .map(|(name, text)| {
                let p = dir.join(name);
                std::fs::write(&p, text).unwrap();
                p
            })
            .collect()
    }

    fn loader(paths: &[PathBuf]) -> Loader {
        let mut loader = Loader::new(LoadOptions::default());
        loader.add_builtin();
        for p in paths {
            loader.add_path(p).unwrap();
        }
        loader
    }

    #[test]
    fn spilled_image_is_the_image_compiled_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let paths = databases(dir.path());
        let (set, diags) = loader(&paths).finish();
        assert_eq!(diags.len(), 1, "the malformed line: {diags:?}");
        assert!(set.file_hashes.len() > 120_000);
        let notes = vec![diags[0].to_string()];
        let out = tempfile::tempdir().unwrap();
        let in_memory = out.path().join("memory.bwdb");
        Engine::compile(set, &notes, &in_memory).1.unwrap();

        // Runs of a few hundred bytes: a run per parsed chunk to merge.
        let spilled = out.path().join("spilled.bwdb");
        let mut spill = Spiller::with_run_bytes(&spilled, 700).unwrap();
        let (set, diags) = loader(&paths).finish_spilled(&mut spill).unwrap();
        assert_eq!(diags.len(), 1);
        assert!(set.file_hashes.is_empty() && set.names.is_empty());
        let runs = spill.tables[0].md5.runs.len();
        assert!(runs >= 4, "{runs} runs");
        let mut set = set;
        let matchers = crate::Matchers::compile(&mut set, true);
        let sections = crate::compiled::matcher_sections(&matchers, &set.sources, &notes).unwrap();
        spill.write_image(&spilled, &sections).unwrap();

        let (a, b) = (
            std::fs::read(&in_memory).unwrap(),
            std::fs::read(&spilled).unwrap(),
        );
        assert!(a.len() > 100_000);
        assert!(a == b, "the two images differ");
        let left: Vec<_> = std::fs::read_dir(out.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "only the two images remain: {left:?}");
    }

    #[test]
    fn a_spill_that_cannot_be_written_fails_and_leaves_nothing() {
        let out = tempfile::tempdir().unwrap();
        let image = out.path().join("gone").join("x.bwdb");
        assert!(Spiller::beside(&image).is_err());
        let image = out.path().join("x.bwdb");
        let spill = Spiller::beside(&image).unwrap();
        drop(spill);
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
    }
}
