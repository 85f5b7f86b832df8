//! The fleet summary: many hosts' reports merged into hosts per vendor and
//! phase, overdue hosts first; as a table, CSV or a self-contained HTML page
//! (inline style, no scripts, nothing fetched).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::report::{csv_row, days_text, HostReport};

/// One host's standing for one vendor and phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostRow {
    /// The host.
    pub host: String,
    /// The vendor.
    pub vendor: String,
    /// The phase's name (`-` when the policy has none for the vendor).
    pub phase: String,
    /// The phase's deadline.
    pub deadline: Option<NaiveDate>,
    /// Days from the summary's date to the deadline; negative: overdue.
    pub days_left: Option<i64>,
    /// Findings on the host for this vendor.
    pub findings: usize,
    /// Whether every finding is only "possible" (low confidence).
    pub possible_only: bool,
    /// The products seen.
    pub products: Vec<String>,
}

impl HostRow {
    /// Whether the deadline has passed.
    pub fn is_overdue(&self) -> bool {
        self.days_left.is_some_and(|d| d < 0)
    }
}

/// Hosts per vendor and phase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Group {
    /// The vendor.
    pub vendor: String,
    /// The phase.
    pub phase: String,
    /// The phase's deadline.
    pub deadline: Option<NaiveDate>,
    /// Hosts with findings.
    pub hosts: usize,
    /// Of them, hosts past the deadline.
    pub overdue: usize,
}

/// The merged summary.
#[derive(Clone, Debug, Serialize)]
pub struct Fleet {
    /// The date days are counted from.
    pub date: NaiveDate,
    /// Every host reported, sorted.
    pub hosts: Vec<String>,
    /// Hosts with nothing found.
    pub clean: Vec<String>,
    /// Hosts whose inventory had errors.
    pub with_errors: Vec<String>,
    /// Per vendor and phase.
    pub groups: Vec<Group>,
    /// Per host, vendor and phase: overdue first (most overdue first), then
    /// by days left, then those without a deadline.
    pub rows: Vec<HostRow>,
}

/// Read a report written by `bolwerk inventory --json`.
pub fn read_report(path: &Path) -> Result<HostReport> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::new(ErrorKind::Report(e.to_string())).with_path(path))
}

/// Merge host reports; days are counted from `today`.
pub fn merge(reports: &[HostReport], today: NaiveDate) -> Fleet {
    let mut rows: BTreeMap<(String, String, String), HostRow> = BTreeMap::new();
    for r in reports {
        for e in &r.findings {
            let phase = e.phase.as_ref();
            let deadline = phase.and_then(|p| p.deadline);
            let name = phase.map_or("-", |p| &p.name).to_string();
            let key = (r.host.clone(), e.finding.vendor.clone(), name.clone());
            let row = rows.entry(key).or_insert_with(|| HostRow {
                host: r.host.clone(),
                vendor: e.finding.vendor.clone(),
                phase: name,
                deadline,
                days_left: deadline.map(|d| (d - today).num_days()),
                findings: 0,
                possible_only: true,
                products: Vec::new(),
            });
            row.findings += 1;
            row.possible_only &= e.status == "possible";
            if let Some(p) = &e.finding.product {
                if !row.products.contains(p) {
                    row.products.push(p.clone());
                }
            }
        }
    }
    let mut rows: Vec<HostRow> = rows.into_values().collect();
    rows.sort_by_key(sort_key);
    let hosts: BTreeSet<String> = reports.iter().map(|r| r.host.clone()).collect();
    let found: BTreeSet<&String> = rows.iter().map(|r| &r.host).collect();
    Fleet {
        date: today,
        clean: hosts
            .iter()
            .filter(|h| !found.contains(h))
            .cloned()
            .collect(),
        with_errors: reports
            .iter()
            .filter(|r| !r.errors.is_empty())
            .map(|r| r.host.clone())
            .collect(),
        groups: groups(&rows),
        hosts: hosts.into_iter().collect(),
        rows,
    }
}

fn sort_key(r: &HostRow) -> (bool, i64, String, String) {
    (
        r.days_left.is_none(),
        r.days_left.unwrap_or(0),
        r.host.clone(),
        r.vendor.clone(),
    )
}

fn groups(rows: &[HostRow]) -> Vec<Group> {
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for r in rows {
        let g = groups
            .entry((r.vendor.clone(), r.phase.clone()))
            .or_insert_with(|| Group {
                vendor: r.vendor.clone(),
                phase: r.phase.clone(),
                deadline: r.deadline,
                hosts: 0,
                overdue: 0,
            });
        g.hosts += 1;
        g.overdue += usize::from(r.is_overdue());
    }
    let mut out: Vec<Group> = groups.into_values().collect();
    out.sort_by_key(|g| (g.deadline.is_none(), g.deadline, g.vendor.clone()));
    out
}

fn opt_date(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| "-".into(), |d| d.to_string())
}

fn row_cells(r: &HostRow) -> Vec<String> {
    vec![
        r.host.clone(),
        r.vendor.clone(),
        r.phase.clone(),
        opt_date(r.deadline),
        r.days_left.map_or_else(|| "-".into(), days_text),
        format!(
            "{}{}",
            r.findings,
            if r.possible_only { " (possible)" } else { "" }
        ),
        r.products.join("; "),
    ]
}

const ROW_HEADER: [&str; 7] = [
    "HOST", "VENDOR", "PHASE", "DEADLINE", "DAYS", "FINDINGS", "PRODUCTS",
];

impl Fleet {
    /// Hosts with findings.
    pub fn hosts_with_findings(&self) -> usize {
        self.hosts.len() - self.clean.len()
    }

    /// The summary as tables for people.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Fleet summary, {}: {} host(s), {} with findings, {} clean, {} with errors.\n",
            self.date,
            self.hosts.len(),
            self.hosts_with_findings(),
            self.clean.len(),
            self.with_errors.len()
        );
        let groups: Vec<Vec<String>> = self
            .groups
            .iter()
            .map(|g| {
                vec![
                    g.vendor.clone(),
                    g.phase.clone(),
                    opt_date(g.deadline),
                    g.hosts.to_string(),
                    g.overdue.to_string(),
                ]
            })
            .collect();
        let group_header = ["VENDOR", "PHASE", "DEADLINE", "HOSTS", "OVERDUE"];
        out.push_str(&crate::table::render(&group_header, &groups));
        out.push('\n');
        let rows: Vec<Vec<String>> = self.rows.iter().map(row_cells).collect();
        out.push_str(&crate::table::render(&ROW_HEADER, &rows));
        out
    }

    /// One CSV row per host, vendor and phase.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let header = [
            "host",
            "vendor",
            "phase",
            "deadline",
            "days_left",
            "overdue",
            "findings",
            "possible_only",
            "products",
        ];
        csv_row(&mut out, &header.map(String::from));
        for r in &self.rows {
            let fields = [
                r.host.clone(),
                r.vendor.clone(),
                r.phase.clone(),
                r.deadline.map(|d| d.to_string()).unwrap_or_default(),
                r.days_left.map(|d| d.to_string()).unwrap_or_default(),
                r.is_overdue().to_string(),
                r.findings.to_string(),
                r.possible_only.to_string(),
                r.products.join("; "),
            ];
            csv_row(&mut out, &fields);
        }
        out
    }

    /// The summary as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a summary serialises")
    }

    /// A self-contained HTML page.
    pub fn to_html(&self) -> String {
        crate::html::page(self)
    }
}
