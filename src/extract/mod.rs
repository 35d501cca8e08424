//! Extraction: decoded report text in, statistics tables out.
//!
//! Owns the mapping from printed labels to the canonical codes of the codebook
//! (`codes`), the expansion of HTML tables into grids, the reading of tables
//! that arrived flattened as text, the identification of a report (title,
//! year, agency, format) and the identity checks. Pure: no I/O, no panics on
//! any input.

use serde::Serialize;

mod boxes;
pub mod codes;
mod flat;
mod grid;
mod headline;
mod html;
mod identity;
mod labels;
mod layout;
mod neighbours;
mod number;
mod report;
mod scanned;
mod tables;

pub use codes::{codebook, CodeEntry};
pub use html::Page as HtmlPage;
pub(crate) use html::PageBuilder;
pub use report::{agency_of, is_title_line, year_of};
pub use scanned::{min_confidence, ScanLine, ScannedCell, FULL_RESOLUTION, MIN_CONFIDENCE};

/// Version of the extractor, stored beside every derived row so that a
/// re-extraction can tell which rows came from which logic.
pub const EXTRACTOR_VERSION: &str = "0.1.0";

/// The national format a report follows. Its codes start with a letter so
/// that no CSV reader takes the `format` column for a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Format {
    /// 国办公开办函〔2019〕60号: reports for 2019 and 2020.
    #[serde(rename = "f2019")]
    V2019,
    /// 国办公开办函〔2021〕30号: reports for 2021 on.
    #[serde(rename = "f2021")]
    V2021,
    /// Reports for 2008–2018: prose, figures in sentences.
    #[serde(rename = "pre2019")]
    Pre2019,
    /// No table and no year to decide by.
    #[serde(rename = "unknown")]
    Unknown,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::V2019 => "f2019",
            Format::V2021 => "f2021",
            Format::Pre2019 => "pre2019",
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
    /// False for a row the national format does not have (added by a
    /// province, or printed twice): its `row` is then `nonstandard.N`.
    pub standard: bool,
    /// The row label as printed (label cells joined by `/`), so that a
    /// non-standard row can be read by a person.
    pub label: String,
    /// How the extractor placed this cell when it was not by its own label
    /// (a row known by its neighbours), for the reader to judge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// True for a figure read from a scan by OCR.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ocr: bool,
    /// OCR's confidence (0–100) in the figure; `None` for a blank cell or a
    /// figure not read by OCR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ocr_conf: Option<f64>,
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

/// Table rows read from one page.
const MAX_TABLE_ROWS: usize = 20_000;

/// Extract every report from an HTML document.
///
/// The statistics tables are read from the innermost `<table>`s; a page
/// without them is read as text (prose reports, flattened tables).
pub fn extract_html(html: &str) -> Vec<Report> {
    extract_html_page(&html::scan(html))
}

/// Extract every report from an HTML page already read (by
/// [`crate::markup::read`], which gives link discovery's outline from the
/// same pass).
pub fn extract_html_page(page: &HtmlPage) -> Vec<Report> {
    let title = html_title(page);
    // The national form has under 100 rows; past this a page is not a report's tables.
    let rows: Vec<tables::Row> = grid::table_rows(&page.tables)
        .into_iter()
        .flatten()
        .take(MAX_TABLE_ROWS)
        .collect();
    let read = tables::read(&rows);
    if read.cells.is_empty() {
        return reports_from_segments(flat::segments(&page.text, title), flat::rows);
    }
    vec![build(title, None, read, "")]
}

/// Extract every report from plain text (tables flattened one cell per line
/// or `|`-separated; prose reports). Text laid out as `pdftotext -layout`
/// prints it is read as [`extract_layout`] reads it.
pub fn extract_text(text: &str) -> Vec<Report> {
    if layout::looks_like_layout(text) {
        return extract_layout(text);
    }
    reports_from_segments(flat::segments(text, None), flat::rows)
}

/// Extract every report from layout text (a PDF through `pdftotext
/// -layout`): wrapped labels joined, figures placed in columns by position.
pub fn extract_layout(text: &str) -> Vec<Report> {
    reports_from_segments(layout::segments(text, None), layout::rows)
}

