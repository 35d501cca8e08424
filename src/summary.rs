//! Human-readable rendering of extracted reports: the tables with their codes
//! and the identity results, for the terminal.

use std::fmt::Write;

use crate::extract::{Check, Report};

/// Render one report as text.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let year = report.year.map_or("?".to_string(), |y| y.to_string());
    let _ = writeln!(out, "{}", report.title);
    let _ = writeln!(
        out,
        "  agency: {}   year: {year}   format: {}",
        report.agency.as_deref().unwrap_or("?"),
        report.format.as_str()
    );
    for table in ["proactive", "requests", "appeals", "headline"] {
        let cells: Vec<_> = report.cells.iter().filter(|c| c.table == table).collect();
        if cells.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n  [{table}] {}", table_title(table));
        for c in cells {
            let value = c.value.map_or("—".to_string(), format_number);
            let unit = c
                .unit
                .as_deref()
                .map(|u| format!(" {u}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    {:<34} {:<24} {:>14}{unit}   (printed: {})",
                c.row, c.col, value, c.raw
            );
        }
    }
    if !report.checks.is_empty() {
        let _ = writeln!(out, "\n  identities:");
        for line in check_lines(&report.checks) {
            let _ = writeln!(out, "    {line}");
        }
    }
    for note in &report.notes {
        let _ = writeln!(out, "  note: {note}");
    }
    out
}

fn table_title(table: &str) -> &'static str {
    match table {
        "proactive" => "二、主动公开政府信息情况",
        "requests" => "三、收到和处理政府信息公开申请情况",
        "appeals" => "四、因政府信息公开工作被申请行政复议、提起行政诉讼情况",
        "headline" => "主要数据（2019年以前的报告正文）",
        _ => "",
    }
}

fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// One line per broken or uncheckable identity, and a count of those that hold.
fn check_lines(checks: &[Check]) -> Vec<String> {
    let held = checks.iter().filter(|c| c.holds == Some(true)).count();
    let mut lines = vec![format!("{held} of {} hold", checks.len())];
    for c in checks.iter().filter(|c| c.holds != Some(true)) {
        let side = |v: Option<f64>| v.map_or("?".to_string(), format_number);
        let verdict = if c.holds == Some(false) {
            "BROKEN"
        } else {
            "not checkable"
        };
        lines.push(format!(
            "{verdict}: {} [{}]: {} vs {}",
            c.identity,
            c.col,
            side(c.left),
            side(c.right)
        ));
    }
    lines
}
