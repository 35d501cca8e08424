//! Rows of labels and figures → the cells of the three national tables.
//!
//! HTML tables and flattened text both arrive here as a sequence of [`Row`]s;
//! a small state machine follows which table the rows belong to (a table may
//! be cut into several `<table>`s, or all three may share one), which
//! proactive sub-block header is in force, and which sub-heading of
//! `三、本年度办理结果` an item sits under. Rows are named by meaning
//! ([`labels`]); a row that names no standard item is kept under a
//! `nonstandard.N` row code, never mapped onto a standard code by guess.

use std::sync::LazyLock;

use foldhash::HashSet;

use super::codes::{proactive_cols, APPEAL_COLS, REQUEST_COLS};
use super::labels::{self, key, Outcome};
use super::neighbours;
use super::number::{parse, Figure, Unit};
use super::{Cell, Format};

/// One row: its label cells (with labels spanning from above repeated), then
/// its figure cells, as printed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    pub labels: Vec<String>,
    pub values: Vec<String>,
    /// For a row read from a scan: OCR's confidence in each value (`None`
    /// for a blank cell). `None` for a row from text.
    pub confidence: Option<Vec<Option<f32>>>,
}

impl Row {
    /// A row from text, as tests write it.
    #[cfg(test)]
    pub(crate) fn of(labels: &[&str], values: &[&str]) -> Row {
        Row {
            labels: labels.iter().map(|s| s.to_string()).collect(),
            values: values.iter().map(|s| s.to_string()).collect(),
            confidence: None,
        }
    }

    /// The row with only its last `n` values (labels kept).
    fn tail(&self, n: usize) -> Row {
        let from = self.values.len().saturating_sub(n);
        Row {
            labels: self.labels.clone(),
            values: self.values[from..].to_vec(),
            confidence: self
                .confidence
                .as_ref()
                .map(|c| c.get(from..).unwrap_or_default().to_vec()),
        }
    }

    /// Whether value `i` was read by OCR, and with what confidence.
    fn ocr(&self, i: usize) -> Option<Option<f32>> {
        self.confidence
            .as_ref()
            .map(|c| c.get(i).copied().flatten())
    }
}

/// What the rows yielded.
#[derive(Debug, Default)]
pub struct Tables {
    pub cells: Vec<Cell>,
    pub notes: Vec<String>,
    /// Labels seen that only the 2019 format prints.
    pub saw_2019: bool,
    /// Labels seen that only the 2021 format prints.
    pub saw_2021: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Proactive,
    Requests,
    Appeals,
}

impl Table {
    fn code(self) -> &'static str {
        match self {
            Table::Proactive => "proactive",
            Table::Requests => "requests",
            Table::Appeals => "appeals",
        }
    }
}

/// A label longer than this (in Chinese characters) is prose, not a table label.
const PROSE_CHARS: usize = 60;

/// Columns of the proactive 2019 sub-blocks that the 2021 format dropped.
const COLS_2019: &[&str] = &[
    "made",
    "published",
    "total_published",
    "prev_items",
    "change",
    "items",
];
const COLS_2021: &[&str] = &["issued", "repealed", "in_force"];

#[derive(Default)]
struct Reader {
    out: Tables,
    table: Option<Table>,
    /// Column codes of the proactive sub-block header in force.
    header: Vec<&'static str>,
    /// A header label that named no column yet (`本年新` before `制作数量`).
    pending: String,
    /// Money unit stated by the header (`本年收费金额（单位：万元）`).
    header_unit: Option<Unit>,
    under: Option<Outcome>,
    nonstandard: usize,
    /// Proactive rows kept as non-standard whose figures fit the header.
    unplaced: Vec<neighbours::Unplaced>,
    /// The rows of the cells read so far, by table: whether a row was
    /// already read is asked of every row, and a hostile table has many.
    rows_read: [HashSet<String>; 3],
}

/// Read the cells of every table found in the rows.
pub fn read(rows: &[Row]) -> Tables {
    let mut r = Reader::default();
    for row in rows {
        r.row(row);
    }
    neighbours::place(&mut r.out);
    neighbours::place_proactive(&mut r.out, &r.unplaced);
    r.out
}

impl Reader {
    fn row(&mut self, row: &Row) {
        for label in &row.labels {
            self.switch_table(label);
        }
        match self.table {
            Some(Table::Proactive) => self.proactive(row),
            Some(Table::Requests) => self.requests(row),
            Some(Table::Appeals) => self.appeals(row),
            None => {}
        }
    }

