//! The recorded availability and change ledger (`crate::ledger`) as pages:
//! per report URL its state in every run that visited it, first and last
//! seen, gone since, and the figures edited after publication.

use std::fmt::Write;

use axum::extract::State;
use axum::response::Response;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use super::html::{self, esc, number, report_link};
use super::{read, ServeError, Shared};

/// The state an archive without a recorded ledger (or a URL no run
/// visited) shows.
const UNRECORDED: &str = "unrecorded";

/// The availability and edits of one URL.
#[derive(Debug, Clone, Serialize)]
pub struct UrlLedger {
    pub url: String,
    /// First run that found the report served.
    pub first_seen: Option<String>,
    /// Last run that found it served.
    pub last_served: Option<String>,
    /// The state of the last run that visited it (`ledger.rs`), or `unrecorded`.
    pub state: String,
    pub reason: Option<String>,
    /// The first `gone` after the last time it was served.
    pub gone_since: Option<String>,
    pub gone_since_run: Option<i64>,
    pub last_status: Option<i64>,
    pub runs: Vec<RunState>,
    pub edits: Vec<Edit>,
}

/// What one run found at the URL.
#[derive(Debug, Clone, Serialize)]
pub struct RunState {
    pub run_id: i64,
    pub state: String,
    pub reason: Option<String>,
    pub status: Option<i64>,
    pub capture_id: Option<i64>,
    pub checked_at: String,
    pub cells_changed: i64,
}

