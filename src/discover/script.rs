//! Lists kept in script literals and rendered client-side, e.g.
//! `var itemObj = [{"aT": "<title>", "aPd": "…", "aU": "{\"common\": \"/path/…\"}"}]`:
//! every object of an array literal that pairs a title with a same-site
//! article path, the path possibly JSON inside a JSON string (one level).

use super::outline::Outline;
use serde_json::Value;
use url::Url;

use super::hanweb::balanced;
use super::{looks_like_article, names_report, squash, Link, Page};
use crate::frontier::Kind;

/// Array literals tried per page: a page is not a parser benchmark.
const MAX_ARRAYS: usize = 1000;
/// Longest array literal read.
const MAX_ARRAY_BYTES: usize = 4 * 1024 * 1024;

/// The report candidates listed in the page's script literals.
pub(super) fn lists(page: &Page<'_>, doc: &Outline, in_column: bool) -> Vec<Link> {
    let mut out = Vec::new();
    let mut tried = 0;
    for text in doc.scripts() {
        let mut rest = text;
        while let Some(at) = rest.find('[') {
            let Some(tail) = rest.get(at..) else { break };
            if !is_literal_start(rest.get(..at).unwrap_or(""), tail) {
                rest = tail.get(1..).unwrap_or("");
                continue;
            }
            if tried >= MAX_ARRAYS {
                return out;
            }
            let array = balanced(tail, '[', ']').filter(|a| a.len() <= MAX_ARRAY_BYTES);
            let Some(array) = array else {
                rest = tail.get(1..).unwrap_or("");
                continue;
            };
            tried += 1;
            if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(array) {
                out.extend(
                    items
                        .iter()
                        .filter_map(|item| item_link(page.url, item, in_column)),
                );
                rest = tail.get(array.len()..).unwrap_or("");
            } else {
                rest = tail.get(1..).unwrap_or("");
            }
        }
    }
    out
}

/// `= [{`, `: [{`, `([{`: an array of objects being assigned or passed,
/// not an index expression.
fn is_literal_start(before: &str, tail: &str) -> bool {
    let assigned = before.trim_end().ends_with(['=', ':', '(', ',']);
    let objects = tail.get(1..).unwrap_or("").trim_start().starts_with('{');
    assigned && objects
}

/// A title and a same-site article path among an object's strings.
fn item_link(page: &Url, item: &Value, in_column: bool) -> Option<Link> {
    let Value::Object(fields) = item else {
        return None;
    };
    let mut strings = Vec::new();
    for value in fields.values() {
        let Some(s) = value.as_str() else { continue };
        strings.push(s.to_string());
        let inner = s.trim_start();
        if inner.starts_with('{') || inner.starts_with('[') {
            if let Ok(nested) = serde_json::from_str::<Value>(s) {
                collect_strings(&nested, &mut strings);
            }
        }
    }
    let url = strings.iter().find_map(|s| article_url(page, s))?;
    let title = strings
        .iter()
        .map(|s| squash(s))
        .filter(|s| s.chars().any(is_cjk))
        .max_by_key(|s| s.chars().filter(|c| is_cjk(*c)).count())?;
    (names_report(&title) || in_column).then(|| Link::new(url, Kind::Report, Some(title), false))
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

fn article_url(page: &Url, s: &str) -> Option<Url> {
    let s = s.trim();
    let pathlike =
        s.starts_with('/') || s.starts_with("./") || s.starts_with("../") || s.starts_with("http");
    if !pathlike || s.contains(char::is_whitespace) {
        return None;
    }
    let url = page.join(s).ok()?;
    (url.host_str() == page.host_str() && looks_like_article(&url)).then_some(url)
}

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_obj_with_json_in_a_string() {
        let html = r#"<script>var itemObj = [{"aT": "某部2023年政府信息公开工作年度报告", "aPd": "2024-03-08 17:00", "aU": "{\"common\": \"/zwgk/2024-03/08/content_6937.htm\"}"},
            {"aT": "关于召开会议的通知", "aPd": "2024-03-01", "aU": "{\"common\": \"/zwgk/2024-03/01/content_6900.htm\"}"},
            {"aT": "外站", "aU": "{\"common\": \"http://other.cn/a/content_1234.htm\"}"}];</script>"#;
        let url = Url::parse("http://a.cn/zwgk/nb/").unwrap_or_else(|_| unreachable!());
        let page = Page::start(&url, html);
        let doc = Outline::parse(html);
        let got = lists(&page, &doc, false);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].url.as_str(),
            "http://a.cn/zwgk/2024-03/08/content_6937.htm"
        );
        assert_eq!(lists(&page, &doc, true).len(), 2);
    }
}
