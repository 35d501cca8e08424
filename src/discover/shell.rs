//! Entry shells: a tiny page whose only content sends the browser on, by
//! `<meta http-equiv="refresh">` or a literal `location.replace(…)` /
//! `location.href = …`. The target stands in for the page (same kind and
//! depth).

use std::sync::LazyLock;

use super::outline::Outline;
use regex::Regex;

use super::{Link, Page};

/// Shells are small; a large page's scripts move the browser for other
/// reasons (a language switch, a mobile site).
const MAX_SHELL_BYTES: usize = 16 * 1024;
/// Nor does a shell carry a menu of links.
const MAX_SHELL_ANCHORS: usize = 3;

static SCRIPTED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"location(?:\.href)?\s*=\s*["']([^"']+)["']|location\.(?:replace|assign)\(\s*["']([^"']+)["']\s*\)"#,
    )
    .ok()
});

/// Where a shell page sends the browser.
pub(super) fn targets(page: &Page<'_>, doc: &Outline) -> Vec<Link> {
    if page.text.len() > MAX_SHELL_BYTES || anchor_count(doc) > MAX_SHELL_ANCHORS {
        return Vec::new();
    }
    let mut hrefs = meta_refresh(doc);
    hrefs.extend(scripted(doc));
    hrefs
        .into_iter()
        .filter_map(|href| page.url.join(href.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| Link::new(u, page.kind, page.anchor.map(str::to_string), true))
        .collect()
}

fn anchor_count(doc: &Outline) -> usize {
    doc.anchors().count()
}

/// `content="0; url=./zfxxgknb/"` (quotes around the URL allowed).
fn meta_refresh(doc: &Outline) -> Vec<String> {
    doc.metas()
        .iter()
        .filter(|m| {
            m.http_equiv
                .as_deref()
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("refresh"))
        })
        .filter_map(|m| {
            let content = m.content.as_deref()?;
            let lower = content.to_ascii_lowercase();
            let at = lower.find("url")?;
            let rest = content.get(at + 3..)?.trim_start();
            let rest = rest.strip_prefix('=')?.trim();
            let url = rest.trim_matches(|c| c == '\'' || c == '"').trim();
            (!url.is_empty()).then(|| url.to_string())
        })
        .collect()
}

fn scripted(doc: &Outline) -> Vec<String> {
    let Some(re) = SCRIPTED.as_ref() else {
        return Vec::new();
    };
    doc.scripts()
        .flat_map(|text| {
            re.captures_iter(text)
                .filter_map(|c| {
                    c.get(1)
                        .or_else(|| c.get(2))
                        .map(|m| m.as_str().to_string())
                })
                .collect::<Vec<_>>()
        })
        .filter(|href| {
            !href
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("javascript:")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn shell_targets(html: &str) -> Vec<String> {
        let url = Url::parse("http://a.cn/xxgk/").unwrap_or_else(|_| unreachable!());
        let page = Page::start(&url, html);
        targets(&page, &Outline::parse(html))
            .into_iter()
            .map(|l| l.url.to_string())
            .collect()
    }

    #[test]
    fn refresh_and_script_shells() {
        assert_eq!(
            shell_targets(r#"<meta http-equiv="Refresh" content="0; url=./zfxxgknb/">"#),
            ["http://a.cn/xxgk/zfxxgknb/"]
        );
        assert_eq!(
            shell_targets(r#"<script>window.location.replace("./nb/index.html");</script>"#),
            ["http://a.cn/xxgk/nb/index.html"]
        );
        assert_eq!(
            shell_targets(r#"<script>location.href = '/gknb/';</script>"#),
            ["http://a.cn/gknb/"]
        );
        assert!(
            shell_targets(r#"<script>location.href = 'javascript:void(0)';</script>"#).is_empty()
        );
    }
}
