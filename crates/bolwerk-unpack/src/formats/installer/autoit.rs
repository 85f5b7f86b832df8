//! AutoIt v3 compiled scripts (`AU3!EA05`, AutoIt 3.0 to 3.2.5, and
//! `AU3!EA06`, 3.2.6 and later), appended to the AutoIt interpreter or held
//! in its `SCRIPT` resource.
//!
//! After the marker come 16 bytes (EA05: their byte sum seeds the content
//! key) and then resources, each: `FILE` (encrypted), the length and bytes
//! of its name (the script is `>AUTOIT UNICODE SCRIPT<`, `>AUTOIT SCRIPT<`
//! or `>>>AUTOIT SCRIPT<<<`; a file added with `FileInstall` has its source
//! path), the same for a path, a compressed flag, the stored and the
//! unpacked size, a checksum, two FILETIMEs, and the stored bytes. Lengths
//! are XORed with constants and strings and data are XORed with a key
//! stream seeded by a constant plus the string's length (EA05: MT19937,
//! each output shifted right by one; EA06: a lagged generator of 17 words
//! whose output byte is the top byte of every second word; EA06 strings
//! are UTF-16). Compressed data is AutoIt's LZSS: `EA05`/`EA06`, the
//! unpacked size (big-endian), then an MSB-first bit stream of literals
//! (flag bit 0 for EA05, 1 for EA06) and back-references (15-bit distance,
//! a length in 2, 3, 5, 8 and further 8-bit steps).
//!
//! Every resource is a child: the script as stored (EA06 scripts are
//! token streams, not turned back into text here) and each installed
//! file. The checksums are not verified. `>>>AUTOIT NO CMDEXECUTE<<<`
//! entries are stepped over. The layout and constants are as the public
//! write-ups of AutoIt decompilers (AutoIt-Ripper, MIT; myAut2Exe) describe
//! them; the code is written here.

use super::{u32_at, Found};
use crate::budget::Budget;
use crate::container::{emit_with, malformed, Meta, UnpackError, Visit};

const MARKER: &[u8] = b"AU3!EA0";
const MAX_CANDIDATES: usize = 8;
/// Resources read at most; each takes at least 45 bytes anyway.
const MAX_RESOURCES: usize = 1 << 16;
const NO_CMDEXECUTE: &str = ">>>AUTOIT NO CMDEXECUTE<<<";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    Ea05,
    Ea06,
}

/// The seeds and XOR constants of one version.
struct Keys {
    file: u32,
    name_len: u32,
    name: u32,
    path_len: u32,
    path: u32,
    size: u32,
    data: u32,
}

const EA05: Keys = Keys {
    file: 0x16fa,
    name_len: 0x29bc,
    name: 0xa25e,
    path_len: 0x29ac,
    path: 0xf25e,
    size: 0x45aa,
    data: 0x22af,
};

const EA06: Keys = Keys {
    file: 0x18ee,
    name_len: 0xadbc,
    name: 0xb33f,
    path_len: 0xf820,
    path: 0xf479,
    size: 0x87bc,
    data: 0x2477,
};

