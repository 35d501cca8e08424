//! The links of a government portal that lead to 年报 columns: the
//! disclosure hubs (政府信息公开, 信息公开, 政务公开, 法定主动公开内容 …), the
//! 年报 columns themselves, the department lists (部门信息公开, 机构 …) and the
//! departments on them; and what a page says of the site (its name, its
//! 行政区划 code). Pure: `sources find` does the walking.

use std::sync::LazyLock;

use super::outline::Outline;
use regex::Regex;
use url::Url;

use super::column::{is_unit_name, meta, title};
use super::{anchors, base_url, looks_like_listing, names_report};

/// What a link on a portal page leads to, as its text and address say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A 年报 column (政府信息公开年报, 年度报告 …).
    Column,
    /// A disclosure hub on the way to one (政府信息公开, 法定主动公开内容 …).
    Hub,
    /// A list of the departments hosted on the portal (部门信息公开 …).
    Departments,
    /// One department's page, named as the list prints it.
    Department(String),
}

/// A link worth following on the way to the 年报 columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalLink {
    pub url: Url,
    pub text: String,
    pub role: Role,
}

/// Anchor words of disclosure hubs.
const HUB_WORDS: &[&str] = &[
    "政府信息公开",
    "信息公开",
    "政务公开",
    "法定主动公开",
    "主动公开",
    "公开目录",
];
/// Anchor words of the leaves of a hub that lead to no 年报 column.
const LEAF_WORDS: &[&str] = &[
    "指南",
    "制度",
    "依申请",
    "申请表",
    "意见",
    "信箱",
    "规定",
    "办法",
    "通知",
    "公告",
];
/// Anchor words of department lists.
const DEPARTMENT_WORDS: &[&str] = &["部门", "机构", "乡镇", "镇街", "街镇"];
/// A year written in link text: such a link is one report, not a column.
static YEAR: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"(?:19|20)\d{2}").ok());
/// 行政区划代码 written in a page, with its label.
static REGION_TEXT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"行政区划代码\s*[:：]?\s*(\d{6})\b").ok());
/// Separators of `<title>` parts ("首页 - 某县人民政府").
const TITLE_SEPARATORS: &[char] = &['_', '-', '|', '—', '–', '·', '｜'];
/// Endings of a site title that are not part of the name.
const SITE_SUFFIXES: &[&str] = &["门户网站", "网站", "首页", "欢迎您"];

/// The role of a link with `text`, if it leads anywhere towards a column.
/// `in_department`: on a department's own pages, which list no departments.
pub fn role_of(url: &Url, text: &str, in_department: bool) -> Option<Role> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 40 {
        return None;
    }
    if names_report(text) {
        let one_report = YEAR.as_ref().is_some_and(|re| re.is_match(text));
        return (!one_report || looks_like_listing(url)).then_some(Role::Column);
    }
    if LEAF_WORDS.iter().any(|w| text.contains(w)) {
        return None;
    }
    if !in_department && DEPARTMENT_WORDS.iter().any(|w| text.contains(w)) {
        return Some(Role::Departments);
    }
    if HUB_WORDS.iter().any(|w| text.contains(w)) {
        return Some(Role::Hub);
    }
    if !in_department && text.chars().count() >= 3 && is_unit_name(text) {
        return Some(Role::Department(text.to_string()));
    }
    None
}

/// The links of a portal page that lead towards 年报 columns, first
/// finding of a URL kept.
pub fn links(page: &Url, text: &str, in_department: bool) -> Vec<PortalLink> {
    let doc = Outline::parse(text);
    let base = base_url(&doc, page);
    let mut seen = std::collections::HashSet::new();
    anchors(&doc, &base)
        .into_iter()
        .filter_map(|a| {
            let role = role_of(&a.url, &a.text, in_department)?;
            seen.insert(a.url.clone()).then_some(PortalLink {
                url: a.url,
                text: a.text,
                role,
            })
        })
        .collect()
}

