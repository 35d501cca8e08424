//! How a report's figures and identity results are stored.
//!
//! A report holds about 200 figures and 40 checks, and their codes and
//! printed labels repeat from report to report: stored as text on every row
//! (and again in an index) they made the database five times the size of the
//! WARC files it indexes. So each code and label is stored once
//! (`cell_codes`, `labels`, `check_codes`), a figure row holds small
//! integers keyed by its report and its place in it, and the views `cells`
//! and `checks` give the rows back with every code as text (schema.sql).

use foldhash::{HashMap, HashMapExt};
use rusqlite::{params, Connection, Statement, ToSql};

use crate::extract::Report;

/// More ids than this are not remembered: misread labels of scans are
/// unbounded, and a miss costs only a lookup.
const MAX_REMEMBERED: usize = 1 << 16;

/// The ids of codes and labels this connection has read or written, so that
/// a report's figures cost one insert each. An id written in a transaction
/// that is then rolled back is gone with it: whoever rolls back calls
/// [`Ids::forget`].
pub struct Ids {
    cells: HashMap<String, i64>,
    labels: HashMap<String, i64>,
    checks: HashMap<String, i64>,
    /// The key being looked up, built here so that a hit allocates nothing.
    key: String,
    /// The text of each multi-row `INSERT`, by width and rows, made once.
    inserts: HashMap<(usize, usize), String>,
}

impl Default for Ids {
    fn default() -> Self {
        Self {
            cells: HashMap::new(),
            labels: HashMap::new(),
            checks: HashMap::new(),
            key: String::new(),
            inserts: HashMap::new(),
        }
    }
}

impl Ids {
    pub fn forget(&mut self) {
        self.cells.clear();
        self.labels.clear();
        self.checks.clear();
    }
}

/// `parts` joined by U+001F into `key`.
fn key_of<'k>(key: &'k mut String, parts: &[&str]) -> &'k str {
    key.clear();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            key.push('\u{1f}');
        }
        key.push_str(part);
    }
    key
}

/// Rows per `INSERT`: one statement binding many rows costs a fraction of
/// one statement per row, and a report holds about 200 figures.
const ROWS: usize = 32;

const CELL_COLUMNS: &str = "INSERT INTO cell_values (report_id, ord, code, raw, value, unit, \
     standard, label, note, ocr, ocr_conf) VALUES ";
const CHECK_COLUMNS: &str =
    "INSERT INTO check_values (report_id, ord, code, holds, left_value, right_value) VALUES ";

/// The `INSERT` of `rows` rows of `width` parameters each.
fn insert_sql(columns: &str, width: usize, rows: usize) -> String {
    let row = format!("({})", vec!["?"; width].join(","));
    format!("{columns}{}", vec![row; rows].join(","))
}

/// Insert `items`, [`ROWS`] to a statement of `width` parameters a row;
/// `bind` binds one item's row from the parameter it is given, with the
/// item's place among `items` (its `ord`).
fn insert_rows<T>(
    tx: &Connection,
    inserts: &mut HashMap<(usize, usize), String>,
    columns: &str,
    width: usize,
    items: &[T],
    mut bind: impl FnMut(&mut Statement<'_>, usize, i64, &T) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    for (n, chunk) in items.chunks(ROWS).enumerate() {
        let sql = inserts
            .entry((width, chunk.len()))
            .or_insert_with(|| insert_sql(columns, width, chunk.len()));
        let mut stmt = tx.prepare_cached(sql)?;
        for (i, item) in chunk.iter().enumerate() {
            bind(&mut stmt, 1 + i * width, (n * ROWS + i) as i64, item)?;
        }
        stmt.raw_execute()?;
    }
    Ok(())
}

/// Bind `values` to the parameters from `first` on.
fn bind_row(stmt: &mut Statement<'_>, first: usize, values: &[&dyn ToSql]) -> rusqlite::Result<()> {
    for (i, v) in values.iter().enumerate() {
        stmt.raw_bind_parameter(first + i, v)?;
    }
    Ok(())
}

/// Insert the figures and checks of one report.
pub fn insert(
    tx: &Connection,
    ids: &mut Ids,
    report_id: i64,
    report: &Report,
) -> rusqlite::Result<()> {
    let mut codes = Vec::with_capacity(report.cells.len());
    for c in &report.cells {
        let code = cell_code(tx, ids, &c.table, &c.row, &c.col)?;
        // No printed label is null, not an empty string, in every export.
        let label = match c.label.as_str() {
            "" => None,
            text => Some(label_id(tx, ids, text)?),
        };
        codes.push((code, label));
    }
    insert_rows(
        tx,
        &mut ids.inserts,
        CELL_COLUMNS,
        11,
        &report.cells,
        |stmt, at, ord, c| {
            let (code, label) = codes.get(ord as usize).copied().unwrap_or_default();
            bind_row(
                stmt,
                at,
                &[
                    &report_id,
                    &ord,
                    &code,
                    &c.raw,
                    &c.value,
                    &c.unit,
                    &c.standard,
                    &label,
                    &c.note,
                    &c.ocr.then_some(1),
                    &c.ocr_conf,
                ],
            )
        },
    )?;
    let mut codes = Vec::with_capacity(report.checks.len());
    for k in &report.checks {
        codes.push(check_code(tx, ids, &k.identity, &k.col)?);
    }
    insert_rows(
        tx,
        &mut ids.inserts,
        CHECK_COLUMNS,
        6,
        &report.checks,
        |stmt, at, ord, k| {
            let code = codes.get(ord as usize).copied().unwrap_or_default();
            bind_row(
                stmt,
                at,
                &[&report_id, &ord, &code, &k.holds, &k.left, &k.right],
            )
        },
    )
}

