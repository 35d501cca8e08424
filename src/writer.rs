//! The one owner of the archive during a crawl: a thread that holds the WARC
//! writer and the SQLite connection, takes jobs over a channel and commits
//! them in batches.
//!
//! Tasks on the async runtime never touch the archive themselves; they send
//! a job and await its answer, so no task blocks the runtime on a disk write
//! or a lock. A batch is every job waiting when the thread looks, run in one
//! SQLite transaction; before the commit the WARC records of the batch are
//! synced, so an index row never points at a record that is not on disk
//! (the WARC-before-index invariant), and a job's answer is sent only after
//! the commit, so a caller that has its answer knows its rows are durable.
//! A process killed mid-batch leaves WARC records without rows, which the
//! next start indexes (`crawl::recover`).

use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::pipeline::{PipelineError, Store};

/// The most jobs one transaction takes.
const MAX_BATCH: usize = 512;

#[derive(Debug, Clone, thiserror::Error)]
pub enum WriterError {
    #[error("the archive writer has stopped")]
    Gone,
    #[error("committing to the archive failed: {0}")]
    Commit(String),
}

type Reply = Box<dyn FnOnce(Result<(), WriterError>) + Send>;
type Job = Box<dyn FnOnce(&Store) -> Reply + Send>;

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

    /// Run `f` on the archive's owner and await its value, which is sent
    /// once the batch that ran it is committed.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> T + Send + 'static,
    ) -> Result<T, WriterError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |store| {
            let value = f(store);
            Box::new(move |committed: Result<(), WriterError>| {
                let _ = tx.send(committed.map(|()| value));
            })
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

/// The owner's loop: one batch per wake-up, until every handle is gone.
fn own(store: Store, queue: mpsc::Receiver<Job>) -> Store {
    let (mut jobs, mut batches) = (0usize, 0usize);
    while let Ok(first) = queue.recv() {
        let began = begin(&store);
        let mut replies = vec![first(&store)];
        while replies.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => replies.push(job(&store)),
                Err(_) => break,
            }
        }
        let committed = if began { commit(&store) } else { Ok(()) };
        if let Err(e) = &committed {
            tracing::error!(error = %e, jobs = replies.len(), "archive batch not committed");
        }
        jobs += replies.len();
        batches += 1;
        for reply in replies {
            reply(committed.clone());
        }
    }
    tracing::debug!(jobs, batches, "archive writer done");
    store
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
