//! ISO 9660 CD/DVD images (ECMA-119), with Joliet and Rock Ridge names.
//!
//! Volume descriptors start at sector 16 (byte 32768): each is 2048 bytes
//! of a type (1 primary, 2 supplementary, 255 the end), `CD001` and a
//! version. A descriptor's root directory record leads to directories,
//! whose records (a length byte, the extent's block and byte length, flags,
//! the name; none crosses a sector) lead to files and further directories.
//! Every tree is walked, the Joliet trees (supplementary descriptors with a
//! UCS-2 escape sequence) first for their Unicode names, then the primary
//! tree with Rock Ridge's `NM` names where they are given; a file reached
//! by more than one tree (the same extent and length) is scanned once, so
//! a tree that hides a file from one reader does not hide it here. A file
//! of several extents (flag 0x80 on all but the last record) is one child.
//!
//! Hostile images are bounded: directories nest at most [`MAX_DEPTH`]
//! deep, a directory extent is read once (no loops), at most
//! [`MAX_RECORDS`] records are read, and an extent shared by several
//! names is scanned once.

use std::collections::HashSet;

use crate::budget::Budget;
use crate::container::{emit, UnpackError, Visit};

const SECTOR: usize = 2048;
const FIRST_DESCRIPTOR: usize = 16 * SECTOR;
/// Descriptors read before giving up on a terminator.
const MAX_DESCRIPTORS: usize = 64;
/// Rock Ridge allows deep trees; deeper than this is hostile.
const MAX_DEPTH: usize = 64;
/// Directory records read per image, at most.
const MAX_RECORDS: usize = 1_000_000;
/// Extents one file may be split into, at most.
const MAX_EXTENTS: usize = 1024;

/// Whether `data` holds an ISO 9660 volume descriptor where one starts.
pub(crate) fn is_iso9660(data: &[u8]) -> bool {
    data.get(FIRST_DESCRIPTOR + 1..FIRST_DESCRIPTOR + 6) == Some(b"CD001")
}

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let mut walk = Walk {
        data,
        block: SECTOR,
        joliet: false,
        seen_dirs: HashSet::new(),
        seen_files: HashSet::new(),
        records: 0,
        stopped: false,
    };
    for root in roots(data) {
        walk.block = root.block;
        walk.joliet = root.joliet;
        walk.directory(root.record, "", 0, budget, visit)?;
        if walk.stopped {
            break;
        }
    }
    Ok(())
}

/// A tree to walk: where its root record is, the logical block size and
/// whether names are Joliet's UCS-2.
struct Root {
    record: Extent,
    block: usize,
    joliet: bool,
}

/// A run of bytes in the image: first block and length.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Extent {
    lba: u32,
    len: u32,
}

/// The trees of the volume descriptors up to the terminator: Joliet's
/// first, then the primary one.
fn roots(data: &[u8]) -> Vec<Root> {
    let mut joliet = Vec::new();
    let mut primary = Vec::new();
    for n in 0..MAX_DESCRIPTORS {
        let at = FIRST_DESCRIPTOR + n * SECTOR;
        let Some(d) = data.get(at..at + SECTOR) else {
            break;
        };
        if &d[1..6] != b"CD001" || d[0] == 255 {
            break;
        }
        let block = usize::from(u16::from_le_bytes([d[128], d[129]]));
        let Some(record) = record_extent(&d[156..190]) else {
            continue;
        };
        if !matches!(block, 512 | 1024 | 2048) {
            continue;
        }
        let is_joliet = d[0] == 2 && matches!(&d[88..91], b"%/@" | b"%/C" | b"%/E");
        let root = Root {
            record,
            block,
            joliet: is_joliet,
        };
        match d[0] {
            2 if is_joliet => joliet.push(root),
            1 if primary.is_empty() => primary.push(root),
            _ => {}
        }
    }
    joliet.extend(primary);
    joliet
}

/// The extent a directory record points at (both-endian fields, little
/// half read).
fn record_extent(r: &[u8]) -> Option<Extent> {
    Some(Extent {
        lba: u32::from_le_bytes(r.get(2..6)?.try_into().ok()?),
        len: u32::from_le_bytes(r.get(10..14)?.try_into().ok()?),
    })
}

struct Walk<'a> {
    data: &'a [u8],
    block: usize,
    joliet: bool,
    /// Directory extents read, by tree kind (no loops).
    seen_dirs: HashSet<(bool, u32)>,
    /// First extents of the files scanned (each once).
    seen_files: HashSet<Extent>,
    records: usize,
    /// The visitor asked to stop.
    stopped: bool,
}

/// One directory record, as read.
struct Record {
    extent: Extent,
    flags: u8,
    name: String,
}

