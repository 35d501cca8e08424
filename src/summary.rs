//! Human-readable rendering of extracted reports: the tables with their codes
//! and the identity results, for the terminal.

use std::collections::HashMap;
use std::fmt::Write;

use crate::extract::{codebook, Cell, Check, CodeEntry, Report};

/// `n` with the noun that agrees with it: "1 page", "2 pages".
pub fn counted<N>(n: N, one: &str, many: &str) -> String
where
    N: TryInto<u64> + Copy + std::fmt::Display,
{
    let single = n.try_into().ok() == Some(1);
    format!("{n} {}", if single { one } else { many })
}

/// Render one report as text: each table as a grid with its printed labels.
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
    let book = codebook();
    for table in ["proactive", "requests", "appeals", "headline"] {
        let cells: Vec<&Cell> = report.cells.iter().filter(|c| c.table == table).collect();
        if !cells.is_empty() {
            let _ = writeln!(out, "\n  {}", table_title(table));
            out.push_str(&grid(&cells, &book));
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

/// Rows in the order printed, columns in the order first seen; each row
/// labelled in Chinese, each column headed by its label.
fn grid(cells: &[&Cell], book: &[CodeEntry]) -> String {
    let Some(first) = cells.first() else {
        return String::new();
    };
    // Each row's and column's first cell and the first cell at each place,
    // looked up rather than searched for: a table of any length is one pass.
    let mut rows: Vec<&str> = Vec::new();
    let mut cols: Vec<&str> = Vec::new();
    let mut row_first: HashMap<&str, &Cell> = HashMap::new();
    let mut col_first: HashMap<&str, &Cell> = HashMap::new();
    let mut at: HashMap<(&str, &str), &Cell> = HashMap::new();
    for &c in cells {
        row_first.entry(&c.row).or_insert_with(|| {
            rows.push(&c.row);
            c
        });
        col_first.entry(&c.col).or_insert_with(|| {
            cols.push(&c.col);
            c
        });
        at.entry((&c.row, &c.col)).or_insert(c);
    }
    let mut entries: HashMap<(&str, &str), &CodeEntry> = HashMap::new();
    for e in book.iter().filter(|e| e.table == first.table) {
        entries.entry((e.row, e.col)).or_insert(e);
    }
    let entry = |row: &str, col: &str| entries.get(&(row, col)).copied();
    let appeals = first.table == "appeals";
    let row_label = |row: &str| {
        if appeals {
            return String::new();
        }
        row_first
            .get(row)
            .and_then(|c| entry(row, &c.col))
            .map_or_else(|| row.to_string(), |e| e.row_zh.clone())
    };
    let col_label = |col: &str| {
        col_first
            .get(col)
            .and_then(|c| entry(&c.row, col))
            .map(|e| {
                if appeals {
                    e.label_zh.clone()
                } else {
                    e.col_zh.clone()
                }
            })
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| col.to_string())
    };
    let mut out = String::new();
    let header: Vec<String> = cols.iter().map(|c| col_label(c)).collect();
    let _ = writeln!(out, "    {} | {}", pad("", LABEL_WIDTH), header.join(" | "));
    for row in rows {
        let values: Vec<String> = cols
            .iter()
            .map(|col| at.get(&(row, *col)).map_or(String::new(), |c| cell_text(c)))
            .collect();
        let _ = writeln!(
            out,
            "    {} | {}",
            pad(&row_label(row), LABEL_WIDTH),
            values.join(" | ")
        );
    }
    out
}

fn cell_text(c: &Cell) -> String {
    let value = c.value.map_or_else(|| c.raw.clone(), format_number);
    match c.unit.as_deref() {
        Some("wan_yuan") => format!("{value} 万元"),
        Some("yuan") => format!("{value} 元"),
        _ => value,
    }
}

/// Display columns of the row-label column (a CJK character takes two).
const LABEL_WIDTH: usize = 44;

fn display_width(c: char) -> usize {
    if c >= '\u{2E80}' {
        2
    } else {
        1
    }
}

/// Cut or pad a label to `width` display columns.
fn pad(label: &str, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in label.chars() {
        let w = display_width(c);
        if used + w > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.extend(std::iter::repeat_n(' ', width - used));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(row: &str, col: &str, value: f64) -> Cell {
        Cell {
            table: "proactive".into(),
            row: row.into(),
            col: col.into(),
            raw: value.to_string(),
            value: Some(value),
            unit: None,
            standard: !row.starts_with("nonstandard"),
            label: String::new(),
            note: None,
            ocr: false,
            ocr_conf: None,
        }
    }

    #[test]
    fn a_grid_has_rows_as_first_read_columns_as_first_seen_and_blanks_where_no_cell_is() {
        let cells = [
            cell("normative_docs", "issued", 88.0),
            cell("normative_docs", "in_force", 698.0),
            cell("licensing", "decisions", 10690.0),
            cell("nonstandard.1", "issued", 5.0),
            // A second cell at a place already filled is not shown.
            cell("normative_docs", "issued", 1.0),
        ];
        let refs: Vec<&Cell> = cells.iter().collect();
        let lines: Vec<String> = grid(&refs, &codebook())
            .lines()
            .map(|l| l.trim_end().to_string())
            .collect();
        let row = |label: &str, rest: &str| format!("    {} | {rest}", pad(label, LABEL_WIDTH));
        assert_eq!(
            lines,
            [
                row("", "本年制发件数 | 现行有效件数 | 处理决定数量"),
                row("行政规范性文件", "88 | 698 |"),
                row("行政许可", " |  | 10690"),
                row("nonstandard.1", "5 |  |"),
            ]
        );
        assert!(grid(&[], &codebook()).is_empty());
    }
}
