//! What link discovery reads of a page — its anchors, scripts, `<meta>`
//! tags, `<base>`, title and breadcrumb — gathered from the token stream of
//! one linear pass of a WHATWG tokenizer (`crate::markup`, which
//! feeds extraction from the same pass), without building a tree.
//!
//! A tree costs memory in proportion to every element of the page (a 30 MB
//! page of nested tables took over a gigabyte), and the tree builder's scope
//! checks, like asking each anchor for its ancestors, grow with the nesting
//! depth: a page 100k elements deep took minutes. Here only a stack of open
//! elements is kept, each knowing whether it lies in page chrome
//! (navigation, header, footer, sidebars), and only the parts discovery
//! reads are stored.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use crate::markup::{self, Reader, Tag};

/// Marks in an element's `id` or `class` that say it is page chrome:
/// containers around the main list whose links are not a column's items.
const CHROME_WORDS: &[&str] = &[
    "nav", "menu", "header", "footer", "foot", "side", "friend", "banner", "crumb", "position",
    "location", "share", "toolbar", "top", "bottom", "dqwz", "links",
];
/// Marks of the 当前位置 trail.
const CRUMB_WORDS: &[&str] = &["crumb", "position", "location", "dqwz", "path"];
/// How far down the stack an end tag (or an implied end) looks for the
/// element it closes: a stray end tag costs at most this, never the depth.
const MAX_SEARCH: usize = 512;

/// An `<a href>` of the page.
#[derive(Debug, Clone, Copy)]
pub struct AnchorTag<'a> {
    pub href: &'a str,
    pub title: Option<&'a str>,
    /// Its text, descendants included.
    pub text: &'a str,
    /// Inside navigation, a header, a footer or a sidebar.
    pub chrome: bool,
}

/// A `<meta>` tag's attributes discovery reads.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub name: Option<String>,
    pub http_equiv: Option<String>,
    pub content: Option<String>,
}

#[derive(Debug, Clone)]
struct Anchor {
    href: String,
    title: Option<String>,
    text: Range<usize>,
    chrome: bool,
}

/// The page as discovery reads it.
#[derive(Debug, Clone, Default)]
pub struct Outline {
    /// The text inside the elements kept (anchors, scripts, title, trail);
    /// each keeps a range of it.
    text: String,
    anchors: Vec<Anchor>,
    scripts: Vec<Range<usize>>,
    metas: Vec<Meta>,
    base: Option<String>,
    title: Option<Range<usize>>,
    crumbs: Vec<Range<usize>>,
}

impl Outline {
    /// Read `html` (a document or a fragment) in one pass.
    pub fn parse(html: &str) -> Self {
        markup::run(html, OutlineBuilder::default()).finish()
    }

