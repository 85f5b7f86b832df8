//! The version information of a PE file: where the keys of its
//! `VS_VERSIONINFO` strings lie, for ClamAV's `VI` offsets.
//!
//! A `VI` subsignature matches only at the start of a key of a `String`
//! entry of the version resource (`CompanyName`, `FileDescription`, …, in
//! UTF-16), as ClamAV's `CLI_OFF_VERSION` does. The layout (Microsoft's
//! documentation of `VS_VERSIONINFO`, `StringFileInfo`, `StringTable` and
//! `String`): every block is `wLength`, `wValueLength`, `wType`, a
//! NUL-terminated UTF-16 key, padding to 32 bits, a value, padding, then
//! child blocks up to `wLength`. Resources are found through the resource
//! directory (type 16, `RT_VERSION`, every name and language).
//!
//! Bounded: a directory level is read for at most [`MAX_ENTRIES`] entries,
//! at most [`MAX_KEYS`] keys are kept, every block must lie inside its
//! parent and the file, and a zero `wLength` ends a list.

use crate::pe::Section;

/// Entries read per resource directory.
pub const MAX_ENTRIES: usize = 64;
/// Keys kept per file.
pub const MAX_KEYS: usize = 1024;
/// `RT_VERSION`.
const RT_VERSION: u32 = 16;

fn u16_at(d: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(o..o + 2)?.try_into().ok()?))
}

fn u32_at(d: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(o..o + 4)?.try_into().ok()?))
}

/// The file offset of an RVA, through the section that holds it.
fn file_offset(sections: &[Section], rva: u32) -> Option<usize> {
    sections
        .iter()
        .find(|s| s.rva <= rva && rva - s.rva < s.rsz)
        .map(|s| (s.raw + (rva - s.rva)) as usize)
}

