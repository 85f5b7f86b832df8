//! UPX: the sections' contents compressed with NRV2B, NRV2D or NRV2E into
//! one section, unpacked at run time into an empty (no raw data) section
//! before it by a stub at the entry point.
//!
//! The stub starts `pusha; mov esi, SRC; lea edi, [esi + DELTA]`
//! (`60 BE imm32 8D BE imm32`): SRC is the compressed data's virtual
//! address, SRC + DELTA where it is unpacked. Without that stub (as when
//! another protector wraps UPX), a file whose first section is empty and
//! whose second has data is tried as the same layout (the second section's
//! data unpacked to the first's address), as ClamAV does, after the other
//! unpackers. The three coders are tried in turn
//! (their bit streams do not tell them apart); the first that reaches its
//! end marker wins. The output is bounded by `SizeOfImage` and the budget.
//! The stream holds the original sections' contents followed by UPX's copy
//! of the original import names and PE header; the image is cut at the
//! `SizeOfImage` that header states, so it ends where the original sections
//! end, as ClamAV's rebuilt file does (what was appended to the packed
//! program is then the image's last bytes, carved as ClamAV carves it).
//! UPX's call/jump filter, which rewrites `E8`/`E9` operands in code, is
//! not undone: the unpacked data is what is scanned, not the code.

use super::headers::{rebuild, Headers};
use super::nrv::{decompress, Method};

/// What UPX compressed: the data's file offset and the RVA it unpacks to.
struct Layout {
    src: usize,
    dest: u32,
}

/// Where UPX's stub at the entry point says its data is.
fn stub_layout(data: &[u8], h: &Headers) -> Option<Layout> {
    let ep = h.offset_of(h.entry)?;
    let stub = data.get(ep..ep.checked_add(12)?)?;
    if stub[0] == 0x60 && stub[1] == 0xbe && stub[6] == 0x8d && stub[7] == 0xbe {
        let src_va = u32::from_le_bytes([stub[2], stub[3], stub[4], stub[5]]);
        let delta = i32::from_le_bytes([stub[8], stub[9], stub[10], stub[11]]);
        let src_rva = src_va.checked_sub(h.image_base)?;
        let dest = src_rva.checked_add_signed(delta)?;
        return Some(Layout {
            src: h.offset_of(src_rva)?,
            dest,
        });
    }
    None
}

/// UPX's section layout without its stub: an empty first section, and
/// raw data in the second to unpack into it.
fn guessed_layout(h: &Headers) -> Option<Layout> {
    let [first, second, ..] = h.sections.as_slice() else {
        return None;
    };
    let empty_first = first.rsize == 0 && first.vsize != 0;
    (empty_first && second.rsize != 0).then_some(Layout {
        src: second.raw as usize,
        dest: first.rva,
    })
}

/// Unpack a file with UPX's stub at its entry point into a rebuilt image
/// of at most `limit` bytes; `None` when it is not one or no coder decodes
/// it.
pub(crate) fn unpack(data: &[u8], h: &Headers, limit: u64) -> Option<(&'static str, Vec<u8>)> {
    unpack_at(data, h, stub_layout(data, h)?, limit)
}

/// Unpack a file laid out as UPX lays out files, whatever its entry point
/// (another packer's wrapper may hide UPX's stub).
pub(crate) fn unpack_guessed(
    data: &[u8],
    h: &Headers,
    limit: u64,
) -> Option<(&'static str, Vec<u8>)> {
    unpack_at(data, h, guessed_layout(h)?, limit)
}

fn unpack_at(data: &[u8], h: &Headers, l: Layout, limit: u64) -> Option<(&'static str, Vec<u8>)> {
    let input = data.get(l.src..)?;
    let room = u64::from(h.size_of_image.checked_sub(l.dest)?)
        .min(limit.saturating_sub(u64::from(l.dest)));
    let room = usize::try_from(room).ok()?;
    for (method, name) in [
        (Method::Nrv2b, "(UPX NRV2B)"),
        (Method::Nrv2d, "(UPX NRV2D)"),
        (Method::Nrv2e, "(UPX NRV2E)"),
    ] {
        if let Ok((mut image, _)) = decompress(input, method, room) {
            if let Some(end) = original_image_end(&image, l.dest) {
                image.truncate(end);
            }
            return rebuild(data, h, l.dest, &image, limit).map(|img| (name, img));
        }
    }
    None
}

/// Where the original image ends in the unpacked data (which starts at RVA
/// `dest`): the `SizeOfImage` of the last PE header after that end.
fn original_image_end(image: &[u8], dest: u32) -> Option<usize> {
    let at = memchr::memmem::rfind(image, b"PE\0\0\x4c\x01")?;
    let size_field = at.checked_add(24 + 56)?;
    let size = image.get(size_field..size_field.checked_add(4)?)?;
    let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]);
    let end = usize::try_from(size.checked_sub(dest)?).ok()?;
    (end <= at).then_some(end)
}
