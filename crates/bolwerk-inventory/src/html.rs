//! The fleet summary as one self-contained HTML page: inline style, no
//! script, nothing loaded from elsewhere, so it can be mailed or filed.

use std::fmt::Write as _;

use crate::fleet::{Fleet, HostRow};
use crate::report::days_text;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}\
th,td{border:1px solid #bbb;padding:.3em .6em;text-align:left}\
th{background:#eee}tr.overdue td{background:#fdd}td.num{text-align:right}\
.note{color:#555}";

/// Escape text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The whole page.
pub fn page(f: &Fleet) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>bolwerk inventory: fleet summary {date}</title><style>{STYLE}</style></head><body>\n\
<h1>Fleet summary</h1>\n<p>{date}: {hosts} host(s), {found} with findings, {clean} clean, \
{errors} with errors.</p>\n",
        date = f.date,
        hosts = f.hosts.len(),
        found = f.hosts_with_findings(),
        clean = f.clean.len(),
        errors = f.with_errors.len(),
    );
    overdue_section(&mut out, f);
    groups_section(&mut out, f);
    out.push_str("<h2>All hosts with findings</h2>\n");
    rows_table(&mut out, &f.rows.iter().collect::<Vec<_>>());
    if !f.clean.is_empty() {
        let clean: Vec<String> = f.clean.iter().map(|h| escape(h)).collect();
        let _ = writeln!(out, "<h2>Clean hosts</h2>\n<p>{}</p>", clean.join(", "));
    }
    out.push_str("</body></html>\n");
    out
}

fn overdue_section(out: &mut String, f: &Fleet) {
    let overdue: Vec<&HostRow> = f.rows.iter().filter(|r| r.is_overdue()).collect();
    let _ = writeln!(
        out,
        "<h2 id=\"overdue\">Overdue hosts ({})</h2>",
        overdue.len()
    );
    if overdue.is_empty() {
        out.push_str("<p class=\"note\">No host is past a deadline.</p>\n");
    } else {
        rows_table(out, &overdue);
    }
}

fn groups_section(out: &mut String, f: &Fleet) {
    out.push_str(
        "<h2>Hosts per vendor and phase</h2>\n<table><tr><th>Vendor</th><th>Phase</th>\
<th>Deadline</th><th>Hosts</th><th>Overdue</th></tr>\n",
    );
    for g in &f.groups {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&g.vendor),
            escape(&g.phase),
            g.deadline.map_or_else(|| "-".into(), |d| d.to_string()),
            g.hosts,
            g.overdue
        );
    }
    out.push_str("</table>\n");
}

fn rows_table(out: &mut String, rows: &[&HostRow]) {
    out.push_str(
        "<table><tr><th>Host</th><th>Vendor</th><th>Phase</th><th>Deadline</th>\
<th>Days left</th><th>Findings</th><th>Products</th></tr>\n",
    );
    for r in rows {
        let class = if r.is_overdue() {
            " class=\"overdue\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
<td class=\"num\">{}{}</td><td>{}</td></tr>",
            escape(&r.host),
            escape(&r.vendor),
            escape(&r.phase),
            r.deadline.map_or_else(|| "-".into(), |d| d.to_string()),
            r.days_left.map_or_else(|| "-".into(), days_text),
            r.findings,
            if r.possible_only { " (possible)" } else { "" },
            escape(&r.products.join("; "))
        );
    }
    out.push_str("</table>\n");
}
