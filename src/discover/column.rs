//! Links named by structure inside a known 年报 column: year sub-columns
//! ("2019年", `gknb2019/`), sub-columns under the column's own path, and
//! article links named only by the reporting unit ("高岭镇"). Such a link is a
//! candidate; what the fetched page is decides whether it is a report.

use std::sync::LazyLock;

use super::outline::{AnchorTag, Outline};
use regex::Regex;
use url::Url;

use super::{
    anchor_of, base_url, directory, looks_like_article, looks_like_listing, names_report,
    under_report_slug, Link, Page,
};
use crate::frontier::Kind;

/// Link text that is only a year: "2019", "2019年", "2019年度".
static YEAR_TEXT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\s*(?:19|20)\d{2}\s*年?度?\s*$").ok());
/// A year folder: `gknb2019`, `2019nb`, `2024n78`, `2019`.
static YEAR_FOLDER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(?:[a-z]*)(?:19|20)\d{2}(?:n\d*|nb|nd|nian)?$").ok());

/// True when the page is a 年报 column: by its path, its `ColumnName`
/// meta, its title or breadcrumb, or the link that led here.
pub(super) fn is_report_column(page: &Page<'_>, doc: &Outline) -> bool {
    under_report_slug(page.url)
        || page.anchor.is_some_and(names_report)
        || meta(doc, "columnname").is_some_and(|c| names_report(&c))
        || title(doc).is_some_and(|t| names_report(&t))
        || breadcrumb(doc).is_some_and(|b| names_report(&b))
}

/// A page reached as a report candidate that is a listing after all: a
/// column page (a `ColumnName` meta without an `ArticleTitle`), or several
/// article links in its main list under a title that names no report.
pub(super) fn reads_as_listing(url: &Url, doc: &Outline) -> bool {
    if meta(doc, "articletitle").is_some() {
        return false;
    }
    if meta(doc, "columnname").is_some() {
        return true;
    }
    let base = base_url(doc, url);
    let articles = main_list(doc)
        .filter_map(|a| anchor_of(a, &base))
        .filter(|a| looks_like_article(&a.url) && a.url.host_str() == url.host_str())
        .count();
    articles >= 3 && !title(doc).is_some_and(|t| t.contains("报告"))
}

/// The structure-named links of a 年报 column page.
pub(super) fn structure(page: &Page<'_>, doc: &Outline) -> Vec<Link> {
    let base = base_url(doc, page.url);
    let here = directory(page.url).to_string();
    let mut out = Vec::new();
    for element in main_list(doc) {
        let Some(a) = anchor_of(element, &base) else {
            continue;
        };
        if a.url.host_str() != page.url.host_str() || names_report(&a.text) {
            continue; // named links are read by the general rules
        }
        let anchor = (!a.text.is_empty()).then(|| a.text.clone());
        let kind = if is_year(&a.text) || has_year_folder(&a.url, &here) {
            Some(Kind::Listing)
        } else if looks_like_article(&a.url) && names_unit(&a.text) {
            Some(Kind::Report)
        } else if looks_like_listing(&a.url)
            && a.url.path().starts_with(&here)
            && directory(&a.url) != here
        {
            Some(Kind::Listing)
        } else {
            None
        };
        if let Some(kind) = kind {
            out.push(Link::new(a.url, kind, anchor, false));
        }
    }
    out
}

/// Endings of the names of reporting units (镇, 街道, 区教育委员会, 县财政局 …).
const UNIT_ENDINGS: &[&str] = &[
    "镇",
    "乡",
    "街道",
    "办事处",
    "局",
    "委员会",
    "委",
    "办",
    "办公室",
    "政府",
    "中心",
    "院",
    "厅",
    "署",
    "会",
    "部",
    "处",
    "所",
    "站",
    "队",
    "馆",
    "管委会",
    "公司",
    "集团",
    "学校",
    "园区",
];
/// Longest unit name read as one.
const MAX_UNIT_CHARS: usize = 24;

/// Link text that is the name of a reporting unit alone (or is too short
/// to say anything): "高岭镇", "区发展和改革委员会". A news headline is not.
fn names_unit(text: &str) -> bool {
    let chars = text
        .trim()
        .chars()
        .filter(|c| !c.is_ascii_punctuation())
        .count();
    chars < 4 || is_unit_name(text)
}

/// Text that ends as the name of a unit does and is short enough to be one.
pub(super) fn is_unit_name(text: &str) -> bool {
    let text = text.trim();
    let chars = text.chars().filter(|c| !c.is_ascii_punctuation()).count();
    chars <= MAX_UNIT_CHARS && UNIT_ENDINGS.iter().any(|e| text.ends_with(e))
}

fn is_year(text: &str) -> bool {
    YEAR_TEXT.as_ref().is_some_and(|re| re.is_match(text))
}

/// A year folder below the page's own directory.
fn has_year_folder(url: &Url, here: &str) -> bool {
    let Some(rest) = url.path().strip_prefix(here) else {
        return false;
    };
    rest.split('/')
        .next()
        .filter(|_| rest.contains('/'))
        .is_some_and(|seg| {
            YEAR_FOLDER
                .as_ref()
                .is_some_and(|re| re.is_match(&seg.to_ascii_lowercase()))
        })
}

/// The anchors outside navigation, header, footer and sidebars.
fn main_list(doc: &Outline) -> impl Iterator<Item = AnchorTag<'_>> {
    doc.anchors().filter(|a| !a.chrome)
}

pub(super) fn meta(doc: &Outline, name: &str) -> Option<String> {
    doc.meta(name).map(str::to_string)
}

pub(super) fn title(doc: &Outline) -> Option<String> {
    doc.title().map(str::to_string)
}

/// The 当前位置 trail, by its usual ids and classes.
fn breadcrumb(doc: &Outline) -> Option<String> {
    doc.breadcrumb()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names() {
        assert!(names_unit("高岭镇"));
        assert!(names_unit("区发展和改革委员会"));
        assert!(names_unit("县教育局"));
        assert!(!names_unit("甲区召开年度工作会议"));
        assert!(!names_unit("县长调研春耕"));
    }

    #[test]
    fn year_shapes() {
        assert!(is_year("2019年"));
        assert!(is_year("2019年度"));
        assert!(!is_year("2019年政府信息公开年报"));
        let u = |s: &str| Url::parse(s).unwrap_or_else(|_| unreachable!());
        assert!(has_year_folder(&u("http://a.cn/nb/gknb2019/"), "/nb/"));
        assert!(has_year_folder(
            &u("http://a.cn/nb/2024n78/index.html"),
            "/nb/"
        ));
        assert!(has_year_folder(&u("http://a.cn/nb/2019nb/"), "/nb/"));
        assert!(!has_year_folder(&u("http://a.cn/other/2019/"), "/nb/"));
    }
}
