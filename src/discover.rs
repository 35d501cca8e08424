//! Link discovery: from a listing page, the report links, sub-listings and
//! pagination; from a report page, its attachments and continuation pages.
//!
//! Pure: HTML text and its URL in, classified links out. Scope, depth and
//! page caps are the crawl's business, not this module's.
//!
//! Platforms that keep their items elsewhere than in `<a href>` each have a
//! module: Hanweb's datastore and `dataproxy.jsp` API, Guangdong's `gkmlpt`
//! app shell and its JSON API, TRS's IGS search API, lists in script literals, redirect shells and
//! the structure of a known 年报 column. [`discover`] runs them all.

mod column;
mod gkmlpt;
mod hanweb;
pub mod outline;
pub mod portal;
mod script;
mod shell;
mod trs;

use std::collections::HashSet;

use outline::{AnchorTag, Outline};
use url::Url;

use crate::frontier::Kind;

/// What the crawl knows of a fetched page besides its text.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    pub url: &'a Url,
    pub text: &'a str,
    /// What the link that led here said the page is.
    pub kind: Kind,
    /// 0 for a configured start page.
    pub depth: u32,
    /// The text of the link that led here.
    pub anchor: Option<&'a str>,
    /// The form body the page was asked for with (a listing API).
    pub form: Option<&'a str>,
    /// The configured start URLs of the page's source, fragments kept:
    /// a `gkmlpt` column id often lives only there.
    pub starts: &'a [Url],
}

impl<'a> Page<'a> {
    /// A configured start page, reached with no link and no form.
    pub fn start(url: &'a Url, text: &'a str) -> Self {
        Page {
            url,
            text,
            kind: Kind::Listing,
            depth: 0,
            anchor: None,
            form: None,
            starts: &[],
        }
    }
}

/// The links of a page, and how its listing was read.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub links: Vec<Link>,
    /// The listing platform recognised, for the run summary.
    pub platform: Option<&'static str>,
    /// Report candidates the page gave.
    pub candidates: usize,
}

/// Every link a page leads to, whatever platform keeps its list.
pub fn discover(page: &Page<'_>) -> Found {
    discover_with(page, None)
}

