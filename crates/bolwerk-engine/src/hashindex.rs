//! Sorted hash tables.
//!
//! Each table is one vector sorted by `(size, digest)`, one record per key: 24 to 40 bytes a
//! signature, no per-entry allocation, binary search to look up. Records of
//! any size (`*`, stored as size 0) sort first, so one vector serves both.
//! The question "does any signature name a file of this size?" is a binary
//! search too, and it is asked before a file is hashed at all.
//!
//! A table is either built in memory or read from a compiled engine image
//! ([`crate::compiled`]), where it is a run of fixed-size records in the
//! mapped file: size (u32, little endian), digest, name id (u32). Lookups
//! decode records in place, so a mapped table costs only the pages a
//! binary search touches.

use std::cmp::Reverse;
use std::sync::Arc;

use bolwerk_sigs::{HashRecord, HashSet3, NameId, ANY_SIZE};
use memmap2::Mmap;
use rayon::slice::ParallelSliceMut;

/// Records in memory, or in a mapped image.
#[derive(Debug)]
enum Table<const N: usize> {
    Owned(Vec<HashRecord<N>>),
    Mapped {
        map: Arc<Mmap>,
        start: usize,
        len: usize,
    },
}

impl<const N: usize> Default for Table<N> {
    fn default() -> Self {
        Table::Owned(Vec::new())
    }
}

/// Bytes of one record in an image.
pub(crate) const fn stride<const N: usize>() -> usize {
    N + 8
}

impl<const N: usize> Table<N> {
    fn len(&self) -> usize {
        match self {
            Table::Owned(v) => v.len(),
            Table::Mapped { len, .. } => *len,
        }
    }

    /// Record `i`: size, digest, name.
    fn get(&self, i: usize) -> (u32, [u8; N], NameId) {
        match self {
            Table::Owned(v) => (v[i].size, v[i].digest, v[i].name),
            Table::Mapped { map, start, .. } => {
                let at = start + i * stride::<N>();
                let rec = &map[at..at + stride::<N>()];
                let word = |b: &[u8]| u32::from_le_bytes(b.try_into().expect("four bytes"));
                let digest: [u8; N] = rec[4..4 + N].try_into().expect("digest length");
                (word(&rec[..4]), digest, NameId(word(&rec[4 + N..])))
            }
        }
    }

