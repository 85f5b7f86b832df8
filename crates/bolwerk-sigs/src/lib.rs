//! Signature databases for bolwerk: ClamAV's formats, read as data.
//!
//! This crate turns database files into a [`SignatureSet`]: typed,
//! engine-neutral records that `bolwerk-engine` compiles for matching. It
//! reads
//!
//! * body signatures (`.ndb`, and `.ndu` on request): byte patterns with
//!   wildcards, offsets and target types;
//! * logical signatures (`.ldb`, and `.ldu` on request): subsignatures
//!   (patterns, PCRE, byte compares) combined by a counted expression;
//! * container metadata signatures (`.cdb`): a member's name, sizes,
//!   encryption, position and CRC;
//! * hash signatures: `.hdb` `.hsb` (whole files), `.mdb` `.msb` (PE
//!   sections), the PUA variants `.hdu` `.hsu` `.mdu` `.msu` (on request),
//!   allow lists `.fp` `.sfp` and ignore lists `.ign` `.ign2`;
//! * containers: `.cvd` (verified by MD5 and ClamAV's release signature),
//!   `.cld` (verified through its signed `.info`) and unsigned `.cud`;
//! * the built-in pack compiled into bolwerk.
//!
//! Formats it recognises but does not match yet (`.idb`, `.cbc`, …) are
//! counted in [`LoadStats::unsupported`], never silently dropped.
//!
//! Every file is treated as hostile: lines are bounded by the formats'
//! field counts, containers by [`cvd::MAX_UNPACKED`] and
//! [`cvd::MAX_MEMBERS`], and no input panics the parser. A bad line yields
//! an [`Error`] with file and line while the rest loads.
//!
//! ```
//! use bolwerk_sigs::{LoadOptions, Loader};
//!
//! let mut loader = Loader::new(LoadOptions::default());
//! loader.add_builtin();
//! let (set, diagnostics) = loader.finish();
//! assert!(diagnostics.is_empty());
//! assert!(set.file_hashes.md5.len() >= 2);
//! ```

#![deny(missing_docs)]

mod body;
mod builtin;
mod cdb;
pub mod cvd;
pub mod dsig;
mod error;
mod ftm;
mod hash;
mod hex;
mod ign;
mod kind;
mod loader;
mod logical;
mod names;
mod parse;

pub use body::{
    parse_offset, parse_pattern, Anchor, BodyParser, BodySig, Boundary, ByteMatch, Offset, Token,
};
pub use builtin::{BUILTIN_HDB, BUILTIN_PATH};
pub use cdb::{ContainerParser, ContainerSig};
pub use cvd::{Container, ContainerKind, Header};
pub use error::{Error, ErrorKind};
pub use ftm::{FtmParser, FtmRule, Magic};
pub use hash::{HashLayout, HashParser, HashRecord, HashSet3, LineOutcome, ANY_SIZE};
pub use hex::encode as hex_encode;
pub use ign::IgnoreList;
pub use kind::DbKind;
pub use loader::{
    note, ContainerInfo, HashTable, LoadOptions, LoadStats, Loader, SignatureSet, Source, Spill,
    FLEVEL,
};
pub use logical::{
    parse_expr, ByteCompare, CountOp, Expr, LogicalParser, LogicalSig, NumberFormat, PcreFlags,
    SubSig, TargetDesc,
};
pub use names::{NameId, Names};