    /// Every `<a href>`, in page order.
    pub fn anchors(&self) -> impl Iterator<Item = AnchorTag<'_>> {
        self.anchors.iter().map(|a| AnchorTag {
            href: &a.href,
            title: a.title.as_deref(),
            text: self.slice(&a.text),
            chrome: a.chrome,
        })
    }

    /// The text of every `<script>`.
    pub fn scripts(&self) -> impl Iterator<Item = &str> {
        self.scripts.iter().map(|r| self.slice(r))
    }

    pub fn metas(&self) -> &[Meta] {
        &self.metas
    }

    /// The `content` of the first `<meta name=…>` of that name (any case).
    pub fn meta(&self, name: &str) -> Option<&str> {
        self.metas
            .iter()
            .find(|m| {
                m.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .and_then(|m| m.content.as_deref())
    }

    /// The first `<base href>`.
    pub fn base_href(&self) -> Option<&str> {
        self.base.as_deref()
    }

    /// The first `<title>`'s text.
    pub fn title(&self) -> Option<&str> {
        self.title.as_ref().map(|r| self.slice(r))
    }

    /// The 当前位置 trail: the text of elements marked as one.
    pub fn breadcrumb(&self) -> Option<String> {
        let trail: String = self.crumbs.iter().map(|r| self.slice(r)).collect();
        (!trail.is_empty()).then_some(trail)
    }

    fn slice(&self, r: &Range<usize>) -> &str {
        self.text.get(r.clone()).unwrap_or("")
    }
}

/// What an open element keeps text for.
#[derive(Debug, Clone, Copy)]
enum Keep {
    Nothing,
    Anchor(usize),
    Script(usize),
    Title,
    Crumb(usize),
}

#[derive(Debug)]
struct Open {
    name: Cow<'static, str>,
    chrome: bool,
    keep: Keep,
    text_from: usize,
}

/// Builds an [`Outline`] from the token stream.
#[derive(Default)]
pub(crate) struct OutlineBuilder {
    out: Outline,
    stack: Vec<Open>,
    /// Open elements keeping text.
    keeping: usize,
    /// How many of each element a start tag may close are open (by
    /// [`closable`]): when none is, as most of the time, a start tag's
    /// implied end costs no search of the stack.
    closable_open: [u32; CLOSABLE],
}

/// The elements whose end a start tag may imply ([`OutlineBuilder::imply_ends`]).
const CLOSABLE: usize = 9;

fn closable(name: &str) -> Option<usize> {
    Some(match name {
        "a" => 0,
        "li" => 1,
        "dt" => 2,
        "dd" => 3,
        "td" => 4,
        "th" => 5,
        "tr" => 6,
        "option" => 7,
        "p" => 8,
        _ => return None,
    })
}

impl OutlineBuilder {
    /// The outline read, every element still open closed.
    pub(crate) fn finish(mut self) -> Outline {
        while !self.stack.is_empty() {
            self.pop();
        }
        self.out
    }
}

impl Reader for OutlineBuilder {
    fn start(&mut self, tag: &Tag<'_>, foreign: bool) {
        self.start_tag(tag, foreign);
    }

    fn end(&mut self, name: &str) {
        self.end_tag(name);
    }

    fn text(&mut self, text: &str) {
        if self.keeping > 0 {
            self.out.text.push_str(text);
        }
    }

    /// `id` and `class` of every element (chrome and breadcrumbs), and
    /// what `start_tag` reads of links, metas and the base.
    fn keeps(&self, tag: &str, attr: &str) -> bool {
        matches!(attr, "id" | "class")
            || match tag {
                "a" => matches!(attr, "href" | "title"),
                "meta" => matches!(attr, "name" | "http-equiv" | "content"),
                "base" => attr == "href",
                _ => false,
            }
    }
}

fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "source"
            | "track"
            | "wbr"
            | "param"
            | "keygen"
            | "frame"
            | "basefont"
            | "bgsound"
    )
}

/// Start tags that close an open `<p>` (HTML's "close a p element").
fn closes_p(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "center"
            | "details"
            | "dialog"
            | "dir"
            | "div"
            | "dl"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "header"
            | "hgroup"
            | "main"
            | "menu"
            | "nav"
            | "ol"
            | "p"
            | "section"
            | "summary"
            | "ul"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "pre"
            | "listing"
            | "form"
            | "hr"
            | "li"
            | "dd"
            | "dt"
    )
}

/// The chrome words and then the breadcrumb words as one automaton, any
/// ASCII case: every element of a page asks, and Word's exported pages give
/// every element a class, so a class is read once for both.
static MARKS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(CHROME_WORDS.iter().chain(CRUMB_WORDS))
        .ok()
});

/// What the element's `id` and `class` mark it as.
#[derive(Clone, Copy, Default)]
struct Marks {
    chrome: bool,
    crumb: bool,
}

fn marks(tag: &Tag<'_>) -> Marks {
    let mut marks = Marks::default();
    let Some(words) = MARKS.as_ref() else {
        return marks;
    };
    for a in tag
        .attrs
        .iter()
        .filter(|a| matches!(&*a.name, "id" | "class"))
    {
        for m in words.find_overlapping_iter(&*a.value) {
            if m.pattern().as_usize() < CHROME_WORDS.len() {
                marks.chrome = true;
            } else {
                marks.crumb = true;
            }
            if marks.chrome && marks.crumb {
                return marks;
            }
        }
    }
    marks
}