/// A figure that differs between two captures of a page.
#[derive(Debug, Clone, Serialize)]
pub struct Edit {
    pub run_id: i64,
    /// When the later capture was made.
    pub at: String,
    pub before_capture: i64,
    pub after_capture: i64,
    /// `table.row.col`, prefixed with the report's position when a page holds several.
    pub code: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

fn recorded(conn: &Connection) -> Result<bool, ServeError> {
    Ok(crate::ledger::readable(conn)?)
}

pub fn for_url(conn: &Connection, url: &str) -> Result<UrlLedger, ServeError> {
    let mut out = UrlLedger {
        url: url.to_string(),
        first_seen: None,
        last_served: None,
        state: UNRECORDED.into(),
        reason: None,
        gone_since: None,
        gone_since_run: None,
        last_status: None,
        runs: Vec::new(),
        edits: Vec::new(),
    };
    if !recorded(conn)? {
        return Ok(out);
    }
    let summary = conn
        .query_row(
            "SELECT first_seen, last_seen, state, reason, gone_since, gone_since_run, status
             FROM v_ledger WHERE report_url = ?1",
            [url],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get::<_, String>(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .optional()?;
    if let Some((first, last, state, reason, gone, gone_run, status)) = summary {
        out.first_seen = first;
        out.last_served = last;
        out.state = state;
        out.reason = reason;
        out.gone_since = gone;
        out.gone_since_run = gone_run;
        out.last_status = status;
    }
    out.runs = runs(conn, url)?;
    out.edits = edits(conn, url)?;
    Ok(out)
}

fn runs(conn: &Connection, url: &str) -> Result<Vec<RunState>, ServeError> {
    let mut stmt = conn.prepare_cached(
        "SELECT run_id, state, reason, status, capture_id, checked_at, cells_changed
         FROM availability WHERE report_url = ?1 ORDER BY run_id",
    )?;
    let rows = stmt.query_map([url], |r| {
        Ok(RunState {
            run_id: r.get(0)?,
            state: r.get(1)?,
            reason: r.get(2)?,
            status: r.get(3)?,
            capture_id: r.get(4)?,
            checked_at: r.get(5)?,
            cells_changed: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn edits(conn: &Connection, url: &str) -> Result<Vec<Edit>, ServeError> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.run_id, COALESCE(k.fetched_at, ''), c.old_capture, c.new_capture, c.ordinal,
           c.table_code, c.row_code, c.col_code, c.old_value, c.old_raw, c.new_value, c.new_raw
         FROM changes c LEFT JOIN captures k ON k.id = c.new_capture
         WHERE c.report_url = ?1 ORDER BY c.run_id, c.ordinal, c.table_code, c.row_code, c.col_code",
    )?;
    let shown = |value: Option<f64>, raw: Option<String>| value.map(number).or(raw);
    let rows = stmt.query_map([url], |r| {
        let ordinal: i64 = r.get(4)?;
        let prefix = if ordinal > 0 {
            format!("#{ordinal} ")
        } else {
            String::new()
        };
        Ok(Edit {
            run_id: r.get(0)?,
            at: r.get(1)?,
            before_capture: r.get(2)?,
            after_capture: r.get(3)?,
            code: format!(
                "{prefix}{}.{}.{}",
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?
            ),
            before: shown(r.get(8)?, r.get(9)?),
            after: shown(r.get(10)?, r.get(11)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A report URL with its ledger and the latest report read from it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub report_id: i64,
    pub title: String,
    pub ledger: UrlLedger,
}

/// The ledger's headline: report URLs per state of their last visit.
#[derive(Debug, Clone, Serialize)]
pub struct Changes {
    pub states: Vec<(String, i64)>,
    /// URLs no longer served or with an edited figure.
    pub entries: Vec<Entry>,
}

/// Every URL that is no longer served or had a figure edited, with its ledger.
pub fn all(conn: &Connection) -> Result<Changes, ServeError> {
    if !recorded(conn)? {
        return Ok(Changes {
            states: Vec::new(),
            entries: Vec::new(),
        });
    }
    let states = conn
        .prepare("SELECT state, COUNT(*) FROM v_ledger GROUP BY state ORDER BY state")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<(String, i64)>, _>>()?;
    let urls = conn
        .prepare(
            "SELECT report_url FROM v_ledger WHERE state NOT IN ('new', 'unchanged', 'changed')
             UNION SELECT report_url FROM changes ORDER BY 1",
        )?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<String>, _>>()?;
    let mut entries = Vec::with_capacity(urls.len());
    for url in urls {
        let latest: Option<(i64, String)> = conn
            .query_row(
                "SELECT r.id, r.title FROM reports r JOIN captures k ON k.id = r.capture_id
                 WHERE k.url = ?1 ORDER BY k.fetched_at DESC, k.id DESC, r.ordinal LIMIT 1",
                [&url],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((report_id, title)) = latest else {
            continue;
        };
        entries.push(Entry {
            report_id,
            title,
            ledger: for_url(conn, &url)?,
        });
    }
    Ok(Changes { states, entries })
}

pub async fn page(State(site): State<Shared>) -> Result<Response, ServeError> {
    let changes = read(&site, |_, reader| all(reader.conn())).await?;
    Ok(html::page("变动 Changes", &render(&changes)))
}

fn render(changes: &Changes) -> String {
    let mut out = String::from("<h1>消失与改动 What vanished or changed</h1>");
    out.push_str(
        "<p class=\"small\">每次抓取结束时记录：每个已知报告网址的状态（new / unchanged / changed / gone / blocked / moved / error）。</p>\
         <table id=\"states\"><tr><th>最近一次抓取的状态</th><th>报告网址</th></tr>",
    );
    for (state, n) in &changes.states {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{n}</td></tr>",
            esc(state)
        );
    }
    out.push_str("</table>");
    let vanished: Vec<&Entry> = changes
        .entries
        .iter()
        .filter(|e| !crate::ledger::SERVED.contains(&e.ledger.state.as_str()))
        .collect();
    let _ = write!(
        out,
        "<h2>不再提供 No longer served ({})</h2><table id=\"vanished\"><tr><th>报告</th><th>状态</th>\
         <th>原因</th><th>HTTP</th><th>最后正常返回</th><th>不可用自</th></tr>",
        vanished.len()
    );
    for e in vanished {
        let l = &e.ledger;
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"bad\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            report_link(e.report_id, &e.title),
            esc(&l.state),
            esc(l.reason.as_deref().unwrap_or("")),
            l.last_status.map_or_else(String::new, |s| s.to_string()),
            esc(l.last_served.as_deref().unwrap_or("—")),
            esc(l.gone_since.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>");
    let edited: Vec<&Entry> = changes
        .entries
        .iter()
        .filter(|e| !e.ledger.edits.is_empty())
        .collect();
    let _ = write!(
        out,
        "<h2>数字被改动 Figures edited after publication ({})</h2><table id=\"edited\">\
         <tr><th>报告</th><th>时间</th><th>数字</th><th>之前</th><th>之后</th><th></th></tr>",
        edited.len()
    );
    for e in edited {
        for d in &e.ledger.edits {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td><a href=\"/replay/{}\">之前</a> · <a href=\"/replay/{}\">之后</a></td></tr>",
                report_link(e.report_id, &e.title),
                esc(&d.at),
                esc(&d.code),
                esc(d.before.as_deref().unwrap_or("")),
                esc(d.after.as_deref().unwrap_or("")),
                d.before_capture,
                d.after_capture
            );
        }
    }
    out.push_str("</table>");
    out
}
