//! Layout text (as `pdftotext -layout` prints a PDF) → report segments → rows.
//!
//! A PDF table cell that wraps its label over several lines puts the row's
//! figures on the first, a middle or the last of them, or on a line of their
//! own. The lines are regrouped into rows: a numbered line (`1、`, `（二）`,
//! `三、`) or a header opens a row; an unnumbered line as narrow as the label
//! it follows, starting where it starts, continues it. Figures are then put in
//! columns by their character position, so that a blank cell stays blank
//! instead of pulling the next figure into its place.

use super::flat::Segment;
use super::labels::{is_han, key};
use super::number::{collapse_ws, is_figure};
use super::report::{clean_title, is_title_line};
use super::tables::Row;

/// How far (in characters) a continuation line may start from its label.
const INDENT_SLACK: usize = 4;
/// How much wider than the label's first line a continuation may be.
const WIDTH_SLACK: usize = 2;
/// Longest line (in characters) taken for an agency printed above the title.
const AGENCY_MAX_CHARS: usize = 30;

/// A run of text on a line, with the character column it starts at.
#[derive(Debug, Clone, PartialEq)]
struct Token {
    start: usize,
    text: String,
}

impl Token {
    fn width(&self) -> usize {
        self.text.chars().count()
    }
    fn end(&self) -> usize {
        self.start + self.width()
    }
}

/// One line cut into its label runs and the figures that end it.
#[derive(Debug, Default)]
struct Line {
    labels: Vec<Token>,
    figures: Vec<Token>,
    /// The line starts a new page (a form feed): columns may move.
    page_break: bool,
}

/// A row being assembled from one or more lines.
#[derive(Debug, Default)]
struct Item {
    labels: Vec<Token>,
    figures: Vec<Token>,
    /// Width of the first line of the last label, which continuations match.
    first_width: usize,
    /// A header row (several label runs, no figures): starts a block of columns.
    header: bool,
    /// The row starts a page: starts a block of columns too.
    page_break: bool,
}

impl Item {
    fn starts_block(&self) -> bool {
        self.header || self.page_break
    }
}

/// True for text that looks like `pdftotext -layout` output: several lines
/// ending in two or more figures set apart by runs of spaces.
pub fn looks_like_layout(text: &str) -> bool {
    text.lines()
        .filter(|l| !l.contains('|') && has_inner_gap(l))
        .filter(|l| {
            let line = split_line(l);
            line.figures.len() >= 2 && !line.labels.is_empty()
        })
        .take(5)
        .count()
        >= 5
}

/// The columns a space takes (a full-width space two), 0 for any other
/// character.
fn gap_width(c: char) -> usize {
    match c {
        '\u{3000}' => 2,
        c if c.is_whitespace() || c == '\u{a0}' => 1,
        _ => 0,
    }
}

/// Whether a gap of two columns or more lies between two characters of the
/// line: without one the line is a single run, neither labels and figures
/// both, and prose is passed over without cutting it into runs.
fn has_inner_gap(line: &str) -> bool {
    let mut seen_text = false;
    let mut gap = 0;
    for c in line.chars() {
        let width = gap_width(c);
        if width == 0 {
            if seen_text && gap >= 2 {
                return true;
            }
            seen_text = true;
            gap = 0;
        } else {
            gap += width;
        }
    }
    false
}

/// Cut layout text at report title lines, keeping each line's spacing. A
/// title printed over two lines is joined; a short line right above the title
/// (`洪泽区人民政府`) is kept as the agency.
pub fn segments(text: &str, default_title: Option<String>) -> Vec<Segment> {
    let lines = kept_lines(text);
    let mut out = vec![Segment {
        title: default_title,
        agency: None,
        lines: Vec::new(),
    }];
    let mut i = 0;
    while let Some(line) = lines.get(i) {
        let flat = collapse_ws(line);
        let joined = lines
            .get(i + 1)
            .map(|next| format!("{flat}{}", collapse_ws(next)));
        let (title, used) = if is_title_line(&flat) {
            (Some(flat.clone()), 1)
        } else if joined.as_deref().is_some_and(is_title_line)
            && !lines.get(i + 1).is_some_and(|next| is_title_line(next))
            && !has_figures(line)
        {
            (joined, 2)
        } else {
            (None, 0)
        };
        let Some(title) = title else {
            if let Some(seg) = out.last_mut() {
                seg.lines.push(line.to_string());
            }
            i += 1;
            continue;
        };
        let title = clean_title(&title);
        i += used;
        if out
            .iter()
            .any(|s| s.title.as_deref() == Some(title.as_str()))
        {
            // A title repeated (a running header) continues its report.
            continue;
        }
        let agency = out.last_mut().and_then(|seg| agency_above(&mut seg.lines));
        out.push(Segment {
            title: Some(title),
            agency,
            lines: Vec::new(),
        });
    }
    out
}

