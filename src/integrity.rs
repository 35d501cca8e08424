//! Whether the snapshots are whole: damaged WARC regions found on open are
//! copied aside and recorded with the URLs they held; a revisit is written
//! only against a record that is there and whose digests verify; `nianbao
//! verify` checks every record and every index row against the WARC files.
//!
//! A damaged region is never cut out of its file: the offsets in the index,
//! the CDXJ files and other tools point at the good records after it.

use crate::summary::counted;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use rusqlite::{params, OptionalExtension};

use crate::archive::{Archive, ArchiveError, PriorCapture};
use crate::warc::{self, Damage, Record, WarcError};

#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Warc(#[from] WarcError),
    #[error("archive database: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Per WARC file of the directory, the end of its last indexed record: a
/// torn tail can only lie after it, so repair on open reads no more than
/// that. One lookup per file through `captures_file`, whatever the archive's
/// size.
pub fn known_ends(db: &Archive) -> Result<HashMap<String, u64>, IntegrityError> {
    let mut stmt = db.conn().prepare_cached(
        "SELECT warc_offset + warc_length FROM captures WHERE warc_file = ?1
         ORDER BY warc_offset DESC LIMIT 1",
    )?;
    let mut out = HashMap::new();
    for path in warc::warc_files(&db.warc_dir())? {
        let name = file_name(&path);
        let end: Option<i64> = stmt.query_row([&name], |r| r.get(0)).optional()?;
        if let Some(end) = end {
            out.insert(name, end.max(0) as u64);
        }
    }
    Ok(out)
}

/// Record damaged regions in the `damage` table, with the URLs whose records
/// were lost (from the index and from what could still be read of the
/// region), and say so in the log.
pub fn record_damage(db: &Archive, found: &[Damage]) -> Result<(), IntegrityError> {
    for d in found {
        let mut urls = lost_urls(db, &d.file, d.offset, d.length)?;
        for url in &d.urls {
            if !urls.contains(url) {
                urls.push(url.clone());
            }
        }
        let urls_json = serde_json::to_string(&urls).unwrap_or_else(|_| "[]".into());
        db.conn().execute(
            "INSERT INTO damage (warc_file, warc_offset, length, found_at, kept_as, urls)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6
             WHERE NOT EXISTS (SELECT 1 FROM damage WHERE warc_file = ?1 AND warc_offset = ?2)",
            params![
                d.file,
                d.offset as i64,
                d.length as i64,
                warc::warc_date(chrono::Utc::now()),
                d.kept_as.as_ref().map(|p| p.display().to_string()),
                urls_json
            ],
        )?;
        tracing::warn!(
            file = %d.file,
            offset = d.offset,
            bytes = d.length,
            lost = %urls.join(" "),
            "damaged WARC region skipped; its records are lost and will be fetched again"
        );
    }
    Ok(())
}

