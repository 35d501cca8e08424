//! Parquet through Arrow: typed columns (Int64, Float64, Utf8, Boolean,
//! Timestamp(µs, UTC)), Snappy-compressed, written in row groups of
//! [`BATCH_ROWS`] rows so that memory stays flat however long the table.
//! Batches are encoded and written on a thread of their own while the next
//! one is read: encoding was a third of an export's time.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use arrow_array::builder::{
    BooleanBuilder, Decimal128Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

use super::file::{Digested, Written};
use super::table::{Column, Kind, Sink, Value};
use super::ExportError;

/// Precision and scale of money: 4 decimals hold 1 元 in 万元 and 1 分 in 元.
pub const MONEY_PRECISION: u8 = 20;
pub const MONEY_SCALE: i8 = 4;

/// Rows buffered before a batch is handed to the writer.
pub const BATCH_ROWS: usize = 8192;

/// Batches handed to the encoding thread and not yet taken.
const QUEUED: usize = 2;

pub struct ParquetSink {
    path: PathBuf,
    schema: SchemaRef,
    /// Where batches go to be encoded; `None` once closed.
    batches: Option<SyncSender<RecordBatch>>,
    /// The thread that owns the file's writer.
    encoder: Option<JoinHandle<Result<Written, ParquetError>>>,
    /// The batch being filled: one builder per column, values appended as
    /// rows come, so that no row is kept.
    builders: Vec<Builder>,
    buffered: usize,
    rows: u64,
}

/// The Arrow builder of one column.
enum Builder {
    Int(Int64Builder),
    Money(Decimal128Builder),
    Text(StringBuilder),
    Bool(BooleanBuilder),
    Time(TimestampMicrosecondBuilder),
}

impl Builder {
    fn new(kind: Kind) -> Self {
        match kind {
            Kind::Int => Builder::Int(Int64Builder::with_capacity(BATCH_ROWS)),
            Kind::Money => Builder::Money(Decimal128Builder::with_capacity(BATCH_ROWS)),
            Kind::Text => Builder::Text(StringBuilder::new()),
            Kind::Bool => Builder::Bool(BooleanBuilder::with_capacity(BATCH_ROWS)),
            Kind::Time => Builder::Time(
                TimestampMicrosecondBuilder::with_capacity(BATCH_ROWS).with_timezone("UTC"),
            ),
        }
    }

    /// Append one value. A value of the wrong kind becomes null; the table
    /// definitions make that impossible.
    fn append(&mut self, v: &Value<'_>) {
        match self {
            Builder::Int(b) => b.append_option(as_int(v)),
            Builder::Money(b) => b.append_option(as_money(v)),
            Builder::Text(b) => b.append_option(match v {
                Value::Text(s) => Some(s.as_ref()),
                _ => None,
            }),
            Builder::Bool(b) => b.append_option(match v {
                Value::Bool(x) => Some(*x),
                _ => None,
            }),
            Builder::Time(b) => b.append_option(match v {
                Value::Time(t) => Some(*t),
                _ => None,
            }),
        }
    }

    /// The values appended since the last call, as one array.
    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Money(b) => {
                let array = b.finish();
                match array
                    .clone()
                    .with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE)
                {
                    Ok(a) => Arc::new(a),
                    Err(_) => Arc::new(array),
                }
            }
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
        }
    }
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
        let file = Digested::create(path)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|source| {
            ExportError::Parquet {
                path: path.to_path_buf(),
                source,
            }
        })?;
        let (batches, queue) = sync_channel(QUEUED);
        let encoder = std::thread::Builder::new()
            .name("parquet-encoder".into())
            .spawn(move || encode(writer, queue))
            .map_err(|source| ExportError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            schema,
            batches: Some(batches),
            encoder: Some(encoder),
            builders: columns.iter().map(|c| Builder::new(c.kind)).collect(),
            buffered: 0,
            rows: 0,
        })
    }

    fn flush_batch(&mut self) -> Result<(), ExportError> {
        if self.buffered == 0 {
            return Ok(());
        }
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
        self.buffered = 0;
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(|source| {
            ExportError::Arrow {
                path: self.path.clone(),
                source,
            }
        })?;
        let sent = self.batches.as_ref().map(|b| b.send(batch));
        match sent {
            Some(Ok(())) => Ok(()),
            // The encoder stopped: its error says why.
            _ => self.close().map(|_| ()),
        }
    }

    /// Close the queue and wait for the encoder to write the file's end.
    fn close(&mut self) -> Result<Written, ExportError> {
        self.batches = None;
        let failed = |source| ExportError::Parquet {
            path: self.path.clone(),
            source,
        };
        match self.encoder.take().map(JoinHandle::join) {
            Some(Ok(result)) => result.map_err(failed),
            Some(Err(_)) => Err(failed(ParquetError::General(
                "the encoding thread stopped".into(),
            ))),
            None => Err(failed(ParquetError::General(
                "the file was already closed".into(),
            ))),
        }
    }
}

impl Drop for ParquetSink {
    /// A sink given up on (an export that failed) waits for its encoder, so
    /// that no thread writes on after the partial file is removed.
    fn drop(&mut self) {
        self.batches = None;
        if let Some(encoder) = self.encoder.take() {
            let _ = encoder.join();
        }
    }
}

/// The encoder's loop: write each batch as it comes, then the file's end.
fn encode(
    mut writer: ArrowWriter<Digested>,
    queue: Receiver<RecordBatch>,
) -> Result<Written, ParquetError> {
    for batch in queue {
        writer.write(&batch)?;
    }
    Ok(writer.into_inner()?.finish()?)
}

/// A money value in units of 10^-[`MONEY_SCALE`]; none past the precision.
fn as_money(v: &Value<'_>) -> Option<i128> {
    let Value::Float(f) = v else { return None };
    let scaled = (f * 10f64.powi(i32::from(MONEY_SCALE))).round();
    (scaled.is_finite() && scaled.abs() < 1e20).then_some(scaled as i128)
}

fn as_int(v: &Value<'_>) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

impl Sink for ParquetSink {
    fn write(&mut self, row: &[Value<'_>]) -> Result<(), ExportError> {
        // A row shorter than the columns is padded with nulls, so that every
        // column of the batch has as many values.
        for (i, builder) in self.builders.iter_mut().enumerate() {
            builder.append(row.get(i).unwrap_or(&Value::Null));
        }
        self.buffered += 1;
        self.rows += 1;
        if self.buffered >= BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(u64, Written), ExportError> {
        self.flush_batch()?;
        let written = self.close()?;
        Ok((self.rows, written))
    }
}
