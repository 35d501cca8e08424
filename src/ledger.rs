//! The availability and change ledger: what each crawl run found at every
//! report URL it knew of. Served unchanged, changed (and which figures: a
//! silent edit of a published report), gone, blocked, moved, or an error.
//!
//! Recorded once per run, at its end, from the run's captures and failures
//! (a run is the captures with ids in `(runs.captures_before, next run's
//! captures_before]`, made by the crawl: imports and `nianbao fetch` are not
//! visits of a run). Every row is derived from captures and cells, so the
//! whole ledger can be computed again (`recompute_all`) after a
//! re-extraction changed the figures.

use crate::archive::Cached;
use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};

use crate::archive::schema_statement;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("recording the availability ledger: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// States in which the report was served (the page was there).
pub const SERVED: [&str; 3] = ["new", "unchanged", "changed"];

/// The capture ranges of one run.
#[derive(Debug, Clone, Copy)]
struct Span {
    captures: (i64, i64),
    failures: (i64, i64),
}

/// A run's last capture of a known report URL.
struct Visit {
    url: String,
    capture_id: i64,
    status: i64,
    outcome: Option<String>,
    fetched_at: String,
    record_type: String,
    refers_to: Option<i64>,
    has_reports: bool,
}

/// One row of `availability`.
#[derive(Debug, Clone, PartialEq)]
pub struct Availability {
    pub report_url: String,
    pub state: &'static str,
    pub reason: Option<String>,
    pub status: Option<i64>,
    pub capture_id: Option<i64>,
    pub checked_at: String,
    pub compared_with: Option<i64>,
    pub changes: Vec<Change>,
}

/// One figure that differs between two captures of a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub ordinal: i64,
    pub table: String,
    pub row: String,
    pub col: String,
    pub old_raw: Option<String>,
    pub new_raw: Option<String>,
    pub old_value: Option<f64>,
    pub new_value: Option<f64>,
}

/// (ordinal, table, row, col) → (raw, value).
type Figures = BTreeMap<(i64, String, String, String), (String, Option<f64>)>;

/// Record the ledger of `run_id`, replacing what was recorded for it.
/// Returns the number of report URLs recorded.
pub fn record_run(conn: &Connection, run_id: i64) -> Result<usize, LedgerError> {
    let Some(span) = span(conn, run_id)? else {
        return Ok(0);
    };
    let rows = compute(conn, span)?;
    conn.execute_batch("SAVEPOINT ledger")?;
    let written = write(conn, run_id, &rows);
    match written {
        Ok(()) => conn.execute_batch("RELEASE ledger")?,
        Err(_) => conn.execute_batch("ROLLBACK TO ledger; RELEASE ledger")?,
    }
    written?;
    Ok(rows.len())
}

