//! The prefilter: where in a buffer an atom (two to four exact bytes) of
//! some pattern occurs.
//!
//! Every position is tested against fixed-size tables, so the cost per
//! byte does not grow with the number of atoms:
//!
//! * a bitmap of 2^16 bits (8 KiB, in L1 cache) indexed by the two bytes
//!   at the position, for two-byte atoms;
//! * for three- and for four-byte atoms, a bitmap indexed by a
//!   multiplicative hash of the three (four) bytes at the position, of
//!   about 32 bits an atom (a hit rate near 3% whatever the bytes: common
//!   prefixes such as `00 00 00` do not pass more often than rare ones),
//!   at most 2^24 bits (2 MiB, in a core's L2 cache). Atoms are chosen
//!   four bytes long where the pattern allows, so the three-byte bitmap is
//!   small and stays in L1 too.
//!
//! Only where a bit is set is the window looked up exactly, in an
//! open-addressed hash table of the atoms keyed by (length, value) at most
//! half full (one probe, rarely two); a hit hands the position and the ids
//! of the atom's owners to the caller. Positions are visited in
//! order, and at one position the four-byte atoms come first, then the
//! three- and two-byte ones.

/// The most bits a hashed bitmap has.
const MAX_GATE_BITS: u32 = 24;
/// The fewest.
const MIN_GATE_BITS: u32 = 10;
/// Bits per atom a hashed bitmap aims for.
const BITS_PER_ATOM: usize = 32;

/// The bit of a three- or four-byte window in a bitmap of 2^`bits`.
#[inline]
fn hash(value: u32, bits: u32) -> usize {
    (u64::from(value).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as usize
}

/// How many bits a hashed bitmap for `n` atoms has.
fn gate_bits(n: usize) -> u32 {
    (n * BITS_PER_ATOM)
        .next_power_of_two()
        .trailing_zeros()
        .clamp(MIN_GATE_BITS, MAX_GATE_BITS)
}

/// The bit of a target type in a slot's mask (types above 30 share one).
#[inline]
fn target_bit(t: u8) -> u32 {
    1 << t.min(31)
}

/// The home slot of a key in a table of 2^`bits` slots.
#[inline]
fn slot_of(k: u64, bits: u32) -> usize {
    (k.wrapping_mul(0xff51_afd7_ed55_8ccd) >> (64 - bits)) as usize
}

#[inline]
fn test(bits: &[u64], i: usize) -> bool {
    bits[i >> 6] & (1 << (i & 63)) != 0
}

#[inline]
fn set(bits: &mut [u64], i: usize) {
    bits[i >> 6] |= 1 << (i & 63);
}

/// The key of an atom in the exact table: its length and its bytes.
#[inline]
fn key(len: usize, value: u32) -> u64 {
    (len as u64) << 32 | u64::from(value)
}

/// The little-endian value of up to four bytes.
fn value_of(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .rev()
        .fold(0u32, |v, &b| (v << 8) | u32::from(b))
}

/// Atoms and their owners, ready to scan with.
pub(crate) struct Prefilter {
    /// Two-byte atoms, by value.
    two: Vec<u64>,
    /// Hashed three-byte and four-byte atoms, and the bits of each.
    three: Vec<u64>,
    three_bits: u32,
    four: Vec<u64>,
    four_bits: u32,
    /// Which lengths (index 2, 3, 4) have atoms.
    lengths: [bool; 5],
    /// Atom keys, sorted; `starts[i]..starts[i + 1]` indexes `owners`.
    keys: Vec<u64>,
    starts: Vec<u32>,
    owners: Vec<u32>,
    /// The hash table: a key (0 for an empty slot), its index in `keys`
    /// and the target types its owners need (see [`target_bit`]).
    slots: Vec<(u64, u32, u32)>,
    slot_bits: u32,
}

impl std::fmt::Debug for Prefilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Prefilter({} atoms)", self.len())
    }
}

