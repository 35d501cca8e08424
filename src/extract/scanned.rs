//! Reports read from scans: the text lines and table rows OCR placed on a
//! page (see `crate::scan`) → a report whose every figure carries the
//! recogniser's confidence. A figure read with too little confidence is left
//! null, its text kept in `raw`; the identities then flag what OCR got wrong.

use super::number::is_figure;
use super::tables::{self, Row};
use super::{build, identity, layout, report, Report};

/// Confidence (0–100) below which an OCR figure is not trusted, on a page
/// scanned at [`FULL_RESOLUTION`] or finer.
pub const MIN_CONFIDENCE: f32 = 60.0;
/// Confidence of the figures an identity needs to confirm a doubtful one.
const CONFIRMING_CONFIDENCE: f32 = 85.0;
/// Pixels per inch from which a page's print is fine enough for
/// [`MIN_CONFIDENCE`]: 7-point figures are then about 15 pixels tall.
pub const FULL_RESOLUTION: f32 = 200.0;
/// Confidence the threshold rises by for every pixel per inch a page lacks
/// below [`FULL_RESOLUTION`].
const CONFIDENCE_PER_PPI: f32 = 0.7;
/// Highest threshold: beyond it no reading would be trusted at all.
const MAX_THRESHOLD: f32 = 96.0;

/// The confidence an OCR figure needs on a page scanned at `ppi` pixels
/// per inch. On a coarser scan the recogniser misreads figures with a
/// confidence as high as 80 (a 150 ppi page), so the bar rises as the
/// resolution falls; an unknown resolution is taken as full.
pub fn min_confidence(ppi: Option<f32>) -> f32 {
    let lack = ppi.map_or(0.0, |p| (FULL_RESOLUTION - p).max(0.0));
    (MIN_CONFIDENCE + lack * CONFIDENCE_PER_PPI).min(MAX_THRESHOLD)
}

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
    /// The resolution (pixels per inch) the page that follows was scanned
    /// at, where known: the coarsest page sets the confidence figures need.
    Resolution(f32),
}

