//! Wide tables for spreadsheet users: one row per report, one column per
//! `row.col` code of one statistics table. Money cells get a `<code>_unit`
//! column beside their value, since 元 and 万元 are never rescaled. Counts
//! are integer columns, money decimal columns.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::reader::{CellRow, ReportMeta};
use super::rows::{wide_key_columns, wide_key_row};
use super::table::{count, Column, Kind, Value};

/// The statistics tables that get a wide form, in the order of a report.
pub const WIDE_TABLES: [&str; 4] = ["proactive", "requests", "appeals", "headline"];

/// The row-code prefix of rows outside the national format.
pub const NONSTANDARD: &str = "nonstandard.";

/// A figure's value and unit.
type Figure = (Option<f64>, Option<String>);

/// The figures of one statistics table, gathered report by report. Codes
/// are numbered once, so a report's figures are small integer-keyed maps.
#[derive(Debug, Default)]
pub struct Wide {
    pub table: String,
    /// report id → code number → (value, unit)
    figures: BTreeMap<i64, HashMap<usize, Figure>>,
    /// code → its number
    numbers: HashMap<String, usize>,
    with_unit: HashSet<String>,
}

/// The name of a wide column: `row.col`.
pub fn code(cell: &CellRow) -> String {
    format!("{}.{}", cell.row, cell.col)
}

impl Wide {
    pub fn new(table: &str) -> Self {
        Self {
            table: table.to_string(),
            ..Self::default()
        }
    }

    /// Add a figure. Rows a report added to the national table
    /// (`nonstandard.N`) mean something different in every report and so
    /// have no column here; they stay in `cells`.
    pub fn add(&mut self, cell: &CellRow) {
        if cell.row.starts_with(NONSTANDARD) {
            return;
        }
        let code = code(cell);
        if cell.unit.is_some() && !self.with_unit.contains(&code) {
            self.with_unit.insert(code.clone());
        }
        let next = self.numbers.len();
        let number = *self.numbers.entry(code).or_insert(next);
        let figures = self.figures.entry(cell.report_id).or_default();
        if figures.contains_key(&number) {
            tracing::warn!(report = cell.report_id, table = %self.table, row = %cell.row, col = %cell.col, "figure twice in one report; the first is kept in the wide table");
            return;
        }
        figures.insert(number, (cell.value, cell.unit.clone()));
    }

    pub fn reports(&self) -> usize {
        self.figures.len()
    }

    /// The value columns: the codebook's codes of this table in its order,
    /// then any other code found in the data, sorted. Only codes present in
    /// at least one exported report are kept, so no column is always empty.
    pub fn codes(&self, codebook_order: &[String]) -> Vec<String> {
        let mut codes: Vec<String> = codebook_order
            .iter()
            .filter(|c| self.numbers.contains_key(*c))
            .cloned()
            .collect();
        let known: HashSet<&String> = codebook_order.iter().collect();
        let mut extra: Vec<String> = self
            .numbers
            .keys()
            .filter(|c| !known.contains(c))
            .cloned()
            .collect();
        extra.sort();
        codes.extend(extra);
        codes
    }

    pub fn columns(&self, codes: &[String]) -> Vec<Column> {
        let mut cols = wide_key_columns();
        for code in codes {
            if self.with_unit.contains(code) {
                cols.push(Column::new(code.as_str(), Kind::Money));
                cols.push(Column::new(format!("{code}_unit"), Kind::Text));
            } else {
                cols.push(Column::new(code.as_str(), Kind::Int));
            }
        }
        cols
    }

    /// The rows, in report id order, for the reports in `reports`.
    pub fn rows<'a>(
        &'a self,
        codes: &'a [String],
        reports: &'a BTreeMap<i64, ReportMeta>,
    ) -> impl Iterator<Item = Vec<Value<'a>>> + 'a {
        self.figures.iter().filter_map(move |(id, figures)| {
            let meta = reports.get(id)?;
            let mut row = wide_key_row(meta);
            for code in codes {
                let figure = self.numbers.get(code).and_then(|n| figures.get(n));
                let (value, unit) = figure.cloned().unwrap_or((None, None));
                if self.with_unit.contains(code) {
                    row.push(value.into());
                    row.push(unit.into());
                } else {
                    row.push(count(value));
                }
            }
            Some(row)
        })
    }
}
