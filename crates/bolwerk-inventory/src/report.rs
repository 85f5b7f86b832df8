//! One host's report: what was found, under which phase, how many days
//! are left; printed as a table, JSON or CSV.

use std::fmt::Write as _;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::policy::{Phase, Policy};
use crate::sources;
use crate::target::Target;

/// The phase a finding falls under, and how it stands on the report's date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseStatus {
    /// The phase's name.
    pub name: String,
    /// Whom it applies to.
    pub scope: String,
    /// Its deadline, if set.
    pub deadline: Option<NaiveDate>,
    /// Days from the report's date to the deadline; negative: overdue.
    pub days_left: Option<i64>,
}

impl PhaseStatus {
    /// How `phase` stands on `today`.
    pub fn of(phase: &Phase, today: NaiveDate) -> PhaseStatus {
        PhaseStatus {
            name: phase.name.clone(),
            scope: phase.scope.clone(),
            deadline: phase.deadline,
            days_left: phase.deadline.map(|d| (d - today).num_days()),
        }
    }

    /// Whether the deadline has passed.
    pub fn is_overdue(&self) -> bool {
        self.days_left.is_some_and(|d| d < 0)
    }
}

/// A finding with the phase it falls under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The evidence.
    #[serde(flatten)]
    pub finding: Finding,
    /// `found`, or `possible` for a low-confidence identifier.
    pub status: String,
    /// The phase, when the policy has one for the vendor.
    pub phase: Option<PhaseStatus>,
}

/// What one inventory of one host found.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HostReport {
    /// The host's name.
    pub host: String,
    /// The root read (`/` for the live system).
    pub root: String,
    /// Whether the running system was read (processes, modules).
    pub live: bool,
    /// The date days are counted from.
    pub date: NaiveDate,
    /// The policy's name.
    pub policy: String,
    /// The scope asked for, if any.
    pub scope: Option<String>,
    /// The sources read.
    pub sources: Vec<String>,
    /// What was found.
    pub findings: Vec<Entry>,
    /// Errors, each naming the source and file.
    pub errors: Vec<String>,
}

/// Options of one inventory run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The date days are counted from.
    pub today: NaiveDate,
    /// The scope (phase name or part of its scope) the host falls under.
    pub scope: Option<String>,
    /// The host's name; by default the one the target records.
    pub host: Option<String>,
}

/// Inventory `target` against `policy`.
pub fn inventory(target: &Target, policy: &Policy, opts: &Options) -> HostReport {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    let mut names = Vec::new();
    for source in sources::all().iter().filter(|s| s.applies(target)) {
        names.push(source.name().to_string());
        if let Err(e) = source.collect(target, policy, &mut found) {
            errors.push(format!("{}: {e}", source.name()));
        }
    }
    let findings = found.into_iter().map(|f| entry(f, policy, opts)).collect();
    HostReport {
        host: opts
            .host
            .clone()
            .or_else(|| target.hostname())
            .unwrap_or_else(|| "unknown".into()),
        root: target.root().display().to_string(),
        live: target.is_live(),
        date: opts.today,
        policy: policy.name.clone(),
        scope: opts.scope.clone(),
        sources: names,
        findings,
        errors,
    }
}

fn entry(finding: Finding, policy: &Policy, opts: &Options) -> Entry {
    let phase = policy
        .phase_for(&finding.vendor_id, opts.scope.as_deref())
        .map(|p| PhaseStatus::of(p, opts.today));
    Entry {
        status: finding.confidence.status().to_string(),
        finding,
        phase,
    }
}

impl HostReport {
    /// The exit code: 1 when anything was found, 2 for errors alone, else 0.
    pub fn exit_code(&self) -> u8 {
        if !self.findings.is_empty() {
            1
        } else if !self.errors.is_empty() {
            2
        } else {
            0
        }
    }

    /// The report as pretty JSON (what `inventory merge` reads).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serialises")
    }

    /// One CSV row per finding, with a header row.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        csv_row(&mut out, &CSV_HEADER.map(String::from));
        for e in &self.findings {
            csv_row(&mut out, &self.csv_fields(e));
        }
        out
    }

    fn csv_fields(&self, e: &Entry) -> [String; 13] {
        let f = &e.finding;
        let p = e.phase.as_ref();
        [
            self.host.clone(),
            f.vendor.clone(),
            f.product.clone().unwrap_or_default(),
            f.version.clone().unwrap_or_default(),
            f.source.clone(),
            f.identifier.clone(),
            f.observed.clone(),
            f.confidence.to_string(),
            e.status.clone(),
            p.map(|p| p.name.clone()).unwrap_or_default(),
            p.map(|p| p.scope.clone()).unwrap_or_default(),
            p.and_then(|p| p.deadline)
                .map(|d| d.to_string())
                .unwrap_or_default(),
            p.and_then(|p| p.days_left)
                .map(|d| d.to_string())
                .unwrap_or_default(),
        ]
    }

    /// A table for people.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let kind = if self.live {
            "live system"
        } else {
            "offline root"
        };
        let _ = writeln!(out, "Host: {} ({kind} {})", self.host, self.root);
        let _ = writeln!(out, "Policy: {}  Date: {}", self.policy, self.date);
        if self.findings.is_empty() {
            let _ = writeln!(out, "\nNothing from a phased-out vendor found.");
        } else {
            out.push('\n');
            out.push_str(&self.findings_table());
        }
        for e in &self.errors {
            let _ = writeln!(out, "ERROR: {e}");
        }
        out
    }

    fn findings_table(&self) -> String {
        let header = [
            "VENDOR",
            "PRODUCT",
            "VERSION",
            "SOURCE",
            "EVIDENCE",
            "CONFIDENCE",
            "PHASE",
            "DEADLINE",
            "DAYS",
        ];
        let rows: Vec<Vec<String>> = self.findings.iter().map(table_row).collect();
        let mut out = crate::table::render(&header, &rows);
        let possible = self
            .findings
            .iter()
            .filter(|e| e.status == "possible")
            .count();
        let _ = writeln!(
            out,
            "\n{} finding(s), {possible} of them possible (low confidence).",
            self.findings.len()
        );
        out
    }
}

fn table_row(e: &Entry) -> Vec<String> {
    let f = &e.finding;
    let p = e.phase.as_ref();
    let confidence = match e.status.as_str() {
        "possible" => format!("{} (possible)", f.confidence),
        _ => f.confidence.to_string(),
    };
    vec![
        f.vendor.clone(),
        f.product.clone().unwrap_or_else(|| "-".into()),
        f.version.clone().unwrap_or_else(|| "-".into()),
        f.source.clone(),
        f.observed.clone(),
        confidence,
        p.map(|p| p.name.clone()).unwrap_or_else(|| "-".into()),
        p.and_then(|p| p.deadline)
            .map(|d| d.to_string())
            .unwrap_or_else(|| "-".into()),
        p.and_then(|p| p.days_left)
            .map(days_text)
            .unwrap_or_else(|| "-".into()),
    ]
}

/// `12`, or `-30 (overdue)`.
pub(crate) fn days_text(d: i64) -> String {
    if d < 0 {
        format!("{d} (overdue)")
    } else {
        d.to_string()
    }
}

const CSV_HEADER: [&str; 13] = [
    "host",
    "vendor",
    "product",
    "version",
    "source",
    "identifier",
    "observed",
    "confidence",
    "status",
    "phase",
    "scope",
    "deadline",
    "days_left",
];

/// Append one CSV row (RFC 4180 quoting).
pub(crate) fn csv_row(out: &mut String, fields: &[String]) {
    let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&quoted.join(","));
    out.push_str("\r\n");
}

fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}
