//! `nianbao status`: what a cron user asks first — did the last runs work,
//! how each source fares (reports, pages robots.txt blocks, failures by
//! kind, when last crawled), what the next run will do, how big the archive
//! is. Reads the database read-only; writes nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::archive::{DB_FILE, WARC_DIR};

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(
        "no archive database at {0}: nothing crawled yet (`nianbao crawl`), or pass --archive DIR"
    )]
    NoArchive(PathBuf),
    #[error("archive database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

/// One crawl run.
#[derive(Debug, Clone, Serialize)]
pub struct RunStatus {
    pub id: i64,
    pub started_at: String,
    /// None while running, or when the run was killed (resumed next start).
    pub finished_at: Option<String>,
    pub captures: i64,
    pub failures: i64,
}

/// One source, over the whole archive.
#[derive(Debug, Clone, Serialize, Default)]
pub struct SourceStatus {
    pub name: String,
    pub region: Option<String>,
    /// Report pages (and attachments) archived at least once.
    pub reports: i64,
    /// URLs robots.txt forbids.
    pub blocked: i64,
    /// Failures of the last run by kind (`timeout`, `connect`, `http`, …).
    pub failures: BTreeMap<String, i64>,
    /// The latest capture time (WARC-Date) of a URL of this source.
    pub last_crawled: Option<String>,
}

/// The whole answer.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub archive: PathBuf,
    pub runs: Vec<RunStatus>,
    pub sources: Vec<SourceStatus>,
    /// URLs the next run visits: the rest of an interrupted run, else every known URL.
    pub due: i64,
    /// True when the last run did not finish: the next start resumes it.
    pub resumes: bool,
    pub warc_files: u64,
    pub warc_bytes: u64,
    pub database_bytes: u64,
}

/// How many runs `status` lists.
const RUNS_SHOWN: i64 = 5;

/// Read the status of the archive in `dir`.
pub fn read(dir: &Path) -> Result<Status, StatusError> {
    let path = dir.join(DB_FILE);
    if !path.is_file() {
        return Err(StatusError::NoArchive(path));
    }
    let sql = |source| StatusError::Sqlite {
        path: path.clone(),
        source,
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&path, flags).map_err(sql)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(sql)?;
    let runs = runs(&conn).map_err(sql)?;
    let resumes = runs.first().is_some_and(|r| r.finished_at.is_none());
    let due = due(&conn, resumes).map_err(sql)?;
    let sources = sources(&conn, runs.first()).map_err(sql)?;
    let (warc_files, warc_bytes) = warc_size(&dir.join(WARC_DIR));
    let database_bytes = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(dir.join(format!("{DB_FILE}{s}"))).ok())
        .map(|m| m.len())
        .sum();
    Ok(Status {
        archive: dir.to_path_buf(),
        runs,
        sources,
        due,
        resumes,
        warc_files,
        warc_bytes,
        database_bytes,
    })
}

