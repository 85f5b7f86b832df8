//! The PE header fields the unpackers need, as the file states them
//! (no ClamAV-style alignment: that is [`crate::pe`]'s concern), and the
//! memory image they rebuild.

use object::pe::{ImageDosHeader, ImageFileHeader, ImageSectionHeader};
use object::{LittleEndian as LE, ReadRef};

const PE_MAGIC: u32 = 0x0000_4550;
/// More section headers than this and the file is not looked at (the
/// loader's own limit).
const MAX_SECTIONS: u16 = 96;

/// One section header's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sect {
    pub name: [u8; 8],
    pub vsize: u32,
    pub rva: u32,
    pub rsize: u32,
    pub raw: u32,
}

/// A 32-bit PE file's headers.
#[derive(Clone, Debug)]
pub(crate) struct Headers {
    pub entry: u32,
    pub image_base: u32,
    pub size_of_image: u32,
    pub size_of_headers: u32,
    pub file_alignment: u32,
    /// File offset of the first section header.
    pub sect_table: u32,
    pub sections: Vec<Sect>,
}

impl Headers {
    /// Read the headers of a PE32 file (`MZ`, `e_lfanew` pointing at
    /// `PE\0\0`, at least one section); `None` for anything else.
    pub fn parse(data: &[u8]) -> Option<Headers> {
        if !data.starts_with(b"MZ") {
            return None;
        }
        let nt = nt_offset(data)?;
        let file: &ImageFileHeader = data.read_at(u64::from(nt) + 4).ok()?;
        let count = file.number_of_sections.get(LE);
        if count == 0 || count > MAX_SECTIONS {
            return None;
        }
        let opt = u64::from(nt) + 24;
        let u32_at = |off: u64| {
            data.read_at::<object::U32<LE>>(opt + off)
                .ok()
                .map(|v| v.get(LE))
        };
        if data.read_at::<object::U16<LE>>(opt).ok()?.get(LE) != 0x10b {
            return None;
        }
        let sect_table = opt + u64::from(file.size_of_optional_header.get(LE));
        let raw: &[ImageSectionHeader] = data.read_slice_at(sect_table, count.into()).ok()?;
        let sections = raw
            .iter()
            .map(|s| Sect {
                name: s.name,
                vsize: s.virtual_size.get(LE),
                rva: s.virtual_address.get(LE),
                rsize: s.size_of_raw_data.get(LE),
                raw: s.pointer_to_raw_data.get(LE),
            })
            .collect();
        Some(Headers {
            entry: u32_at(16)?,
            image_base: u32_at(28)?,
            size_of_image: u32_at(56)?,
            size_of_headers: u32_at(60)?,
            file_alignment: u32_at(36)?,
            sect_table: u32::try_from(sect_table).ok()?,
            sections,
        })
    }

    /// The file offset of `rva`, when it lies in a section's raw data.
    pub fn offset_of(&self, rva: u32) -> Option<usize> {
        let s = self
            .sections
            .iter()
            .rev()
            .find(|s| rva >= s.rva && rva - s.rva < s.rsize)?;
        (s.raw as usize).checked_add((rva - s.rva) as usize)
    }
}

/// `e_lfanew`, when it is non-zero and points at `PE\0\0`.
pub(crate) fn nt_offset(data: &[u8]) -> Option<u32> {
    let dos: &ImageDosHeader = data.read_at(0).ok()?;
    let nt = dos.e_lfanew.get(LE);
    let sig = data.read_at::<object::U32<LE>>(u64::from(nt)).ok()?.get(LE);
    (nt != 0 && sig == PE_MAGIC).then_some(nt)
}

/// A memory image laid out as a file, for the scanner to read again as a
/// PE: the packed file's headers, with each section's raw data pointed at
/// its virtual address, followed by the unpacked `image` bytes placed at
/// their RVAs (the image starts at RVA `base`). Sections past the image's
/// end are given no raw data. `None` when the result would exceed `limit`
/// bytes.
pub(crate) fn rebuild(
    data: &[u8],
    h: &Headers,
    base: u32,
    image: &[u8],
    limit: u64,
) -> Option<Vec<u8>> {
    let head_len = (h.size_of_headers as usize)
        .min(base as usize)
        .min(data.len());
    let end = (base as usize).checked_add(image.len())?;
    if end as u64 > limit {
        return None;
    }
    let mut out = Vec::with_capacity(end);
    out.extend_from_slice(&data[..head_len]);
    out.resize(base as usize, 0);
    out.extend_from_slice(image);
    for (i, s) in h.sections.iter().enumerate() {
        let at = (h.sect_table as usize).saturating_add(40 * i);
        let Some(header) = out.get_mut(at..at.saturating_add(40)) else {
            break;
        };
        let start = (s.rva as usize).min(end);
        let size = (s.vsize.max(s.rsize) as usize).min(end - start);
        header[16..20].copy_from_slice(&(size as u32).to_le_bytes());
        header[20..24].copy_from_slice(&(start as u32).to_le_bytes());
    }
    Some(out)
}

/// The sections' raw data at their RVAs, in a memory image of `size`
/// bytes (what lies past it is left out).
pub(crate) fn map_sections(data: &[u8], h: &Headers, size: usize) -> Vec<u8> {
    let mut image = vec![0u8; size];
    for s in &h.sections {
        let from = (s.raw as usize).min(data.len());
        let to = from.saturating_add(s.rsize as usize).min(data.len());
        let at = (s.rva as usize).min(size);
        let n = (to - from).min(size - at);
        image[at..at + n].copy_from_slice(&data[from..from + n]);
    }
    image
}

/// [`rebuild`] for a loader that unpacks into a memory image laid out
/// from RVA 0: the image from the first section to the end of the other
/// sections or to `end`, whichever is further, leaving out the loader's
/// own section (the one holding the entry point) when it is last.
pub(crate) fn rebuild_unpacked(
    data: &[u8],
    h: &Headers,
    image: &[u8],
    end: usize,
    limit: u64,
) -> Option<Vec<u8>> {
    let base = h.sections.iter().map(|s| s.rva).min()?;
    let mut end = end;
    for s in &h.sections {
        let s_end = s.rva.saturating_add(s.vsize.max(s.rsize));
        if !(s.rva..s_end).contains(&h.entry) {
            end = end.max(s_end as usize);
        }
    }
    let body = image.get(base as usize..end.min(image.len()))?;
    rebuild(data, h, base, body, limit)
}