/// A tag name without an allocation for the names pages are made of.
fn interned(name: &str) -> Cow<'static, str> {
    #[rustfmt::skip]
    const COMMON: &[&str] = &[
        "div", "span", "p", "a", "td", "tr", "table", "tbody", "th", "thead", "li", "ul", "ol",
        "font", "b", "strong", "i", "em", "u", "form", "select", "option", "label", "h1", "h2",
        "h3", "h4", "h5", "h6", "dl", "dt", "dd", "center", "section", "article", "nav", "header",
        "footer", "aside", "main", "button", "iframe", "small", "sup", "sub", "o:p", "script",
        "style", "title", "head", "body", "html", "colgroup", "caption", "tfoot", "noscript",
        "textarea", "pre", "blockquote", "svg", "object", "map", "s", "strike",
    ];
    match COMMON.iter().find(|c| **c == name) {
        Some(c) => Cow::Borrowed(c),
        None => Cow::Owned(name.to_string()),
    }
}

impl OutlineBuilder {
    fn start_tag(&mut self, tag: &Tag<'_>, foreign: bool) {
        let name: &str = &tag.name;
        self.imply_ends(name);
        match name {
            "meta" => self.out.metas.push(Meta {
                name: tag.attr("name").map(str::to_string),
                http_equiv: tag.attr("http-equiv").map(str::to_string),
                content: tag.attr("content").map(str::to_string),
            }),
            "base" if self.out.base.is_none() => {
                self.out.base = tag.attr("href").map(str::to_string);
            }
            _ => {}
        }
        if is_void(name) || (tag.self_closing && foreign) {
            return;
        }
        let marks = marks(tag);
        let chrome = self.stack.last().is_some_and(|p| p.chrome)
            || matches!(name, "nav" | "header" | "footer")
            || marks.chrome;
        let keep = self.keep_for(tag, chrome, marks.crumb);
        if !matches!(keep, Keep::Nothing) {
            self.keeping += 1;
        }
        if let Some(count) = closable(name).and_then(|i| self.closable_open.get_mut(i)) {
            *count += 1;
        }
        self.stack.push(Open {
            name: interned(&tag.name),
            chrome,
            keep,
            text_from: self.out.text.len(),
        });
    }

    fn keep_for(&mut self, tag: &Tag<'_>, chrome: bool, crumb: bool) -> Keep {
        match &*tag.name {
            "a" => match tag.attr("href") {
                Some(href) => {
                    self.out.anchors.push(Anchor {
                        href: href.to_string(),
                        title: tag.attr("title").map(str::to_string),
                        text: 0..0,
                        chrome,
                    });
                    Keep::Anchor(self.out.anchors.len() - 1)
                }
                None => Keep::Nothing,
            },
            "script" => {
                self.out.scripts.push(0..0);
                Keep::Script(self.out.scripts.len() - 1)
            }
            "title" if self.out.title.is_none() => Keep::Title,
            _ if crumb => {
                self.out.crumbs.push(0..0);
                Keep::Crumb(self.out.crumbs.len() - 1)
            }
            _ => Keep::Nothing,
        }
    }

    /// The ends a start tag implies: a new cell closes the open one, a new
    /// item the open item, an anchor the open anchor, a block the open `<p>`.
    fn imply_ends(&mut self, name: &str) {
        match name {
            "a" => self.close_open("a", &["td", "th", "table", "caption"]),
            "li" => self.close_open("li", &["ul", "ol", "menu"]),
            "dt" | "dd" => {
                self.close_open("dt", &["dl"]);
                self.close_open("dd", &["dl"]);
            }
            "td" | "th" => {
                self.close_open("td", &["tr", "table"]);
                self.close_open("th", &["tr", "table"]);
            }
            "tr" => self.close_open("tr", &["table", "tbody", "thead", "tfoot"]),
            "option" => self.close_open("option", &["select", "datalist"]),
            _ => {}
        }
        if closes_p(name) {
            self.close_open("p", &["td", "th", "table", "button", "caption"]);
        }
    }

    /// Close the nearest open `name` and everything opened inside it,
    /// unless one of `stops` is met first.
    fn close_open(&mut self, name: &str, stops: &[&str]) {
        let open = closable(name).and_then(|i| self.closable_open.get(i));
        if open == Some(&0) {
            return;
        }
        let found = self
            .stack
            .iter()
            .rev()
            .take(MAX_SEARCH)
            .position(|o| &*o.name == name || stops.contains(&&*o.name));
        if let Some(up) = found {
            let at = self.stack.len() - 1 - up;
            if self.stack.get(at).is_some_and(|o| &*o.name == name) {
                self.pop_to(at);
            }
        }
    }

