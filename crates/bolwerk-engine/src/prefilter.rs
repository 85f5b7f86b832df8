//! The prefilter: where in a buffer an atom (two to four exact bytes) of
//! some pattern occurs.
//!
//! Every position is tested against fixed-size tables, so the cost per
//! byte does not grow with the number of atoms:
//!
//! * a bitmap of 2^16 bits (8 KiB, in L1 cache) indexed by the two bytes
//!   at the position, for two-byte atoms;
//! * a bitmap indexed by a multiplicative hash of the four bytes at the
//!   position, of about 32 bits an atom (a hit rate near 3% whatever the
//!   bytes: common prefixes such as `00 00 00` do not pass more often than
//!   rare ones), at most 2^24 bits (2 MiB, in a core's L2 cache). A
//!   three-byte atom is entered in it with each of the 256 bytes that can
//!   follow it: atoms are chosen four bytes long where the pattern allows,
//!   so there are few (about a hundred in the official signatures), and a
//!   position costs one hashed test rather than two.
//!
//! Only where a bit is set is the window looked up exactly, in an
//! open-addressed hash table of the atoms keyed by (length, value) at most
//! half full (one probe, rarely two); a hit hands the position and the ids
//! of the atom's owners to the caller. Positions are visited in
//! order, and at one position the four-byte atoms come first, then the
//! three- and two-byte ones.

use std::sync::Arc;

use memmap2::Mmap;

use crate::flat::{le_u32s, le_u64s, u32_at, u64_from, write_padded, Flat};
use crate::pages::CHUNK;

/// The most bits a hashed bitmap has.
const MAX_GATE_BITS: u32 = 24;
/// The fewest.
const MIN_GATE_BITS: u32 = 10;
/// Bits per atom a hashed bitmap aims for.
const BITS_PER_ATOM: usize = 32;

/// The bit of a four-byte window in a bitmap of 2^`bits`.
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
fn test(bits: &[u8], i: usize) -> bool {
    bits[i >> 3] & (1 << (i & 7)) != 0
}

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

/// Bytes of one slot of the exact table: key (u64), index in the atom
/// list (u32), target mask (u32).
const SLOT: usize = 16;
/// Bytes of the two-byte bitmap.
const TWO_BYTES: usize = (1 << 16) / 8;
/// Tables of a stored prefilter (see [`Prefilter::tables`]).
const TABLES: usize = 7;
/// Words of a stored prefilter's header (see [`Prefilter::write_to`]).
const HEADER_WORDS: usize = 5 + TABLES;

/// Atoms and their owners, ready to scan with. The tables are flat
/// little-endian bytes (bitmaps as bytes: bit `i` is bit `i % 8` of byte
/// `i / 8`), so an image's are used where they are mapped.
pub(crate) struct Prefilter {
    /// The gates, one for PE objects and one for every other type.
    gates: [Gate; GATES],
    /// The bits of the hashed four-byte bitmaps.
    four_bits: u32,
    /// Atoms held.
    atoms: usize,
    /// Per atom (in key order) where its owners start in `owners`, plus
    /// the end (u32 each).
    starts: Flat,
    owners: Flat,
    /// The hash table: per slot a key (0 for an empty slot), its index in
    /// `starts` and the target types its owners need (see
    /// [`target_bit`]).
    slots: Flat,
    slot_bits: u32,
}

/// Gates: the bitmaps a position is tested against before the exact
/// table. There are two sets, because most official signatures are for PE
/// files and many of their atoms fill other files (`00000000` in an ELF
/// library): [`PE`] holds the atoms whose owners apply to PE objects (or
/// to any type), [`OTHER`] those whose owners apply to some other type (or
/// to any), so an ELF file or a text is never probed for an atom only PE
/// signatures own.
const GATES: usize = 2;
/// The gate for PE objects (target type 1).
const PE: usize = 0;
/// The gate for objects of every other type.
const OTHER: usize = 1;