/// The report on scanned pages; none when the pages hold no title and no
/// table.
pub fn extract(lines: &[ScanLine]) -> Vec<Report> {
    let text: Vec<&str> = lines
        .iter()
        .filter_map(|l| match l {
            ScanLine::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    let segment = layout::segments(&text.join("\n"), None)
        .into_iter()
        .find(|s| s.title.is_some());
    let rows: Vec<Row> = lines
        .iter()
        .filter_map(|l| match l {
            ScanLine::Row(cells) => Some(row_of(cells)),
            _ => None,
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
    let ppi = lines
        .iter()
        .filter_map(|l| match l {
            ScanLine::Resolution(p) => Some(*p),
            _ => None,
        })
        .reduce(f32::min);
    let threshold = min_confidence(ppi);
    if threshold > MIN_CONFIDENCE {
        report.notes.push(format!(
            "scanned at {:.0} pixels per inch: OCR figures need confidence {threshold:.0}",
            ppi.unwrap_or(FULL_RESOLUTION)
        ));
    }
    let doubtful = distrust_doubtful(&mut report, threshold);
    let confirmed = confirm_by_identities(&mut report, &doubtful, threshold);
    if doubtful.len() > confirmed {
        report.notes.push(format!(
            "{} OCR figures below confidence {threshold:.0} left null",
            doubtful.len() - confirmed
        ));
    }
    if confirmed > 0 {
        report.notes.push(format!(
            "{confirmed} OCR figures below confidence {threshold:.0} kept: an identity of confident figures holds with them"
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
/// with its confidence. A cell of Latin letters there, or of one or two
/// Chinese characters after a figure, is a figure OCR could not read: its
/// value is null, its text kept.
fn row_of(cells: &[ScannedCell]) -> Row {
    let texts: Vec<String> = cells.iter().map(|c| figure_text(&c.text)).collect();
    let figure = |t: &String| !t.is_empty() && is_figure(t);
    let first_figure = texts.iter().position(figure);
    // A row of figures: most cells right of its first hold one.
    let of_figures = 2 * texts.iter().skip(1).filter(|t| figure(t)).count() > texts.len() - 1;
    let split = texts
        .iter()
        .enumerate()
        .rposition(|(i, t)| {
            let label = !is_figure(t) && !t.is_ascii();
            // One or two characters after a figure, in a row of figures,
            // are a figure OCR read as Chinese (`石` for `75`), not a label.
            let misread =
                of_figures && first_figure.is_some_and(|f| f < i) && t.chars().count() <= 2;
            label && !misread
        })
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
        // A point with no digit after it is a speck, not a decimal point.
        Some(m) if m.chars().any(|c| c.is_ascii_digit()) => m.trim_end_matches('.').to_string(),
        _ => text.trim().to_string(),
    }
}

/// Null every OCR figure read with less than `threshold`; returns the
/// cells nulled, each with the figure it was read as.
fn distrust_doubtful(report: &mut Report, threshold: f32) -> Vec<(usize, f64)> {
    let mut nulled = Vec::new();
    for (i, c) in report.cells.iter_mut().enumerate() {
        let Some(conf) = c.ocr_conf else { continue };
        let Some(read) = c.value.filter(|_| conf < f64::from(threshold)) else {
            continue;
        };
        c.value = None;
        add_note(
            c,
            format!("OCR confidence {conf:.0} below {threshold:.0}: left null"),
        );
        nulled.push((i, read));
    }
    nulled
}

/// Give back a doubtful figure its reading where that reading, alone among
/// the doubtful ones, makes an identity of otherwise confident figures (at
/// least `threshold`, and [`CONFIRMING_CONFIDENCE`]) hold
/// that could not be checked without it, and breaks none: the figure is then
/// read and confirmed, not guessed. Returns how many were kept.
fn confirm_by_identities(report: &mut Report, doubtful: &[(usize, f64)], threshold: f32) -> usize {
    // Only figures read with a wide margin may confirm another: two figures
    // misread alike (`21` as `2` twice) must not vouch for each other.
    let confirming = CONFIRMING_CONFIDENCE.max(threshold);
    let mut strict = report.cells.clone();
    for c in &mut strict {
        if c.ocr_conf.is_some_and(|k| k < f64::from(confirming)) {
            c.value = None;
        }
    }
    let base: Vec<(String, String, Option<bool>)> = identity::check_all(&strict, report.format)
        .iter()
        .map(|k| (k.identity.clone(), k.col.clone(), k.holds))
        .collect();
    let mut confirmed = Vec::new();
    for &(i, read) in doubtful {
        let mut cells = strict.clone();
        let Some(cell) = cells.get_mut(i) else {
            continue;
        };
        cell.value = Some(read);
        let with = identity::check_all(&cells, report.format);
        let was = |k: &super::Check| {
            base.iter()
                .find(|(id, col, _)| *id == k.identity && *col == k.col)
                .map(|b| b.2)
        };
        let breaks = with
            .iter()
            .any(|k| k.holds == Some(false) && was(k) != Some(Some(false)));
        let holds: Vec<&super::Check> = with
            .iter()
            .filter(|k| k.holds == Some(true) && was(k).flatten().is_none())
            .collect();
        if !breaks && !holds.is_empty() {
            let by: Vec<String> = holds
                .iter()
                .map(|k| format!("{} {}", k.identity, k.col))
                .collect();
            confirmed.push((i, read, by.join(", ")));
        }
    }
    for (i, read, by) in &confirmed {
        if let Some(c) = report.cells.get_mut(*i) {
            c.value = Some(*read);
            add_note(c, format!("kept: {by} holds with it"));
        }
    }
    confirmed.len()
}

fn add_note(c: &mut super::Cell, why: String) {
    c.note = Some(match c.note.take() {
        Some(n) => format!("{n}; {why}"),
        None => why,
    });
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
        assert_eq!(figure_text("8."), "8");
        assert_eq!(figure_text("9116.36"), "9116.36");
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

    #[test]
    fn a_coarse_scan_needs_more_confidence() {
        assert_eq!(min_confidence(None), MIN_CONFIDENCE);
        assert_eq!(min_confidence(Some(300.0)), MIN_CONFIDENCE);
        assert!((min_confidence(Some(150.0)) - 95.0).abs() < 0.01);
        assert_eq!(min_confidence(Some(72.0)), MAX_THRESHOLD);
        let lines = |ppi: f32| {
            vec![
                ScanLine::Resolution(ppi),
                ScanLine::Text("2022年政府信息公开工作年度报告".into()),
                ScanLine::Row(vec![cell("信息内容", 95.0), cell("本年处理决定数量", 95.0)]),
                ScanLine::Row(vec![cell("行政许可", 95.0), cell("10690", 80.0)]),
            ]
        };
        let value = |ppi| extract(&lines(ppi))[0].cells[0].value;
        assert_eq!(value(200.0), Some(10690.0));
        // The same reading on a 150 ppi page is not trusted.
        assert_eq!(value(150.0), None);
    }

    fn requests_row(label: &str, figures: &[(&str, f32)]) -> ScanLine {
        let mut cells = vec![cell(label, 95.0)];
        cells.extend(figures.iter().map(|(t, c)| cell(t, *c)));
        ScanLine::Row(cells)
    }

    #[test]
    fn a_figure_read_as_chinese_keeps_its_row() {
        let sure = |t| (t, 95.0);
        let lines = vec![
            ScanLine::Text("2022年政府信息公开工作年度报告".into()),
            ScanLine::Row(vec![cell("申请人情况", 95.0)]),
            requests_row(
                "（七）总计",
                &[
                    sure("72"),
                    sure("3"),
                    sure("0"),
                    sure("0"),
                    sure("0"),
                    sure("0"),
                    ("石", 70.0),
                ],
            ),
        ];
        let r = &extract(&lines)[0];
        let row: Vec<(&str, Option<f64>, &str)> = r
            .cells
            .iter()
            .filter(|c| c.row == "total")
            .map(|c| (c.col.as_str(), c.value, c.raw.as_str()))
            .collect();
        assert_eq!(row.len(), 7, "{:#?}", r.notes);
        assert_eq!(row[0], ("natural_person", Some(72.0), "72"));
        assert_eq!(row[6], ("total", None, "石"));
        // A header row of column names is not read as figures.
        let header = row_of(&[
            cell("申请人情况", 95.0),
            cell("自然人", 95.0),
            cell("ae", 20.0),
            cell("4", 0.0),
            cell("总计", 93.0),
        ]);
        assert!(header.values.is_empty(), "{header:?}");
    }

    #[test]
    fn a_doubtful_figure_an_identity_confirms_is_kept() {
        let sure = |t| (t, 95.0);
        let lines = |total: &str| {
            vec![
                ScanLine::Text("2022年政府信息公开工作年度报告".into()),
                ScanLine::Row(vec![cell("申请人情况", 95.0)]),
                requests_row(
                    "一、本年新收政府信息公开申请数量",
                    &[
                        sure("70"),
                        sure("2"),
                        sure("0"),
                        sure("0"),
                        sure("0"),
                        sure("2"),
                        (total, 20.0),
                    ],
                ),
            ]
        };
        let total = |r: &Report| {
            r.cells
                .iter()
                .find(|c| c.row == "new" && c.col == "total")
                .cloned()
                .unwrap()
        };
        // 70 + 2 + 2 = 74: the row sum of sure figures holds with it.
        let kept = total(&extract(&lines("74"))[0]);
        assert_eq!(kept.value, Some(74.0));
        assert!(kept.note.unwrap().contains("requests_row_sum new"));
        // 4 would break it: null, its text kept.
        let r = &extract(&lines("4"))[0];
        assert_eq!(total(r).value, None);
        assert_eq!(total(r).raw, "4");
    }
}
