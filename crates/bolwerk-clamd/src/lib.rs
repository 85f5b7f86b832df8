//! A clamd-compatible daemon over the bolwerk engine.
//!
//! Mail gateways (Exim, Postfix milters, amavis), upload scanners and
//! scripts speak clamd's socket protocol. This crate speaks it too, byte
//! for byte, so they switch to bolwerk by changing nothing but the daemon:
//!
//! * [`protocol`]: `z`/`n`/bare framing, the commands, the reply strings;
//! * [`client`]: the client side, as `clamdscan` speaks it;
//! * [`Config`]: `clamd.conf` with clamd's keys and defaults;
//! * [`serve`]: Unix and TCP listeners (or systemd's), an async task per
//!   connection, scans on a bounded pool (`MaxThreads`, `MaxQueue`),
//!   timeouts on every wait for a client, INSTREAM data spilled to a
//!   temporary file past a small buffer, and reloads (RELOAD, SIGUSR2,
//!   `SelfCheck`) that build the new engine beside the old one and swap
//!   it without failing a request.
//!
//! The daemon opens no outbound connection; it listens only where it is
//! told (TCP on loopback unless `TCPAddr` says otherwise). Once its
//! listeners are bound and its databases loaded, every thread is confined
//! by `bolwerk-sandbox`'s seccomp filter: no network socket can be made.
//!
//! ```no_run
//! let parsed = bolwerk_clamd::Config::parse("LocalSocket /run/bolwerk/clamd.sock\n").unwrap();
//! bolwerk_clamd::serve(parsed.config, bolwerk_clamd::Log::stderr()).unwrap();
//! ```

#![deny(missing_docs)]

pub mod client;
mod config;
mod conn;
mod database;
mod error;
mod listen;
mod log;
mod pool;
pub mod protocol;
mod scan;
mod server;
mod spool;

pub use config::{Config, LoadRules, Parsed, RulesLoader};
pub use error::{Error, ErrorKind};
pub use log::Log;
pub use server::serve;
