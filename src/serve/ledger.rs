//! What the captures of a report URL tell about it over time: first seen,
//! last served, gone since (404/410, a redirect, an error), and figures that
//! changed between two captures of the same page (a silent edit).

use std::collections::BTreeMap;
use std::fmt::Write;

use axum::extract::State;
use axum::response::Response;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use super::html::{self, esc, number, report_link};
use super::{read, ServeError, Shared};

/// The availability and edits of one URL.
#[derive(Debug, Clone, Serialize)]
pub struct UrlLedger {
    pub url: String,
    pub first_seen: String,
    pub last_served: Option<String>,
    /// `served`, `gone` (404/410), `redirected`, `blocked`, or `error`.
    pub state: String,
    /// The first capture that failed after the last one served.
    pub gone_since: Option<String>,
    pub last_status: i64,
    pub edits: Vec<Edit>,
}

/// A figure that differs between two consecutive captures of a page.
#[derive(Debug, Clone, Serialize)]
pub struct Edit {
    /// When the later capture was made.
    pub at: String,
    pub before_capture: i64,
    pub after_capture: i64,
    /// `table.row.col`, prefixed with the report's position when a page holds several.
    pub code: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

fn state_of(status: i64, blocked: bool) -> &'static str {
    match status {
        _ if blocked => "blocked",
        200..=299 => "served",
        404 | 410 => "gone",
        300..=399 => "redirected",
        _ => "error",
    }
}

pub fn for_url(conn: &Connection, url: &str) -> Result<UrlLedger, ServeError> {
    let (first_seen, last_served, last_id): (Option<String>, Option<String>, Option<i64>) = conn
        .query_row(
            "SELECT MIN(fetched_at),
                    MAX(CASE WHEN status BETWEEN 200 AND 299 THEN fetched_at END),
                    MAX(CASE WHEN status BETWEEN 200 AND 299 THEN id END)
             FROM captures WHERE url = ?1",
            [url],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
    let (last_status, last_at): (i64, String) = conn
        .query_row(
            "SELECT status, fetched_at FROM captures WHERE url = ?1 ORDER BY id DESC LIMIT 1",
            [url],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, String::new()));
    let blocked = conn
        .query_row(
            "SELECT state = 'blocked' FROM frontier WHERE url = ?1",
            [url],
            |r| r.get::<_, bool>(0),
        )
        .optional()?
        .unwrap_or(false);
    let state = state_of(last_status, blocked).to_string();
    let gone_since = if state == "served" {
        None
    } else {
        conn.query_row(
            "SELECT MIN(fetched_at) FROM captures WHERE url = ?1 AND id > ?2",
            rusqlite::params![url, last_id.unwrap_or(0)],
            |r| r.get::<_, Option<String>>(0),
        )?
        .or(Some(last_at))
    };
    Ok(UrlLedger {
        url: url.to_string(),
        first_seen: first_seen.unwrap_or_default(),
        last_served,
        state,
        gone_since,
        last_status,
        edits: edits(conn, url)?,
    })
}

type Figures = BTreeMap<String, String>;

/// The figures of every capture of `url` that yielded reports, compared in turn.
fn edits(conn: &Connection, url: &str) -> Result<Vec<Edit>, ServeError> {
    let mut stmt = conn.prepare(
        "SELECT k.id, k.fetched_at, r.ordinal, c.table_code, c.row_code, c.col_code, c.value, c.raw
         FROM captures k JOIN reports r ON r.capture_id = k.id JOIN cells c ON c.report_id = r.id
         WHERE k.url = ?1 ORDER BY k.id",
    )?;
    let mut captures: Vec<(i64, String, Figures)> = Vec::new();
    let mut rows = stmt.query([url])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        if captures.last().is_none_or(|(last, _, _)| *last != id) {
            captures.push((id, r.get(1)?, Figures::new()));
        }
        let ordinal: i64 = r.get(2)?;
        let code = format!(
            "{}{}.{}.{}",
            if ordinal > 0 {
                format!("#{ordinal} ")
            } else {
                String::new()
            },
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?
        );
        let value: Option<f64> = r.get(6)?;
        let shown = value.map_or_else(|| r.get::<_, String>(7), |v| Ok(number(v)))?;
        if let Some((_, _, figs)) = captures.last_mut() {
            figs.insert(code, shown);
        }
    }
    let mut out = Vec::new();
    for pair in captures.windows(2) {
        let [(a_id, _, a), (b_id, at, b)] = pair else {
            continue;
        };
        for code in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
            let (before, after) = (a.get(code), b.get(code));
            if before != after {
                out.push(Edit {
                    at: at.clone(),
                    before_capture: *a_id,
                    after_capture: *b_id,
                    code: code.clone(),
                    before: before.cloned(),
                    after: after.cloned(),
                });
            }
        }
    }
    Ok(out)
}

