//! Signature packs as TUF repositories, co-signed k-of-n, installed only
//! after verification, and recorded in a transparency log.
//!
//! No single vendor, signer or state should be able to put a signature
//! pack on a client, nor make a pack only one client sees. So:
//!
//! * [`PackRepo`] maintains a TUF repository of signature files. Root and
//!   targets are offline roles with *k*-of-*n* thresholds of independent
//!   Ed25519 keys ([`KeyPair`]) that never enter the repository; each
//!   signer signs separately; `publish` refuses until thresholds are met.
//! * [`update`] verifies a repository with the `tough` client (root
//!   rotation, thresholds, expiry, rollback against the last trusted
//!   metadata, mix-and-match, size limits) and only then writes the pack's
//!   files into a database directory atomically. Nothing is written when
//!   any check fails. A copy on removable media verifies offline; fetching
//!   over HTTPS needs the `http` feature, off by default, so a default build
//!   links no HTTP client.
//! * [`tlog`] appends every published targets role to an RFC 6962 Merkle
//!   log with C2SP checkpoints and witness cosignatures; `update` can
//!   demand inclusion, *k* witnesses, and consistency with what it saw.

#![deny(missing_docs)]

mod client;
mod error;
mod fsutil;
mod keys;
mod pack;
pub mod tlog;

pub use client::{update, Source, UpdateOptions, UpdateReport, MAX_TARGETS, MAX_TARGET_SIZE};
pub use error::{Error, ErrorKind, Result};
pub use fsutil::check_name;
pub use keys::{key_id, public_path, read_public, KeyPair};
pub use pack::{PackRepo, PublishOptions, Published, RootSpec, SignStatus};
pub use tough::schema::key::Key;
pub use tough::Limits;

/// The time `days` days from now (negative: in the past), for expiries.
pub fn expires_in_days(days: i64) -> jiff::Timestamp {
    use jiff::ToSpan;
    jiff::Timestamp::now()
        .checked_add(days.saturating_mul(24).clamp(-8_000_000, 8_000_000).hours())
        .unwrap_or(jiff::Timestamp::MAX)
}
