//! The one tokenising pass (`nianbao::markup::read`) against html5ever's
//! full tree (through scraper), on the real pages of `tests/fixtures/samples`,
//! every input of `tests/fixtures/fuzz` (read as HTML whatever its name) and
//! markup a hand-written tag reader gets wrong.
//!
//! What is compared, and the only normalisation applied:
//! - tables: every `<table>` holding no other table, outside `<template>`
//!   and at most 64 tables deep, in document order; its `<tr>`s in order
//!   (rows without cells dropped), each row's `<td>`/`<th>` children with
//!   their text (descendant text nodes outside hidden elements, whitespace
//!   runs collapsed to one space and trimmed) and spans (a missing,
//!   unreadable or zero span is 1; spans clamped to 1000);
//! - visible text: the text nodes outside hidden elements, a line break at
//!   the start and end of every block element; both sides are compared as
//!   lines with whitespace collapsed and trimmed, empty lines dropped.
//!   Hidden elements are the HTML elements `head`, `title`, `script`,
//!   `style`, `noscript`, `textarea`, `iframe`, `noembed`, `noframes` and
//!   `template`.
//! - the outline of the same pass: the same anchors as the tree's.
//!
//! One known difference is not exercised here: text written directly inside
//! a `<table>` outside any cell, which the tree builder moves before the
//! table ("foster parenting"), stays where it was written in the pass's
//! visible text (it is in no cell either way); the pages compared agree.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

use std::path::Path;

use ego_tree::iter::Edge;
use scraper::{Html, Node, Selector};

const HTML_NS: &str = "http://www.w3.org/1999/xhtml";
const MAX_DEPTH: usize = 64;

type Table = Vec<Vec<(String, usize, usize)>>;

