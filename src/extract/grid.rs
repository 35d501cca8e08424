//! HTML tables → rows of label and figure cells.
//!
//! Each `<table>` that holds no other table (layout tables wrap the data
//! tables) is expanded into a rectangular grid with rowspan and colspan
//! filled in, so that a label printed once beside several rows is seen on
//! each of them. A grid row then becomes a [`Row`]: its distinct cells left
//! to right, split into the labels and the figures that follow them. Reading
//! figures by their order among the distinct cells, not by grid column, keeps
//! a header laid out `[1][2][1]` above data laid out `[2][1][1]` aligned.

use super::html::SourceCell;
use super::number::is_figure;
use super::tables::Row;

/// Widest span a row may reach; cells past it keep one column each.
const MAX_WIDTH: usize = 256;

/// Rows of every table, in document order.
pub fn table_rows(tables: &[Vec<Vec<SourceCell>>]) -> Vec<Vec<Row>> {
    tables
        .iter()
        .map(|t| logical_rows(t))
        .filter(|rows| !rows.is_empty())
        .collect()
}

/// Expand the spans, then read each grid row as its distinct cells.
fn logical_rows(source: &[Vec<SourceCell>]) -> Vec<Row> {
    let grid = expand(source);
    let texts: Vec<&str> = source
        .iter()
        .flat_map(|r| r.iter().map(|c| c.text.as_str()))
        .collect();
    grid.iter()
        .map(|ids| {
            let mut seen: Vec<usize> = Vec::new();
            for id in ids.iter().flatten() {
                if !seen.contains(id) {
                    seen.push(*id);
                }
            }
            let cells: Vec<&str> = seen
                .iter()
                .filter_map(|id| texts.get(*id).copied())
                .collect();
            split_row(&cells)
        })
        .filter(|row| !row.labels.is_empty() || !row.values.is_empty())
        .collect()
}

/// Grid of source-cell ids (numbered in reading order), spans filled in.
fn expand(source: &[Vec<SourceCell>]) -> Vec<Vec<Option<usize>>> {
    let height = source.len();
    let mut grid: Vec<Vec<Option<usize>>> = vec![Vec::new(); height];
    let mut id = 0;
    for (r, cells) in source.iter().enumerate() {
        let mut c = 0;
        for cell in cells {
            while grid
                .get(r)
                .and_then(|row| row.get(c))
                .is_some_and(Option::is_some)
            {
                c += 1;
            }
            let rows = cell.rowspan.min(height - r);
            let cols = cell.colspan.min(MAX_WIDTH.saturating_sub(c)).max(1);
            for line in grid.iter_mut().skip(r).take(rows) {
                if line.len() < c + cols {
                    line.resize(c + cols, None);
                }
                for slot in line.iter_mut().skip(c).take(cols) {
                    *slot = Some(id);
                }
            }
            c += cols;
            id += 1;
        }
    }
    grid
}

/// Labels first, then the figures: the longest run of figure-like cells at
/// the end of the row. Blank cells among the labels are dropped.
pub fn split_row(cells: &[&str]) -> Row {
    let figures = cells.iter().rev().take_while(|t| is_figure(t)).count();
    let split = cells.len() - figures;
    let (labels, values) = cells.split_at(split);
    Row {
        labels: labels
            .iter()
            .filter(|t| !t.is_empty())
            .map(|t| t.to_string())
            .collect(),
        values: values.iter().map(|t| t.to_string()).collect(),
        confidence: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_of(html: &str) -> Vec<(Vec<String>, Vec<String>)> {
        table_rows(&super::super::html::scan(html).tables)
            .into_iter()
            .flatten()
            .map(|r| (r.labels, r.values))
            .collect()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn rowspan_labels_repeat_on_each_row() {
        let html = "<table><tr><td rowspan=2>A</td><td>a1</td><td>1</td></tr>\
                    <tr><td>a2</td><td>2</td></tr></table>";
        assert_eq!(
            rows_of(html),
            vec![(s(&["A", "a1"]), s(&["1"])), (s(&["A", "a2"]), s(&["2"]))]
        );
    }

    #[test]
    fn colspans_read_by_order() {
        let html = "<table><tr><td>h</td><td colspan=2>x</td><td>y</td></tr>\
                    <tr><td colspan=2>r</td><td>1</td><td>2</td></tr></table>";
        assert_eq!(
            rows_of(html),
            vec![(s(&["h", "x", "y"]), s(&[])), (s(&["r"]), s(&["1", "2"]))]
        );
    }

    #[test]
    fn layout_tables_are_skipped_and_spans_clamped() {
        let html = "<table><tr><td><table><tr><td rowspan=99999999 colspan=70000>规章</td>\
                    <td>0</td></tr></table></td></tr></table>";
        assert_eq!(rows_of(html), vec![(s(&["规章"]), s(&["0"]))]);
    }

    #[test]
    fn cell_text_joins_paragraphs() {
        let html = "<table><tr><td><p>商业</p><p>&nbsp;企业</p></td><td> &nbsp; </td></tr></table>";
        assert_eq!(rows_of(html), vec![(s(&["商业 企业"]), s(&[""]))]);
    }
}
