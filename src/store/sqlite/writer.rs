//! The SQLite store's one writer: a thread that owns the write connection and commits the
//! writes queued meanwhile together (group commit).
//!
//! Every write of this process goes through one connection anyway, so writers queue
//! here instead of on SQLite's lock. The thread takes the first queued write and every
//! write queued behind it (up to [`MAX_BATCH`]), opens one `BEGIN IMMEDIATE`
//! transaction, runs each write inside its own savepoint, and commits once. The commit
//! (the WAL append) is paid once per batch instead of once per write, and the async side
//! hands a write to a thread that is already running instead of to a blocking task.
//!
//! What each write promises is unchanged:
//! - **isolation**: a write that fails or changes its mind (a conflict, a gone session)
//!   rolls back to its savepoint, so it leaves nothing, and the others commit;
//! - **order**: writes run in the order they were queued, on one thread, so a write that
//!   a caller gave up on never lands after a write queued later;
//! - **deadlines**: a write whose caller stopped waiting before its turn never runs; the
//!   wait for another process's write lock ends at the batch's earliest deadline;
//! - **outcome**: a write's result reaches its caller only after the commit; when the
//!   commit fails, every write of the batch gets that error.

use std::sync::mpsc;

use rusqlite::Connection;

use super::{busy, Budget};
use crate::store::codec::backend;
use crate::store::StoreError;

/// Most writes one transaction carries: enough to take in every request of a busy
/// server, few enough that one batch stays short.
pub(super) const MAX_BATCH: usize = 64;

/// Hands a write's result to its caller, given the batch's commit error if it failed.
pub(super) type Deliver = Box<dyn FnOnce(Option<&StoreError>) + Send>;

/// A queued write. Called with the connection inside the batch transaction (or with
/// the reason the batch could not begin); returns how to deliver its result.
pub(super) type Op = Box<dyn FnOnce(Result<&mut Connection, &StoreError>) -> Deliver + Send>;

/// A write and the budget of the operation it belongs to.
pub(super) struct Job {
    pub(super) budget: Budget,
    pub(super) op: Op,
}

/// The same error for another write of the batch (a store error holds a boxed source,
/// which cannot be cloned: its text is kept).
pub(super) fn copy(err: &StoreError) -> StoreError {
    match err {
        StoreError::Timeout(deadline) => StoreError::Timeout(*deadline),
        StoreError::Corrupt(what) => StoreError::Corrupt(what),
        StoreError::Backend(source) => {
            let text = crate::error::Report(source.as_ref()).to_string();
            StoreError::Backend(text.into())
        }
    }
}

/// Starts the writer thread on `conn`; it ends when every sender is dropped.
pub(super) fn spawn(conn: Connection) -> Result<mpsc::Sender<Job>, StoreError> {
    let (sender, jobs) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("flagon-sqlite-writer".into())
        .spawn(move || run(conn, &jobs))
        .map_err(backend)?;
    Ok(sender)
}

fn run(mut conn: Connection, jobs: &mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // A caller that stopped waiting has been told "timed out": its write never runs.
        batch.retain(|job| !job.budget.spent());
        if let Some(earliest) = batch.iter().map(|j| &j.budget).min_by_key(|b| b.until) {
            let earliest = earliest.clone();
            commit_batch(&mut conn, batch, &earliest);
        }
    }
}

fn commit_batch(conn: &mut Connection, batch: Vec<Job>, earliest: &Budget) {
    let begun = busy::within(earliest, || conn.execute_batch("BEGIN IMMEDIATE"));
    if let Err(err) = begun {
        let err = backend(err);
        for job in batch {
            (job.op)(Err(&err))(None);
        }
        return;
    }
    let delivers: Vec<Deliver> = batch
        .into_iter()
        .map(|job| busy::within(&job.budget, || (job.op)(Ok(&mut *conn))))
        .collect();
    let committed = busy::within(earliest, || conn.execute_batch("COMMIT"));
    let failed = committed.err().map(|err| {
        // A failed COMMIT leaves the transaction open; nothing of the batch is kept.
        let _ = conn.execute_batch("ROLLBACK");
        backend(err)
    });
    for deliver in delivers {
        deliver(failed.as_ref());
    }
}