/// Extract every report from a PDF's `pdftotext -layout` text and its word
/// boxes (`-bbox-layout`): each is read as layout text, and the reading that
/// names more standard cells is kept (the boxes one on a tie, its columns
/// being the page's own).
pub fn extract_pdf(layout: Option<&str>, boxes: Option<&str>) -> Vec<Report> {
    let by_boxes = boxes
        .and_then(boxes::layout_text)
        .map(|t| extract_layout(&t))
        .unwrap_or_default();
    let by_layout = layout.map(extract_layout).unwrap_or_default();
    let standard = |rs: &[Report]| {
        rs.iter()
            .map(|r| {
                r.cells
                    .iter()
                    .filter(|c| c.standard && c.value.is_some())
                    .count()
            })
            .sum::<usize>()
    };
    if standard(&by_layout) > standard(&by_boxes) {
        by_layout
    } else {
        by_boxes
    }
}

/// Extract the report on scanned pages: the text lines and table rows OCR
/// placed (`crate::scan`), every figure with its confidence.
pub fn extract_scan(lines: &[ScanLine]) -> Vec<Report> {
    scanned::extract(lines)
}

/// One report per title-led segment that yields figures; if none does, the
/// titled segments, each with a note.
fn reports_from_segments(
    segments: Vec<flat::Segment>,
    rows_of: fn(&[String]) -> Vec<tables::Row>,
) -> Vec<Report> {
    let mut reports: Vec<(Report, bool, usize)> = segments
        .into_iter()
        .filter_map(|seg| {
            let read = tables::read(&rows_of(&seg.lines));
            let tables_found = !read.cells.is_empty() || !read.notes.is_empty();
            if seg.title.is_none() && !tables_found {
                return None;
            }
            let prose = seg.lines.join("\n");
            let body_chars = prose.chars().filter(|c| labels::is_han(*c)).count();
            let report = build(seg.title, seg.agency, read, &prose);
            let found = tables_found || !report.cells.is_empty();
            Some((report, found, body_chars))
        })
        .collect();
    if reports.iter().any(|(_, found, _)| *found) {
        reports.retain(|(_, found, _)| *found);
    } else {
        // A listing page names reports without holding any: keep only
        // titles followed by a body of some length.
        reports.retain(|(_, _, chars)| *chars >= MIN_BODY_CHARS);
    }
    reports.into_iter().map(|(r, _, _)| r).collect()
}

/// Chinese characters below which a titled stretch without figures is a
/// link or a caption, not a report.
const MIN_BODY_CHARS: usize = 200;

/// Assemble a report: identity from the title, format, headline figures for
/// pre-2019 prose, identity checks.
fn build(
    title: Option<String>,
    agency: Option<String>,
    read: tables::Tables,
    prose: &str,
) -> Report {
    let mut notes = read.notes;
    let title = title.unwrap_or_else(|| {
        notes.push("no report title found".to_string());
        String::new()
    });
    let year = report::year_of(&title);
    let has_tables = read.cells.iter().any(|c| c.table != "headline");
    let (format, format_note) =
        report::decide_format(year, read.saw_2019, read.saw_2021, has_tables);
    notes.extend(format_note);
    let mut cells = read.cells;
    if format == Format::Pre2019 {
        cells.extend(headline::read(prose));
    }
    if cells.is_empty() {
        notes.push("no statistics found".to_string());
    }
    let checks = identity::check_all(&cells, format);
    Report {
        agency: report::agency_of(&title).or(agency),
        title,
        year,
        format,
        cells,
        checks,
        notes,
    }
}

/// The report title: `ArticleTitle` metadata, else `<title>`, else a heading
/// naming a report.
fn html_title(page: &html::Page) -> Option<String> {
    let candidates: Vec<String> = page
        .meta_titles
        .iter()
        .chain(&page.titles)
        .chain(&page.headings)
        .map(|t| report::clean_title(t))
        .filter(|t| !t.is_empty())
        .collect();
    candidates
        .iter()
        .find(|t| t.contains("报告") || t.contains("年报"))
        .or(candidates.first())
        .cloned()
}
