//! The PostgreSQL store, over a pool of connections.
//!
//! Two tables, created on first use: one row per session (key, created_at, expires_at)
//! and one row per session key holding that value's tagged JSON. A request's changes are
//! applied in one transaction that first locks the session row with a conditional
//! `UPDATE … WHERE expires_at > now`: writers of one session queue on that lock, each then
//! sees every earlier commit, so disjoint writes all survive; a purged or renewed session
//! matches no row and the write reports [`Applied::Gone`] instead of recreating it.
//!
//! Expired rows are never returned; [`SessionStore::sweep`] deletes them in batches, and
//! [`spawn_sweeper`](super::sweeper::spawn_sweeper) runs it on a timer that survives
//! database errors.

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool};
use tokio_postgres::NoTls;

use super::codec::{backend, to_sql_time, SetupError};
use super::{Applied, Changes, Created, Record, Renewed, SessionStore, StoreError};
use crate::id::StoreKey;

mod pooled;
mod redacted;
mod rows;
mod sql;

use pooled::Pooled;
use redacted::Redacted;

use rows::{change_params, expectations_hold, to_record, write_values};

use sql::Sql;

/// Settings of a [`PostgresStore`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// Longest time one operation may take, waiting for a pooled connection included
    /// (default 2 s).
    pub deadline: Duration,
    /// Table name (default `flagon_sessions`; a second table gets the suffix `_values`).
    /// ASCII lower-case letters, digits and `_`, starting with a letter or `_`, at most
    /// 48 characters.
    pub table: String,
    /// Most pooled connections (default 16).
    pub pool_size: usize,
    /// Largest number of expired sessions one sweep statement removes (default 1,000).
    pub sweep_batch: i64,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            deadline: Duration::from_secs(2),
            table: "flagon_sessions".to_owned(),
            pool_size: 16,
            sweep_batch: 1000,
        }
    }
}

impl PostgresOptions {
    /// Sets [`deadline`](Self::deadline).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sets [`table`](Self::table).
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// Sets [`pool_size`](Self::pool_size) (at least one).
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }
}

/// Sessions in PostgreSQL.
pub struct PostgresStore {
    pool: Pool,
    sql: Box<Sql>,
    options: PostgresOptions,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn valid_table(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    first_ok
        && name.len() <= 48
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl PostgresStore {
    /// Connects with a libpq-style URL (`postgres://user@host:port/db`) and default
    /// options, creating the tables if they do not exist.
    ///
    /// # Errors
    /// [`StoreError`] when the URL is invalid or the database does not answer in time.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects with `options`, creating the tables if they do not exist.
    ///
    /// # Errors
    /// [`StoreError`] when the URL or table name is invalid or the database does not
    /// answer in time.
    pub async fn connect_with(
        url: &str,
        options: PostgresOptions,
    ) -> Result<PostgresStore, StoreError> {
        if !valid_table(&options.table) {
            return Err(backend(SetupError(
                "postgres table name must be 1 to 48 lower-case ASCII letters, digits and _, \
                 not starting with a digit",
            )));
        }
        let config = tokio_postgres::Config::from_str(url).map_err(backend)?;
        let manager = Manager::from_config(config, NoTls, ManagerConfig::default());
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .build()
            .map_err(backend)?;
        let store = PostgresStore {
            pool,
            sql: Box::new(Sql::new(&options.table)),
            options,
        };
        store.create_tables().await?;
        Ok(store)
    }

    /// Creates the tables under an advisory lock, so concurrent first starts do not race.
    async fn create_tables(&self) -> Result<(), StoreError> {
        self.within(async {
            let mut client = Pooled::get(&self.pool).await?;
            let result = async {
                let tx = read_committed(&mut client).await?;
                tx.execute("SELECT pg_advisory_xact_lock(7307748460532447)", &[])
                    .await
                    .map_err(backend)?;
                tx.batch_execute(&self.sql.schema).await.map_err(backend)?;
                tx.commit().await.map_err(backend)
            }
            .await;
            client.finish(result)
        })
        .await
    }

    async fn within<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let deadline = self.options.deadline;
        tokio::time::timeout(deadline, work)
            .await
            .map_err(|_| StoreError::Timeout(deadline))?
    }
}

/// A transaction at READ COMMITTED, whatever the server's or the role's default: the
/// algorithm (lock the session row, then write) relies on each writer seeing the commits
/// it queued behind. Under REPEATABLE READ or SERIALIZABLE those writers would fail with
/// serialization errors instead.
async fn read_committed<'c>(
    client: &'c mut Pooled,
) -> Result<deadpool_postgres::Transaction<'c>, StoreError> {
    client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::ReadCommitted)
        .start()
        .await
        .map_err(backend)
}

