//! The overview: what the archive holds and how the crawls went.

use std::fmt::Write;

use axum::extract::State;
use axum::response::Response;
use rusqlite::Connection;
use serde::Serialize;

use super::catalog::{counts, scalar};
use super::html::{self, enc, esc};
use super::{read, ServeError, Shared, Site};

#[derive(Debug, Clone, Serialize)]
pub struct SourceLine {
    pub name: String,
    pub region: Option<String>,
    pub captures: i64,
    pub reports: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub captures: i64,
    pub failures: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub captures: i64,
    pub reports: i64,
    pub cells: i64,
    pub sources: Vec<SourceLine>,
    /// (year, format, reports), latest captures only.
    pub by_year_format: Vec<(Option<i64>, String, i64)>,
    /// Reports by identity result.
    pub identities: Vec<(String, i64)>,
    /// Identity checks: held, broken, not checkable.
    pub checks: (i64, i64, i64),
    pub failures: Vec<(String, i64)>,
    /// Frontier entries refused (robots.txt, block pages) by outcome.
    pub blocked: Vec<(String, i64)>,
    pub runs: Vec<Run>,
}

/// What the overview depends on, cheap to read: when none of it moved, the
/// archive holds what it held when the overview was computed.
pub type Stamp = [Option<String>; 7];

pub(super) fn stamp(conn: &Connection) -> Result<Stamp, ServeError> {
    Ok(conn.query_row(
        "SELECT (SELECT MAX(id) FROM captures), (SELECT MAX(id) FROM reports),
           (SELECT COUNT(*) FROM reports), (SELECT MAX(id) FROM failures),
           (SELECT COUNT(*) || ' ' || COALESCE(MAX(finished_at), '') FROM runs),
           (SELECT COUNT(*) || ' ' || COALESCE(MAX(updated_at), '') FROM sources),
           (SELECT MAX(rowid) FROM frontier)",
        [],
        |r| {
            let text = |i: usize| -> rusqlite::Result<Option<String>> {
                Ok(match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => None,
                    rusqlite::types::ValueRef::Integer(n) => Some(n.to_string()),
                    rusqlite::types::ValueRef::Text(t) => {
                        Some(String::from_utf8_lossy(t).into_owned())
                    }
                    _ => None,
                })
            };
            Ok([
                text(0)?,
                text(1)?,
                text(2)?,
                text(3)?,
                text(4)?,
                text(5)?,
                text(6)?,
            ])
        },
    )?)
}

/// The overview, from the cache while the archive has not changed: its
/// counts go over every report, which at 100k reports takes seconds.
pub fn cached(site: &Site, conn: &Connection) -> Result<Overview, ServeError> {
    let now = stamp(conn)?;
    if let Ok(cache) = site.overview.lock() {
        if let Some((at, o)) = cache.as_ref() {
            if *at == now {
                return Ok(o.clone());
            }
        }
    }
    let fresh = load(site, conn)?;
    if let Ok(mut cache) = site.overview.lock() {
        *cache = Some((now, fresh.clone()));
    }
    Ok(fresh)
}

