//! Hanweb 大汉 jcms / jpaas columns: the items sit as CDATA records in a
//! `<script type="text/xml"><datastore>` (script text to an HTML parser), and
//! later groups come from `dataproxy.jsp` (or the "加载更多" variant
//! `morecolumndataproxy.jsp`), asked with a POST form the way the page's
//! `jpage({...})` call asks, and answered with the same `<datastore>` XML.

use std::sync::LazyLock;

use super::outline::Outline;
use regex::Regex;
use url::Url;

use super::{anchors, classify, looks_like_article, names_report, Link, Page, MAX_SCRIPT_PAGES};
use crate::frontier::Kind;

/// Where jcms answers when the call names no `proxyUrl`.
const DEFAULT_PROXY: &str = "/module/web/jpage/dataproxy.jsp";
/// jpage's default: one request brings three pages.
const DEFAULT_GROUP: u32 = 3;
/// The fields jcms's proxy reads, when they are written into the call itself.
const FIELDS: &[&str] = &[
    "col",
    "appid",
    "webid",
    "path",
    "columnid",
    "sourceContentType",
    "unitid",
    "webname",
    "permissiontype",
];

static PAIR: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"["']?([A-Za-z_][A-Za-z0-9_]*)["']?\s*:\s*(?:"([^"]*)"|'([^']*)'|([^,}\s]+))"#)
        .ok()
});
static PROXY_LITERAL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"["']([^"'\s]*(?:more)?(?:column)?dataproxy\.jsp[^"'\s]*)["']"#).ok()
});

/// The items of a Hanweb column page and the API requests for the rest.
/// The API is paged only on a 年报 column: other columns' items are not
/// wanted.
pub(super) fn column(page: &Page<'_>, in_column: bool) -> Vec<Link> {
    if !page.text.contains("<datastore") && !page.text.contains(".jpage(") {
        return Vec::new();
    }
    let records = records(page.text);
    let mut out = record_links(page.url, &records, in_column);
    if in_column {
        if let Some(call) = jpage_call(page.text) {
            out.extend(api_pages(page, &call, records.len() as u32));
        }
    }
    out
}

/// An answer of the API: its records, and the next group while the total
/// is not reached.
pub(super) fn api_answer(page: &Page<'_>) -> Option<(Vec<Link>, &'static str)> {
    if !page.url.path().ends_with("dataproxy.jsp") || !page.text.contains("<datastore") {
        return None;
    }
    let records = records(page.text);
    // The API is asked only for a 年报 column's groups.
    let mut out = record_links(page.url, &records, true);
    if !records.is_empty() {
        let total = tag_number(page.text, "totalrecord");
        if let Some(next) = next_answer(page.url, total) {
            let mut link = Link::new(next, Kind::Listing, page.anchor.map(str::to_string), true);
            link.form = page.form.map(str::to_string);
            out.push(link);
        }
    }
    Some((out, "hanweb"))
}

/// The URL of the group after `url`, if `total` says there is one.
fn next_answer(url: &Url, total: Option<u32>) -> Option<Url> {
    let query = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.trim().parse::<u32>().ok())
    };
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut set = |name: &str, value: u32| {
        for (k, v) in &mut pairs {
            if k.eq_ignore_ascii_case(name) {
                *v = value.to_string();
            }
        }
    };
    if let (Some(start), Some(end)) = (query("startrecord"), query("endrecord")) {
        let total = total?;
        if end >= total || end < start {
            return None;
        }
        let span = end - start + 1;
        set("startrecord", end + 1);
        set("endrecord", end.saturating_add(span).min(total));
    } else if let Some(n) = query("page") {
        let per = query("perpage").unwrap_or(1).max(1);
        if total.is_some_and(|t| n.saturating_mul(per) >= t) || n >= MAX_SCRIPT_PAGES {
            return None;
        }
        set("page", n + 1);
    } else {
        return None;
    }
    let mut next = url.clone();
    next.query_pairs_mut().clear().extend_pairs(&pairs);
    Some(next)
}

