//! The ruling lines of a scanned table: the page's small rotation undone,
//! the lines found as long runs of ink, and the cells they enclose laid out
//! as a grid of rows and columns (merged cells spanning several).
//!
//! Whole-page OCR reads ruling lines as figures (`|`, `l`, `1`), so the
//! lines are found first, erased, and every recognised word is placed in the
//! cell its box falls in.

use super::raster::Gray;

/// Widest rotation looked for, in degrees either way.
const MAX_SKEW: f64 = 3.0;
/// Gap (pixels) a ruling line may show, from noise or a faint print, and
/// still be one line.
const LINE_GAP: usize = 2;
/// Tolerance (pixels) when lining up cell edges into rows and columns.
const EDGE_TOLERANCE: usize = 8;

/// The angle (degrees, positive when lines fall to the right) that makes the
/// rows of ink most horizontal: the one whose horizontal projection has the
/// largest variance, searched coarse then fine.
pub fn skew_degrees(img: &Gray, ink: u8) -> f64 {
    let dark: Vec<(f64, f64)> = (0..img.height)
        .step_by(2)
        .flat_map(|y| (0..img.width).map(move |x| (x, y)))
        .filter(|(x, y)| img.get(*x, *y) <= ink)
        .map(|(x, y)| (x as f64, y as f64))
        .collect();
    if dark.is_empty() {
        return 0.0;
    }
    let score = |deg: f64| -> f64 {
        let t = deg.to_radians().tan();
        let mut hist = vec![0u32; img.height + img.width / 8 + 2];
        let offset = (img.width as f64 * MAX_SKEW.to_radians().tan()).ceil();
        for (x, y) in &dark {
            let bin = (y - x * t + offset).round();
            if bin >= 0.0 {
                if let Some(h) = hist.get_mut(bin as usize) {
                    *h += 1;
                }
            }
        }
        hist.iter().map(|h| f64::from(*h) * f64::from(*h)).sum()
    };
    let best = |from: f64, to: f64, step: f64| -> f64 {
        let steps = ((to - from) / step).round() as i64;
        (0..=steps)
            .map(|i| from + i as f64 * step)
            .map(|d| (d, score(d)))
            .fold(
                (0.0, f64::MIN),
                |acc, (d, s)| if s > acc.1 { (d, s) } else { acc },
            )
            .0
    };
    let coarse = best(-MAX_SKEW, MAX_SKEW, 0.1);
    best(coarse - 0.1, coarse + 0.1, 0.01)
}

/// A rectangle of pixels, ends exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub left: usize,
    pub top: usize,
    pub right: usize,
    pub bottom: usize,
}

impl Rect {
    /// The rectangle grown by `by` pixels on every side, within a page of
    /// `width` × `height`.
    pub fn grown(&self, by: usize, width: usize, height: usize) -> Rect {
        Rect {
            left: self.left.saturating_sub(by),
            top: self.top.saturating_sub(by),
            right: (self.right + by).min(width),
            bottom: (self.bottom + by).min(height),
        }
    }
    /// True when the two share any column of pixels.
    pub fn overlaps_across(&self, other: &Rect) -> bool {
        self.left.max(other.left) < self.right.min(other.right)
    }
    pub fn contains(&self, x: usize, y: usize) -> bool {
        (self.left..self.right).contains(&x) && (self.top..self.bottom).contains(&y)
    }
    fn width(&self) -> usize {
        self.right - self.left
    }
    fn height(&self) -> usize {
        self.bottom - self.top
    }
}

/// Pixels that belong to ruling lines: runs of ink at least a 30th of the
/// page wide (horizontal) or a 50th (vertical), small gaps bridged.
pub struct LineMask {
    width: usize,
    height: usize,
    on: Vec<bool>,
}

impl LineMask {
    pub fn find(img: &Gray, ink: u8) -> LineMask {
        let (w, h) = (img.width, img.height);
        let mut on = vec![false; w * h];
        // A thin vertical ruling turned straight again is spread over two
        // pixel columns and comes out lighter than the print, so it is
        // looked for a third of the way towards white. Horizontal strokes
        // of print (一, 二) would join into lines at that level; vertical
        // ones are shorter than a row.
        let level = ink.saturating_add((255 - ink) / 3);
        let dark = |x: usize, y: usize| img.get(x, y) <= ink;
        let faint = |x: usize, y: usize| img.get(x, y) <= level;
        let min_h = (w / 30).max(20);
        let min_v = (w / 50).max(15);
        // A line turned straight again may lie between two rows (columns)
        // of pixels, half its ink in each: a pixel counts as the line's
        // when it or its neighbour below (right) is dark.
        for y in 0..h {
            for (a, b) in runs(w, |x| dark(x, y), min_h) {
                on[y * w + a..y * w + b].iter_mut().for_each(|p| *p = true);
            }
        }
        for x in 0..w {
            let right = (x + 1).min(w - 1);
            for (a, b) in runs(h, |y| faint(x, y) || faint(right, y), min_v) {
                (a..b).for_each(|y| on[y * w + x] = true);
            }
        }
        LineMask {
            width: w,
            height: h,
            on,
        }
    }

