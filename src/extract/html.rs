//! A single forward pass over an HTML page that keeps only what extraction
//! reads: the innermost tables (cells with their spans), the title
//! candidates, and the visible text one line per block element.
//!
//! A full HTML5 tree build costs more than everything else extraction does
//! (measured: about 87 MB/s for html5ever against several hundred for this
//! pass), and a report needs no tree: tables are recovered with the implicit
//! closing rules browsers apply to them (`<td>` closes the open cell, `<tr>`
//! the open row, `</table>` everything inside it). Forgiving by construction:
//! any byte sequence is a page; nothing here can panic.

use std::borrow::Cow;

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
    cell: Option<SourceCell>,
    has_child: bool,
}

impl TableBuild {
    fn close_cell(&mut self) {
        if let Some(mut cell) = self.cell.take() {
            cell.text = super::number::collapse_ws(&cell.text);
            if self.rows.is_empty() {
                self.rows.push(Vec::new());
            }
            if let Some(row) = self.rows.last_mut() {
                row.push(cell);
            }
        }
    }
}

/// Where text goes besides the body text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Capture {
    Title,
    Heading,
}

#[derive(Default)]
struct Scanner {
    page: Page,
    tables: Vec<TableBuild>,
    capture: Option<(Capture, String)>,
    in_head: bool,
}

/// Scan a page.
pub fn scan(html: &str) -> Page {
    let mut s = Scanner::default();
    let bytes = html.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let Some(lt) = find_byte(bytes, i, b'<') else {
            s.text(slice(html, i, bytes.len()));
            break;
        };
        if lt > i {
            s.text(slice(html, i, lt));
        }
        i = s.markup(html, lt);
    }
    while !s.tables.is_empty() {
        s.close_table();
    }
    s.page
}

impl Scanner {
    /// Handle the markup starting at `lt` (a `<`); returns where text resumes.
    fn markup(&mut self, html: &str, lt: usize) -> usize {
        let bytes = html.as_bytes();
        let rest = &bytes[lt..];
        if rest.starts_with(b"<!--") {
            return find_seq(bytes, lt + 4, b"-->").map_or(bytes.len(), |e| e + 3);
        }
        if rest.starts_with(b"<!") || rest.starts_with(b"<?") {
            return find_byte(bytes, lt, b'>').map_or(bytes.len(), |e| e + 1);
        }
        let closing = rest.get(1) == Some(&b'/');
        let name_start = lt + 1 + usize::from(closing);
        let name_end = bytes[name_start.min(bytes.len())..]
            .iter()
            .position(|b| !b.is_ascii_alphanumeric())
            .map_or(bytes.len(), |p| name_start + p);
        if name_end == name_start {
            // A bare `<` is text.
            self.text("<");
            return lt + 1;
        }
        let raw_name = html.get(name_start..name_end).unwrap_or_default();
        let mut buf = [0u8; 16];
        let name = lowercase(raw_name, &mut buf);
        let (attrs, end) = attributes(html, name_end);
        if closing {
            self.end_tag(name);
            return end;
        }
        if matches!(name, "script" | "style" | "noscript" | "textarea") {
            return skip_raw(bytes, end, name);
        }
        self.start_tag(name, &attrs);
        end
    }

    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        if is_block(name) {
            self.page.text.push('\n');
        }
        if self.in_head && !matches!(name, "title" | "meta" | "link" | "base" | "head") {
            // Body content closes a head whose end tag is missing.
            self.in_head = false;
        }
        match name {
            "head" => self.in_head = true,
            "body" => self.in_head = false,
            "title" => self.capture = Some((Capture::Title, String::new())),
            "h1" | "h2" | "h3" => self.capture = Some((Capture::Heading, String::new())),
            "meta" => {
                let is_title =
                    attr(attrs, "name").is_some_and(|n| n.eq_ignore_ascii_case("ArticleTitle"));
                if let (true, Some(content)) = (is_title, attr(attrs, "content")) {
                    self.page
                        .meta_titles
                        .push(decode_entities(content).into_owned());
                }
            }
            "table" => self.open_table(),
            "tr" => {
                if let Some(t) = self.tables.last_mut() {
                    t.close_cell();
                    t.rows.push(Vec::new());
                }
            }
            "td" | "th" => {
                if let Some(t) = self.tables.last_mut() {
                    t.close_cell();
                    t.cell = Some(SourceCell {
                        text: String::new(),
                        rowspan: span(attr(attrs, "rowspan")),
                        colspan: span(attr(attrs, "colspan")),
                    });
                }
            }
            _ => {}
        }
    }

    fn end_tag(&mut self, name: &str) {
        if is_block(name) {
            self.page.text.push('\n');
        }
        match name {
            "head" => self.in_head = false,
            "title" | "h1" | "h2" | "h3" => self.finish_capture(),
            "td" | "th" | "tr" => {
                if let Some(t) = self.tables.last_mut() {
                    t.close_cell();
                }
            }
            "table" => self.close_table(),
            _ => {}
        }
    }

    fn open_table(&mut self) {
        if self.tables.len() >= MAX_DEPTH {
            return;
        }
        if let Some(parent) = self.tables.last_mut() {
            parent.has_child = true;
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
            let text = decode_entities(&text).into_owned();
            match kind {
                Capture::Title => self.page.titles.push(text),
                Capture::Heading => self.page.headings.push(text),
            }
        }
    }

    fn text(&mut self, raw: &str) {
        if let Some((_, buf)) = self.capture.as_mut() {
            buf.push_str(raw);
        }
        if self.in_head {
            return;
        }
        let text = decode_entities(raw);
        let text = text.as_ref();
        if let Some(cell) = self.tables.last_mut().and_then(|t| t.cell.as_mut()) {
            cell.text.push_str(text);
        }
        self.page.text.push_str(text);
    }
}

