//! What extraction reads of an HTML page — the innermost tables (cells
//! with their spans), the title candidates, and the visible text one line
//! per block element — built from the token stream of one WHATWG
//! tokenizer pass (`crate::markup`), without a tree.
//!
//! A full HTML5 tree build costs more than everything else extraction does,
//! and a report needs no tree: tables are recovered with the rules the tree
//! builder applies to them (a `<td>` closes the open cell, a `<tr>` the open
//! row, a `<table>` met between cells closes the open table while one inside
//! a cell nests, `</table>` closes everything inside it). Forgiving by
//! construction: any text is a page; nothing here can panic.

use crate::markup::{self, Reader, Tag};

/// One source cell of a table, before spans are expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCell {
    pub text: String,
    pub rowspan: usize,
    pub colspan: usize,
}

/// What a page holds for extraction.
#[derive(Debug, Default)]
pub struct Page {
    /// `<meta name="ArticleTitle" content=…>` (TRS and other CMS).
    pub meta_titles: Vec<String>,
    /// `<title>` text.
    pub titles: Vec<String>,
    /// `<h1>`–`<h3>` texts.
    pub headings: Vec<String>,
    /// Tables that hold no other table, in document order: rows of cells.
    pub tables: Vec<Vec<Vec<SourceCell>>>,
    /// Visible text, a new line at each block element.
    pub text: String,
}

/// Spans beyond this are typos or attacks, not layout.
const MAX_SPAN: usize = 1000;
/// Tables nested deeper than this are read as text only.
const MAX_DEPTH: usize = 64;

/// Elements whose text starts on a new line.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "br"
            | "tr"
            | "td"
            | "th"
            | "li"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "table"
            | "section"
            | "article"
    )
}

#[derive(Default)]
struct TableBuild {
    rows: Vec<Vec<SourceCell>>,
    /// The open cell, and whether it was opened by `<th>`.
    cell: Option<(SourceCell, bool)>,
    /// A row is open: a `<td>` adds to it rather than starting one.
    row_open: bool,
    /// Inside `<caption>`: its text belongs to no cell.
    in_caption: bool,
    has_child: bool,
}

impl TableBuild {
    fn close_cell(&mut self) {
        if let Some((mut cell, _)) = self.cell.take() {
            super::number::collapse_ws_in(&mut cell.text);
            if let Some(row) = self.rows.last_mut() {
                row.push(cell);
            }
        }
    }

    fn close_row(&mut self) {
        self.close_cell();
        self.row_open = false;
    }

    fn open_cell(&mut self, tag: &Tag<'_>) {
        self.close_cell();
        self.in_caption = false;
        if !self.row_open {
            self.rows.push(Vec::new());
            self.row_open = true;
        }
        let cell = SourceCell {
            // Room for a figure and the whitespace around it: a cell's text
            // comes in several pieces.
            text: String::with_capacity(32),
            rowspan: span(tag.attr("rowspan")),
            colspan: span(tag.attr("colspan")),
        };
        self.cell = Some((cell, &*tag.name == "th"));
    }

    /// Inside a cell or a caption, where a `<table>` nests rather than
    /// closing this one.
    fn holds_flow(&self) -> bool {
        self.cell.is_some() || self.in_caption
    }
}

/// Where text goes besides the body text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Capture {
    Title,
    Heading,
}

/// Builds a [`Page`] from the token stream.
#[derive(Default)]
pub struct PageBuilder {
    page: Page,
    tables: Vec<TableBuild>,
    /// `<table>`s opened past [`MAX_DEPTH`], still open.
    overflow: usize,
    capture: Option<(Capture, String)>,
    in_head: bool,
    /// Inside an element whose raw text is not shown (`<script>`, …).
    hidden: bool,
    /// Open `<template>`s: their content is inert, never shown.
    templates: usize,
    /// Open block elements outside tables, by [`COUNTED_BLOCKS`].
    blocks: [u32; COUNTED_BLOCKS.len()],
}

/// Block elements whose end tag ends a line only when one is open.
const COUNTED_BLOCKS: [&str; 10] = [
    "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
];

fn open_count<'c>(counts: &'c mut [u32; COUNTED_BLOCKS.len()], name: &str) -> Option<&'c mut u32> {
    let i = COUNTED_BLOCKS.iter().position(|b| *b == name)?;
    counts.get_mut(i)
}

/// Scan a page.
pub fn scan(html: &str) -> Page {
    markup::run(html, PageBuilder::default()).finish()
}

/// Raw-text and RCDATA elements whose text is not part of the page as shown.
fn hides_text(name: &str) -> bool {
    matches!(
        name,
        "script" | "style" | "noscript" | "textarea" | "iframe" | "noembed" | "noframes" | "title"
    )
}