/// The non-blank lines, a form feed on a blank line moved onto the next one
/// so that the page break is not lost.
fn kept_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut feed = false;
    for line in text.lines() {
        feed |= line.contains('\u{c}');
        if line.trim().is_empty() {
            continue;
        }
        let line = line.trim_end();
        out.push(if feed && !line.contains('\u{c}') {
            format!("\u{c}{line}")
        } else {
            line.to_string()
        });
        feed = false;
    }
    out
}

/// The last line before a title if it names an agency alone: short, Chinese,
/// no figures, ending as agency names end. It is taken off the lines above.
fn agency_above(lines: &mut Vec<String>) -> Option<String> {
    const ENDINGS: &[&str] = &[
        "政府",
        "办公室",
        "委员会",
        "局",
        "厅",
        "委",
        "办",
        "院",
        "中心",
        "区",
        "县",
        "市",
        "镇",
        "乡",
        "街道",
        "管委会",
        "处",
        "所",
        "站",
    ];
    let last = lines.last()?;
    let name: String = collapse_ws(last).chars().filter(|c| is_han(*c)).collect();
    let plain = collapse_ws(last).chars().all(|c| is_han(c) || c == ' ');
    let fits = plain
        && !name.is_empty()
        && name.chars().count() <= AGENCY_MAX_CHARS
        && ENDINGS.iter().any(|e| name.ends_with(e));
    if !fits {
        return None;
    }
    lines.pop();
    Some(name)
}

fn has_figures(line: &str) -> bool {
    !split_line(line).figures.is_empty()
}

/// Rows of a segment's layout lines.
pub fn rows(lines: &[String]) -> Vec<Row> {
    let items = group(lines.iter().map(|l| split_line(l)));
    let mut out = Vec::with_capacity(items.len());
    // A block runs from a header or a page break to the next.
    for block in items.chunk_by(|_, next| !next.starts_block()) {
        let columns = Columns::of(block);
        out.extend(block.iter().map(|item| Row {
            labels: item.labels.iter().map(|t| tidy_label(&t.text)).collect(),
            values: columns.place(item),
            confidence: None,
        }));
    }
    out
}

/// Regroup lines into rows (see the module comment).
fn group(lines: impl Iterator<Item = Line>) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    let mut current: Option<Item> = None;
    for line in lines {
        let opens = line.labels.first().is_some_and(|t| opens_row(&t.text));
        let multi_label = line.labels.len() > 1;
        if line.figures.is_empty() && multi_label {
            items.extend(current.take());
            items.push(Item {
                labels: line.labels,
                header: true,
                page_break: line.page_break,
                ..Item::default()
            });
            continue;
        }
        let continues = current.as_ref().is_some_and(|c| {
            !opens
                && !multi_label
                && line
                    .labels
                    .first()
                    .is_some_and(|t| continues_label(c, t, !line.figures.is_empty()))
        });
        let fills = line.labels.is_empty()
            && current
                .as_ref()
                .is_some_and(|c| c.figures.is_empty() && !c.labels.is_empty());
        if continues || fills {
            if let Some(c) = current.as_mut() {
                c.page_break |= line.page_break;
                if let (Some(last), Some(piece)) = (c.labels.last_mut(), line.labels.first()) {
                    last.text.push_str(piece.text.trim());
                }
                if c.figures.is_empty() {
                    c.figures = line.figures;
                }
            }
            continue;
        }
        items.extend(current.take());
        current = Some(Item {
            first_width: line.labels.last().map_or(0, Token::width),
            labels: line.labels,
            figures: line.figures,
            header: false,
            page_break: line.page_break,
        });
    }
    items.extend(current);
    items
}

