//! A new SQLite index from the WARC files alone: the snapshots are the
//! source of truth, so a lost or damaged database costs no data. The old
//! database (if any) is moved aside, never deleted.

use std::path::{Path, PathBuf};

use crate::archive::DB_FILE;
use crate::pipeline::{PipelineError, Store};

/// What a rebuild made.
#[derive(Debug, Clone)]
pub struct Rebuilt {
    /// Where the previous database was moved.
    pub moved_aside: Vec<PathBuf>,
    pub captures: i64,
    pub reports: i64,
    pub cells: i64,
    pub checks: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("moving {path} aside: {source}")]
    Move {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Crawl(#[from] crate::crawl::CrawlError),
    #[error("archive database: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Move the database of `dir` aside and index every WARC record again:
/// captures (with their outcome), reports, cells and checks. The crawl
/// frontier is not in the records; the next crawl finds it again from the
/// start pages, asking conditionally against the rebuilt captures.
pub fn rebuild(dir: &Path, info: String) -> Result<Rebuilt, RebuildError> {
    let stamp = chrono::Utc::now().format("%Y%m%d%H%M%S");
    let mut moved_aside = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let path = dir.join(format!("{DB_FILE}{suffix}"));
        if path.exists() {
            let to = dir.join(format!("{DB_FILE}{suffix}.before-rebuild-{stamp}"));
            std::fs::rename(&path, &to).map_err(|source| RebuildError::Move {
                path: path.clone(),
                source,
            })?;
            moved_aside.push(to);
        }
    }
    let store = Store::open(dir, u64::MAX, info)?;
    crate::crawl::index_snapshots(&store)?;
    let db = store.db.lock().map_err(|_| PipelineError::Poisoned)?;
    let count = |table: &str| -> Result<i64, rusqlite::Error> {
        db.conn()
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
    };
    Ok(Rebuilt {
        captures: count("captures")?,
        reports: count("reports")?,
        cells: count("cells")?,
        checks: count("checks")?,
        moved_aside,
    })
}