impl PostgresStore {
    async fn create_now(&self, key: &StoreKey, record: &Record) -> Result<Created, StoreError> {
        let k = Redacted(&key.as_bytes()[..]);
        let mut client = Pooled::get(&self.pool).await?;
        let result = async {
            let tx = read_committed(&mut client).await?;
            let times = (
                to_sql_time(record.created_at),
                to_sql_time(record.expires_at),
            );
            let stmt = tx.prepare_cached(&self.sql.create).await.map_err(backend)?;
            let stored = tx
                .execute(&stmt, &[&k, &times.0, &times.1])
                .await
                .map_err(backend)?;
            if stored == 0 {
                return Ok(Created::Collision); // dropping the transaction rolls it back
            }
            let changes = Changes {
                clear: true, // leftovers of an expired record taken over
                set: record
                    .data
                    .iter()
                    .map(|(name, value)| (name.clone(), Some(value.clone())))
                    .collect(),
                ..Changes::default()
            };
            write_values(&tx, &self.sql.write_values, k.0, &changes).await?;
            tx.commit().await.map_err(backend)?;
            Ok(Created::Stored)
        }
        .await;
        client.finish(result)
    }

    /// Applies `changes` in one round trip: `BEGIN`, the conditional extend that locks
    /// the session row, the values statement and `COMMIT` go out together (tokio-postgres
    /// pipelines requests polled together) and the server runs them in order. The values
    /// statement is itself conditional on the session being live, so when the extend
    /// finds no live row (purged, renewed, expired) it writes nothing, exactly as the
    /// rolled-back transaction of [`apply_checked`](Self::apply_checked) would. Under
    /// READ COMMITTED each statement takes its snapshot when it starts, which is after
    /// the extend got the row lock: the values statement sees every earlier writer's
    /// commit, as in the step-by-step transaction. A failed statement aborts the
    /// transaction and `COMMIT` then rolls it back. `changes` must not be empty (`apply`
    /// sends an expiry-only change as a `touch`).
    async fn apply_pipelined(
        &self,
        key: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        let k = Redacted(&key.as_bytes()[..]);
        let (e, n) = (to_sql_time(expires_at), to_sql_time(now));
        let client = Pooled::get(&self.pool).await?;
        let result = async {
            let extend = client
                .prepare_cached(&self.sql.extend_live)
                .await
                .map_err(backend)?;
            let write = client
                .prepare_cached(&self.sql.write_values_if_live)
                .await
                .map_err(backend)?;
            let (clear, removed, names, values) = change_params(changes);
            let (removed, names, values) = (Redacted(removed), Redacted(names), Redacted(values));
            let extend_params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&k, &e, &n];
            let write_params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] =
                [&k, &clear, &removed, &names, &values, &n];
            let (begun, extended, written, committed) = tokio::join!(
                client.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED"),
                client.execute(&extend, &extend_params),
                client.execute(&write, &write_params),
                client.batch_execute("COMMIT"),
            );
            begun.map_err(backend)?;
            let extended = extended.map_err(backend)?;
            written.map_err(backend)?;
            committed.map_err(backend)?;
            Ok(match extended {
                0 => Applied::Gone,
                _ => Applied::Done,
            })
        }
        .await;
        client.finish(result)
    }

    /// Applies `changes` that carry expectations (strict conflicts), step by step: the
    /// expectations are read after the row lock is taken, and a failed one rolls back.
    async fn apply_checked(
        &self,
        key: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        let k = Redacted(&key.as_bytes()[..]);
        let mut client = Pooled::get(&self.pool).await?;
        let result = async {
            let tx = read_committed(&mut client).await?;
            let stmt = tx
                .prepare_cached(&self.sql.extend_live)
                .await
                .map_err(backend)?;
            let (e, n) = (to_sql_time(expires_at), to_sql_time(now));
            if tx.execute(&stmt, &[&k, &e, &n]).await.map_err(backend)? == 0 {
                return Ok(Applied::Gone);
            }
            if !expectations_hold(&tx, &self.sql.load_named, k.0, changes).await? {
                return Ok(Applied::Conflict); // dropping the transaction rolls it back
            }
            if !changes.is_empty() {
                write_values(&tx, &self.sql.write_values, k.0, changes).await?;
            }
            tx.commit().await.map_err(backend)?;
            Ok(Applied::Done)
        }
        .await;
        client.finish(result)
    }

    async fn renew_now(
        &self,
        old: Redacted<&[u8]>,
        new: Redacted<&[u8]>,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Renewed, StoreError> {
        let mut client = Pooled::get(&self.pool).await?;
        let result = async {
            let tx = read_committed(&mut client).await?;
            let n = to_sql_time(now);
            let live = tx
                .query_opt(&self.sql.lock_live, &[&old, &n])
                .await
                .map_err(backend)?;
            if live.is_none() {
                return Ok(Renewed::Gone);
            }
            if !expectations_hold(&tx, &self.sql.load_named, old.0, changes).await? {
                return Ok(Renewed::Conflict);
            }
            let taken = tx
                .query_opt(&self.sql.lock_any, &[&new])
                .await
                .map_err(backend)?;
            if let Some(row) = taken {
                let expires: i64 = row.try_get(0).map_err(backend)?;
                if expires > n {
                    return Ok(Renewed::Collision);
                }
                tx.execute(&self.sql.delete, &[&new])
                    .await
                    .map_err(backend)?;
            }
            let e = to_sql_time(expires_at);
            tx.execute(&self.sql.rename, &[&old, &new, &e])
                .await
                .map_err(backend)?;
            if !changes.is_empty() {
                write_values(&tx, &self.sql.write_values, new.0, changes).await?;
            }
            tx.commit().await.map_err(backend)?;
            Ok(Renewed::Done)
        }
        .await;
        client.finish(result)
    }

    async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let client = Pooled::get(&self.pool).await?;
        let result = async {
            let stmt = client.prepare_cached(sql).await.map_err(backend)?;
            client.execute(&stmt, params).await.map_err(backend)
        }
        .await;
        client.finish(result)
    }
}