#[derive(Debug, PartialEq)]
struct Read {
    tables: Vec<Table>,
    lines: Vec<String>,
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn lines(text: &str) -> Vec<String> {
    text.split('\n')
        .map(squash)
        .filter(|l| !l.is_empty())
        .collect()
}

fn span(value: Option<&str>) -> usize {
    value
        .and_then(|a| a.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .map_or(1, |n| n.min(1000))
}

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

fn hides(name: &str) -> bool {
    matches!(
        name,
        "head"
            | "title"
            | "script"
            | "style"
            | "noscript"
            | "textarea"
            | "iframe"
            | "noembed"
            | "noframes"
            | "template"
    )
}

#[derive(Default)]
struct Building {
    rows: Table,
    cell: Option<(String, usize, usize)>,
    has_child: bool,
}

/// Tables and text as html5ever's tree holds them.
fn by_tree(html: &str) -> Read {
    let doc = Html::parse_document(html);
    let mut text = String::new();
    let mut tables: Vec<Table> = Vec::new();
    let mut open: Vec<Building> = Vec::new();
    let mut hidden = 0usize;
    // Tables met while hidden or too deep are not built; their depth is
    // still counted.
    let mut depth = 0usize;
    for edge in doc.tree.root().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Text(t) if hidden == 0 => {
                    text.push_str(t);
                    if depth <= MAX_DEPTH {
                        if let Some((cell, _, _)) = open.last_mut().and_then(|b| b.cell.as_mut()) {
                            cell.push_str(t);
                        }
                    }
                }
                Node::Element(el) if &*el.name.ns == HTML_NS => {
                    let name = el.name();
                    if hides(name) {
                        hidden += 1;
                    }
                    if hidden > 0 {
                        continue;
                    }
                    if is_block(name) {
                        text.push('\n');
                    }
                    match name {
                        "table" => {
                            depth += 1;
                            if let Some(parent) = open.last_mut() {
                                parent.has_child = true;
                            }
                            if depth <= MAX_DEPTH {
                                open.push(Building::default());
                            }
                        }
                        "tr" if depth <= MAX_DEPTH => {
                            if let Some(b) = open.last_mut() {
                                b.rows.push(Vec::new());
                            }
                        }
                        "td" | "th" if depth <= MAX_DEPTH => {
                            if let Some(b) = open.last_mut() {
                                b.cell = Some((
                                    String::new(),
                                    span(el.attr("rowspan")),
                                    span(el.attr("colspan")),
                                ));
                            }
                        }
                        _ => {}
                    }
                }
                _ => {}
            },
            Edge::Close(node) => {
                let Node::Element(el) = node.value() else {
                    continue;
                };
                if &*el.name.ns != HTML_NS {
                    continue;
                }
                let name = el.name();
                if hides(name) {
                    hidden -= 1;
                    continue;
                }
                if hidden > 0 {
                    continue;
                }
                if is_block(name) {
                    text.push('\n');
                }
                match name {
                    "table" => {
                        if depth <= MAX_DEPTH {
                            let b = open.pop().unwrap();
                            let rows: Table =
                                b.rows.into_iter().filter(|r| !r.is_empty()).collect();
                            if !b.has_child && !rows.is_empty() {
                                tables.push(rows);
                            }
                        }
                        depth -= 1;
                    }
                    "td" | "th" if depth <= MAX_DEPTH => {
                        if let Some(b) = open.last_mut() {
                            if let Some((t, r, c)) = b.cell.take() {
                                if let Some(row) = b.rows.last_mut() {
                                    row.push((squash(&t), r, c));
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Read {
        tables,
        lines: lines(&text),
    }
}

/// Tables and text as the one pass reads them.
fn by_pass(html: &str) -> Read {
    let (page, _) = nianbao::markup::read(html);
    Read {
        tables: page
            .tables
            .iter()
            .map(|t| {
                t.iter()
                    .map(|r| {
                        r.iter()
                            .map(|c| (c.text.clone(), c.rowspan, c.colspan))
                            .collect()
                    })
                    .collect()
            })
            .collect(),
        lines: lines(&page.text),
    }
}

fn anchors_by_tree(html: &str) -> Vec<(String, String)> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse("a[href]").unwrap();
    doc.select(&sel)
        .map(|a| {
            (
                a.value().attr("href").unwrap_or("").to_string(),
                squash(&a.text().collect::<String>()),
            )
        })
        .collect()
}

fn anchors_by_pass(html: &str) -> Vec<(String, String)> {
    let (_, outline) = nianbao::markup::read(html);
    outline
        .anchors()
        .map(|a| (a.href.to_string(), squash(a.text)))
        .collect()
}

fn pages() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in [
        "tests/fixtures/samples",
        "tests/fixtures/fuzz",
        "fuzz/corpus/extract",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let text = nianbao::decode::decode(&bytes, Some("text/html")).text;
            out.push((path.display().to_string(), text));
        }
    }
    out
}

fn assert_same(name: &str, html: &str) -> usize {
    let tree = by_tree(html);
    let pass = by_pass(html);
    assert_eq!(pass.tables, tree.tables, "{name}: tables");
    assert_eq!(pass.lines, tree.lines, "{name}: visible text");
    assert_eq!(
        anchors_by_pass(html),
        anchors_by_tree(html),
        "{name}: anchors"
    );
    tree.tables
        .iter()
        .map(|t| t.iter().map(Vec::len).sum::<usize>())
        .sum()
}

#[test]
fn the_pass_reads_what_the_tree_holds() {
    let pages = pages();
    assert!(pages.len() >= 12, "{} pages", pages.len());
    let cells: usize = pages
        .iter()
        .map(|(name, html)| assert_same(name, html))
        .sum();
    // The two report samples alone hold hundreds of cells: the comparison
    // is not empty.
    assert!(cells > 300, "{cells} cells compared");
}

#[test]
fn markup_a_hand_written_reader_gets_wrong() {
    for html in [
        "<table><tr><td>数量<5</td><td>1</td></tr></table>",
        "<table><tr><td>1</td></tr><table><tr><td>2</td></tr></table></table>",
        "<table><tr><td>1</td><table><tr><td>2</td></tr></table>",
        "<table><tr><td>a<table><tr><td>b</td></tr></table>c</td></tr></table>",
        "<table><tr><td>&frac12;&rarr;&notin;&hellip;&amp;lt;&nbsp</td></tr></table>",
        "<script>x='</scriptx><table><td>9</td></table>'</script><table><td>1</table>",
        "<iframe><table><td>9</td></table></iframe><p>a</p>",
        "<template><table><td>9</td></table></template><p>b</p>",
        "<noembed><td>9</noembed><noframes><td>8</noframes><xmp><td>7</xmp>",
        "<textarea><table><td>9</textarea><style><td>8</style>",
        "<title>t<td></title><p>c</p>",
        "<table><caption>表</caption><tr><th>a</td>b<td>c</tr><td>d</td><tbody><td>e</table>",
        "<table><tr><td rowspan=2 colspan='x'>a<td colspan=0>b<tr><td rowspan=99999>c</table>",
        "<html><head><title>t</title>正文<table><td>1</table>",
        "<p>一<p>二<div>三</p>四</div><li>五<li>六<br>七",
        "<svg><style><a/></style><p>破</p></svg><table><td>3</table>",
        "<table><tr><td>1</td></tr></table><plaintext><table><td>2",
        "<table><colgroup><col></colgroup><thead><tr><th>h</thead><tr><td>1</td></table>",
    ] {
        assert_same(html, html);
    }
}
