//! The budget of one scanned object: how many more bytes, files and how
//! much more time its containers may cost, under [`Limits`].
//!
//! A budget is created per top-level object and passed down through every
//! container reader and back to the scan driver's recursion, so the limits
//! hold for the whole tree, not per archive. Zero in a limit means
//! "unlimited", as in ClamAV's configuration.

use std::time::Instant;

use crate::{FileType, Limits};

/// A limit, by ClamAV's name (also the suffix of the heuristic
/// `Heuristics.Limits.Exceeded.<Name>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Limit {
    /// One object larger than `MaxFileSize`.
    MaxFileSize,
    /// More than `MaxScanSize` bytes extracted in total.
    MaxScanSize,
    /// More than `MaxFiles` objects extracted.
    MaxFiles,
    /// Nesting deeper than `MaxRecursion`.
    MaxRecursion,
    /// More time than `MaxScanTime`.
    MaxScanTime,
}

impl Limit {
    /// ClamAV's name of the limit.
    pub fn name(self) -> &'static str {
        match self {
            Limit::MaxFileSize => "MaxFileSize",
            Limit::MaxScanSize => "MaxScanSize",
            Limit::MaxFiles => "MaxFiles",
            Limit::MaxRecursion => "MaxRecursion",
            Limit::MaxScanTime => "MaxScanTime",
        }
    }
}

/// What one object may still cost, and where the readers that search the
/// scanned file hand back the pages they have read past.
#[derive(Clone, Debug)]
pub struct Budget<'a> {
    limits: Limits,
    scanned: u64,
    files: u32,
    deadline: Option<Instant>,
    exceeded: Vec<Limit>,
    encrypted: Vec<FileType>,
    release: Release<'a>,
}

/// A hand-back of pages of the scanned file (`MADV_DONTNEED` on a mapped
/// file, through the scanner); nothing for bytes held in memory.
#[derive(Clone, Copy, Default)]
struct Release<'a>(Option<&'a ReleaseFn<'a>>);

/// What hands back pages: given a part of the scanned object.
pub type ReleaseFn<'a> = dyn Fn(&[u8]) + Sync + 'a;

impl std::fmt::Debug for Release<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Release" } else { "None" })
    }
}

/// Bytes a search passes between two hand-backs.
pub const SEARCH_CHUNK: usize = 2 << 20;

impl Budget<'static> {
    /// A fresh budget under `limits`, its clock starting now.
    pub fn new(limits: &Limits) -> Budget<'static> {
        let secs = limits.max_scan_time;
        Budget {
            limits: limits.clone(),
            scanned: 0,
            files: 0,
            deadline: (!secs.is_zero()).then(|| Instant::now() + secs),
            exceeded: Vec::new(),
            encrypted: Vec::new(),
            release: Release(None),
        }
    }

    /// This budget, with `release` called on the parts of the scanned file
    /// that readers' searches have read past (`release` must ignore bytes
    /// that are not the file's: an object unpacked into memory).
    pub fn with_release<'a>(self, release: &'a ReleaseFn<'a>) -> Budget<'a> {
        Budget {
            release: Release(Some(release)),
            ..self
        }
    }
}

