//! Parquet through Arrow: typed columns (Int64, Float64, Utf8, Boolean,
//! Timestamp(µs, UTC)), Snappy-compressed, written in row groups of
//! [`BATCH_ROWS`] rows so that memory stays flat however long the table.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Decimal128Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::table::{Column, Kind, Sink, Value};
use super::ExportError;

/// Precision and scale of money: 4 decimals hold 1 元 in 万元 and 1 分 in 元.
pub const MONEY_PRECISION: u8 = 20;
pub const MONEY_SCALE: i8 = 4;

/// Rows buffered before a batch is handed to the writer.
pub const BATCH_ROWS: usize = 8192;

pub struct ParquetSink {
    path: PathBuf,
    schema: SchemaRef,
    kinds: Vec<Kind>,
    writer: ArrowWriter<File>,
    buffer: Vec<Vec<Value>>,
    rows: u64,
}

/// The Arrow type of a column kind.
pub fn arrow_type(kind: Kind) -> DataType {
    match kind {
        Kind::Int => DataType::Int64,
        Kind::Money => DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE),
        Kind::Text => DataType::Utf8,
        Kind::Bool => DataType::Boolean,
        Kind::Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
    }
}

impl ParquetSink {
    pub fn create(path: &Path, columns: &[Column]) -> Result<Self, ExportError> {
        let fields: Vec<Field> = columns
            .iter()
            .map(|c| Field::new(c.name.as_str(), arrow_type(c.kind), true))
            .collect();
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        let file = File::create(path).map_err(|source| ExportError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|source| {
            ExportError::Parquet {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            schema,
            kinds: columns.iter().map(|c| c.kind).collect(),
            writer,
            buffer: Vec::with_capacity(BATCH_ROWS),
            rows: 0,
        })
    }

    fn flush_batch(&mut self) -> Result<(), ExportError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let arrays: Vec<ArrayRef> = self
            .kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| column_array(*kind, &self.buffer, i))
            .collect();
        self.buffer.clear();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(|source| {
            ExportError::Arrow {
                path: self.path.clone(),
                source,
            }
        })?;
        self.writer
            .write(&batch)
            .map_err(|source| ExportError::Parquet {
                path: self.path.clone(),
                source,
            })
    }
}

/// Column `i` of the buffered rows as one Arrow array. A value of the wrong
/// kind becomes null; the table definitions make that impossible.
fn column_array(kind: Kind, rows: &[Vec<Value>], i: usize) -> ArrayRef {
    let cells = rows.iter().map(|r| r.get(i).unwrap_or(&Value::Null));
    match kind {
        Kind::Int => {
            let mut b = Int64Builder::with_capacity(rows.len());
            cells.for_each(|v| b.append_option(as_int(v)));
            Arc::new(b.finish())
        }
        Kind::Money => {
            let mut b = Decimal128Builder::with_capacity(rows.len());
            cells.for_each(|v| b.append_option(as_money(v)));
            let array = b.finish();
            match array
                .clone()
                .with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE)
            {
                Ok(a) => Arc::new(a),
                Err(_) => Arc::new(array),
            }
        }
        Kind::Text => {
            let mut b = StringBuilder::new();
            cells.for_each(|v| {
                b.append_option(if let Value::Text(s) = v {
                    Some(s)
                } else {
                    None
                })
            });
            Arc::new(b.finish())
        }
        Kind::Bool => {
            let mut b = BooleanBuilder::with_capacity(rows.len());
            cells.for_each(|v| {
                b.append_option(if let Value::Bool(x) = v {
                    Some(*x)
                } else {
                    None
                })
            });
            Arc::new(b.finish())
        }
        Kind::Time => {
            let mut b = TimestampMicrosecondBuilder::with_capacity(rows.len()).with_timezone("UTC");
            cells.for_each(|v| {
                b.append_option(if let Value::Time(t) = v {
                    Some(*t)
                } else {
                    None
                })
            });
            Arc::new(b.finish())
        }
    }
}

/// A money value in units of 10^-[`MONEY_SCALE`]; none past the precision.
fn as_money(v: &Value) -> Option<i128> {
    let Value::Float(f) = v else { return None };
    let scaled = (f * 10f64.powi(i32::from(MONEY_SCALE))).round();
    (scaled.is_finite() && scaled.abs() < 1e20).then_some(scaled as i128)
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

impl Sink for ParquetSink {
    fn write(&mut self, row: &[Value]) -> Result<(), ExportError> {
        self.buffer.push(row.to_vec());
        self.rows += 1;
        if self.buffer.len() >= BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<u64, ExportError> {
        self.flush_batch()?;
        let path = self.path.clone();
        let rows = self.rows;
        self.writer
            .close()
            .map_err(|source| ExportError::Parquet { path, source })?;
        Ok(rows)
    }
}
