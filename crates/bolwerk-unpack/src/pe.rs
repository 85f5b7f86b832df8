//! PE section layout, computed the way ClamAV computes it, so that section
//! hash signatures (`.mdb`, `.msb`) written for ClamAV match the same bytes.
//!
//! Header structures are read with the `object` crate's PE definitions;
//! what this module adds is ClamAV's lenient interpretation of them:
//!
//! * the file must start with `MZ` (or `ZM`), `e_lfanew` must be non-zero
//!   and point at `PE\0\0`, and there must be at least one section;
//! * the optional header must hold at least its fixed part (96 bytes, or
//!   112 for PE32+, told by magic `0x20b`; any other magic is read as PE32)
//!   plus the data directories it declares (at most 16 count);
//! * a section's file range is its raw pointer rounded *down* and its raw
//!   size rounded *up* to the file alignment (with the fallback to 0x200
//!   for files whose pointers are 0x200-aligned but not `FileAlignment`-
//!   aligned), in 32-bit arithmetic; a section starting at or past the end
//!   of the file is dropped, one running past it is cut at the end;
//! * a field with its top bit set, or an entry point that lies in no
//!   section's raw data (nor in the headers), makes the file "not a valid
//!   PE" and no section is returned.
//!
//! Every read is bounds-checked; hostile headers yield `None`, never a panic.

use std::ops::Range;

use object::pe::{
    ImageDosHeader, ImageFileHeader, ImageOptionalHeader32, ImageOptionalHeader64,
    ImageSectionHeader,
};
use object::{LittleEndian as LE, ReadRef};

/// Sections larger than this are not hashed (ClamAV's allocation cap).
pub const MAX_SECTION_SIZE: u32 = 1 << 30;
const PE_MAGIC: u32 = 0x0000_4550;
const PE32PLUS_MAGIC: u16 = 0x20b;
const TOP_BIT: u32 = 0x8000_0000;

/// One section as ClamAV sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Virtual address, aligned down to the section alignment.
    pub rva: u32,
    /// File offset, aligned down to the file alignment.
    pub raw: u32,
    /// Raw size, aligned up and cut at the end of the file.
    pub rsz: u32,
}

impl Section {
    /// The byte range to hash, or `None` for an empty or oversized section.
    pub fn hash_range(&self) -> Option<Range<usize>> {
        if self.rsz == 0 || self.rsz > MAX_SECTION_SIZE {
            return None;
        }
        let start = self.raw as usize;
        Some(start..start + self.rsz as usize)
    }
}

/// The byte ranges whose hashes section signatures compare, in header order.
/// Empty when `data` is not a PE file ClamAV would parse.
pub fn section_hash_ranges(data: &[u8]) -> Vec<Range<usize>> {
    sections(data)
        .unwrap_or_default()
        .iter()
        .filter_map(Section::hash_range)
        .collect()
}

/// Header fields the section layout depends on.
struct Layout {
    entry: u32,
    salign: u32,
    falign: u32,
    size_of_headers: u32,
    /// The resource directory's RVA, when the header declares one.
    resources: Option<u32>,
}

/// What body signatures' offsets need of a PE file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeInfo {
    /// The sections, in header order.
    pub sections: Vec<Section>,
    /// The entry point's file offset.
    pub entry: u64,
    /// File offsets of the keys of the version information strings
    /// (`VI` offsets), sorted; see [`crate::pe_version`].
    pub version_info: Vec<u64>,
}

/// The sections of a PE file, or `None` when it is not a valid one.
pub fn sections(data: &[u8]) -> Option<Vec<Section>> {
    parse(data).map(|i| i.sections)
}

