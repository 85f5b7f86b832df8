//! cpio archives in all four of their header forms: old binary in either
//! byte order, portable ASCII ("odc", octal), and SVR4 ("newc", hex, with
//! or without CRC). A member is a header, its name (NUL-terminated), and its
//! data; the member named `TRAILER!!!` ends the archive. Read with a cursor
//! whose every step is bounds-checked: a damaged header ends the archive.

use crate::budget::Budget;
use crate::container::{emit, read_child, UnpackError, Visit};

/// The header form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpioKind {
    /// Old binary, little-endian (magic `c7 71`).
    BinLe,
    /// Old binary, big-endian (magic `71 c7`).
    BinBe,
    /// Portable ASCII, octal fields (magic `070707`).
    Odc,
    /// SVR4 ASCII, hex fields (magic `070701` or `070702`).
    Newc,
}

/// One parsed header: name length, data length, and the padding rule.
struct Header {
    header_len: usize,
    name_len: usize,
    data_len: usize,
    align: usize,
}

fn octal(b: &[u8]) -> Option<usize> {
    usize::from_str_radix(std::str::from_utf8(b).ok()?, 8).ok()
}

fn hex(b: &[u8]) -> Option<usize> {
    usize::from_str_radix(std::str::from_utf8(b).ok()?, 16).ok()
}

fn header(kind: CpioKind, h: &[u8]) -> Option<Header> {
    match kind {
        CpioKind::BinLe | CpioKind::BinBe => {
            let h = h.get(..26)?;
            let word = |i: usize| {
                let b = [h[i], h[i + 1]];
                usize::from(if kind == CpioKind::BinLe {
                    u16::from_le_bytes(b)
                } else {
                    u16::from_be_bytes(b)
                })
            };
            Some(Header {
                header_len: 26,
                name_len: word(20),
                data_len: word(22) << 16 | word(24),
                align: 2,
            })
        }
        CpioKind::Odc => {
            let h = h.get(..76)?;
            Some(Header {
                header_len: 76,
                name_len: octal(&h[59..65])?,
                data_len: octal(&h[65..76])?,
                align: 1,
            })
        }
        CpioKind::Newc => {
            let h = h.get(..110)?;
            Some(Header {
                header_len: 110,
                name_len: hex(&h[94..102])?,
                data_len: hex(&h[54..62])?,
                align: 4,
            })
        }
    }
}

fn pad(n: usize, align: usize) -> usize {
    n.div_ceil(align) * align
}

pub(crate) fn read(
    data: &[u8],
    kind: CpioKind,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let mut pos = 0;
    while let Some(h) = data.get(pos..).and_then(|rest| header(kind, rest)) {
        let name_start = pos + h.header_len;
        let Some(raw_name) = data.get(name_start..name_start + h.name_len) else {
            break;
        };
        let name = String::from_utf8_lossy(raw_name.split(|&b| b == 0).next().unwrap_or(&[]));
        if name == "TRAILER!!!" {
            break;
        }
        let data_start = pad(name_start + h.name_len, h.align);
        let data_end = data_start.saturating_add(h.data_len);
        let Some(body) = data.get(data_start..data_end) else {
            break;
        };
        if !body.is_empty() {
            if let Some(bytes) = read_child(body, budget)? {
                if emit(Some(name.into_owned()), bytes, budget, visit).is_break() {
                    return Ok(());
                }
            }
        }
        pos = pad(data_end, h.align);
    }
    Ok(())
}
