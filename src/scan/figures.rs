//! A second reading of the cells that should hold figures: cropped out of
//! the page, stacked into one strip, and recognised with digits as the only
//! characters allowed. Whole-page recognition reads a lone `1` or `21` in a
//! tall row as a letter, or misses it; the digit-only reading does not, and
//! where the two disagree the figure is doubtful.

use super::raster::Gray;
use super::ruling::{Rect, Table};
use super::tesseract::{self, Word};
use super::ScanError;
use crate::extract::MIN_CONFIDENCE;

/// White space around each crop in the strip, in pixels.
const GAP: usize = 16;
/// Pixels cut off each side of a cell, where traces of its ruling remain.
const INSET: usize = 3;
/// First readings below this confidence are re-read even when they hold a
/// Chinese character (`五` for a `75`).
const DOUBT: f32 = 70.0;

/// The first reading of a cell: its text and lowest word confidence.
pub type Reading = (String, Option<f32>);

/// Re-read the figure cells of every table and merge the two readings.
/// `first[t][c]` is the first reading of cell `c` of table `t`; the merged
/// readings are returned in the same shape.
pub fn reread(
    page: &Gray,
    ink: u8,
    tables: &[Table],
    first: &[Vec<Reading>],
) -> Result<Vec<Vec<Reading>>, ScanError> {
    let mut figure_cells: Vec<(usize, usize, Rect)> = Vec::new();
    let mut label_cells: Vec<(usize, usize, Rect)> = Vec::new();
    for (ti, t) in tables.iter().enumerate() {
        let row_first = first.get(ti).map_or(&[][..], Vec::as_slice);
        for (ci, reading) in row_first.iter().enumerate() {
            if holds_figure(t, ci, row_first, reading) {
                figure_cells.push((ti, ci, t.cells[ci]));
            } else if !reading.0.is_empty() {
                label_cells.push((ti, ci, t.cells[ci]));
            }
        }
    }
    let mut merged: Vec<Vec<Reading>> = first.to_vec();
    let rects = |v: &[(usize, usize, Rect)]| v.iter().map(|c| c.2).collect::<Vec<_>>();
    let figures = read_crops(page, ink, &rects(&figure_cells), tesseract::figures)?;
    for ((ti, ci, rect), again) in figure_cells.iter().zip(figures) {
        let Some(slot) = merged.get_mut(*ti).and_then(|m| m.get_mut(*ci)) else {
            continue;
        };
        let first = slot.clone();
        *slot = merge(&first, again.clone());
        if slot.1.is_some_and(|c| c < MIN_CONFIDENCE) {
            let third = read_crops(page, ink, &[*rect], tesseract::figure_line)?;
            if let Some(third) = third.into_iter().next() {
                *slot = vote(&first, &again, third, slot);
            }
        }
    }
    let labels = read_crops(page, 0, &rects(&label_cells), tesseract::text)?;
    for ((ti, ci, _), again) in label_cells.iter().zip(labels) {
        if let Some(slot) = merged.get_mut(*ti).and_then(|m| m.get_mut(*ci)) {
            *slot = better(slot, again);
        }
    }
    Ok(merged)
}

/// Read each rectangle of the page on its own: all of them stacked into one
/// strip, doubled and made black and white at the `ink` level (kept as they
/// are for an `ink` of 0), recognised by `recognise` in one
/// go, the words given back to the crop they lie in.
pub fn read_crops(
    page: &Gray,
    ink: u8,
    rects: &[Rect],
    recognise: fn(&Gray) -> Result<Vec<Word>, ScanError>,
) -> Result<Vec<Reading>, ScanError> {
    if rects.is_empty() {
        return Ok(Vec::new());
    }
    let (strip, spans) = stack(page, rects);
    let scale = if ink == 0 { 1 } else { 2 };
    // A level a fifth darker than the page's split keeps the grey fringe of
    // the print off the figures, which then read with their first digit.
    let words = recognise(&if scale == 2 {
        strip.doubled_binary(ink - ink / 5)
    } else {
        strip
    })?;
    Ok(spans
        .iter()
        .map(|(top, bottom)| {
            let mine: Vec<&Word> = words
                .iter()
                .filter(|w| (*top..*bottom).contains(&(w.centre().1 / scale)))
                .collect();
            (
                tesseract::join(&mine),
                mine.iter().map(|w| w.conf).reduce(f32::min),
            )
        })
        .collect())
}

/// A text's reading from its own crop, unless that found nothing: read
/// alone, a label or title is not mistaken for Latin letters as it is in a
/// page of table text.
pub fn better(first: &Reading, again: Reading) -> Reading {
    if again.0.is_empty() {
        first.clone()
    } else {
        again
    }
}

/// A cell to read as a figure: no Chinese in its first reading (or a short
/// doubtful one), and not the label column (the leftmost cells of a table,
/// unless its row holds no Chinese at all, as an appeals data row).
fn holds_figure(t: &Table, ci: usize, first: &[Reading], reading: &Reading) -> bool {
    let han = |s: &str| !s.is_ascii();
    let (text, conf) = reading;
    let short = text.chars().count() <= 2;
    let doubtful = short && (conf.is_some_and(|c| c < DOUBT) || among_figures(t, ci, first));
    if han(text) && !doubtful {
        return false;
    }
    let left = t.cells.iter().map(|c| c.left).min().unwrap_or(0);
    let leftmost = t.cells[ci].left <= left + 10;
    if !leftmost {
        return true;
    }
    // The first cell of a row of figures alone (an appeals data row).
    let digits = !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.');
    digits
        && t.rows
            .iter()
            .filter(|(_, r)| r.contains(&ci))
            .all(|(_, r)| {
                r.len() > 1 && r.iter().all(|&i| first.get(i).is_none_or(|(s, _)| !han(s)))
            })
}

