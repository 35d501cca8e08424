//! A report's figures laid out as the national form prints them (TABLES.md),
//! with the Chinese labels of the codebook: blank where the report states
//! nothing, and every cell of a broken identity highlighted.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::sync::OnceLock;

use super::catalog::{Cell, Check};
use super::html::{esc, number, unit_zh};
use crate::extract::codes::{
    codebook, proactive_cols, CodeEntry, APPEAL_GROUPS, APPEAL_MEMBERS, HEADLINE_ROWS,
    REQUEST_COLS, REQUEST_ROWS,
};
use crate::extract::Format;

type Key = (String, String, String);

fn key(t: &str, r: &str, c: &str) -> Key {
    (t.to_string(), r.to_string(), c.to_string())
}

fn book() -> &'static [CodeEntry] {
    static BOOK: OnceLock<Vec<CodeEntry>> = OnceLock::new();
    BOOK.get_or_init(codebook)
}

/// The codebook entry of a code, for its labels.
fn entry(table: &str, row: &str, col: &str) -> Option<&'static CodeEntry> {
    book()
        .iter()
        .find(|e| e.table == table && e.row == row && e.col == col)
}

fn format_of(s: &str) -> Format {
    match s {
        "f2019" => Format::V2019,
        "f2021" => Format::V2021,
        "pre2019" => Format::Pre2019,
        _ => Format::Unknown,
    }
}

/// The figures of one report, by code, and the codes a broken identity touches.
pub struct Figures<'a> {
    cells: HashMap<Key, &'a Cell>,
    broken: HashSet<Key>,
    format: Format,
}

impl<'a> Figures<'a> {
    pub fn new(format: &str, cells: &'a [Cell], checks: &[Check]) -> Self {
        let cells = cells
            .iter()
            .map(|c| (key(&c.table, &c.row, &c.col), c))
            .collect();
        let broken = checks
            .iter()
            .filter(|c| c.holds == Some(false))
            .flat_map(|c| involved(&c.identity, &c.col))
            .collect();
        Self {
            cells,
            broken,
            format: format_of(format),
        }
    }

    fn has_row(&self, table: &str, row: &str) -> bool {
        self.cells.keys().any(|(t, r, _)| t == table && r == row)
    }

    fn has_table(&self, table: &str) -> bool {
        self.cells.keys().any(|(t, _, _)| t == table)
    }

    /// One `<td>`: the figure with its unit, blank when the report states none.
    fn td(&self, table: &str, row: &str, col: &str) -> String {
        let k = key(table, row, col);
        let class = if self.broken.contains(&k) {
            "n broken"
        } else {
            "n"
        };
        let code = format!("{table}.{row}.{col}");
        match self.cells.get(&k) {
            None => format!("<td class=\"{class}\" data-code=\"{}\"></td>", esc(&code)),
            Some(c) => {
                let shown = match c.value {
                    Some(v) => format!("{}{}", number(v), unit_zh(c.unit.as_deref())),
                    None => c.raw.clone(),
                };
                format!(
                    "<td class=\"{class}\" data-code=\"{}\" title=\"{} · 原文: {}\">{}</td>",
                    esc(&code),
                    esc(&code),
                    esc(&c.raw),
                    esc(&shown)
                )
            }
        }
    }
}

/// The cells an identity result is about.
fn involved(identity: &str, col: &str) -> Vec<Key> {
    let request_cols = || REQUEST_COLS.iter().map(|(c, _, _)| *c);
    let request_rows = || REQUEST_ROWS.iter().map(|((r, _, _), _)| *r);
    match identity {
        "requests_balance" => ["new", "carried_over", "total", "carried_forward"]
            .iter()
            .map(|r| key("requests", r, col))
            .collect(),
        "requests_row_sum" => request_cols().map(|c| key("requests", col, c)).collect(),
        "requests_outcome_sum" => request_rows()
            .filter(|r| !matches!(*r, "new" | "carried_over" | "carried_forward"))
            .map(|r| key("requests", r, col))
            .collect(),
        "appeals_group_sum" => APPEAL_MEMBERS
            .iter()
            .map(|(m, _, _)| key("appeals", "all", &format!("{col}.{m}")))
            .collect(),
        _ => Vec::new(),
    }
}

