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

mod cached;
mod figures;

pub use cached::Cached;

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
    #[error("cannot bring the archive database up to date: {0}")]
    Migrate(String),
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
    /// The imported file (`imports.id`) the record is in, if not crawled.
    pub import_id: Option<i64>,
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
    ids: figures::Ids,
}

/// Columns added to the schema after an archive may have been made: added
/// (empty) when missing, so that an older archive still opens.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[("reports", "parent_capture", "INTEGER")];

fn add_missing_columns(conn: &Connection) -> rusqlite::Result<()> {
    for (table, column, kind) in ADDED_COLUMNS {
        let present: bool = conn.one(
            "SELECT COUNT(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2",
            params![table, column],
            |r| r.get(0),
        )?;
        if !present {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
        }
    }
    Ok(())
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
        conn.set_prepared_statement_cache_capacity(cached::CAPACITY);
        check_integrity(&conn, &db_path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )
        .map_err(sql)?;
        let version: i64 = conn
            .one("PRAGMA user_version", [], |r| r.get(0))
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
        } else {
            add_outcomes(&conn).map_err(sql)?;
            migrate_imports(&conn).map_err(sql)?;
            migrate(&conn).map_err(sql)?;
        }
        crate::frontier::migrate(&conn).map_err(|e| ArchiveError::Migrate(e.to_string()))?;
        crate::cookies::migrate(&conn).map_err(|e| ArchiveError::Migrate(e.to_string()))?;
        add_missing_columns(&conn).map_err(sql)?;
        add_indexes(&conn).map_err(sql)?;
        add_outcomes(&conn).map_err(sql)?;
        crate::ledger::migrate(&conn).map_err(|e| ArchiveError::Migrate(e.to_string()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            db_path,
            conn,
            ids: figures::Ids::default(),
        })
    }

    pub fn db_path(&self) -> &Path {
        &self.db_path
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

    pub(crate) fn err(&self, source: rusqlite::Error) -> ArchiveError {
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
            .run(
                "INSERT INTO captures (url, fetched_at, status, headers, content_type, record_type,
                   payload_digest, payload_length, truncated, warc_file, warc_offset, warc_length,
                   warc_record_id, ip, refers_to, encoding, encoding_decision, encoding_errors,
                   encoding_rejected, source, etag, last_modified, import_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                   ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
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
                    c.import_id,
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
            .run(
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
        let written = replace_in(&mut self.conn, &mut self.ids, capture_id, reports);
        if written.is_err() {
            self.ids.forget();
        }
        written.map_err(|e| self.err(e))
    }

    /// Whether SQLite enforces the schema's foreign keys on this connection
    /// (it does from `open`). The crawl's writer turns them off: every row it
    /// writes refers to ids read or made in the same job, and enforcing them
    /// was a third of its time per report (`bench_archive`). `nianbao verify`
    /// checks every reference instead ([`Archive::dangling_references`]).
    /// Takes effect outside a transaction only.
    pub fn enforce_references(&self, enforce: bool) -> Result<(), ArchiveError> {
        let pragma = if enforce {
            "PRAGMA foreign_keys = ON"
        } else {
            "PRAGMA foreign_keys = OFF"
        };
        self.conn.execute_batch(pragma).map_err(|e| self.err(e))
    }

    /// Rows whose foreign key names a row that is not there, one line each
    /// (table, row, the table it refers to), the first `limit` of them.
    pub fn dangling_references(&self, limit: usize) -> Result<Vec<String>, ArchiveError> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA foreign_key_check")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut found = Vec::new();
        for row in rows.take(limit) {
            let (table, rowid, parent) = row.map_err(|e| self.err(e))?;
            let row = rowid.map_or_else(|| "a row".to_string(), |id| format!("row {id}"));
            found.push(format!(
                "{table}: {row} refers to a missing row of {parent}"
            ));
        }
        Ok(found)
    }

    /// The transaction holding this connection's batch was rolled back: ids
    /// of codes and labels written in it are gone.
    pub fn rolled_back(&mut self) {
        self.ids.forget();
    }

    /// The most recent full (`response`) capture of a URL with a 2xx status
    /// that was the page itself: a block page, soft 404 or empty answer is
    /// never what a later answer is compared with.
    pub fn prior_capture(&self, url: &str) -> Result<Option<PriorCapture>, ArchiveError> {
        self.conn
            .one(
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

    /// Store the configured sources (agency name, region, start pages), so
    /// that views and exports know a capture's region without the config.
    pub fn record_sources(&self, sources: &[crate::config::Source]) -> Result<(), ArchiveError> {
        let now = crate::warc::warc_date(chrono::Utc::now());
        for s in sources {
            let start: Vec<&str> = s.start.iter().map(|u| u.as_str()).collect();
            let start = serde_json::to_string(&start).unwrap_or_else(|_| "[]".into());
            self.conn
                .run(
                    "INSERT INTO sources (name, region, start, updated_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (name) DO UPDATE SET region = excluded.region,
                       start = excluded.start, updated_at = excluded.updated_at",
                    params![s.name, s.region, start, now],
                )
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// The detail of the latest failure recorded for `url`, if any.
    pub fn last_failure(&self, url: &str) -> Result<Option<String>, ArchiveError> {
        self.conn
            .one(
                "SELECT detail FROM failures WHERE url = ?1 ORDER BY id DESC LIMIT 1",
                [url],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Record what a capture turned out to be (`outcome::Outcome::as_str`).
    pub fn set_outcome(&self, capture_id: i64, outcome: &str) -> Result<(), ArchiveError> {
        self.conn
            .run(
                "UPDATE captures SET outcome = ?2 WHERE id = ?1",
                params![capture_id, outcome],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// What a capture turned out to be, if recorded.
    pub fn outcome_of(&self, capture_id: i64) -> Result<Option<String>, ArchiveError> {
        self.conn
            .one(
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
            .run(
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

/// Replace the derived rows of one capture, inside a savepoint, so that this
/// is atomic inside a batch of the writer too.
fn replace_in(
    conn: &mut Connection,
    ids: &mut figures::Ids,
    capture_id: i64,
    reports: &[Report],
) -> rusqlite::Result<Vec<i64>> {
    let tx = conn.savepoint()?;
    tx.run(
        "DELETE FROM cell_values WHERE report_id IN (SELECT id FROM reports WHERE capture_id = ?1)",
        [capture_id],
    )?;
    tx.run(
        "DELETE FROM check_values WHERE report_id IN (SELECT id FROM reports WHERE capture_id = ?1)",
        [capture_id],
    )?;
    tx.run("DELETE FROM reports WHERE capture_id = ?1", [capture_id])?;
    let mut report_ids = Vec::with_capacity(reports.len());
    for (ordinal, report) in reports.iter().enumerate() {
        let id = insert_report(&tx, capture_id, ordinal, report)?;
        figures::insert(&tx, ids, id, report)?;
        report_ids.push(id);
    }
    tx.commit()?;
    Ok(report_ids)
}

fn insert_report(
    tx: &Connection,
    capture_id: i64,
    ordinal: usize,
    report: &Report,
) -> rusqlite::Result<i64> {
    let notes = serde_json::to_string(&report.notes).unwrap_or_else(|_| "[]".into());
    tx.run(
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
    Ok(tx.last_insert_rowid())
}

/// Bring an archive written by an earlier build of schema version 1 up to
/// `schema.sql`: additions only (the `imports` table, `captures.import_id`,
/// an index, views), each made once, under a write lock so that two
/// processes opening the same archive do not both make them.
fn migrate_imports(conn: &Connection) -> rusqlite::Result<()> {
    if !needs_migration(conn)? {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let done = migrate_locked(conn);
    conn.execute_batch(if done.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
    done
}

fn needs_migration(conn: &Connection) -> rusqlite::Result<bool> {
    Ok(!has_object(conn, "table", "imports")?
        || !has_column(conn, "captures", "import_id")?
        || !has_object(conn, "index", "captures_record")?
        || !has_object(conn, "view", "v_seen")?
        || !view_sql(conn, "v_reports")?.contains("k2.fetched_at"))
}

fn migrate_locked(conn: &Connection) -> rusqlite::Result<()> {
    if !has_object(conn, "table", "imports")? {
        conn.execute_batch(schema_text("CREATE TABLE imports ("))?;
        conn.execute_batch(schema_text("CREATE INDEX imports_sha256 "))?;
    }
    if !has_column(conn, "captures", "import_id")? {
        conn.execute_batch(
            "ALTER TABLE captures ADD COLUMN import_id INTEGER REFERENCES imports(id)",
        )?;
    }
    if !has_object(conn, "index", "captures_record")? {
        conn.execute_batch(schema_text("CREATE INDEX captures_record "))?;
    }
    if !view_sql(conn, "v_reports")?.contains("k2.fetched_at") {
        conn.execute_batch("DROP VIEW IF EXISTS v_reports")?;
        conn.execute_batch(schema_text("CREATE VIEW v_reports AS"))?;
    }
    if !has_object(conn, "view", "v_seen")? {
        conn.execute_batch(schema_text("CREATE VIEW v_seen AS"))?;
    }
    Ok(())
}

/// Whether the schema holds an object of `kind` (table, view, index) named `name`.
pub(crate) fn has_object(conn: &Connection, kind: &str, name: &str) -> rusqlite::Result<bool> {
    conn.one(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = ?1 AND name = ?2",
        params![kind, name],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    conn.one(
        "SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2",
        params![table, column],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

fn view_sql(conn: &Connection, name: &str) -> rusqlite::Result<String> {
    conn.one(
        "SELECT COALESCE(MAX(sql), '') FROM sqlite_master WHERE type = 'view' AND name = ?1",
        [name],
        |r| r.get(0),
    )
}

/// One statement of `schema.sql`, from its first words to its `;`, so that
/// a migration makes an object exactly as a new archive has it.
fn schema_text(start: &str) -> &'static str {
    let Some(begin) = SCHEMA.find(start) else {
        return "";
    };
    let rest = &SCHEMA[begin..];
    let end = rest.find(";\n").map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

/// Indexes an archive made before them lacks: the scheduler's per-host
/// index, the per-source index of captures the run summary reads, and the
/// per-file one start-up reads.
fn add_indexes(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS frontier_host ON frontier(host, last_run);
         CREATE INDEX IF NOT EXISTS captures_source ON captures(source, id);
         CREATE INDEX IF NOT EXISTS captures_file ON captures(warc_file, warc_offset);",
    )
}

/// The views of `schema.sql`, in dependency order.
pub const VIEWS: [&str; 3] = ["v_reports", "v_cells", "v_checks"];

/// The format codes an earlier nianbao stored, and what they are now: codes
/// that no CSV reader takes for a number.
const FORMAT_RENAMES: [(&str, &str); 3] = [
    ("2019", "f2019"),
    ("2021", "f2021"),
    ("pre-2019", "pre2019"),
];

/// The statement of `schema.sql` that begins with `head` (e.g.
/// `CREATE VIEW v_cells AS`), up to and including its `;`.
pub fn schema_statement(head: &str) -> Option<&'static str> {
    let start = SCHEMA.find(head)?;
    let end = SCHEMA.get(start..)?.find(";\n")? + start + 1;
    SCHEMA.get(start..end)
}

/// Bring an archive an earlier nianbao wrote up to `schema.sql`, additively
/// and idempotently: the `sources` table, the format codes, the views. Writes
/// nothing when the archive is current, so a current read-only archive opens.
pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    figures::compact(conn)?;
    let mut steps = String::new();
    let has_sources: bool = conn.one(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sources')",
        [],
        |r| r.get(0),
    )?;
    if !has_sources {
        steps.push_str(schema_statement("CREATE TABLE sources").unwrap_or_default());
        steps.push('\n');
    }
    // The old format codes came with the views and tables that preceded
    // `sources`: a current archive is not scanned for them on every start.
    let outdated = views_outdated(conn)?;
    let old_formats: bool = (!has_sources || outdated)
        && conn.one(
            "SELECT EXISTS (SELECT 1 FROM reports WHERE format IN ('2019', '2021', 'pre-2019'))",
            [],
            |r| r.get(0),
        )?;
    if old_formats {
        for (old, new) in FORMAT_RENAMES {
            steps.push_str(&format!(
                "UPDATE reports SET format = '{new}' WHERE format = '{old}';\n"
            ));
        }
    }
    if outdated {
        for name in VIEWS.iter().rev() {
            steps.push_str(&format!("DROP VIEW IF EXISTS {name};\n"));
        }
        for name in VIEWS {
            steps.push_str(schema_statement(&format!("CREATE VIEW {name} AS")).unwrap_or_default());
            steps.push('\n');
        }
    }
    if steps.is_empty() {
        return Ok(());
    }
    conn.execute_batch(&format!("BEGIN IMMEDIATE;\n{steps}COMMIT;"))
}

/// True when a stored view differs from `schema.sql`.
fn views_outdated(conn: &Connection) -> rusqlite::Result<bool> {
    for name in VIEWS {
        let stored: Option<String> = conn
            .one(
                "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        let wanted =
            schema_statement(&format!("CREATE VIEW {name} AS")).map(|s| s.trim_end_matches(';'));
        // A missing view is left missing (readers make a temporary one);
        // one that differs is an earlier nianbao's and is replaced.
        if stored.is_some() && stored.as_deref() != wanted {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Open the database in `dir` just long enough to [`migrate`] it, for
/// readers that open it read-only afterwards. No database: nothing to do.
pub fn upgrade(dir: &Path) -> Result<(), ArchiveError> {
    let db_path = dir.join(DB_FILE);
    if !db_path.is_file() {
        return Ok(());
    }
    let sql = |source| ArchiveError::Sqlite {
        path: db_path.clone(),
        source,
    };
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match Connection::open_with_flags(&db_path, flags) {
        Ok(c) => c,
        // A read-only copy cannot be upgraded; the reader says what it lacks.
        Err(_) => return Ok(()),
    };
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(sql)?;
    let version: i64 = conn
        .one("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql)?;
    if version != SCHEMA_VERSION {
        return Ok(());
    }
    migrate(&conn).map_err(sql)?;
    // A copy that cannot be written is read without a ledger.
    if let Err(e) = crate::ledger::migrate(&conn) {
        tracing::warn!(error = %e, "the archive has no availability ledger");
    }
    Ok(())
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

/// How long opening an archive spends checking its database: a check of the
/// whole file grows with the archive (seconds at gigabytes), and every start
/// would pay it. `nianbao verify` checks the whole file.
pub const OPEN_CHECK_BUDGET: std::time::Duration = std::time::Duration::from_millis(200);

/// Refuse a damaged database before anything is written to it: SQLite's
/// `quick_check` (structure of every page and index, without the full
/// cross-check of `integrity_check`), of as much of the file as the opening
/// budget allows, from its first pages on.
fn check_integrity(conn: &Connection, path: &Path) -> Result<(), ArchiveError> {
    check_database(conn, path, Some(OPEN_CHECK_BUDGET))
}

/// `quick_check` of the database, stopped after `budget` if one is given (a
/// check stopped finds nothing wrong in what it read).
pub fn check_database(
    conn: &Connection,
    path: &Path,
    budget: Option<std::time::Duration>,
) -> Result<(), ArchiveError> {
    let corrupt = |detail: String| ArchiveError::Corrupt {
        path: path.to_path_buf(),
        detail,
    };
    if let Some(budget) = budget {
        let started = std::time::Instant::now();
        conn.progress_handler(10_000, Some(move || started.elapsed() > budget));
    }
    let found: rusqlite::Result<Vec<String>> =
        conn.prepare("PRAGMA quick_check(5)").and_then(|mut stmt| {
            stmt.query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        });
    conn.progress_handler(0, None::<fn() -> bool>);
    match found {
        Ok(lines) if lines.iter().all(|l| l == "ok") => Ok(()),
        Ok(lines) => Err(corrupt(lines.join("; "))),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) => {
            tracing::debug!("the database was checked as far as the opening budget allows");
            Ok(())
        }
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
fn add_outcomes(conn: &Connection) -> rusqlite::Result<()> {
    let has_outcome: bool = conn.one(
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