pub(super) fn read(data: &[u8], from: usize, budget: &mut Budget, visit: &mut Visit<'_>) -> Found {
    // The script may be a resource, inside the sections: look everywhere,
    // the overlay first.
    let starts = [from, 0];
    for &start in starts.iter().take(if from == 0 { 1 } else { 2 }) {
        let Some(area) = data.get(start..) else {
            continue;
        };
        for pos in memchr::memmem::find_iter(area, MARKER).take(MAX_CANDIDATES) {
            let at = start + pos + MARKER.len();
            let version = match data.get(at) {
                Some(b'5') => Version::Ea05,
                Some(b'6') => Version::Ea06,
                _ => continue,
            };
            let Some(body) = data.get(at + 1..) else {
                continue;
            };
            if resources(body, version, budget, visit)? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Read the resources after a marker; `false` when the first is not one.
fn resources(
    body: &[u8],
    version: Version,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<bool, UnpackError> {
    let keys = match version {
        Version::Ea05 => &EA05,
        Version::Ea06 => &EA06,
    };
    let Some(head) = body.get(..16) else {
        return Ok(false);
    };
    let sum = head.iter().fold(0u32, |s, &b| s.wrapping_add(u32::from(b)));
    let mut at = 16;
    for index in 0..MAX_RESOURCES {
        let is_file = body
            .get(at..at + 4)
            .is_some_and(|m| decrypt(version, m, keys.file) == b"FILE");
        if !is_file {
            // Not AutoIt at all, or the end of the resources.
            return Ok(index > 0);
        }
        let r = resource(body, at + 4, version, keys, sum)
            .ok_or_else(|| malformed("AutoIt resource truncated"))?;
        at = r.end;
        let Some(stored) = r.stored else {
            continue;
        };
        let meta = Meta {
            packed_size: Some(stored.len() as u64),
            stated_size: Some(u64::from(r.size)),
            ..Meta::default()
        };
        let bytes = if r.compressed {
            let allowance = budget.allowance()?;
            match lzss(&stored, version, allowance) {
                Ok(bytes) => bytes,
                Err(Oversize) => {
                    let limit = budget.blame(allowance);
                    budget.note(limit);
                    if limit == crate::budget::Limit::MaxFileSize {
                        continue;
                    }
                    return Err(limit.into());
                }
            }
        } else {
            stored
        };
        if bytes.is_empty() {
            continue;
        }
        if emit_with(Some(r.name), bytes, meta, budget, visit).is_break() {
            return Ok(true);
        }
    }
    Ok(true)
}

/// One resource, decrypted but not decompressed.
struct Resource {
    name: String,
    /// `None` for an entry without data.
    stored: Option<Vec<u8>>,
    compressed: bool,
    size: u32,
    /// Where the next resource starts.
    end: usize,
}

fn resource(d: &[u8], mut at: usize, version: Version, keys: &Keys, sum: u32) -> Option<Resource> {
    let width = match version {
        Version::Ea05 => 1,
        Version::Ea06 => 2,
    };
    let mut string = |len_key: u32, key: u32| -> Option<String> {
        let len = u32_at(d, at)? ^ len_key;
        let bytes = usize::try_from(len).ok()?.checked_mul(width)?;
        let start = at.checked_add(4)?;
        let raw = d.get(start..start.checked_add(bytes)?)?;
        at = start + bytes;
        let plain = decrypt(version, raw, key.wrapping_add(len));
        Some(match version {
            Version::Ea05 => plain.iter().map(|&b| char::from(b)).collect(),
            Version::Ea06 => {
                let units: Vec<u16> = plain
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
            }
        })
    };
    let name = string(keys.name_len, keys.name)?;
    let _path = string(keys.path_len, keys.path)?;
    if name == NO_CMDEXECUTE {
        let skip = usize::try_from(u32_at(d, at.checked_add(1)?)? ^ keys.size).ok()?;
        let end = at.checked_add(5)?.checked_add(skip)?.checked_add(0x18)?;
        return Some(Resource {
            name,
            stored: None,
            compressed: false,
            size: 0,
            end,
        });
    }
    let compressed = *d.get(at)? == 1;
    let packed = usize::try_from(u32_at(d, at + 1)? ^ keys.size).ok()?;
    let size = u32_at(d, at + 5)? ^ keys.size;
    // The checksum (at + 9) and the two FILETIMEs are not read.
    let start = at.checked_add(29)?;
    let raw = d.get(start..start.checked_add(packed)?)?;
    let seed = match version {
        Version::Ea05 => sum.wrapping_add(keys.data),
        Version::Ea06 => keys.data,
    };
    Some(Resource {
        name,
        stored: Some(decrypt(version, raw, seed)),
        compressed,
        size,
        end: start + packed,
    })
}

fn decrypt(version: Version, data: &[u8], seed: u32) -> Vec<u8> {
    match version {
        Version::Ea05 => {
            let mut mt = Mt19937::new(seed);
            data.iter().map(|&b| b ^ (mt.next() >> 1) as u8).collect()
        }
        Version::Ea06 => {
            let mut lame = Lagged::new(seed);
            data.iter().map(|&b| b ^ lame.byte()).collect()
        }
    }
}

/// The Mersenne Twister (MT19937) with its standard seeding and tempering.
struct Mt19937 {
    state: [u32; 624],
    index: usize,
}

impl Mt19937 {
    fn new(seed: u32) -> Mt19937 {
        let mut state = [0u32; 624];
        state[0] = seed;
        for i in 1..624 {
            let prev = state[i - 1];
            state[i] = 0x6c07_8965u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Mt19937 { state, index: 624 }
    }

    fn next(&mut self) -> u32 {
        if self.index >= 624 {
            for i in 0..624 {
                let y = (self.state[i] & 0x8000_0000) | (self.state[(i + 1) % 624] & 0x7fff_ffff);
                let mag = if y & 1 != 0 { 0x9908_b0df } else { 0 };
                self.state[i] = self.state[(i + 397) % 624] ^ (y >> 1) ^ mag;
            }
            self.index = 0;
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }
}

/// EA06's generator: 17 words, two moving indices, each step adding two
/// rotated words. The key byte is the top byte of every second step's word
/// (the reference implementation turns it into a double in [0, 1) and
/// multiplies by 256, which is the same).
struct Lagged {
    words: [u32; 17],
    a: usize,
    b: usize,
}

impl Lagged {
    fn new(mut seed: u32) -> Lagged {
        let mut words = [0u32; 17];
        for w in &mut words {
            seed = 1u32.wrapping_sub(seed.wrapping_mul(0x53a9_b4fb));
            *w = seed;
        }
        let mut g = Lagged { words, a: 0, b: 10 };
        for _ in 0..9 {
            g.step();
        }
        g
    }

    fn step(&mut self) -> u32 {
        let w = self.words[self.a]
            .rotate_left(9)
            .wrapping_add(self.words[self.b].rotate_left(13));
        self.words[self.a] = w;
        self.a = if self.a == 0 { 16 } else { self.a - 1 };
        self.b = if self.b == 0 { 16 } else { self.b - 1 };
        w
    }

    fn byte(&mut self) -> u8 {
        self.step();
        (self.step() >> 24) as u8
    }
}

/// The unpacked size is over the allowance.
struct Oversize;

/// Unpack AutoIt's LZSS. Damaged data yields what was unpacked before the
/// damage.
fn lzss(data: &[u8], version: Version, allowance: u64) -> Result<Vec<u8>, Oversize> {
    let Some(size) = data
        .get(4..8)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    else {
        return Ok(Vec::new());
    };
    let magic_ok = match version {
        Version::Ea05 => data.starts_with(b"EA05"),
        Version::Ea06 => data.starts_with(b"EA06"),
    };
    if !magic_ok {
        return Ok(Vec::new());
    }
    if u64::from(size) > allowance {
        return Err(Oversize);
    }
    let size = size as usize;
    let literal_flag = u32::from(version == Version::Ea06);
    let mut bits = Bits {
        data: data.get(8..).unwrap_or_default(),
        pos: 0,
    };
    let mut out = Vec::with_capacity(size.min(data.len().saturating_mul(16)));
    while out.len() < size {
        let Some(flag) = bits.get(1) else { break };
        if flag == literal_flag {
            let Some(b) = bits.get(8) else { break };
            out.push(b as u8);
            continue;
        }
        let Some(distance) = bits.get(15) else { break };
        let Some(len) = bits.length() else { break };
        let distance = distance as usize;
        if distance == 0 || distance > out.len() {
            break;
        }
        let from = out.len() - distance;
        let len = len.min(size - out.len());
        for i in 0..len {
            let b = out[from + i];
            out.push(b);
        }
    }
    Ok(out)
}

/// An MSB-first bit reader.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn get(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = *self.data.get(self.pos / 8)?;
            let bit = (byte >> (7 - self.pos % 8)) & 1;
            v = (v << 1) | u32::from(bit);
            self.pos += 1;
        }
        Some(v)
    }

    /// A back-reference's length: 2 bits, then 3, 5 and 8 when each is all
    /// ones, then further bytes while they are 255; plus 3.
    fn length(&mut self) -> Option<usize> {
        let mut base = 0usize;
        let mut v = self.get(2)?;
        for (width, all_ones, next_base) in [(3, 3, 3), (5, 7, 10), (8, 31, 41)] {
            if v != all_ones {
                return Some(v as usize + base + 3);
            }
            base = next_base;
            v = self.get(width)?;
        }
        if v != 255 {
            return Some(v as usize + base + 3);
        }
        base = 296;
        loop {
            v = self.get(8)?;
            if v != 255 {
                return Some(v as usize + base + 3);
            }
            base = base.saturating_add(255);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::installer::testutil::{all_md5s, finds_clam, testfile, CLAM_EXE_MD5};
    use crate::{FileType, UnpackError};

    #[test]
    fn ea05_script_and_file() {
        let data = testfile("clam.ea05.exe");
        let (md5s, r) = all_md5s(&data, FileType::MsExe);
        assert_eq!(r, Ok(()));
        // The UTF-16 script (as ClamAV extracts it), then clam.exe (then
        // what the PE reader finds in the executable).
        assert_eq!(
            md5s[..2],
            ["144d97bc59d6944c6cf31e3fca78f432", CLAM_EXE_MD5]
        );
    }

    #[test]
    fn ea06_script_and_file() {
        let data = testfile("clam.ea06.exe");
        let (md5s, r) = all_md5s(&data, FileType::MsExe);
        assert_eq!(r, Ok(()));
        assert!(md5s.len() >= 2, "{md5s:?}");
        assert_eq!(md5s[1], CLAM_EXE_MD5);
        assert!(finds_clam(&data));
    }

    #[test]
    fn generators() {
        // MT19937's reference output for seed 5489.
        let mut mt = Mt19937::new(5489);
        assert_eq!(mt.next(), 3_499_211_612);
        assert_eq!(mt.next(), 581_869_302);
    }

    #[test]
    fn truncated_and_corrupted() {
        for (name, overlay) in [("clam.ea05.exe", 206848), ("clam.ea06.exe", 252928)] {
            let data = testfile(name);
            // Cut inside clam.exe's resource: an error, and no clam.exe.
            let (md5s, r) = all_md5s(&data[..data.len() - 20], FileType::MsExe);
            assert!(matches!(r, Err(UnpackError::Malformed(_))), "{name}: {r:?}");
            assert!(!md5s.iter().any(|m| m == CLAM_EXE_MD5));
            for at in (overlay..data.len()).step_by(41) {
                let mut bad = data.clone();
                bad[at] ^= 0x5a;
                let _ = all_md5s(&bad, FileType::MsExe);
            }
            for len in (overlay..data.len()).step_by(53) {
                let _ = all_md5s(&data[..len], FileType::MsExe);
            }
        }
    }
}