/// The HTML fragments of `<record>` elements, CDATA or not.
fn records(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("<record") {
        let Some(open_end) = rest.get(at..).and_then(|r| r.find('>')) else {
            break;
        };
        let body_start = at + open_end + 1;
        let Some(len) = rest.get(body_start..).and_then(|r| r.find("</record>")) else {
            break;
        };
        let body = rest.get(body_start..body_start + len).unwrap_or("").trim();
        let body = body
            .strip_prefix("<![CDATA[")
            .and_then(|b| b.strip_suffix("]]>"))
            .unwrap_or(body);
        out.push(body.to_string());
        rest = rest.get(body_start + len..).unwrap_or("");
    }
    out
}

/// The links of the records: report-named ones always, other article links
/// when the column is known to be a 年报 column.
fn record_links(page: &Url, records: &[String], in_column: bool) -> Vec<Link> {
    let mut out = Vec::new();
    for record in records {
        let doc = Outline::parse(record);
        for a in anchors(&doc, page) {
            let unnamed_article = in_column
                && looks_like_article(&a.url)
                && !names_report(&a.text)
                && a.url.host_str() == page.host_str();
            let anchor = (!a.text.is_empty()).then(|| a.text.clone());
            if unnamed_article {
                out.push(Link::new(a.url, Kind::Report, anchor, false));
            } else if let Some(link) = classify(page, Kind::Listing, a) {
                if !link.pagination {
                    out.push(link);
                }
            }
        }
    }
    out
}

fn tag_number(text: &str, tag: &str) -> Option<u32> {
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let rest = text.get(start..)?;
    let end = rest.find('<')?;
    let inner = rest.get(..end)?.trim();
    let inner = inner
        .strip_prefix("<![CDATA[")
        .and_then(|s| s.strip_suffix("]]>"))
        .unwrap_or(inner);
    inner.trim().parse().ok()
}

/// What a `jpage({...})` call (or a "加载更多" script) says about paging.
#[derive(Debug, Default)]
struct Call {
    proxy: Option<String>,
    total: Option<u32>,
    per_page: Option<u32>,
    group: Option<u32>,
    fields: Vec<(String, String)>,
    /// `morecolumndataproxy.jsp`: one page per request, numbered.
    by_page: bool,
}

fn jpage_call(text: &str) -> Option<Call> {
    let (call_text, by_page) = match text.find(".jpage(") {
        Some(at) => (balanced(text.get(at..)?, '{', '}')?, false),
        None if text.contains("morecolumndataproxy.jsp") => {
            let at = text.find("morecolumndataproxy.jsp")?;
            let from = text.get(..at)?.rfind("<script").unwrap_or(0);
            let to = text
                .get(at..)?
                .find("</script>")
                .map_or(text.len(), |e| at + e);
            (text.get(from..to)?, true)
        }
        None => return None,
    };
    let pairs = pairs(call_text);
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let number = |name: &str| get(name).and_then(|v| v.parse::<u32>().ok());
    let mut call = Call {
        proxy: get("proxyUrl").or_else(|| get("url")).or_else(|| {
            PROXY_LITERAL
                .as_ref()?
                .captures(call_text)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_string())
        }),
        total: number("totalRecord").or_else(|| tag_number(text, "totalrecord")),
        per_page: number("perPage").or_else(|| number("perpage")),
        group: number("groupSize"),
        fields: Vec::new(),
        by_page,
    };
    call.fields = param_object(text, &pairs).unwrap_or_else(|| {
        pairs
            .iter()
            .filter(|(k, _)| FIELDS.contains(&k.as_str()))
            .cloned()
            .collect()
    });
    Some(call)
}

