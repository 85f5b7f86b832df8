//! Pages of a mapped file that a sweep has passed, handed back to the kernel.
//!
//! A scanner that maps a file touches every page of it: the prefilter reads
//! each byte, the digests hash each byte. Left alone, every page stays in
//! the process's resident set until the mapping is dropped, so scanning a
//! 110 MB library costs 110 MB of RSS. A [`Pages`] made from the mapping lets
//! each sweep drop the pages it has left behind (`MADV_DONTNEED`), one
//! [`CHUNK`] at a time, keeping the chunk just passed for the look-backs of
//! verification. A page touched again later (verification, a container
//! reader, the next sweep) is read again from the page cache: the bytes are
//! the file's, the answer does not change, only its cost.
//!
//! A [`Pages`] of nothing (the default, for bytes held in memory) does
//! nothing: heap memory must never be given back this way, since an
//! anonymous page dropped reads back as zeros.

use memmap2::{Mmap, UncheckedAdvice};

/// Bytes a sweep passes between two hand-backs: large enough that the
/// `madvise` calls cost nothing beside the sweep (one call per 2 MiB), small
/// enough that what a sweep keeps resident is small beside the engine. A
/// multiple of every page size Linux uses for ordinary mappings.
pub const CHUNK: usize = 2 << 20;

/// The mapping of the object being scanned, if it is one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pages<'a> {
    map: Option<&'a Mmap>,
}

impl<'a> Pages<'a> {
    /// The pages of `map`, a read-only mapping of a file: the bytes a sweep
    /// passes are read again from the file when touched again.
    pub fn of(map: &'a Mmap) -> Self {
        Pages { map: Some(map) }
    }

    /// Hand back the pages wholly inside `part`, a slice of the mapping.
    /// Does nothing for bytes that are not in the mapping (a copy, an
    /// object unpacked from a container) or when there is no mapping.
    pub fn release(&self, part: &[u8]) {
        let Some(map) = self.map else { return };
        let base = map.as_ptr() as usize;
        let Some(start) = (part.as_ptr() as usize).checked_sub(base) else {
            return;
        };
        let end = start.saturating_add(part.len()).min(map.len());
        let first = start.next_multiple_of(PAGE);
        let last = if end == map.len() {
            end
        } else {
            end / PAGE * PAGE
        };
        if first >= last {
            return;
        }
        // SAFETY: `Mmap` is a read-only mapping, so no page of it was ever
        // written: a dropped page is read again from the file, never lost
        // or zeroed (that happens only to written private pages and to
        // anonymous memory). The range lies inside the mapping. A failure
        // only leaves the pages resident.
        let _ =
            unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, first, last - first) };
    }

    /// Hand back every page of the mapping, between two passes, when it is
    /// larger than the two chunks a sweep keeps (a smaller one stays: the
    /// next pass would only read it again).
    pub fn release_all(&self) {
        if let Some(map) = self.map.filter(|m| m.len() > 2 * CHUNK) {
            self.release(map);
        }
    }

    /// Hand back, in a sweep over `data` that has just reached `pos`, the
    /// chunk before the one just passed (see [`CHUNK`]).
    pub(crate) fn behind(&self, data: &[u8], pos: usize) {
        if self.map.is_none() || pos < 2 * CHUNK {
            return;
        }
        let end = (pos / CHUNK - 1) * CHUNK;
        self.release(&data[end - CHUNK..end]);
    }
}

/// The page size hand-backs are aligned to. Where pages are larger,
/// `memmap2` rounds a range's start down to its page, so part of one page
/// before the range goes too: harmless, it is read again from the file.
const PAGE: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// The resident kilobytes of the mapping at `addr`, from
    /// `/proc/self/smaps`.
    fn resident_kb(addr: usize) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((a, b)) = range.split_once('-') {
                    if let (Ok(a), Ok(b)) =
                        (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
                    {
                        inside = (a..b).contains(&addr);
                        continue;
                    }
                }
            }
            if inside {
                if let Some(kb) = line.strip_prefix("Rss:") {
                    return kb.trim().trim_end_matches(" kB").parse().unwrap();
                }
            }
        }
        panic!("mapping at {addr:#x} not in /proc/self/smaps");
    }

    fn mapped(len: usize) -> (tempfile::NamedTempFile, Mmap) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        f.write_all(&bytes).unwrap();
        f.flush().unwrap();
        let map = unsafe { Mmap::map(f.as_file()).unwrap() };
        (f, map)
    }

    #[test]
    fn released_pages_leave_the_resident_set_and_read_back_the_same() {
        let (_f, map) = mapped(8 << 20);
        let sum: u64 = map.iter().map(|&b| u64::from(b)).sum();
        let addr = map.as_ptr() as usize;
        assert!(resident_kb(addr) >= 8 << 10, "every page touched");
        Pages::of(&map).release_all();
        assert!(resident_kb(addr) < 64, "{} kB left", resident_kb(addr));
        let again: u64 = map.iter().map(|&b| u64::from(b)).sum();
        assert_eq!(sum, again);
    }

    #[test]
    fn only_pages_wholly_inside_the_part_go() {
        let (_f, map) = mapped(64 << 10);
        let _: u64 = map.iter().map(|&b| u64::from(b)).sum();
        let addr = map.as_ptr() as usize;
        // A part that starts and ends inside pages: the pages it covers
        // partly stay.
        Pages::of(&map).release(&map[100..3 * PAGE + 100]);
        assert_eq!(resident_kb(addr), 64 - 8);
        // A part that is not in the mapping, and no mapping: nothing.
        Pages::of(&map).release(&vec![0u8; 1 << 20]);
        Pages::default().release(&map[..]);
        assert_eq!(resident_kb(addr), 64 - 8);
    }

    #[test]
    fn a_sweep_keeps_at_most_two_chunks_behind_it() {
        let (_f, map) = mapped(6 * CHUNK);
        let pages = Pages::of(&map);
        let addr = map.as_ptr() as usize;
        let mut peak = 0;
        for (k, chunk) in map.chunks(CHUNK).enumerate() {
            let _: u64 = chunk.iter().map(|&b| u64::from(b)).sum();
            peak = peak.max(resident_kb(addr));
            pages.behind(&map, (k + 1) * CHUNK);
        }
        assert!(peak <= 2 * (CHUNK as u64 >> 10) + 64, "peak {peak} kB");
    }
}
