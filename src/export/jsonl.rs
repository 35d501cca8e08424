//! JSON Lines: one object per row, keys in column order, nulls written out
//! (so every line has every key), times as ISO 8601 strings.

use std::path::Path;

use super::file::{Behind, Written};
use super::table::{iso_time, Column, Sink, Value};
use super::ExportError;

pub struct JsonlSink {
    out: Behind,
    /// Each column name, already JSON-quoted, with its `:`.
    keys: Vec<String>,
    rows: u64,
}

impl JsonlSink {
    pub fn create(path: &Path, columns: &[Column]) -> Result<Self, ExportError> {
        let keys = columns
            .iter()
            .map(|c| format!("{}:", serde_json::Value::String(c.name.clone())))
            .collect();
        Ok(Self {
            out: Behind::create(path)?,
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
        self.out.buffer().extend_from_slice(line.as_bytes());
        self.out.hand_over()?;
        self.rows += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(u64, Written), ExportError> {
        Ok((self.rows, self.out.finish()?))
    }
}