    /// Follow the table a label opens; prose ends any table.
    fn switch_table(&mut self, label: &str) {
        // Prose is known by its length before any normalising (a paragraph
        // can be long).
        if label.chars().filter(|c| labels::is_han(*c)).count() > 2 * PROSE_CHARS {
            self.table = None;
            return;
        }
        let k = key(label);
        if k.chars().count() > PROSE_CHARS {
            self.table = None;
            return;
        }
        static OPENERS: LazyLock<labels::Words> = LazyLock::new(|| {
            labels::Words::new(&[
                (
                    "requests",
                    &[
                        "申请人情况",
                        "勾稽关系",
                        "本年新收",
                        "收到和处理政府信息公开申请",
                    ],
                ),
                (
                    "proactive",
                    &["第二十条", "信息内容", "主动公开政府信息情况"],
                ),
            ])
        });
        let opener = OPENERS.first(&k);
        let opens = if opener == Some("requests") {
            Some(Table::Requests)
        } else if opens_appeals(&k) {
            Some(Table::Appeals)
        } else if opener == Some("proactive") {
            self.header.clear();
            self.pending.clear();
            self.header_unit = None;
            Some(Table::Proactive)
        } else {
            None
        };
        if let Some(t) = opens {
            if self.table != Some(t) {
                self.under = None;
            }
            self.table = Some(t);
        }
    }

    fn proactive(&mut self, row: &Row) {
        // A header row may end in empty cells of a grid wider than its
        // block; a data row too, past its block's columns.
        if row.values.iter().all(|v| v.trim().is_empty()) {
            if !self.blank_proactive_row(row) {
                row.labels.iter().for_each(|l| self.header_label(l));
            }
            return;
        }
        let form = self.form_columns(row);
        let n = form.map_or(self.header.len(), <[&str]>::len);
        let trimmed;
        let row =
            if n > 0 && row.values.len() > n && row.values[n..].iter().all(|v| v.trim().is_empty())
            {
                trimmed = Row {
                    values: row.values[..n].to_vec(),
                    confidence: row
                        .confidence
                        .as_ref()
                        .map(|c| c.iter().take(n).copied().collect()),
                    labels: row.labels.clone(),
                };
                &trimmed
            } else {
                row
            };
        let label = row.labels.last().map_or("", String::as_str);
        let code = row
            .labels
            .iter()
            .rev()
            .find_map(|l| labels::proactive_row(l));
        let cols = form.map_or_else(|| self.header.clone(), <[&str]>::to_vec);
        let fits = cols.len() == row.values.len()
            && code.is_some_and(|c| cols.iter().all(|col| row_has_col(c, col)));
        match code {
            Some(c) if fits => {
                let unit_of = match form {
                    Some(_) => header_unit(&self.pending),
                    None => self.header_unit,
                };
                for (i, (col, raw)) in cols.iter().zip(&row.values).enumerate() {
                    self.mark_format(col);
                    let unit = (*col == "amount").then_some(unit_of);
                    self.push(Table::Proactive, c, col, raw, unit, label, true);
                    self.mark_ocr(row.ocr(i));
                    if form.is_some() {
                        let printed = self.pending.clone();
                        if let Some(cell) = self.out.cells.last_mut() {
                            cell.note = Some(format!(
                                "column by the national form: its header was not read ({printed:?})"
                            ));
                        }
                    }
                }
            }
            _ => {
                if code.is_some() {
                    self.note(format!(
                        "proactive row {label:?}: {} figures under header {cols:?}; kept as non-standard",
                        row.values.len()
                    ));
                } else if !cols.is_empty() && cols.len() == row.values.len() {
                    self.unplaced.push(neighbours::Unplaced {
                        row: format!("nonstandard.{}", self.nonstandard + 1),
                        label: label.to_string(),
                        units: cols
                            .iter()
                            .zip(&row.values)
                            .map(|(col, raw)| {
                                (*col == "amount").then(|| money_unit(raw, self.header_unit))
                            })
                            .collect(),
                        cols,
                    });
                }
                self.push_nonstandard(Table::Proactive, &[], row);
            }
        }
    }

