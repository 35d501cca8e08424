//! The columns of the long tables (cells, reports, checks) and how one
//! archive row becomes one export row. The column lists here are the export's
//! contract with its readers; SCHEMA.md documents each column.

use super::reader::{CaptureRow, CellRow, CheckRow, ReportMeta};
use super::table::{columns, count, parse_time, Column, Kind, Value};

/// `cells`: one row per figure, long and tidy.
pub fn cell_columns() -> Vec<Column> {
    use Kind::*;
    columns(&[
        ("report_id", Int),
        ("agency", Text),
        ("region", Text),
        ("source", Text),
        ("year", Int),
        ("format", Text),
        ("table", Text),
        ("row", Text),
        ("col", Text),
        ("value", Int),
        ("amount", Money),
        ("raw", Text),
        ("unit", Text),
        ("standard", Bool),
        ("label", Text),
        ("url", Text),
        ("fetched_at", Time),
        ("warc_file", Text),
        ("warc_offset", Int),
        ("warc_length", Int),
        ("warc_record_id", Text),
        ("payload_digest", Text),
        ("extractor_version", Text),
        ("identities", Text),
        ("latest", Bool),
        ("note", Text),
        ("ocr", Bool),
        ("ocr_conf", Int),
    ])
}

/// A figure's `value`: the count, for cells without a unit (not money).
pub fn figure_count(c: &CellRow<'_>) -> Value<'static> {
    if c.unit.is_some() {
        Value::Null
    } else {
        count(c.value)
    }
}

/// A figure's `amount`: the money, in the cell's `unit`, never rescaled.
pub fn figure_amount(c: &CellRow<'_>) -> Value<'static> {
    match (c.unit.is_some(), c.value) {
        (true, Some(v)) => Value::Float(v),
        _ => Value::Null,
    }
}

/// The columns of `cells`, as many as [`cell_columns`] names.
pub const CELL_COLUMNS: usize = 28;

/// A row of `cells`: an array, not a vector, since an export writes one per
/// figure.
pub fn cell_row<'a>(r: &'a ReportMeta, c: &CellRow<'a>) -> [Value<'a>; CELL_COLUMNS] {
    [
        Value::Int(r.id),
        r.agency.as_deref().into(),
        r.region.as_deref().into(),
        r.source.as_deref().into(),
        r.year.into(),
        r.format.as_str().into(),
        c.table.into(),
        c.row.into(),
        c.col.into(),
        figure_count(c),
        figure_amount(c),
        c.raw.into(),
        c.unit.into(),
        Value::Bool(c.standard),
        c.label.into(),
        r.url.as_str().into(),
        r.fetched_micros.map_or(Value::Null, Value::Time),
        r.warc_file.as_str().into(),
        Value::Int(r.warc_offset),
        Value::Int(r.warc_length),
        r.warc_record_id.as_str().into(),
        r.payload_digest.as_str().into(),
        r.extractor_version.as_str().into(),
        r.identities.as_str().into(),
        Value::Bool(r.latest),
        c.note.into(),
        Value::Bool(c.ocr),
        c.ocr_conf
            .map_or(Value::Null, |k| Value::Int(k.round() as i64)),
    ]
}

/// `reports`: one row per report, identity results counted.
pub fn report_columns() -> Vec<Column> {
    use Kind::*;
    columns(&[
        ("report_id", Int),
        ("capture_id", Int),
        ("ordinal", Int),
        ("title", Text),
        ("agency", Text),
        ("region", Text),
        ("source", Text),
        ("year", Int),
        ("format", Text),
        ("url", Text),
        ("fetched_at", Time),
        ("status", Int),
        ("warc_file", Text),
        ("warc_offset", Int),
        ("warc_length", Int),
        ("warc_record_id", Text),
        ("payload_digest", Text),
        ("encoding", Text),
        ("encoding_decision", Text),
        ("extractor_version", Text),
        ("cells", Int),
        ("checks_held", Int),
        ("checks_broken", Int),
        ("checks_uncheckable", Int),
        ("identities", Text),
        ("latest", Bool),
        ("notes", Text),
        ("parent_url", Text),
    ])
}

pub fn report_row(r: &ReportMeta) -> Vec<Value<'_>> {
    vec![
        Value::Int(r.id),
        Value::Int(r.capture_id),
        Value::Int(r.ordinal),
        r.title.as_str().into(),
        r.agency.as_deref().into(),
        r.region.as_deref().into(),
        r.source.as_deref().into(),
        r.year.into(),
        r.format.as_str().into(),
        r.url.as_str().into(),
        r.fetched_micros.map_or(Value::Null, Value::Time),
        Value::Int(r.status),
        r.warc_file.as_str().into(),
        Value::Int(r.warc_offset),
        Value::Int(r.warc_length),
        r.warc_record_id.as_str().into(),
        r.payload_digest.as_str().into(),
        r.encoding.as_deref().into(),
        r.encoding_decision.as_deref().into(),
        r.extractor_version.as_str().into(),
        Value::Int(r.cells),
        Value::Int(r.checks_held),
        Value::Int(r.checks_broken),
        Value::Int(r.checks_uncheckable),
        r.identities.as_str().into(),
        Value::Bool(r.latest),
        r.notes.as_str().into(),
        r.parent_url.as_deref().into(),
    ]
}