    fn end_tag(&mut self, name: &str) {
        let found = self
            .stack
            .iter()
            .rev()
            .take(MAX_SEARCH)
            .position(|o| o.name == name);
        if let Some(up) = found {
            let at = self.stack.len() - 1 - up;
            self.pop_to(at);
        }
    }

    fn pop_to(&mut self, at: usize) {
        while self.stack.len() > at {
            self.pop();
        }
    }

    fn pop(&mut self) {
        let Some(open) = self.stack.pop() else {
            return;
        };
        if let Some(count) = closable(&open.name).and_then(|i| self.closable_open.get_mut(i)) {
            *count = count.saturating_sub(1);
        }
        let range = open.text_from..self.out.text.len();
        let slot = match open.keep {
            Keep::Nothing => return,
            Keep::Anchor(i) => self.out.anchors.get_mut(i).map(|a| &mut a.text),
            Keep::Script(i) => self.out.scripts.get_mut(i),
            Keep::Crumb(i) => self.out.crumbs.get_mut(i),
            Keep::Title => {
                self.out.title = Some(range.clone());
                None
            }
        };
        if let Some(slot) = slot {
            *slot = range;
        }
        self.keeping = self.keeping.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(o: &Outline) -> Vec<(String, String, bool)> {
        o.anchors()
            .map(|a| (a.href.to_string(), a.text.to_string(), a.chrome))
            .collect()
    }

    #[test]
    fn anchors_with_their_text_and_chrome() {
        let o = Outline::parse(
            r#"<html><head><title>2021年 年报</title><base href="/x/">
            <meta name="ColumnName" content="政府信息公开年报"></head><body>
            <div class="nav"><a href="/">首页</a></div>
            <ul><li><a href="a.html" title="长标题">短<b>文</b></a><li><a href=b.html>乙</ul>
            <a href="c.html">丙<a href="d.html">丁</a>
            <div class="crumb">当前位置：<a href="/nb/">年报</a></div>
            <script>var countPage = 3;</script><p>&lt;5 &amp; 年</p></body></html>"#,
        );
        assert_eq!(
            texts(&o),
            vec![
                ("/".into(), "首页".into(), true),
                ("a.html".into(), "短文".into(), false),
                ("b.html".into(), "乙".into(), false),
                ("c.html".into(), "丙".into(), false),
                ("d.html".into(), "丁".into(), false),
                ("/nb/".into(), "年报".into(), true),
            ]
        );
        assert_eq!(o.anchors().nth(1).and_then(|a| a.title), Some("长标题"));
        assert_eq!(o.title(), Some("2021年 年报"));
        assert_eq!(o.base_href(), Some("/x/"));
        assert_eq!(o.meta("columnname"), Some("政府信息公开年报"));
        assert_eq!(o.breadcrumb().as_deref(), Some("当前位置：年报"));
        assert_eq!(o.scripts().collect::<Vec<_>>(), vec!["var countPage = 3;"]);
    }

    #[test]
    fn raw_text_elements_hide_their_markup() {
        let o = Outline::parse(
            r#"<script>document.write('<a href="fake.html">x</a>');</scriptx></script>
            <textarea><a href="t.html">t</a></textarea><iframe><a href="i.html"></a></iframe>
            <a href="real.html">真</a>"#,
        );
        let hrefs: Vec<&str> = o.anchors().map(|a| a.href).collect();
        assert_eq!(hrefs, vec!["real.html"]);
        assert!(o.scripts().next().is_some_and(|s| s.contains("</scriptx>")));
    }

    #[test]
    fn entities_and_stray_end_tags() {
        let o = Outline::parse(
            "</td></div><a href=\"r.html?a=1&amp;b=2\">报告&nbsp;&mdash;&#x5E74;</a></a></p>",
        );
        let a = o.anchors().next();
        assert_eq!(a.map(|a| a.href), Some("r.html?a=1&b=2"));
        assert_eq!(a.map(|a| a.text), Some("报告\u{a0}—年"));
    }

    #[test]
    fn deep_nesting_is_linear() {
        // 100k open elements, each holding an anchor: every anchor is found
        // and none holds the text of the ones after it.
        let html = "<div><a href=\"x.html\">年报</a>".repeat(100_000);
        let o = Outline::parse(&html);
        assert_eq!(o.anchors().count(), 100_000);
        assert!(o.anchors().all(|a| a.text == "年报" && !a.chrome));
    }
}
