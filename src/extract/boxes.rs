//! Word boxes (`pdftotext -bbox-layout`) → layout text on a fixed grid.
//!
//! `pdftotext -layout` pushes the rest of a line to the right when a label
//! is wider in characters than on the page, so one row's figures can stand
//! a column off from the next row's. Word boxes give each word's position on
//! the page instead: words are set on lines by their vertical centre and at
//! the character column of their left edge, one column being half the width
//! of a Chinese character, so that the same page column is the same text
//! column on every line and every page. The layout reader then reads this
//! text as it reads `pdftotext -layout` output.

use quick_xml::events::Event;

/// A word and its box, in PDF points.
#[derive(Debug, Clone, PartialEq)]
struct Word {
    x_min: f64,
    y_min: f64,
    x_max: f64,
    y_max: f64,
    text: String,
}

impl Word {
    fn centre(&self) -> f64 {
        (self.y_min + self.y_max) / 2.0
    }
    fn height(&self) -> f64 {
        (self.y_max - self.y_min).max(0.1)
    }
}

/// Widest grid a line may reach, in columns (a guard against absurd boxes).
const MAX_COLUMNS: usize = 2000;

/// The layout text of `pdftotext -bbox-layout` output (XHTML); `None` when it
/// holds no words or is not readable.
pub fn layout_text(xhtml: &str) -> Option<String> {
    let pages = pages(xhtml)?;
    let mut out = String::new();
    for (i, words) in pages.iter().enumerate() {
        if i > 0 {
            out.push('\u{c}');
        }
        let unit = column_unit(words);
        for line in lines(words) {
            out.push_str(&render(&line, unit));
            out.push('\n');
        }
    }
    (!out.trim().is_empty()).then_some(out)
}

/// The words of each page, in document order.
fn pages(xhtml: &str) -> Option<Vec<Vec<Word>>> {
    let mut reader = quick_xml::Reader::from_str(xhtml);
    let mut pages: Vec<Vec<Word>> = Vec::new();
    let mut word: Option<Word> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => match e.name().0 {
                "page" => pages.push(Vec::new()),
                "word" => {
                    let attr = |name: &str| -> Option<f64> {
                        e.attributes()
                            .flatten()
                            .find(|a| a.key.0 == name)
                            .and_then(|a| a.value.trim().parse().ok())
                            .filter(|v: &f64| v.is_finite())
                    };
                    word = Some(Word {
                        x_min: attr("xMin")?,
                        y_min: attr("yMin")?,
                        x_max: attr("xMax")?,
                        y_max: attr("yMax")?,
                        text: String::new(),
                    });
                }
                _ => {}
            },
            Ok(Event::Text(t)) => {
                if let Some(w) = word.as_mut() {
                    w.text.push_str(&t.into_inner());
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some(w) = word.as_mut() {
                    match r.into_inner().as_ref() {
                        "amp" => w.text.push('&'),
                        "lt" => w.text.push('<'),
                        "gt" => w.text.push('>'),
                        "quot" => w.text.push('"'),
                        "apos" => w.text.push('\''),
                        _ => {}
                    }
                }
            }
            Ok(Event::End(e)) if e.name().0 == "word" => {
                if let (Some(w), Some(page)) = (word.take(), pages.last_mut()) {
                    if !w.text.trim().is_empty() {
                        page.push(w);
                    }
                }
            }
            Ok(Event::Eof) => break,
            Err(_) => return None,
            _ => {}
        }
    }
    pages.iter().any(|p| !p.is_empty()).then_some(pages)
}

/// Half the median width of a Chinese character on the page: narrow enough
/// that no word takes more columns than its box spans.
fn column_unit(words: &[Word]) -> f64 {
    let mut widths: Vec<f64> = words
        .iter()
        .filter_map(|w| {
            let n = w.text.chars().count();
            let han = w.text.chars().all(super::labels::is_han);
            (han && n > 0).then(|| (w.x_max - w.x_min) / n as f64)
        })
        .filter(|w| *w > 0.0)
        .collect();
    widths.sort_by(f64::total_cmp);
    widths
        .get(widths.len() / 2)
        .map_or(3.5, |w| w / 2.0)
        .max(0.5)
}

/// Words grouped into lines by their vertical centre, each line left to right.
fn lines(words: &[Word]) -> Vec<Vec<&Word>> {
    let mut sorted: Vec<&Word> = words.iter().collect();
    sorted.sort_by(|a, b| a.centre().total_cmp(&b.centre()));
    let mut out: Vec<Vec<&Word>> = Vec::new();
    for w in sorted {
        let joins = out.last().and_then(|l| l.first()).is_some_and(|first| {
            (w.centre() - first.centre()).abs() < 0.5 * first.height().min(w.height())
        });
        match out.last_mut() {
            Some(line) if joins => line.push(w),
            _ => out.push(vec![w]),
        }
    }
    for line in &mut out {
        line.sort_by(|a, b| a.x_min.total_cmp(&b.x_min));
    }
    out
}

/// One line of text: each word at the column of its left edge; words closer
/// than a Chinese character are one run (one space), others two runs apart.
fn render(line: &[&Word], unit: f64) -> String {
    let mut out = String::new();
    let mut len = 0usize;
    let mut prev_end: Option<f64> = None;
    for w in line {
        let want = ((w.x_min / unit).round().max(0.0) as usize).min(MAX_COLUMNS);
        let col = match prev_end {
            None => want,
            Some(end) if w.x_min - end < 2.0 * unit => len + 1,
            Some(_) => want.max(len + 2),
        };
        out.extend(std::iter::repeat_n(' ', col.saturating_sub(len)));
        len = len.max(col);
        out.push_str(w.text.trim());
        len += w.text.trim().chars().count();
        prev_end = Some(w.x_max);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(x: f64, y: f64, w: f64, text: &str) -> String {
        format!(
            "<word xMin=\"{x}\" yMin=\"{y}\" xMax=\"{}\" yMax=\"{}\">{text}</word>",
            x + w,
            y + 7.0
        )
    }

    #[test]
    fn figures_keep_their_page_column() {
        // A long label and a short one; the figure columns at x 200 and 250.
        let page = [
            word(60.0, 100.0, 120.0, "一二三四五六七八九十一二三四五六七"),
            word(200.0, 100.0, 3.0, "1"),
            word(250.0, 100.0, 3.0, "2"),
            word(60.0, 115.0, 14.0, "规章"),
            word(250.0, 115.3, 3.0, "5"),
        ]
        .concat();
        let xhtml = format!("<html><body><doc><page>{page}</page></doc></body></html>");
        let text = layout_text(&xhtml).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let col = |line: &str, fig: char| line.chars().position(|c| c == fig);
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(col(lines[0], '2'), col(lines[1], '5'), "{text}");
        assert!(lines[0].contains("七  "), "{text}");
    }

    #[test]
    fn unreadable_boxes_are_none() {
        assert_eq!(layout_text("<page><word xMin=\"x\">a</word></page>"), None);
        assert_eq!(layout_text(""), None);
        assert_eq!(layout_text("<<<"), None);
    }
}
