//! The embedded SQLite store: one database file, no server to run.
//!
//! Sessions survive restarts and crashes: the file is in WAL mode and every operation is
//! one transaction, so a process killed mid-write (even with `kill -9`) leaves each session
//! as it was after some committed operation, never half-written.
//!
//! Layout: a table of sessions (key, created_at, expires_at) and a table with one row per
//! session key holding that value's tagged JSON. Applying a request's changes rewrites only
//! the keys it touched, inside a `BEGIN IMMEDIATE` transaction that first checks the
//! session is still live, so concurrent requests writing different keys all survive and a
//! purged session is never written back.
//!
//! SQLite calls block, so reads run on tokio's blocking threads, a few connections of
//! them. One connection writes, on a thread of its own (so writers of this process queue
//! in memory instead of spinning on SQLite's lock), and commits the writes queued
//! meanwhile together: see `writer` for what each write still promises. Other processes
//! may share the file; a busy handler bounded by each operation's deadline covers their
//! writes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};
use tokio::sync::Semaphore;

use super::codec::{backend, to_sql_time, SetupError};
use super::{Applied, Changes, Created, Record, Renewed, SessionStore, StoreError};
use crate::id::StoreKey;

mod sql;
mod tx;
mod writer;

use tx::{apply_tx, create_tx, delete_tx, load_tx, renew_tx, sweep_tx};

/// Settings of a [`SqliteStore`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// Longest time one operation may take, waiting for a connection and for another
    /// process's write lock included (default 2 s).
    pub deadline: Duration,
    /// Read connections (default 4); there is always exactly one write connection.
    pub readers: usize,
    /// Largest number of expired sessions one sweep transaction removes (default 1,000).
    pub sweep_batch: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            deadline: Duration::from_secs(2),
            readers: 4,
            sweep_batch: 1000,
        }
    }
}

impl SqliteOptions {
    /// Sets [`deadline`](Self::deadline).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sets [`readers`](Self::readers) (at least one).
    pub fn readers(mut self, readers: usize) -> Self {
        self.readers = readers.max(1);
        self
    }
}

