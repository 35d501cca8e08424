//! One tokenising pass over an HTML page, feeding every reader of it:
//! extraction's tables and text (`extract`) and link discovery's outline
//! (`discover::outline`) read the same token stream, so a page is tokenised
//! once however many readers it has.
//!
//! The tokenizer (`tokens`) follows WHATWG's tokenization (all 2,231 named
//! references, `<5` as text, `</scriptx` inside a script). What a tokenizer
//! cannot know alone — which elements hold raw text, where foreign content
//! (`<svg>`, `<math>`) begins and ends — a tree builder tells it; this pass
//! tells it the same, keeping no tree.

mod tokens;

pub(crate) use tokens::Tag;
use tokens::{Content, Sink};

use crate::discover::outline::{Outline, OutlineBuilder};
use crate::extract::{HtmlPage, PageBuilder};

/// A consumer of the token stream.
pub(crate) trait Reader {
    /// A start tag; `foreign` when it lies in `<svg>` or `<math>` content
    /// (where `<x/>` closes itself and no element holds raw text).
    fn start(&mut self, tag: &Tag<'_>, foreign: bool);
    fn end(&mut self, name: &str);
    /// Text, character references decoded.
    fn text(&mut self, text: &str);
    /// Whether this reader reads attribute `attr` of a `tag` start tag;
    /// the others are dropped unread.
    fn keeps(&self, tag: &str, attr: &str) -> bool;
}

impl<A: Reader, B: Reader> Reader for (A, B) {
    fn start(&mut self, tag: &Tag<'_>, foreign: bool) {
        self.0.start(tag, foreign);
        self.1.start(tag, foreign);
    }
    fn end(&mut self, name: &str) {
        self.0.end(name);
        self.1.end(name);
    }
    fn text(&mut self, text: &str) {
        self.0.text(text);
        self.1.text(text);
    }
    fn keeps(&self, tag: &str, attr: &str) -> bool {
        self.0.keeps(tag, attr) || self.1.keeps(tag, attr)
    }
}

/// Both readings of a page from one pass: what extraction reads and what
/// discovery reads.
pub fn read(html: &str) -> (HtmlPage, Outline) {
    let (page, outline) = run(html, (PageBuilder::default(), OutlineBuilder::default()));
    (page.finish(), outline.finish())
}

/// Run one pass of the tokenizer over `html` into `reader`.
pub(crate) fn run<R: Reader>(html: &str, reader: R) -> R {
    let mut pass = Pass {
        reader,
        foreign: Vec::new(),
    };
    tokens::tokenize(html, &mut pass);
    pass.reader
}

/// Open elements of foreign content kept beyond this are forgotten (a
/// stray end tag then costs at most this much search).
const MAX_FOREIGN: usize = 512;

struct Pass<R> {
    reader: R,
    /// The open elements of foreign content, `<svg>` or `<math>` first.
    foreign: Vec<String>,
}

impl<R: Reader> Sink for Pass<R> {
    fn start(&mut self, tag: &Tag<'_>) -> Content {
        let name: &str = &tag.name;
        if !self.foreign.is_empty() && breaks_out_of_foreign(tag) {
            self.foreign.clear();
        }
        let foreign = !self.foreign.is_empty() || matches!(name, "svg" | "math");
        self.reader.start(tag, foreign);
        if foreign {
            if !tag.self_closing && self.foreign.len() < MAX_FOREIGN {
                self.foreign.push(name.to_string());
            }
            return Content::Data;
        }
        content(name)
    }

    fn end(&mut self, name: &str) {
        if matches!(name, "p" | "br") {
            self.foreign.clear();
        } else if let Some(at) = self.foreign.iter().rposition(|n| n == name) {
            self.foreign.truncate(at);
        }
        self.reader.end(name);
    }

    fn text(&mut self, text: &str) {
        self.reader.text(text);
    }

    /// `<![CDATA[…]]>` is text inside `<svg>` and `<math>`, a bogus comment
    /// elsewhere.
    fn in_foreign(&self) -> bool {
        !self.foreign.is_empty()
    }

    /// What the readers read, and the `<font>` attributes that end
    /// foreign content.
    fn keeps(&self, tag: &str, attr: &str) -> bool {
        (tag == "font" && matches!(attr, "color" | "face" | "size")) || self.reader.keeps(tag, attr)
    }
}

/// How an HTML element's content is read.
fn content(name: &str) -> Content {
    match name {
        "script" => Content::ScriptData,
        "title" | "textarea" => Content::Rcdata,
        // `noscript` as a browser running scripts reads it.
        "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => Content::Rawtext,
        "plaintext" => Content::Plaintext,
        _ => Content::Data,
    }
}

/// HTML start tags that end foreign content (the tree builder's "any other
/// start tag" rule in foreign content).
fn breaks_out_of_foreign(tag: &Tag<'_>) -> bool {
    match &*tag.name {
        "font" => tag
            .attrs
            .iter()
            .any(|a| matches!(&*a.name, "color" | "face" | "size")),
        name => matches!(
            name,
            "b" | "big"
                | "blockquote"
                | "body"
                | "br"
                | "center"
                | "code"
                | "dd"
                | "div"
                | "dl"
                | "dt"
                | "em"
                | "embed"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "head"
                | "hr"
                | "i"
                | "img"
                | "li"
                | "listing"
                | "menu"
                | "meta"
                | "nobr"
                | "ol"
                | "p"
                | "pre"
                | "ruby"
                | "s"
                | "small"
                | "span"
                | "strong"
                | "strike"
                | "sub"
                | "sup"
                | "table"
                | "tt"
                | "u"
                | "ul"
                | "var"
        ),
    }
}
