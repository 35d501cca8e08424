//! Recovery after a killed run, from the snapshots themselves.
//!
//! A record is on disk before the row that indexes it; a run killed between
//! the two leaves a WARC record no row points at. On start, such records
//! are indexed (as `pipeline` would have), so that nothing archived is lost
//! or fetched twice. A page archived by the interrupted run but not yet
//! recorded in the frontier is read back here for its outcome and links.

use std::path::Path;

use rusqlite::{params, OptionalExtension};

use super::{lock_db, CrawlError};
use crate::archive::NewCapture;
use crate::fetch;
use crate::frontier::Run;
use crate::pipeline::{self, PipelineError, Store, PARSE_LIMIT};
use crate::warc::{self, Record};

/// A capture read back from the archive.
#[derive(Debug, Clone)]
pub(super) struct CapturedPage {
    pub status: u16,
    pub revisit: bool,
    /// The `Location` of a redirect.
    pub location: Option<String>,
    /// The decoded text of a full 2xx capture.
    pub text: Option<String>,
    /// An earlier run had captured the URL in full.
    pub had_prior: bool,
    /// What the capture was found to be.
    pub outcome: Option<crate::outcome::Outcome>,
}

/// Index the response and revisit records that no capture row points at.
/// Returns how many were indexed.
pub(super) fn index_orphans(store: &Store) -> Result<usize, CrawlError> {
    let dir = lock_db(store)?.warc_dir();
    let mut indexed = 0;
    // One pass over the captures for every file's indexed end.
    let known = crate::integrity::known_ends(&*lock_db(store)?).map_err(|e| match e {
        crate::integrity::IntegrityError::Sqlite(e) => frontier_err(e),
        other => CrawlError::Task(other.to_string()),
    })?;
    for path in warc::warc_files(&dir).map_err(PipelineError::from)? {
        let name = file_name(&path);
        let known_end = known.get(&name).copied().unwrap_or(0);
        let members = warc::members_from(&path, known_end).map_err(PipelineError::from)?;
        for (offset, length) in members.spans {
            let record = warc::read_record(&path, offset).map_err(PipelineError::from)?;
            if index_record(store, &name, offset, length, &record)? {
                indexed += 1;
            }
        }
    }
    Ok(indexed)
}