impl Budget<'_> {
    /// Hand back the pages of `part`, which a search has read past.
    pub fn release(&self, part: &[u8]) {
        if let Some(f) = self.release.0 {
            f(part);
        }
    }

    /// The offsets of the first `max` occurrences of `finder`'s needle in
    /// `hay` ([`Budget::find_each`] of one needle).
    pub(crate) fn find_all(
        &self,
        finder: &memchr::memmem::Finder<'_>,
        hay: &[u8],
        max: usize,
    ) -> Vec<usize> {
        self.find_each(&[(finder, max)], hay)
            .pop()
            .unwrap_or_default()
    }

    /// For each `(finder, max)`, the offsets of the first `max` occurrences
    /// of its needle in `hay`, all searched in one pass [`SEARCH_CHUNK`] by
    /// chunk. Over more than two chunks each chunk is handed back once
    /// searched: searches for magic over a whole mapped file keep one chunk
    /// of it resident, not the file (the readers then touch only what they
    /// read).
    pub(crate) fn find_each(
        &self,
        finders: &[(&memchr::memmem::Finder<'_>, usize)],
        hay: &[u8],
    ) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); finders.len()];
        let hand_back = hay.len() > 2 * SEARCH_CHUNK;
        let mut at = 0;
        let wanted = |out: &[Vec<usize>]| finders.iter().zip(out).any(|((_, m), o)| o.len() < *m);
        while at < hay.len() && wanted(&out) {
            for ((finder, max), found) in finders.iter().zip(&mut out) {
                let overlap = finder.needle().len().saturating_sub(1);
                let window = &hay[at..(at + SEARCH_CHUNK + overlap).min(hay.len())];
                let starts = finder
                    .find_iter(window)
                    .filter(|&i| i < SEARCH_CHUNK)
                    .take(max.saturating_sub(found.len()));
                found.extend(starts.map(|i| at + i));
            }
            if hand_back {
                self.release(&hay[at..(at + SEARCH_CHUNK).min(hay.len())]);
            }
            at += SEARCH_CHUNK;
        }
        out
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// How many bytes the next extracted object may have, or the limit that
    /// forbids extracting any more.
    pub fn allowance(&self) -> Result<u64, Limit> {
        let l = &self.limits;
        if l.max_files != 0 && self.files >= l.max_files {
            return Err(Limit::MaxFiles);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Limit::MaxScanTime);
        }
        let by_scan = match l.max_scan_size {
            0 => u64::MAX,
            max if self.scanned >= max => return Err(Limit::MaxScanSize),
            max => max - self.scanned,
        };
        let by_file = if l.max_file_size == 0 {
            u64::MAX
        } else {
            l.max_file_size
        };
        Ok(by_scan.min(by_file))
    }

    /// Bytes the object may still extract in total.
    pub fn scan_left(&self) -> u64 {
        match self.limits.max_scan_size {
            0 => u64::MAX,
            max => max.saturating_sub(self.scanned),
        }
    }

    /// The limit to blame when an object of more than `allowance` bytes
    /// was refused.
    pub fn blame(&self, allowance: u64) -> Limit {
        if self.limits.max_file_size != 0 && allowance == self.limits.max_file_size {
            Limit::MaxFileSize
        } else {
            Limit::MaxScanSize
        }
    }

    /// Count an extracted object of `len` bytes.
    pub fn spend(&mut self, len: u64) {
        self.files = self.files.saturating_add(1);
        self.scanned = self.scanned.saturating_add(len);
    }

    /// Whether an object at `depth` (the top-level object is 0) may be
    /// opened further: its children, at `depth + 1`, must stay below
    /// `MaxRecursion` (measured with clamscan 1.4: `--max-recursion=1` does
    /// not open a zip; the default 17 reaches the test file at depth 16 of
    /// `clam_cache_emax.tgz`).
    pub fn may_descend(&self, depth: u32) -> bool {
        self.limits.max_recursion == 0 || depth + 1 < self.limits.max_recursion
    }

    /// Record that a limit cut the scan short.
    pub fn note(&mut self, limit: Limit) {
        if !self.exceeded.contains(&limit) {
            self.exceeded.push(limit);
        }
    }

    /// The limits that cut the scan short, in the order first met.
    pub fn exceeded(&self) -> &[Limit] {
        &self.exceeded
    }

    /// Record that a container of type `ft` held content that could not
    /// be read because it is encrypted.
    pub fn note_encrypted(&mut self, ft: FileType) {
        if !self.encrypted.contains(&ft) {
            self.encrypted.push(ft);
        }
    }

    /// The types of the containers with encrypted content, in the order
    /// first met.
    pub fn encrypted(&self) -> &[FileType] {
        &self.encrypted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunked_search_finds_what_one_search_finds_and_hands_back_each_chunk() {
        let mut hay = vec![b'.'; 2 * SEARCH_CHUNK + 10];
        // (more than two chunks: the chunks are handed back)
        for at in [
            0,
            5,
            SEARCH_CHUNK - 2,
            SEARCH_CHUNK + 2,
            2 * SEARCH_CHUNK + 6,
        ] {
            hay[at..at + 4].copy_from_slice(b"PK\x03\x04");
        }
        let finder = memchr::memmem::Finder::new(b"PK\x03\x04");
        let handed = std::sync::Mutex::new(Vec::new());
        let note = |part: &[u8]| handed.lock().unwrap().push(part.len());
        let b = Budget::new(&Limits::default());
        let b = b.with_release(&note);
        let all: Vec<usize> = finder.find_iter(&hay).collect();
        assert_eq!(all.len(), 5);
        assert_eq!(b.find_all(&finder, &hay, usize::MAX), all);
        assert_eq!(b.find_all(&finder, &hay, 3), all[..3]);
        assert_eq!(
            handed.lock().unwrap()[..3],
            [SEARCH_CHUNK, SEARCH_CHUNK, 10],
            "every chunk searched is handed back"
        );
    }

    #[test]
    fn allowance_and_blame() {
        let limits = Limits {
            max_file_size: 100,
            max_scan_size: 250,
            max_files: 3,
            ..Limits::default()
        };
        let mut b = Budget::new(&limits);
        assert_eq!(b.allowance(), Ok(100));
        assert_eq!(b.blame(100), Limit::MaxFileSize);
        b.spend(100);
        b.spend(100);
        assert_eq!(b.allowance(), Ok(50));
        assert_eq!(b.blame(50), Limit::MaxScanSize);
        b.spend(50);
        assert_eq!(b.allowance(), Err(Limit::MaxFiles));
        let unlimited = Limits {
            max_file_size: 0,
            max_scan_size: 0,
            max_files: 0,
            max_recursion: 0,
            max_scan_time: std::time::Duration::ZERO,
            max_script_normalize: 0,
            max_html_normalize: 0,
            max_html_notags: 0,
        };
        let b = Budget::new(&unlimited);
        assert_eq!(b.allowance(), Ok(u64::MAX));
        assert!(b.may_descend(1000));
    }
}