/// The fields of the call's parameter object: `ajaxParam: param_123` naming
/// a `var param_123 = {...}`, or written inline.
fn param_object(text: &str, call: &[(String, String)]) -> Option<Vec<(String, String)>> {
    let name = call
        .iter()
        .find(|(k, _)| k == "ajaxParam" || k == "param")
        .map(|(_, v)| v.clone())?;
    let name = name.trim();
    let object = if name.starts_with('{') {
        let at = text.find("ajaxParam")?;
        balanced(text.get(at..)?, '{', '}')?
    } else {
        let at = text.match_indices(name).map(|(i, _)| i).find(|i| {
            text.get(i + name.len()..)
                .is_some_and(|r| r.trim_start().starts_with('='))
        })?;
        balanced(text.get(at..)?, '{', '}')?
    };
    let fields = pairs(object);
    (!fields.is_empty()).then_some(fields)
}

/// `name: value` pairs of an object literal, in order.
fn pairs(object: &str) -> Vec<(String, String)> {
    let Some(re) = PAIR.as_ref() else {
        return Vec::new();
    };
    re.captures_iter(object)
        .filter_map(|c| {
            let key = c.get(1)?.as_str().to_string();
            let value = c.get(2).or_else(|| c.get(3)).or_else(|| c.get(4))?;
            Some((key, value.as_str().trim().to_string()))
        })
        .collect()
}

/// The text from the first `open` in `s` to its matching `close`, skipping
/// quoted strings.
pub(super) fn balanced(s: &str, open: char, close: char) -> Option<&str> {
    let start = s.find(open)?;
    let mut depth = 0u32;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.get(start..)?.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            c if c == open => depth += 1,
            c if c == close => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return s.get(start..start + i + c.len_utf8());
                }
            }
            _ => {}
        }
    }
    None
}