/// The file offsets of the keys of the version strings of `data`, whose
/// resource directory is at `rva`; sorted, empty when there are none.
pub fn keys(data: &[u8], sections: &[Section], rva: u32) -> Vec<u64> {
    let mut out = Vec::new();
    if let Some(root) = file_offset(sections, rva) {
        for block in version_blocks(data, root) {
            if let Some(start) = file_offset(sections, block) {
                string_keys(data, start, &mut out);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The entries of one resource directory at file offset `dir`: (name or
/// id, offset to data or subdirectory), both as stored.
fn entries(data: &[u8], dir: usize) -> Vec<(u32, u32)> {
    let (Some(named), Some(ids)) = (u16_at(data, dir + 12), u16_at(data, dir + 14)) else {
        return Vec::new();
    };
    let n = (usize::from(named) + usize::from(ids)).min(MAX_ENTRIES);
    (0..n)
        .map_while(|i| {
            let e = dir + 16 + 8 * i;
            Some((u32_at(data, e)?, u32_at(data, e + 4)?))
        })
        .collect()
}

/// The RVAs of the version resources: type 16, every name, every language.
fn version_blocks(data: &[u8], root: usize) -> Vec<u32> {
    const SUBDIR: u32 = 0x8000_0000;
    let sub = |off: u32| (off & SUBDIR != 0).then(|| root + (off & !SUBDIR) as usize);
    let mut out = Vec::new();
    for (id, off) in entries(data, root) {
        if id != RT_VERSION {
            continue;
        }
        let Some(names) = sub(off) else { continue };
        for (_, off) in entries(data, names) {
            let Some(langs) = sub(off) else { continue };
            for (_, off) in entries(data, langs) {
                if off & SUBDIR == 0 {
                    out.extend(u32_at(data, root + off as usize));
                }
            }
        }
    }
    out
}

/// A block's header: its length, its value's length, and where its key
/// starts.
struct Block {
    start: usize,
    len: usize,
    value_len: usize,
}

fn block(data: &[u8], start: usize, end: usize) -> Option<Block> {
    let len = usize::from(u16_at(data, start)?);
    let value_len = usize::from(u16_at(data, start + 2)?);
    (len >= 6 && start + len <= end.min(data.len())).then_some(Block {
        start,
        len,
        value_len,
    })
}

/// Where a block's key ends (after its NUL), or `None` past `end`.
fn key_end(data: &[u8], key: usize, end: usize) -> Option<usize> {
    let mut i = key;
    while i + 2 <= end {
        if u16_at(data, i)? == 0 {
            return Some(i + 2);
        }
        i += 2;
    }
    None
}

fn align4(v: usize) -> usize {
    (v + 3) & !3
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// The children of a block: the blocks from after its key (and, when
/// `has_value`, its value) to its end.
fn children(data: &[u8], b: &Block, value_bytes: usize) -> Vec<Block> {
    let end = b.start + b.len;
    let Some(k) = key_end(data, b.start + 6, end) else {
        return Vec::new();
    };
    let mut at = align4(align4(k) + value_bytes);
    let mut out = Vec::new();
    while at + 6 <= end && out.len() < MAX_KEYS {
        let Some(c) = block(data, at, end) else { break };
        at = align4(c.start + c.len);
        out.push(c);
    }
    out
}

/// Add the key offsets of the `String` blocks of the `VS_VERSIONINFO` at
/// `start`.
fn string_keys(data: &[u8], start: usize, out: &mut Vec<u64>) {
    let Some(root) = block(data, start, data.len()) else {
        return;
    };
    let want = utf16("VS_VERSION_INFO\0");
    if data.get(start + 6..start + 6 + want.len()) != Some(&want[..]) {
        return;
    }
    let string_file_info = utf16("StringFileInfo\0");
    for info in children(data, &root, root.value_len) {
        let key = data.get(info.start + 6..info.start + 6 + string_file_info.len());
        if key != Some(&string_file_info[..]) {
            continue;
        }
        for table in children(data, &info, 0) {
            for string in children(data, &table, 0) {
                if out.len() >= MAX_KEYS {
                    return;
                }
                out.push(string.start as u64 + 6);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block: header, key, padding, value bytes, children.
    fn block_bytes(key: &str, value: &[u8], text: bool, kids: &[Vec<u8>]) -> Vec<u8> {
        let mut b = vec![0u8; 6];
        b.extend(utf16(key));
        b.extend([0, 0]);
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
        b.extend_from_slice(value);
        while !b.len().is_multiple_of(4) {
            b.push(0);
        }
        for k in kids {
            b.extend_from_slice(k);
            while !b.len().is_multiple_of(4) {
                b.push(0);
            }
        }
        let len = b.len() as u16;
        let vlen = if text { value.len() / 2 } else { value.len() } as u16;
        b[0..2].copy_from_slice(&len.to_le_bytes());
        b[2..4].copy_from_slice(&vlen.to_le_bytes());
        b[4..6].copy_from_slice(&u16::from(text).to_le_bytes());
        b
    }

    #[test]
    fn keys_of_every_string() {
        let company = block_bytes("CompanyName", &utf16("Example\0"), true, &[]);
        let product = block_bytes("ProductName", &utf16("Thing\0"), true, &[]);
        let table = block_bytes("040904b0", &[], false, &[company, product]);
        let sfi = block_bytes("StringFileInfo", &[], false, &[table]);
        let vfi = block_bytes("VarFileInfo", &[], false, &[]);
        let root = block_bytes("VS_VERSION_INFO", &[0xbd; 52], false, &[sfi, vfi]);
        let mut data = vec![0u8; 16];
        data.extend_from_slice(&root);
        let mut out = Vec::new();
        string_keys(&data, 16, &mut out);
        assert_eq!(out.len(), 2);
        for (at, key) in out.iter().zip(["CompanyName", "ProductName"]) {
            let k = utf16(key);
            assert_eq!(&data[*at as usize..*at as usize + k.len()], &k[..]);
        }
    }

    #[test]
    fn damaged_blocks_are_bounded() {
        let company = block_bytes("CompanyName", &utf16("Example\0"), true, &[]);
        let table = block_bytes("040904b0", &[], false, &[company]);
        let sfi = block_bytes("StringFileInfo", &[], false, &[table]);
        let root = block_bytes("VS_VERSION_INFO", &[0; 52], false, &[sfi]);
        for cut in 0..root.len() {
            let mut out = Vec::new();
            string_keys(&root[..cut], 0, &mut out);
            assert!(out.len() <= 1);
        }
        let mut looped = root.clone();
        looped[0..2].copy_from_slice(&0xffffu16.to_le_bytes());
        let mut out = Vec::new();
        string_keys(&looped, 0, &mut out);
        assert!(out.is_empty(), "a block longer than the file is refused");
    }
}