/// The gate used for objects of target type `target`.
fn gate_of(target: u8) -> usize {
    match target {
        1 => PE,
        _ => OTHER,
    }
}

/// Whether an atom whose owners need the types in `mask` (see
/// [`target_bit`]) belongs in gate `g`.
fn in_gate(g: usize, mask: u32) -> bool {
    let any = target_bit(0);
    let pe = target_bit(1);
    match g {
        PE => mask & (any | pe) != 0,
        _ => mask & !pe != 0,
    }
}

/// One gate: two-byte atoms by value, hashed four-byte windows (of
/// four-byte atoms, and of three-byte atoms with every next byte), and
/// which lengths (index 2, 3, 4) it has.
struct Gate {
    two: Flat,
    four: Flat,
    lengths: [bool; 5],
}

/// The owners of one atom: pattern ids.
#[derive(Clone, Copy)]
pub(crate) struct Owners<'a>(&'a [u8]);

impl<'a> Owners<'a> {
    /// The ids.
    pub(crate) fn iter(self) -> impl Iterator<Item = u32> + 'a {
        self.0
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
    }
}

/// The tables one scan reads, borrowed once.
struct View<'a> {
    starts: &'a [u8],
    owners: &'a [u8],
    slots: &'a [u8],
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
        let four_bits = gate_bits(count(4) + 256 * count(3));
        let (mut keys, mut starts, mut targets) = (Vec::new(), Vec::new(), Vec::new());
        let mut owners: Vec<u32> = Vec::with_capacity(keyed.len());
        for (k, owner, target) in keyed {
            if keys.last() != Some(&k) {
                targets.push(0u32);
                keys.push(k);
                starts.push(owners.len() as u32);
            }
            owners.push(owner);
            *targets.last_mut().expect("pushed") |= target_bit(target);
        }
        starts.push(owners.len() as u32);
        let gates = std::array::from_fn(|g| {
            let mut two = vec![0u64; (1 << 16) / 64];
            let mut four = vec![0u64; (1usize << four_bits) / 64];
            let mut lengths = [false; 5];
            for (&k, _) in keys.iter().zip(&targets).filter(|(_, &t)| in_gate(g, t)) {
                let (len, value) = ((k >> 32) as usize, k as u32);
                lengths[len] = true;
                match len {
                    2 => set(&mut two, value as usize),
                    3 => {
                        for next in 0..=255u32 {
                            set(&mut four, hash(value | next << 24, four_bits));
                        }
                    }
                    _ => set(&mut four, hash(value, four_bits)),
                }
            }
            Gate {
                two: Flat::Owned(le_u64s(&two)),
                four: Flat::Owned(le_u64s(&four)),
                lengths,
            }
        });
        let slot_bits = (keys.len() * 2).next_power_of_two().trailing_zeros().max(4);
        let mut slots = vec![0u8; SLOT << slot_bits];
        let mask = (1usize << slot_bits) - 1;
        for (i, &k) in keys.iter().enumerate() {
            let mut h = slot_of(k, slot_bits);
            while slots[h * SLOT..h * SLOT + 8] != [0; 8] {
                h = (h + 1) & mask;
            }
            let slot = &mut slots[h * SLOT..(h + 1) * SLOT];
            slot[..8].copy_from_slice(&k.to_le_bytes());
            slot[8..12].copy_from_slice(&(i as u32).to_le_bytes());
            slot[12..].copy_from_slice(&targets[i].to_le_bytes());
        }
        Prefilter {
            gates,
            four_bits,
            atoms: keys.len(),
            starts: Flat::Owned(le_u32s(&starts)),
            owners: Flat::Owned(le_u32s(&owners)),
            slots: Flat::Owned(slots),
            slot_bits,
        }
    }

    /// Write the prefilter as one image section: a header of
    /// [`HEADER_WORDS`] little-endian u64 (the bits of the four-byte
    /// bitmaps and of the slot table, the lengths each gate has as a bit
    /// mask, the number of atoms, and the byte length of each of the
    /// [`TABLES`] tables), then the tables in [`Prefilter::tables`] order,
    /// each padded to a multiple of 8 bytes.
    pub(crate) fn write_to(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mask = |g: &Gate| (0..5).fold(0u64, |m, l| m | (u64::from(g.lengths[l]) << l));
        let tables = self.tables();
        let mut header = vec![
            u64::from(self.four_bits),
            u64::from(self.slot_bits),
            mask(&self.gates[PE]),
            mask(&self.gates[OTHER]),
            self.atoms as u64,
        ];
        header.extend(tables.iter().map(|t| t.bytes().len() as u64));
        let mut parts = vec![le_u64s(&header)];
        parts.extend(tables.iter().map(|t| t.bytes().to_vec()));
        let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        write_padded(w, &parts)
    }

    /// The prefilter stored at `at..at + len` of `map` by
    /// [`Prefilter::write_to`], used in place. Every size is checked
    /// against the others, so lookups stay within the tables; a forged
    /// table can only make atoms be found where they are not (which
    /// verification then rejects) or missed.
    pub(crate) fn mapped(map: &Arc<Mmap>, at: usize, len: usize) -> Result<Prefilter, String> {
        let section = map
            .get(at..at.saturating_add(len))
            .ok_or("prefilter past the end")?;
        let word = |i: usize| u64_from(section, i * 8).ok_or("prefilter header cut short");
        let bits = |i: usize, lo: u32, hi: u32| -> Result<u32, String> {
            let b = word(i)?;
            u32::try_from(b)
                .ok()
                .filter(|b| (lo..=hi).contains(b))
                .ok_or_else(|| format!("prefilter table of 2^{b} bits"))
        };
        let four_bits = bits(0, MIN_GATE_BITS, MAX_GATE_BITS)?;
        let slot_bits = bits(1, 4, 32)?;
        let masks = [word(2)?, word(3)?];
        let atoms = usize::try_from(word(4)?).map_err(|_| "prefilter atom count")?;
        let mut lens = Vec::with_capacity(TABLES);
        for i in HEADER_WORDS - TABLES..HEADER_WORDS {
            lens.push(usize::try_from(word(i)?).map_err(|_| "prefilter table length")?);
        }
        let gate = [TWO_BYTES, (1usize << four_bits) / 8];
        let mut want = Vec::from_iter(gate.iter().chain(&gate).copied());
        want.extend([
            atoms
                .checked_add(1)
                .and_then(|n| n.checked_mul(4))
                .unwrap_or(0),
            lens[5] - lens[5] % 4,
            SLOT << slot_bits,
        ]);
        if lens != want || atoms > 1usize << slot_bits {
            return Err("prefilter tables of inconsistent sizes".into());
        }
        let mut off = at + HEADER_WORDS * 8;
        let mut tables = Vec::with_capacity(TABLES);
        for l in lens {
            tables.push(Flat::mapped(map, off, l).ok_or("prefilter table past the end")?);
            off = off.saturating_add(l.next_multiple_of(8));
        }
        if off > at + len {
            return Err("prefilter tables past their section".into());
        }
        let mut t = tables.into_iter();
        let mut next = || t.next().expect("seven tables");
        let mut gate = |mask: u64| Gate {
            two: next(),
            four: next(),
            lengths: std::array::from_fn(|l| l >= 2 && mask & (1 << l) != 0),
        };
        let gates = [gate(masks[PE]), gate(masks[OTHER])];
        Ok(Prefilter {
            gates,
            four_bits,
            atoms,
            starts: next(),
            owners: next(),
            slots: next(),
            slot_bits,
        })
    }

    /// Atoms held.
    pub(crate) fn len(&self) -> usize {
        self.atoms
    }

    /// Bytes of the tables held in memory.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.tables().iter().map(|t| t.heap_bytes()).sum()
    }

    /// The tables in their stored order: each gate's two-byte and
    /// four-byte bitmaps (PE first), the starts, the owners, the slots.
    fn tables(&self) -> [&Flat; TABLES] {
        let [pe, other] = &self.gates;
        [
            &pe.two,
            &pe.four,
            &other.two,
            &other.four,
            &self.starts,
            &self.owners,
            &self.slots,
        ]
    }

    fn view(&self) -> View<'_> {
        View {
            starts: self.starts.bytes(),
            owners: self.owners.bytes(),
            slots: self.slots.bytes(),
            slot_bits: self.slot_bits,
        }
    }

    /// Call `hit(position, owners)` for every occurrence in `data` of an
    /// atom with owners for target type `target` (or any type), in order of
    /// position, until it returns `true`; returns whether it did. The sweep
    /// goes [`CHUNK`] by chunk and calls `passed(pos)` each time it has
    /// looked at every position before `pos`, the last time with
    /// `data.len()` when it was not stopped (the caller hands back pages
    /// and hashes what was passed while it is still in cache).
    pub(crate) fn scan(
        &self,
        data: &[u8],
        target: u8,
        mut passed: impl FnMut(usize),
        mut hit: impl FnMut(usize, Owners<'_>) -> bool,
    ) -> bool {
        let v = self.view();
        let want = target_bit(0) | target_bit(target);
        let gate = &self.gates[gate_of(target)];
        let (two, four) = (gate.two.bytes(), gate.four.bytes());
        let [_, _, has2, has3, has4] = gate.lengths;
        let n = data.len();
        // The owners of the atom of `len` bytes with `value`, if any, handed
        // to `hit` for position `i`; whether `hit` asked to stop.
        let mut probe = |len, value, i| v.owners_of(len, value, want).is_some_and(|o| hit(i, o));
        let windows = n.saturating_sub(3);
        let mut start = 0;
        while start < windows {
            let end = (start + CHUNK).min(windows);
            for (j, window) in data[start..end + 3].windows(4).enumerate() {
                let i = start + j;
                let w = u32::from_le_bytes(window.try_into().expect("four bytes"));
                if (has4 || has3)
                    && test(four, hash(w, self.four_bits))
                    && ((has4 && probe(4, w, i)) || (has3 && probe(3, w & 0x00ff_ffff, i)))
                {
                    return true;
                }
                if has2 && test(two, (w & 0xffff) as usize) && probe(2, w & 0xffff, i) {
                    return true;
                }
            }
            start = end;
            if start < windows {
                passed(start);
            }
        }
        // The last three positions: only shorter windows fit.
        for i in n.saturating_sub(3)..n {
            for len in [3, 2] {
                if gate.lengths[len] && i + len <= n && probe(len, value_of(&data[i..i + len]), i) {
                    return true;
                }
            }
        }
        passed(n);
        false
    }
}