/// Elements that may stand in `<head>`; any other start tag closes it.
fn belongs_in_head(name: &str) -> bool {
    matches!(
        name,
        "head"
            | "title"
            | "meta"
            | "link"
            | "base"
            | "basefont"
            | "bgsound"
            | "script"
            | "style"
            | "noscript"
            | "noframes"
            | "template"
    )
}

impl Reader for PageBuilder {
    fn start(&mut self, tag: &Tag<'_>, foreign: bool) {
        let name: &str = &tag.name;
        if name == "template" {
            self.templates += 1;
        }
        if self.templates > 0 {
            return;
        }
        let in_table = !self.tables.is_empty() || self.overflow > 0;
        // Outside a table the tree builder drops a `<td>`, `<tr>`: no line.
        if is_block(name) && (in_table || !matches!(name, "td" | "th" | "tr")) {
            self.page.text.push('\n');
        }
        if let Some(n) = open_count(&mut self.blocks, name) {
            *n = n.saturating_add(1);
        }
        if self.in_head && !belongs_in_head(name) {
            // Body content closes a head whose end tag is missing.
            self.in_head = false;
        }
        if !foreign && hides_text(name) {
            self.hidden = true;
        }
        match name {
            "head" => self.in_head = true,
            "body" => self.in_head = false,
            "title" => self.capture = Some((Capture::Title, String::new())),
            "h1" | "h2" | "h3" => self.capture = Some((Capture::Heading, String::new())),
            "meta" => {
                let is_title = tag
                    .attr("name")
                    .is_some_and(|n| n.eq_ignore_ascii_case("ArticleTitle"));
                if let (true, Some(content)) = (is_title, tag.attr("content")) {
                    self.page.meta_titles.push(content.to_string());
                }
            }
            _ => self.table_start(tag),
        }
    }

    fn end(&mut self, name: &str) {
        if name == "template" {
            self.templates = self.templates.saturating_sub(1);
            return;
        }
        if self.templates > 0 {
            return;
        }
        if hides_text(name) {
            self.hidden = false;
        }
        if matches!(name, "title" | "h1" | "h2" | "h3") {
            self.finish_capture();
        }
        // An end tag ends a line where it ends an element: a stray `</div>`
        // is dropped, a stray `</p>` or `</br>` makes one.
        let ends = match name {
            "head" => {
                self.in_head = false;
                false
            }
            "p" | "br" => true,
            "table" | "tr" | "td" | "th" | "tbody" | "thead" | "tfoot" | "caption" => {
                self.table_end(name)
            }
            _ => open_count(&mut self.blocks, name).is_some_and(|n| {
                let open = *n > 0;
                *n = n.saturating_sub(1);
                open
            }),
        };
        if ends && is_block(name) {
            self.page.text.push('\n');
        }
    }

    fn text(&mut self, text: &str) {
        if self.templates > 0 {
            return;
        }
        if let Some((_, buf)) = self.capture.as_mut() {
            buf.push_str(text);
        }
        if self.hidden {
            return;
        }
        if self.in_head {
            if text.bytes().all(|b| b.is_ascii_whitespace()) {
                return;
            }
            // Text closes a head whose end tag is missing.
            self.in_head = false;
        }
        if self.overflow == 0 {
            if let Some((cell, _)) = self.tables.last_mut().and_then(|t| t.cell.as_mut()) {
                cell.text.push_str(text);
            }
        }
        self.page.text.push_str(text);
    }

    fn keeps(&self, tag: &str, attr: &str) -> bool {
        match tag {
            "td" | "th" => matches!(attr, "rowspan" | "colspan"),
            "meta" => matches!(attr, "name" | "content"),
            _ => false,
        }
    }
}

impl PageBuilder {
    /// The page read, every table still open closed.
    pub fn finish(mut self) -> Page {
        self.overflow = 0;
        while !self.tables.is_empty() {
            self.close_table();
        }
        self.page
    }

    fn table_start(&mut self, tag: &Tag<'_>) {
        if &*tag.name == "table" {
            return self.open_table();
        }
        if self.overflow > 0 {
            return;
        }
        let Some(t) = self.tables.last_mut() else {
            return;
        };
        match &*tag.name {
            "tr" | "tbody" | "thead" | "tfoot" => {
                t.close_row();
                t.in_caption = false;
                t.row_open = &*tag.name == "tr";
                if t.row_open {
                    t.rows.push(Vec::new());
                }
            }
            "td" | "th" => t.open_cell(tag),
            "caption" => {
                t.close_row();
                t.in_caption = true;
            }
            "col" | "colgroup" => {
                t.close_row();
                t.in_caption = false;
            }
            _ => {}
        }
    }

