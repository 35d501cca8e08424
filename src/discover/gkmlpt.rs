//! Guangdong's 政务公开目录平台 `gkmlpt`: the column page `…/gkmlpt/index#<id>`
//! is an app shell whose `window._CONFIG` holds the site id (`SID`) and the
//! column tree (`TREE`); the items come from `…/gkmlpt/api/all/<id>?page=N&sid=…`
//! as JSON. The column id is often only in the configured URL's fragment.

use std::sync::LazyLock;

use super::outline::Outline;
use regex::Regex;
use serde_json::Value;
use url::Url;

use super::hanweb::balanced;
use super::{names_report, Link, Page, MAX_SCRIPT_PAGES};
use crate::frontier::{self, Kind};

static SID: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"["']?SID["']?\s*[:=]\s*["']([^"']+)["']"#).ok());
static TREE_NODE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"["']?id["']?\s*:\s*["']?(\d+)["']?\s*,\s*["']?name["']?\s*:\s*["']([^"']+)["']"#)
        .ok()
});

/// The first API page of a `gkmlpt` shell's 年报 column.
pub(super) fn shell(page: &Page<'_>, _doc: &Outline) -> Vec<Link> {
    if !page.url.path().contains("/gkmlpt/") || !page.text.contains("_CONFIG") {
        return Vec::new();
    }
    let Some(sid) = SID
        .as_ref()
        .and_then(|re| re.captures(page.text))
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
    else {
        return Vec::new();
    };
    let tree = tree(page.text);
    let column = fragment_id(page)
        .map(|id| {
            let name = tree.iter().find(|(i, _)| *i == id).map(|(_, n)| n.clone());
            (id, name)
        })
        .or_else(|| {
            tree.iter()
                .find(|(_, name)| names_report(name))
                .map(|(id, name)| (*id, Some(name.clone())))
        });
    let Some((id, name)) = column else {
        tracing::info!(url = %page.url, "gkmlpt shell without a 年报 column");
        return Vec::new();
    };
    let Some(root) = app_root(page.url) else {
        return Vec::new();
    };
    let mut api = root;
    api.set_path(&format!("{}api/all/{id}", api.path()));
    api.query_pairs_mut()
        .append_pair("page", "1")
        .append_pair("sid", &sid);
    vec![Link::new(api, Kind::Listing, name, true)]
}

/// `…/gkmlpt/` of a URL under it.
fn app_root(url: &Url) -> Option<Url> {
    let path = url.path();
    let at = path.find("/gkmlpt/")? + "/gkmlpt/".len();
    let mut root = url.clone();
    root.set_path(path.get(..at)?);
    root.set_query(None);
    root.set_fragment(None);
    Some(root)
}

/// The column id in the fragment of the configured start URL that this
/// page is (`#2853`, `#2853/…`).
fn fragment_id(page: &Page<'_>) -> Option<u64> {
    let here = frontier::canonical(page.url);
    page.starts
        .iter()
        .filter(|s| frontier::canonical(s) == here)
        .find_map(|s| {
            let digits: String = s
                .fragment()?
                .trim_start_matches(['/', '!'])
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
}

/// `(id, name)` of every column in `TREE`, depth first.
fn tree(text: &str) -> Vec<(u64, String)> {
    let parsed = text
        .find("TREE")
        .and_then(|at| text.get(at..))
        .and_then(|rest| balanced(rest, '[', ']'))
        .and_then(|array| serde_json::from_str::<Value>(array).ok());
    if let Some(value) = parsed {
        let mut out = Vec::new();
        walk(&value, &mut out);
        if !out.is_empty() {
            return out;
        }
    }
    // Not JSON (unquoted keys): read id/name pairs as written.
    TREE_NODE
        .as_ref()
        .map(|re| {
            re.captures_iter(text)
                .filter_map(|c| {
                    Some((
                        c.get(1)?.as_str().parse().ok()?,
                        c.get(2)?.as_str().to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn walk(value: &Value, out: &mut Vec<(u64, String)>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
        Value::Object(node) => {
            let id = node.get("id").and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            });
            let name = node.get("name").and_then(Value::as_str);
            if let (Some(id), Some(name)) = (id, name) {
                out.push((id, name.to_string()));
            }
            for child in ["children", "child", "sub"] {
                if let Some(c) = node.get(child) {
                    walk(c, out);
                }
            }
        }
        _ => {}
    }
}

/// An API page (`…/gkmlpt/api/all/<id>?page=N`).
fn api_page(url: &Url) -> Option<u32> {
    if !url.path().contains("/gkmlpt/api/all/") {
        return None;
    }
    url.query_pairs()
        .find(|(k, _)| k == "page")
        .map_or(Some(1), |(_, v)| v.trim().parse().ok())
}

/// An API page after the first: a 404 there ends the list.
pub(super) fn is_later_api_page(url: &Url) -> bool {
    api_page(url).is_some_and(|n| n >= 2)
}

/// The articles of an API answer, and the next page while some remain.
pub(super) fn api_answer(page: &Page<'_>) -> Option<(Vec<Link>, &'static str)> {
    let n = api_page(page.url)?;
    let json: Value = serde_json::from_str(page.text.trim()).ok()?;
    let articles = json
        .get("articles")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out: Vec<Link> = articles
        .iter()
        .filter_map(|a| {
            let url = page.url.join(a.get("url")?.as_str()?.trim()).ok()?;
            let title = a
                .get("title")
                .and_then(Value::as_str)
                .map(super::squash)
                .filter(|t| !t.is_empty());
            Some(Link::new(url, Kind::Report, title, false))
        })
        .collect();
    let total = json.get("total").and_then(|t| {
        t.as_u64()
            .or_else(|| t.as_str().and_then(|s| s.parse().ok()))
    });
    let shown = u64::from(n).saturating_mul(articles.len() as u64);
    let more = !articles.is_empty() && total.is_none_or(|t| shown < t) && n < MAX_SCRIPT_PAGES;
    if more {
        let mut next = page.url.clone();
        let pairs: Vec<(String, String)> = page
            .url
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "page" {
                    (n + 1).to_string()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        next.query_pairs_mut().clear().extend_pairs(&pairs);
        out.push(Link::new(
            next,
            Kind::Listing,
            page.anchor.map(str::to_string),
            true,
        ));
    }
    Some((out, "gkmlpt"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn shell_by_fragment_and_by_name() {
        let html = r#"<div id="app"></div><script>window._CONFIG = { SID: 'sz001', TREE: [{"id":1,"name":"政策文件","children":[{"id":2853,"name":"政府信息公开年报","children":[]}]}] };</script>"#;
        let page_url = url("http://a.cn/gkmlpt/index");
        let starts = [url("http://a.cn/gkmlpt/index#2853")];
        let page = Page {
            starts: &starts,
            ..Page::start(&page_url, html)
        };
        let doc = Outline::parse(html);
        let got = shell(&page, &doc);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].url.as_str(),
            "http://a.cn/gkmlpt/api/all/2853?page=1&sid=sz001"
        );
        let page = Page {
            starts: &[],
            ..page
        };
        assert_eq!(
            shell(&page, &doc)[0].url.as_str(),
            "http://a.cn/gkmlpt/api/all/2853?page=1&sid=sz001"
        );
    }
}
