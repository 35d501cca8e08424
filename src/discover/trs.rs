//! TRS columns whose first page is served whole and whose later pages come
//! from the TRS IGS search API the page's script asks:
//! `/igs/front/search/list.html?index=…&type=…&pageSize=M&filter[CHANNELID]=…&pageNumber=N`,
//! answered with JSON `{"page": {"content": [{"DOCTITLE" | "BT" | "FileName"
//! | "title": …, "DOCPUBURL" | "url": …}], "total": T, "totalPages": P}}`.
//! The API is paged from page 2 (page 1 is the served page), and only on a
//! 年报 column.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;
use url::Url;

use super::hanweb::balanced;
use super::{squash, Link, Page, MAX_SCRIPT_PAGES};
use crate::frontier::Kind;

/// The path of the search API.
const API_PATH: &str = "/igs/front/search/list.html";
/// The query field naming the page (1-based).
const PAGE_FIELD: &str = "pageNumber";
/// Fields of an item that hold its title, most specific first.
const TITLE_FIELDS: &[&str] = &["DOCTITLE", "BT", "FileName", "title", "TITLE"];
/// Fields of an item that hold its address.
const URL_FIELDS: &[&str] = &["DOCPUBURL", "url", "URL", "docpuburl", "link"];

/// `key: 'value'` pairs of the call's `data` object, keys quoted or not
/// (`'filter[CHANNELID]': '4821'`, `pageSize: 15`).
static PAIR: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(?:["']([^"']+)["']|([A-Za-z_][A-Za-z0-9_]*))\s*:\s*(?:"([^"]*)"|'([^']*)'|(\d+|true|false))\s*[,}]"#,
    )
    .ok()
});

/// The API request for page 2 of a 年报 column that names the search API.
pub(super) fn column(page: &Page<'_>, in_column: bool) -> Vec<Link> {
    if !in_column || !page.text.contains(API_PATH) {
        return Vec::new();
    }
    let Some(url) = api_request(page.url, page.text) else {
        return Vec::new();
    };
    let anchor = page.anchor.map(str::to_string);
    vec![Link::new(with_page(&url, 2), Kind::Listing, anchor, true)]
}

/// An answer of the API: its items, and the next page while there is one.
pub(super) fn api_answer(page: &Page<'_>) -> Option<(Vec<Link>, &'static str)> {
    if !page.url.path().ends_with(API_PATH) {
        return None;
    }
    let value: Value = serde_json::from_str(page.text.trim()).ok()?;
    let list = value.get("page").unwrap_or(&value);
    let items = list.get("content")?.as_array()?;
    let mut out: Vec<Link> = items
        .iter()
        .filter_map(|item| {
            let url = URL_FIELDS
                .iter()
                .find_map(|f| item.get(*f)?.as_str())
                .and_then(|u| page.url.join(u.trim()).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https"))?;
            let title = TITLE_FIELDS
                .iter()
                .find_map(|f| item.get(*f)?.as_str())
                .map(squash)
                .filter(|t| !t.is_empty());
            // The API is asked only for a 年报 column's pages.
            Some(Link::new(url, Kind::Report, title, false))
        })
        .collect();
    let n = page_number(page.url)?;
    let number = |field: &str| list.get(field).and_then(Value::as_u64);
    let per = query_number(page.url, "pageSize");
    let pages = number("totalPages").or_else(|| Some(number("total")?.div_ceil(per?.max(1))));
    let more = match pages {
        Some(p) => u64::from(n) < p,
        None => per.is_some_and(|per| items.len() as u64 >= per),
    };
    if !items.is_empty() && more && n < MAX_SCRIPT_PAGES {
        let anchor = page.anchor.map(str::to_string);
        out.push(Link::new(
            with_page(page.url, n + 1),
            Kind::Listing,
            anchor,
            true,
        ));
    }
    Some((out, "trs-api"))
}

/// The API's URL as the page's script writes it: a literal with its query,
/// or a bare literal with the fields in the `data` object that follows.
fn api_request(page: &Url, text: &str) -> Option<Url> {
    let at = text.find(API_PATH)?;
    let head = text.get(..at)?;
    let open = head.rfind(['"', '\''])?;
    let quote = head.get(open..)?.chars().next()?;
    let tail = text.get(at..)?;
    let close = tail.find(quote)?;
    let literal = text.get(open + 1..at + close)?;
    let mut url = page.join(literal.trim()).ok()?;
    if url.host_str() != page.host_str() {
        return None;
    }
    if url.query().is_none_or(str::is_empty) {
        let after = text.get(at + close..)?;
        let data = after.find("data").and_then(|d| after.get(d..))?;
        let object = balanced(data, '{', '}')?;
        let fields = pairs(object);
        if fields.is_empty() {
            return None;
        }
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter().filter(|(k, _)| k != PAGE_FIELD))
            .finish();
        url.set_query(Some(&query));
    }
    Some(url)
}

