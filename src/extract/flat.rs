//! Flattened text → report segments → rows.
//!
//! Text copies of reports lose the table structure: one cell per line, or
//! cells separated by `|`. A page may also hold several reports among
//! unrelated noise (an aggregator page); it is cut at each report title line.
//! Within a segment, a line that is not a figure opens a row and the figure
//! lines after it are that row's cells, which is how such copies print them.

use super::grid::split_row;
use super::number::{collapse_ws, is_figure};
use super::report::{clean_title, is_title_line};
use super::tables::Row;

/// A stretch of text under one report title (or before any title).
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub title: Option<String>,
    /// The agency printed on its own line above the title, if any.
    pub agency: Option<String>,
    pub lines: Vec<String>,
}

/// Cut the text at report title lines. A title repeated (as aggregators do
/// right below their own heading) continues its segment.
/// Lines of text read from one document. A report, prose and tables, runs
/// to a few thousand lines; past this a page is something else (a 30 MB page
/// of nested tables), and reading on would only cost memory.
pub const MAX_LINES: usize = 50_000;

pub fn segments(text: &str, default_title: Option<String>) -> Vec<Segment> {
    let mut out = vec![Segment {
        title: default_title,
        agency: None,
        lines: Vec::new(),
    }];
    let lines = text.lines().filter(|l| !l.trim().is_empty());
    for line in lines
        .take(MAX_LINES)
        .map(collapse_ws)
        .filter(|l| !l.is_empty())
    {
        if is_title_line(&line) {
            let title = clean_title(&line);
            match out
                .iter()
                .position(|s| s.title.as_deref() == Some(title.as_str()))
            {
                Some(pos) => {
                    let seg = out.remove(pos);
                    out.push(seg);
                }
                None => out.push(Segment {
                    title: Some(title),
                    agency: None,
                    lines: Vec::new(),
                }),
            }
            continue;
        }
        if let Some(seg) = out.last_mut() {
            seg.lines.push(line);
        }
    }
    out
}

/// Rows of a segment's lines.
pub fn rows(lines: &[String]) -> Vec<Row> {
    let mut out: Vec<Row> = Vec::new();
    for line in lines {
        if line.contains('|') {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let inner = trim_edges(&cells);
            out.push(split_row(inner));
        } else if is_figure(line) {
            match out.last_mut() {
                Some(row) => row.values.push(line.clone()),
                None => out.push(Row {
                    labels: Vec::new(),
                    values: vec![line.clone()],
                    confidence: None,
                }),
            }
        } else {
            out.push(Row {
                labels: vec![line.clone()],
                values: Vec::new(),
                confidence: None,
            });
        }
    }
    out
}

/// Drop the empty cells that `|a|b|` leaves at both edges.
fn trim_edges<'a, 'b>(cells: &'a [&'b str]) -> &'a [&'b str] {
    let start = usize::from(cells.first().is_some_and(|c| c.is_empty()));
    let end = cells.len()
        - usize::from(cells.len() > start && cells.last().is_some_and(|c| c.is_empty()));
    cells.get(start..end).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: Vec<Row>) {
        let lines: Vec<String> = text
            .lines()
            .map(str::to_string)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(rows(&lines), expect, "{text}");
    }

    #[test]
    fn one_cell_per_line() {
        check(
            "规章\n\n0\n\n1\n规范性文件\n7",
            vec![
                Row::of(&["规章"], &["0", "1"]),
                Row::of(&["规范性文件"], &["7"]),
            ],
        );
    }

    #[test]
    fn pipe_separated() {
        check(
            "| 规章 | 0 | | 2 |\n|a|b|",
            vec![
                Row::of(&["规章"], &["0", "", "2"]),
                Row::of(&["a", "b"], &[]),
            ],
        );
    }

    #[test]
    fn split_at_titles() {
        let text = "noise\n2018年X区政府信息公开工作年度报告简介\n\n2018年X区政府信息公开工作年度报告简介\nbody\n2019年X区政府信息公开工作年度报告\nmore";
        let segs = segments(text, None);
        let titles: Vec<Option<&str>> = segs.iter().map(|s| s.title.as_deref()).collect();
        assert_eq!(
            titles,
            vec![
                None,
                Some("2018年X区政府信息公开工作年度报告"),
                Some("2019年X区政府信息公开工作年度报告")
            ]
        );
        assert_eq!(
            segs.get(1).map(|s| s.lines.clone()),
            Some(vec!["body".to_string()])
        );
    }
}