    fn at(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.height && self.on[y * self.width + x]
    }

    /// Paint the lines (and a pixel around them) white within `areas` (the
    /// tables), so that the recogniser sees the cells' text alone. Outside
    /// the tables nothing is erased: the long strokes of large print (a
    /// title's 平, 报) are runs of ink as long as a ruling line.
    pub fn erase_within(&self, img: &mut Gray, areas: &[Rect]) {
        for a in areas {
            for y in a.top..a.bottom.min(self.height) {
                for x in a.left..a.right.min(self.width) {
                    let near = (y.saturating_sub(1)..=y + 1)
                        .any(|yy| (x.saturating_sub(1)..=x + 1).any(|xx| self.at(xx, yy)));
                    if near {
                        img.set(x, y, 255);
                    }
                }
            }
        }
    }

    /// The regions the lines enclose: connected stretches of non-line pixels
    /// that touch no edge of the page and fill most of their bounding box.
    pub fn cells(&self) -> Vec<Rect> {
        let (w, h) = (self.width, self.height);
        let mut seen = self.on.clone();
        let mut out = Vec::new();
        let mut stack = Vec::new();
        for start in 0..w * h {
            if seen[start] {
                continue;
            }
            seen[start] = true;
            stack.push(start);
            let mut rect = Rect {
                left: usize::MAX,
                top: usize::MAX,
                right: 0,
                bottom: 0,
            };
            let mut area = 0usize;
            while let Some(i) = stack.pop() {
                let (x, y) = (i % w, i / w);
                area += 1;
                rect.left = rect.left.min(x);
                rect.top = rect.top.min(y);
                rect.right = rect.right.max(x + 1);
                rect.bottom = rect.bottom.max(y + 1);
                let mut push = |j: usize| {
                    if !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                };
                if x > 0 {
                    push(i - 1);
                }
                if x + 1 < w {
                    push(i + 1);
                }
                if y > 0 {
                    push(i - w);
                }
                if y + 1 < h {
                    push(i + w);
                }
            }
            let touches_edge =
                rect.left == 0 || rect.top == 0 || rect.right == w || rect.bottom == h;
            let big_enough = rect.width() >= w / 60 && rect.height() >= w / 150;
            if !touches_edge && big_enough && area * 10 >= rect.width() * rect.height() * 8 {
                out.push(rect);
            }
        }
        out
    }
}

/// Runs of `dark` positions at least `min` long in `0..len`, gaps of up to
/// [`LINE_GAP`] bridged.
fn runs(len: usize, dark: impl Fn(usize) -> bool, min: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut last = 0;
    for i in 0..len {
        if dark(i) {
            if start.is_none() {
                start = Some(i);
            }
            last = i;
        } else if let Some(s) = start {
            if i - last > LINE_GAP {
                if last + 1 - s >= min {
                    out.push((s, last + 1));
                }
                start = None;
            }
        }
    }
    if let Some(s) = start {
        if last + 1 - s >= min {
            out.push((s, last + 1));
        }
    }
    out
}

/// One table: its cells, and for each grid row the cells that cover it,
/// left to right (a merged cell appears on every row it spans).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub cells: Vec<Rect>,
    /// Per grid row: its top edge and the indices into `cells`.
    pub rows: Vec<(usize, Vec<usize>)>,
}

impl Table {
    /// The smallest rectangle holding every cell (its ruling lies just
    /// outside).
    pub fn bounds(&self) -> Rect {
        self.cells.iter().fold(
            Rect {
                left: usize::MAX,
                top: usize::MAX,
                right: 0,
                bottom: 0,
            },
            |b, c| Rect {
                left: b.left.min(c.left),
                top: b.top.min(c.top),
                right: b.right.max(c.right),
                bottom: b.bottom.max(c.bottom),
            },
        )
    }
}