/// Compute the ledger of every finished run again, in order (after a
/// re-extraction, or once for an archive made before the ledger existed).
pub fn recompute_all(conn: &Connection) -> Result<usize, LedgerError> {
    let runs: Vec<i64> = conn
        .prepare("SELECT id FROM runs WHERE finished_at IS NOT NULL ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut total = 0;
    for run in runs {
        total += record_run(conn, run)?;
    }
    Ok(total)
}

/// Make the ledger's tables and view in an archive made before them, and
/// fill them from the runs already crawled. Idempotent; writes nothing when
/// the tables exist (a view dropped from them is left to [`readable`]).
pub fn migrate(conn: &Connection) -> Result<(), LedgerError> {
    if has_table(conn, "availability")? {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let done = (|| -> Result<(), LedgerError> {
        if has_table(conn, "availability")? {
            return Ok(());
        }
        for head in [
            "CREATE TABLE availability",
            "CREATE INDEX availability_run",
            "CREATE TABLE changes",
            "CREATE INDEX changes_url",
        ] {
            conn.execute_batch(schema_statement(head).unwrap_or_default())?;
        }
        recompute_all(conn)?;
        if !has_view(conn)? {
            conn.execute_batch(schema_statement("CREATE VIEW v_ledger AS").unwrap_or_default())?;
        }
        Ok(())
    })();
    conn.execute_batch(if done.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
    done
}

/// True when the archive holds the ledger (a read-only archive made before
/// it does not).
pub fn has_table(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.one(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [name],
        |r| r.get(0),
    )
}

/// True when the ledger can be read through `conn`; a missing `v_ledger`
/// is made as a temporary view (a read-only connection can), from the same
/// `schema.sql`.
pub fn readable(conn: &Connection) -> rusqlite::Result<bool> {
    if !(has_table(conn, "availability")? && has_table(conn, "changes")?) {
        return Ok(false);
    }
    let temp: bool = conn.one(
        "SELECT EXISTS (SELECT 1 FROM sqlite_temp_master WHERE name = 'v_ledger')",
        [],
        |r| r.get(0),
    )?;
    if !has_view(conn)? && !temp {
        let view = schema_statement("CREATE VIEW v_ledger AS").unwrap_or_default();
        conn.execute_batch(&view.replacen("CREATE VIEW", "CREATE TEMP VIEW", 1))?;
    }
    Ok(true)
}

fn has_view(conn: &Connection) -> rusqlite::Result<bool> {
    conn.one(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = 'v_ledger')",
        [],
        |r| r.get(0),
    )
}

fn span(conn: &Connection, run_id: i64) -> rusqlite::Result<Option<Span>> {
    conn.one(
        "SELECT r.captures_before, r.failures_before,
           COALESCE((SELECT MIN(n.captures_before) FROM runs n WHERE n.id > r.id),
                    (SELECT MAX(id) FROM captures), 0),
           COALESCE((SELECT MIN(n.failures_before) FROM runs n WHERE n.id > r.id),
                    (SELECT MAX(id) FROM failures), 0)
         FROM runs r WHERE r.id = ?1",
        [run_id],
        |r| {
            Ok(Span {
                captures: (r.get(0)?, r.get(2)?),
                failures: (r.get(1)?, r.get(3)?),
            })
        },
    )
    .optional()
}

/// The ledger rows of one run, not yet written.
fn compute(conn: &Connection, span: Span) -> Result<Vec<Availability>, LedgerError> {
    let (lo, hi) = span.captures;
    // Asked per URL through `captures_url`: a list of every report URL
    // ever known would cost the whole archive at the end of every run.
    let known = |url: &str| {
        format!(
            "EXISTS (SELECT 1 FROM captures k2 JOIN reports r2 ON r2.capture_id = k2.id
                     WHERE k2.url = {url} AND k2.id <= ?2)"
        )
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT k.url, k.id, k.status, k.outcome, k.fetched_at, k.record_type, k.refers_to,
           EXISTS (SELECT 1 FROM reports r WHERE r.capture_id = k.id)
         FROM captures k
         WHERE k.id IN (SELECT MAX(id) FROM captures
                        WHERE id > ?1 AND id <= ?2 AND import_id IS NULL AND source IS NOT NULL
                        GROUP BY url)
           AND {}
         ORDER BY k.url",
        known("k.url")
    ))?;
    let visits: Vec<Visit> = stmt
        .query_map(params![lo, hi], |r| {
            Ok(Visit {
                url: r.get(0)?,
                capture_id: r.get(1)?,
                status: r.get(2)?,
                outcome: r.get(3)?,
                fetched_at: r.get(4)?,
                record_type: r.get(5)?,
                refers_to: r.get(6)?,
                has_reports: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut rows = Vec::with_capacity(visits.len());
    for v in &visits {
        rows.push(judge(conn, v)?);
    }
    rows.extend(failures(conn, span, &known("f.url"))?);
    Ok(rows)
}

/// Known report URLs the run failed at without archiving any answer.
fn failures(conn: &Connection, span: Span, known: &str) -> Result<Vec<Availability>, LedgerError> {
    let (lo, hi) = span.captures;
    let (flo, fhi) = span.failures;
    let mut stmt = conn.prepare(&format!(
        "SELECT f.url, f.kind, f.failed_at FROM failures f
         WHERE f.id IN (SELECT MAX(id) FROM failures WHERE id > ?3 AND id <= ?4 GROUP BY url)
           AND {known}
           AND f.url NOT IN (SELECT url FROM captures WHERE id > ?1 AND id <= ?2)
         ORDER BY f.url"
    ))?;
    let rows = stmt
        .query_map(params![lo, hi, flo, fhi], |r| {
            Ok(Availability {
                report_url: r.get(0)?,
                state: "error",
                reason: r.get(1)?,
                status: None,
                capture_id: None,
                checked_at: r.get(2)?,
                compared_with: None,
                changes: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// What one visit found.
fn judge(conn: &Connection, v: &Visit) -> Result<Availability, LedgerError> {
    let mut row = Availability {
        report_url: v.url.clone(),
        state: "error",
        reason: None,
        status: Some(v.status),
        capture_id: Some(v.capture_id),
        checked_at: v.fetched_at.clone(),
        compared_with: None,
        changes: Vec::new(),
    };
    let outcome = v.outcome.as_deref().unwrap_or("");
    let (state, reason) = match (v.status, outcome) {
        (_, o) if o.starts_with("block") => ("blocked", o.to_string()),
        _ if v.record_type == "revisit" => {
            row.compared_with = v.refers_to;
            ("unchanged", "same_payload".into())
        }
        (300..=399, "soft_404") => ("gone", "redirect_home".into()),
        (_, "soft_404") => ("gone", "soft_404".into()),
        (_, "empty") => ("gone", "empty".into()),
        (404 | 410, _) => ("gone", format!("http_{}", v.status)),
        (300..=399, _) => ("moved", "redirect".into()),
        (200..=299, _) if v.has_reports => return compare(conn, v, row),
        (200..=299, _) => ("gone", "no_report".into()),
        (s, _) => ("error", format!("http_{s}")),
    };
    row.state = state;
    row.reason = Some(reason);
    Ok(row)
}

/// A served page with reports: new, or compared figure by figure with the
/// previous capture of the URL that yielded reports.
fn compare(
    conn: &Connection,
    v: &Visit,
    mut row: Availability,
) -> Result<Availability, LedgerError> {
    let previous: Option<i64> = conn
        .one(
            "SELECT k.id FROM captures k
             WHERE k.url = ?1 AND EXISTS (SELECT 1 FROM reports r WHERE r.capture_id = k.id)
               AND (k.fetched_at, k.id) < (?2, ?3)
             ORDER BY k.fetched_at DESC, k.id DESC LIMIT 1",
            params![v.url, v.fetched_at, v.capture_id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(previous) = previous else {
        row.state = "new";
        return Ok(row);
    };
    row.compared_with = Some(previous);
    row.changes = diff(&figures(conn, previous)?, &figures(conn, v.capture_id)?);
    if row.changes.is_empty() {
        row.state = "unchanged";
        row.reason = Some("same_figures".into());
    } else {
        row.state = "changed";
    }
    Ok(row)
}

fn figures(conn: &Connection, capture_id: i64) -> rusqlite::Result<Figures> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.ordinal, c.table_code, c.row_code, c.col_code, c.raw, c.value
         FROM reports r JOIN cells c ON c.report_id = r.id WHERE r.capture_id = ?1",
    )?;
    let rows = stmt.query_map([capture_id], |r| {
        Ok((
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?),
            (r.get(4)?, r.get(5)?),
        ))
    })?;
    rows.collect()
}

/// The figures that differ: by value where either side has one, else by
/// the printed text (a blank that became a dash is no edit of a figure).
pub fn diff(old: &Figures, new: &Figures) -> Vec<Change> {
    let differs =
        |a: Option<&(String, Option<f64>)>, b: Option<&(String, Option<f64>)>| match (a, b) {
            (Some((_, x)), Some((_, y))) if x.is_some() || y.is_some() => x != y,
            (Some(_), Some(_)) => false,
            (None, None) => false,
            _ => true,
        };
    let keys = old
        .keys()
        .chain(new.keys().filter(|k| !old.contains_key(*k)));
    let mut out: Vec<Change> = keys
        .filter(|k| differs(old.get(*k), new.get(*k)))
        .map(|k| {
            let (a, b) = (old.get(k), new.get(k));
            Change {
                ordinal: k.0,
                table: k.1.clone(),
                row: k.2.clone(),
                col: k.3.clone(),
                old_raw: a.map(|x| x.0.clone()),
                new_raw: b.map(|x| x.0.clone()),
                old_value: a.and_then(|x| x.1),
                new_value: b.and_then(|x| x.1),
            }
        })
        .collect();
    out.sort_by(|x, y| {
        (x.ordinal, &x.table, &x.row, &x.col).cmp(&(y.ordinal, &y.table, &y.row, &y.col))
    });
    out
}

fn write(conn: &Connection, run_id: i64, rows: &[Availability]) -> Result<(), LedgerError> {
    conn.run("DELETE FROM changes WHERE run_id = ?1", [run_id])?;
    conn.run("DELETE FROM availability WHERE run_id = ?1", [run_id])?;
    let mut avail = conn.prepare_cached(
        "INSERT INTO availability (report_url, run_id, state, reason, status, capture_id,
           checked_at, compared_with, cells_changed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    let mut change = conn.prepare_cached(
        "INSERT INTO changes (report_url, run_id, ordinal, table_code, row_code, col_code,
           old_raw, new_raw, old_value, new_value, old_capture, new_capture)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    for a in rows {
        avail.execute(params![
            a.report_url,
            run_id,
            a.state,
            a.reason,
            a.status,
            a.capture_id,
            a.checked_at,
            a.compared_with,
            a.changes.len() as i64
        ])?;
        let (Some(old), Some(new)) = (a.compared_with, a.capture_id) else {
            continue;
        };
        for c in &a.changes {
            change.execute(params![
                a.report_url,
                run_id,
                c.ordinal,
                c.table,
                c.row,
                c.col,
                c.old_raw,
                c.new_raw,
                c.old_value,
                c.new_value,
                old,
                new
            ])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figs(cells: &[(&str, &str, Option<f64>)]) -> Figures {
        cells
            .iter()
            .map(|(code, raw, value)| {
                (
                    (0, "requests".into(), (*code).into(), "total".into()),
                    ((*raw).into(), *value),
                )
            })
            .collect()
    }

    #[test]
    fn an_edited_figure_is_a_change_a_reprinted_blank_is_not() {
        let old = figs(&[
            ("a", "12", Some(12.0)),
            ("b", "", None),
            ("c", "7", Some(7.0)),
        ]);
        let new = figs(&[
            ("a", "13", Some(13.0)),
            ("b", "—", None),
            ("d", "1", Some(1.0)),
        ]);
        let got = diff(&old, &new);
        let summary: Vec<(&str, Option<f64>, Option<f64>)> = got
            .iter()
            .map(|c| (c.row.as_str(), c.old_value, c.new_value))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("a", Some(12.0), Some(13.0)),
                ("c", Some(7.0), None),
                ("d", None, Some(1.0)),
            ]
        );
        assert!(diff(&old, &old).is_empty());
    }
}
