//! Extraction: decoded report text in, statistics tables out.
//!
//! Owns the mapping from printed labels to the canonical codes of the codebook
//! (`codes`), the expansion of HTML tables into grids, the reading of tables
//! that arrived flattened as text, the identification of a report (title,
//! year, agency, format) and the identity checks. Pure: no I/O, no panics on
//! any input.

use serde::Serialize;

/// Version of the extractor, stored beside every derived row so that a
/// re-extraction can tell which rows came from which logic.
pub const EXTRACTOR_VERSION: &str = "0.1.0";

/// The national format a report follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Format {
    /// 国办公开办函〔2019〕60号: reports for 2019 and 2020.
    #[serde(rename = "2019")]
    V2019,
    /// 国办公开办函〔2021〕30号: reports for 2021 on.
    #[serde(rename = "2021")]
    V2021,
    /// Reports for 2008–2018: prose, figures in sentences.
    #[serde(rename = "pre-2019")]
    Pre2019,
    /// No table and no year to decide by.
    #[serde(rename = "unknown")]
    Unknown,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::V2019 => "2019",
            Format::V2021 => "2021",
            Format::Pre2019 => "pre-2019",
            Format::Unknown => "unknown",
        }
    }
}

/// One figure of a statistics table, named by its canonical codes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    /// `proactive`, `requests`, `appeals` or `headline`.
    pub table: String,
    pub row: String,
    pub col: String,
    /// The cell text as printed (whitespace collapsed), kept beside the number.
    pub raw: String,
    /// The parsed number; `None` for a blank, `—`, `/`, `无` or unreadable cell.
    pub value: Option<f64>,
    /// `yuan`, `wan_yuan` or `unknown` on money cells; `None` on counts.
    pub unit: Option<String>,
}

/// The outcome of one identity of TABLES.md for one column (or row).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// `requests_balance`, `requests_row_sum`, `requests_outcome_sum`, `appeals_group_sum`.
    pub identity: String,
    /// The column (or, for row sums, the row; for appeals, the group) checked.
    pub col: String,
    /// `Some(true)` holds, `Some(false)` broken, `None` not checkable (a cell missing).
    pub holds: Option<bool>,
    pub left: Option<f64>,
    pub right: Option<f64>,
}

/// One annual report found in a document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub title: String,
    pub year: Option<i32>,
    pub format: Format,
    /// The publishing agency as printed.
    pub agency: Option<String>,
    pub cells: Vec<Cell>,
    pub checks: Vec<Check>,
    /// Findings about the extraction itself (non-standard rows kept, a table
    /// whose figures could not be split, …), for the reader of the summary.
    pub notes: Vec<String>,
}

/// Extract every report from an HTML document.
pub fn extract_html(_html: &str) -> Vec<Report> {
    Vec::new()
}

/// Extract every report from plain text (tables flattened one cell per line
/// or `|`-separated; prose reports).
pub fn extract_text(_text: &str) -> Vec<Report> {
    Vec::new()
}
