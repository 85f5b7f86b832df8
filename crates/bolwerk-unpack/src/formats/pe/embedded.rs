//! Objects stored inside a PE file: further PE files and zip members
//! (self-extracting archives), as ClamAV finds them by their magic in an
//! executable's bytes.
//!
//! * An embedded PE is an `MZ` at an offset past 0 whose `e_lfanew` points
//!   at a valid PE header ([`crate::pe::parse`]). It is carved from there
//!   to the end of the object, as ClamAV does (measured with clamscan 1.4:
//!   the `clam.exe` that UPX's test file holds is matched as the last 544
//!   bytes of the unpacked image; its own headers claim 1024). Only the
//!   last `MaxEmbeddedPE` (10 MiB, ClamAV's default) bytes are looked at,
//!   so no carved object is larger, and at most [`MAX_EMBEDDED_PE`]
//!   candidates are examined.
//! * A zip member is a local file header (`PK\3\4`) anywhere past offset 0;
//!   each is read on its own (ClamAV's `ZIPSFX` handling), so a zip
//!   appended to an installer stub yields its members. At most
//!   [`MAX_ZIP_HEADERS`] headers are tried.

use std::io::Cursor;
use std::sync::LazyLock;

use memchr::memmem;

use crate::budget::Budget;
use crate::container::{emit, Flow, UnpackError, Visit};
use crate::formats::zip;

/// ClamAV's `MaxEmbeddedPE` default: how far before the end of an object
/// embedded PE files are looked for.
pub(crate) const MAX_EMBEDDED_PE_SIZE: usize = 10 << 20;
/// Embedded-PE candidates (`MZ` with a PE header behind it) handed on.
pub(crate) const MAX_EMBEDDED_PE: usize = 16;
/// `MZ` hits whose headers are examined.
const MAX_MZ_HITS: usize = 1 << 16;
/// Zip local headers tried.
pub(crate) const MAX_ZIP_HEADERS: usize = 1 << 14;

/// Hand on each PE file embedded in `data` past offset 0.
pub(crate) fn pes(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<Flow, UnpackError> {
    let from = data.len().saturating_sub(MAX_EMBEDDED_PE_SIZE).max(1);
    let Some(tail) = data.get(from..) else {
        return Ok(Flow::Continue(()));
    };
    let mut found = 0;
    let finder = memmem::Finder::new(b"MZ");
    for at in budget.find_all(&finder, tail, MAX_MZ_HITS) {
        let candidate = &tail[at..];
        if crate::pe::parse(candidate).is_none() {
            continue;
        }
        let allowance = budget.allowance()?;
        if candidate.len() as u64 > allowance {
            budget.note(budget.blame(allowance));
            continue;
        }
        let name = format!("(embedded PE at {})", from + at);
        if emit(Some(name), candidate.to_vec(), budget, visit).is_break() {
            return Ok(Flow::Break(()));
        }
        found += 1;
        if found == MAX_EMBEDDED_PE {
            break;
        }
    }
    Ok(Flow::Continue(()))
}

/// Hand on the member behind each zip local file header in `data` past
/// offset 0.
pub(crate) fn zip_members(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<Flow, UnpackError> {
    let Some(body) = data.get(1..) else {
        return Ok(Flow::Continue(()));
    };
    let hits = budget.find_all(&ZIP_HEADER, body, MAX_ZIP_HEADERS);
    zip_members_at(body, hits, budget, visit)
}

/// The zip local file header's magic.
pub(crate) static ZIP_HEADER: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"PK\x03\x04"));

/// Hand on the member behind each zip local file header of `body` at
/// `hits`.
pub(crate) fn zip_members_at(
    body: &[u8],
    hits: Vec<usize>,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<Flow, UnpackError> {
    for at in hits {
        let mut cursor = Cursor::new(&body[at..]);
        if zip::member_at(&mut cursor, budget, visit)?.is_break() {
            return Ok(Flow::Break(()));
        }
    }
    Ok(Flow::Continue(()))
}