/// [`discover`] given the page's outline when it is already read (by
/// [`crate::markup::read`], in the pass that also fed extraction).
pub fn discover_with(page: &Page<'_>, outline: Option<&Outline>) -> Found {
    if let Some(found) = gkmlpt::api_answer(page)
        .or_else(|| hanweb::api_answer(page))
        .or_else(|| trs::api_answer(page))
    {
        return finish(page, found.0, Some(found.1));
    }
    let parsed;
    let doc = match outline {
        Some(outline) => outline,
        None => {
            parsed = Outline::parse(page.text);
            &parsed
        }
    };
    let kind = if page.kind == Kind::Report && column::reads_as_listing(page.url, doc) {
        Kind::Listing
    } else {
        page.kind
    };
    let mut out = links_in(page.url, doc, kind);
    let mut platform = if out.iter().any(|l| l.pagination && l.anchor.is_none()) {
        Some("trs")
    } else {
        None
    };
    if kind == Kind::Listing {
        let in_column = column::is_report_column(page, doc);
        let classes: [(&'static str, Vec<Link>); 6] = [
            ("gkmlpt", gkmlpt::shell(page, doc)),
            ("hanweb", hanweb::column(page, in_column)),
            ("trs-api", trs::column(page, in_column)),
            ("script-list", script::lists(page, doc, in_column)),
            ("redirect-shell", shell::targets(page, doc)),
            (
                "report-column",
                if in_column {
                    column::structure(page, doc)
                } else {
                    Vec::new()
                },
            ),
        ];
        for (name, found) in classes {
            if !found.is_empty() {
                platform = platform.or(Some(name));
                out.extend(found);
            }
        }
    }
    finish(page, out, platform)
}

/// The longest URL followed. Browsers take longer, but no report page has
/// one, and a page of links of a megabyte each would fill the frontier.
pub const MAX_URL_BYTES: usize = 8192;

/// Drop repeated URLs (the first finding wins) and those too long to
/// follow, and count the candidates.
fn finish(page: &Page<'_>, links: Vec<Link>, platform: Option<&'static str>) -> Found {
    let mut seen = HashSet::new();
    seen.insert(strip_fragment(page.url));
    let mut too_long = 0;
    let links: Vec<Link> = links
        .into_iter()
        .filter(|l| {
            let fits = l.url.as_str().len() <= MAX_URL_BYTES;
            too_long += usize::from(!fits);
            fits && seen.insert(l.url.clone())
        })
        .collect();
    if too_long > 0 {
        tracing::warn!(
            page = %page.url,
            dropped = too_long,
            "links longer than {MAX_URL_BYTES} bytes not followed"
        );
    }
    let candidates = links.iter().filter(|l| l.kind == Kind::Report).count();
    Found {
        platform: platform.or(Some("html").filter(|_| page.kind == Kind::Listing)),
        candidates,
        links,
    }
}

/// The GET a form-posting API also answers: the form's fields in the query.
pub fn as_get(url: &Url, form: &str) -> Url {
    let mut url = url.clone();
    let query = match url.query() {
        Some(q) if !q.is_empty() => format!("{q}&{form}"),
        _ => form.to_string(),
    };
    url.set_query(Some(&query));
    url
}

/// True when an answer of `status` to a listing page means only that the
/// list has no more pages (a `gkmlpt` API's later page answering 404).
pub fn ends_list(url: &Url, status: u16) -> bool {
    status == 404 && gkmlpt::is_later_api_page(url)
}

/// Anchor text naming an annual report (or a column of them).
const REPORT_WORDS: &[&str] = &["年度报告", "年报", "年度工作报告"];
/// Words that, together, also name one (信息公开 … 报告).
const DISCLOSURE_WORDS: (&str, &str) = ("信息公开", "报告");
/// Path segments of report columns (政府信息公开年报 → zfxxgknb, …).
const REPORT_SLUGS: &[&str] = &["zfxxgknb", "xxgknb", "gknb", "ndbg", "nianbao", "gzndbg"];
/// Extensions of attachments worth archiving.
const ATTACHMENT_EXTS: &[&str] = &["pdf", "doc", "docx", "xls", "xlsx", "wps", "et", "ofd"];
/// Anchor text of pagination links.
const PAGER_WORDS: &[&str] = &[
    "下一页",
    "下页",
    "后页",
    "尾页",
    "末页",
    "最后一页",
    "上一页",
    "首页",
];
/// No listing is believed to have more pages than this (all pager scripts
/// of one page together).
pub const MAX_SCRIPT_PAGES: u32 = 1000;

/// A link found on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub url: Url,
    pub kind: Kind,
    /// The anchor text, or the `title` attribute when it says more.
    pub anchor: Option<String>,
    /// A further page of the same listing (or report): same depth.
    pub pagination: bool,
    /// Ask with a POST of this form body (a listing API), not a GET.
    pub form: Option<String>,
}

impl Link {
    /// A link found by a platform reader.
    fn new(url: Url, kind: Kind, anchor: Option<String>, pagination: bool) -> Self {
        Link {
            url: strip_fragment(&url),
            kind,
            anchor,
            pagination,
            form: None,
        }
    }
}

/// The links on `html`, served at `page`, that the crawl may follow.
pub fn links(page: &Url, html: &str, page_kind: Kind) -> Vec<Link> {
    links_in(page, &Outline::parse(html), page_kind)
}

fn links_in(page: &Url, doc: &Outline, page_kind: Kind) -> Vec<Link> {
    let base = base_url(doc, page);
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    seen.insert(strip_fragment(page));
    for anchor in anchors(doc, &base) {
        if let Some(link) = classify(page, page_kind, anchor) {
            if seen.insert(link.url.clone()) {
                out.push(link);
            }
        }
    }
    for url in script_pages(doc, page) {
        if seen.insert(url.clone()) {
            out.push(Link::new(url, page_kind, None, true));
        }
    }
    out
}

/// An `<a href>` resolved against the base, with its text.
struct Anchor {
    url: Url,
    text: String,
}

/// The page's `<base href>` resolved, else the page's own URL; a base
/// longer than a URL followed is passed over (every link would be joined to
/// it).
fn base_url(doc: &Outline, page: &Url) -> Url {
    doc.base_href()
        .filter(|href| href.len() <= MAX_URL_BYTES)
        .and_then(|href| page.join(href.trim()).ok())
        .unwrap_or_else(|| page.clone())
}

fn anchors(doc: &Outline, base: &Url) -> Vec<Anchor> {
    doc.anchors().filter_map(|a| anchor_of(a, base)).collect()
}

