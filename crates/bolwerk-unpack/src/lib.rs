//! Everything that turns hostile bytes into typed objects for bolwerk.
//!
//! * file typing by magic ([`file_type`]);
//! * containers and encodings ([`unpack`]): each reader hands the objects
//!   inside to a visitor one at a time, charged to a [`Budget`] under the
//!   scan [`Limits`] (ClamAV's names and defaults);
//! * PE section layout as ClamAV computes it ([`pe`]);
//! * text typing and the normalised copy text signatures match ([`text`]);
//! * HTML's normalised copies ([`html`]) and VBA macro source ([`vba`]).
//!
//! Every reader treats its input as hostile: reads are bounds-checked,
//! decompression is capped by the budget, no input panics, and each reader
//! has a fuzz target. This crate knows nothing of signatures.

#![deny(missing_docs)]

mod budget;
mod container;
mod filetype;
mod formats;
pub mod html;
mod limits;
pub mod pe;
pub mod pe_version;
#[cfg(test)]
mod testfiles;
pub mod text;
pub mod vba;

pub use budget::{Budget, Limit, ReleaseFn, SEARCH_CHUNK};
pub use container::{unpack, Child, Flow, Meta, UnpackError, Visit};
pub use filetype::{file_type, CpioKind, FileType};
pub use limits::{parse_size, Limits};
