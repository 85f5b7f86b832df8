//! The clean-result cache: objects already found clean by the same engine
//! are not scanned again, as clamd's cache skips them.
//!
//! A cache belongs to one engine (with its rules and indicators): the
//! daemon makes a new one with every database generation, so a reload
//! drops it. An entry is the SHA-256 of the object's bytes — and, when the
//! settings hold rules or indicators that see an object's name, of its
//! name too, since then the same bytes under another name may be found.
//! Only verdicts that are clean in full are kept: an object whose scan was
//! cut short, skipped over a limit or reported anything is scanned again
//! every time.
//!
//! Memory is bounded by two generations of at most `capacity / 2` digests
//! each: inserts go to the current one; when it is full, it becomes the
//! previous one and the old previous one is dropped. A hit in the previous
//! generation moves the digest to the current one, so what is scanned
//! often stays (an approximation of least-recently-used eviction with
//! constant cost per operation).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// Digests kept by default (clamd keeps 65,536 by default too); about
/// 5 MiB.
pub const DEFAULT_CAPACITY: usize = 1 << 16;

/// A bounded set of digests of objects found clean. Shared by every
/// scanning thread of one engine.
#[derive(Debug)]
pub struct CleanCache {
    half: usize,
    gens: Mutex<Generations>,
}

#[derive(Debug, Default)]
struct Generations {
    current: HashSet<[u8; 32]>,
    previous: HashSet<[u8; 32]>,
}

/// What an object is known by in the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheKey([u8; 32]);

impl CleanCache {
    /// A cache of at most `capacity` digests (at least 2).
    pub fn new(capacity: usize) -> CleanCache {
        CleanCache {
            half: (capacity / 2).max(1),
            gens: Mutex::new(Generations::default()),
        }
    }

    /// The key of `data`, found under `name` (which counts only when
    /// `with_name`).
    pub fn key(data: &[u8], name: Option<&Path>) -> CacheKey {
        let mut h = Sha256::new();
        h.update((data.len() as u64).to_le_bytes());
        h.update(data);
        if let Some(n) = name {
            h.update(n.as_os_str().as_encoded_bytes());
        }
        CacheKey(h.finalize().into())
    }

    /// Whether `key` was found clean.
    pub fn contains(&self, key: &CacheKey) -> bool {
        let mut g = self.lock();
        if g.current.contains(&key.0) {
            return true;
        }
        if g.previous.remove(&key.0) {
            g.insert(key.0, self.half);
            return true;
        }
        false
    }

    /// Remember `key` as clean.
    pub fn insert(&self, key: CacheKey) {
        self.lock().insert(key.0, self.half);
    }

    /// Digests held.
    pub fn len(&self) -> usize {
        let g = self.lock();
        g.current.len() + g.previous.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        self.gens.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Generations {
    fn insert(&mut self, digest: [u8; 32], half: usize) {
        if self.current.len() >= half && !self.current.contains(&digest) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(digest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> CacheKey {
        CleanCache::key(&i.to_le_bytes(), None)
    }

    #[test]
    fn bounded_and_keeps_what_is_used() {
        let c = CleanCache::new(8);
        for i in 0..100 {
            c.insert(key(i));
            // Key 0 is looked up all the time: it stays.
            assert!(c.contains(&key(0)), "after {i}");
            assert!(c.len() <= 8, "{} held", c.len());
        }
        assert!(!c.contains(&key(1)), "an old key is dropped");
        assert!(c.contains(&key(99)));
    }

    #[test]
    fn keys_differ_by_content_length_and_name() {
        let a = CleanCache::key(b"ab", None);
        assert_eq!(a, CleanCache::key(b"ab", None));
        assert_ne!(a, CleanCache::key(b"ab\0", None));
        assert_ne!(a, CleanCache::key(b"ab", Some(Path::new("x"))));
        assert_ne!(
            CleanCache::key(b"ab", Some(Path::new("x"))),
            CleanCache::key(b"ab", Some(Path::new("y")))
        );
    }
}