impl Prefilter {
    /// Build from `(atom, owner, target type)`; atoms are two to four
    /// bytes.
    pub(crate) fn build(mut atoms: Vec<(Vec<u8>, u32, u8)>) -> Prefilter {
        atoms.retain(|(a, _, _)| (2..=4).contains(&a.len()));
        let mut keyed: Vec<(u64, u32, u8)> = atoms
            .iter()
            .map(|(a, o, t)| (key(a.len(), value_of(a)), *o, *t))
            .collect();
        keyed.sort_unstable();
        keyed.dedup();
        let count = |len: u64| {
            let mut n = 0;
            let mut last = None;
            for k in keyed.iter().filter(|k| k.0 >> 32 == len) {
                n += usize::from(last != Some(k.0));
                last = Some(k.0);
            }
            n
        };
        let mut p = Prefilter {
            two: vec![0; (1 << 16) / 64],
            three: Vec::new(),
            three_bits: gate_bits(count(3)),
            four: Vec::new(),
            four_bits: gate_bits(count(4)),
            lengths: [false; 5],
            keys: Vec::new(),
            starts: Vec::new(),
            owners: Vec::with_capacity(keyed.len()),
            slots: Vec::new(),
            slot_bits: 0,
        };
        p.three = vec![0; (1usize << p.three_bits) / 64];
        p.four = vec![0; (1usize << p.four_bits) / 64];
        let mut targets: Vec<u32> = Vec::new();
        for (k, owner, target) in keyed {
            if p.keys.last() != Some(&k) {
                targets.push(0);
                p.keys.push(k);
                p.starts.push(p.owners.len() as u32);
                let (len, value) = ((k >> 32) as usize, k as u32);
                p.lengths[len] = true;
                if len == 2 {
                    set(&mut p.two, value as usize);
                } else if len == 3 {
                    set(&mut p.three, hash(value, p.three_bits));
                } else {
                    set(&mut p.four, hash(value, p.four_bits));
                }
            }
            p.owners.push(owner);
            *targets.last_mut().expect("pushed") |= target_bit(target);
        }
        p.starts.push(p.owners.len() as u32);
        p.slot_bits = (p.keys.len() * 2)
            .next_power_of_two()
            .trailing_zeros()
            .max(4);
        p.slots = vec![(0, 0, 0); 1 << p.slot_bits];
        let mask = p.slots.len() - 1;
        for (i, &k) in p.keys.iter().enumerate() {
            let mut h = slot_of(k, p.slot_bits);
            while p.slots[h].0 != 0 {
                h = (h + 1) & mask;
            }
            p.slots[h] = (k, i as u32, targets[i]);
        }
        p
    }

    /// Atoms held.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Bytes of the tables.
    pub(crate) fn heap_bytes(&self) -> usize {
        (self.two.len() + self.three.len() + self.four.len() + self.keys.len()) * 8
            + (self.starts.len() + self.owners.len()) * 4
            + self.slots.len() * 16
    }

    /// The owners of the atom of `len` bytes with `value`, if some of them
    /// apply to the target types in `want`.
    #[inline]
    fn owners_of(&self, len: usize, value: u32, want: u32) -> Option<&[u32]> {
        let k = key(len, value);
        let mask = self.slots.len() - 1;
        let mut h = slot_of(k, self.slot_bits);
        loop {
            let (sk, i, targets) = self.slots[h];
            if sk == k {
                if targets & want == 0 {
                    return None;
                }
                let i = i as usize;
                let (a, b) = (self.starts[i] as usize, self.starts[i + 1] as usize);
                return Some(&self.owners[a..b]);
            }
            if sk == 0 {
                return None;
            }
            h = (h + 1) & mask;
        }
    }