/// An `<a href>` element as a followable link with its best text.
fn anchor_of(a: AnchorTag<'_>, base: &Url) -> Option<Anchor> {
    {
        {
            let href = a.href.trim();
            let lower = href.to_ascii_lowercase();
            if href.is_empty()
                || href.starts_with('#')
                || ["javascript:", "mailto:", "tel:", "data:"]
                    .iter()
                    .any(|s| lower.starts_with(s))
            {
                return None;
            }
            let url = base.join(href).ok()?;
            if !matches!(url.scheme(), "http" | "https") {
                return None;
            }
            let text = squash(a.text);
            let title = squash(a.title.unwrap_or(""));
            let text = if title.chars().count() > text.chars().count() {
                title
            } else {
                text
            };
            Some(Anchor {
                url: strip_fragment(&url),
                text,
            })
        }
    }
}

fn classify(page: &Url, page_kind: Kind, a: Anchor) -> Option<Link> {
    let anchor = (!a.text.is_empty()).then(|| a.text.clone());
    let link = |kind, pagination| Some(Link::new(a.url.clone(), kind, anchor.clone(), pagination));
    let named = names_report(&a.text);
    if attachment_ext(&a.url).is_some() {
        return if page_kind == Kind::Report || named {
            link(Kind::Attachment, false)
        } else {
            None
        };
    }
    if is_pager(page, &a) {
        return link(page_kind, true);
    }
    if page_kind != Kind::Listing {
        return None;
    }
    if named {
        return link(
            if looks_like_listing(&a.url) {
                Kind::Listing
            } else {
                Kind::Report
            },
            false,
        );
    }
    let untitled = a.text.chars().filter(|c| !c.is_ascii_punctuation()).count() < 4;
    if untitled && looks_like_article(&a.url) && under_report_slug(&a.url) {
        return link(Kind::Report, false);
    }
    None
}

/// True when anchor text names an annual report or a column of them.
pub fn names_report(text: &str) -> bool {
    REPORT_WORDS.iter().any(|w| text.contains(w))
        || (text.contains(DISCLOSURE_WORDS.0) && text.contains(DISCLOSURE_WORDS.1))
}

fn attachment_ext(url: &Url) -> Option<&'static str> {
    let name = url.path_segments()?.next_back()?.to_ascii_lowercase();
    let (_, ext) = name.rsplit_once('.')?;
    ATTACHMENT_EXTS.iter().copied().find(|e| *e == ext)
}