/// The site's name: its `SiteName` meta (required on government sites),
/// else the part of `<title>` that names the government.
pub fn site_name(text: &str) -> Option<String> {
    let doc = Outline::parse(text);
    if let Some(name) = meta(&doc, "sitename").map(|n| super::squash(&n)) {
        if !name.is_empty() {
            return Some(name);
        }
    }
    let title = title(&doc)?;
    let parts: Vec<String> = title
        .split(TITLE_SEPARATORS)
        .map(|p| {
            let mut p = super::squash(p);
            for suffix in SITE_SUFFIXES {
                if let Some(head) = p.strip_suffix(suffix) {
                    p = head.trim().to_string();
                }
            }
            p
        })
        .filter(|p| !p.is_empty())
        .collect();
    parts
        .iter()
        .find(|p| is_unit_name(p))
        .or_else(|| parts.last())
        .cloned()
}

/// The 6-digit 行政区划代码 a page gives: the first six digits of its
/// `SiteIdcode` meta (a 10-digit 网站标识码 of a local government starts
/// with it), or a code written after the words 行政区划代码.
pub fn region_code(text: &str) -> Option<String> {
    let doc = Outline::parse(text);
    let from_meta = meta(&doc, "siteidcode")
        .map(|c| c.trim().to_string())
        .filter(|c| c.len() == 10 && c.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|c| c.get(..6).map(str::to_string));
    from_meta
        .or_else(|| {
            REGION_TEXT
                .as_ref()
                .and_then(|re| re.captures(text))
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_string())
        })
        .filter(|c| is_region_code(c))
}

/// Six digits whose first two name a province (11 Beijing … 82 Macao).
pub fn is_region_code(code: &str) -> bool {
    code.len() == 6
        && code.bytes().all(|b| b.is_ascii_digit())
        && code
            .get(..2)
            .and_then(|p| p.parse::<u32>().ok())
            .is_some_and(|p| (11..=82).contains(&p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn roles_of_portal_links() {
        let u = url("http://a.cn/zwgk/");
        assert_eq!(role_of(&u, "政府信息公开", false), Some(Role::Hub));
        assert_eq!(role_of(&u, "法定主动公开内容", false), Some(Role::Hub));
        assert_eq!(role_of(&u, "政府信息公开年报", false), Some(Role::Column));
        assert_eq!(
            role_of(&u, "政府信息公开工作年度报告", false),
            Some(Role::Column)
        );
        let report = url("http://a.cn/zwgk/t20240110_1.html");
        assert_eq!(
            role_of(&report, "某县2023年政府信息公开工作年度报告", false),
            None
        );
        assert_eq!(role_of(&u, "部门信息公开", false), Some(Role::Departments));
        assert_eq!(role_of(&u, "部门信息公开", true), Some(Role::Hub));
        assert_eq!(
            role_of(&u, "县教育局", false),
            Some(Role::Department("县教育局".into()))
        );
        assert_eq!(role_of(&u, "县教育局", true), None);
        assert_eq!(role_of(&u, "政府信息公开指南", false), None);
        assert_eq!(role_of(&u, "县长调研春耕", false), None);
    }

    #[test]
    fn site_name_and_region() {
        let page = "<html><head><title>首页 - 某县人民政府门户网站</title>\
                    <meta name=\"SiteIdcode\" content=\"3501280001\"></head></html>";
        assert_eq!(site_name(page).as_deref(), Some("某县人民政府"));
        assert_eq!(region_code(page).as_deref(), Some("350128"));
        let page =
            "<html><head><meta name=\"SiteName\" content=\"某市人民政府\"><title>x</title></head>\
                    <body>行政区划代码：440300</body></html>";
        assert_eq!(site_name(page).as_deref(), Some("某市人民政府"));
        assert_eq!(region_code(page).as_deref(), Some("440300"));
        assert_eq!(
            region_code("<meta name=\"SiteIdcode\" content=\"bm0100001\">"),
            None
        );
        assert!(!is_region_code("990000"));
    }
}