/// True if `piece` (a single label run) continues the label of `item`:
/// aligned with it, no wider than its first line, and not bringing figures to
/// a row that already has them.
fn continues_label(item: &Item, piece: &Token, has_figures: bool) -> bool {
    let Some(last) = item.labels.last() else {
        return false;
    };
    if has_figures && !item.figures.is_empty() {
        return false;
    }
    piece.start.abs_diff(last.start) <= INDENT_SLACK
        && piece.width() <= item.first_width + WIDTH_SLACK
}

/// A numbered item (`1、`, `2.`, `（三）`, `四、`) or a line that opens a
/// table or block: never the continuation of the line above.
fn opens_row(text: &str) -> bool {
    const NUMERALS: &str = "一二三四五六七八九十0123456789０１２３４５６７８９";
    let t = text.trim_start();
    let body = t.trim_start_matches(['(', '（']);
    let bracketed = body.len() != t.len();
    let rest = body.trim_start_matches(|c: char| NUMERALS.contains(c));
    if rest.len() != body.len() {
        let sep = if bracketed {
            [')', '）'].as_slice()
        } else {
            ['、', '.', '．', ')', '）', ','].as_slice()
        };
        if rest.starts_with(sep) {
            return true;
        }
    }
    let k = key(text);
    [
        "第二十条",
        "信息内容",
        "申请人情况",
        "主动公开政府信息情况",
        "收到和处理政府信息公开申请",
        "行政复议",
        "行政诉讼",
    ]
    .iter()
    .any(|w| k.starts_with(w))
}

/// A label as printed, with the stray spaces that layout puts between two
/// Chinese characters (`一情 形`) removed.
fn tidy_label(text: &str) -> String {
    let flat = collapse_ws(text);
    let chars: Vec<char> = flat.chars().collect();
    chars
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            let between_han = **c == ' '
                && i.checked_sub(1)
                    .and_then(|p| chars.get(p))
                    .is_some_and(|p| !p.is_ascii())
                && chars.get(i + 1).is_some_and(|n| !n.is_ascii());
            !between_han
        })
        .map(|(_, c)| *c)
        .collect()
}

/// Split a layout line into runs at two or more spaces; the figures that end
/// the line (each run split at single spaces too) are its figures.
fn split_line(line: &str) -> Line {
    let page_break = line.contains('\u{c}');
    let runs = runs(&line.replace('\u{c}', ""), 2);
    let mut labels = runs;
    let mut figures: Vec<Token> = Vec::new();
    while let Some(last) = labels.last() {
        let words = runs_in(last, 1);
        if words.iter().all(|w| is_figure(&w.text)) && !words.is_empty() {
            let mut words = words;
            words.extend(figures);
            figures = words;
            labels.pop();
        } else {
            break;
        }
    }
    Line {
        labels,
        figures,
        page_break,
    }
}

/// Runs of non-space characters of a token, split at `gap` or more spaces.
fn runs_in(token: &Token, gap: usize) -> Vec<Token> {
    runs(&token.text, gap)
        .into_iter()
        .map(|t| Token {
            start: token.start + t.start,
            text: t.text,
        })
        .collect()
}

/// Runs of a line separated by `gap` or more spaces (a full-width space
/// counts as two), with their starting character column.
fn runs(line: &str, gap: usize) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    let mut col = 0;
    let mut spaces = 0;
    // The column after the last run's last character, kept rather than
    // counted again from the run's text at every character (which made a
    // long line cost its length squared).
    let mut last_end = None;
    for c in line.chars() {
        let width = gap_width(c);
        if width > 0 {
            spaces += width;
            col += width;
            continue;
        }
        match out.last_mut() {
            Some(t) if spaces < gap && last_end.map(|e| e + spaces) == Some(col) => {
                t.text.extend(std::iter::repeat_n(' ', spaces));
                t.text.push(c);
            }
            _ => out.push(Token {
                start: col,
                text: c.to_string(),
            }),
        }
        spaces = 0;
        col += 1;
        last_end = Some(col);
    }
    out
}

