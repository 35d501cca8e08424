//! `nianbao import`: take in the web archives others made (WARC 1.0/1.1,
//! ARC 1.0, WACZ) so that the reports in them join the archive like crawled
//! ones, each figure traceable to the original file and record.
//!
//! A file is hashed, kept byte for byte under `<archive>/warc/imported/`
//! (`store`), and read once, record by record (`records`). Each response
//! or resource record is read as an HTTP exchange (`exchange`); where the
//! document holds reports, it becomes a capture and its reports, cells and
//! checks are derived by `pipeline`, exactly as for a crawled page. A
//! revisit becomes a capture when its original is in the archive. A record
//! that cannot be read is skipped, recorded in `failures` and reported; the
//! rest of the file is read. A CDXJ index is written beside the copy.

pub mod exchange;
pub mod records;
pub mod store;
mod wacz;

use std::path::{Path, PathBuf};

use rusqlite::OptionalExtension;

use crate::archive::{Archive, ArchiveError, NewCapture};
use crate::export::cdxj;
use crate::pipeline::{self, PARSE_LIMIT};
use crate::warc;
use exchange::{Exchange, Kind};
use records::{Compression, Item, RawRecord, Syntax};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("archive database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading a record: {0}")]
    Read(#[from] std::io::Error),
    #[error("{path}: not a WARC, ARC or WACZ file ({why})")]
    NotAnArchive { path: PathBuf, why: String },
}

impl ImportError {
    /// A fault of the archive (database, disk) ends the import; anything
    /// else is a fact about one input file.
    pub fn is_fatal(&self) -> bool {
        matches!(self, ImportError::Archive(_) | ImportError::Sqlite(_))
    }
}

/// Options of one import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Stored with every capture, as a crawl stores its configured source.
    pub source: Option<String>,
}

/// What became of one input file.
#[derive(Debug, Clone, Default)]
pub struct FileOutcome {
    pub path: PathBuf,
    /// `WARC`, `ARC`, `WACZ` with its compression.
    pub format: String,
    pub writer: Option<String>,
    pub sha256: String,
    pub records: u64,
    pub captures: u64,
    pub reports: u64,
    pub revisits: u64,
    /// Revisits not resolved to a capture with reports: of other pages, or
    /// of a report whose original is in neither the input nor the archive.
    pub unresolved_revisits: u64,
    /// Records already in the archive (the same record in another file).
    pub duplicates: u64,
    pub truncated: u64,
    /// Records skipped as unreadable: offset and why.
    pub bad: Vec<(u64, String)>,
    /// Set when the whole file was skipped or could not be read.
    pub skipped: Option<String>,
    /// The index beside the copy, when one was written.
    pub cdxj: Option<PathBuf>,
}

impl std::fmt::Display for FileOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.path.display();
        if let Some(why) = &self.skipped {
            return writeln!(f, "{name}: {why}");
        }
        let writer = self.writer.as_deref().unwrap_or("writer not named");
        writeln!(
            f,
            "{name}: {} ({writer}): {} records, {} captures with {} reports, {} revisits ({} unresolved), {} already archived, {} truncated, {} bad",
            self.format,
            self.records,
            self.captures,
            self.reports,
            self.revisits,
            self.unresolved_revisits,
            self.duplicates,
            self.truncated,
            self.bad.len()
        )?;
        for (offset, why) in &self.bad {
            writeln!(f, "  bad record at {offset}: {why}")?;
        }
        Ok(())
    }
}

/// The files to read: each file given, and the web-archive files in each
/// directory given (recursively), in name order.
pub fn input_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ImportError> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut out)?;
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ImportError> {
    let io_err = |source| ImportError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_err)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out)?;
        } else if is_archive_name(&path) {
            out.push(path);
        }
    }
    Ok(())
}