/// What an identity says, in the form's words.
pub fn identity_zh(identity: &str) -> &'static str {
    match identity {
        "requests_balance" => "勾稽关系：一 + 二 = 三(七) + 四",
        "requests_row_sum" => "行合计：总计 = 自然人 + 法人或其他组织",
        "requests_outcome_sum" => "办理结果合计：三(七)总计 = 三(一)至三(六)之和",
        "appeals_group_sum" => "复议、诉讼合计：总计 = 维持 + 纠正 + 其他 + 尚未审结",
        _ => "",
    }
}

/// The label of the column (or row, or group) an identity result is about.
pub fn check_target_zh(identity: &str, col: &str) -> String {
    match identity {
        "requests_row_sum" => REQUEST_ROWS
            .iter()
            .find(|((r, _, _), _)| *r == col)
            .map_or(col.to_string(), |((_, zh, _), _)| zh.to_string()),
        "appeals_group_sum" => APPEAL_GROUPS
            .iter()
            .find(|(g, _, _)| *g == col)
            .map_or(col.to_string(), |(_, zh, _)| zh.to_string()),
        _ => REQUEST_COLS
            .iter()
            .find(|(c, _, _)| *c == col)
            .map_or(col.to_string(), |(_, zh, _)| zh.to_string()),
    }
}

/// The three tables (or the headline figures of a pre-2019 report).
pub fn render(f: &Figures<'_>, cells: &[Cell]) -> String {
    let mut out = String::new();
    if f.has_table("proactive") {
        proactive(f, &mut out);
    }
    if f.has_table("requests") {
        requests(f, cells, &mut out);
    }
    if f.has_table("appeals") {
        appeals(f, &mut out);
    }
    if f.has_table("headline") {
        headline(f, &mut out);
    }
    if out.is_empty() {
        out.push_str("<p class=\"muted\">这份报告没有提取到统计表。No figures were extracted from this report.</p>");
    }
    out
}

const PROACTIVE_ROWS_2019: &[&str] = &[
    "rules",
    "normative_docs",
    "licensing",
    "other_services",
    "penalties",
    "enforcement",
    "fees",
    "procurement",
];
const PROACTIVE_ROWS_2021: &[&str] = &[
    "rules",
    "normative_docs",
    "licensing",
    "penalties",
    "enforcement",
    "fees",
];

