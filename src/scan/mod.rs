//! Scans: image-only PDFs and image attachments (PNG, JPEG) read with OCR.
//!
//! A page is rasterised (`pdftoppm`) or decoded, its small rotation undone,
//! the table's ruling lines found and erased, the page recognised once by
//! tesseract, and every word placed in the table cell its box falls in. The
//! result is the page's text lines and table rows in reading order, each
//! table cell with the recogniser's confidence, for
//! [`crate::extract::extract_scan`].

mod figures;
mod raster;
mod ruling;
mod tesseract;
mod tool;

use std::time::Duration;

use crate::extract::{ScanLine, ScannedCell};
pub use raster::Gray;
pub(crate) use tool::Tool;
pub use tool::ToolError;

/// Resolution pages of a PDF are rasterised at: enough for 7-point print.
const DPI: &str = "200";
const RASTER_PPI: f32 = 200.0;
/// Pages of one PDF read at most.
const MAX_PAGES: usize = 40;
const RASTER_TIMEOUT: Duration = Duration::from_secs(120);
/// White (pixels) around a text line's crop, where no other line is nearer.
const LINE_PAD: usize = 20;
/// The page's width over the width of the margin kept around a table for
/// its outer ruling.
const RULING_MARGIN_PER_WIDTH: usize = 150;
/// Smallest rotation worth undoing, in degrees.
const MIN_SKEW: f64 = 0.02;
/// A PDF with fewer characters of text than this per page is taken for a scan.
const SCAN_CHARS_PER_PAGE: usize = 20;

const PDFTOPPM: tool::Tool = tool::Tool {
    program: "pdftoppm",
    package: "poppler-utils",
};
const PDFIMAGES: tool::Tool = tool::Tool {
    program: "pdfimages",
    package: "poppler-utils",
};

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("not a readable image: {0}")]
    Image(String),
    #[error("temporary file: {0}")]
    Temp(String),
    #[error("pdftoppm made no page image")]
    NoPages,
}

/// True when a PDF's layout text holds (almost) no characters: its pages
/// are images.
pub fn is_image_only(layout_text: &str, pages: usize) -> bool {
    let chars = layout_text.chars().filter(|c| !c.is_whitespace()).count();
    chars < SCAN_CHARS_PER_PAGE * pages.max(1)
}

/// Read every page of an image-only PDF.
pub fn read_pdf(bytes: &[u8]) -> Result<Vec<ScanLine>, ScanError> {
    let dir = tempfile::tempdir().map_err(|e| ScanError::Temp(e.to_string()))?;
    let input = dir.path().join("in.pdf");
    std::fs::write(&input, bytes).map_err(|e| ScanError::Temp(e.to_string()))?;
    let prefix = dir.path().join("page");
    let last = MAX_PAGES.to_string();
    PDFTOPPM.run(
        &[
            "-r".as_ref(),
            DPI.as_ref(),
            "-gray".as_ref(),
            "-l".as_ref(),
            last.as_ref(),
            input.as_os_str(),
            prefix.as_os_str(),
        ],
        &[],
        RASTER_TIMEOUT,
    )?;
    let mut pages: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path())
        .map_err(|e| ScanError::Temp(e.to_string()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pgm"))
        .collect();
    pages.sort();
    if pages.is_empty() {
        return Err(ScanError::NoPages);
    }
    let scanned_at = image_resolutions(&input);
    let mut out = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        let bytes = std::fs::read(page).map_err(|e| ScanError::Temp(e.to_string()))?;
        if let Some(ppi) = scanned_at.get(&(i + 1)) {
            out.push(ScanLine::Resolution(ppi.min(RASTER_PPI)));
        }
        out.extend(read_page(Gray::from_pgm(&bytes)?)?);
    }
    Ok(out)
}

/// The resolution each page's scan was made at: the pixels per inch of
/// the largest image on the page (`pdfimages -list`), by page number. A
/// page whose images cannot be listed is left out (its resolution unknown).
fn image_resolutions(pdf: &std::path::Path) -> std::collections::HashMap<usize, f32> {
    let listed = PDFIMAGES.run(&["-list".as_ref(), pdf.as_os_str()], &[], RASTER_TIMEOUT);
    match listed {
        Ok(out) => parse_image_list(&String::from_utf8_lossy(&out)),
        Err(e) => {
            tracing::warn!(error = %e, "scan resolution not known");
            std::collections::HashMap::new()
        }
    }
}