fn frontier_err(e: rusqlite::Error) -> CrawlError {
    CrawlError::Frontier(e.into())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Index one record if it is an HTTP answer no row knows. True if indexed.
fn index_record(
    store: &Store,
    file: &str,
    offset: u64,
    length: u64,
    record: &Record,
) -> Result<bool, CrawlError> {
    let record_type = match record.header("WARC-Type") {
        Some("response") => "response",
        Some("revisit") => "revisit",
        _ => return Ok(false),
    };
    let record_id = record
        .header("WARC-Record-ID")
        .unwrap_or_default()
        .to_string();
    let mut db = lock_db(store)?;
    let known: Option<i64> = db
        .conn()
        .query_row(
            "SELECT id FROM captures WHERE warc_record_id = ?1",
            [&record_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(frontier_err)?;
    if known.is_some() {
        return Ok(false);
    }
    let (head, body) = record.http_parts();
    let (status, headers) = warc::parse_http_head(head);
    // A 304's revisit holds no HTTP message: its profile says what it was.
    let not_modified = record.header("WARC-Profile") == Some(warc::PROFILE_NOT_MODIFIED);
    let status = if head.is_empty() && not_modified {
        304
    } else {
        status
    };
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let url = record
        .header("WARC-Target-URI")
        .unwrap_or_default()
        .to_string();
    let refers_to: Option<i64> = match record.header("WARC-Refers-To") {
        Some(id) => db
            .conn()
            .query_row(
                "SELECT id FROM captures WHERE warc_record_id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()
            .map_err(frontier_err)?,
        None => None,
    };
    let source: Option<String> = db
        .conn()
        .query_row("SELECT source FROM frontier WHERE url = ?1", [&url], |r| {
            r.get(0)
        })
        .optional()
        .map_err(frontier_err)?;
    let capture = NewCapture {
        url,
        fetched_at: record.header("WARC-Date").unwrap_or_default().to_string(),
        status,
        content_type: header("content-type"),
        record_type,
        payload_digest: record
            .header("WARC-Payload-Digest")
            .unwrap_or_default()
            .to_string(),
        payload_length: body.len() as u64,
        truncated: record.header("WARC-Truncated").map(str::to_string),
        warc_file: file.to_string(),
        warc_offset: offset,
        warc_length: length,
        warc_record_id: record_id,
        ip: record.header("WARC-IP-Address").map(str::to_string),
        refers_to,
        source,
        etag: header("etag"),
        last_modified: header("last-modified"),
        headers: headers.clone(),
        ..NewCapture::default()
    };
    let id = db.insert_capture(&capture).map_err(PipelineError::from)?;
    let raw: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
        .collect();
    let analysis = if record_type == "response" && (200..300).contains(&status) {
        pipeline::derive(
            &mut db,
            id,
            &capture.url,
            &raw,
            body,
            capture.content_type.as_deref(),
        )
        .map_err(PipelineError::from)?
    } else {
        None
    };
    if record_type == "response" {
        if let Ok(page) = url::Url::parse(&capture.url) {
            let location = header("location").and_then(|l| page.join(l.trim()).ok());
            let location = location.filter(|_| (300..400).contains(&status));
            let kind = crate::outcome::of_exchange(
                &page,
                status,
                &raw,
                body,
                location.as_ref(),
                analysis.as_ref(),
            );
            db.set_outcome(id, kind.as_str())
                .map_err(PipelineError::from)?;
        }
    }
    tracing::info!(capture = id, url = %capture.url, "indexed an unindexed WARC record");
    Ok(true)
}

/// Read a capture of this run back from its WARC record (for a revisit,
/// the text comes from the capture it refers to).
pub(super) fn captured_page(
    store: &Store,
    run: &Run,
    capture: i64,
) -> Result<CapturedPage, CrawlError> {
    let db = lock_db(store)?;
    let (url, status, record_type, refers_to, headers): (String, u16, String, Option<i64>, String) =
        db.conn()
            .query_row(
                "SELECT url, status, record_type, refers_to, headers FROM captures WHERE id = ?1",
                [capture],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .map_err(frontier_err)?;
    let outcome = db
        .outcome_of(capture)
        .map_err(PipelineError::from)?
        .and_then(|o| crate::outcome::Outcome::parse(&o));
    let had_prior: bool = db
        .conn()
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM captures WHERE url = ?1 AND id <= ?2
               AND record_type = 'response' AND status BETWEEN 200 AND 299)",
            params![url, run.captures_before],
            |r| r.get(0),
        )
        .map_err(frontier_err)?;
    drop(db);
    let headers: Vec<(String, String)> = serde_json::from_str(&headers).unwrap_or_default();
    let location = (300..400)
        .contains(&status)
        .then(|| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("location"))
                .map(|(_, v)| v.clone())
        })
        .flatten();
    let revisit = record_type == "revisit";
    let text = match (revisit, refers_to) {
        (true, Some(original)) => page_text(store, original)?,
        (false, _) if (200..300).contains(&status) => page_text(store, capture)?,
        _ => None,
    };
    Ok(CapturedPage {
        status,
        revisit,
        location,
        text,
        had_prior,
        outcome,
    })
}

/// The decoded text of a full capture, read from its WARC record.
fn page_text(store: &Store, capture: i64) -> Result<Option<String>, CrawlError> {
    let db = lock_db(store)?;
    let (file, offset, content_type, headers): (String, i64, Option<String>, String) = db
        .conn()
        .query_row(
            "SELECT warc_file, warc_offset, content_type, headers FROM captures WHERE id = ?1",
            [capture],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .map_err(frontier_err)?;
    let path = db.warc_dir().join(file);
    drop(db);
    let headers: Vec<(String, String)> = serde_json::from_str(&headers).unwrap_or_default();
    let record = warc::read_record(&path, offset.max(0) as u64).map_err(PipelineError::from)?;
    let (_, body) = record.http_parts();
    let raw: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
        .collect();
    let entity = fetch::entity(&raw, body, PARSE_LIMIT);
    let url = record.header("WARC-Target-URI").unwrap_or_default();
    Ok(
        pipeline::analyse_document(url, &entity, content_type.as_deref())
            .and_then(|a| a.decoded)
            .map(|d| d.text),
    )
}