fn pairs(object: &str) -> Vec<(String, String)> {
    let Some(re) = PAIR.as_ref() else {
        return Vec::new();
    };
    re.captures_iter(object)
        .filter_map(|c| {
            let key = c.get(1).or_else(|| c.get(2))?.as_str().to_string();
            let value = c.get(3).or_else(|| c.get(4)).or_else(|| c.get(5))?;
            Some((key, value.as_str().to_string()))
        })
        .collect()
}

/// `url` asking for page `n`: the page field replaced, the rest of the
/// query kept as the page wrote it.
fn with_page(url: &Url, n: u32) -> Url {
    let kept: Vec<&str> = url
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty() && kv.split('=').next() != Some(PAGE_FIELD))
        .collect();
    let mut query = kept.join("&");
    if !query.is_empty() {
        query.push('&');
    }
    query.push_str(&format!("{PAGE_FIELD}={n}"));
    let mut out = url.clone();
    out.set_query(Some(&query));
    out
}

fn query_number(url: &Url, name: &str) -> Option<u64> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.trim().parse().ok())
}

fn page_number(url: &Url) -> Option<u32> {
    query_number(url, PAGE_FIELD).and_then(|n| u32::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn the_api_from_a_literal_or_a_data_object() {
        let page = url("http://a.cn/xxgk/nb/index.html");
        let literal = r#"<script>var api = "/igs/front/search/list.html?index=xxgk&type=nb&pageSize=5&filter[CHANNELID]=4821&pageNumber=";</script>"#;
        let got = api_request(&page, literal).map(|u| with_page(&u, 2));
        assert_eq!(
            got.as_ref().map(Url::as_str),
            Some("http://a.cn/igs/front/search/list.html?index=xxgk&type=nb&pageSize=5&filter[CHANNELID]=4821&pageNumber=2")
        );
        let object = r#"<script>$.ajax({ url: '/igs/front/search/list.html', type: 'get',
            data: { index: 'xxgk', type: 'nb', pageSize: 5, pageNumber: n, 'filter[CHANNELID]': '4821' } });</script>"#;
        let got = api_request(&page, object).map(|u| with_page(&u, 2));
        let got = got.map(|u| u.to_string()).unwrap_or_default();
        assert!(got.contains("pageSize=5"), "{got}");
        assert!(got.contains("filter%5BCHANNELID%5D=4821"), "{got}");
        assert!(got.ends_with("&pageNumber=2"), "{got}");
        assert!(!got.contains("type=get"), "{got}");
        let elsewhere =
            r#"<script>var api = "http://b.cn/igs/front/search/list.html?x=1";</script>"#;
        assert_eq!(api_request(&page, elsewhere), None);
    }

    #[test]
    fn answers_page_on_until_total_pages() {
        let at = url("http://a.cn/igs/front/search/list.html?index=x&pageSize=2&pageNumber=2");
        let text = r#"{"page":{"content":[{"DOCTITLE":"某县2021年政府信息公开工作年度报告","DOCPUBURL":"http://a.cn/nb/t1_1.html"},
            {"BT":"县教育局","url":"/nb/t2_2.html"}],"total":5,"totalPages":3}}"#;
        let page = Page::start(&at, text);
        let (links, platform) = api_answer(&page).unwrap_or_default();
        assert_eq!(platform, "trs-api");
        let urls: Vec<&str> = links.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "http://a.cn/nb/t1_1.html",
                "http://a.cn/nb/t2_2.html",
                "http://a.cn/igs/front/search/list.html?index=x&pageSize=2&pageNumber=3"
            ]
        );
        let last = url("http://a.cn/igs/front/search/list.html?index=x&pageSize=2&pageNumber=3");
        let text = r#"{"page":{"content":[{"DOCTITLE":"a","DOCPUBURL":"/nb/t3_3.html"}],"total":5,"totalPages":3}}"#;
        let (links, _) = api_answer(&Page::start(&last, text)).unwrap_or_default();
        assert_eq!(links.len(), 1);
    }
}