/// The API requests for every group after the embedded one, each a POST of
/// the call's fields.
fn api_pages(page: &Page<'_>, call: &Call, embedded: u32) -> Vec<Link> {
    let Some(total) = call.total else {
        return Vec::new();
    };
    let proxy = call.proxy.as_deref().unwrap_or(DEFAULT_PROXY);
    let Ok(proxy) = page.url.join(proxy) else {
        return Vec::new();
    };
    let mut base = proxy.clone();
    base.set_query(None);
    let preset: Vec<(String, String)> = proxy
        .query_pairs()
        .filter(|(k, _)| !matches!(k.as_ref(), "page" | "startrecord" | "endrecord" | "perpage"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let per_page = call.per_page.unwrap_or(15).max(1);
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(preset.iter().chain(&call.fields))
        .finish();
    let column = page_title(page.text).or_else(|| page.anchor.map(str::to_string));
    let mut out = Vec::new();
    let mut push = |query: String| {
        let mut url = base.clone();
        url.set_query(Some(&query));
        let mut link = Link::new(url, Kind::Listing, column.clone(), true);
        link.form = Some(form.clone());
        out.push(link);
    };
    if call.by_page {
        let pages = total.div_ceil(per_page).min(MAX_SCRIPT_PAGES);
        for n in 2..=pages {
            push(format!("page={n}&perpage={per_page}"));
        }
        return out;
    }
    let group = per_page.saturating_mul(call.group.unwrap_or(DEFAULT_GROUP).max(1));
    let mut start = if embedded > 0 { embedded + 1 } else { 1 };
    let mut groups = 0;
    while start <= total && groups < MAX_SCRIPT_PAGES {
        let end = start.saturating_add(group - 1).min(total);
        push(format!(
            "startrecord={start}&endrecord={end}&perpage={per_page}"
        ));
        groups += 1;
        start = end.saturating_add(1);
    }
    out
}

fn page_title(text: &str) -> Option<String> {
    let start = text.find("<title>")? + "<title>".len();
    let end = text.get(start..)?.find("</title>")?;
    let title = text.get(start..start + end)?.trim();
    (!title.is_empty()).then(|| title.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_call() {
        let html = r#"<div id="4390542"><script type="text/xml"><datastore>
            <nextgroup><![CDATA[<a href="/col/col1229/index.html?uid=4390542&pageNum=4">下一页</a>]]></nextgroup>
            <recordset><record><![CDATA[<li><a href="/art/2021/1/20/art_1229_5.html" title="某县2020年度政府信息公开工作年度报告">某县2020年度…</a></li>]]></record>
            <record><![CDATA[<li><a href="/art/2020/1/20/art_1229_4.html">高岭镇</a></li>]]></record></recordset></datastore></script></div>
            <script>var param_4390542 = {"col":1,"appid":1,"webid":3167,"path":"/","columnid":1229,"unitid":"4390542","webname":"某县人民政府","permissiontype":0};
            $('#4390542').jpage({ dataStore: dataStore, perPage: 2, totalRecord: 14, proxyUrl: '/module/web/jpage/dataproxy.jsp', ajaxParam: param_4390542 });</script>"#;
        let recs = records(html);
        assert_eq!(recs.len(), 2);
        let call = jpage_call(html).unwrap_or_default();
        assert_eq!(call.total, Some(14));
        assert_eq!(call.per_page, Some(2));
        assert_eq!(
            call.fields
                .iter()
                .find(|(k, _)| k == "columnid")
                .map(|(_, v)| v.as_str()),
            Some("1229")
        );
        let url =
            Url::parse("http://a.cn/col/col1229/index.html").unwrap_or_else(|_| unreachable!());
        let page = Page::start(&url, html);
        let links = column(&page, true);
        let urls: Vec<&str> = links.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "http://a.cn/art/2021/1/20/art_1229_5.html",
                "http://a.cn/art/2020/1/20/art_1229_4.html",
                "http://a.cn/module/web/jpage/dataproxy.jsp?startrecord=3&endrecord=8&perpage=2",
                "http://a.cn/module/web/jpage/dataproxy.jsp?startrecord=9&endrecord=14&perpage=2",
            ]
        );
        assert_eq!(
            links[0].anchor.as_deref(),
            Some("某县2020年度政府信息公开工作年度报告")
        );
        let form = links[2].form.clone().unwrap_or_default();
        assert!(
            form.contains("columnid=1229") && form.contains("webid=3167"),
            "{form}"
        );
    }

    #[test]
    fn load_more_variant_pages_by_number() {
        let html = r#"<title>政府信息公开年报</title><div id="list"><script type="text/xml"><datastore><recordset>
            <record><![CDATA[<li><a href="/art/2021/1/20/art_1229_5.html">县教育局</a></li>]]></record></recordset></datastore></script></div>
            <script>function more(n) { $.ajax({ url: '/module/web/jpage/morecolumndataproxy.jsp', type: 'post',
              data: { col: 1, webid: 3167, columnid: 1229, unitid: 'list' }, totalRecord: 8, perPage: 3 }); }</script>"#;
        let url =
            Url::parse("http://a.cn/col/col1229/index.html").unwrap_or_else(|_| unreachable!());
        let page = Page::start(&url, html);
        let links = column(&page, true);
        let urls: Vec<&str> = links.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "http://a.cn/art/2021/1/20/art_1229_5.html",
                "http://a.cn/module/web/jpage/morecolumndataproxy.jsp?page=2&perpage=3",
                "http://a.cn/module/web/jpage/morecolumndataproxy.jsp?page=3&perpage=3",
            ]
        );
        let form = links[1].form.clone().unwrap_or_default();
        assert!(
            form.contains("columnid=1229") && form.contains("webid=3167"),
            "{form}"
        );
        let answer =
            Url::parse("http://a.cn/module/web/jpage/morecolumndataproxy.jsp?page=3&perpage=3")
                .unwrap_or_else(|_| unreachable!());
        assert_eq!(next_answer(&answer, Some(8)), None);
    }
}