/// Sections and entry point of a PE file, or `None` when it is not a valid
/// one.
pub fn parse(data: &[u8]) -> Option<PeInfo> {
    if !(data.starts_with(b"MZ") || data.starts_with(b"ZM")) {
        return None;
    }
    let dos: &ImageDosHeader = data.read_at(0).ok()?;
    let nt = u64::from(dos.e_lfanew.get(LE));
    if nt == 0 || data.read_at::<object::U32<LE>>(nt).ok()?.get(LE) != PE_MAGIC {
        return None;
    }
    let file: &ImageFileHeader = data.read_at(nt + 4).ok()?;
    let count = file.number_of_sections.get(LE);
    let soh = u64::from(file.size_of_optional_header.get(LE));
    if count == 0 {
        return None;
    }
    let opt = nt + 24;
    let layout = read_optional_header(data, opt, soh)?;
    let headers: &[ImageSectionHeader] = data.read_slice_at(opt + soh, count.into()).ok()?;
    let list = layout_sections(headers, &layout, data.len() as u64)?;
    let entry = entry_offset(&list, &layout, data.len() as u64)?;
    let version_info = layout
        .resources
        .map(|rva| crate::pe_version::keys(data, &list, rva))
        .unwrap_or_default();
    Some(PeInfo {
        sections: list,
        entry,
        version_info,
    })
}

fn read_optional_header(data: &[u8], opt: u64, soh: u64) -> Option<Layout> {
    let magic = data.read_at::<object::U16<LE>>(opt).ok()?.get(LE);
    let (base, mut layout, dirs) = if magic == PE32PLUS_MAGIC {
        let h: &ImageOptionalHeader64 = data.read_at(opt).ok().filter(|_| soh >= 112)?;
        let l = Layout {
            entry: h.address_of_entry_point.get(LE),
            salign: h.section_alignment.get(LE),
            falign: h.file_alignment.get(LE),
            size_of_headers: h.size_of_headers.get(LE),
            resources: None,
        };
        (112, l, h.number_of_rva_and_sizes.get(LE))
    } else {
        let h: &ImageOptionalHeader32 = data.read_at(opt).ok().filter(|_| soh >= 96)?;
        let l = Layout {
            entry: h.address_of_entry_point.get(LE),
            salign: h.section_alignment.get(LE),
            falign: h.file_alignment.get(LE),
            size_of_headers: h.size_of_headers.get(LE),
            resources: None,
        };
        (96, l, h.number_of_rva_and_sizes.get(LE))
    };
    let dir_bytes = 8 * u64::from(dirs.min(16));
    if soh < base + dir_bytes {
        return None;
    }
    let dirs_bytes = data.read_bytes_at(opt + base, dir_bytes).ok()?;
    // Data directory 2: the resources (RVA, size).
    layout.resources = dirs_bytes
        .get(16..24)
        .map(|d| {
            let rva = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
            let size = u32::from_le_bytes([d[4], d[5], d[6], d[7]]);
            (rva, size)
        })
        .filter(|&(rva, size)| rva != 0 && size != 0)
        .map(|(rva, _)| rva);
    Some(layout)
}

/// Round down to a multiple of `a` (unchanged when `a` is 0).
fn align_down(v: u32, a: u32) -> u32 {
    v.checked_div(a).map_or(v, |q| q * a)
}

/// Round up to a multiple of `a` in 32-bit arithmetic (unchanged when `a` is 0).
fn align_up(v: u32, a: u32) -> u32 {
    if a == 0 {
        return v;
    }
    v.wrapping_add(a - 1) / a * a
}

/// ClamAV falls back to 0x200 when a pointer is 0x200-aligned but not
/// aligned to the declared file alignment.
fn effective_file_alignment(headers: &[ImageSectionHeader], falign: u32) -> u32 {
    if falign == 0x200 {
        return falign;
    }
    let misaligned = headers.iter().any(|s| {
        let (ptr, size) = (s.pointer_to_raw_data.get(LE), s.size_of_raw_data.get(LE));
        falign != 0 && size != 0 && ptr % falign != 0 && ptr % 0x200 == 0
    });
    if misaligned {
        0x200
    } else {
        falign
    }
}

