//! The availability and change ledger as export tables: `availability`
//! (one row per crawl run per report URL it visited) and `changes` (one row
//! per figure edited between two captures of a page), as `schema.sql` holds
//! them. An archive without a recorded ledger exports both tables empty.

use std::collections::HashSet;

use rusqlite::types::ValueRef;

use super::reader::Reader;
use super::table::{columns, parse_time, Column, Kind, Sink, Value};
use super::{write_table, ExportError, ExportOptions, FileEntry, Selected};

pub fn availability_columns() -> Vec<Column> {
    columns(&[
        ("report_url", Kind::Text),
        ("run_id", Kind::Int),
        ("state", Kind::Text),
        ("reason", Kind::Text),
        ("status", Kind::Int),
        ("capture_id", Kind::Int),
        ("checked_at", Kind::Time),
        ("compared_with", Kind::Int),
        ("cells_changed", Kind::Int),
    ])
}

pub fn change_columns() -> Vec<Column> {
    columns(&[
        ("report_url", Kind::Text),
        ("run_id", Kind::Int),
        ("ordinal", Kind::Int),
        ("table", Kind::Text),
        ("row", Kind::Text),
        ("col", Kind::Text),
        ("old_raw", Kind::Text),
        ("new_raw", Kind::Text),
        ("old_value", Kind::Money),
        ("new_value", Kind::Money),
        ("old_capture", Kind::Int),
        ("new_capture", Kind::Int),
        ("changed_at", Kind::Time),
    ])
}

const AVAILABILITY: &str = "SELECT report_url, run_id, state, reason, status, capture_id,
    checked_at, compared_with, cells_changed FROM availability ORDER BY run_id, report_url";

const CHANGES: &str = "SELECT c.report_url, c.run_id, c.ordinal, c.table_code, c.row_code,
    c.col_code, c.old_raw, c.new_raw, c.old_value, c.new_value, c.old_capture, c.new_capture,
    k.fetched_at
    FROM changes c LEFT JOIN captures k ON k.id = c.new_capture
    ORDER BY c.run_id, c.report_url, c.ordinal, c.table_code, c.row_code, c.col_code";

/// Write both tables; with a filter, only the URLs of the exported reports.
/// Adds their schemas to `schemas` (for `datapackage.json`).
pub fn write(
    opts: &ExportOptions,
    reader: &Reader,
    reports: &Selected,
    schemas: &mut Vec<(String, Vec<Column>)>,
) -> Result<Vec<FileEntry>, ExportError> {
    let urls: Option<HashSet<&str>> =
        (!opts.filter.is_empty()).then(|| reports.values().map(|r| r.url.as_str()).collect());
    let recorded = crate::ledger::has_table(reader.conn(), "availability")
        .and_then(|a| Ok(a && crate::ledger::has_table(reader.conn(), "changes")?))
        .map_err(|source| sql(reader, source))?;
    let mut files = Vec::new();
    for (name, cols, query) in [
        ("availability", availability_columns(), AVAILABILITY),
        ("changes", change_columns(), CHANGES),
    ] {
        files.push(write_table(opts, name, &cols, |sink| {
            if recorded {
                copy(reader, query, &cols, urls.as_ref(), sink)
            } else {
                Ok(())
            }
        })?);
        schemas.push((name.into(), cols));
    }
    Ok(files)
}

fn sql(reader: &Reader, source: rusqlite::Error) -> ExportError {
    ExportError::Sqlite {
        path: reader.path.clone(),
        source,
    }
}

/// Stream the rows of `query` into `sink`, each column typed as `cols` says.
fn copy(
    reader: &Reader,
    query: &str,
    cols: &[Column],
    urls: Option<&HashSet<&str>>,
    sink: &mut dyn Sink,
) -> Result<(), ExportError> {
    let mut stmt = reader.conn().prepare(query).map_err(|e| sql(reader, e))?;
    let mut rows = stmt.query([]).map_err(|e| sql(reader, e))?;
    while let Some(r) = rows.next().map_err(|e| sql(reader, e))? {
        let url: String = r.get(0).map_err(|e| sql(reader, e))?;
        if urls.is_some_and(|u| !u.contains(url.as_str())) {
            continue;
        }
        let mut row = Vec::with_capacity(cols.len());
        for (i, c) in cols.iter().enumerate() {
            let v = r.get_ref(i).map_err(|e| sql(reader, e))?;
            row.push(value(c.kind, v));
        }
        sink.write(&row)?;
    }
    Ok(())
}

fn value(kind: Kind, v: ValueRef<'_>) -> Value<'static> {
    match (kind, v) {
        (_, ValueRef::Null) => Value::Null,
        (Kind::Int, ValueRef::Integer(i)) => Value::Int(i),
        (Kind::Money, ValueRef::Integer(i)) => Value::Float(i as f64),
        (Kind::Money, ValueRef::Real(f)) => Value::Float(f),
        (Kind::Time, ValueRef::Text(t)) => std::str::from_utf8(t)
            .ok()
            .and_then(parse_time)
            .map_or(Value::Null, Value::Time),
        (Kind::Bool, ValueRef::Integer(i)) => Value::Bool(i != 0),
        (_, ValueRef::Text(t)) => Value::Text(String::from_utf8_lossy(t).into_owned().into()),
        (_, ValueRef::Integer(i)) => Value::Int(i),
        (_, ValueRef::Real(f)) => Value::Float(f),
        (_, ValueRef::Blob(_)) => Value::Null,
    }
}
