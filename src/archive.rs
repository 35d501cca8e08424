//! The SQLite archive: the index of every snapshot and the figures derived
//! from it.
//!
//! One file, `<archive>/nianbao.sqlite`, in WAL mode, beside the WARC files in
//! `<archive>/warc/`. The schema lives in `schema.sql`, versioned with
//! `PRAGMA user_version`. Snapshots are written before the rows that index
//! them, so a row never points at a record that is not on disk.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use crate::extract::{Report, EXTRACTOR_VERSION};

/// The schema, applied to a new archive.
pub const SCHEMA: &str = include_str!("schema.sql");
/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: i64 = 1;
/// File name of the database inside the archive directory.
pub const DB_FILE: &str = "nianbao.sqlite";
/// Directory of the WARC files inside the archive directory.
pub const WARC_DIR: &str = "warc";

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("archive directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "archive directory {0} is not writable: check its permissions or pass another --archive"
    )]
    ReadOnly(PathBuf),
    #[error("archive database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("archive database {path} is damaged ({detail}); nothing was written to it. Move it aside and run `nianbao rebuild --archive {dir}` to make a new index from the WARC files, or restore it from a backup", dir = path.parent().unwrap_or(path).display())]
    Corrupt { path: PathBuf, detail: String },
    #[error("archive database {path} has schema version {found}, this nianbao reads version {SCHEMA_VERSION}: upgrade nianbao")]
    NewerSchema { path: PathBuf, found: i64 },
}

/// A capture to index: where its record is and what it was.
#[derive(Debug, Clone, Default)]
pub struct NewCapture {
    pub url: String,
    pub fetched_at: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub content_type: Option<String>,
    pub record_type: &'static str,
    pub payload_digest: String,
    pub payload_length: u64,
    pub truncated: Option<String>,
    pub warc_file: String,
    pub warc_offset: u64,
    pub warc_length: u64,
    pub warc_record_id: String,
    pub ip: Option<String>,
    pub refers_to: Option<i64>,
    pub encoding: Option<String>,
    pub encoding_decision: Option<String>,
    pub encoding_errors: Option<bool>,
    pub encoding_rejected: Vec<String>,
    pub source: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The last full capture of a URL, for conditional requests and revisits.
#[derive(Debug, Clone)]
pub struct PriorCapture {
    pub id: i64,
    pub url: String,
    pub fetched_at: String,
    pub payload_digest: String,
    pub warc_record_id: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Where its record is, so that it can be verified before a revisit
    /// points at it.
    pub warc_file: String,
    pub warc_offset: u64,
}

/// An open archive database.
pub struct Archive {
    dir: PathBuf,
    db_path: PathBuf,
    conn: Connection,
}

impl Archive {
    /// Open (or create) the archive in `dir`. Fails before anything is written
    /// when the directory cannot be written.
    pub fn open(dir: &Path) -> Result<Self, ArchiveError> {
        std::fs::create_dir_all(dir.join(WARC_DIR)).map_err(|source| ArchiveError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
        check_writable(dir)?;
        let db_path = dir.join(DB_FILE);
        let sql = |source| ArchiveError::Sqlite {
            path: db_path.clone(),
            source,
        };
        let conn = Connection::open(&db_path).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(sql)?;
        check_integrity(&conn, &db_path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )
        .map_err(sql)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql)?;
        if version > SCHEMA_VERSION {
            return Err(ArchiveError::NewerSchema {
                path: db_path,
                found: version,
            });
        }
        if version == 0 {
            conn.execute_batch(&format!("BEGIN; {SCHEMA} COMMIT;"))
                .map_err(sql)?;
        }
        migrate(&conn).map_err(sql)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            db_path,
            conn,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn warc_dir(&self) -> PathBuf {
        self.dir.join(WARC_DIR)
    }

    /// The underlying connection, for modules that own their own tables
    /// (frontier, export).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    fn err(&self, source: rusqlite::Error) -> ArchiveError {
        ArchiveError::Sqlite {
            path: self.db_path.clone(),
            source,
        }
    }