    /// Returns whether the end tag closed what it names.
    fn table_end(&mut self, name: &str) -> bool {
        if name == "table" {
            if self.overflow > 0 {
                self.overflow -= 1;
                return true;
            }
            let open = !self.tables.is_empty();
            self.close_table();
            return open;
        }
        if self.overflow > 0 {
            return true;
        }
        let Some(t) = self.tables.last_mut() else {
            return false;
        };
        match name {
            // `</td>` ends a `<td>`, not a `<th>`, and the reverse.
            "td" | "th" => {
                let open = t.cell.as_ref().is_some_and(|(_, th)| *th == (name == "th"));
                if open {
                    t.close_cell();
                }
                open
            }
            "tr" | "tbody" | "thead" | "tfoot" => {
                let open = t.row_open;
                t.close_row();
                open
            }
            "caption" => std::mem::take(&mut t.in_caption),
            _ => false,
        }
    }

    fn open_table(&mut self) {
        if self.overflow > 0 {
            self.overflow += 1;
            return;
        }
        if self.tables.last().is_some_and(|t| !t.holds_flow()) {
            // A `<table>` between cells ends the open table ("in table"
            // insertion mode); one inside a cell nests.
            self.close_table();
        }
        if let Some(parent) = self.tables.last_mut() {
            parent.has_child = true;
        }
        if self.tables.len() >= MAX_DEPTH {
            self.overflow = 1;
            return;
        }
        self.tables.push(TableBuild::default());
    }

    fn close_table(&mut self) {
        let Some(mut t) = self.tables.pop() else {
            return;
        };
        t.close_cell();
        t.rows.retain(|r| !r.is_empty());
        if !t.has_child && !t.rows.is_empty() {
            self.page.tables.push(t.rows);
        }
    }

    fn finish_capture(&mut self) {
        if let Some((kind, text)) = self.capture.take() {
            match kind {
                Capture::Title => self.page.titles.push(text),
                Capture::Heading => self.page.headings.push(text),
            }
        }
    }
}

