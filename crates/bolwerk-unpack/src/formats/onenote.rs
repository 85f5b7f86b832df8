//! OneNote sections (`.one`): the files attached to notes.
//!
//! A section file starts with the GUID `{7B5C52E4-D88C-4DA7-AEB1-5378D02996D3}`.
//! Each attached file is stored whole in a FileDataStoreObject ([MS-ONESTORE]
//! 2.6.13): the header GUID `{BDE316E7-2665-4511-A4C4-8D4D0B7A9EAC}`, the
//! data's length (64 bits), four unused and eight reserved bytes, then the
//! data. The objects are found by their GUID rather than through the
//! file's node lists, so attachments of damaged sections are found too
//! (as ClamAV does when its parser gives up). Each attachment is a child.

use crate::budget::Budget;
use crate::container::{emit, UnpackError, Visit};

/// `{7B5C52E4-D88C-4DA7-AEB1-5378D02996D3}` as stored (little-endian fields).
pub(crate) const MAGIC: [u8; 16] = [
    0xe4, 0x52, 0x5c, 0x7b, 0x8c, 0xd8, 0xa7, 0x4d, 0xae, 0xb1, 0x53, 0x78, 0xd0, 0x29, 0x96, 0xd3,
];

/// `{BDE316E7-2665-4511-A4C4-8D4D0B7A9EAC}`, a FileDataStoreObject's header.
const FILE_DATA: [u8; 16] = [
    0xe7, 0x16, 0xe3, 0xbd, 0x65, 0x26, 0x11, 0x45, 0xa4, 0xc4, 0x8d, 0x4d, 0x0b, 0x7a, 0x9e, 0xac,
];

/// Header GUID, length, unused, reserved.
const HEADER: usize = 16 + 8 + 4 + 8;

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let mut from = 0;
    let mut n = 0;
    while let Some(at) = memchr::memmem::find(&data[from..], &FILE_DATA).map(|p| from + p) {
        let Some(len) = data.get(at + 16..at + 24) else {
            break;
        };
        let len = u64::from_le_bytes(len.try_into().expect("8 bytes"));
        let start = (at + HEADER).min(data.len());
        // A length past the end keeps what the file holds.
        let end = start.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
        let attachment = &data[start..end.min(data.len())];
        from = start.max(at + 16) + attachment.len();
        let allowance = budget.allowance()?;
        if attachment.len() as u64 > allowance {
            budget.note(budget.blame(allowance));
            continue;
        }
        n += 1;
        if attachment.is_empty() {
            continue;
        }
        let name = Some(format!("attachment{n}"));
        if emit(name, attachment.to_vec(), budget, visit).is_break() {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(data: &[u8]) -> Vec<u8> {
        let mut o = FILE_DATA.to_vec();
        o.extend_from_slice(&(data.len() as u64).to_le_bytes());
        o.extend_from_slice(&[0; 12]);
        o.extend_from_slice(data);
        o
    }

    fn children(data: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut budget = Budget::new(&crate::Limits::default());
        let mut visit = |c: crate::Child, _: &mut Budget| {
            out.push(c.data);
            std::ops::ControlFlow::Continue(())
        };
        read(data, &mut budget, &mut visit).unwrap();
        out
    }

    #[test]
    fn attachments_found_by_their_header() {
        let file = [
            MAGIC.as_slice(),
            &[0; 100],
            &object(b"first"),
            &[7; 9],
            &object(b""),
            &object(b"second"),
        ]
        .concat();
        assert_eq!(children(&file), [b"first".to_vec(), b"second".to_vec()]);
        // Cut anywhere: no panic; a cut attachment keeps what is there.
        for cut in 0..file.len() {
            let _ = children(&file[..cut]);
        }
        let cut = &file[..file.len() - 3];
        assert_eq!(children(cut).last().unwrap(), b"sec");
    }
}
