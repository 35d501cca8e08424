//! The four identities of TABLES.md, checked on the figures as extracted.
//!
//! A broken identity is a finding about the report (or the extraction): it is
//! recorded with both sides and never "fixed". A side that needs a missing or
//! blank cell makes the check not checkable (`holds: None`).

// foldhash, not SipHash: a report asks for its figures by code a few
// hundred times, and the codes are nianbao's own, not a page's.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use super::codes::{APPEAL_GROUPS, APPEAL_MEMBERS, REQUEST_COLS, REQUEST_ROWS};
use super::{Cell, Check, Format};

/// Rows of `三、本年度办理结果` that add up to its total, per format.
const OUTCOME_PARTS: &[&str] = &[
    "granted",
    "partial",
    "denied.state_secret",
    "denied.law_prohibited",
    "denied.security_stability",
    "denied.third_party",
    "denied.internal_affairs",
    "denied.process_info",
    "denied.enforcement_file",
    "denied.query_matter",
    "unable.not_held",
    "unable.needs_creation",
    "unable.unclear",
    "not_processed.petition",
    "not_processed.duplicate",
    "not_processed.publication",
    "not_processed.mass_repeated",
    "not_processed.confirm_existing",
];
const OTHER_2019: &[&str] = &["other"];
const OTHER_2021: &[&str] = &["other.no_supplement", "other.no_fee_paid", "other.other"];

/// Tolerance for sums of figures printed with up to six decimals.
const EPSILON: f64 = 1e-6;

/// Every check that the report's tables allow, one per column, row or group.
pub fn check_all(cells: &[Cell], format: Format) -> Vec<Check> {
    let mut out = Vec::new();
    let figures = Figures::new(cells);
    if figures.has_table("requests") {
        requests_balance(&figures, &mut out);
        requests_row_sums(&figures, format, &mut out);
        requests_outcome_sums(&figures, format, &mut out);
    }
    if figures.has_table("appeals") {
        appeals_group_sums(&figures, &mut out);
    }
    out
}

/// The standard figures of a report, by code.
struct Figures<'a> {
    by_code: HashMap<(&'a str, &'a str, &'a str), Option<f64>>,
    rows: HashSet<(&'a str, &'a str)>,
}

impl<'a> Figures<'a> {
    fn new(cells: &'a [Cell]) -> Self {
        let standard = cells.iter().filter(|c| c.standard);
        let mut by_code = HashMap::new();
        let mut rows = HashSet::new();
        for c in standard {
            by_code
                .entry((c.table.as_str(), c.row.as_str(), c.col.as_str()))
                .or_insert(c.value);
            rows.insert((c.table.as_str(), c.row.as_str()));
        }
        Self { by_code, rows }
    }

    fn has_table(&self, table: &str) -> bool {
        self.rows.iter().any(|(t, _)| *t == table)
    }

    fn get(&self, table: &str, row: &str, col: &str) -> Option<f64> {
        self.by_code.get(&(table, row, col)).copied().flatten()
    }

    /// Sum of the cells, `None` if any is missing or blank.
    fn sum(&self, table: &str, cells: &[(&str, &str)]) -> Option<f64> {
        cells
            .iter()
            .map(|(row, col)| self.get(table, row, col))
            .sum()
    }

    fn has_row(&self, table: &str, row: &str) -> bool {
        self.rows.contains(&(table, row))
    }
}

fn check(identity: &str, col: &str, left: Option<f64>, right: Option<f64>) -> Check {
    let holds = left.zip(right).map(|(l, r)| (l - r).abs() < EPSILON);
    Check {
        identity: identity.to_string(),
        col: col.to_string(),
        holds,
        left,
        right,
    }
}

fn request_cols() -> impl Iterator<Item = &'static str> {
    REQUEST_COLS.iter().map(|(c, _, _)| *c)
}

/// `new + carried_over = total + carried_forward`, per column.
fn requests_balance(f: &Figures, out: &mut Vec<Check>) {
    for col in request_cols() {
        let left = f.sum("requests", &[("new", col), ("carried_over", col)]);
        let right = f.sum("requests", &[("total", col), ("carried_forward", col)]);
        out.push(check("requests_balance", col, left, right));
    }
}

/// `total = natural_person + Σ legal.*`, per row of the format.
fn requests_row_sums(f: &Figures, format: Format, out: &mut Vec<Check>) {
    let parts: Vec<&str> = request_cols().filter(|c| *c != "total").collect();
    for ((row, _, _), formats) in REQUEST_ROWS {
        if !formats.contains(&format) && !f.has_row("requests", row) {
            continue;
        }
        let cells: Vec<(&str, &str)> = parts.iter().map(|c| (*row, *c)).collect();
        let right = f.sum("requests", &cells);
        out.push(check(
            "requests_row_sum",
            row,
            f.get("requests", row, "total"),
            right,
        ));
    }
}

/// `total = Σ outcomes`, per column; 2021 splits `other` in three.
fn requests_outcome_sums(f: &Figures, format: Format, out: &mut Vec<Check>) {
    let split = OTHER_2021.iter().any(|r| f.has_row("requests", r));
    let single = f.has_row("requests", "other");
    let other = if split || (format == Format::V2021 && !single) {
        OTHER_2021
    } else {
        OTHER_2019
    };
    for col in request_cols() {
        let cells: Vec<(&str, &str)> = OUTCOME_PARTS
            .iter()
            .chain(other)
            .map(|r| (*r, col))
            .collect();
        let right = f.sum("requests", &cells);
        out.push(check(
            "requests_outcome_sum",
            col,
            f.get("requests", "total", col),
            right,
        ));
    }
}

/// `g.total = g.upheld + g.corrected + g.other + g.pending`, per group.
fn appeals_group_sums(f: &Figures, out: &mut Vec<Check>) {
    for (group, _, _) in APPEAL_GROUPS {
        let col = |m: &str| format!("{group}.{m}");
        let parts: Vec<String> = APPEAL_MEMBERS
            .iter()
            .map(|(m, _, _)| col(m))
            .filter(|c| !c.ends_with(".total"))
            .collect();
        let cells: Vec<(&str, &str)> = parts.iter().map(|c| ("all", c.as_str())).collect();
        let right = f.sum("appeals", &cells);
        out.push(check(
            "appeals_group_sum",
            group,
            f.get("appeals", "all", &col("total")),
            right,
        ));
    }
}
