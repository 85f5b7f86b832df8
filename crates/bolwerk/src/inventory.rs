//! `bolwerk inventory`: find software from vendors a policy phases out, on
//! the live system or an offline root, and merge hosts' reports into a
//! fleet summary.

use std::path::PathBuf;

use anyhow::Context;
use bolwerk_inventory::{inventory, merge, read_report, Options, Policy, Target, BUILTIN_TOML};
use chrono::NaiveDate;
use clap::{Args, Subcommand};

/// `bolwerk inventory` arguments.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct InventoryArgs {
    #[command(subcommand)]
    command: Option<InventoryCommand>,
    #[command(flatten)]
    host: HostArgs,
}

#[derive(Subcommand, Debug)]
enum InventoryCommand {
    /// Merge hosts' JSON reports into a fleet summary (overdue hosts first).
    Merge(MergeArgs),
    /// Print the built-in policy (TOML), a starting point for your own.
    Policy,
}

#[derive(Args, Debug)]
struct HostArgs {
    /// Read an offline root instead of this system: a mounted disk image
    /// (Linux, macOS, or a Windows volume, whose registry hives are read),
    /// or an Android file system with its data partition under data/.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Policy file (TOML), repeatable; replaces the built-in policy.
    #[arg(long, value_name = "FILE")]
    policy: Vec<PathBuf>,
    /// The phase (name, or part of its scope) this host falls under;
    /// by default the phase with the earliest deadline.
    #[arg(long)]
    scope: Option<String>,
    /// The host name to report; by default the one the system records.
    #[arg(long)]
    host: Option<String>,
    /// Count days from this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    today: Option<NaiveDate>,
    /// Print the report as JSON (what `inventory merge` reads).
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print the report as CSV.
    #[arg(long)]
    csv: bool,
}

#[derive(Args, Debug)]
struct MergeArgs {
    /// Reports written by `bolwerk inventory --json`.
    #[arg(required = true, value_name = "REPORT.json")]
    reports: Vec<PathBuf>,
    /// Count days from this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    today: Option<NaiveDate>,
    /// Print CSV.
    #[arg(long, conflicts_with_all = ["html", "json"])]
    csv: bool,
    /// Print a self-contained HTML page.
    #[arg(long, conflicts_with = "json")]
    html: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

fn today(given: Option<NaiveDate>) -> NaiveDate {
    given.unwrap_or_else(|| chrono::Local::now().date_naive())
}

/// Run `bolwerk inventory`; returns the exit code.
pub fn run(args: InventoryArgs) -> anyhow::Result<u8> {
    match args.command {
        Some(InventoryCommand::Merge(m)) => run_merge(m),
        Some(InventoryCommand::Policy) => {
            write_stdout(BUILTIN_TOML.as_bytes());
            Ok(0)
        }
        None => run_host(args.host),
    }
}

fn load_policy(files: &[PathBuf]) -> anyhow::Result<Policy> {
    if files.is_empty() {
        return Ok(Policy::builtin());
    }
    let policies = files
        .iter()
        .map(|f| Policy::from_file(f))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Policy::combine(policies))
}

fn run_host(a: HostArgs) -> anyhow::Result<u8> {
    let policy = load_policy(&a.policy)?;
    let target = match &a.root {
        Some(r) => {
            anyhow::ensure!(r.is_dir(), "{}: not a directory", r.display());
            Target::offline(r)
        }
        None => Target::live(),
    };
    let opts = Options {
        today: today(a.today),
        scope: a.scope,
        host: a.host,
    };
    let report = inventory(&target, &policy, &opts);
    let text = if a.json {
        report.to_json() + "\n"
    } else if a.csv {
        report.to_csv()
    } else {
        report.to_table()
    };
    write_stdout(text.as_bytes());
    for e in &report.errors {
        if a.json || a.csv {
            eprintln!("ERROR: {e}");
        }
    }
    Ok(report.exit_code())
}

fn run_merge(m: MergeArgs) -> anyhow::Result<u8> {
    let reports = m
        .reports
        .iter()
        .map(|p| read_report(p).with_context(|| "cannot merge".to_string()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let fleet = merge(&reports, today(m.today));
    let text = if m.csv {
        fleet.to_csv()
    } else if m.html {
        fleet.to_html()
    } else if m.json {
        fleet.to_json() + "\n"
    } else {
        fleet.to_table()
    };
    write_stdout(text.as_bytes());
    Ok(u8::from(fleet.hosts_with_findings() > 0))
}

/// Print to standard output; a closed pipe (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}