    /// The columns the national form gives a proactive row whose sub-block
    /// header was printed but named no column (OCR garbled it): known when
    /// the row's label names a row, the format is known, and the row's
    /// figures fill those columns, any further cells blank.
    fn form_columns(&self, row: &Row) -> Option<&'static [&'static str]> {
        if !self.header.is_empty() || self.pending.is_empty() {
            return None;
        }
        let code = row
            .labels
            .iter()
            .rev()
            .find_map(|l| labels::proactive_row(l))?;
        let format = match (self.out.saw_2019, self.out.saw_2021) {
            (true, false) => Format::V2019,
            (false, true) => Format::V2021,
            _ => return None,
        };
        let cols = proactive_cols(format, code);
        let filled = row.values.len() >= cols.len()
            && row.values[..cols.len()]
                .iter()
                .all(|v| !v.trim().is_empty())
            && row.values[cols.len()..].iter().all(|v| v.trim().is_empty());
        (!cols.is_empty() && filled).then_some(cols)
    }

    /// A row of blank cells whose label names a proactive row of the
    /// header in force: kept as that row's blank cells, not read as a
    /// header. False if the row is no such row.
    fn blank_proactive_row(&mut self, row: &Row) -> bool {
        let Some(code) = row
            .labels
            .iter()
            .rev()
            .find_map(|l| labels::proactive_row(l))
        else {
            return false;
        };
        let cols = self.header.clone();
        if cols.is_empty() || !cols.iter().all(|col| row_has_col(code, col)) {
            return false;
        }
        let label = row.labels.last().map_or("", String::as_str);
        for (i, col) in cols.iter().enumerate() {
            self.mark_format(col);
            let unit = (*col == "amount").then_some(self.header_unit);
            self.push(Table::Proactive, code, col, "", unit, label, true);
            self.mark_ocr(row.ocr(i));
        }
        true
    }

    /// A header label of a proactive sub-block: a column, or half of one.
    fn header_label(&mut self, label: &str) {
        let joined = format!("{}{}", self.pending, label);
        let col = labels::proactive_col(&joined).or_else(|| labels::proactive_col(label));
        match col {
            Some(c) => {
                if c == "amount" {
                    self.header_unit = header_unit(&joined);
                }
                self.header.push(c);
                self.pending.clear();
            }
            None => self.pending = label.to_string(),
        }
    }

    fn mark_format(&mut self, col: &str) {
        self.out.saw_2019 |= COLS_2019.contains(&col);
        self.out.saw_2021 |= COLS_2021.contains(&col);
    }

    fn requests(&mut self, row: &Row) {
        for l in &row.labels {
            if let Some(o) = labels::outcome_heading(l) {
                self.under = Some(o);
            }
        }
        let label = row.labels.last().map_or("", String::as_str);
        if row.values.is_empty() {
            self.note_row_without_figures(&row.labels);
            return;
        }
        let Some(values) =
            self.expect_figures(Table::Requests, label, &row.values, REQUEST_COLS.len())
        else {
            return;
        };
        let cols: Vec<&str> = REQUEST_COLS.iter().map(|(c, _, _)| *c).collect();
        match labels::requests_row(label, self.under) {
            Some(code) if !self.has_row(Table::Requests, code) => {
                self.out.saw_2019 |= code == "other";
                self.out.saw_2021 |= code.starts_with("other.");
                let from = row.values.len() - values.len();
                for (i, (col, raw)) in cols.iter().zip(values).enumerate() {
                    self.push(Table::Requests, code, col, raw, None, label, true);
                    self.mark_ocr(row.ocr(from + i));
                }
                if code == "carried_forward" {
                    self.table = None;
                }
            }
            Some(code) => {
                self.note(format!("requests row {code} printed twice; the second ({label:?}) kept as non-standard"));
                self.push_nonstandard(Table::Requests, &cols, &row.tail(values.len()));
            }
            None => self.push_nonstandard(Table::Requests, &cols, &row.tail(values.len())),
        }
    }

    /// A requests row that names a row of figures but holds none (its
    /// figures unreadable, or read as text) leaves a note: it is not lost
    /// silently. Headings (`（三）不予公开`) hold no figures and pass.
    fn note_row_without_figures(&mut self, printed: &[String]) {
        if is_column_header(printed) {
            return;
        }
        let Some((label, code)) = printed
            .iter()
            .find_map(|l| labels::requests_row(l, self.under).map(|c| (l, c)))
        else {
            return;
        };
        let heading = code != "total" && labels::outcome_heading(label).is_some();
        if !heading && !self.has_row(Table::Requests, code) {
            self.note(format!(
                "requests row {code} ({label:?}) printed without figures that could be read: {printed:?}"
            ));
        }
    }

    fn appeals(&mut self, row: &Row) {
        if row.values.is_empty() {
            return;
        }
        let label = row.labels.last().map_or("", String::as_str);
        if let Some(values) =
            self.expect_figures(Table::Appeals, label, &row.values, APPEAL_COLS.len())
        {
            let from = row.values.len() - values.len();
            for (i, (col, raw)) in APPEAL_COLS.iter().zip(values).enumerate() {
                self.push(Table::Appeals, "all", col, raw, None, "", true);
                self.mark_ocr(row.ocr(from + i));
            }
        }
        self.table = None;
    }

    /// The row's figures if it has as many as the table has columns (extra
    /// blank cells in front, from label columns left empty, are dropped).
    /// Otherwise a note: the figures cannot be placed without guessing.
    fn expect_figures<'a>(
        &mut self,
        table: Table,
        label: &str,
        values: &'a [String],
        n: usize,
    ) -> Option<&'a [String]> {
        let extra = values.len().saturating_sub(n);
        let (front, rest) = values.split_at(extra);
        if rest.len() == n && front.iter().all(String::is_empty) {
            return Some(rest);
        }
        let run_together = values
            .iter()
            .any(|v| v.chars().filter(char::is_ascii_digit).count() > 7);
        self.note(format!(
            "{} row {label:?}: {} figures where {n} expected{}; not read: {values:?}",
            table.code(),
            values.len(),
            if run_together {
                " (cells run together without separator?)"
            } else {
                ""
            },
        ));
        None
    }

    fn has_row(&self, table: Table, row: &str) -> bool {
        self.rows_read[table as usize].contains(row)
    }

    /// Keep a row that names no standard item, if it carries any figure.
    fn push_nonstandard(&mut self, table: Table, cols: &[&str], row: &Row) {
        if row.values.iter().all(|v| v.trim().is_empty()) {
            return;
        }
        self.nonstandard += 1;
        let code = format!("nonstandard.{}", self.nonstandard);
        let label = row.labels.join("/");
        self.note(format!(
            "{} row {label:?} is not a standard row; kept as {code}",
            table.code()
        ));
        for (i, raw) in row.values.iter().enumerate() {
            let col = cols
                .get(i)
                .map_or_else(|| format!("v{}", i + 1), |c| c.to_string());
            self.push(table, &code, &col, raw, None, &label, false);
            self.mark_ocr(row.ocr(i));
        }
    }

    #[allow(clippy::too_many_arguments)] // reason: every field of a cell is needed here
    fn push(
        &mut self,
        table: Table,
        row: &str,
        col: &str,
        raw: &str,
        money: Option<Option<Unit>>,
        label: &str,
        standard: bool,
    ) {
        let figure = parse(raw);
        let unit = money.map(|header| money_unit(raw, header));
        let read = &mut self.rows_read[table as usize];
        if !read.contains(row) {
            read.insert(row.to_string());
        }
        self.out.cells.push(Cell {
            table: table.code().to_string(),
            row: row.to_string(),
            col: col.to_string(),
            raw: raw.to_string(),
            value: figure.and_then(|f| f.value()),
            unit,
            standard,
            label: label.to_string(),
            note: None,
            ocr: false,
            ocr_conf: None,
        });
    }

    /// Mark the cell just pushed as read by OCR (`Some`), with its confidence.
    fn mark_ocr(&mut self, ocr: Option<Option<f32>>) {
        if let (Some(conf), Some(cell)) = (ocr, self.out.cells.last_mut()) {
            cell.ocr = true;
            cell.ocr_conf = conf.map(f64::from);
        }
    }

    fn note(&mut self, note: String) {
        self.out.notes.push(note);
    }
}