/// The columns of a block: how many figures its fullest rows hold, and
/// where those rows print them.
struct Columns<'a> {
    full: usize,
    /// The fullest rows' figures, each with the narrowest gap between two of
    /// them; rows printed alike are kept once (they place a figure alike),
    /// and at most [`Columns::REFERENCES`] are kept, so that placing a
    /// row's figures costs the same in a block of any length.
    references: Vec<(&'a [Token], usize)>,
}

impl<'a> Columns<'a> {
    const REFERENCES: usize = 64;

    fn of(block: &'a [Item]) -> Self {
        let full = block.iter().map(|b| b.figures.len()).max().unwrap_or(0);
        let mut references: Vec<(&[Token], usize)> = Vec::new();
        for figures in block.iter().map(|b| &b.figures[..]) {
            if references.len() == Self::REFERENCES {
                break;
            }
            let printed_alike = |(r, _): &(&[Token], usize)| {
                r.iter()
                    .map(|t| (t.start, t.end()))
                    .eq(figures.iter().map(|t| (t.start, t.end())))
            };
            if figures.len() == full && !references.iter().any(printed_alike) {
                let gap = figures
                    .windows(2)
                    .filter_map(|w| Some(w.get(1)?.start.saturating_sub(w.first()?.end())))
                    .min()
                    .unwrap_or(0)
                    .max(1);
                references.push((figures, gap));
            }
        }
        Columns { full, references }
    }

    /// The row's figures, one per column of its block: where the row has
    /// fewer figures than the block's fullest rows, each figure goes to the
    /// column it stands under and the others stay blank. Unplaceable rows
    /// keep their figures as printed (the table reader then notes them).
    fn place(&self, item: &Item) -> Vec<String> {
        let plain = || item.figures.iter().map(|t| t.text.clone()).collect();
        let full = self.full;
        let n = item.figures.len();
        if n == 0 || n >= full || full < 2 {
            return plain();
        }
        let mut slots: Vec<Option<String>> = vec![None; full];
        let mut next_free = 0;
        for fig in &item.figures {
            let Some(col) = self.nearest_column(fig) else {
                return plain();
            };
            if col < next_free {
                return plain();
            }
            if let Some(slot) = slots.get_mut(col) {
                *slot = Some(fig.text.clone());
            }
            next_free = col + 1;
        }
        slots.into_iter().map(Option::unwrap_or_default).collect()
    }

