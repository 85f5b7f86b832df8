//! PE files as containers: the objects embedded in them
//! ([`embedded`]) and the files packers compressed into them, one module
//! per packer. Each unpacker recognises its packer from the section table
//! and the entry point's code, decompresses within the budget and hands on
//! the unpacked image laid out as a PE file (the packed file's headers,
//! sections at their virtual addresses), which the scanner reads again —
//! so what was packed inside is carved from it in turn.

use crate::budget::Budget;
use crate::container::{emit, UnpackError, Visit};

mod aplib;
mod aspack;
mod embedded;
mod headers;
mod mew;
mod nrv;
mod petite;
mod upack;
mod upx;
mod wwpack;
mod yc;

pub(crate) use embedded::{zip_members_at, MAX_ZIP_HEADERS, ZIP_HEADER};
use headers::Headers;

/// An unpacker: the packer's name (as the child's name) and the rebuilt
/// image of at most the given size, or `None` when the file is not its.
type Unpacker = fn(&[u8], &Headers, u64) -> Option<(&'static str, Vec<u8>)>;

/// In order: packers told by their code first, UPX's layout guessed last.
const UNPACKERS: &[Unpacker] = &[
    upx::unpack,
    mew::unpack,
    yc::unpack,
    wwpack::unpack,
    petite::unpack,
    aspack::unpack,
    upack::unpack,
    upx::unpack_guessed,
];

/// Visit what a PE file holds: its unpacked image when a packer is
/// recognised, then embedded PE files and zip members.
pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    if let Some(h) = Headers::parse(data) {
        for unpacker in UNPACKERS {
            let allowance = budget.allowance()?;
            if let Some((name, image)) = unpacker(data, &h, allowance) {
                if emit(Some(name.to_string()), image, budget, visit).is_break() {
                    return Ok(());
                }
                break;
            }
        }
    }
    if embedded::pes(data, budget, visit)?.is_break() {
        return Ok(());
    }
    if embedded::zip_members(data, budget, visit)?.is_break() {
        return Ok(());
    }
    super::sfx::rar_archives(data, budget, visit)
}

#[cfg(test)]
mod tests;
