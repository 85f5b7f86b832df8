//! The `bolwerk` binary: a thin front end over the library crates.
//!
//! Invoked as `clamscan` or `clamdscan` (a symlink or a copy), it behaves
//! as `bolwerk clamscan` or `bolwerk clamdscan`.

mod clamdscan;
mod clamscan;
mod daemon;
mod db;
mod doctor;
mod indicators;
mod inventory;
mod limits;
mod load;
mod native;
mod output;
mod pack;
mod tally;
mod update;
mod yara;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// An open-source malware and spyware scanner. No telemetry, no cloud, no egress.
#[derive(Parser, Debug)]
#[command(name = "bolwerk", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Scan files and directories.
    Scan(native::ScanArgs),
    /// Scan with clamscan's options, output and exit codes.
    Clamscan(clamscan::ClamscanArgs),
    /// Have a running daemon scan, with clamdscan's options, output and exit codes.
    Clamdscan(clamdscan::ClamdscanArgs),
    /// Serve clamd's socket protocol (a drop-in clamd).
    Daemon(daemon::DaemonArgs),
    /// Inspect and verify signature databases.
    Db {
        #[command(subcommand)]
        command: db::DbCommand,
    },
    /// Find software from vendors a policy phases out; merge fleet reports.
    ///
    /// Reads this system, or with --root an offline root: dpkg's status,
    /// rpm's SQLite database, paths, systemd units, macOS app bundles, a
    /// Windows volume's registry hives (SOFTWARE: installed programs;
    /// SYSTEM: services) and Android packages (data/system/packages.xml,
    /// text or binary; data/app); on this system also loaded kernel
    /// modules and running processes.
    Inventory(inventory::InventoryArgs),
    /// Build, co-sign and publish signature packs (TUF, k-of-n, transparency log).
    Pack {
        #[command(subcommand)]
        command: pack::PackCommand,
    },
    /// Verify a signature pack repository and install it into a database directory.
    Update(update::UpdateArgs),
    /// Show what a bolwerk process can and cannot do here (no-egress filter, HTTP client).
    Doctor(doctor::DoctorArgs),
}

/// clamscan's command line, for the binary invoked as `clamscan`.
#[derive(Parser, Debug)]
#[command(name = "clamscan", version)]
struct ClamscanCli {
    #[command(flatten)]
    args: clamscan::ClamscanArgs,
}

/// clamdscan's command line, for the binary invoked as `clamdscan`.
#[derive(Parser, Debug)]
#[command(name = "clamdscan")]
struct ClamdscanCli {
    #[command(flatten)]
    args: clamdscan::ClamdscanArgs,
}

fn main() -> ExitCode {
    let invoked_as = std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    let result = if invoked_as == "clamscan" {
        clamscan::run(ClamscanCli::parse().args)
    } else if invoked_as == "clamdscan" {
        clamdscan::run(ClamdscanCli::parse().args)
    } else {
        match Cli::parse().command {
            Command::Scan(a) => native::run(a),
            Command::Clamscan(a) => clamscan::run(a),
            Command::Clamdscan(a) => clamdscan::run(a),
            Command::Daemon(a) => daemon::run(a),
            Command::Db { command } => db::run(command),
            Command::Inventory(a) => inventory::run(a),
            Command::Doctor(a) => doctor::run(a),
            Command::Pack { command } => pack::run(command),
            Command::Update(a) => update::run(a),
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("ERROR: {e:#}");
            ExitCode::from(2)
        }
    }
}