    /// The column a figure stands under, if one is clearly nearer than the
    /// others: its start, centre or end within half a column gap of the
    /// same edge of a reference row's figure.
    fn nearest_column(&self, fig: &Token) -> Option<usize> {
        let anchors = |t: &Token| [2 * t.start, t.start + t.end(), 2 * t.end()];
        let mut best: Option<(usize, usize)> = None;
        for (reference, gap) in &self.references {
            for (col, r) in reference.iter().enumerate() {
                let d = anchors(fig)
                    .iter()
                    .zip(anchors(r))
                    .map(|(a, b)| a.abs_diff(b))
                    .min()
                    .unwrap_or(usize::MAX);
                // Doubled coordinates: within half the gap plus a character.
                if d <= gap + 2 && best.is_none_or(|(_, bd)| d < bd) {
                    best = Some((col, d));
                }
            }
        }
        best.map(|(col, _)| col)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_cut_at_gaps_and_keep_their_columns() {
        let cut = |line: &str, gap| -> Vec<(usize, String)> {
            runs(line, gap)
                .into_iter()
                .map(|t| (t.start, t.text))
                .collect()
        };
        assert_eq!(
            cut("ab  cd e", 2),
            [(0, "ab".to_string()), (4, "cd e".to_string())]
        );
        assert_eq!(
            cut(" ab cd", 1),
            [(1, "ab".to_string()), (4, "cd".to_string())]
        );
        // A full-width space is two columns: a gap on its own.
        assert_eq!(
            cut("收到\u{3000}12", 2),
            [(0, "收到".to_string()), (4, "12".to_string())]
        );
        assert_eq!(cut("收 到", 2), [(0, "收 到".to_string())]);
        assert!(cut("   ", 2).is_empty());
    }

    #[test]
    fn a_paragraph_on_one_long_line_is_read_in_one_pass() {
        // Read character by character with the run's width counted again at
        // each, this line took minutes.
        let line = "公开".repeat(100_000) + "    12    3";
        let tokens = runs(&line, 2);
        assert_eq!(tokens.len(), 3);
        assert_eq!(
            tokens.last().map(|t| (t.start, t.text.as_str())),
            Some((200_010, "3"))
        );
        assert!(!looks_like_layout(&line));
    }

    #[test]
    fn only_a_gap_between_characters_parts_runs() {
        for (line, gap) in [
            ("收到申请数  12", true),
            ("收到申请数\u{3000}12", true),
            ("收到申请数 12 3", false),
            ("\u{3000}\u{3000}收到申请数 12", false),
            ("收到申请数 12   ", false),
            ("", false),
        ] {
            assert_eq!(has_inner_gap(line), gap, "{line:?}");
            assert_eq!(runs(line, 2).len() > 1, gap, "{line:?}");
        }
    }

    fn rows_of(text: &str) -> Vec<(Vec<String>, Vec<String>)> {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        rows(&lines)
            .into_iter()
            .map(|r| (r.labels, r.values))
            .collect()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn wrapped_labels_join_whichever_line_holds_the_figures() {
        let text = "\
（二）部分公开（区分处理的，只计这一情 形，不
计其他情形）
                              4    0   0   0   0   0   4
1、申请人无正当理由逾期不补
正、行政机关不再处理其政府信      67   3   0   0   1   0   71
息公开申请
2、申请人逾期未按收费通知要求      1   0   0   0   0   0   1
缴纳费用、行政机关不再处理其
政府信息公开申请
3、其他
处理                              5   0   0   0   0   0   5";
        let fig = |v: [&str; 7]| s(&v);
        assert_eq!(
            rows_of(text),
            vec![
                (
                    s(&["（二）部分公开（区分处理的，只计这一情形，不计其他情形）"]),
                    fig(["4", "0", "0", "0", "0", "0", "4"])
                ),
                (
                    s(&["1、申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"]),
                    fig(["67", "3", "0", "0", "1", "0", "71"])
                ),
                (
                    s(&[
                        "2、申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"
                    ]),
                    fig(["1", "0", "0", "0", "0", "0", "1"])
                ),
                (
                    s(&["3、其他处理"]),
                    fig(["5", "0", "0", "0", "0", "0", "5"])
                ),
            ]
        );
    }

    #[test]
    fn blank_cells_stay_blank() {
        let text = "\
信息内容       本年制发件数   本年废止件数   现行有效件数
规章                0              0              3
行政规范性文件       2                             14
第二十条第（五）项
信息内容       本年处理决定数量
行政许可           1234";
        assert_eq!(
            rows_of(text),
            vec![
                (
                    s(&["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"]),
                    s(&[])
                ),
                (s(&["规章"]), s(&["0", "0", "3"])),
                (s(&["行政规范性文件"]), s(&["2", "", "14"])),
                (s(&["第二十条第（五）项"]), s(&[])),
                (s(&["信息内容", "本年处理决定数量"]), s(&[])),
                (s(&["行政许可"]), s(&["1234"])),
            ]
        );
    }

    #[test]
    fn numbering_opens_rows() {
        for (text, opens) in [
            ("3、其他", true),
            ("（三）不予公开", true),
            ("2．重复申请", true),
            ("四、结转下年度继续办理", true),
            ("三安全一稳定”", false),
            ("正、行政机关不再处理", false),
            ("计其他情形）", false),
        ] {
            assert_eq!(opens_row(text), opens, "{text}");
        }
    }

    #[test]
    fn agency_above_the_title() {
        let text = "        洪泽区人民政府\n  2023 年政府信息公开工作年度报告\n正文";
        let segs = segments(text, None);
        let last = segs
            .last()
            .cloned()
            .unwrap_or_else(|| segments("", None).remove(0));
        assert_eq!(
            last.title.as_deref(),
            Some("2023年政府信息公开工作年度报告")
        );
        assert_eq!(last.agency.as_deref(), Some("洪泽区人民政府"));
        assert_eq!(last.lines, vec!["正文".to_string()]);
    }
}
