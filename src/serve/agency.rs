//! The agency page: its key figures across years as charts (gaps where a
//! year is missing), and its reports.

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::response::Response;
use rusqlite::types::Value;

use super::catalog::{self, ReportRow};
use super::figures::{self, KeyFigure, Point};
use super::html::{self, esc, number, report_link, unit_zh};
use super::{read, ServeError, Shared};

pub struct AgencyView {
    pub agency: String,
    pub series: Vec<(&'static KeyFigure, Vec<Point>)>,
    pub reports: Vec<ReportRow>,
}

pub async fn page(
    State(site): State<Shared>,
    Path(agency): Path<String>,
) -> Result<Response, ServeError> {
    let name = agency.clone();
    let view = read(&site, move |site, reader| {
        let conn = reader.conn();
        let reports =
            catalog::reports_where(site, conn, "v.agency = ?", vec![Value::Text(name.clone())])?;
        if reports.is_empty() {
            return Err(ServeError::NotFound(format!("agency {name:?}")));
        }
        Ok(AgencyView {
            series: figures::key_series(conn, &name)?,
            reports,
            agency: name,
        })
    })
    .await?;
    Ok(html::page(&view.agency, &render(&view)))
}

fn render(v: &AgencyView) -> String {
    let mut out = format!(
        "<h1>{}</h1><p>{} 份报告 reports · <a href=\"/reports?agency={}\">在列表中 in the list</a></p>",
        esc(&v.agency),
        v.reports.len(),
        html::enc(&v.agency)
    );
    out.push_str("<div class=\"facets\">");
    for (f, points) in &v.series {
        if points.iter().all(|p| p.value.is_none()) {
            continue;
        }
        let unit = points
            .iter()
            .find_map(|p| p.unit.as_deref())
            .map_or("", |u| unit_zh(Some(u)));
        let title = format!("{} {} {}", f.zh, f.en, unit);
        let _ = write!(
            out,
            "<div><b>{}</b><br>{}</div>",
            esc(&title),
            figures::chart(&format!("chart-{}", f.key), &title, points)
        );
    }
    out.push_str("</div><h3>各年数字 Figures by year</h3><table id=\"series\"><tr><th>年份</th>");
    for (f, _) in &v.series {
        let _ = write!(out, "<th>{}</th>", esc(f.zh));
    }
    out.push_str("</tr>");
    let years: Vec<i64> = v
        .series
        .first()
        .map(|(_, p)| p.iter().map(|p| p.year).collect())
        .unwrap_or_default();
    for (i, year) in years.iter().enumerate() {
        let _ = write!(out, "<tr><td>{year}</td>");
        for (_, points) in &v.series {
            let cell = points
                .get(i)
                .and_then(|p| p.value)
                .map_or_else(String::new, number);
            let _ = write!(out, "<td class=\"n\">{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table><h3>报告 Reports</h3><ul id=\"agency-reports\">");
    for r in &v.reports {
        let _ = write!(
            out,
            "<li>{} <span class=\"small muted\">{} · {}</span></li>",
            report_link(r.id, &r.title),
            r.year.map_or_else(|| "?".into(), |y| y.to_string()),
            esc(&r.identities)
        );
    }
    out.push_str("</ul>");
    out
}
