//! A compact store for signature names.
//!
//! Official databases hold about seven million signatures, and a `String`
//! per name would cost more than the signatures themselves. Names are
//! highly regular — `Win.Trojan.Agent-1234567-0`, `Doc.Dropper.Agent-6123-0`
//! — so each is stored as
//!
//! * the id of its *stem* (everything before the trailing run of digits and
//!   dashes: `Win.Trojan.Agent`), kept once in a dictionary, as a varint;
//! * the trailing run (`-1234567-0`), two characters a byte (digits and `-`
//!   fit a nibble).
//!
//! About 7 bytes a name instead of 30. The store is built in segments — one
//! per parsed chunk of a database — and segments are moved, never copied,
//! when sets are merged; a [`NameId`] is a global index found by binary
//! search over the segments' first ids.

use rustc_hash::FxHashMap;

/// The index of a name in a [`Names`] store.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct NameId(pub u32);

/// Names in compact form; see the module documentation.
#[derive(Clone, Debug, Default)]
pub struct Names {
    segments: Vec<Segment>,
    /// The first global id of each segment.
    starts: Vec<u32>,
    len: u32,
}

#[derive(Clone, Debug, Default)]
struct Segment {
    stems: Vec<Box<str>>,
    /// Stems are short and trusted to hash evenly enough; Fx hashing is a
    /// tenth of the cost of SipHash on the load path.
    stem_ids: FxHashMap<Box<str>, u32>,
    data: Vec<u8>,
    ends: Vec<u32>,
}

/// Nibble code for `-`; digits are their own value; 0xf pads.
const DASH: u8 = 10;
const PAD: u8 = 0xf;

impl Names {
    /// An empty store.
    pub fn new() -> Names {
        Names::default()
    }

    /// Store a name and return its id, or `None` when the store would pass
    /// 2^32 names or a segment 4 GiB.
    pub fn push(&mut self, name: &str) -> Option<NameId> {
        let id = self.len;
        self.len = id.checked_add(1)?;
        if self.segments.is_empty() {
            self.segments.push(Segment::default());
            self.starts.push(0);
        }
        let seg = self.segments.last_mut().expect("one segment");
        seg.push(name)?;
        Some(NameId(id))
    }

    /// The name behind an id.
    ///
    /// # Panics
    /// When the id did not come from this store.
    pub fn get(&self, id: NameId) -> String {
        let s = self.starts.partition_point(|&st| st <= id.0) - 1;
        self.segments[s].get((id.0 - self.starts[s]) as usize)
    }

    /// How many names are stored.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether no name is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Move every name of `other` to the end of this store (no copying) and
    /// return the amount by which `other`'s ids must be shifted, or `None`
    /// when the total would pass 2^32 names.
    pub fn append(&mut self, other: Names) -> Option<u32> {
        let shift = self.len;
        self.len = self.len.checked_add(other.len)?;
        for (seg, start) in other.segments.into_iter().zip(other.starts) {
            if !seg.ends.is_empty() {
                self.starts.push(start + shift);
                self.segments.push(seg);
            }
        }
        Some(shift)
    }

    /// Bytes of memory held (approximately).
    pub fn heap_bytes(&self) -> usize {
        self.segments
            .iter()
            .map(|s| {
                s.data.capacity()
                    + s.ends.capacity() * 4
                    + s.stems.iter().map(|t| t.len() * 2 + 48).sum::<usize>()
            })
            .sum()
    }
}

impl Segment {
    fn push(&mut self, name: &str) -> Option<()> {
        let (stem, tail) = split_tail(name);
        let sid = match self.stem_ids.get(stem) {
            Some(&sid) => sid,
            None => {
                let sid = u32::try_from(self.stems.len()).ok()?;
                self.stem_ids.insert(stem.into(), sid);
                self.stems.push(stem.into());
                sid
            }
        };
        put_varint(&mut self.data, sid);
        pack_tail(&mut self.data, tail);
        self.ends.push(u32::try_from(self.data.len()).ok()?);
        Some(())
    }

    fn get(&self, i: usize) -> String {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let bytes = &self.data[start..self.ends[i] as usize];
        let (sid, used) = get_varint(bytes);
        let mut out = self.stems[sid as usize].to_string();
        unpack_tail(&bytes[used..], &mut out);
        out
    }
}

/// Split `name` before its trailing run of ASCII digits and dashes.
fn split_tail(name: &str) -> (&str, &str) {
    let keep = name
        .bytes()
        .rev()
        .take_while(|b| b.is_ascii_digit() || *b == b'-')
        .count();
    name.split_at(name.len() - keep)
}

fn pack_tail(out: &mut Vec<u8>, tail: &str) {
    let code = |b: u8| if b == b'-' { DASH } else { b - b'0' };
    for pair in tail.as_bytes().chunks(2) {
        let hi = code(pair[0]);
        let lo = pair.get(1).map_or(PAD, |&b| code(b));
        out.push(hi << 4 | lo);
    }
}

fn unpack_tail(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        for nib in [b >> 4, b & 0xf] {
            match nib {
                DASH => out.push('-'),
                0..=9 => out.push((b'0' + nib) as char),
                _ => {}
            }
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &[u8]) -> (u32, usize) {
    let mut v = 0u32;
    for (i, &b) in bytes.iter().enumerate().take(5) {
        v |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (v, i + 1);
        }
    }
    (v, bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLES: &[&str] = &[
        "Win.Trojan.Agent-1234567-0",
        "Eicar-Test-Signature",
        "Clamav.Test.File-6",
        "",
        "123-456",
        "-",
        "Ünïcødé.Name-77",
        "Name.With.Colon-Less.9x",
    ];

    #[test]
    fn round_trip() {
        let mut n = Names::new();
        let ids: Vec<NameId> = SAMPLES.iter().map(|s| n.push(s).unwrap()).collect();
        for (id, s) in ids.iter().zip(SAMPLES) {
            assert_eq!(n.get(*id), *s);
        }
        // Many stems, long varints.
        let mut m = Names::new();
        for i in 0..1000 {
            m.push(&format!("Fam{i}.X-{i}-0")).unwrap();
        }
        assert_eq!(m.get(NameId(999)), "Fam999.X-999-0");
    }

    #[test]
    fn append_moves_segments() {
        let mut a = Names::new();
        let x = a.push("Eicar-Test-Signature").unwrap();
        let mut b = Names::new();
        let y = b.push("Clamav.Test.File-6").unwrap();
        b.push("Win.Trojan.Agent-1-0").unwrap();
        let shift = a.append(b).unwrap();
        let mut c = Names::new();
        c.push("Last-1").unwrap();
        let shift_c = a.append(c).unwrap();
        assert_eq!(a.get(x), "Eicar-Test-Signature");
        assert_eq!(a.get(NameId(y.0 + shift)), "Clamav.Test.File-6");
        assert_eq!(a.get(NameId(2)), "Win.Trojan.Agent-1-0");
        assert_eq!(a.get(NameId(shift_c)), "Last-1");
        assert_eq!(a.len(), 4);
        assert!(a.append(Names::new()).is_some());
        assert_eq!(a.len(), 4);
    }

    #[test]
    fn compact() {
        let mut n = Names::new();
        for i in 0..10_000 {
            n.push(&format!("Win.Trojan.Agent-{}-0", 1_000_000 + i))
                .unwrap();
        }
        assert!(n.heap_bytes() < 10_000 * 14, "{}", n.heap_bytes());
    }
}