/// A fixed set of connections, each used by one blocking task at a time.
struct Pool {
    conns: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl Pool {
    fn new(conns: Vec<Connection>) -> Arc<Pool> {
        Arc::new(Pool {
            permits: Arc::new(Semaphore::new(conns.len())),
            conns: Mutex::new(conns),
        })
    }

    fn take(&self) -> Option<Connection> {
        self.conns.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    fn put(&self, conn: Connection) {
        self.conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
    }
}

/// Sessions in one SQLite database file.
pub struct SqliteStore {
    writer: std::sync::mpsc::Sender<writer::Job>,
    readers: Arc<Pool>,
    options: SqliteOptions,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` with default options.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the file cannot be opened or set up.
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, SqliteOptions::default()).await
    }

    /// Opens (creating if needed) the database file at `path`.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the file cannot be opened or set up.
    pub async fn open_with(
        path: impl AsRef<Path>,
        options: SqliteOptions,
    ) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let (p, o) = (path.clone(), options.clone());
        let opened = tokio::task::spawn_blocking(move || open_all(&p, &o));
        let (writer, readers) = opened.await.map_err(backend)??;
        Ok(SqliteStore {
            writer: writer::spawn(writer)?,
            readers: Pool::new(readers),
            options,
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs the read `f` on one of the read connections, on a blocking thread, within
    /// the deadline (writes go to the writer thread: see [`write`](Self::write)).
    ///
    /// One deadline governs the whole read, the wait for a connection included. If the
    /// caller stops waiting (this deadline, or a shorter one of the caller's that drops
    /// the future), a read not yet begun never begins.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let deadline = self.options.deadline;
        let budget = Budget::new(deadline);
        let abandon = AbandonOnDrop(budget.abandoned.clone());
        let pool = self.readers.clone();
        let work = async move {
            let permit = pool
                .permits
                .clone()
                .acquire_owned()
                .await
                .map_err(backend)?;
            let task = tokio::task::spawn_blocking(move || {
                if budget.spent() {
                    return Err(StoreError::Timeout(deadline));
                }
                let mut conn = pool.take().ok_or_else(|| {
                    backend(SetupError("sqlite connection pool is unexpectedly empty"))
                })?;
                let out = busy::within(&budget, || f(&mut conn));
                pool.put(conn);
                drop(permit);
                match out {
                    Err(_) if budget.spent() => Err(StoreError::Timeout(deadline)),
                    other => other,
                }
            });
            task.await.map_err(backend)?
        };
        let out = tokio::time::timeout(deadline, work)
            .await
            .map_err(|_| StoreError::Timeout(deadline));
        // Marking a finished operation abandoned changes nothing; an unfinished one stops.
        drop(abandon);
        out?
    }
}

impl SqliteStore {
    /// Queues `f` for the writer thread (see `writer`), which runs it inside a savepoint
    /// of its batch transaction, and waits for the outcome within the deadline.
    ///
    /// If the caller stops waiting (this deadline, or a shorter one of the caller's that
    /// drops the future) before the write's turn, it never runs. One already running
    /// may still commit with its batch: the outcome is unknown, as
    /// [`StoreError::Timeout`] says. Writes run in queue order on one thread, so such a
    /// write can never land after a write queued later.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let deadline = self.options.deadline;
        let budget = Budget::new(deadline);
        let abandon = AbandonOnDrop(budget.abandoned.clone());
        let (reply, answer) = tokio::sync::oneshot::channel();
        let spent = budget.clone();
        let op: writer::Op = Box::new(move |conn| {
            let out = match conn {
                Ok(conn) => f(conn),
                Err(err) => Err(writer::copy(err)),
            };
            Box::new(move |failed: Option<&StoreError>| {
                let out = match (out, failed) {
                    (Ok(_), Some(err)) => Err(writer::copy(err)),
                    (out, _) => out,
                };
                let out = match out {
                    Err(_) if spent.spent() => Err(StoreError::Timeout(deadline)),
                    other => other,
                };
                let _ = reply.send(out);
            })
        });
        let job = writer::Job {
            budget: budget.clone(),
            op,
        };
        self.writer.send(job).map_err(|_| {
            backend(SetupError(
                "the SQLite store's writer thread has stopped; open the store again",
            ))
        })?;
        let out = tokio::time::timeout(deadline, answer).await;
        drop(abandon);
        match out {
            Ok(Ok(result)) => result,
            // Skipped (its budget was spent) or cut off by the deadline.
            Ok(Err(_)) | Err(_) => Err(StoreError::Timeout(deadline)),
        }
    }
}

/// What one operation may still spend: its deadline, and whether its caller gave up.
#[derive(Clone)]
struct Budget {
    until: Instant,
    abandoned: Arc<AtomicBool>,
}

impl Budget {
    fn new(deadline: Duration) -> Budget {
        Budget {
            until: Instant::now() + deadline,
            abandoned: Arc::new(AtomicBool::new(false)),
        }
    }

    fn spent(&self) -> bool {
        self.abandoned.load(Ordering::Acquire) || Instant::now() >= self.until
    }
}

/// Marks the operation abandoned when the caller stops waiting for it, including when its
/// future is dropped.
struct AbandonOnDrop(Arc<AtomicBool>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// SQLite's busy handler, bounded by the budget of the operation running on this thread.
mod busy {
    use std::cell::RefCell;
    use std::time::{Duration, Instant};

    use super::Budget;

    thread_local! {
        static CURRENT: RefCell<Option<Budget>> = const { RefCell::new(None) };
    }

    /// Runs `f` with `budget` as the limit of every wait for another writer.
    pub(super) fn within<T>(budget: &Budget, f: impl FnOnce() -> T) -> T {
        CURRENT.with(|c| *c.borrow_mut() = Some(budget.clone()));
        let out = f();
        CURRENT.with(|c| *c.borrow_mut() = None);
        out
    }

    /// Called by SQLite while another connection holds the lock: wait a little, then
    /// retry (`true`) if the operation's budget still lasts, else give up (`false`:
    /// `SQLITE_BUSY`, nothing written). The check comes after the sleep, so a retry never
    /// starts past the deadline.
    pub(super) fn handler(attempt: i32) -> bool {
        let Some(budget) = CURRENT.with(|c| c.borrow().clone()) else {
            return false;
        };
        let step = [1, 2, 5, 10, 15, 20, 25][usize::try_from(attempt).unwrap_or(0).min(6)];
        let left = budget.until.saturating_duration_since(Instant::now());
        std::thread::sleep(Duration::from_millis(step).min(left));
        !budget.spent()
    }
}

fn open_all(
    path: &Path,
    options: &SqliteOptions,
) -> Result<(Connection, Vec<Connection>), StoreError> {
    // Setting up may wait for another process's lock too, as long as one operation may.
    busy::within(&Budget::new(options.deadline), || {
        let writer = open_one(path)?;
        writer.execute_batch(sql::SCHEMA).map_err(backend)?;
        let readers = (0..options.readers.max(1))
            .map(|_| open_one(path))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((writer, readers))
    })
}

fn open_one(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(backend)?;
    // Waits for other writers end at each operation's own deadline (see `SqliteStore::write` and `busy`).
    conn.busy_handler(Some(busy::handler)).map_err(backend)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
        .map_err(backend)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(backend(SetupError(
            "sqlite refused WAL mode for the session file: put it on a local file system",
        )));
    }
    conn.execute_batch("PRAGMA synchronous=NORMAL;")
        .map_err(backend)?;
    Ok(conn)
}

impl SessionStore for SqliteStore {
    async fn load(&self, key: &StoreKey, now: u64) -> Result<Option<Record>, StoreError> {
        let key = *key;
        self.read(move |c| load_tx(c, &key, now)).await
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, StoreError> {
        let (key, record) = (*key, record.clone());
        self.write(move |c| create_tx(c, &key, &record)).await
    }

    async fn apply(
        &self,
        key: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        let (key, changes) = (*key, changes.clone());
        self.write(move |c| apply_tx(c, &key, &changes, expires_at, now))
            .await
    }

    async fn renew(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Renewed, StoreError> {
        let (old, new, changes) = (*old, *new, changes.clone());
        self.write(move |c| renew_tx(c, (&old, &new), &changes, expires_at, now))
            .await
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        let key = *key;
        self.write(move |c| {
            let n = c
                .prepare_cached(sql::EXTEND_LIVE)
                .and_then(|mut s| {
                    s.execute(params![
                        &key.as_bytes()[..],
                        to_sql_time(expires_at),
                        to_sql_time(now)
                    ])
                })
                .map_err(backend)?;
            Ok(if n == 0 { Applied::Gone } else { Applied::Done })
        })
        .await
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), StoreError> {
        let key = *key;
        self.write(move |c| delete_tx(c, &key)).await
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }

    async fn sweep(&self, now: u64) -> Result<u64, StoreError> {
        let batch = self.options.sweep_batch.max(1);
        // One batch of expired sessions per write, so other writes interleave.
        let mut removed = 0;
        loop {
            let gone = self.write(move |c| sweep_tx(c, now, batch)).await?;
            removed += gone;
            if gone < batch as u64 {
                return Ok(removed);
            }
        }
    }
}
impl crate::registry::SessionRegistry for SqliteStore {
    async fn owned(&self, owner: &str, now: u64) -> Result<Vec<(StoreKey, Record)>, StoreError> {
        let owner = owner.to_owned();
        self.read(move |c| tx::owned_tx(c, &owner, now)).await
    }
}