impl<'a> View<'a> {
    /// The owners of the atom of `len` bytes with `value`, if some of them
    /// apply to the target types in `want`. At most every slot is probed,
    /// so a forged table with no empty slot still ends.
    #[inline]
    fn owners_of(&self, len: usize, value: u32, want: u32) -> Option<Owners<'a>> {
        let k = key(len, value);
        let slots = 1usize << self.slot_bits;
        let mut h = slot_of(k, self.slot_bits);
        for _ in 0..slots {
            let sk = u64_from(self.slots, h * SLOT)?;
            if sk == k {
                let i = u32_at(self.slots, h * 4 + 2)? as usize;
                let targets = u32_at(self.slots, h * 4 + 3)?;
                if targets & want == 0 {
                    return None;
                }
                let a = u32_at(self.starts, i)? as usize;
                let b = u32_at(self.starts, i + 1)? as usize;
                let owners = self.owners.get(a.checked_mul(4)?..b.checked_mul(4)?)?;
                return Some(Owners(owners));
            }
            if sk == 0 {
                return None;
            }
            h = (h + 1) & (slots - 1);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(p: &Prefilter, data: &[u8]) -> Vec<(usize, Vec<u32>)> {
        hits_for(p, data, 0)
    }

    /// Every hit for an object of target type `target`, with its owners.
    fn hits_for(p: &Prefilter, data: &[u8], target: u8) -> Vec<(usize, Vec<u32>)> {
        let mut out = Vec::new();
        p.scan(
            data,
            target,
            |_| {},
            |at, o| {
                out.push((at, o.iter().collect()));
                false
            },
        );
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
        assert_eq!(hits_for(&p, b"pe", 1), [(0, vec![10])]);
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
    fn each_type_is_probed_only_for_the_atoms_its_owners_need() {
        // Owners: 0 any type, 1 PE only, 2 ELF (6) only; "both" has a PE
        // owner (3) and an ELF one (4). Owners are handed over per atom,
        // whatever their type: verification checks each owner's.
        let p = Prefilter::build(vec![
            (b"anyt".to_vec(), 0, 0),
            (b"pe32".to_vec(), 1, 1),
            (b"elf6".to_vec(), 2, 6),
            (b"both".to_vec(), 3, 1),
            (b"both".to_vec(), 4, 6),
        ]);
        let data = b"anyt pe32 elf6 both";
        let seen = |target| hits_for(&p, data, target);
        assert_eq!(seen(1), [(0, vec![0]), (5, vec![1]), (15, vec![3, 4])]);
        assert_eq!(seen(6), [(0, vec![0]), (10, vec![2]), (15, vec![3, 4])]);
        assert_eq!(
            seen(0),
            [(0, vec![0])],
            "untyped data: any-type owners only"
        );
        assert_eq!(seen(7), [(0, vec![0])]);
        // The PE atom is not in the gate other types use, nor the ELF
        // atom in the PE gate (the exact table would refuse them anyway).
        let four =
            |g: usize, a: &[u8]| test(p.gates[g].four.bytes(), hash(value_of(a), p.four_bits));
        assert!(four(PE, b"pe32") && !four(OTHER, b"pe32"));
        assert!(four(OTHER, b"elf6") && !four(PE, b"elf6"));
        assert!(four(PE, b"anyt") && four(OTHER, b"anyt"));
    }

    #[test]
    fn atoms_across_a_chunk_boundary_and_at_the_end_are_found() {
        let p = Prefilter::build(vec![
            (b"wxyz".to_vec(), 0, 0),
            (b"qrs".to_vec(), 1, 0),
            (b"jk".to_vec(), 2, 0),
        ]);
        let mut data = vec![0u8; 2 * CHUNK + 5];
        let mut put = |at: usize, a: &[u8]| data[at..at + a.len()].copy_from_slice(a);
        // Straddling the first boundary, each atom at every offset it can
        // take across it; then the last bytes of the object.
        put(CHUNK - 3, b"wxyz");
        put(CHUNK - 2 + 64, b"qrs");
        put(CHUNK - 1 + 128, b"jk");
        put(2 * CHUNK - 2, b"wxyz");
        put(2 * CHUNK + 2, b"qrs");
        let got: Vec<usize> = hits(&p, &data).into_iter().map(|(at, _)| at).collect();
        let mut passed = Vec::new();
        p.scan(&data, 0, |pos| passed.push(pos), |_, _| false);
        assert_eq!(
            passed,
            [CHUNK, 2 * CHUNK, data.len()],
            "each chunk, then the end"
        );
        assert_eq!(
            got,
            [
                CHUNK - 3,
                CHUNK + 62,
                CHUNK + 127,
                2 * CHUNK - 2,
                2 * CHUNK + 2
            ]
        );
    }

    #[test]
    fn stops_when_asked() {
        let p = Prefilter::build(vec![(b"aa".to_vec(), 0, 0)]);
        let mut n = 0;
        assert!(p.scan(
            b"aaaaaa",
            0,
            |_| {},
            |_, _| {
                n += 1;
                n == 2
            }
        ));
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
