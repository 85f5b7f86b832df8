//! Everything that turns hostile bytes into typed objects for bolwerk.
//!
//! Today: file typing by magic ([`file_type`]), PE section layout as ClamAV
//! computes it ([`pe`]), and the scan [`Limits`] with ClamAV's names and
//! defaults. Containers and encodings will live here too, each reader
//! bounded and fuzzed; this crate knows nothing of signatures.

#![deny(missing_docs)]

mod filetype;
mod limits;
pub mod pe;

pub use filetype::{file_type, FileType};
pub use limits::{parse_size, Limits};