/// `pdfimages -list` rows → the largest image's lower ppi, by page.
fn parse_image_list(list: &str) -> std::collections::HashMap<usize, f32> {
    let mut largest: std::collections::HashMap<usize, (u64, f32)> = Default::default();
    for line in list.lines().skip(2) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<f32>().ok());
        let (Some(page), Some(w), Some(h), Some(x), Some(y)) = (
            f.first().and_then(|v| v.parse::<usize>().ok()),
            f.get(3).and_then(|v| v.parse::<u64>().ok()),
            f.get(4).and_then(|v| v.parse::<u64>().ok()),
            num(12),
            num(13),
        ) else {
            continue;
        };
        let area = w * h;
        let e = largest.entry(page).or_insert((0, 0.0));
        if area > e.0 {
            *e = (area, x.min(y));
        }
    }
    largest.into_iter().map(|(p, (_, ppi))| (p, ppi)).collect()
}

/// Sides (pixels) below which an image is no scanned page (a logo, an icon)
/// and is not recognised.
const MIN_PAGE_SIDE: usize = 600;

/// Width of a page, in inches (A4), which an image of a page spans.
const PAGE_WIDTH_INCHES: f32 = 8.27;

/// Read a PNG or JPEG attachment (one page, or a long image of several).
/// Its resolution is taken from its width, as of an A4 page: an image
/// narrower than a page (a cropped table) counts as coarser than it is,
/// which only makes its figures need more confidence.
pub fn read_image(bytes: &[u8]) -> Result<Vec<ScanLine>, ScanError> {
    let img = Gray::decode(bytes)?;
    if img.width < MIN_PAGE_SIDE || img.height < MIN_PAGE_SIDE {
        return Ok(Vec::new());
    }
    let ppi = img.width as f32 / PAGE_WIDTH_INCHES;
    let mut out = vec![ScanLine::Resolution(ppi)];
    out.extend(read_page(img)?);
    Ok(out)
}

/// Straighten, find the grid, erase its lines, recognise, place the words,
/// re-read the figure cells.
pub fn read_page(mut img: Gray) -> Result<Vec<ScanLine>, ScanError> {
    let ink = img.ink_threshold();
    let skew = ruling::skew_degrees(&img, ink);
    if skew.abs() >= MIN_SKEW {
        img = img.rotated(skew);
    }
    let mask = ruling::LineMask::find(&img, ink);
    let tables = ruling::tables(&mask.cells());
    // The outer ruling lies just outside the cells, a line's width away.
    let margin = (img.width / RULING_MARGIN_PER_WIDTH).max(4);
    let areas: Vec<ruling::Rect> = tables
        .iter()
        .map(|t| t.bounds().grown(margin, img.width, img.height))
        .collect();
    mask.erase_within(&mut img, &areas);
    let words = tesseract::words(&img)?;
    tracing::debug!(
        skew,
        tables = tables.len(),
        words = words.len(),
        "scanned page read"
    );
    let (in_cell, free) = assign(&tables, &words);
    let first: Vec<Vec<figures::Reading>> = in_cell
        .iter()
        .map(|cells| {
            cells
                .iter()
                .map(|ws| {
                    (
                        tesseract::join(ws),
                        ws.iter().map(|w| w.conf).reduce(f32::min),
                    )
                })
                .collect()
        })
        .collect();
    let readings = figures::reread(&img, ink, &tables, &first)?;
    let text = free_text(&img, &free, &areas)?;
    Ok(in_order(&tables, &readings, text))
}

/// The text lines outside the tables, each re-read on its own (whole-page
/// recognition mistakes a large title for Latin letters), with their tops.
/// A line's crop reaches no further up or down than halfway to the next
/// line or table (`tables`), so that it holds no part of another line.
fn free_text(
    img: &Gray,
    free: &FreeLines,
    tables: &[ruling::Rect],
) -> Result<Vec<(usize, String)>, ScanError> {
    let boxes: Vec<ruling::Rect> = free.iter().map(|(_, ws)| word_bounds(ws)).collect();
    let rects: Vec<ruling::Rect> = boxes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let others = boxes
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, o)| o)
                .chain(tables);
            line_crop(b, others, img)
        })
        .collect();
    let again = figures::read_crops(img, 0, &rects, tesseract::text)?;
    Ok(free
        .iter()
        .zip(again)
        .zip(&rects)
        .map(|(((_, ws), again), r)| {
            let first = (
                tesseract::join(ws),
                ws.iter().map(|w| w.conf).reduce(f32::min),
            );
            (r.top, figures::better(&first, again).0)
        })
        .collect())
}

