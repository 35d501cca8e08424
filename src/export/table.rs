//! The shape every exported table shares: typed columns and rows of values,
//! written through a [`Sink`] whatever the file format. Knows nothing of the
//! archive or of any one table.

use std::borrow::Cow;
use std::path::Path;

use super::file::Written;
use super::{csv, jsonl, parquet, ExportError, OutputFormat};

/// The type of a column, mapped to one Arrow type and one text form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Int64: ids, years, offsets, counts (a count printed `1134` is 1134).
    Int,
    /// Money, a decimal in the unit its row names: Decimal128(20, 4) in
    /// Parquet, a number with a decimal point in CSV (`1200.0`, `67552.91`),
    /// so that no reader takes the column for integers.
    Money,
    /// Utf8.
    Text,
    /// Boolean.
    Bool,
    /// Timestamp(microsecond, UTC); ISO 8601 with `Z` in text formats.
    Time,
}

/// One column: its name in every format and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

impl Column {
    pub fn new(name: impl Into<String>, kind: Kind) -> Self {
        Self {
            name: name.into(),
            kind,
        }
    }
}

/// Build a column list from `(name, kind)` pairs.
pub fn columns(spec: &[(&str, Kind)]) -> Vec<Column> {
    spec.iter().map(|(n, k)| Column::new(*n, *k)).collect()
}

/// One value of a row. `Null` is an empty CSV field, JSON `null`, an Arrow null.
/// Text borrows from the row it was read from where it can: an export writes
/// millions of values, and each allocation showed in its time.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Float(f64),
    Text(Cow<'a, str>),
    Bool(bool),
    /// Microseconds since the Unix epoch, UTC.
    Time(i64),
}

impl From<Option<i64>> for Value<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::Null, Value::Int)
    }
}

impl From<Option<f64>> for Value<'_> {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Value::Null, Value::Float)
    }
}

impl From<Option<String>> for Value<'_> {
    fn from(v: Option<String>) -> Self {
        v.map_or(Value::Null, |s| Value::Text(Cow::Owned(s)))
    }
}

impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Value::Null, |s| Value::Text(Cow::Borrowed(s)))
    }
}

impl From<Option<bool>> for Value<'_> {
    fn from(v: Option<bool>) -> Self {
        v.map_or(Value::Null, Value::Bool)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(Cow::Borrowed(v))
    }
}

/// A figure as a count: whole numbers only. A count printed with a
/// fraction (a misprint) has no integer value; `raw` keeps its text.
pub fn whole(v: f64) -> Option<i64> {
    // 2^53: beyond it an f64 no longer holds every integer.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    (v.fract() == 0.0 && v.abs() <= EXACT).then_some(v as i64)
}

/// A count as a value: an integer, or null when it is none.
pub fn count(v: Option<f64>) -> Value<'static> {
    match v.map(|x| (x, whole(x))) {
        Some((_, Some(i))) => Value::Int(i),
        Some((x, None)) => {
            tracing::warn!(value = x, "count is not a whole number; exported as null");
            Value::Null
        }
        None => Value::Null,
    }
}

/// The ISO 8601 UTC form of a timestamp, as WARC-Date writes it.
pub fn iso_time(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

/// Parse an archive time (`2024-01-02T03:04:05Z`) into microseconds.
pub fn parse_time(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_micros())
}

/// A table being written, row by row, in one format; `Send`, so that rows
/// can be written on another thread than the one reading them.
pub trait Sink: Send {
    /// Append one row; `row` has one value per column, in column order.
    fn write(&mut self, row: &[Value<'_>]) -> Result<(), ExportError>;
    /// Flush and close the file; returns the number of rows and what was
    /// written.
    fn finish(self: Box<Self>) -> Result<(u64, Written), ExportError>;
}

/// Open a sink writing `columns` to `path` in `format`.
pub fn open_sink(
    format: OutputFormat,
    path: &Path,
    columns: &[Column],
    excel: bool,
) -> Result<Box<dyn Sink>, ExportError> {
    Ok(match format {
        OutputFormat::Csv => Box::new(csv::CsvSink::create(path, columns, excel)?),
        OutputFormat::Jsonl => Box::new(jsonl::JsonlSink::create(path, columns)?),
        OutputFormat::Parquet => Box::new(parquet::ParquetSink::create(path, columns)?),
        OutputFormat::Wacz => return Err(ExportError::NotTabular("wacz")),
    })
}