    /// Index a capture; returns its id.
    pub fn insert_capture(&self, c: &NewCapture) -> Result<i64, ArchiveError> {
        let headers = serde_json::to_string(&c.headers).unwrap_or_else(|_| "[]".into());
        let rejected = serde_json::to_string(&c.encoding_rejected).unwrap_or_else(|_| "[]".into());
        self.conn
            .execute(
                "INSERT INTO captures (url, fetched_at, status, headers, content_type, record_type,
                   payload_digest, payload_length, truncated, warc_file, warc_offset, warc_length,
                   warc_record_id, ip, refers_to, encoding, encoding_decision, encoding_errors,
                   encoding_rejected, source, etag, last_modified)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                   ?17, ?18, ?19, ?20, ?21, ?22)",
                params![
                    c.url,
                    c.fetched_at,
                    c.status,
                    headers,
                    c.content_type,
                    c.record_type,
                    c.payload_digest,
                    c.payload_length as i64,
                    c.truncated,
                    c.warc_file,
                    c.warc_offset as i64,
                    c.warc_length as i64,
                    c.warc_record_id,
                    c.ip,
                    c.refers_to,
                    c.encoding,
                    c.encoding_decision,
                    c.encoding_errors,
                    rejected,
                    c.source,
                    c.etag,
                    c.last_modified,
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Record the decoding decision of a capture (set once decoded).
    pub fn set_encoding(
        &self,
        capture_id: i64,
        encoding: &str,
        decision: &str,
        had_errors: bool,
        rejected: &[String],
    ) -> Result<(), ArchiveError> {
        let rejected = serde_json::to_string(rejected).unwrap_or_else(|_| "[]".into());
        self.conn
            .execute(
                "UPDATE captures SET encoding = ?2, encoding_decision = ?3, encoding_errors = ?4,
                   encoding_rejected = ?5 WHERE id = ?1",
                params![capture_id, encoding, decision, had_errors, rejected],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Replace the derived rows of one capture with `reports`, atomically.
    /// Returns the new report ids, in order.
    pub fn replace_reports(
        &mut self,
        capture_id: i64,
        reports: &[Report],
    ) -> Result<Vec<i64>, ArchiveError> {
        let path = self.db_path.clone();
        let err = |source| ArchiveError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute(
            "DELETE FROM cells WHERE report_id IN (SELECT id FROM reports WHERE capture_id = ?1)",
            [capture_id],
        )
        .map_err(err)?;
        tx.execute(
            "DELETE FROM checks WHERE report_id IN (SELECT id FROM reports WHERE capture_id = ?1)",
            [capture_id],
        )
        .map_err(err)?;
        tx.execute("DELETE FROM reports WHERE capture_id = ?1", [capture_id])
            .map_err(err)?;
        let mut ids = Vec::with_capacity(reports.len());
        for (ordinal, report) in reports.iter().enumerate() {
            ids.push(insert_report(&tx, capture_id, ordinal, report).map_err(err)?);
        }
        tx.commit().map_err(err)?;
        Ok(ids)
    }

    /// The most recent full (`response`) capture of a URL with a 2xx status
    /// that was the page itself: a block page, soft 404 or empty answer is
    /// never what a later answer is compared with.
    pub fn prior_capture(&self, url: &str) -> Result<Option<PriorCapture>, ArchiveError> {
        self.conn
            .query_row(
                "SELECT id, url, fetched_at, payload_digest, warc_record_id, etag, last_modified,
                   warc_file, warc_offset
                 FROM captures WHERE url = ?1 AND record_type = 'response'
                   AND status BETWEEN 200 AND 299
                   AND (outcome IS NULL OR (outcome NOT LIKE 'block%'
                        AND outcome NOT IN ('soft_404', 'empty')))
                 ORDER BY fetched_at DESC, id DESC LIMIT 1",
                [url],
                |r| {
                    Ok(PriorCapture {
                        id: r.get(0)?,
                        url: r.get(1)?,
                        fetched_at: r.get(2)?,
                        payload_digest: r.get(3)?,
                        warc_record_id: r.get(4)?,
                        etag: r.get(5)?,
                        last_modified: r.get(6)?,
                        warc_file: r.get(7)?,
                        warc_offset: r.get::<_, i64>(8)?.max(0) as u64,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Record what a capture turned out to be (`outcome::Outcome::as_str`).
    pub fn set_outcome(&self, capture_id: i64, outcome: &str) -> Result<(), ArchiveError> {
        self.conn
            .execute(
                "UPDATE captures SET outcome = ?2 WHERE id = ?1",
                params![capture_id, outcome],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// What a capture turned out to be, if recorded.
    pub fn outcome_of(&self, capture_id: i64) -> Result<Option<String>, ArchiveError> {
        self.conn
            .query_row(
                "SELECT outcome FROM captures WHERE id = ?1",
                [capture_id],
                |r| r.get(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.err(e))
    }

    /// Record a failed attempt.
    pub fn insert_failure(
        &self,
        url: &str,
        kind: &str,
        detail: &str,
        source: Option<&str>,
    ) -> Result<(), ArchiveError> {
        self.conn
            .execute(
                "INSERT INTO failures (url, failed_at, kind, detail, source)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    url,
                    crate::warc::warc_date(chrono::Utc::now()),
                    kind,
                    detail,
                    source
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

fn insert_report(
    tx: &rusqlite::Transaction<'_>,
    capture_id: i64,
    ordinal: usize,
    report: &Report,
) -> rusqlite::Result<i64> {
    let notes = serde_json::to_string(&report.notes).unwrap_or_else(|_| "[]".into());
    tx.execute(
        "INSERT INTO reports (capture_id, ordinal, title, year, format, agency, extractor_version, notes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            capture_id,
            ordinal as i64,
            report.title,
            report.year,
            report.format.as_str(),
            report.agency,
            EXTRACTOR_VERSION,
            notes
        ],
    )?;
    let report_id = tx.last_insert_rowid();
    let mut cell = tx.prepare_cached(
        "INSERT INTO cells (report_id, table_code, row_code, col_code, raw, value, unit,
           standard, label)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for c in &report.cells {
        cell.execute(params![
            report_id,
            c.table,
            c.row,
            c.col,
            c.raw,
            c.value,
            c.unit,
            c.standard,
            // No printed label is null, not an empty string, in every export.
            (!c.label.is_empty()).then_some(&c.label)
        ])?;
    }
    let mut check = tx.prepare_cached(
        "INSERT INTO checks (report_id, identity, col, holds, left_value, right_value)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for k in &report.checks {
        check.execute(params![
            report_id, k.identity, k.col, k.holds, k.left, k.right
        ])?;
    }
    Ok(report_id)
}

/// Damaged WARC regions found on open (see `integrity`): left in their file,
/// copied aside, skipped.
const DAMAGE_TABLE: &str = "CREATE TABLE IF NOT EXISTS damage (
    id          INTEGER PRIMARY KEY,
    warc_file   TEXT NOT NULL,
    warc_offset INTEGER NOT NULL,
    length      INTEGER NOT NULL,
    found_at    TEXT NOT NULL,
    kept_as     TEXT,
    urls        TEXT NOT NULL DEFAULT '[]'
);";

/// Refuse a damaged database before anything is written to it: SQLite's
/// `quick_check` (structure of every page and index, without the full
/// cross-check of `integrity_check`).
fn check_integrity(conn: &Connection, path: &Path) -> Result<(), ArchiveError> {
    let corrupt = |detail: String| ArchiveError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    let found: rusqlite::Result<Vec<String>> =
        conn.prepare("PRAGMA quick_check(5)").and_then(|mut stmt| {
            stmt.query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        });
    match found {
        Ok(lines) if lines.iter().all(|l| l == "ok") => Ok(()),
        Ok(lines) => Err(corrupt(lines.join("; "))),
        Err(e) => match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                Err(ArchiveError::Sqlite {
                    path: path.to_path_buf(),
                    source: e,
                })
            }
            _ => Err(corrupt(e.to_string())),
        },
    }
}

/// Bring an archive made by an earlier build up to this schema: additive
/// nullable columns only, so the same file still opens in that build.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let has_outcome: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info('captures') WHERE name = 'outcome')",
        [],
        |r| r.get(0),
    )?;
    if !has_outcome {
        conn.execute_batch("ALTER TABLE captures ADD COLUMN outcome TEXT")?;
    }
    conn.execute_batch(DAMAGE_TABLE)?;
    Ok(())
}

/// Refuse a read-only archive before anything starts.
pub fn check_writable(dir: &Path) -> Result<(), ArchiveError> {
    let probe = dir.join(format!(".write-probe-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(_) => Err(ArchiveError::ReadOnly(dir.to_path_buf())),
    }
}