/// A requests header row: a label names an applicant column (`自然人`,
/// `商业企业`; `总计` names a row too, and does not count).
fn is_column_header(printed: &[String]) -> bool {
    printed.iter().any(|l| {
        let k = key(l);
        REQUEST_COLS
            .iter()
            .flat_map(|(_, name, _)| name.split('/'))
            .any(|part| part != "总计" && k == key(part))
    })
}

/// The appeals heading names review and lawsuit; its header cell is a
/// bare `行政复议` (or the misprint `行政法复议`). A longer label that only
/// mentions 复议 (a province's extra requests row) opens nothing.
fn opens_appeals(key: &str) -> bool {
    key.contains("复议") && (key.contains("诉讼") || key.chars().count() <= 6)
}

/// The unit of a money figure: the cell's own, else the header's.
fn money_unit(raw: &str, header: Option<Unit>) -> String {
    let in_cell = match parse(raw) {
        Some(Figure::Number(_, u)) => u,
        _ => None,
    };
    in_cell
        .or(header)
        .map_or("unknown", Unit::as_str)
        .to_string()
}

/// True if the column belongs to the proactive row in either format.
fn row_has_col(row: &str, col: &str) -> bool {
    [Format::V2019, Format::V2021]
        .iter()
        .any(|f| proactive_cols(*f, row).contains(&col))
}