fn cell_code(
    tx: &Connection,
    ids: &mut Ids,
    table: &str,
    row: &str,
    col: &str,
) -> rusqlite::Result<i64> {
    let key = key_of(&mut ids.key, &[table, row, col]);
    if let Some(id) = ids.cells.get(key) {
        return Ok(*id);
    }
    let key = key.to_string();
    remembered(&mut ids.cells, key, || {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO cell_codes (table_code, row_code, col_code) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![table, row, col])?;
        tx.prepare_cached(
            "SELECT id FROM cell_codes WHERE table_code = ?1 AND row_code = ?2 AND col_code = ?3",
        )?
        .query_row(params![table, row, col], |r| r.get(0))
    })
}

fn label_id(tx: &Connection, ids: &mut Ids, label: &str) -> rusqlite::Result<i64> {
    if let Some(id) = ids.labels.get(label) {
        return Ok(*id);
    }
    remembered(&mut ids.labels, label.to_string(), || {
        tx.prepare_cached("INSERT OR IGNORE INTO labels (label) VALUES (?1)")?
            .execute([label])?;
        tx.prepare_cached("SELECT id FROM labels WHERE label = ?1")?
            .query_row([label], |r| r.get(0))
    })
}

fn check_code(tx: &Connection, ids: &mut Ids, identity: &str, col: &str) -> rusqlite::Result<i64> {
    let key = key_of(&mut ids.key, &[identity, col]);
    if let Some(id) = ids.checks.get(key) {
        return Ok(*id);
    }
    let key = key.to_string();
    remembered(&mut ids.checks, key, || {
        tx.prepare_cached("INSERT OR IGNORE INTO check_codes (identity, col) VALUES (?1, ?2)")?
            .execute(params![identity, col])?;
        tx.prepare_cached("SELECT id FROM check_codes WHERE identity = ?1 AND col = ?2")?
            .query_row(params![identity, col], |r| r.get(0))
    })
}

/// Look up a key not yet remembered, and remember it.
fn remembered(
    map: &mut HashMap<String, i64>,
    key: String,
    look_up: impl FnOnce() -> rusqlite::Result<i64>,
) -> rusqlite::Result<i64> {
    let id = look_up()?;
    if map.len() >= MAX_REMEMBERED {
        map.clear();
    }
    map.insert(key, id);
    Ok(id)
}

/// The tables of the compact storage, as `schema.sql` makes them.
fn tables() -> &'static str {
    section("CREATE TABLE cell_codes", "-- The views over them")
}

/// The views `cells` and `checks` and their triggers.
fn views() -> &'static str {
    section("CREATE VIEW cells AS", "-- A failed attempt at a URL")
}

fn section(from: &str, to: &str) -> &'static str {
    let schema = super::SCHEMA;
    let start = schema.find(from).unwrap_or(schema.len());
    let end = schema
        .get(start..)
        .and_then(|rest| rest.find(to))
        .map_or(schema.len(), |i| start + i);
    schema.get(start..end).unwrap_or_default()
}

/// Move the figures and checks of an archive made before the compact storage
/// (where `cells` and `checks` were tables) into it, in one transaction, in
/// their order. Nothing to do for a current archive.
pub fn compact(conn: &Connection) -> rusqlite::Result<()> {
    if !super::has_object(conn, "table", "cells")? {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let moved = move_rows(conn);
    conn.execute_batch(if moved.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
    moved
}

fn move_rows(conn: &Connection) -> rusqlite::Result<()> {
    // Another process may have moved them while this one waited for the lock.
    if !super::has_object(conn, "table", "cells")? {
        return Ok(());
    }
    // Columns added to `cells` over time; an old table may lack them.
    for (column, kind) in [("note", "TEXT"), ("ocr", "INTEGER"), ("ocr_conf", "REAL")] {
        if !super::has_column(conn, "cells", column)? {
            conn.execute_batch(&format!("ALTER TABLE cells ADD COLUMN {column} {kind}"))?;
        }
    }
    conn.execute_batch(tables())?;
    // Rows of a report that no longer exists are shown by no view or export;
    // they are not carried over.
    conn.execute_batch(
        "INSERT OR IGNORE INTO cell_codes (table_code, row_code, col_code)
           SELECT table_code, row_code, col_code FROM cells ORDER BY rowid;
         INSERT OR IGNORE INTO labels (label)
           SELECT label FROM cells WHERE label IS NOT NULL ORDER BY rowid;
         INSERT INTO cell_values (report_id, ord, code, raw, value, unit, standard, label,
                                  note, ocr, ocr_conf)
           SELECT c.report_id, ROW_NUMBER() OVER (PARTITION BY c.report_id ORDER BY c.rowid) - 1,
                  k.id, c.raw, c.value, c.unit, c.standard, l.id, c.note, c.ocr, c.ocr_conf
           FROM cells c
           JOIN cell_codes k ON k.table_code = c.table_code AND k.row_code = c.row_code
                            AND k.col_code = c.col_code
           LEFT JOIN labels l ON l.label = c.label
           WHERE c.report_id IN (SELECT id FROM reports);
         INSERT OR IGNORE INTO check_codes (identity, col)
           SELECT identity, col FROM checks ORDER BY rowid;
         INSERT INTO check_values (report_id, ord, code, holds, left_value, right_value)
           SELECT c.report_id, ROW_NUMBER() OVER (PARTITION BY c.report_id ORDER BY c.rowid) - 1,
                  k.id, c.holds, c.left_value, c.right_value
           FROM checks c
           JOIN check_codes k ON k.identity = c.identity AND k.col = c.col
           WHERE c.report_id IN (SELECT id FROM reports);
         DROP TABLE cells;
         DROP TABLE checks;",
    )?;
    conn.execute_batch(views())
}
