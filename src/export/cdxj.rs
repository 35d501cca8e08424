//! CDXJ indexes of the WARC files, for replay (pywb) and lookup tools: one
//! `<file>.warc.gz.cdxj` beside each `<file>.warc.gz`, written the way
//! `cdxj-indexer --sort` writes it. Reads WARC files through `warc`'s reader
//! only; never opens one for writing.
//!
//! Each line is `SURT-key 14-digit-timestamp {json}` with the fields `url`,
//! `mime`, `status`, `digest`, `length`, `offset`, `filename` in that order,
//! values as strings, JSON written as Python's `json.dumps` writes it (`": "`
//! and `", "` separators, non-ASCII escaped), lines sorted bytewise with
//! duplicates dropped. Indexed: `response`, `revisit`, `resource` and
//! `metadata` records (not `warcinfo` or `request`, nor `application/
//! warc-fields` resources), as `cdxj-indexer` does by default.
//!
//! The index is named after the whole WARC file name plus `.cdxj` so that it
//! names exactly the file it indexes (strip the suffix to get it back), cannot
//! clash with an uncompressed `.warc` of the same stem, and is never mistaken
//! for a WARC file by anything that lists `*.warc.gz`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::surt::surt;
use super::ExportError;
use crate::warc::{self, Record};

/// The suffix added to a WARC file's name to name its index.
pub const SUFFIX: &str = ".cdxj";

/// Record types indexed, as `cdxj-indexer`'s default.
const INDEXED: [&str; 4] = ["response", "revisit", "resource", "metadata"];

/// What `index_archive` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexSummary {
    /// Index files (re)written.
    pub written: Vec<PathBuf>,
    /// WARC files whose index was already newer than the file.
    pub up_to_date: Vec<PathBuf>,
    /// Lines written in all.
    pub lines: u64,
}

/// The index file of a WARC file.
pub fn index_path(warc_file: &Path) -> PathBuf {
    let mut name = warc_file.as_os_str().to_os_string();
    name.push(SUFFIX);
    PathBuf::from(name)
}

/// (Re)write the index of every WARC file in `warc_dir`. Without `force`, a
/// file whose index is newer than it is left alone.
pub fn index_dir(warc_dir: &Path, force: bool) -> Result<IndexSummary, ExportError> {
    let mut summary = IndexSummary::default();
    for file in warc::warc_files(warc_dir)? {
        let target = index_path(&file);
        if !force && is_newer(&target, &file) {
            summary.up_to_date.push(file);
            continue;
        }
        let lines = index_lines(&file)?;
        write_atomically(&target, &lines)?;
        tracing::info!(file = %file.display(), lines = lines.len(), "CDXJ written");
        summary.lines += lines.len() as u64;
        summary.written.push(target);
    }
    Ok(summary)
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Strictly newer: an index written in the same clock tick as a later append
/// is rewritten.
fn is_newer(a: &Path, b: &Path) -> bool {
    matches!((modified(a), modified(b)), (Some(a), Some(b)) if a > b)
}

fn write_atomically(target: &Path, lines: &[String]) -> Result<(), ExportError> {
    let tmp = target.with_extension("cdxj.partial");
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExportError::Io { path, source }
    };
    std::fs::write(&tmp, lines.concat()).map_err(io(&tmp))?;
    std::fs::rename(&tmp, target).map_err(io(target))
}

/// The index of the files a crawl writes, kept as their records are written
/// and written beside each file when it is finished: no file is read back.
/// A file a crash left unfinished has no index newer than itself, and
/// [`index_dir`] makes it from the file.
#[derive(Default)]
pub struct LiveIndex {
    lines: Vec<String>,
}

impl warc::Observer for LiveIndex {
    fn written(&mut self, file: &str, record: &Record, offset: u64, length: u64) {
        self.lines.extend(index_line(record, offset, length, file));
    }

    fn finished(&mut self, path: &Path) {
        let mut lines = std::mem::take(&mut self.lines);
        lines.sort();
        lines.dedup();
        let target = index_path(path);
        match write_atomically(&target, &lines).and_then(|()| stamp_after(&target, path)) {
            Ok(()) => tracing::debug!(file = %path.display(), lines = lines.len(), "CDXJ written"),
            Err(e) => tracing::warn!(error = %e, "the CDXJ index will be made from the file"),
        }
    }
}