fn proactive(f: &Figures<'_>, out: &mut String) {
    let (rows, format) = match f.format {
        Format::V2021 => (PROACTIVE_ROWS_2021, Format::V2021),
        _ => (PROACTIVE_ROWS_2019, Format::V2019),
    };
    out.push_str("<h3>二、主动公开政府信息情况</h3><table class=\"form\" id=\"proactive\">");
    let mut last_cols: &[&str] = &[];
    for row in rows {
        let cols = proactive_cols(format, row);
        if cols != last_cols {
            out.push_str("<tr><th class=\"lbl\">信息内容</th>");
            for col in cols {
                let zh = entry("proactive", row, col).map_or("", |e| e.col_zh.as_str());
                let _ = write!(out, "<th>{}</th>", esc(zh));
            }
            for _ in cols.len()..3 {
                out.push_str("<th></th>");
            }
            out.push_str("</tr>");
            last_cols = cols;
        }
        let row_zh = cols
            .first()
            .and_then(|c| entry("proactive", row, c))
            .map_or(*row, |e| e.row_zh.as_str());
        let _ = write!(out, "<tr><td class=\"lbl\">{}</td>", esc(row_zh));
        for col in cols {
            out.push_str(&f.td("proactive", row, col));
        }
        for _ in cols.len()..3 {
            out.push_str("<td></td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

fn requests(f: &Figures<'_>, cells: &[Cell], out: &mut String) {
    out.push_str(
        "<h3>三、收到和处理政府信息公开申请情况</h3><table class=\"form\" id=\"requests\">\
         <tr><th rowspan=\"3\" class=\"lbl\">（本列数据的勾稽关系为：第一项加第二项之和，\
         等于第三项加第四项之和）</th><th colspan=\"7\">申请人情况</th></tr>\
         <tr><th rowspan=\"2\">自然人</th><th colspan=\"5\">法人或其他组织</th>\
         <th rowspan=\"2\">总计</th></tr><tr>",
    );
    for (col, zh, _) in REQUEST_COLS {
        if let Some(member) = col.strip_prefix("legal.") {
            let short = zh.rsplit('/').next().unwrap_or(member);
            let _ = write!(out, "<th>{}</th>", esc(short));
        }
    }
    out.push_str("</tr>");
    for ((row, zh, _), formats) in REQUEST_ROWS {
        let printed = formats.contains(&f.format) || f.format == Format::Unknown;
        if !printed && !f.has_row("requests", row) {
            continue;
        }
        let _ = write!(out, "<tr><td class=\"lbl\">{}</td>", esc(zh));
        for (col, _, _) in REQUEST_COLS {
            out.push_str(&f.td("requests", row, col));
        }
        out.push_str("</tr>");
    }
    nonstandard_rows(f, cells, out);
    out.push_str("</table>");
}

/// Rows the report added to the national table, under their printed label.
fn nonstandard_rows(f: &Figures<'_>, cells: &[Cell], out: &mut String) {
    let mut seen = Vec::new();
    for c in cells
        .iter()
        .filter(|c| c.table == "requests" && !c.standard)
    {
        if seen.contains(&c.row) {
            continue;
        }
        seen.push(c.row.clone());
        let label = c.label.as_deref().unwrap_or(&c.row);
        let _ = write!(
            out,
            "<tr class=\"nonstd\"><td class=\"lbl nonstd\" title=\"国家格式之外的行\">{}</td>",
            esc(label)
        );
        for (col, _, _) in REQUEST_COLS {
            out.push_str(&f.td("requests", &c.row, col));
        }
        out.push_str("</tr>");
    }
}

fn appeals(f: &Figures<'_>, out: &mut String) {
    out.push_str(
        "<h3>四、政府信息公开行政复议、行政诉讼情况</h3><table class=\"form\" id=\"appeals\">\
         <tr><th colspan=\"5\" rowspan=\"2\">行政复议</th><th colspan=\"10\">行政诉讼</th></tr>\
         <tr><th colspan=\"5\">未经复议直接起诉</th><th colspan=\"5\">复议后起诉</th></tr><tr>",
    );
    for _ in APPEAL_GROUPS {
        for (_, zh, _) in APPEAL_MEMBERS {
            let _ = write!(out, "<th>{}</th>", esc(zh));
        }
    }
    out.push_str("</tr><tr>");
    for (group, _, _) in APPEAL_GROUPS {
        for (member, _, _) in APPEAL_MEMBERS {
            out.push_str(&f.td("appeals", "all", &format!("{group}.{member}")));
        }
    }
    out.push_str("</tr></table>");
}

fn headline(f: &Figures<'_>, out: &mut String) {
    out.push_str(
        "<h3>正文中的数字（2019 年前的报告）</h3><table class=\"form\" id=\"headline\">\
         <tr><th class=\"lbl\">内容</th><th>数量</th></tr>",
    );
    for (row, zh, _) in HEADLINE_ROWS {
        if f.has_row("headline", row) {
            let _ = write!(
                out,
                "<tr><td class=\"lbl\">{}</td>{}</tr>",
                esc(zh),
                f.td("headline", row, "value")
            );
        }
    }
    out.push_str("</table>");
}
