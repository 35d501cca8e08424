//! The one owner of the archive during a crawl: a thread that holds the WARC
//! writer and the SQLite connection, takes jobs over a channel and commits
//! them in batches.
//!
//! Tasks on the async runtime never touch the archive themselves; they send
//! a job and await its answer, so no task blocks the runtime on a disk write
//! or a lock. A batch is the jobs that come while the thread works, run in
//! one SQLite transaction; before the commit the WARC records of the batch
//! are synced, so an index row never points at a record that is not on disk
//! (the WARC-before-index invariant). A job is answered as soon as it has
//! run, not after the commit: a visit makes several jobs, and waiting out a
//! sync for each kept the cores idle. What a later job builds on an earlier
//! one's rows is in the same or a later transaction, so it commits with them
//! or after them; and once a commit fails, no job runs again, so nothing is
//! built on rows that were rolled back (the run stops; a resume reads what
//! is on disk). A process killed mid-batch leaves WARC records without rows,
//! which the next start indexes (`crawl::recover`).

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::pipeline::{PipelineError, Store};

/// The most jobs one transaction takes.
const MAX_BATCH: usize = 512;

/// A batch commits no sooner than this after the last commit ended, taking
/// the jobs that come meanwhile: each commit syncs the WARC file, and a busy
/// crawl committing whenever its queue was empty spent a third of the
/// owner's time in syncs. After a quiet spell a job commits at once.
const COMMIT_SPACING: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, thiserror::Error)]
pub enum WriterError {
    #[error("the archive writer has stopped")]
    Gone,
    #[error("committing to the archive failed: {0}")]
    Commit(String),
}

/// A job and its answer: run on the store, or told why it was not.
type Job = Box<dyn FnOnce(Result<&Store, WriterError>) + Send>;

/// A handle to the archive's owner thread.
pub struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<Store>>,
}

impl Writer {
    /// Move `store` to its own thread. Its WARC writer then syncs once per
    /// batch instead of after every record.
    /// Its rows are written without SQLite enforcing their foreign keys
    /// (see [`crate::archive::Archive::enforce_references`]); `close` turns
    /// enforcement back on.
    pub fn spawn(store: Store) -> Result<Self, PipelineError> {
        store
            .warc
            .lock()
            .map_err(|_| PipelineError::Poisoned)?
            .defer_sync();
        store
            .db
            .lock()
            .map_err(|_| PipelineError::Poisoned)?
            .enforce_references(false)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("archive-writer".into())
            .spawn(move || own(store, queue))
            .map_err(|e| {
                PipelineError::Warc(crate::warc::WarcError::Io {
                    path: "archive-writer".into(),
                    source: e,
                })
            })?;
        Ok(Self {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Run `f` on the archive's owner and await its value, sent as soon as
    /// it has run; its rows commit with its batch.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> T + Send + 'static,
    ) -> Result<T, WriterError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |store| {
            let _ = tx.send(store.map(f));
        });
        self.jobs
            .as_ref()
            .ok_or(WriterError::Gone)?
            .send(job)
            .map_err(|_| WriterError::Gone)?;
        rx.await.map_err(|_| WriterError::Gone)?
    }

    /// Stop the thread once every job sent has run, and take the store back,
    /// its foreign keys enforced again.
    pub fn close(mut self) -> Result<Store, WriterError> {
        self.jobs = None;
        let store = self
            .thread
            .take()
            .ok_or(WriterError::Gone)?
            .join()
            .map_err(|_| WriterError::Gone)?;
        store
            .db
            .lock()
            .map_err(|_| WriterError::Gone)?
            .enforce_references(true)
            .map_err(|e| WriterError::Commit(e.to_string()))?;
        Ok(store)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The owner's loop: one batch per wake-up, until every handle is gone;
/// after a failed commit, every job is refused with its error.
fn own(store: Store, queue: mpsc::Receiver<Job>) -> Store {
    let (mut jobs, mut batches) = (0usize, 0usize);
    let mut last_commit: Option<Instant> = None;
    let mut failed: Option<WriterError> = None;
    while let Ok(first) = queue.recv() {
        if let Some(e) = &failed {
            first(Err(e.clone()));
            continue;
        }
        let began = begin(&store);
        first(Ok(&store));
        let mut ran = 1;
        let not_before = last_commit.map(|at| at + COMMIT_SPACING);
        while ran < MAX_BATCH {
            let Some(job) = next_job(&queue, not_before) else {
                break;
            };
            job(Ok(&store));
            ran += 1;
        }
        if began {
            if let Err(e) = commit(&store) {
                tracing::error!(error = %e, jobs = ran, "archive batch not committed; the archive takes no more");
                failed = Some(e);
            }
        }
        last_commit = Some(Instant::now());
        jobs += ran;
        batches += 1;
    }
    tracing::debug!(jobs, batches, "archive writer done");
    store
}

/// The next job of the batch: one waiting, or one that comes before
/// `not_before`; `None` when the batch should commit now.
fn next_job(queue: &mpsc::Receiver<Job>, not_before: Option<Instant>) -> Option<Job> {
    match queue.try_recv() {
        Ok(job) => Some(job),
        Err(mpsc::TryRecvError::Disconnected) => None,
        Err(mpsc::TryRecvError::Empty) => {
            let wait = not_before?.checked_duration_since(Instant::now())?;
            queue.recv_timeout(wait).ok()
        }
    }
}

/// Open the batch's transaction; false when the database would not (each
/// job then commits on its own, as outside a batch).
fn begin(store: &Store) -> bool {
    let Ok(db) = store.db.lock() else {
        return false;
    };
    db.conn().is_autocommit() && db.conn().execute_batch("BEGIN IMMEDIATE").is_ok()
}

/// Sync the batch's WARC records, then commit its rows: in that order, so a
/// committed row never points at a record a crash could lose.
fn commit(store: &Store) -> Result<(), WriterError> {
    let synced = store
        .warc
        .lock()
        .map_err(|_| WriterError::Commit("WARC writer poisoned".into()))
        .and_then(|mut w| w.sync().map_err(|e| WriterError::Commit(e.to_string())));
    let mut db = store
        .db
        .lock()
        .map_err(|_| WriterError::Commit("archive database poisoned".into()))?;
    if db.conn().is_autocommit() {
        return synced;
    }
    let committed = synced.and_then(|()| {
        db.conn()
            .execute_batch("COMMIT")
            .map_err(|e| WriterError::Commit(e.to_string()))
    });
    if committed.is_err() {
        if !db.conn().is_autocommit() {
            let _ = db.conn().execute_batch("ROLLBACK");
        }
        db.rolled_back();
    }
    committed
}
