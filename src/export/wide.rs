//! Wide tables for spreadsheet users: one row per report, one column per
//! `row.col` code of one statistics table. Money cells get a `<code>_unit`
//! column beside their value, since 元 and 万元 are never rescaled. Counts
//! are integer columns, money decimal columns.

use std::collections::{BTreeMap, HashSet};

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
/// are numbered once, so a report's figures are a vector by code number.
#[derive(Debug, Default)]
pub struct Wide {
    pub table: String,
    /// (report id, its figures by code number), in report id order.
    figures: Vec<(i64, Vec<Option<Figure>>)>,
    /// code → its number
    numbers: foldhash::HashMap<String, usize>,
    with_unit: HashSet<String>,
    /// The code being looked up, kept to spare an allocation per figure.
    key: String,
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
    pub fn add(&mut self, cell: &CellRow<'_>) {
        if cell.row.starts_with(NONSTANDARD) {
            return;
        }
        self.key.clear();
        self.key.push_str(cell.row);
        self.key.push('.');
        self.key.push_str(cell.col);
        if cell.unit.is_some() && !self.with_unit.contains(self.key.as_str()) {
            self.with_unit.insert(self.key.clone());
        }
        let number = match self.numbers.get(self.key.as_str()) {
            Some(&n) => n,
            None => {
                let n = self.numbers.len();
                self.numbers.insert(self.key.clone(), n);
                n
            }
        };
        let Some(figures) = self.of_report(cell.report_id) else {
            return;
        };
        if figures.len() <= number {
            figures.resize(number + 1, None);
        }
        match figures.get_mut(number) {
            Some(Some(_)) => {
                tracing::warn!(report = cell.report_id, table = %self.table, row = %cell.row, col = %cell.col, "figure twice in one report; the first is kept in the wide table");
            }
            Some(slot) => *slot = Some((cell.value, cell.unit.map(str::to_string))),
            None => {}
        }
    }

    /// The figures of report `id`: the last report's, as figures come by
    /// report, else found or put in id order.
    fn of_report(&mut self, id: i64) -> Option<&mut Vec<Option<Figure>>> {
        let at = match self.figures.last() {
            Some((last, _)) if *last == id => self.figures.len() - 1,
            Some((last, _)) if *last > id => {
                match self.figures.binary_search_by_key(&id, |(r, _)| *r) {
                    Ok(i) => i,
                    Err(i) => {
                        self.figures.insert(i, (id, Vec::new()));
                        i
                    }
                }
            }
            _ => {
                self.figures.push((id, Vec::new()));
                self.figures.len() - 1
            }
        };
        self.figures.get_mut(at).map(|(_, f)| f)
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
                let figure = self
                    .numbers
                    .get(code)
                    .and_then(|&n| figures.get(n))
                    .and_then(Option::as_ref);
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
