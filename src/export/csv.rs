//! CSV: UTF-8, one header row, fields quoted as RFC 4180 asks (only those
//! holding a comma, a quote or a line break; a quote doubled), rows ended by
//! `\n`. With `excel`, a byte-order mark first, which is what makes Excel
//! read the file as UTF-8 instead of the local code page and show the
//! Chinese.
//!
//! Rows are formatted straight into the file's next chunk, which is written
//! and digested on another thread ([`Behind`]): formatting through the `csv`
//! crate, with an allocation per number, was half of a CSV export's time.

use std::path::Path;

use memchr::memchr3;

use super::file::{Behind, Written};
use super::table::{iso_time, Column, Sink, Value};
use super::ExportError;

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

pub struct CsvSink {
    out: Behind,
    rows: u64,
    /// The last time formatted: a report's capture time is on each of its
    /// figures' rows.
    time: Option<(i64, String)>,
}

impl CsvSink {
    pub fn create(path: &Path, columns: &[Column], excel: bool) -> Result<Self, ExportError> {
        let mut out = Behind::create(path)?;
        if excel {
            out.buffer().extend_from_slice(BOM);
        }
        let names: Vec<Value> = columns
            .iter()
            .map(|c| Value::from(c.name.as_str()))
            .collect();
        let mut sink = Self {
            out,
            rows: 0,
            time: None,
        };
        sink.record(&names)?;
        Ok(sink)
    }

    fn record(&mut self, row: &[Value<'_>]) -> Result<(), ExportError> {
        let buf = self.out.buffer();
        let start = buf.len();
        for (i, value) in row.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            match value {
                Value::Null => {}
                Value::Int(v) => buf.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes()),
                Value::Float(v) => push_float(buf, *v),
                Value::Text(v) => push_text(buf, v),
                Value::Bool(v) => buf.extend_from_slice(if *v { b"true" } else { b"false" }),
                Value::Time(v) => {
                    let text = match &self.time {
                        Some((t, text)) if t == v => text,
                        _ => &self.time.insert((*v, iso_time(*v))).1,
                    };
                    buf.extend_from_slice(text.as_bytes());
                }
            }
        }
        // A record of no field or one empty one is written `""`, as the
        // `csv` crate writes it, or it would read as a blank line.
        if row.len() <= 1 && buf.len() == start {
            buf.extend_from_slice(b"\"\"");
        }
        buf.push(b'\n');
        self.out.hand_over()
    }
}

/// Shortest form that reads back to the same number, always with a decimal
/// point: 1200.0, 67552.91; nothing for a number that is none.
fn push_float(buf: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        return;
    }
    let text = v.to_string();
    buf.extend_from_slice(text.as_bytes());
    if !text.contains('.') {
        buf.extend_from_slice(b".0");
    }
}

/// Text, quoted when it holds a comma, a quote or a line break.
fn push_text(buf: &mut Vec<u8>, text: &str) {
    let b = text.as_bytes();
    if memchr3(b',', b'"', b'\n', b).is_none() && !b.contains(&b'\r') {
        buf.extend_from_slice(b);
        return;
    }
    buf.push(b'"');
    for (i, piece) in text.split('"').enumerate() {
        if i > 0 {
            buf.extend_from_slice(b"\"\"");
        }
        buf.extend_from_slice(piece.as_bytes());
    }
    buf.push(b'"');
}

impl Sink for CsvSink {
    fn write(&mut self, row: &[Value<'_>]) -> Result<(), ExportError> {
        self.record(row)?;
        self.rows += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(u64, Written), ExportError> {
        Ok((self.rows, self.out.finish()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(row: &[Value<'_>]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut sink = Box::new(CsvSink::create(&path, &[], false).unwrap());
        sink.write(row).unwrap();
        sink.finish().unwrap();
        String::from_utf8(std::fs::read(&path).unwrap()).unwrap()
    }

    #[test]
    fn fields_are_quoted_only_where_rfc_4180_needs_it() {
        let row = [
            Value::Int(-42),
            Value::Null,
            Value::Float(1200.0),
            Value::Float(67552.91),
            Value::Float(f64::NAN),
            Value::from("依申请公开"),
            Value::from("a,b"),
            Value::from("say \"hi\""),
            Value::from("two\nlines"),
            Value::from("cr\r"),
            Value::Bool(true),
            Value::Time(1_700_000_000_000_000),
        ];
        assert_eq!(
            line(&row),
            "\"\"\n-42,,1200.0,67552.91,,依申请公开,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\",true,2023-11-14T22:13:20Z\n"
        );
        // One empty field is a record, not a blank line.
        assert_eq!(line(&[Value::Null]), "\"\"\n\"\"\n");
        assert_eq!(line(&[Value::from("x")]), "\"\"\nx\n");
    }
}