/// The attributes extraction reads; the rest (Word's long inline styles) are
/// skipped without copying.
const READ_ATTRS: &[&str] = &["rowspan", "colspan", "name", "content"];

/// The attributes in `READ_ATTRS` of a tag from `from` (just after its name)
/// to its `>`; returns them and the index after the tag.
fn attributes(html: &str, from: usize) -> (Vec<(&'static str, &str)>, usize) {
    let bytes = html.as_bytes();
    let mut attrs = Vec::new();
    let mut i = from;
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        match bytes.get(i) {
            None => return (attrs, bytes.len()),
            Some(b'>') => return (attrs, i + 1),
            _ => {}
        }
        let name_start = i;
        while i < bytes.len()
            && !matches!(bytes[i], b'=' | b'>' | b'/')
            && !bytes[i].is_ascii_whitespace()
        {
            i += 1;
        }
        let name = slice(html, name_start, i);
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = "";
        if bytes.get(i) == Some(&b'=') {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            match bytes.get(i) {
                Some(q @ (b'"' | b'\'')) => {
                    let end = find_byte(bytes, i + 1, *q).unwrap_or(bytes.len());
                    value = slice(html, i + 1, end);
                    i = (end + 1).min(bytes.len());
                }
                _ => {
                    let start = i;
                    while i < bytes.len() && bytes[i] != b'>' && !bytes[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    value = slice(html, start, i);
                }
            }
        }
        if name.is_empty() {
            i += 1;
        } else if let Some(known) = READ_ATTRS.iter().find(|a| a.eq_ignore_ascii_case(name)) {
            attrs.push((*known, value));
        }
    }
}

fn attr<'a>(attrs: &[(&str, &'a str)], name: &str) -> Option<&'a str> {
    attrs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
}

/// A span attribute: absent, unreadable or zero counts as 1; clamped.
fn span(value: Option<&str>) -> usize {
    value
        .and_then(|a| a.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .map_or(1, |n| n.min(MAX_SPAN))
}

/// Skip the raw text of `<script>` and the like, to its end tag.
fn skip_raw(bytes: &[u8], from: usize, name: &str) -> usize {
    let mut i = from;
    while let Some(lt) = find_seq(bytes, i, b"</") {
        let tag = bytes.get(lt + 2..lt + 2 + name.len()).unwrap_or_default();
        if tag.eq_ignore_ascii_case(name.as_bytes()) {
            return find_byte(bytes, lt, b'>').map_or(bytes.len(), |e| e + 1);
        }
        i = lt + 2;
    }
    bytes.len()
}

/// A tag name in lower case, in `buf`; names longer than it are none we read.
fn lowercase<'b>(name: &str, buf: &'b mut [u8; 16]) -> &'b str {
    let Some(dst) = buf.get_mut(..name.len()) else {
        return "";
    };
    dst.copy_from_slice(name.as_bytes());
    dst.make_ascii_lowercase();
    std::str::from_utf8(dst).unwrap_or_default()
}

/// `html[from..to]`, or empty where the bounds fall inside a character.
fn slice(html: &str, from: usize, to: usize) -> &str {
    html.get(from..to).unwrap_or_default()
}

fn find_byte(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    memchr::memchr(needle, bytes.get(from..)?).map(|p| from + p)
}

fn find_seq(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(bytes.get(from..)?, needle).map(|p| from + p)
}

/// Replace character references; unknown ones stay as written.
pub fn decode_entities(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after
            .char_indices()
            .take(12)
            .find(|(_, c)| *c == ';')
            .map(|(i, _)| i);
        let decoded = end.and_then(|e| entity(&after[..e]).map(|c| (c, e + 1)));
        match decoded.or_else(|| legacy_entity(after)) {
            Some((c, used)) => {
                out.push(c);
                rest = &after[used..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The few references old page generators write without `;` (`&nbsp`), as
/// browsers read them: the character and the bytes it used.
fn legacy_entity(after: &str) -> Option<(char, usize)> {
    [
        ("nbsp", '\u{a0}'),
        ("amp", '&'),
        ("lt", '<'),
        ("gt", '>'),
        ("quot", '"'),
    ]
    .iter()
    .find(|(name, _)| after.starts_with(name))
    .map(|(name, c)| (*c, name.len()))
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).or(Some('\u{fffd}'));
    }
    Some(match name {
        "nbsp" => '\u{a0}',
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "ensp" => '\u{2002}',
        "emsp" => '\u{2003}',
        "thinsp" => '\u{2009}',
        "middot" => '·',
        "ldquo" => '“',
        "rdquo" => '”',
        "lsquo" => '‘',
        "rsquo" => '’',
        "mdash" => '—',
        "ndash" => '–',
        "hellip" => '…',
        "times" => '×',
        "divide" => '÷',
        "plusmn" => '±',
        "copy" => '©',
        "reg" => '®',
        "yen" => '¥',
        "deg" => '°',
        _ => return None,
    })
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
        ] {
            let _ = scan(s);
        }
    }
}
