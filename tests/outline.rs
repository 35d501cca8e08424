//! The link outline (one pass of html5ever's tokenizer, no tree) against
//! html5ever's full tree (through scraper) on the real pages of
//! `tests/fixtures/samples` and the hostile inputs of `tests/fixtures/fuzz`:
//! the same anchors in the same order with the same text, the same scripts,
//! the same title.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

use std::path::Path;

use nianbao::discover::outline::Outline;
use scraper::{Html, Selector};

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Read {
    anchors: Vec<(String, String)>,
    scripts: Vec<String>,
    title: Option<String>,
}

fn by_tree(html: &str) -> Read {
    let doc = Html::parse_document(html);
    let sel = |s: &str| Selector::parse(s).unwrap();
    Read {
        anchors: doc
            .select(&sel("a[href]"))
            .map(|a| {
                (
                    a.value().attr("href").unwrap_or("").to_string(),
                    squash(&a.text().collect::<String>()),
                )
            })
            .collect(),
        scripts: doc
            .select(&sel("script"))
            .map(|s| s.text().collect())
            .collect(),
        title: doc.select(&sel("title")).next().map(|t| t.text().collect()),
    }
}

fn by_outline(html: &str) -> Read {
    let o = Outline::parse(html);
    Read {
        anchors: o
            .anchors()
            .map(|a| (a.href.to_string(), squash(a.text)))
            .collect(),
        scripts: o.scripts().map(str::to_string).collect(),
        title: o.title().map(str::to_string),
    }
}

fn pages() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for dir in ["samples", "fuzz"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "html") {
                let bytes = std::fs::read(&path).unwrap();
                let text = nianbao::decode::decode(&bytes, None).text;
                out.push((path.display().to_string(), text));
            }
        }
    }
    out
}

#[test]
fn the_outline_reads_what_the_tree_holds() {
    let pages = pages();
    assert!(pages.len() >= 6, "{} pages", pages.len());
    let mut anchors = 0;
    for (name, html) in &pages {
        let tree = by_tree(html);
        let outline = by_outline(html);
        assert_eq!(outline.anchors, tree.anchors, "{name}: anchors");
        assert_eq!(outline.scripts, tree.scripts, "{name}: scripts");
        assert_eq!(outline.title, tree.title, "{name}: title");
        anchors += tree.anchors.len();
    }
    // The listing sample alone holds dozens of links: the comparison is not empty.
    assert!(anchors > 50, "{anchors} anchors compared");
}

#[test]
fn markup_that_departs_from_a_hand_written_reader() {
    for html in [
        // `<5` is text, not a tag.
        "<p>数量<5 <a href=\"a.html\">年报</a></p>",
        // A raw-text iframe and template content.
        "<iframe><a href=\"no.html\">x</a></iframe><a href=\"yes.html\">y</a>",
        // `</scriptx` does not end a script.
        "<script>var s = '</scriptx>'; </script><a href=\"after.html\">z</a>",
        // Named references beyond the common few.
        "<a href=\"r.html?x=1&not;&copy;\">&hellip;&ldquo;报告&rdquo;&yen;</a>",
        // Cells and rows closed by the next one.
        "<table><tr><td><a href=\"1.html\">一<td><a href=\"2.html\">二<tr><td><a href=\"3.html\">三</table>",
        // An anchor opened inside an open anchor closes it.
        "<a href=\"p.html\">甲<a href=\"q.html\">乙</a>",
        // List items.
        "<ul><li><a href=\"l1.html\">一</a><li><a href=\"l2.html\">二</ul>",
        // Comments, CDATA-looking text and a doctype.
        "<!DOCTYPE html><!-- <a href=\"c.html\">c</a> --><a href=\"d.html\"><![CDATA[x]]>丁</a>",
    ] {
        let tree = by_tree(html);
        let outline = by_outline(html);
        assert_eq!(outline.anchors, tree.anchors, "{html}");
        assert_eq!(outline.scripts, tree.scripts, "{html}");
    }
}