    /// Call `hit(position, owners)` for every occurrence in `data` of an
    /// atom with owners for target type `target` (or any type), in order of
    /// position, until it returns `true`; returns whether it did.
    pub(crate) fn scan(
        &self,
        data: &[u8],
        target: u8,
        mut hit: impl FnMut(usize, &[u32]) -> bool,
    ) -> bool {
        let want = target_bit(0) | target_bit(target);
        let [_, _, has2, has3, has4] = self.lengths;
        let n = data.len();
        let mut i = 0;
        while i + 4 <= n {
            let w = u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
            if has4 && test(&self.four, hash(w, self.four_bits)) {
                if let Some(o) = self.owners_of(4, w, want) {
                    if hit(i, o) {
                        return true;
                    }
                }
            }
            let w3 = w & 0x00ff_ffff;
            if has3 && test(&self.three, hash(w3, self.three_bits)) {
                if let Some(o) = self.owners_of(3, w3, want) {
                    if hit(i, o) {
                        return true;
                    }
                }
            }
            if has2 && test(&self.two, (w & 0xffff) as usize) {
                if let Some(o) = self.owners_of(2, w & 0xffff, want) {
                    if hit(i, o) {
                        return true;
                    }
                }
            }
            i += 1;
        }
        // The last three positions: only shorter windows fit.
        while i < n {
            for len in [3, 2] {
                if self.lengths[len] && i + len <= n {
                    let v = value_of(&data[i..i + len]);
                    if let Some(o) = self.owners_of(len, v, want) {
                        if hit(i, o) {
                            return true;
                        }
                    }
                }
            }
            i += 1;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(p: &Prefilter, data: &[u8]) -> Vec<(usize, Vec<u32>)> {
        let mut out = Vec::new();
        p.scan(data, 0, |at, o| {
            out.push((at, o.to_vec()));
            false
        });
        out
    }

    #[test]
    fn every_occurrence_of_every_length_in_order() {
        let p = Prefilter::build(vec![
            (b"abcd".to_vec(), 0, 0),
            (b"bcd".to_vec(), 1, 0),
            (b"cd".to_vec(), 2, 0),
            (b"cd".to_vec(), 3, 0),
            (b"x".to_vec(), 9, 0),
            (b"abcde".to_vec(), 9, 0),
            (b"pe".to_vec(), 10, 1),
        ]);
        assert_eq!(p.len(), 4, "atoms of one or five bytes are not kept");
        assert!(
            hits(&p, b"pe").is_empty(),
            "an atom of PE signatures, in data of no type"
        );
        let mut pe = Vec::new();
        p.scan(b"pe", 1, |at, o| {
            pe.push((at, o.to_vec()));
            false
        });
        assert_eq!(pe, [(0, vec![10])]);
        let got = hits(&p, b"abcdabcd");
        assert_eq!(
            got,
            [
                (0, vec![0]),
                (1, vec![1]),
                (2, vec![2, 3]),
                (4, vec![0]),
                (5, vec![1]),
                (6, vec![2, 3]),
            ]
        );
        assert_eq!(
            hits(&p, b"cd"),
            [(0, vec![2, 3])],
            "a buffer shorter than four"
        );
        assert!(hits(&p, b"").is_empty());
    }

    #[test]
    fn stops_when_asked() {
        let p = Prefilter::build(vec![(b"aa".to_vec(), 0, 0)]);
        let mut n = 0;
        assert!(p.scan(b"aaaaaa", 0, |_, _| {
            n += 1;
            n == 2
        }));
        assert_eq!(n, 2);
    }

    /// Many atoms: every one is found where it was put, and nothing else.
    #[test]
    fn large_sets_find_exactly_their_atoms() {
        let mut atoms = Vec::new();
        let mut x = 0x1234_5678u32;
        let mut data = Vec::new();
        for i in 0..50_000u32 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let len = 2 + (i % 3) as usize;
            let a = x.to_le_bytes()[..len].to_vec();
            if i % 100 == 0 {
                data.extend_from_slice(&[0xee; 8]);
                data.extend_from_slice(&a);
            }
            atoms.push((a, i, 0));
        }
        let p = Prefilter::build(atoms.clone());
        let found = hits(&p, &data);
        for (at, owners) in &found {
            for &o in owners {
                let a = &atoms[o as usize].0;
                assert_eq!(&data[*at..*at + a.len()], &a[..]);
            }
        }
        for i in (0..50_000).step_by(100) {
            assert!(found.iter().any(|(_, o)| o.contains(&i)), "atom {i}");
        }
    }
}
