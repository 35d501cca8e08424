//! The reports list: search by title or agency, facets, pages of 50.

use std::fmt::Write;

use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::catalog::{self, ReportPage, ReportQuery};
use super::html::{self, agency_link, enc, esc, report_link};
use super::{read, ServeError, Shared};

/// The query string as sent; parsed by `ReportQuery::from_params`, which
/// names the parameter that is wrong.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    q: Option<String>,
    region: Option<String>,
    agency: Option<String>,
    year: Option<String>,
    format: Option<String>,
    kind: Option<String>,
    broken: Option<String>,
    all: Option<String>,
    page: Option<String>,
}

fn given(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn flag(s: Option<String>) -> bool {
    matches!(given(s).as_deref(), Some("1" | "true" | "yes" | "on"))
}

impl ReportQuery {
    pub fn from_params(p: Params) -> Result<Self, ServeError> {
        let year = given(p.year)
            .map(|y| {
                y.parse::<i64>()
                    .map_err(|_| ServeError::BadRequest(format!("year={y:?} is not a year")))
            })
            .transpose()?;
        let page = given(p.page)
            .map(|n| {
                n.parse::<u32>()
                    .map_err(|_| ServeError::BadRequest(format!("page={n:?} is not a page number")))
            })
            .transpose()?
            .unwrap_or(1)
            .max(1);
        if let Some(r) = given(p.region.clone()) {
            if !r.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ServeError::BadRequest(format!(
                    "region={r:?} is not a region code prefix (digits, e.g. 44 or 440307)"
                )));
            }
        }
        Ok(Self {
            q: given(p.q),
            region: given(p.region),
            agency: given(p.agency),
            year,
            format: given(p.format),
            kind: given(p.kind),
            broken: flag(p.broken),
            all: flag(p.all),
            page,
        })
    }

    /// The pairs of the query string that selects these reports.
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut push = |k: &'static str, v: Option<String>| {
            if let Some(v) = v {
                out.push((k, v));
            }
        };
        push("q", self.q.clone());
        push("region", self.region.clone());
        push("agency", self.agency.clone());
        push("year", self.year.map(|y| y.to_string()));
        push("format", self.format.clone());
        push("kind", self.kind.clone());
        push("broken", self.broken.then(|| "1".to_string()));
        push("all", self.all.then(|| "1".to_string()));
        out
    }

    /// This list with one parameter set (or removed) and the first page.
    fn with(&self, key: &str, value: Option<&str>) -> String {
        let mut pairs: Vec<(&str, String)> = self
            .pairs()
            .into_iter()
            .filter(|(k, _)| *k != key)
            .collect();
        if let Some(v) = value {
            pairs.push((key, v.to_string()));
        }
        href(&pairs)
    }
}

fn href(pairs: &[(&str, String)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    format!("/reports?{}", q.join("&"))
}

pub async fn page(
    State(site): State<Shared>,
    Query(params): Query<Params>,
) -> Result<Response, ServeError> {
    let q = ReportQuery::from_params(params)?;
    let shown = q.clone();
    let result = read(&site, move |site, reader| {
        catalog::reports(site, reader.conn(), &shown)
    })
    .await?;
    Ok(html::page("年报 Reports", &render(&q, &result)))
}

const FACET_NAMES: &[(&str, &str)] = &[
    ("year", "年份 year"),
    ("format", "格式 format"),
    ("kind", "来自 from"),
    ("identities", "恒等式 identities"),
    ("agency", "机关 agency"),
];

fn render(q: &ReportQuery, page: &ReportPage) -> String {
    let mut out = String::from("<h1>年报 Reports</h1>");
    let _ = write!(
        out,
        "<form class=\"search\" method=\"get\" action=\"/reports\">\
         <input type=\"text\" name=\"q\" value=\"{}\" placeholder=\"标题或机关 title or agency\">\
         <input type=\"text\" name=\"region\" value=\"{}\" placeholder=\"行政区划 region (44…)\" size=\"8\">",
        esc(q.q.as_deref().unwrap_or("")),
        esc(q.region.as_deref().unwrap_or(""))
    );
    for (k, v) in q.pairs() {
        if k != "q" && k != "region" {
            let _ = write!(
                out,
                "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
                esc(&v)
            );
        }
    }
    out.push_str("<button>搜索 Search</button></form><div class=\"facets\">");
    for (name, label) in FACET_NAMES {
        let Some((_, values)) = page.facets.iter().find(|(n, _)| n == name) else {
            continue;
        };
        let _ = write!(out, "<div id=\"facet-{name}\"><b>{label}</b><br>");
        for v in values {
            let (param, value) = match *name {
                "identities" => ("broken", (v.value == "some_broken").then_some("1")),
                _ => (*name, Some(v.value.as_str())),
            };
            let on = match *name {
                "year" => q.year.map(|y| y.to_string()).as_deref() == Some(v.value.as_str()),
                "format" => q.format.as_deref() == Some(v.value.as_str()),
                "kind" => q.kind.as_deref() == Some(v.value.as_str()),
                "agency" => q.agency.as_deref() == Some(v.value.as_str()),
                _ => q.broken && v.value == "some_broken",
            };
            let target = if on {
                q.with(param, None)
            } else {
                q.with(param, value)
            };
            let shown = if v.value.is_empty() { "?" } else { &v.value };
            let _ = write!(
                out,
                "<a href=\"{}\"{}>{}</a> ({})<br>",
                esc(&target),
                if on { " class=\"on\"" } else { "" },
                esc(shown),
                v.count
            );
        }
        out.push_str("</div>");
    }
    let _ = write!(
        out,
        "</div><p id=\"count\">{} 份报告 reports{}</p>",
        page.total,
        if q.all {
            ""
        } else {
            " (每个网址最新一次 latest capture of each URL)"
        }
    );
    out.push_str("<table id=\"reports\"><tr><th>报告</th><th>机关</th><th>年份</th><th>格式</th><th>来自</th><th>数字</th><th>恒等式</th><th>抓取</th></tr>");
    for r in &page.reports {
        let ids = if r.checks_broken > 0 {
            format!("<span class=\"bad\">{} 不成立</span>", r.checks_broken)
        } else {
            esc(&r.identities)
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{ids}</td><td class=\"small\">{}</td></tr>",
            report_link(r.id, &r.title),
            r.agency.as_deref().map_or_else(String::new, agency_link),
            r.year.map_or_else(String::new, |y| y.to_string()),
            esc(&r.format),
            esc(&r.kind),
            r.cells,
            esc(&r.fetched_at)
        );
    }
    out.push_str("</table><p class=\"pager\">");
    let pages = (page.total.max(0) as u64)
        .div_ceil(u64::from(page.per_page))
        .max(1);
    let mut pairs = q.pairs();
    if page.page > 1 {
        pairs.push(("page", (page.page - 1).to_string()));
        let _ = write!(out, "<a href=\"{}\">← 上一页</a>", esc(&href(&pairs)));
        pairs.pop();
    }
    let _ = write!(out, "第 {} / {pages} 页", page.page);
    if u64::from(page.page) < pages {
        pairs.push(("page", (page.page + 1).to_string()));
        let _ = write!(out, " <a href=\"{}\">下一页 →</a>", esc(&href(&pairs)));
    }
    out.push_str("</p>");
    out
}