fn file_name(url: &Url) -> String {
    url.path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn directory(url: &Url) -> &str {
    let path = url.path();
    path.rfind('/').and_then(|i| path.get(..=i)).unwrap_or(path)
}

/// A column index rather than an article: `…/`, `…/index.html`,
/// `…/index_3.html`, Hanweb `/col/col123/index.html`.
fn looks_like_listing(url: &Url) -> bool {
    let name = file_name(url);
    name.is_empty()
        || name.starts_with("index")
        || name.starts_with("list")
        || url.path().contains("/col/col")
}

/// An article page of a common CMS: TRS `t20200903_2748784.html`, Hanweb
/// `art_123_456.html`, Guangdong `post_123.html`, or any page with digits.
fn looks_like_article(url: &Url) -> bool {
    let name = file_name(url);
    let stem = name.split('.').next().unwrap_or("");
    !looks_like_listing(url) && stem.chars().filter(char::is_ascii_digit).count() >= 4
}

fn under_report_slug(url: &Url) -> bool {
    url.path_segments()
        .map(|mut segs| segs.any(|s| REPORT_SLUGS.contains(&s.to_ascii_lowercase().as_str())))
        .unwrap_or(false)
}

/// A pagination link: pager words, or a page number linking to a sibling
/// page (`index_2.html`, `2.html`, `?page=2`) of the same listing.
fn is_pager(page: &Url, a: &Anchor) -> bool {
    if a.url.host_str() != page.host_str() {
        return false;
    }
    let words = PAGER_WORDS.iter().any(|w| a.text.contains(w));
    let number = !a.text.is_empty() && a.text.chars().all(|c| c.is_ascii_digit());
    if !(words || number) {
        return false;
    }
    let same_dir = directory(&a.url) == directory(page);
    let (base, _) = page_stem(page);
    same_dir && (words || is_page_name(&file_name(&a.url), &base) || has_page_param(&a.url))
}

/// `2.html`, or `index.html` / `index_2.html` for a page numbered after `base`.
fn is_page_name(name: &str, base: &str) -> bool {
    let stem = name.split('.').next().unwrap_or("");
    let numbered = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    stem.is_empty()
        || numbered(stem)
        || stem == base
        || stem
            .rsplit_once('_')
            .is_some_and(|(head, n)| head == base && numbered(n))
}

fn has_page_param(url: &Url) -> bool {
    url.query_pairs().any(|(k, _)| {
        let k = k.to_ascii_lowercase();
        k.contains("page") || k == "p" || k == "pn"
    })
}

/// Pages announced by TRS pager scripts: `createPageHTML(count, current,
/// "index", "html")` (or with an element id first), or `var countPage = N`.
fn script_pages(doc: &Outline, page: &Url) -> Vec<Url> {
    let (stem, ext) = page_stem(page);
    let mut out = Vec::new();
    for text in doc.scripts() {
        let pager = create_page_html(text).or_else(|| {
            count_page(text).map(|n| Pager {
                count: n,
                prefix: stem.clone(),
                suffix: ext.clone(),
            })
        });
        let Some(pager) = pager else { continue };
        // `…/dir/` is page 0 (`index.html`) under another name.
        let first = u32::from(page.path().ends_with('/'));
        // The cap holds for the page, not for each script: a page of many
        // pager scripts with made-up names must not flood the frontier.
        let room = MAX_SCRIPT_PAGES.saturating_sub(out.len() as u32);
        for i in first..pager.count.min(room.saturating_add(first)) {
            let name = if i == 0 {
                format!("{}.{}", pager.prefix, pager.suffix)
            } else {
                format!("{}_{i}.{}", pager.prefix, pager.suffix)
            };
            if let Ok(url) = page.join(&name) {
                out.push(url);
            }
        }
    }
    out
}

struct Pager {
    count: u32,
    prefix: String,
    suffix: String,
}

/// The stem and extension TRS numbers pages after: `index.html` → (`index`,
/// `html`); `t2020_1_2.htm` → (`t2020_1`, `htm`) when already a later page.
fn page_stem(page: &Url) -> (String, String) {
    let name = file_name(page);
    let (stem, ext) = name.rsplit_once('.').unwrap_or(("index", "html"));
    let (stem, ext) = if stem.is_empty() {
        ("index", ext)
    } else {
        (stem, ext)
    };
    let stem = match stem.rsplit_once('_') {
        Some((head, n)) if n.chars().all(|c| c.is_ascii_digit()) && n.len() < 4 => head,
        _ => stem,
    };
    (stem.to_string(), ext.to_string())
}

fn create_page_html(script: &str) -> Option<Pager> {
    let start = script.find("createPageHTML(")? + "createPageHTML(".len();
    let args = script.get(start..)?.split(')').next()?;
    let args: Vec<&str> = args
        .split(',')
        .map(|a| a.trim().trim_matches(|c| c == '"' || c == '\''))
        .collect();
    let count = args.iter().find_map(|a| a.parse::<u32>().ok())?;
    let mut strings = args
        .iter()
        .filter(|a| !a.is_empty() && a.parse::<u32>().is_err());
    // With an element id first (`createPageHTML('page_div', 37, 1, 'index', 'html')`),
    // the names are the two strings after the numbers.
    let first_is_id = args.first().is_some_and(|a| a.parse::<u32>().is_err());
    if first_is_id {
        strings.next();
    }
    let prefix = strings.next().filter(|s| is_name(s))?.to_string();
    let suffix = strings.next().filter(|s| is_name(s))?.to_string();
    Some(Pager {
        count,
        prefix,
        suffix,
    })
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn count_page(script: &str) -> Option<u32> {
    script.match_indices("countPage").find_map(|(at, name)| {
        let rest = script.get(at + name.len()..)?.trim_start();
        let rest = rest.strip_prefix('=')?.trim_start();
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    })
}

fn strip_fragment(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    url
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(u: &str) -> Url {
        Url::parse(u).unwrap_or_else(|_| unreachable!())
    }

    fn found<'a>(links: &'a [Link], suffix: &str) -> Option<&'a Link> {
        links.iter().find(|l| l.url.as_str().ends_with(suffix))
    }

    #[test]
    fn a_link_or_base_longer_than_a_url_followed_is_passed_over() {
        let long = "a".repeat(MAX_URL_BYTES);
        let url = page("http://a.cn/nb/index.html");
        let html = format!(
            r#"<a href="/nb/2020.html">2020年政府信息公开工作年度报告</a><a href="/{long}.html">2021年政府信息公开工作年度报告</a>"#
        );
        let got = discover(&Page::start(&url, &html)).links;
        assert!(found(&got, "a.cn/nb/2020.html").is_some());
        assert!(!got.iter().any(|l| l.url.as_str().contains(&long)));
        let based = format!(
            r#"<base href="http://b.cn/{long}/"><a href="2020.html">2020年政府信息公开工作年度报告</a>"#
        );
        let got = discover(&Page::start(&url, &based)).links;
        assert!(found(&got, "a.cn/nb/2020.html").is_some(), "{got:?}");
    }

    #[test]
    fn create_page_html_shapes() {
        let html = r#"<script>createPageHTML(3, 0, "index", "shtml");</script>"#;
        let got = links(&page("http://a.cn/nb/index.shtml"), html, Kind::Listing);
        let urls: Vec<_> = got.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "http://a.cn/nb/index_1.shtml",
                "http://a.cn/nb/index_2.shtml"
            ]
        );
        let html = r#"<script>createPageHTML('page_div',2, 1,'index','html',40);</script>"#;
        let got = links(&page("http://a.cn/nb/index_1.html"), html, Kind::Listing);
        assert!(found(&got, "/nb/index.html").is_some_and(|l| l.pagination));
    }

    #[test]
    fn reports_by_anchor_and_slug() {
        let html = r#"<a href="./202001/t20200115_1.html">某区2019年政府信息公开工作年度报告</a>
            <a href="./202001/t20200115_2.html">召开工作会议</a>
            <a href="/zfxxgknb/202101/t20210110_9.html">详细</a>
            <a href="../xxgknb/">信息公开年报</a>
            <a href="/files/2020nb.pdf">2020年年报（PDF）</a>
            <a href="/files/other.pdf">通知</a>
            <a href="2.html">下一页</a>"#;
        let got = links(&page("http://a.cn/xxgk/list/1.html"), html, Kind::Listing);
        assert_eq!(
            found(&got, "t20200115_1.html").map(|l| l.kind),
            Some(Kind::Report)
        );
        assert!(found(&got, "t20200115_2.html").is_none());
        assert_eq!(
            found(&got, "t20210110_9.html").map(|l| l.kind),
            Some(Kind::Report)
        );
        assert_eq!(found(&got, "/xxgknb/").map(|l| l.kind), Some(Kind::Listing));
        assert_eq!(
            found(&got, "2020nb.pdf").map(|l| l.kind),
            Some(Kind::Attachment)
        );
        assert!(found(&got, "other.pdf").is_none());
        assert!(found(&got, "/list/2.html").is_some_and(|l| l.pagination));
    }

    #[test]
    fn hanweb_columns_and_pages() {
        let html = r#"<a href="/col/col1229/index.html">政府信息公开年报</a>
            <a href="/art/2021/1/20/art_1229_5.html">某县2020年度政府信息公开工作年度报告</a>
            <a href="/col/col1228/index.html?uid=7&pageNum=2">2</a>
            <a href="/col/col1228/index.html?uid=7&pageNum=3">下一页</a>"#;
        let got = links(
            &page("http://a.cn/col/col1228/index.html"),
            html,
            Kind::Listing,
        );
        assert_eq!(
            found(&got, "col1229/index.html").map(|l| l.kind),
            Some(Kind::Listing)
        );
        assert_eq!(
            found(&got, "art_1229_5.html").map(|l| l.kind),
            Some(Kind::Report)
        );
        assert!(found(&got, "pageNum=2").is_some_and(|l| l.pagination));
        assert!(found(&got, "pageNum=3").is_some_and(|l| l.pagination));
    }

    #[test]
    fn attachments_of_a_report() {
        let html = r#"<base href="http://files.a.cn/up/"><a href="P0200.pdf">全真版</a>
            <a href="b.DOCX">b</a><a href="c.xlsx">c</a><a href="x.html">其他</a>"#;
        let got = links(&page("http://a.cn/nb/t2020_1.html"), html, Kind::Report);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got.iter().all(|l| l.kind == Kind::Attachment));
        assert!(found(&got, "http://files.a.cn/up/P0200.pdf").is_some());
    }

    #[test]
    fn hostile_counts_are_capped() {
        let html =
            "<script>var countPage = 99999999999</script><script>var countPage = 4000000</script>";
        let got = links(&page("http://a.cn/nb/"), html, Kind::Listing);
        assert!(got.len() as u32 <= MAX_SCRIPT_PAGES);
        let many: String = (0..50)
            .map(|i| format!("<script>createPageHTML(999999, 0, \"p{i}\", \"html\");</script>"))
            .collect();
        let got = links(&page("http://a.cn/nb/index.html"), &many, Kind::Listing);
        assert_eq!(got.len() as u32, MAX_SCRIPT_PAGES);
    }
}