/// Group cells that share edges into tables, top to bottom, and lay each
/// out as grid rows.
pub fn tables(cells: &[Rect]) -> Vec<Table> {
    let mut group: Vec<usize> = (0..cells.len()).collect();
    fn root(g: &mut [usize], i: usize) -> usize {
        let mut r = i;
        while g[r] != r {
            r = g[r];
        }
        g[i] = r;
        r
    }
    for i in 0..cells.len() {
        for j in i + 1..cells.len() {
            if touching(&cells[i], &cells[j]) {
                let (a, b) = (root(&mut group, i), root(&mut group, j));
                group[a] = b;
            }
        }
    }
    let mut by_root: Vec<(usize, Vec<Rect>)> = Vec::new();
    for (i, c) in cells.iter().enumerate() {
        let r = root(&mut group, i);
        match by_root.iter_mut().find(|(k, _)| *k == r) {
            Some((_, v)) => v.push(*c),
            None => by_root.push((r, vec![*c])),
        }
    }
    let mut out: Vec<Table> = by_root
        .into_iter()
        .filter(|(_, v)| v.len() >= 2)
        .map(|(_, v)| layout(v))
        .collect();
    out.sort_by_key(|t| t.rows.first().map_or(0, |r| r.0));
    out
}

/// Two cells on either side of one ruling line.
fn touching(a: &Rect, b: &Rect) -> bool {
    let near = |p: usize, q: usize| p.abs_diff(q) <= EDGE_TOLERANCE;
    let overlap = |a0: usize, a1: usize, b0: usize, b1: usize| a0.max(b0) < a1.min(b1);
    let side = (near(a.right, b.left) || near(b.right, a.left))
        && overlap(a.top, a.bottom, b.top, b.bottom);
    let stacked = (near(a.bottom, b.top) || near(b.bottom, a.top))
        && overlap(a.left, a.right, b.left, b.right);
    side || stacked
}

/// Grid rows from the distinct top edges; each cell covers the rows whose
/// top lies within it.
fn layout(mut cells: Vec<Rect>) -> Table {
    cells.sort_by_key(|c| (c.top, c.left));
    let mut tops: Vec<usize> = Vec::new();
    for c in &cells {
        if !tops.iter().any(|t| t.abs_diff(c.top) <= EDGE_TOLERANCE) {
            tops.push(c.top);
        }
    }
    tops.sort_unstable();
    let rows = tops
        .iter()
        .map(|&top| {
            let mut covering: Vec<usize> = (0..cells.len())
                .filter(|&i| cells[i].top <= top + EDGE_TOLERANCE && top < cells[i].bottom)
                .collect();
            covering.sort_by_key(|&i| cells[i].left);
            (top, covering)
        })
        .collect();
    Table { cells, rows }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A white page with a 3×2 grid ruled on it, its first row merged.
    fn ruled() -> Gray {
        let mut g = Gray::white(600, 400);
        let (xs, ys) = ([100, 250, 400, 500], [100, 160, 220, 280]);
        for y in ys {
            for x in 100..=500 {
                g.set(x, y, 0);
                g.set(x, y + 1, 0);
            }
        }
        for (i, x) in xs.iter().enumerate() {
            let from = if i == 0 || i == 3 { 100 } else { 160 };
            for y in from..=281 {
                g.set(*x, y, 0);
                g.set(x + 1, y, 0);
            }
        }
        g
    }

    #[test]
    fn grid_rows_repeat_a_merged_cell() {
        let g = ruled();
        let mask = LineMask::find(&g, 128);
        let found = tables(&mask.cells());
        assert_eq!(found.len(), 1);
        let t = &found[0];
        assert_eq!(t.cells.len(), 7);
        let widths: Vec<usize> = t.rows.iter().map(|(_, r)| r.len()).collect();
        assert_eq!(widths, vec![1, 3, 3]);
    }

    #[test]
    fn a_faint_grid_turned_and_straightened_keeps_its_cells() {
        // Black rows, and vertical rulings one grey pixel wide, on a page
        // whose print is darker (ink 100).
        let mut g = Gray::white(600, 400);
        for y in [100, 160, 220, 280] {
            (100..=500).for_each(|x| {
                g.set(x, y, 0);
                g.set(x, y + 1, 0);
            });
        }
        for x in [100, 250, 400, 500] {
            (100..=280).for_each(|y| g.set(x, y, 40));
        }
        let turned = g.rotated(1.8);
        let skew = skew_degrees(&turned, 128);
        let straight = turned.rotated(skew);
        let found = tables(&LineMask::find(&straight, 100).cells());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].cells.len(), 9, "{skew}");
    }

    #[test]
    fn a_turned_grid_is_straightened() {
        let g = ruled().rotated(1.2);
        let skew = skew_degrees(&g, 128);
        // Turned counter-clockwise: the lines rise to the right.
        assert!((skew + 1.2).abs() < 0.2, "{skew}");
        let straight = g.rotated(skew);
        assert!(skew_degrees(&straight, 128).abs() < 0.2);
    }
}
