//! Spyware and malware indicators for bolwerk's scan.
//!
//! Investigators hunting Pegasus or Predator read STIX 2.1 indicator feeds
//! (Amnesty International's, MVT's) with MVT; incident responders read
//! signature-base's IOC files with Loki or THOR. This crate reads both,
//! and MISP events (Echap's stalkerware indicators), into one
//! [`Indicators`] set that a scan matches against every object it meets,
//! inside containers too:
//!
//! - [`pattern`]: a parser for the STIX 2.1 patterning language (equality
//!   comparisons joined by `AND`/`OR`, escapes, quoted path steps);
//! - [`stix`], [`misp`], [`sigbase`]: the feed readers; a bad line or object
//!   is a diagnostic naming its file (and line), and the rest loads;
//! - [`IndicatorsBuilder`]: loads files, directories and the [`builtin`]
//!   pack, and indexes every comparison for matching (hash maps, one
//!   Aho-Corasick automaton per substring key, filename regexes by the
//!   literal each contains);
//! - [`Indicators::match_object`]: hashes, names and paths of an object,
//!   hosts/URLs/e-mail/IPv4 addresses in its text and in SQLite databases,
//!   with MVT's domain semantics; each [`Match`] says why;
//! - [`Indicators::stix_indicator`]: an indicator as a STIX object, for
//!   sharing sightings.
//!
//! Process names, app ids, certificates, Android properties and
//! configuration profiles are loaded and counted but never match: a file
//! scan does not observe them (MVT reads them from device backups).

#![deny(missing_docs)]

pub mod builtin;
mod error;
mod feed;
mod matcher;
pub mod misp;
mod names;
mod packed;
pub mod pattern;
mod read;
mod set;
mod share;
pub mod sigbase;
pub mod sqlite;
pub mod stix;
pub mod text;

pub use error::{Error, ErrorKind};
pub use feed::{name_part, Entry, Feed, Key, FILENAME_REGEX};
pub use matcher::{Match, ObjectName, MAX_MATCHES_PER_OBJECT};
pub use set::{Indicators, IndicatorsBuilder, Source, DEFAULT_MIN_SCORE, MAX_FEED_SIZE};
pub use share::{uuid4, uuid5, StixIndicator};
