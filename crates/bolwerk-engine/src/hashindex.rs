//! Sorted hash tables.
//!
//! Each table is one vector sorted by `(size, digest)`, one record per key: 24 to 40 bytes a
//! signature, no per-entry allocation, binary search to look up. Records of
//! any size (`*`, stored as size 0) sort first, so one vector serves both.
//! The question "does any signature name a file of this size?" is a binary
//! search too, and it is asked before a file is hashed at all.

use bolwerk_sigs::{HashRecord, HashSet3, NameId, ANY_SIZE};
use std::cmp::Reverse;

use rayon::slice::ParallelSliceMut;

/// One hash type's signatures, sorted.
#[derive(Debug, Default)]
pub(crate) struct HashIndex<const N: usize> {
    records: Vec<HashRecord<N>>,
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
        HashIndex { records, wild }
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
        let i = self.records.partition_point(|r| r.size < size);
        self.records.get(i).is_some_and(|r| r.size == size)
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
        let i = self.records.partition_point(|r| (r.size, r.digest) < key);
        out.extend(
            self.records[i..]
                .iter()
                .take_while(|r| r.size == size && r.digest == *digest)
                .map(|r| r.name),
        );
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.records.capacity() * std::mem::size_of::<HashRecord<N>>()
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