fn layout_sections(
    headers: &[ImageSectionHeader],
    layout: &Layout,
    fsize: u64,
) -> Option<Vec<Section>> {
    let falign = effective_file_alignment(headers, layout.falign);
    let mut out = Vec::with_capacity(headers.len());
    for h in headers {
        let (uraw, mut ursz) = (h.pointer_to_raw_data.get(LE), h.size_of_raw_data.get(LE));
        let raw = align_down(uraw, falign);
        let mut rsz = align_up(ursz, falign);
        if rsz != 0 && (u64::from(raw) >= fsize || u64::from(uraw) >= fsize) {
            continue; // outside the file: dropped
        }
        if rsz != 0 && u64::from(raw) + u64::from(rsz) > fsize {
            rsz = (fsize - u64::from(raw)) as u32;
        }
        if ursz != 0 && u64::from(uraw) + u64::from(ursz) > fsize {
            // 32-bit arithmetic as in ClamAV: a pointer past the end wraps
            // (found by fuzzing: SizeOfRawData 0xffffffff wraps rsz to 0).
            ursz = (fsize as u32).wrapping_sub(uraw);
        }
        let (urva, uvsz) = (h.virtual_address.get(LE), h.virtual_size.get(LE));
        if (urva | uvsz | ursz) & TOP_BIT != 0 || (rsz != 0 && uraw & TOP_BIT != 0) {
            return None;
        }
        out.push(Section {
            rva: align_down(urva, layout.salign),
            raw,
            rsz,
        });
    }
    (!out.is_empty()).then_some(out)
}

/// The entry point's file offset; `None` when it lies in no section's raw
/// data nor in the headers (ClamAV then treats the file as broken).
fn entry_offset(list: &[Section], layout: &Layout, fsize: u64) -> Option<u64> {
    let ep = layout.entry;
    if ep < align_up(layout.size_of_headers, layout.salign) {
        return (u64::from(ep) < fsize).then_some(u64::from(ep));
    }
    list.iter()
        .rev()
        .find(|s| s.rsz != 0 && s.rva <= ep && u64::from(ep) < u64::from(s.rva) + u64::from(s.rsz))
        .map(|s| u64::from(s.raw) + u64::from(ep - s.rva))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_arithmetic() {
        assert_eq!(align_down(0x3ff, 0x200), 0x200);
        assert_eq!(align_up(0x201, 0x200), 0x400);
        assert_eq!(align_up(7, 0), 7);
        assert_eq!(align_up(u32::MAX - 1, 0x200), 0); // wraps as in 32-bit C
        assert_eq!(align_down(0x3fe, 3), 0x3fc);
    }

    /// A fuzzer-found header: SizeOfRawData 0xffffffff with FileAlignment
    /// 0x40 wraps the aligned size to 0, and the pointer lies past the end.
    #[test]
    fn wrapped_sizes_do_not_panic() {
        let mut d = vec![0u8; 352];
        d[..2].copy_from_slice(b"MZ");
        d[0x3c] = 0x40;
        d[0x40..0x48].copy_from_slice(&[b'P', b'E', 0, 0, 0x4c, 0x01, 1, 0]);
        d[0x54] = 0xe0;
        d[0x58..0x5a].copy_from_slice(&[0x0b, 0x01]);
        d[0x7c] = 0x40;
        d[0xb4] = 0x10;
        d[0x148..0x150].fill(0xff);
        assert!(section_hash_ranges(&d).is_empty());
    }

    #[test]
    fn not_pe() {
        assert!(sections(b"").is_none());
        assert!(sections(b"MZ").is_none());
        let mut d = vec![0u8; 256];
        d[..2].copy_from_slice(b"MZ");
        assert!(sections(&d).is_none()); // e_lfanew 0
        d[60] = 0x80;
        assert!(sections(&d).is_none()); // no PE signature
        d[0x80..0x84].copy_from_slice(b"PE\0\0");
        assert!(sections(&d).is_none()); // no sections
        d[60..64].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(sections(&d).is_none()); // e_lfanew out of range
    }
}
