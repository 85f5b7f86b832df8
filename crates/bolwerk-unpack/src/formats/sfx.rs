//! Archives and documents inside data of no container type: a zip, 7z,
//! cabinet, ARJ or RAR archive or PDF document after other bytes (a
//! self-extracting stub, a header, junk), found by its magic anywhere past
//! offset 0 and read from there, as ClamAV's `*-SFX` file-type rules do
//! for binary data and text (measured with clamscan 1.4.6: EICAR in a zip,
//! and Debian's `clam.7z`, `clam.cab`, `clam.arj` and `clam.pdf`, behind 30
//! random bytes or a line of text are found; a gzip or tar.gz there is not,
//! and neither is here).
//!
//! Each candidate is validated by its reader; bytes that only look like a
//! header are skipped. Zip members are read one local header at a time (as
//! in PE files); the other formats are read whole from their magic. At most
//! [`MAX_CANDIDATES`] candidates of each other format are tried. RAR
//! archives are also looked for in executables ([`rar_archives`]: RAR's
//! self-extracting archives). Each magic is searched for chunk by chunk,
//! the chunks handed back as searched ([`Budget::find_all`]), so the
//! searches over a large mapped file keep little of it resident.

use std::cell::Cell;
use std::sync::LazyLock;

use memchr::memmem;

use crate::budget::Budget;
use crate::container::{UnpackError, Visit};
use crate::formats::pe::{zip_members_at, MAX_ZIP_HEADERS, ZIP_HEADER};
use crate::formats::{arj, cab, pdf, rar, sevenz};
use crate::Child;

/// Candidates of each format other than zip examined per object.
pub(crate) const MAX_CANDIDATES: usize = 64;

/// A container reader.
type ReadFn = fn(&[u8], &mut Budget, &mut Visit<'_>) -> Result<(), UnpackError>;

/// A format found by its magic, and its reader.
struct Magic {
    bytes: &'static [u8],
    read: ReadFn,
}

const MAGICS: &[Magic] = &[
    Magic {
        bytes: b"7z\xbc\xaf\x27\x1c",
        read: sevenz::read,
    },
    Magic {
        bytes: b"MSCF\0\0\0\0",
        read: cab::read,
    },
    Magic {
        bytes: b"\x60\xea",
        read: arj::read,
    },
    Magic {
        bytes: b"%PDF-",
        read: pdf::read,
    },
    Magic {
        bytes: RAR_MAGIC,
        read: rar::read,
    },
];

/// The magic of RAR 1.5 and later archives.
const RAR_MAGIC: &[u8] = b"Rar!\x1a\x07";

static FINDERS: LazyLock<Vec<memmem::Finder<'static>>> = LazyLock::new(|| {
    MAGICS
        .iter()
        .map(|m| memmem::Finder::new(m.bytes))
        .collect()
});

/// Visit what is embedded in `data` past offset 0: zip members, then the
/// other formats in the order of their magic.
pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let Some(body) = data.get(1..) else {
        return Ok(());
    };
    // Every magic in one pass over the object.
    let mut finders = vec![(&*ZIP_HEADER, MAX_ZIP_HEADERS)];
    finders.extend(FINDERS.iter().map(|f| (f, MAX_CANDIDATES)));
    let mut found = budget.find_each(&finders, body).into_iter();
    let zips = found.next().unwrap_or_default();
    if zip_members_at(body, zips, budget, visit)?.is_break() {
        return Ok(());
    }
    let mut hits: Vec<(usize, usize)> = Vec::new();
    for (m, at) in found.enumerate() {
        hits.extend(at.into_iter().map(|at| (at + 1, m)));
    }
    hits.sort_unstable();
    let candidates = hits.into_iter().map(|(at, m)| (at, MAGICS[m].read));
    read_candidates(data, candidates, budget, visit)
}

/// RAR archives in `data` past offset 0 (a self-extracting executable's
/// payload), each read from its magic; bytes that only look like one are
/// skipped.
pub(crate) fn rar_archives(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let Some(body) = data.get(1..) else {
        return Ok(());
    };
    let finder = memmem::Finder::new(RAR_MAGIC);
    let candidates = budget
        .find_all(&finder, body, MAX_CANDIDATES)
        .into_iter()
        .map(|at| (at + 1, rar::read as ReadFn));
    read_candidates(data, candidates, budget, visit)
}

/// Read each candidate (an offset in `data` and the reader of what starts
/// there) in turn, until the visitor asks to stop. Bytes that only look
/// like the format end that candidate; an exhausted budget ends them all.
fn read_candidates(
    data: &[u8],
    candidates: impl Iterator<Item = (usize, ReadFn)>,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let stopped = Cell::new(false);
    let mut watch = |child: Child, budget: &mut Budget| {
        let flow = visit(child, budget);
        stopped.set(stopped.get() || flow.is_break());
        flow
    };
    for (at, read) in candidates {
        match read(&data[at..], budget, &mut watch) {
            Ok(()) | Err(UnpackError::Malformed(_) | UnpackError::Encrypted) => {}
            Err(limit) => return Err(limit),
        }
        if stopped.get() {
            break;
        }
    }
    Ok(())
}