    /// The first index whose record is not `< key` (records are sorted).
    fn partition(&self, below: impl Fn(u32, &[u8; N]) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (size, digest, _) = self.get(mid);
            if below(size, &digest) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// One hash type's signatures, sorted.
#[derive(Debug, Default)]
pub(crate) struct HashIndex<const N: usize> {
    records: Table<N>,
    /// How many leading records have [`ANY_SIZE`].
    wild: usize,
}

impl<const N: usize> HashIndex<N> {
    pub(crate) fn build(mut records: Vec<HashRecord<N>>) -> Self {
        // ClamAV keeps one signature per (size, hash): the one loaded last
        // (measured with clamscan 1.4: two lines with the same hash report
        // only the second, even with --allmatch). Name ids follow load
        // order, so sorting ids in descending order within a key and keeping
        // the first of each run does the same, on every run.
        records.par_sort_unstable_by_key(|r| (r.size, prefix(&r.digest), Reverse(r.name)));
        // Records whose first eight digest bytes are equal are rare; put
        // each such run in full order.
        for run in
            records.chunk_by_mut(|a, b| a.size == b.size && prefix(&a.digest) == prefix(&b.digest))
        {
            if run.len() > 1 {
                run.sort_unstable_by(|a, b| {
                    (a.digest, Reverse(a.name)).cmp(&(b.digest, Reverse(b.name)))
                });
            }
        }
        records.dedup_by(|later, kept| later.size == kept.size && later.digest == kept.digest);
        records.shrink_to_fit();
        let wild = records.partition_point(|r| r.size == ANY_SIZE);
        HashIndex {
            records: Table::Owned(records),
            wild,
        }
    }

    /// A table of `len` records at `start` in a mapped image, as
    /// [`HashIndex::write`] laid it out.
    pub(crate) fn mapped(map: Arc<Mmap>, start: usize, len: usize) -> Self {
        let records = Table::Mapped { map, start, len };
        let wild = records.partition(|size, _| size == ANY_SIZE);
        HashIndex { records, wild }
    }

    /// Write the records in image layout.
    pub(crate) fn write_to(&self, out: &mut (impl std::io::Write + ?Sized)) -> std::io::Result<()> {
        for i in 0..self.len() {
            let (size, digest, name) = self.records.get(i);
            out.write_all(&size.to_le_bytes())?;
            out.write_all(&digest)?;
            out.write_all(&name.0.to_le_bytes())?;
        }
        Ok(())
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether an object of `size` bytes could match any record.
    pub(crate) fn wants(&self, size: Option<u32>) -> bool {
        if self.wild > 0 {
            return true;
        }
        let Some(size) = size else { return false };
        let i = self.records.partition(|s, _| s < size);
        i < self.len() && self.records.get(i).0 == size
    }

    /// Push the names of every record for `(size, digest)` and for
    /// `(*, digest)`.
    pub(crate) fn lookup(&self, size: Option<u32>, digest: &[u8; N], out: &mut Vec<NameId>) {
        if let Some(size) = size {
            self.lookup_exact(size, digest, out);
        }
        if self.wild > 0 {
            self.lookup_exact(ANY_SIZE, digest, out);
        }
    }

    fn lookup_exact(&self, size: u32, digest: &[u8; N], out: &mut Vec<NameId>) {
        let key = (size, *digest);
        let i = self.records.partition(|s, d| (s, *d) < key);
        out.extend(
            (i..self.len())
                .map(|j| self.records.get(j))
                .take_while(|r| r.0 == size && r.1 == *digest)
                .map(|r| r.2),
        );
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        match &self.records {
            Table::Owned(v) => v.capacity() * std::mem::size_of::<HashRecord<N>>(),
            Table::Mapped { .. } => 0,
        }
    }
}

/// The first eight digest bytes as a big-endian number: comparing these
/// orders records as comparing the whole digests would, up to ties.
fn prefix<const N: usize>(digest: &[u8; N]) -> u64 {
    let mut p = [0u8; 8];
    p.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(p)
}

/// The three hash types of one purpose.
#[derive(Debug, Default)]
pub(crate) struct HashIndex3 {
    pub(crate) md5: HashIndex<16>,
    pub(crate) sha1: HashIndex<20>,
    pub(crate) sha256: HashIndex<32>,
}

impl HashIndex3 {
    pub(crate) fn build(set: HashSet3) -> Self {
        let (md5, (sha1, sha256)) = rayon::join(
            || HashIndex::build(set.md5),
            || {
                rayon::join(
                    || HashIndex::build(set.sha1),
                    || HashIndex::build(set.sha256),
                )
            },
        );
        HashIndex3 { md5, sha1, sha256 }
    }

    pub(crate) fn len(&self) -> usize {
        self.md5.len() + self.sha1.len() + self.sha256.len()
    }

    /// Whether any type wants an object of this size.
    pub(crate) fn wants(&self, size: Option<u32>) -> bool {
        self.md5.wants(size) || self.sha1.wants(size) || self.sha256.wants(size)
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.md5.heap_bytes() + self.sha1.heap_bytes() + self.sha256.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(d: u8, size: u32, name: u32) -> HashRecord<16> {
        HashRecord {
            digest: [d; 16],
            size,
            name: NameId(name),
        }
    }

    #[test]
    fn sized_and_wild_lookups() {
        let idx = HashIndex::build(vec![
            rec(1, 68, 0),
            rec(2, 544, 1),
            rec(1, 68, 2),
            rec(3, ANY_SIZE, 3),
        ]);
        assert!(idx.wants(Some(68)));
        assert!(idx.wants(Some(5))); // the wildcard wants every size
        let mut out = Vec::new();
        idx.lookup(Some(68), &[1; 16], &mut out);
        assert_eq!(out, vec![NameId(2)]); // the later duplicate wins
        out.clear();
        idx.lookup(Some(99), &[3; 16], &mut out);
        assert_eq!(out, vec![NameId(3)]);
        out.clear();
        idx.lookup(Some(544), &[1; 16], &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn only_named_sizes_are_wanted() {
        let idx = HashIndex::build(vec![rec(1, 68, 0), rec(2, 544, 1)]);
        assert!(idx.wants(Some(544)));
        assert!(!idx.wants(Some(545)));
        assert!(!idx.wants(None));
        assert!(!HashIndex::<16>::default().wants(Some(1)));
    }
}
