//! Reports read from scans: the text lines and table rows OCR placed on a
//! page (see `crate::scan`) → a report whose every figure carries the
//! recogniser's confidence. A figure read with too little confidence is left
//! null, its text kept in `raw`; the identities then flag what OCR got wrong.

use super::number::is_figure;
use super::tables::{self, Row};
use super::{build, identity, layout, report, Report};

/// Confidence (0–100) below which an OCR figure is not trusted.
pub const MIN_CONFIDENCE: f32 = 60.0;

/// One table cell as OCR read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScannedCell {
    pub text: String,
    /// The lowest confidence of its words; `None` for a cell with no word.
    pub conf: Option<f32>,
}

/// A line of a scanned page, top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanLine {
    /// Text outside any table (titles, headings, prose).
    Text(String),
    /// One grid row of a table, its cells left to right (a merged cell on
    /// every row it spans).
    Row(Vec<ScannedCell>),
}

/// The report on scanned pages; none when the pages hold no title and no
/// table.
pub fn extract(lines: &[ScanLine]) -> Vec<Report> {
    let text: Vec<&str> = lines
        .iter()
        .filter_map(|l| match l {
            ScanLine::Text(t) => Some(t.as_str()),
            ScanLine::Row(_) => None,
        })
        .collect();
    let segment = layout::segments(&text.join("\n"), None)
        .into_iter()
        .find(|s| s.title.is_some());
    let rows: Vec<Row> = lines
        .iter()
        .filter_map(|l| match l {
            ScanLine::Row(cells) => Some(row_of(cells)),
            ScanLine::Text(_) => None,
        })
        .filter(|r| !r.labels.is_empty() || !r.values.is_empty())
        .collect();
    let read = tables::read(&rows);
    let (title, agency, misread) = match segment {
        Some(s) => (s.title, s.agency, false),
        None => (misread_title(&text), None, true),
    };
    if read.cells.is_empty() && title.is_none() {
        return Vec::new();
    }
    let mut report = build(title, agency, read, "");
    if misread && !report.title.is_empty() {
        // The agency is not read out of a title OCR garbled.
        report.agency = None;
        report
            .notes
            .push("title as OCR read it, partly misread".to_string());
    }
    let doubtful = distrust_doubtful(&mut report);
    if doubtful > 0 {
        report.notes.push(format!(
            "{doubtful} OCR figures below confidence {MIN_CONFIDENCE} left null"
        ));
    }
    report.checks = identity::check_all(&report.cells, report.format);
    vec![report]
}

/// A title OCR did not read whole (`报告` as `让告`): the first line that
/// names a year and the disclosure work's `年度`, as read.
fn misread_title(text: &[&str]) -> Option<String> {
    text.iter()
        .map(|t| report::clean_title(t))
        .find(|t| t.contains("年度") && t.contains("政府信息") && report::year_of(t).is_some())
}

/// Labels first, then the figures: every cell after the last one that holds
/// Chinese text and is no figure (OCR's look-alikes read as digits), each
/// with its confidence. A cell of Latin letters there is a figure OCR could
/// not read: its value is null, its text kept.
fn row_of(cells: &[ScannedCell]) -> Row {
    let texts: Vec<String> = cells.iter().map(|c| figure_text(&c.text)).collect();
    let split = texts
        .iter()
        .rposition(|t| !is_figure(t) && !t.is_ascii())
        .map_or(0, |i| i + 1);
    Row {
        labels: texts[..split]
            .iter()
            .filter(|t| !t.is_empty())
            .cloned()
            .collect(),
        values: texts[split..].to_vec(),
        confidence: Some(cells[split..].iter().map(|c| c.conf).collect()),
    }
}

/// A cell's text with the characters OCR confuses with digits read as the
/// digits, when the whole cell is made of digits and such look-alikes;
/// otherwise as recognised.
fn figure_text(text: &str) -> String {
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mapped: Option<String> = squeezed
        .chars()
        .map(|c| match c {
            '0'..='9' | '.' => Some(c),
            'O' | 'o' | 'D' | 'Q' | '〇' | '○' => Some('0'),
            'l' | 'I' | '|' | 'i' | '!' => Some('1'),
            'Z' | 'z' => Some('2'),
            'S' | 's' => Some('5'),
            'B' => Some('8'),
            'g' => Some('9'),
            _ => None,
        })
        .collect();
    match mapped {
        Some(m) if m.chars().any(|c| c.is_ascii_digit()) => m,
        _ => text.trim().to_string(),
    }
}

/// Null every OCR figure read with less than [`MIN_CONFIDENCE`]; returns
/// how many.
fn distrust_doubtful(report: &mut Report) -> usize {
    let mut n = 0;
    for c in &mut report.cells {
        let Some(conf) = c.ocr_conf else { continue };
        if conf < f64::from(MIN_CONFIDENCE) && c.value.is_some() {
            c.value = None;
            let why = format!("OCR confidence {conf:.0} below {MIN_CONFIDENCE}: left null");
            c.note = Some(match c.note.take() {
                Some(n) => format!("{n}; {why}"),
                None => why,
            });
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(text: &str, conf: f32) -> ScannedCell {
        ScannedCell {
            text: text.into(),
            conf: (!text.is_empty()).then_some(conf),
        }
    }

    #[test]
    fn look_alikes_are_digits_only_in_figure_cells() {
        assert_eq!(figure_text("1O6 9O"), "10690");
        assert_eq!(figure_text(" 21 "), "21");
        assert_eq!(figure_text("l"), "1");
        assert_eq!(figure_text("规章"), "规章");
        assert_eq!(figure_text("Other"), "Other");
    }

    #[test]
    fn a_doubtful_figure_is_null_with_its_text_kept() {
        let lines = vec![
            ScanLine::Text("2022年政府信息公开工作年度报告".into()),
            ScanLine::Row(vec![cell("第二十条第（一）项", 95.0)]),
            ScanLine::Row(vec![
                cell("信息内容", 95.0),
                cell("本年制发件数", 95.0),
                cell("本年废止件数", 95.0),
                cell("现行有效件数", 95.0),
            ]),
            ScanLine::Row(vec![
                cell("规章", 95.0),
                cell("3", 95.0),
                cell("7", 31.0),
                cell("", 0.0),
            ]),
        ];
        let r = &extract(&lines)[0];
        assert_eq!(r.year, Some(2022));
        let misread = [ScanLine::Text("2022年政府信息公无工作年度:3告".into())];
        assert_eq!(extract(&misread)[0].year, Some(2022));
        #[allow(clippy::type_complexity)] // reason: one tuple per cell, read at a glance
        let got: Vec<(&str, Option<f64>, &str, bool, Option<f64>)> = r
            .cells
            .iter()
            .map(|c| (c.col.as_str(), c.value, c.raw.as_str(), c.ocr, c.ocr_conf))
            .collect();
        assert_eq!(
            got,
            vec![
                ("issued", Some(3.0), "3", true, Some(95.0)),
                ("repealed", None, "7", true, Some(31.0)),
                ("in_force", None, "", true, None),
            ]
        );
        assert!(r.cells[1]
            .note
            .as_deref()
            .unwrap()
            .contains("confidence 31"));
    }
}