impl<'a> Walk<'a> {
    fn bytes(&self, e: Extent) -> Option<&'a [u8]> {
        let start = (e.lba as usize).checked_mul(self.block)?;
        let data: &'a [u8] = self.data;
        data.get(start..start.checked_add(e.len as usize)?)
    }

    fn directory(
        &mut self,
        dir: Extent,
        path: &str,
        depth: usize,
        budget: &mut Budget,
        visit: &mut Visit<'_>,
    ) -> Result<(), UnpackError> {
        if depth > MAX_DEPTH || self.stopped || !self.seen_dirs.insert((self.joliet, dir.lba)) {
            return Ok(());
        }
        let Some(bytes) = self.bytes(dir) else {
            return Ok(());
        };
        let records = self.records_in(bytes);
        let mut i = 0;
        while i < records.len() {
            let r = &records[i];
            let child_path = if path.is_empty() {
                r.name.clone()
            } else {
                format!("{path}/{}", r.name)
            };
            if r.flags & 0x02 != 0 {
                self.directory(r.extent, &child_path, depth + 1, budget, visit)?;
                if self.stopped {
                    return Ok(());
                }
                i += 1;
                continue;
            }
            // A file: this record and the records of its further extents.
            let parts = records[i..]
                .iter()
                .position(|r| r.flags & 0x80 == 0)
                .map_or(records.len() - i, |p| p + 1)
                .min(MAX_EXTENTS);
            let extents: Vec<Extent> = records[i..i + parts].iter().map(|r| r.extent).collect();
            i += parts;
            if !self.seen_files.insert(extents[0]) {
                continue;
            }
            if self.file(&extents, child_path, budget, visit)?.is_break() {
                self.stopped = true;
                return Ok(());
            }
        }
        Ok(())
    }

    /// Emit a file made of `extents`, within the budget.
    fn file(
        &self,
        extents: &[Extent],
        name: String,
        budget: &mut Budget,
        visit: &mut Visit<'_>,
    ) -> Result<std::ops::ControlFlow<()>, UnpackError> {
        let allowance = budget.allowance()?;
        let total: u64 = extents.iter().map(|e| u64::from(e.len)).sum();
        if total > allowance {
            budget.note(budget.blame(allowance));
            return Ok(std::ops::ControlFlow::Continue(()));
        }
        let mut data = Vec::with_capacity(total as usize);
        for e in extents {
            // A truncated image keeps what it holds of the file.
            let start = (e.lba as usize).saturating_mul(self.block);
            let end = start.saturating_add(e.len as usize).min(self.data.len());
            data.extend_from_slice(self.data.get(start..end).unwrap_or_default());
        }
        if data.is_empty() {
            return Ok(std::ops::ControlFlow::Continue(()));
        }
        Ok(emit(Some(name), data, budget, visit))
    }

    /// The records of a directory's extent, without `.` and `..`.
    fn records_in(&mut self, bytes: &[u8]) -> Vec<Record> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() && self.records < MAX_RECORDS {
            let len = usize::from(bytes[at]);
            if len == 0 {
                // Records do not cross sectors: the rest of this one is padding.
                at = (at / SECTOR + 1) * SECTOR;
                continue;
            }
            let Some(r) = bytes.get(at..at + len) else {
                break;
            };
            at += len;
            self.records += 1;
            if let Some(record) = self.record(r) {
                out.push(record);
            }
        }
        out
    }

    fn record(&self, r: &[u8]) -> Option<Record> {
        let extent = record_extent(r)?;
        let flags = *r.get(25)?;
        let name_len = usize::from(*r.get(32)?);
        let raw = r.get(33..33 + name_len)?;
        if raw == [0] || raw == [1] {
            return None; // `.` and `..`
        }
        let name = if self.joliet {
            ucs2(raw)
        } else {
            let system_use = r.get((33 + name_len + 1 - name_len % 2)..).unwrap_or(&[]);
            rock_ridge_name(system_use).unwrap_or_else(|| iso_name(raw))
        };
        Some(Record {
            extent,
            flags,
            name: sanitise(&name),
        })
    }
}

/// Joliet names are UCS-2, big-endian, with ISO's `;1` version.
fn ucs2(raw: &[u8]) -> String {
    let units: Vec<u16> = raw
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect();
    let name = String::from_utf16_lossy(&units);
    strip_version(&name).to_string()
}

/// `CLAM.EXE;1` → `CLAM.EXE`; a name without extension loses its dot.
fn iso_name(raw: &[u8]) -> String {
    let name = String::from_utf8_lossy(raw);
    strip_version(&name).trim_end_matches('.').to_string()
}

fn strip_version(name: &str) -> &str {
    match name.rfind(';') {
        Some(at) if name[at + 1..].bytes().all(|b| b.is_ascii_digit()) => &name[..at],
        _ => name,
    }
}