impl SessionStore for PostgresStore {
    async fn load(&self, key: &StoreKey, now: u64) -> Result<Option<Record>, StoreError> {
        self.within(async {
            let client = Pooled::get(&self.pool).await?;
            let result = async {
                let stmt = client
                    .prepare_cached(&self.sql.load)
                    .await
                    .map_err(backend)?;
                let (k, n) = (Redacted(&key.as_bytes()[..]), to_sql_time(now));
                let rows = client.query(&stmt, &[&k, &n]).await.map_err(backend)?;
                to_record(&rows)
            }
            .await;
            client.finish(result)
        })
        .await
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, StoreError> {
        self.within(self.create_now(key, record)).await
    }

    async fn apply(
        &self,
        key: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        if changes.expect.is_empty() && changes.is_empty() {
            // Only the expiry moves: one statement, as `touch` sends it.
            return self.touch(key, expires_at, now).await;
        }
        match changes.expect.is_empty() {
            true => {
                self.within(self.apply_pipelined(key, changes, expires_at, now))
                    .await
            }
            false => {
                self.within(self.apply_checked(key, changes, expires_at, now))
                    .await
            }
        }
    }

    async fn renew(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Renewed, StoreError> {
        if old == new {
            return Ok(Renewed::Collision);
        }
        let (old, new) = (Redacted(&old.as_bytes()[..]), Redacted(&new.as_bytes()[..]));
        self.within(self.renew_now(old, new, changes, expires_at, now))
            .await
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        let (k, e, n) = (
            Redacted(&key.as_bytes()[..]),
            to_sql_time(expires_at),
            to_sql_time(now),
        );
        let changed = self
            .within(self.execute(&self.sql.extend_live, &[&k, &e, &n]))
            .await?;
        Ok(if changed == 0 {
            Applied::Gone
        } else {
            Applied::Done
        })
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), StoreError> {
        let k = Redacted(&key.as_bytes()[..]);
        self.within(self.execute(&self.sql.delete, &[&k]))
            .await
            .map(|_| ())
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }

    async fn sweep(&self, now: u64) -> Result<u64, StoreError> {
        let (n, batch) = (to_sql_time(now), self.options.sweep_batch.max(1));
        self.within(async {
            let mut removed = 0;
            loop {
                let gone = self.execute(&self.sql.sweep, &[&n, &batch]).await?;
                removed += gone;
                if gone < batch as u64 {
                    return Ok(removed);
                }
            }
        })
        .await
    }
}

impl crate::registry::SessionRegistry for PostgresStore {
    /// The owner's keys through the partial index on owner rows, then each record loaded
    /// as [`load`](SessionStore::load) does; a session that ends in between is left out.
    async fn owned(&self, owner: &str, now: u64) -> Result<Vec<(StoreKey, Record)>, StoreError> {
        let owner = crate::store::codec::encode_value(&crate::value::Value::Str(owner.to_owned()));
        let keys: Vec<Vec<u8>> = self
            .within(async {
                let client = Pooled::get(&self.pool).await?;
                let result = async {
                    let stmt = client
                        .prepare_cached(&self.sql.owned_keys)
                        .await
                        .map_err(backend)?;
                    let rows = client
                        .query(&stmt, &[&owner, &to_sql_time(now)])
                        .await
                        .map_err(backend)?;
                    rows.iter()
                        .map(|row| row.try_get::<_, Vec<u8>>(0).map_err(backend))
                        .collect()
                }
                .await;
                client.finish(result)
            })
            .await?;
        let mut found = Vec::with_capacity(keys.len());
        for raw in keys {
            let bytes: [u8; 32] = raw
                .try_into()
                .map_err(|_| StoreError::Corrupt("session key is not 32 bytes"))?;
            let key = StoreKey::from_bytes(bytes);
            if let Some(record) = SessionStore::load(self, &key, now).await? {
                found.push((key, record));
            }
        }
        Ok(found)
    }
}
#[cfg(test)]
mod tests {
    use super::valid_table;

    #[test]
    fn table_names_are_checked() {
        for ok in ["flagon_sessions", "_t1", "a"] {
            assert!(valid_table(ok), "{ok}");
        }
        for bad in ["", "1t", "T", "t;drop", "t-x", "t x", &"a".repeat(49)] {
            assert!(!valid_table(bad), "{bad}");
        }
    }
}
