//! RAR archives, every version from RAR 1.3 to RAR 7 (the `rars` crate,
//! read-only: no encoders, no crypto).
//!
//! Members are decoded in archive order, each into a buffer that becomes a
//! child once the decoder moves on, so memory holds one member (plus the
//! decoder's dictionary). A member over the size allowance is skipped (in a
//! solid archive it is decoded into nothing, as the members after it need
//! its history); encrypted members are handed on as encrypted children
//! without their bytes (as zip's are), directories and links are skipped; a
//! member that fails to decode (a bad checksum, a part in another volume)
//! is handed on as far as it decoded, and the next one is tried.
//!
//! Bounded: the decoder's own limits are set from the budget — bytes per
//! member and in all, and the dictionary a RAR5 archive may ask for.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use rars::{
    ArchiveFamily, ArchiveMember, ArchiveReadOptions, ArchiveReader, ExtractionDecision,
    ExtractionErrorAction,
};

use crate::budget::Budget;
use crate::container::{emit, emit_with, malformed, Meta, UnpackError, Visit};

/// The largest dictionary a RAR5 archive may ask for (WinRAR's default is
/// 32 MiB; its largest for RAR 5.0 archives is 1 GiB).
const MAX_DICTIONARY: u64 = 256 << 20;
/// Headers read per archive, at most.
const MAX_HEADERS: u64 = 100_000;

pub(crate) fn read(
    data: &[u8],
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    let allowance = budget.allowance()?;
    let options = ArchiveReadOptions::new()
        .with_max_header_count(MAX_HEADERS)
        .with_max_member_output_bytes(allowance.saturating_add(1))
        .with_rar50_dictionary_size_limit(MAX_DICTIONARY);
    let archive = ArchiveReader::read_with_options(data, options).map_err(error)?;
    let solid = archive.is_solid();
    let mut walk = Walk {
        budget,
        visit,
        pending: None,
        stopped: false,
    };
    let outcome = archive.extract_with_control_and_errors(
        options,
        |member| Ok(walk.next(member, solid)),
        |_, _| Ok(ExtractionErrorAction::Continue),
    );
    walk.flush();
    match outcome {
        Ok(_) => Ok(()),
        Err(_) if walk.stopped => Ok(()),
        Err(e) => Err(error(e)),
    }
}

/// Headers that need a password are told apart from damage.
fn error(e: rars::Error) -> UnpackError {
    if matches!(
        e.kind(),
        rars::ErrorKind::PasswordRequired | rars::ErrorKind::BadPassword
    ) {
        UnpackError::Encrypted
    } else {
        malformed(e)
    }
}

/// The member being decoded: its name and the buffer its bytes go to.
struct Pending {
    name: String,
    bytes: Rc<RefCell<Vec<u8>>>,
}

struct Walk<'b, 'r, 'v, 'w> {
    budget: &'b mut Budget<'r>,
    visit: &'v mut Visit<'w>,
    pending: Option<Pending>,
    /// The visitor asked to stop, or the budget ran out.
    stopped: bool,
}

impl Walk<'_, '_, '_, '_> {
    /// Hand on the member decoded so far, then decide about `member`.
    fn next(&mut self, member: &ArchiveMember, solid: bool) -> ExtractionDecision {
        self.flush();
        if self.stopped {
            return ExtractionDecision::Stop;
        }
        let meta = &member.meta;
        if meta.is_directory || meta.is_redirection || meta.is_split_before || meta.is_split_after {
            // A part of a member split across volumes cannot be decoded alone.
            return ExtractionDecision::Skip;
        }
        let discard = || {
            if solid {
                ExtractionDecision::Extract(Box::new(std::io::sink()))
            } else {
                ExtractionDecision::Skip
            }
        };
        if meta.is_encrypted {
            // What the archive records about it (for container metadata
            // signatures, and the encrypted-archive heuristic).
            let encrypted = Meta {
                packed_size: Some(meta.packed_size),
                stated_size: Some(meta.unpacked_size),
                encrypted: true,
                crc32: None,
            };
            let name = meta.name_lossy();
            if emit_with(Some(name), Vec::new(), encrypted, self.budget, self.visit).is_break() {
                self.stopped = true;
                return ExtractionDecision::Stop;
            }
            return discard();
        }
        let allowance = match self.budget.allowance() {
            Ok(a) => a,
            Err(limit) => {
                self.budget.note(limit);
                self.stopped = true;
                return ExtractionDecision::Stop;
            }
        };
        if meta.unpacked_size > allowance {
            self.budget.note(self.budget.blame(allowance));
            return discard();
        }
        let bytes = Rc::new(RefCell::new(Vec::new()));
        let mut name = member
            .decoded_name(None)
            .map(|n| String::from_utf8_lossy(&n).into_owned())
            .unwrap_or_else(|_| meta.name_lossy());
        if meta.family != ArchiveFamily::Rar50Plus {
            // RAR before 5.0 stores Windows paths.
            name = name.replace('\\', "/");
        }
        self.pending = Some(Pending {
            name,
            bytes: Rc::clone(&bytes),
        });
        ExtractionDecision::Extract(Box::new(Capped {
            bytes,
            cap: allowance,
        }))
    }

    /// Emit the pending member, if it decoded to anything.
    fn flush(&mut self) {
        let Some(p) = self.pending.take() else {
            return;
        };
        let data = std::mem::take(&mut *p.bytes.borrow_mut());
        if data.is_empty() || self.stopped {
            return;
        }
        if emit(Some(p.name), data, self.budget, self.visit).is_break() {
            self.stopped = true;
        }
    }
}

/// A member's destination: a buffer that refuses bytes past `cap`.
struct Capped {
    bytes: Rc<RefCell<Vec<u8>>>,
    cap: u64,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut bytes = self.bytes.borrow_mut();
        if (bytes.len() + buf.len()) as u64 > self.cap {
            return Err(std::io::Error::other("member larger than it said"));
        }
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
