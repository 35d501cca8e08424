//! CSV: UTF-8, one header row, RFC 4180 quoting (the `csv` crate). With
//! `excel`, a byte-order mark first, which is what makes Excel read the file
//! as UTF-8 instead of the local code page and show the Chinese.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::table::{iso_time, Column, Sink, Value};
use super::ExportError;

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

pub struct CsvSink {
    path: PathBuf,
    writer: csv::Writer<BufWriter<File>>,
    rows: u64,
}

impl CsvSink {
    pub fn create(path: &Path, columns: &[Column], excel: bool) -> Result<Self, ExportError> {
        let io = |source| ExportError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut out = BufWriter::new(File::create(path).map_err(io)?);
        if excel {
            out.write_all(BOM).map_err(io)?;
        }
        let mut writer = csv::Writer::from_writer(out);
        writer
            .write_record(columns.iter().map(|c| c.name.as_str()))
            .map_err(|source| ExportError::Csv {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            writer,
            rows: 0,
        })
    }

    fn err(&self, source: csv::Error) -> ExportError {
        ExportError::Csv {
            path: self.path.clone(),
            source,
        }
    }
}

/// The text of one field; empty for null.
pub fn field<'v>(value: &'v Value<'_>) -> Cow<'v, str> {
    Cow::Owned(match value {
        Value::Null => String::new(),
        Value::Int(v) => v.to_string(),
        // Shortest form that reads back to the same number, always with a
        // decimal point: 1200.0, 67552.91.
        Value::Float(v) if v.is_finite() => {
            let text = v.to_string();
            if text.contains('.') {
                text
            } else {
                format!("{text}.0")
            }
        }
        Value::Float(_) => String::new(),
        Value::Text(v) => return Cow::Borrowed(v),
        Value::Bool(v) => v.to_string(),
        Value::Time(v) => iso_time(*v),
    })
}

impl Sink for CsvSink {
    fn write(&mut self, row: &[Value<'_>]) -> Result<(), ExportError> {
        let result = self.writer.write_record(row.iter().map(|v| match field(v) {
            Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        }));
        result.map_err(|e| self.err(e))?;
        self.rows += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<u64, ExportError> {
        let flushed = self.writer.flush();
        flushed.map_err(|source| ExportError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.rows)
    }
}