fn is_archive_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    [".warc", ".warc.gz", ".arc", ".arc.gz", ".wacz"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// Import every file; a file that cannot be read is reported and the next
/// one read. Fails only when the archive itself fails.
pub fn import(
    archive: &mut Archive,
    files: &[PathBuf],
    opts: &ImportOptions,
) -> Result<Vec<FileOutcome>, ImportError> {
    let mut outcomes = Vec::new();
    for path in files {
        let outcome = match import_file(archive, path, opts) {
            Ok(o) => o,
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => FileOutcome {
                path: path.clone(),
                skipped: Some(format!("not imported: {e}")),
                ..FileOutcome::default()
            },
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

fn import_file(
    archive: &mut Archive,
    path: &Path,
    opts: &ImportOptions,
) -> Result<FileOutcome, ImportError> {
    let (sha256, size) = store::sha256_file(path)?;
    let mut outcome = FileOutcome {
        path: path.to_path_buf(),
        sha256: sha256.clone(),
        ..FileOutcome::default()
    };
    if let Some((id, name)) = store::earlier_import(archive, &sha256)? {
        outcome.skipped = Some(format!("already imported (import {id}, as {name})"));
        return Ok(outcome);
    }
    let name = store::safe_name(&path.file_name().unwrap_or_default().to_string_lossy());
    let stored_as = format!("{}/{name}", store::stored_dir(&sha256));
    if wacz::is_wacz(path)? {
        store::keep_copy(archive, path, &stored_as)?;
        let row = store::NewImport {
            file_name: &name,
            sha256: &sha256,
            size,
            stored_as: &stored_as,
            format: "wacz",
            compression: "zip",
            writer: None,
            parent: None,
            source: opts.source.as_deref(),
        };
        let id = store::insert_import(archive, &row)?;
        wacz::import_package(archive, path, id, &stored_as, opts, &mut outcome)?;
        return Ok(outcome);
    }
    let copy = store::keep_copy(archive, path, &stored_as)?;
    let row = store::NewImport {
        file_name: &name,
        sha256: &sha256,
        size,
        stored_as: &stored_as,
        format: "warc",
        compression: "none",
        writer: None,
        parent: None,
        source: opts.source.as_deref(),
    };
    let id = store::insert_import(archive, &row)?;
    read_records(archive, &copy, id, &stored_as, None, opts, &mut outcome)?;
    Ok(outcome)
}

/// Read the records of a kept WARC or ARC file into the archive.
fn read_records(
    archive: &mut Archive,
    copy: &Path,
    import_id: i64,
    stored_as: &str,
    package_writer: Option<&str>,
    opts: &ImportOptions,
    outcome: &mut FileOutcome,
) -> Result<(), ImportError> {
    let mut run = Run {
        archive,
        import_id,
        stored_as,
        file_name: outcome
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        source: opts.source.clone(),
        outcome,
        writer: None,
        lines: Vec::new(),
    };
    let shape = records::read_file(copy, PARSE_LIMIT as usize, &mut |item| run.item(item))?;
    let Run {
        writer,
        lines,
        outcome,
        archive,
        ..
    } = run;
    let writer = writer.or(package_writer.map(str::to_string));
    let format = match shape.syntax {
        Some(Syntax::Arc) => "arc",
        _ => "warc",
    };
    if shape.syntax.is_none() && outcome.records == 0 {
        outcome.format = "unknown".into();
        return Err(ImportError::NotAnArchive {
            path: outcome.path.clone(),
            why: "no WARC or ARC record in it".into(),
        });
    }
    outcome.format = format!(
        "{} ({})",
        format.to_ascii_uppercase(),
        shape.compression.as_str()
    );
    outcome.writer = writer.clone();
    store::finish_import(
        archive,
        import_id,
        format,
        shape.compression.as_str(),
        writer.as_deref(),
        (outcome.records, outcome.captures, outcome.bad.len() as u64),
    )?;
    // One gzip stream cannot be read from an offset by replay tools.
    if shape.compression != Compression::GzipStream {
        outcome.cdxj = Some(write_index(archive, stored_as, lines)?);
    }
    Ok(())
}

fn write_index(
    archive: &Archive,
    stored_as: &str,
    mut lines: Vec<String>,
) -> Result<PathBuf, ImportError> {
    lines.sort();
    lines.dedup();
    let target = cdxj::index_path(&archive.warc_dir().join(stored_as));
    let partial = target.with_extension("cdxj.partial");
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ImportError::Io { path, source }
    };
    std::fs::write(&partial, lines.concat()).map_err(io_err(&partial))?;
    std::fs::rename(&partial, &target).map_err(io_err(&target))?;
    Ok(target)
}

/// The state of reading one file.
struct Run<'a> {
    archive: &'a mut Archive,
    import_id: i64,
    stored_as: &'a str,
    file_name: String,
    source: Option<String>,
    outcome: &'a mut FileOutcome,
    writer: Option<String>,
    lines: Vec<String>,
}

impl Run<'_> {
    fn item(&mut self, item: Item) -> Result<(), ImportError> {
        match item {
            Item::Bad { offset, why } => self.bad(offset, why),
            Item::Record(record) => {
                self.outcome.records += 1;
                self.index(&record);
                match exchange::exchange(&record) {
                    Ok(ex) => self.exchange(&record, ex),
                    Err(why) => self.bad(record.offset, why),
                }
            }
        }
    }

    fn bad(&mut self, offset: u64, why: String) -> Result<(), ImportError> {
        tracing::warn!(file = %self.file_name, offset, %why, "record skipped");
        self.archive.insert_failure(
            &self.file_name,
            "import",
            &format!("{} at byte {offset}: {why}", self.stored_as),
            self.source.as_deref(),
        )?;
        self.outcome.bad.push((offset, why));
        Ok(())
    }

    /// The CDXJ line of a record, as `cdxj-indexer` writes it.
    fn index(&mut self, record: &RawRecord) {
        if record.length == 0 {
            return;
        }
        let as_warc = warc::Record {
            headers: record.headers.clone(),
            block: http_head_only(&record.block).to_vec(),
        };
        let mut as_warc = as_warc;
        if let Some(uri) = record.header("WARC-Target-URI") {
            let bare = uri.trim().trim_start_matches('<').trim_end_matches('>');
            for (k, v) in &mut as_warc.headers {
                if k.eq_ignore_ascii_case("WARC-Target-URI") {
                    *v = bare.to_string();
                }
            }
        }
        if let Some(line) = cdxj::index_line(&as_warc, record.offset, record.length, self.stored_as)
        {
            self.lines.push(line);
        }
    }

    fn exchange(&mut self, record: &RawRecord, ex: Exchange) -> Result<(), ImportError> {
        match ex.kind {
            Kind::Warcinfo => {
                if self.writer.is_none() {
                    self.writer = writer_of(record);
                }
                Ok(())
            }
            Kind::Response | Kind::Resource => self.document(record, ex),
            Kind::Revisit => self.revisit(record, ex),
            Kind::Other(_) => Ok(()),
        }
    }

    /// A response or resource: a capture when it holds reports.
    fn document(&mut self, record: &RawRecord, ex: Exchange) -> Result<(), ImportError> {
        if !(200..300).contains(&ex.status) {
            return Ok(());
        }
        if self.already_archived(&ex)? {
            self.outcome.duplicates += 1;
            return Ok(());
        }
        let Some(analysis) =
            pipeline::analyse_stored(&ex.url, &ex.headers, &ex.body, ex.content_type.as_deref())
        else {
            return Ok(());
        };
        if analysis.reports.is_empty() {
            return Ok(());
        }
        let capture = self.capture(record, &ex, "response", None, warc::sha1_digest(&ex.body));
        let id = self.archive.insert_capture(&capture)?;
        pipeline::record_analysis(self.archive, id, &analysis)?;
        self.outcome.captures += 1;
        self.outcome.reports += analysis.reports.len() as u64;
        if ex.truncated.is_some() {
            self.outcome.truncated += 1;
        }
        Ok(())
    }

    /// A revisit: a capture of its original, when the original (a capture
    /// that yielded reports) is in the archive.
    fn revisit(&mut self, record: &RawRecord, ex: Exchange) -> Result<(), ImportError> {
        if self.already_archived(&ex)? {
            self.outcome.duplicates += 1;
            return Ok(());
        }
        let Some((original, digest)) = self.original_of(&ex)? else {
            self.outcome.unresolved_revisits += 1;
            return Ok(());
        };
        let capture = self.capture(record, &ex, "revisit", Some(original), digest);
        self.archive.insert_capture(&capture)?;
        self.outcome.captures += 1;
        self.outcome.revisits += 1;
        Ok(())
    }

    fn capture(
        &self,
        record: &RawRecord,
        ex: &Exchange,
        record_type: &'static str,
        refers_to: Option<i64>,
        payload_digest: String,
    ) -> NewCapture {
        NewCapture {
            url: ex.url.clone(),
            fetched_at: ex.date.clone(),
            status: ex.status,
            headers: ex
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
                .collect(),
            content_type: ex.content_type.clone(),
            record_type,
            payload_digest,
            payload_length: ex.body.len() as u64,
            truncated: ex.truncated.clone(),
            warc_file: self.stored_as.to_string(),
            warc_offset: record.offset,
            warc_length: record.length,
            warc_record_id: record_id(ex, &self.outcome.sha256, record.offset),
            ip: ex.ip.clone(),
            refers_to,
            source: self.source.clone(),
            etag: ex.header("etag"),
            last_modified: ex.header("last-modified"),
            import_id: Some(self.import_id),
            ..NewCapture::default()
        }
    }

    /// The same record (same id, same URL) is archived already, from
    /// another file (a WARC imported alone and again inside a WACZ).
    fn already_archived(&self, ex: &Exchange) -> Result<bool, ImportError> {
        if ex.record_id.is_empty() {
            return Ok(false);
        }
        Ok(self
            .archive
            .conn()
            .query_row(
                "SELECT 1 FROM captures WHERE warc_record_id = ?1 AND url = ?2 LIMIT 1",
                [&ex.record_id, &ex.url],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// The capture a revisit's payload is in: by `WARC-Refers-To`, else by
    /// the URI and date it refers to, else by URL and payload digest.
    fn original_of(&self, ex: &Exchange) -> Result<Option<(i64, String)>, ImportError> {
        let conn = self.archive.conn();
        let with_reports = "record_type = 'response' AND EXISTS
            (SELECT 1 FROM reports r WHERE r.capture_id = captures.id)";
        let by = |sql: String, args: &[&str]| {
            conn.query_row(&sql, rusqlite::params_from_iter(args), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
        };
        if let Some(id) = &ex.refers_to.record_id {
            let sql = format!(
                "SELECT id, payload_digest FROM captures WHERE warc_record_id = ?1
                 AND {with_reports} LIMIT 1"
            );
            if let Some(found) = by(sql, &[id])? {
                return Ok(Some(found));
            }
        }
        if let (Some(uri), Some(date)) = (&ex.refers_to.uri, &ex.refers_to.date) {
            let sql = format!(
                "SELECT id, payload_digest FROM captures WHERE url = ?1 AND fetched_at = ?2
                 AND {with_reports} ORDER BY id LIMIT 1"
            );
            if let Some(found) = by(sql, &[uri, date])? {
                return Ok(Some(found));
            }
        }
        if let Some(digest) = &ex.refers_to.payload_digest {
            let sql = format!(
                "SELECT id, payload_digest FROM captures WHERE url = ?1
                 AND upper(payload_digest) = upper(?2) AND {with_reports}
                 ORDER BY fetched_at DESC LIMIT 1"
            );
            let uri = ex.refers_to.uri.as_deref().unwrap_or(&ex.url);
            if let Some(found) = by(sql, &[uri, digest])? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}

/// The record's id; ARC records have none, and are named by the file's
/// digest and the record's offset.
fn record_id(ex: &Exchange, sha256: &str, offset: u64) -> String {
    if ex.record_id.is_empty() {
        format!("<urn:arc:sha256:{sha256}:{offset}>")
    } else {
        ex.record_id.clone()
    }
}

/// Only the HTTP head of a block (what the index reads).
fn http_head_only(block: &[u8]) -> &[u8] {
    match memchr::memmem::find(block, b"\r\n\r\n") {
        Some(i) => &block[..i + 4],
        None => block.get(..block.len().min(64 * 1024)).unwrap_or(block),
    }
}

/// The software a `warcinfo` record (or an ARC file header) names.
fn writer_of(record: &RawRecord) -> Option<String> {
    let text = String::from_utf8_lossy(&record.block);
    if record.syntax == Syntax::Arc {
        if let Some(software) = xml_text(&text, "software") {
            return Some(software);
        }
        // Version block: "1 0 <origin code>".
        let first = text.lines().next()?;
        let origin = first.splitn(3, ' ').nth(2)?.trim();
        return (!origin.is_empty()).then(|| origin.to_string());
    }
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("software"))
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn xml_text(text: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{tag}>"))? + start;
    Some(text[start..end].trim().to_string()).filter(|s| !s.is_empty())
}

/// A capture's record read back from its imported file, as the exchange
/// it holds: for re-extraction. `None` when the capture was not imported.
pub fn stored_exchange(
    archive: &Archive,
    capture_id: i64,
) -> Result<Option<Exchange>, ImportError> {
    let row: Option<(String, i64, String, String)> = archive
        .conn()
        .query_row(
            "SELECT k.warc_file, k.warc_offset, k.warc_record_id, i.compression
             FROM captures k JOIN imports i ON i.id = k.import_id WHERE k.id = ?1",
            [capture_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((file, offset, record_id, compression)) = row else {
        return Ok(None);
    };
    let path = archive.warc_dir().join(&file);
    let compression = Compression::parse(&compression).unwrap_or(Compression::None);
    let record = records::read_at(
        &path,
        compression,
        offset.max(0) as u64,
        &record_id,
        PARSE_LIMIT as usize,
    )
    .map_err(|source| ImportError::Io {
        path: path.clone(),
        source,
    })?;
    let Some(record) = record else {
        return Err(ImportError::NotAnArchive {
            path,
            why: format!("no record at byte {offset}"),
        });
    };
    exchange::exchange(&record)
        .map(Some)
        .map_err(|why| ImportError::NotAnArchive { path, why })
}