/// The latest runs, newest first, with what each archived and what failed.
fn runs(conn: &Connection) -> rusqlite::Result<Vec<RunStatus>> {
    let mut stmt = conn.prepare(
        "SELECT r.id, r.started_at, r.finished_at,
           (SELECT COUNT(*) FROM captures k WHERE k.id > r.captures_before
              AND k.id <= COALESCE((SELECT MIN(n.captures_before) FROM runs n WHERE n.id > r.id),
                                   (SELECT MAX(id) FROM captures))),
           (SELECT COUNT(*) FROM failures f WHERE f.id > r.failures_before
              AND f.id <= COALESCE((SELECT MIN(n.failures_before) FROM runs n WHERE n.id > r.id),
                                   (SELECT MAX(id) FROM failures)))
         FROM runs r ORDER BY r.id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([RUNS_SHOWN], |r| {
        Ok(RunStatus {
            id: r.get(0)?,
            started_at: r.get(1)?,
            finished_at: r.get(2)?,
            captures: r.get(3)?,
            failures: r.get(4)?,
        })
    })?;
    rows.collect()
}

/// The URLs the next run visits.
fn due(conn: &Connection, resumes: bool) -> rusqlite::Result<i64> {
    let sql = if resumes {
        "SELECT COUNT(*) FROM frontier
         WHERE last_run IS NULL OR last_run < (SELECT MAX(id) FROM runs)"
    } else {
        "SELECT COUNT(*) FROM frontier"
    };
    conn.query_row(sql, [], |r| r.get(0))
}

/// Per source: reports, blocked pages, last run's failures by kind, last capture.
fn sources(conn: &Connection, last: Option<&RunStatus>) -> rusqlite::Result<Vec<SourceStatus>> {
    let mut by_name: BTreeMap<String, SourceStatus> = BTreeMap::new();
    let mut stmt = conn.prepare(
        "SELECT source,
           SUM(kind <> 'listing' AND last_capture IS NOT NULL),
           SUM(state = 'blocked')
         FROM frontier GROUP BY source",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<i64>>(1)?,
            r.get::<_, Option<i64>>(2)?,
        ))
    })?;
    for row in rows {
        let (name, reports, blocked) = row?;
        let s = by_name.entry(name.clone()).or_default();
        s.name = name;
        s.reports = reports.unwrap_or(0);
        s.blocked = blocked.unwrap_or(0);
    }
    let mut stmt = conn.prepare(
        "SELECT source, MAX(fetched_at) FROM captures WHERE source IS NOT NULL GROUP BY source",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
    })?;
    for row in rows {
        let (name, at) = row?;
        let s = by_name.entry(name.clone()).or_default();
        s.name = name;
        s.last_crawled = at;
    }
    if let Some(run) = last {
        let mut stmt = conn.prepare(
            "SELECT f.source, f.kind, COUNT(*) FROM failures f
             WHERE f.source IS NOT NULL
               AND f.id > (SELECT failures_before FROM runs WHERE id = ?1)
             GROUP BY f.source, f.kind",
        )?;
        let rows = stmt.query_map([run.id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (name, kind, n) = row?;
            let s = by_name.entry(name.clone()).or_default();
            s.name = name;
            s.failures.insert(kind, n);
        }
    }
    let has_sources: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sources')",
        [],
        |r| r.get(0),
    )?;
    if has_sources {
        let mut stmt = conn.prepare("SELECT name, region FROM sources")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        for row in rows {
            let (name, region) = row?;
            if let Some(s) = by_name.get_mut(&name) {
                s.region = region;
            }
        }
    }
    Ok(by_name.into_values().collect())
}

/// The number and total size of the WARC files.
fn warc_size(dir: &Path) -> (u64, u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (0, 0);
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".warc.gz"))
        .filter_map(|e| e.metadata().ok())
        .fold((0, 0), |(n, bytes), m| (n + 1, bytes + m.len()))
}

/// `1 page`, `2 pages`.
pub fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A size for people: `812 KB`, `3.4 GB`.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

impl Status {
    /// True when the latest run finished and recorded no failure.
    pub fn last_run_ok(&self) -> bool {
        self.runs
            .first()
            .is_some_and(|r| r.finished_at.is_some() && r.failures == 0)
    }

    /// The text for people.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "archive {}", self.archive.display());
        if self.runs.is_empty() {
            out.push_str("no crawl run yet\n");
        }
        for r in &self.runs {
            let end = match &r.finished_at {
                Some(t) => format!("finished {t}"),
                None => "not finished (killed or running; the next start resumes it)".into(),
            };
            let _ = writeln!(
                out,
                "run {}: started {}, {}: {}, {}",
                r.id,
                r.started_at,
                end,
                plural(r.captures, "capture", "captures"),
                plural(r.failures, "failure", "failures")
            );
        }
        for s in &self.sources {
            let failures: Vec<String> =
                s.failures.iter().map(|(k, n)| format!("{k} {n}")).collect();
            let _ = writeln!(
                out,
                "{}{}: {}, {} blocked by robots.txt, last crawled {}{}",
                s.name,
                s.region
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default(),
                plural(s.reports, "report page", "report pages"),
                s.blocked,
                s.last_crawled.as_deref().unwrap_or("never"),
                if failures.is_empty() {
                    String::new()
                } else {
                    format!("; last run failed: {}", failures.join(", "))
                }
            );
        }
        let next = if self.resumes {
            "resumes the unfinished run"
        } else {
            "starts a new run"
        };
        let _ = writeln!(
            out,
            "next crawl {next}: {} due",
            plural(self.due, "URL", "URLs")
        );
        let _ = writeln!(
            out,
            "size: {} in {}, database {}",
            size(self.warc_bytes),
            plural(self.warc_files as i64, "WARC file", "WARC files"),
            size(self.database_bytes)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_sizes_read_as_english() {
        assert_eq!(plural(1, "page", "pages"), "1 page");
        assert_eq!(plural(0, "page", "pages"), "0 pages");
        assert_eq!(size(999), "999 B");
        assert_eq!(size(3_400_000_000), "3.4 GB");
    }
}