/// URLs of indexed captures whose record lies in a region.
fn lost_urls(
    db: &Archive,
    file: &str,
    offset: u64,
    length: u64,
) -> Result<Vec<String>, IntegrityError> {
    let mut stmt = db.conn().prepare(
        "SELECT DISTINCT url FROM captures WHERE warc_file = ?1
           AND warc_offset >= ?2 AND warc_offset < ?3 ORDER BY url",
    )?;
    let rows = stmt.query_map(
        params![file, offset as i64, (offset + length) as i64],
        |r| r.get::<_, String>(0),
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether the record of a prior capture is on disk and its digests verify:
/// only then may a revisit point at it.
pub fn prior_is_whole(warc_dir: &Path, prior: &PriorCapture) -> bool {
    let path = warc_dir.join(&prior.warc_file);
    match warc::read_record(&path, prior.warc_offset) {
        Ok(record) => {
            record.header("WARC-Record-ID") == Some(prior.warc_record_id.as_str())
                && record_problem(&record).is_none()
                && record.header("WARC-Payload-Digest") == Some(prior.payload_digest.as_str())
        }
        Err(_) => false,
    }
}

/// What is wrong with a record's digests, if anything.
pub fn record_problem(record: &Record) -> Option<String> {
    if let Some(block) = record.header("WARC-Block-Digest") {
        if warc::sha1_digest(&record.block) != block {
            return Some("block digest does not match".into());
        }
    }
    if record.header("WARC-Type") == Some("response") {
        if let Some(payload) = record.header("WARC-Payload-Digest") {
            let (_, body) = record.http_parts();
            if warc::sha1_digest(body) != payload {
                return Some("payload digest does not match".into());
            }
        }
    }
    None
}

/// What `nianbao verify` found.
#[derive(Debug, Clone, Default)]
pub struct Verified {
    pub files: usize,
    pub records: usize,
    pub captures: usize,
    /// One line per problem: file, offset, what.
    pub problems: Vec<String>,
}

impl Verified {
    pub fn render(&self) -> String {
        let mut out = format!(
            "verified {} in {} and {}: {}\n",
            counted(self.records, "record", "records"),
            counted(self.files, "WARC file", "WARC files"),
            counted(self.captures, "index row", "index rows"),
            if self.problems.is_empty() {
                "all whole".to_string()
            } else {
                format!("{} problems", self.problems.len())
            }
        );
        for p in &self.problems {
            let _ = writeln!(out, "  {p}");
        }
        out
    }
}

/// The most rows with a dangling reference named one by one.
const MAX_DANGLING: usize = 20;

/// Check the whole database file and its references, every record's digests, every damaged or
/// torn region, and every index row against the record it points at. Reads
/// only.
pub fn verify(db: &Archive) -> Result<Verified, IntegrityError> {
    let dir = db.warc_dir();
    let mut out = Verified::default();
    if let Err(e) = crate::archive::check_database(db.conn(), db.db_path(), None) {
        out.problems.push(e.to_string());
    }
    out.problems.extend(db.dangling_references(MAX_DANGLING)?);
    let mut starts: HashMap<String, HashMap<u64, u64>> = HashMap::new();
    for path in warc::warc_files(&dir)? {
        out.files += 1;
        let name = file_name(&path);
        let members = warc::members(&path)?;
        for (offset, length) in &members.damaged {
            out.problems.push(format!(
                "{name} at {offset}: {length} damaged bytes (records there are lost)"
            ));
        }
        if members.good_end < members.size {
            out.problems.push(format!(
                "{name} at {}: torn tail of {} bytes",
                members.good_end,
                members.size - members.good_end
            ));
        }
        let spans = starts.entry(name.clone()).or_default();
        for (offset, length) in members.spans {
            spans.insert(offset, length);
            out.records += 1;
            match warc::read_record(&path, offset) {
                Ok(record) => {
                    if let Some(p) = record_problem(&record) {
                        out.problems.push(format!("{name} at {offset}: {p}"));
                    }
                }
                Err(e) => out.problems.push(format!("{name} at {offset}: {e}")),
            }
        }
    }
    verify_index(db, &starts, &mut out)?;
    Ok(out)
}

fn verify_index(
    db: &Archive,
    starts: &HashMap<String, HashMap<u64, u64>>,
    out: &mut Verified,
) -> Result<(), IntegrityError> {
    let dir = db.warc_dir();
    let mut stmt = db.conn().prepare(
        "SELECT id, url, warc_file, warc_offset, warc_length, warc_record_id, payload_digest
         FROM captures ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, String>(6)?,
        ))
    })?;
    for row in rows {
        let (id, url, file, offset, length, record_id, digest) = row?;
        out.captures += 1;
        let offset = offset.max(0) as u64;
        let at = format!("capture {id} ({url}) → {file} at {offset}");
        match starts.get(&file).and_then(|s| s.get(&offset)) {
            None => {
                out.problems
                    .push(format!("{at}: no whole record starts there"));
                continue;
            }
            Some(len) if *len != length.max(0) as u64 => {
                out.problems
                    .push(format!("{at}: record is {len} bytes, index says {length}"));
                continue;
            }
            Some(_) => {}
        }
        let Ok(record) = warc::read_record(&dir.join(&file), offset) else {
            continue;
        };
        if record.header("WARC-Record-ID") != Some(record_id.as_str()) {
            out.problems.push(format!("{at}: another record is there"));
        } else if record.header("WARC-Payload-Digest") != Some(digest.as_str()) {
            out.problems
                .push(format!("{at}: payload digest differs from the index"));
        }
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