/// A report URL with its ledger and the latest report read from it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub report_id: i64,
    pub title: String,
    pub ledger: UrlLedger,
}

/// Every URL that ever yielded a report, with its ledger.
pub fn all(conn: &Connection) -> Result<Vec<Entry>, ServeError> {
    let mut stmt = conn.prepare(
        "SELECT u.url, u.rid, r.title
         FROM (SELECT k.url, MAX(r.id) AS rid FROM reports r JOIN captures k ON k.id = r.capture_id
               GROUP BY k.url) u
         JOIN reports r ON r.id = u.rid ORDER BY u.url",
    )?;
    let urls = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<Vec<(String, i64, String)>, _>>()?;
    urls.into_iter()
        .map(|(url, report_id, title)| {
            Ok(Entry {
                report_id,
                title,
                ledger: for_url(conn, &url)?,
            })
        })
        .collect()
}

pub async fn page(State(site): State<Shared>) -> Result<Response, ServeError> {
    let entries = read(&site, |_, reader| all(reader.conn())).await?;
    Ok(html::page("变动 Changes", &render(&entries)))
}

fn render(entries: &[Entry]) -> String {
    let mut out = String::from("<h1>消失与改动 What vanished or changed</h1>");
    let vanished: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.ledger.state != "served")
        .collect();
    let _ = write!(
        out,
        "<h2>不再提供 No longer served ({})</h2><table id=\"vanished\"><tr><th>报告</th><th>状态</th>\
         <th>HTTP</th><th>最后正常返回</th><th>不可用自</th></tr>",
        vanished.len()
    );
    for e in vanished {
        let l = &e.ledger;
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"bad\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            report_link(e.report_id, &e.title),
            esc(&l.state),
            l.last_status,
            esc(l.last_served.as_deref().unwrap_or("—")),
            esc(l.gone_since.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>");
    let edited: Vec<&Entry> = entries
        .iter()
        .filter(|e| !e.ledger.edits.is_empty())
        .collect();
    let _ = write!(
        out,
        "<h2>数字被改动 Figures edited after publication ({})</h2><table id=\"edited\">\
         <tr><th>报告</th><th>时间</th><th>数字</th><th>之前</th><th>之后</th></tr>",
        edited.len()
    );
    for e in edited {
        for d in &e.ledger.edits {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                report_link(e.report_id, &e.title),
                esc(&d.at),
                esc(&d.code),
                esc(d.before.as_deref().unwrap_or("")),
                esc(d.after.as_deref().unwrap_or(""))
            );
        }
    }
    out.push_str("</table>");
    let _ = write!(
        out,
        "<h2>全部报告网址 Every report URL ({})</h2><table id=\"availability\"><tr><th>报告</th>\
         <th>首次抓取</th><th>最后正常返回</th><th>状态</th></tr>",
        entries.len()
    );
    for e in entries {
        let l = &e.ledger;
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            report_link(e.report_id, &e.title),
            esc(&l.first_seen),
            esc(l.last_served.as_deref().unwrap_or("—")),
            esc(&l.state)
        );
    }
    out.push_str("</table>");
    out
}
