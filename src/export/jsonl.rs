//! JSON Lines: one object per row, keys in column order, nulls written out
//! (so every line has every key), times as ISO 8601 strings.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::table::{iso_time, Column, Sink, Value};
use super::ExportError;

pub struct JsonlSink {
    path: PathBuf,
    out: BufWriter<File>,
    /// Each column name, already JSON-quoted, with its `:`.
    keys: Vec<String>,
    rows: u64,
}

impl JsonlSink {
    pub fn create(path: &Path, columns: &[Column]) -> Result<Self, ExportError> {
        let file = File::create(path).map_err(|source| ExportError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let keys = columns
            .iter()
            .map(|c| format!("{}:", serde_json::Value::String(c.name.clone())))
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            keys,
            rows: 0,
        })
    }
}

/// A value as a JSON value.
pub fn json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Int(v) => (*v).into(),
        Value::Float(v) => serde_json::Number::from_f64(*v)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::Text(v) => serde_json::Value::String(v.to_string()),
        Value::Bool(v) => (*v).into(),
        Value::Time(v) => serde_json::Value::String(iso_time(*v)),
    }
}

impl Sink for JsonlSink {
    fn write(&mut self, row: &[Value<'_>]) -> Result<(), ExportError> {
        let mut line = String::from("{");
        for (i, (key, value)) in self.keys.iter().zip(row).enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(key);
            line.push_str(&json(value).to_string());
        }
        line.push_str("}\n");
        self.out
            .write_all(line.as_bytes())
            .map_err(|source| ExportError::Io {
                path: self.path.clone(),
                source,
            })?;
        self.rows += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<u64, ExportError> {
        self.out.flush().map_err(|source| ExportError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.rows)
    }
}