/// True when most other cells right of the label column on a row of cell
/// `ci` read as digits: a short Chinese reading there (`石` for `75`) is a
/// misread figure.
fn among_figures(t: &Table, ci: usize, first: &[Reading]) -> bool {
    let left = t.cells.iter().map(|c| c.left).min().unwrap_or(0);
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.');
    t.rows
        .iter()
        .filter(|(_, r)| r.contains(&ci))
        .any(|(_, r)| {
            let others: Vec<usize> = r
                .iter()
                .copied()
                .filter(|&i| i != ci && t.cells.get(i).is_some_and(|c| c.left > left + 10))
                .collect();
            let figures = others
                .iter()
                .filter(|&&i| first.get(i).is_some_and(|(s, _)| digits(s.trim())))
                .count();
            !others.is_empty() && 2 * figures > others.len()
        })
}

/// The crops one below the other on a white strip, and where each lies.
fn stack(page: &Gray, crops: &[Rect]) -> (Gray, Vec<(usize, usize)>) {
    let inner = |r: &Rect| Rect {
        left: r.left + INSET,
        top: r.top + INSET,
        right: r.right.saturating_sub(INSET).max(r.left + INSET),
        bottom: r.bottom.saturating_sub(INSET).max(r.top + INSET),
    };
    let width = crops
        .iter()
        .map(|r| inner(r).right - inner(r).left)
        .max()
        .unwrap_or(0)
        + 2 * GAP;
    let height: usize = crops
        .iter()
        .map(|r| inner(r).bottom - inner(r).top + GAP)
        .sum::<usize>()
        + GAP;
    let mut strip = Gray::white(width, height);
    let mut spans = Vec::new();
    let mut y = GAP;
    for r in crops {
        let r = inner(r);
        for (dy, sy) in (r.top..r.bottom).enumerate() {
            for (dx, sx) in (r.left..r.right).enumerate() {
                strip.set(GAP + dx, y + dy, page.get(sx, sy));
            }
        }
        spans.push((y.saturating_sub(GAP / 2), y + (r.bottom - r.top) + GAP / 2));
        y += r.bottom - r.top + GAP;
    }
    (strip, spans)
}

/// The two readings of a figure cell made one. Agreement keeps the better
/// confidence; a digit reading replaces a first reading that is no figure;
/// two different figures keep the more confident one at the lower
/// confidence, so that the threshold decides.
fn merge(first: &Reading, again: Reading) -> Reading {
    let (text, first_conf) = first;
    let (digits, Some(dc)) = again else {
        return first.clone();
    };
    if digits.is_empty() {
        return first.clone();
    }
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let is_figure =
        !squeezed.is_empty() && squeezed.chars().all(|c| c.is_ascii_digit() || c == '.');
    let fc = first_conf.unwrap_or(0.0);
    if !is_figure {
        return (digits, Some(dc));
    }
    if squeezed == digits {
        return (digits, Some(fc.max(dc)));
    }
    // Two different figures: the more confident, as sure as its lead.
    let text = if dc >= fc { digits } else { squeezed };
    (text, Some((fc - dc).abs()))
}

/// A doubtful figure read a third time, alone as one line of digits: the
/// figure it shares with one of the earlier readings, as sure as the less
/// sure of the two that agree; the doubtful `merged` reading otherwise.
fn vote(first: &Reading, second: &Reading, third: Reading, merged: &Reading) -> Reading {
    let figure = |r: &Reading| {
        let s: String = r.0.chars().filter(|c| !c.is_whitespace()).collect();
        (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.'))
            .then(|| (s, r.1.unwrap_or(0.0)))
    };
    let Some((f3, c3)) = figure(&third) else {
        return merged.clone();
    };
    let agreeing = [first, second]
        .into_iter()
        .filter_map(figure)
        .filter(|(f, _)| *f == f3)
        .map(|(_, c)| c)
        .reduce(f32::max);
    match agreeing {
        Some(c) => (f3, Some(c.min(c3))),
        None => merged.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_merge() {
        let r = |t: &str, c: f32| (t.to_string(), Some(c));
        assert_eq!(merge(&r("21", 80.0), r("21", 95.0)), r("21", 95.0));
        assert_eq!(merge(&r("a", 88.0), r("21", 90.0)), r("21", 90.0));
        assert_eq!(merge(&r("4", 81.0), r("74", 93.0)), r("74", 12.0));
        assert_eq!(merge(&r("0", 96.0), r("8", 0.0)), r("0", 96.0));
        assert_eq!(merge(&("".into(), None), r("1", 91.0)), r("1", 91.0));
        assert_eq!(merge(&r("0", 96.0), (String::new(), None)), r("0", 96.0));
    }

    #[test]
    fn a_third_reading_settles_only_by_agreement() {
        let r = |t: &str, c: f32| (t.to_string(), Some(c));
        let doubt = r("74", 12.0);
        // The third agrees with the digit reading.
        assert_eq!(
            vote(&r("4", 81.0), &r("74", 93.0), r("74", 88.0), &doubt),
            r("74", 88.0)
        );
        // It agrees with neither, or reads nothing: still doubtful.
        assert_eq!(
            vote(&r("4", 81.0), &r("74", 93.0), r("14", 95.0), &doubt),
            doubt
        );
        assert_eq!(
            vote(&r("4", 81.0), &r("74", 93.0), (String::new(), None), &doubt),
            doubt
        );
        // Agreement with an unsure reading stays unsure.
        assert_eq!(
            vote(
                &r("nR", 50.0),
                &r("72", 33.0),
                r("72", 91.0),
                &r("72", 33.0)
            ),
            r("72", 33.0)
        );
    }
}