pub fn load(site: &Site, conn: &Connection) -> Result<Overview, ServeError> {
    let mut sources: Vec<SourceLine> = Vec::new();
    let per_source = counts(
        conn,
        "SELECT source, COUNT(*) FROM captures GROUP BY source ORDER BY source",
    )?;
    let reports_per = counts(
        conn,
        "SELECT source, COUNT(*) FROM v_reports WHERE latest GROUP BY source",
    )?;
    let reports_of = |name: &str| {
        reports_per
            .iter()
            .find(|(s, _)| s == name)
            .map_or(0, |(_, n)| *n)
    };
    for s in &site.sources {
        sources.push(SourceLine {
            name: s.name.clone(),
            region: s.region.clone(),
            captures: per_source
                .iter()
                .find(|(n, _)| *n == s.name)
                .map_or(0, |(_, c)| *c),
            reports: reports_of(&s.name),
        });
    }
    for (name, captures) in &per_source {
        if !site.sources.iter().any(|s| &s.name == name) {
            sources.push(SourceLine {
                name: name.clone(),
                region: None,
                captures: *captures,
                reports: reports_of(name),
            });
        }
    }
    let mut stmt = conn.prepare(
        "SELECT year, format, COUNT(*) FROM v_reports WHERE latest
         GROUP BY year, format ORDER BY year DESC, format",
    )?;
    let by_year_format = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let checks = conn.query_row(
        "SELECT COALESCE(SUM(checks_held),0), COALESCE(SUM(checks_broken),0),
                COALESCE(SUM(checks_uncheckable),0) FROM v_reports WHERE latest",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut stmt = conn.prepare(
        "SELECT r.id, r.started_at, r.finished_at,
                (SELECT COUNT(*) FROM captures k WHERE k.id > r.captures_before
                   AND k.id <= COALESCE((SELECT MIN(n.captures_before) FROM runs n WHERE n.id > r.id),
                                        (SELECT MAX(id) FROM captures))),
                (SELECT COUNT(*) FROM failures f WHERE f.id > r.failures_before
                   AND f.id <= COALESCE((SELECT MIN(n.failures_before) FROM runs n WHERE n.id > r.id),
                                        (SELECT MAX(id) FROM failures)))
         FROM runs r ORDER BY r.id DESC LIMIT 10",
    )?;
    let runs = stmt
        .query_map([], |r| {
            Ok(Run {
                id: r.get(0)?,
                started_at: r.get(1)?,
                finished_at: r.get(2)?,
                captures: r.get(3)?,
                failures: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Overview {
        captures: scalar(conn, "SELECT COUNT(*) FROM captures")?,
        reports: scalar(conn, "SELECT COUNT(*) FROM reports")?,
        cells: scalar(conn, "SELECT COUNT(*) FROM cells")?,
        sources,
        by_year_format,
        identities: counts(
            conn,
            "SELECT identities, COUNT(*) FROM v_reports WHERE latest GROUP BY identities ORDER BY identities",
        )?,
        checks,
        failures: counts(
            conn,
            "SELECT kind, COUNT(*) FROM failures GROUP BY kind ORDER BY COUNT(*) DESC",
        )?,
        blocked: counts(
            conn,
            "SELECT COALESCE(outcome, 'blocked'), COUNT(*) FROM frontier WHERE state = 'blocked'
             GROUP BY outcome ORDER BY COUNT(*) DESC",
        )?,
        runs,
    })
}

pub async fn page(State(site): State<Shared>) -> Result<Response, ServeError> {
    let o = read(&site, |site, reader| cached(site, reader.conn())).await?;
    Ok(html::page("概览 Overview", &render(&o)))
}

fn pairs(id: &str, head: &str, rows: &[(String, i64)]) -> String {
    let mut out = format!("<table id=\"{id}\"><tr><th>{head}</th><th>数量</th></tr>");
    for (k, n) in rows {
        let _ = write!(out, "<tr><td>{}</td><td class=\"n\">{n}</td></tr>", esc(k));
    }
    out.push_str("</table>");
    out
}

fn render(o: &Overview) -> String {
    let mut out = format!(
        "<h1>档案概览 Overview</h1><p id=\"totals\">{} 次抓取 captures · {} 份报告 reports · {} 个数字 figures</p>",
        o.captures, o.reports, o.cells
    );
    out.push_str("<div class=\"facets\"><div><h3>来源 Sources</h3><table id=\"sources\"><tr><th>来源</th><th>行政区划</th><th>抓取</th><th>报告</th></tr>");
    for s in &o.sources {
        let region = s.region.as_deref().map_or_else(String::new, |r| {
            format!("<a href=\"/regions/{}\">{}</a>", enc(r), esc(r))
        });
        let name = if s.name.is_empty() {
            "（手动抓取 by hand）".to_string()
        } else {
            esc(&s.name)
        };
        let _ = write!(
            out,
            "<tr><td>{name}</td><td>{region}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            s.captures, s.reports
        );
    }
    out.push_str("</table></div><div><h3>年份与格式 Reports per year and format</h3><table id=\"years\"><tr><th>年份</th><th>格式</th><th>报告</th></tr>");
    for (year, format, n) in &o.by_year_format {
        let y = year.map_or_else(|| "?".to_string(), |y| y.to_string());
        let _ = write!(
            out,
            "<tr><td><a href=\"/reports?year={y}\">{y}</a></td><td>{}</td><td class=\"n\">{n}</td></tr>",
            esc(format)
        );
    }
    out.push_str("</table></div><div><h3>恒等式 Identities</h3>");
    let (held, broken, open) = o.checks;
    let _ = write!(
        out,
        "<p id=\"checks\">核对 checks: <span class=\"good\">{held} 成立 holding</span> · \
         <a class=\"bad\" href=\"/reports?broken=1\">{broken} 不成立 broken</a> · {open} 无法核对 not checkable</p>"
    );
    out.push_str(&pairs("identities", "报告 reports", &o.identities));
    out.push_str("</div><div><h3>失败 Failures by kind</h3>");
    out.push_str(&pairs("failures", "类型 kind", &o.failures));
    out.push_str("<h3>被拒 Blocked</h3>");
    out.push_str(&pairs("blocked", "原因 outcome", &o.blocked));
    out.push_str("</div></div><h3>最近的抓取 Last runs</h3><table id=\"runs\"><tr><th>#</th><th>开始</th><th>结束</th><th>抓取</th><th>失败</th></tr>");
    for r in &o.runs {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            r.id,
            esc(&r.started_at),
            esc(r.finished_at.as_deref().unwrap_or("未完成 unfinished")),
            r.captures,
            r.failures
        );
    }
    out.push_str("</table>");
    out
}