/// The box around a line's words.
fn word_bounds(ws: &[&tesseract::Word]) -> ruling::Rect {
    ruling::Rect {
        left: ws.iter().map(|w| w.left).min().unwrap_or(0),
        top: ws.iter().map(|w| w.top).min().unwrap_or(0),
        right: ws.iter().map(|w| w.left + w.width).max().unwrap_or(0),
        bottom: ws.iter().map(|w| w.top + w.height).max().unwrap_or(0),
    }
}

/// A line's box padded by [`LINE_PAD`], but only up to halfway to the
/// nearest of `others` above and below it.
fn line_crop<'a>(
    line: &ruling::Rect,
    others: impl Iterator<Item = &'a ruling::Rect>,
    img: &Gray,
) -> ruling::Rect {
    let mut top = line.top.saturating_sub(LINE_PAD);
    let mut bottom = (line.bottom + LINE_PAD).min(img.height);
    for o in others.filter(|o| o.overlaps_across(line)) {
        if o.bottom <= line.top {
            top = top.max((o.bottom + line.top).div_ceil(2));
        } else if o.top >= line.bottom {
            bottom = bottom.min((o.top + line.bottom) / 2);
        }
    }
    ruling::Rect {
        left: line.left.saturating_sub(LINE_PAD),
        top,
        right: (line.right + LINE_PAD).min(img.width),
        bottom,
    }
}

/// Text outside the tables, one entry per recognised line.
type FreeLines<'a> = Vec<((u32, u32, u32), Vec<&'a tesseract::Word>)>;

/// Words into cells (by the centre of their box), the rest into text lines.
fn assign<'a>(
    tables: &[ruling::Table],
    words: &'a [tesseract::Word],
) -> (Vec<Vec<Vec<&'a tesseract::Word>>>, FreeLines<'a>) {
    let mut in_cell: Vec<Vec<Vec<&tesseract::Word>>> = tables
        .iter()
        .map(|t| vec![Vec::new(); t.cells.len()])
        .collect();
    let mut free: FreeLines = Vec::new();
    for w in words {
        let (x, y) = w.centre();
        let home = tables.iter().enumerate().find_map(|(ti, t)| {
            t.cells
                .iter()
                .position(|c| c.contains(x, y))
                .map(|ci| (ti, ci))
        });
        match home {
            Some((ti, ci)) => in_cell[ti][ci].push(w),
            None => match free.iter_mut().find(|(k, _)| *k == w.line) {
                Some((_, v)) => v.push(w),
                None => free.push((w.line, vec![w])),
            },
        }
    }
    (in_cell, free)
}

/// Table rows and text lines in top-to-bottom order.
fn in_order(
    tables: &[ruling::Table],
    readings: &[Vec<figures::Reading>],
    text: Vec<(usize, String)>,
) -> Vec<ScanLine> {
    let mut lines: Vec<(usize, ScanLine)> = text
        .into_iter()
        .map(|(top, t)| (top, ScanLine::Text(t)))
        .collect();
    for (ti, t) in tables.iter().enumerate() {
        for (top, covering) in &t.rows {
            let cells = covering
                .iter()
                .map(|&ci| {
                    let (text, conf) = readings
                        .get(ti)
                        .and_then(|r| r.get(ci))
                        .cloned()
                        .unwrap_or_default();
                    ScannedCell { text, conf }
                })
                .collect();
            lines.push((*top, ScanLine::Row(cells)));
        }
    }
    lines.sort_by_key(|(top, _)| *top);
    lines.into_iter().map(|(_, l)| l).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_resolutions_from_the_image_list() {
        let list = "page   num  type   width height color comp bpc  enc interp  object ID x-ppi y-ppi size ratio\n\
                    --------------------------------------------------------------------------------------------\n   \
                    1     0 image    2481  3508  gray    1   8  jpeg   no         1  0   300   300  470K 5.5%\n   \
                    1     1 image      90    40  rgb     3   8  jpeg   no         2  0    72    72    2K 5.0%\n   \
                    2     2 image    1240  1754  gray    1   8  jpeg   no         4  0   150   151  368K 4.3%\n   \
                    3     3 image    bad";
        let r = parse_image_list(list);
        assert_eq!(r.get(&1), Some(&300.0));
        assert_eq!(r.get(&2), Some(&150.0));
        assert_eq!(r.get(&3), None);
    }
}