/// A span attribute: absent, unreadable or zero counts as 1; clamped.
fn span(value: Option<&str>) -> usize {
    value
        .and_then(|a| a.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .map_or(1, |n| n.min(MAX_SPAN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(t: &[Vec<SourceCell>]) -> Vec<Vec<(&str, usize, usize)>> {
        t.iter()
            .map(|r| {
                r.iter()
                    .map(|c| (c.text.as_str(), c.rowspan, c.colspan))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn implicit_closes_like_a_browser() {
        let page = scan("<TABLE><tr><td rowspan=2>A<td colspan='3'>b &amp; c<tr><td>1</table>");
        assert_eq!(page.tables.len(), 1);
        assert_eq!(
            texts(&page.tables[0]),
            vec![vec![("A", 2, 1), ("b & c", 1, 3)], vec![("1", 1, 1)]]
        );
    }

    #[test]
    fn only_innermost_tables_and_no_script_text() {
        let page = scan(
            "<html><head><title>某区2020年年报</title><script>var x='<table><td>9</td>';</script></head>\
             <body><table><tr><td><table><tr><td>规章</td><td>0</td></tr></table></td></tr></table>\
             <!-- <table><td>8</td></table> --><meta name=\"ArticleTitle\" content=\"年度报告\"></body></html>",
        );
        assert_eq!(
            texts(&page.tables[0]),
            vec![vec![("规章", 1, 1), ("0", 1, 1)]]
        );
        assert_eq!(page.tables.len(), 1);
        assert_eq!(page.titles, vec!["某区2020年年报".to_string()]);
        assert_eq!(page.meta_titles, vec!["年度报告".to_string()]);
        assert!(!page.text.contains("var x"));
    }

    #[test]
    fn legacy_references_and_a_missing_head_end() {
        let page = scan("<html><head><title>年报</title><table><tr><td>&nbsp</td><td>1&nbsp;2&amp</td></tr></table>");
        assert_eq!(
            texts(&page.tables[0]),
            vec![vec![("", 1, 1), ("1 2&", 1, 1)]]
        );
        assert!(page.text.contains("1\u{a0}2&"), "{:?}", page.text);
    }

    #[test]
    fn a_digit_after_lt_is_text() {
        let page = scan("<table><tr><td>数量<5</td><td>a <b c</td></tr></table>");
        assert_eq!(
            texts(&page.tables[0]),
            vec![vec![("数量<5", 1, 1), ("a", 1, 1)]]
        );
        assert!(page.text.contains("数量<5"), "{:?}", page.text);
    }

    #[test]
    fn a_table_between_cells_closes_the_open_one() {
        // After `</td>` the tree builder is "in table": `<table>` ends the
        // open table, and both are innermost.
        let page = scan("<table><tr><td>1</td><table><tr><td>2</td></tr></table>");
        assert_eq!(page.tables.len(), 2);
        assert_eq!(texts(&page.tables[0]), vec![vec![("1", 1, 1)]]);
        assert_eq!(texts(&page.tables[1]), vec![vec![("2", 1, 1)]]);
        // Inside an open cell it nests: only the inner one is innermost.
        let page = scan("<table><tr><td>1<table><tr><td>2</td></tr></table></td></tr></table>");
        assert_eq!(page.tables.len(), 1);
        assert_eq!(texts(&page.tables[0]), vec![vec![("2", 1, 1)]]);
    }

    #[test]
    fn rows_end_where_the_tree_builder_ends_them() {
        // `</tr>` closes the row: the next `<td>` starts one; `</td>` does
        // not close a `<th>`; caption text is in no cell.
        let page = scan(
            "<table><caption>表一</caption><tr><th>a</td>b<td>c</tr><td>d</td>\
             <tbody><td>e</table>",
        );
        assert_eq!(
            texts(&page.tables[0]),
            vec![
                vec![("ab", 1, 1), ("c", 1, 1)],
                vec![("d", 1, 1)],
                vec![("e", 1, 1)]
            ]
        );
    }

    #[test]
    fn every_named_reference_is_decoded() {
        let page = scan(
            "<table><tr><td>&hellip;&frac12;&ensp;&yen;&rarr;&notin;&amp;lt;</td></tr></table>",
        );
        assert_eq!(page.tables[0][0][0].text, "…½ ¥→∉&lt;");
        let page = scan("<meta name=ArticleTitle content=\"2019&#24180;&mdash;&Aacute;\">");
        assert_eq!(page.meta_titles, vec!["2019年—Á".to_string()]);
    }

    #[test]
    fn a_script_ends_only_at_its_own_end_tag() {
        let page = scan("<script>var a='</scriptx><table><td>9</td></table>';</script><p>正文</p>");
        assert!(page.tables.is_empty());
        assert!(!page.text.contains("var a"));
        assert!(page.text.contains("正文"));
    }

    #[test]
    fn raw_text_and_inert_elements_hide_their_markup() {
        for wrap in [
            "iframe", "template", "noembed", "noframes", "textarea", "style", "script", "noscript",
            "title",
        ] {
            let html = format!("<{wrap}><table><tr><td>9</td></tr></table>隐</{wrap}><p>正文</p>");
            let page = scan(&html);
            assert!(page.tables.is_empty(), "{wrap}");
            assert!(!page.text.contains('隐'), "{wrap}: {:?}", page.text);
            assert!(page.text.contains("正文"), "{wrap}");
        }
        // `xmp` is raw text but shown; `plaintext` makes the rest text.
        let page = scan("<xmp><td>1</td></xmp><plaintext><table><td>2");
        assert!(page.tables.is_empty());
        assert!(page.text.contains("<td>1</td>"), "{:?}", page.text);
        assert!(page.text.contains("<table><td>2"), "{:?}", page.text);
        // Inside `<svg>` a `<style>` is no raw text.
        let page = scan("<svg><style><a/></style></svg><table><td>3</table>");
        assert_eq!(texts(&page.tables[0]), vec![vec![("3", 1, 1)]]);
    }

    #[test]
    fn text_in_head_opens_the_body() {
        let page = scan("<html><head><title>标题</title>正文<table><td>1</table>");
        assert_eq!(page.titles, vec!["标题".to_string()]);
        assert!(page.text.contains("正文"));
        assert!(!page.text.contains("标题"));
    }

    #[test]
    fn deep_nesting_keeps_no_table_past_the_limit() {
        let html = "<table><tr><td>".repeat(MAX_DEPTH + 10) + "x";
        assert!(scan(&html).tables.is_empty());
        let html = "<table><tr><td>".repeat(MAX_DEPTH - 1) + "x";
        assert_eq!(scan(&html).tables.len(), 1);
    }

    #[test]
    fn garbage_never_panics() {
        for s in [
            "<",
            "<<//>>",
            "<td>",
            "</table></tr>",
            "&#xFFFFFFFF;&#99999999999;",
            "<a b='",
            "<table",
            "中<文>&",
            "<svg><![CDATA[<table><td>",
            "</template></template><template><td>",
            "<table><caption><table><td>x</caption>",
            "\u{0}<td\u{0}>",
        ] {
            let _ = scan(s);
        }
    }
}
