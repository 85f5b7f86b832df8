//! Containers: objects that hold other objects.
//!
//! [`unpack`] looks at an object's type and, when it is a container or an
//! encoding this crate reads, hands each object inside it to a visitor, one
//! at a time, as a [`Child`] that owns its bytes. The visitor (the scan
//! driver) scans the child — recursing into it — before the next one is
//! extracted, so memory holds one child per nesting level. Every extraction
//! is charged to the object's [`Budget`]; a child over the size allowance is
//! skipped and the limit noted, a budget that runs out stops the reader.
//! A damaged container yields the children read before the damage.

use std::io::Read;
use std::ops::ControlFlow;

use crate::budget::{Budget, Limit};
use crate::formats;
use crate::FileType;

/// One object found inside another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Child {
    /// Its name inside the container, when the format names it.
    pub name: Option<String>,
    /// Its bytes (empty when [`Meta::encrypted`]: they were not read).
    pub data: Vec<u8>,
    /// What the container records about it.
    pub meta: Meta,
}

/// What a container records about a member besides its bytes, as far as
/// the format tells (container metadata signatures match on it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// Bytes it takes in the container (compressed size).
    pub packed_size: Option<u64>,
    /// Its size once extracted, as the container states it.
    pub stated_size: Option<u64>,
    /// Encrypted: its bytes are not read, only this metadata is known.
    pub encrypted: bool,
    /// The CRC-32 the container records for it.
    pub crc32: Option<u32>,
}

/// What the visitor tells a reader.
pub type Flow = ControlFlow<()>;

/// The visitor: called for each child with the budget.
pub type Visit<'a> = dyn FnMut(Child, &mut Budget) -> Flow + 'a;

/// Why a container could not be read (completely).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnpackError {
    /// The bytes do not follow the format (after the children already given).
    Malformed(String),
    /// A limit stopped extraction.
    Limit(Limit),
    /// Content is encrypted.
    Encrypted,
}

impl From<Limit> for UnpackError {
    fn from(l: Limit) -> UnpackError {
        UnpackError::Limit(l)
    }
}

impl std::fmt::Display for UnpackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnpackError::Malformed(m) => write!(f, "malformed: {m}"),
            UnpackError::Limit(l) => write!(f, "limit exceeded: {}", l.name()),
            UnpackError::Encrypted => f.write_str("encrypted"),
        }
    }
}

impl std::error::Error for UnpackError {}

/// A malformed-input error.
pub(crate) fn malformed(msg: impl std::fmt::Display) -> UnpackError {
    UnpackError::Malformed(msg.to_string())
}

/// Read an object out of `r` within the budget's allowance. `Ok(None)`:
/// the object was larger than one object may be, so it was skipped and the
/// limit noted; an exhausted budget is an error that ends the container.
pub(crate) fn read_child(
    r: impl Read,
    budget: &mut Budget,
) -> Result<Option<Vec<u8>>, UnpackError> {
    let allowance = budget.allowance()?;
    let mut data = Vec::new();
    r.take(allowance.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(malformed)?;
    if data.len() as u64 > allowance {
        let limit = budget.blame(allowance);
        budget.note(limit);
        return match limit {
            Limit::MaxFileSize => Ok(None),
            other => Err(other.into()),
        };
    }
    Ok(Some(data))
}

/// Charge a child to the budget and give it to the visitor.
pub(crate) fn emit(
    name: Option<String>,
    data: Vec<u8>,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Flow {
    emit_with(name, data, Meta::default(), budget, visit)
}

/// Hand a child with what its container records about it to the visitor.
pub(crate) fn emit_with(
    name: Option<String>,
    data: Vec<u8>,
    meta: Meta,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Flow {
    budget.spend(data.len() as u64);
    visit(Child { name, data, meta }, budget)
}

/// Read `r` as one child (a compressed stream's content) and emit it.
pub(crate) fn emit_stream(
    name: Option<String>,
    r: impl Read,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    if let Some(data) = read_child(r, budget)? {
        let _ = emit(name, data, budget, visit);
    }
    Ok(())
}

/// Visit the children of `data`, an object of type `ft`. Types that hold no
/// other objects have no children; that is not an error.
pub fn unpack(
    data: &[u8],
    ft: FileType,
    budget: &mut Budget,
    visit: &mut Visit<'_>,
) -> Result<(), UnpackError> {
    formats::dispatch(data, ft, budget, visit)
}
