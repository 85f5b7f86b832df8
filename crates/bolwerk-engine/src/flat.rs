//! Tables an engine uses in place: in memory when it was compiled in this
//! process, or as ranges of a mapped image.
//!
//! [`Flat`] is a run of little-endian bytes either way, read with
//! bounds-checked accessors, so a forged image can make a lookup answer
//! wrongly but never read outside its section. [`Records`] are
//! variable-length records (compiled patterns, logical signatures) stored
//! as an index of offsets and a blob: a mapped image decodes each record
//! the first time a scan needs it and keeps the result for the life of
//! the engine, so opening an image costs nothing per record.

use std::io::Write;
use std::sync::{Arc, OnceLock};

use memmap2::Mmap;

/// Bytes in memory or in a mapped image.
pub(crate) enum Flat {
    Owned(Vec<u8>),
    Mapped {
        map: Arc<Mmap>,
        at: usize,
        len: usize,
    },
}

impl Flat {
    /// A range of a mapping; `None` when it does not lie within it.
    pub(crate) fn mapped(map: &Arc<Mmap>, at: usize, len: usize) -> Option<Flat> {
        let end = at.checked_add(len)?;
        (end <= map.len()).then(|| Flat::Mapped {
            map: Arc::clone(map),
            at,
            len,
        })
    }

    /// The bytes.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Flat::Owned(v) => v,
            Flat::Mapped { map, at, len } => &map[*at..*at + *len],
        }
    }

    /// Bytes held in memory (none when mapped).
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Flat::Owned(v) => v.capacity(),
            Flat::Mapped { .. } => 0,
        }
    }
}

/// The `i`th little-endian `u32` of `b`.
#[inline]
pub(crate) fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    let at = i.checked_mul(4)?;
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}

/// The little-endian `u64` at byte `at` of `b`.
#[inline]
pub(crate) fn u64_from(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}

/// `words` as little-endian bytes.
pub(crate) fn le_u64s(words: &[u64]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// `words` as little-endian bytes.
pub(crate) fn le_u32s(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// How a mapped record is decoded: its bytes and its index, to the record
/// or `None` when the bytes are not one (a forged image).
pub(crate) type Decode<T> = fn(&[u8], u32) -> Option<T>;

/// Records: built in memory, or stored in an image and decoded on first
/// use.
pub(crate) enum Records<T> {
    Built(Vec<T>),
    Mapped {
        /// `len + 1` offsets (u64) into `blob`.
        index: Flat,
        blob: Flat,
        cells: Box<[OnceLock<Option<Box<T>>>]>,
        decode: Decode<T>,
    },
}

impl<T> Records<T> {
    /// Records stored as `index` and `blob` (see [`Records::write`]);
    /// `None` when the index is not one.
    pub(crate) fn mapped(index: Flat, blob: Flat, decode: Decode<T>) -> Option<Records<T>> {
        let len = index.bytes().len();
        if !len.is_multiple_of(8) || len == 0 {
            return None;
        }
        let cells = (0..len / 8 - 1).map(|_| OnceLock::new()).collect();
        Some(Records::Mapped {
            index,
            blob,
            cells,
            decode,
        })
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Records::Built(v) => v.len(),
            Records::Mapped { cells, .. } => cells.len(),
        }
    }

    /// Record `i`; `None` past the end or when its stored bytes do not
    /// decode.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&T> {
        match self {
            Records::Built(v) => v.get(i),
            Records::Mapped {
                index,
                blob,
                cells,
                decode,
            } => cells
                .get(i)?
                .get_or_init(|| {
                    let (idx, blob) = (index.bytes(), blob.bytes());
                    let a = usize::try_from(u64_from(idx, i * 8)?).ok()?;
                    let b = usize::try_from(u64_from(idx, i * 8 + 8)?).ok()?;
                    let bytes = blob.get(a..b)?;
                    decode(bytes, i as u32).map(Box::new)
                })
                .as_deref(),
        }
    }

    /// Bytes held in memory for the records' index (decoded records not
    /// counted).
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Records::Built(v) => v.capacity() * std::mem::size_of::<T>(),
            Records::Mapped { cells, .. } => {
                cells.len() * std::mem::size_of::<OnceLock<Option<Box<T>>>>()
            }
        }
    }
}

/// Encoded records as the two sections [`Records::mapped`] reads: the
/// index (`n + 1` little-endian u64 offsets) and the blob.
pub(crate) fn encode_records(records: impl Iterator<Item = Vec<u8>>) -> (Vec<u8>, Vec<u8>) {
    let mut index = Vec::new();
    let mut blob = Vec::new();
    for r in records {
        index.extend_from_slice(&(blob.len() as u64).to_le_bytes());
        blob.extend_from_slice(&r);
    }
    index.extend_from_slice(&(blob.len() as u64).to_le_bytes());
    (index, blob)
}

/// Write `parts` one after another, each padded to a multiple of 8 bytes.
pub(crate) fn write_padded(w: &mut dyn Write, parts: &[&[u8]]) -> std::io::Result<()> {
    for p in parts {
        w.write_all(p)?;
        let pad = p.len().next_multiple_of(8) - p.len();
        w.write_all(&[0u8; 8][..pad])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_decode_on_first_use_and_refuse_bad_bytes() {
        let (index, blob) =
            encode_records([b"ab".to_vec(), Vec::new(), b"xyz".to_vec()].into_iter());
        let decode: Decode<String> =
            |b, i| (b != b"xyz").then(|| format!("{i}:{}", String::from_utf8_lossy(b)));
        let r = Records::mapped(Flat::Owned(index), Flat::Owned(blob), decode).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r.get(0).map(String::as_str), Some("0:ab"));
        assert_eq!(r.get(1).map(String::as_str), Some("1:"));
        assert_eq!(r.get(2), None, "bytes that do not decode");
        assert_eq!(r.get(3), None, "past the end");
        // An index pointing past its blob, or backwards.
        let bad = le_u64s(&[0, 100, 1, 0]);
        let r = Records::mapped(Flat::Owned(bad), Flat::Owned(b"abc".to_vec()), decode).unwrap();
        assert_eq!(
            (r.len(), r.get(0), r.get(1), r.get(2)),
            (3, None, None, None)
        );
        assert!(Records::mapped(Flat::Owned(vec![0; 7]), Flat::Owned(vec![]), decode).is_none());
    }

    #[test]
    fn accessors_stay_in_bounds() {
        let b = le_u32s(&[7, 9]);
        assert_eq!((u32_at(&b, 1), u32_at(&b, 2)), (Some(9), None));
        assert_eq!(u32_at(&b, usize::MAX), None);
        assert_eq!(u64_from(&b, 0), Some(9 << 32 | 7));
        assert_eq!(u64_from(&b, 1), None);
    }
}