/// Rock Ridge's alternate name: the `NM` entries of the System Use area
/// (each `NM`, length, version, flags, part of the name), concatenated.
fn rock_ridge_name(mut su: &[u8]) -> Option<String> {
    let mut name = Vec::new();
    while su.len() >= 4 {
        let len = usize::from(su[2]);
        if len < 4 || len > su.len() {
            break;
        }
        if &su[..2] == b"NM" && len >= 5 {
            name.extend_from_slice(&su[5..len]);
        }
        su = &su[len..];
    }
    (!name.is_empty()).then(|| String::from_utf8_lossy(&name).into_owned())
}

/// A name as a path component: no separators, no control characters, not
/// empty.
fn sanitise(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c == '/' || c.is_control() { '_' } else { c })
        .collect();
    if s.is_empty() || s == "." || s == ".." {
        "_".to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(iso_name(b"CLAM.EXE;1"), "CLAM.EXE");
        assert_eq!(iso_name(b"README.;1"), "README");
        assert_eq!(ucs2(b"\0c\0l\0a\0m\0.\0e\0x\0e\0;\x001"), "clam.exe");
        assert_eq!(strip_version("a;b"), "a;b");
        assert_eq!(sanitise("a/b"), "a_b");
        assert_eq!(sanitise(".."), "_");
        let su = b"PX\x05\x01xNM\x0d\x01\x00clam.exeRR\x05\x01\x81";
        assert_eq!(rock_ridge_name(su).as_deref(), Some("clam.exe"));
        assert_eq!(rock_ridge_name(b"NM\x02"), None);
    }

    #[test]
    fn not_an_image() {
        assert!(!is_iso9660(b"CD001"));
        assert!(roots(&vec![0u8; 40_000]).is_empty());
    }

    /// A directory record: extent, length, flags, name.
    fn record(lba: u32, len: u32, flags: u8, name: &[u8]) -> Vec<u8> {
        let mut r = vec![0u8; 33];
        r[2..6].copy_from_slice(&lba.to_le_bytes());
        r[10..14].copy_from_slice(&len.to_le_bytes());
        r[25] = flags;
        r[32] = name.len() as u8;
        r.extend_from_slice(name);
        if r.len() % 2 == 1 {
            r.push(0);
        }
        r[0] = r.len() as u8;
        r
    }

    /// An image with a primary descriptor whose root (sector 18) holds
    /// `entries`; sector 19 holds `payload`.
    fn image(entries: &[Vec<u8>], payload: &[u8]) -> Vec<u8> {
        let mut img = vec![0u8; 20 * SECTOR];
        let pvd = FIRST_DESCRIPTOR;
        img[pvd] = 1;
        img[pvd + 1..pvd + 6].copy_from_slice(b"CD001");
        img[pvd + 128..pvd + 130].copy_from_slice(&2048u16.to_le_bytes());
        let root = record(18, SECTOR as u32, 2, b"\0");
        img[pvd + 156..pvd + 156 + root.len()].copy_from_slice(&root);
        img[pvd + SECTOR] = 255;
        img[pvd + SECTOR + 1..pvd + SECTOR + 6].copy_from_slice(b"CD001");
        let dir: Vec<u8> = entries.concat();
        img[18 * SECTOR..18 * SECTOR + dir.len()].copy_from_slice(&dir);
        img[19 * SECTOR..19 * SECTOR + payload.len()].copy_from_slice(payload);
        img
    }

    fn children(img: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut budget = Budget::new(&crate::Limits::default());
        let mut visit = |c: crate::Child, _: &mut Budget| {
            out.push((c.name.unwrap_or_default(), c.data));
            std::ops::ControlFlow::Continue(())
        };
        read(img, &mut budget, &mut visit).unwrap();
        out
    }

    #[test]
    fn files_directories_loops_and_truncation() {
        let img = image(
            &[
                record(18, 2048, 2, b"\0"),
                record(18, 2048, 2, b"\x01"),
                record(19, 5, 0, b"A.TXT;1"),
                // A directory that is the root again, and a file sharing A's extent.
                record(18, 2048, 2, b"LOOP"),
                record(19, 5, 0, b"SAME.TXT;1"),
                // Past the end of the image.
                record(900, 5, 0, b"FAR.TXT;1"),
            ],
            b"hello",
        );
        assert!(is_iso9660(&img));
        assert_eq!(children(&img), [("A.TXT".to_string(), b"hello".to_vec())]);
        // Cut inside the file: what the image holds of it is kept.
        assert_eq!(children(&img[..19 * SECTOR + 3])[0].1, b"hel");
        // Cut inside the directory, or before it: no panic.
        for cut in [FIRST_DESCRIPTOR + 10, 18 * SECTOR + 40, 18 * SECTOR + 60] {
            let _ = children(&img[..cut]);
        }
    }
}