/// Money unit named in a header (`（单位：万元）`, `采购总金额(元)`).
fn header_unit(header: &str) -> Option<Unit> {
    let k = key(header);
    if k.contains("万元") {
        Some(Unit::WanYuan)
    } else if k.ends_with('元') || k.contains("单位元") {
        Some(Unit::Yuan)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_under_an_unread_header_takes_the_forms_columns() {
        let t = read(&[
            Row::of(
                &["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"],
                &[],
            ),
            Row::of(&["规章"], &["0", "0", "0"]),
            Row::of(&["信息内容", "本年收英金说《单位;万元)"], &["", ""]),
            Row::of(&["行政事业性收费"], &["9116.36", "", ""]),
            Row::of(&["行政事业性收费"], &["9116.36", "7"]),
        ]);
        let fees: Vec<(&str, &str, Option<f64>, Option<&str>)> = t
            .cells
            .iter()
            .filter(|c| c.row == "fees")
            .map(|c| (c.col.as_str(), c.raw.as_str(), c.value, c.unit.as_deref()))
            .collect();
        assert_eq!(
            fees,
            vec![("amount", "9116.36", Some(9116.36), Some("wan_yuan"))]
        );
        let fee = t.cells.iter().find(|c| c.row == "fees").unwrap();
        assert!(fee.note.as_deref().unwrap().contains("national form"));
        // Two figures where the form has one column: not placed.
        assert!(t.cells.iter().any(|c| c.row.starts_with("nonstandard.")));
    }

    #[test]
    fn a_figure_row_without_figures_leaves_a_note() {
        let t = read(&[
            Row::of(&["申请人情况", "自然人", "总计"], &[]),
            Row::of(&["三、本年度办理结果"], &[]),
            Row::of(&["（三）不予公开"], &[]),
            Row::of(&["（七）总计", "72", "3", "0", "0", "0", "0", "石"], &[]),
        ]);
        assert_eq!(
            t.notes,
            vec![
                "requests row total (\"（七）总计\") printed without figures that could be read: \
                 [\"（七）总计\", \"72\", \"3\", \"0\", \"0\", \"0\", \"0\", \"石\"]"
                    .to_string()
            ]
        );
    }

    #[test]
    fn a_row_of_blank_cells_is_kept_blank() {
        let t = read(&[
            Row::of(&["第二十条第（一）项"], &[]),
            Row::of(
                &["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"],
                &[],
            ),
            Row::of(&["规章"], &["", "", ""]),
            Row::of(&["行政规范性文件"], &["1", "2", "3"]),
            Row::of(&["申请人情况"], &[]),
            Row::of(
                &["一、本年新收政府信息公开申请数量"],
                &["", "", "", "", "", "", ""],
            ),
            Row::of(
                &["二、上年结转政府信息公开申请数量"],
                &["1", "0", "0", "0", "0", "0", "1"],
            ),
        ]);
        let of = |table: &str, r: &str| -> Vec<(String, Option<f64>)> {
            t.cells
                .iter()
                .filter(|c| c.table == table && c.row == r && c.standard)
                .map(|c| (c.col.clone(), c.value))
                .collect()
        };
        let none = |cols: &[&str]| -> Vec<(String, Option<f64>)> {
            cols.iter().map(|c| (c.to_string(), None)).collect()
        };
        assert_eq!(
            of("proactive", "rules"),
            none(&["issued", "repealed", "in_force"])
        );
        // The header is unchanged by the blank row.
        assert_eq!(
            of("proactive", "normative_docs"),
            vec![
                ("issued".to_string(), Some(1.0)),
                ("repealed".to_string(), Some(2.0)),
                ("in_force".to_string(), Some(3.0)),
            ]
        );
        assert_eq!(of("requests", "new").len(), 7);
        assert!(of("requests", "new").iter().all(|(_, v)| v.is_none()));
        assert_eq!(of("requests", "carried_over")[6].1, Some(1.0));
    }
}