/// `checks`: one row per identity result.
pub fn check_columns() -> Vec<Column> {
    use Kind::*;
    columns(&[
        ("report_id", Int),
        ("agency", Text),
        ("region", Text),
        ("year", Int),
        ("format", Text),
        ("identity", Text),
        ("col", Text),
        ("holds", Bool),
        ("left_value", Int),
        ("right_value", Int),
        ("difference", Int),
        ("url", Text),
        ("fetched_at", Time),
        ("warc_record_id", Text),
        ("latest", Bool),
    ])
}

pub fn check_row<'a>(r: &'a ReportMeta, k: &'a CheckRow) -> Vec<Value<'a>> {
    let difference = k.left.zip(k.right).map(|(l, r)| l - r);
    vec![
        Value::Int(r.id),
        r.agency.as_deref().into(),
        r.region.as_deref().into(),
        r.year.into(),
        r.format.as_str().into(),
        k.identity.as_str().into(),
        k.col.as_str().into(),
        k.holds.into(),
        count(k.left),
        count(k.right),
        count(difference),
        r.url.as_str().into(),
        r.fetched_micros.map_or(Value::Null, Value::Time),
        r.warc_record_id.as_str().into(),
        Value::Bool(r.latest),
    ]
}

/// `captures`: the archivists' inventory, one row per archived exchange.
pub fn capture_columns() -> Vec<Column> {
    use Kind::*;
    columns(&[
        ("capture_id", Int),
        ("url", Text),
        ("fetched_at", Time),
        ("status", Int),
        ("record_type", Text),
        ("content_type", Text),
        ("payload_digest", Text),
        ("payload_length", Int),
        ("truncated", Text),
        ("warc_file", Text),
        ("warc_offset", Int),
        ("warc_length", Int),
        ("warc_record_id", Text),
        ("ip", Text),
        ("refers_to", Int),
        ("encoding", Text),
        ("encoding_decision", Text),
        ("encoding_errors", Bool),
        ("source", Text),
        ("region", Text),
        ("reports", Int),
    ])
}

pub fn capture_row(k: &CaptureRow, region: Option<String>) -> Vec<Value<'_>> {
    vec![
        Value::Int(k.id),
        k.url.as_str().into(),
        time(&k.fetched_at),
        Value::Int(k.status),
        k.record_type.as_str().into(),
        k.content_type.as_deref().into(),
        k.payload_digest.as_str().into(),
        Value::Int(k.payload_length),
        k.truncated.as_deref().into(),
        k.warc_file.as_str().into(),
        Value::Int(k.warc_offset),
        Value::Int(k.warc_length),
        k.warc_record_id.as_str().into(),
        k.ip.as_deref().into(),
        k.refers_to.into(),
        k.encoding.as_deref().into(),
        k.encoding_decision.as_deref().into(),
        k.encoding_errors.into(),
        k.source.as_deref().into(),
        region.into(),
        Value::Int(k.reports),
    ]
}

/// The columns that open every wide table: which report a row is.
pub fn wide_key_columns() -> Vec<Column> {
    use Kind::*;
    columns(&[
        ("report_id", Int),
        ("agency", Text),
        ("region", Text),
        ("year", Int),
        ("format", Text),
        ("title", Text),
        ("url", Text),
        ("fetched_at", Time),
        ("identities", Text),
        ("latest", Bool),
    ])
}

pub fn wide_key_row(r: &ReportMeta) -> Vec<Value<'_>> {
    vec![
        Value::Int(r.id),
        r.agency.as_deref().into(),
        r.region.as_deref().into(),
        r.year.into(),
        r.format.as_str().into(),
        r.title.as_str().into(),
        r.url.as_str().into(),
        r.fetched_micros.map_or(Value::Null, Value::Time),
        r.identities.as_str().into(),
        Value::Bool(r.latest),
    ]
}

/// An archive time as a timestamp; an unreadable one is kept out, not guessed.
fn time(text: &str) -> Value<'static> {
    match parse_time(text) {
        Some(t) => Value::Time(t),
        None => {
            tracing::warn!(
                fetched_at = text,
                "capture time is not ISO 8601; exported as null"
            );
            Value::Null
        }
    }
}