/// Date the index of a finished file after the file. Written within the
/// same tick of the file system's clock as the file's last append (about
/// 4 ms, and a short run's end is quicker), it would bear the same time, and
/// [`index_dir`] would read the whole file back to make it again.
fn stamp_after(index: &Path, file: &Path) -> Result<(), ExportError> {
    let (Some(written), Some(appended)) = (modified(index), modified(file)) else {
        return Ok(());
    };
    if written > appended {
        return Ok(());
    }
    let io = |source| ExportError::Io {
        path: index.to_path_buf(),
        source,
    };
    std::fs::File::options()
        .write(true)
        .open(index)
        .and_then(|f| f.set_modified(appended + std::time::Duration::from_millis(1)))
        .map_err(io)
}

/// The sorted, de-duplicated index lines of one WARC file, each ending in `\n`.
pub fn index_lines(path: &Path) -> Result<Vec<String>, ExportError> {
    let filename = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut lines = Vec::new();
    for (offset, length) in warc::members(path)?.spans {
        let record = warc::read_record(path, offset)?;
        if let Some(line) = index_line(&record, offset, length, &filename) {
            lines.push(line);
        }
    }
    lines.sort();
    lines.dedup();
    Ok(lines)
}

/// The index line of one record, or `None` for a record type not indexed.
pub fn index_line(record: &Record, offset: u64, length: u64, filename: &str) -> Option<String> {
    let kind = record.header("WARC-Type")?;
    if !INDEXED.contains(&kind) {
        return None;
    }
    let content_type = record.header("Content-Type");
    if matches!(kind, "resource" | "metadata") && content_type == Some("application/warc-fields") {
        return None;
    }
    let url = record.header("WARC-Target-URI").unwrap_or_default();
    let http = matches!(kind, "response" | "revisit").then(|| http_head(record));
    let mime = match kind {
        "revisit" => Some("warc/revisit".to_string()),
        "response" => http.as_ref().and_then(|h| h.content_type.clone()),
        _ => content_type.map(str::to_string),
    }
    .map(|m| first_token(&m));
    let mut fields: Vec<(&str, String)> = vec![("url", url.to_string())];
    if let Some(mime) = mime {
        fields.push(("mime", mime));
    }
    if let Some(status) = http.and_then(|h| h.status) {
        fields.push(("status", status));
    }
    if let Some(digest) = record.header("WARC-Payload-Digest") {
        fields.push(("digest", digest.to_string()));
    }
    fields.push(("length", length.to_string()));
    fields.push(("offset", offset.to_string()));
    fields.push(("filename", filename.to_string()));
    let date = record.header("WARC-Date").unwrap_or_default();
    Some(format!(
        "{} {} {}\n",
        surt(url),
        timestamp14(date),
        python_json(&fields)
    ))
}

/// The parts of an HTTP response head the index needs.
struct HttpHead {
    status: Option<String>,
    content_type: Option<String>,
}

fn http_head(record: &Record) -> HttpHead {
    let (head, _) = record.http_parts();
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .filter(|l| l.starts_with("HTTP/"))
        .and_then(|l| l.split_once(' '))
        .and_then(|(_, rest)| rest.split(' ').next())
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let content_type = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_string());
    HttpHead {
        status,
        content_type,
    }
}

/// A media type without its parameters (`text/html; charset=gbk` → `text/html`).
fn first_token(mime: &str) -> String {
    mime.split(|c: char| c == ';' || c.is_whitespace())
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// `2024-01-02T03:04:05Z` → `20240102030405`.
pub fn timestamp14(date: &str) -> String {
    date.chars().filter(char::is_ascii_digit).take(14).collect()
}

/// A flat object of strings as Python's `json.dumps` writes it.
fn python_json(fields: &[(&str, String)]) -> String {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}: {}", python_string(k), python_string(v)))
        .collect();
    format!("{{{}}}", body.join(", "))
}

fn python_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warc::Observer;

    #[test]
    fn the_index_of_a_finished_file_is_up_to_date_whatever_the_clock_tick() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("NIANBAO-1.warc.gz");
        // Not a WARC file: read back, it would fail.
        std::fs::write(&file, b"not gzip").unwrap();
        // The file's last append bears a time the index's write cannot pass
        // (as within one tick of a coarse clock).
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(later)
            .unwrap();
        LiveIndex::default().finished(&file);
        let summary = index_dir(dir.path(), false).unwrap();
        assert_eq!(summary.up_to_date, [file]);
        assert!(summary.written.is_empty());
    }

    #[test]
    fn json_is_written_as_python_writes_it() {
        let fields = vec![("url", "http://a/\"年\"".to_string()), ("n", "1".into())];
        assert_eq!(
            python_json(&fields),
            r#"{"url": "http://a/\"\u5e74\"", "n": "1"}"#
        );
    }

    #[test]
    fn timestamps_have_fourteen_digits() {
        assert_eq!(timestamp14("2024-01-02T03:04:05Z"), "20240102030405");
    }
}
