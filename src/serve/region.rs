//! The region page: the agencies of a region prefix side by side for one year.

use std::fmt::Write;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use rusqlite::types::Value;
use serde::{Deserialize, Serialize};

use super::catalog::{self, ReportRow};
use super::figures::{self, KEY_FIGURES};
use super::html::{self, agency_link, enc, esc, number, report_link};
use super::{read, ServeError, Shared};

#[derive(Debug, Deserialize)]
pub struct RegionParams {
    year: Option<String>,
}

/// One agency's report of the year and its key figures.
#[derive(Debug, Serialize)]
pub struct RegionRow {
    pub report: ReportRow,
    pub figures: Vec<Option<f64>>,
}

#[derive(Debug, Serialize)]
pub struct RegionView {
    pub prefix: String,
    pub year: Option<i64>,
    /// Years with reports in the region, newest first.
    pub years: Vec<i64>,
    pub figures: Vec<&'static str>,
    pub rows: Vec<RegionRow>,
}

pub async fn load(
    site: &Shared,
    prefix: String,
    params: RegionParams,
) -> Result<RegionView, ServeError> {
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ServeError::BadRequest(format!(
            "{prefix:?} is not a region code prefix (digits, e.g. 44 or 440307)"
        )));
    }
    let wanted = match params
        .year
        .as_deref()
        .map(str::trim)
        .filter(|y| !y.is_empty())
    {
        Some(y) => Some(
            y.parse::<i64>()
                .map_err(|_| ServeError::BadRequest(format!("year={y:?} is not a year")))?,
        ),
        None => None,
    };
    read(site, move |site, reader| {
        let conn = reader.conn();
        let sources = site.sources_in(&prefix);
        let marks = vec!["?"; sources.len()].join(",");
        let cond = if sources.is_empty() {
            "0".to_string()
        } else {
            format!("v.source IN ({marks})")
        };
        let params: Vec<Value> = sources.into_iter().map(Value::Text).collect();
        let all = catalog::reports_where(site, conn, &cond, params)?;
        let mut years: Vec<i64> = all.iter().filter_map(|r| r.year).collect();
        years.sort_unstable_by(|a, b| b.cmp(a));
        years.dedup();
        let year = wanted.or(years.first().copied());
        let mut chosen: Vec<ReportRow> = all.into_iter().filter(|r| r.year == year).collect();
        chosen.sort_by(|a, b| a.agency.cmp(&b.agency).then(b.id.cmp(&a.id)));
        chosen.dedup_by(|a, b| a.agency == b.agency);
        let ids: Vec<i64> = chosen.iter().map(|r| r.id).collect();
        let mut figs = figures::key_figures_of(conn, &ids)?;
        let rows = chosen
            .into_iter()
            .map(|r| RegionRow {
                figures: figs
                    .remove(&r.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(v, _)| v)
                    .collect(),
                report: r,
            })
            .collect();
        Ok(RegionView {
            prefix,
            year,
            years,
            figures: KEY_FIGURES.iter().map(|f| f.key).collect(),
            rows,
        })
    })
    .await
}

pub async fn page(
    State(site): State<Shared>,
    Path(prefix): Path<String>,
    Query(params): Query<RegionParams>,
) -> Result<Response, ServeError> {
    let view = load(&site, prefix, params).await?;
    Ok(html::page(&format!("地区 {}", view.prefix), &render(&view)))
}

fn render(v: &RegionView) -> String {
    let mut out = format!("<h1>地区 Region {}</h1><p>年份 year: ", esc(&v.prefix));
    for y in &v.years {
        let on = if Some(*y) == v.year {
            " class=\"on\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<a{on} href=\"/regions/{}?year={y}\">{y}</a> ",
            enc(&v.prefix)
        );
    }
    out.push_str("</p><table id=\"region\"><tr><th>机关</th><th>报告</th>");
    for f in KEY_FIGURES {
        let _ = write!(out, "<th>{}</th>", esc(f.zh));
    }
    out.push_str("<th>恒等式</th></tr>");
    for row in &v.rows {
        let r = &row.report;
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td>",
            r.agency.as_deref().map_or_else(String::new, agency_link),
            report_link(r.id, &r.title)
        );
        for f in &row.figures {
            let _ = write!(
                out,
                "<td class=\"n\">{}</td>",
                f.map_or_else(String::new, number)
            );
        }
        let _ = write!(out, "<td>{}</td></tr>", esc(&r.identities));
    }
    out.push_str("</table>");
    out
}

/// Every configured region code, with links.
pub async fn index(State(site): State<Shared>) -> Result<Response, ServeError> {
    let mut out = String::from("<h1>地区 Regions</h1><ul id=\"regions\">");
    let mut seen: Vec<&str> = Vec::new();
    for s in &site.sources {
        let Some(r) = s.region.as_deref() else {
            continue;
        };
        for prefix in [r.get(..2).unwrap_or(r), r.get(..4).unwrap_or(r), r] {
            if seen.contains(&prefix) {
                continue;
            }
            seen.push(prefix);
            let _ = write!(
                out,
                "<li><a href=\"/regions/{}\">{}</a></li>",
                enc(prefix),
                esc(prefix)
            );
        }
    }
    if seen.is_empty() {
        out.push_str("<li class=\"muted\">配置中没有行政区划代码。No source of the config names a region.</li>");
    }
    out.push_str("</ul>");
    Ok(html::page("地区 Regions", &out))
}
