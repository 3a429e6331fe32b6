//! Picking a store at run time from a one-line spec.
//!
//! | spec | store |
//! |---|---|
//! | `memory` or `memory:MAX_ENTRIES` | `store::memory::MemoryStore` (feature `memory`) |
//! | `sqlite:PATH` | `store::sqlite::SqliteStore` on the file `PATH`, created if missing (feature `sqlite`) |
//! | `redis://HOST:PORT[/DB]` (no TLS: `rediss://` is not compiled in) | `store::redis::RedisStore` on one node (feature `redis`) |
//! | `redis+cluster://H1:P1,H2:P2,…` | `store::redis::RedisStore` on a Redis Cluster; the comma-separated seed nodes are each reached as `redis://Hn:Pn` and the rest of the cluster is discovered (feature `redis`) |
//! | `postgres://…`, `postgresql://…` | `store::postgres::PostgresStore`, libpq-style URL, table `flagon_sessions` (feature `postgres`) |
//!
//! Errors never repeat the spec, since a URL may carry a password.

use super::{Applied, Changes, Created, Record, SessionStore, StoreError};
use crate::id::StoreKey;

/// Why [`AnyStore::connect`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The spec names no store kind flagon knows.
    #[error("unknown session store spec: use memory, sqlite:PATH, redis://HOST:PORT, redis+cluster://H1:P1,H2:P2 or postgres://...")]
    UnknownKind,
    /// The store kind exists but its cargo feature is not enabled in this build.
    #[error("session store `{0}` is not compiled in: enable flagon's cargo feature `{0}`")]
    NotCompiled(&'static str),
    /// The spec has the right kind but a malformed rest.
    #[error("malformed session store spec: {0}")]
    BadSpec(&'static str),
    /// The store could not be opened or reached.
    #[error("could not open the session store: {0}")]
    Store(#[source] StoreError),
}

/// Any of the stores compiled into this build, chosen at run time.
#[derive(Debug)]
#[non_exhaustive]
pub enum AnyStore {
    /// The in-process store.
    #[cfg(feature = "memory")]
    Memory(super::memory::MemoryStore),
    /// The SQLite store.
    #[cfg(feature = "sqlite")]
    Sqlite(super::sqlite::SqliteStore),
    /// The Redis store (single node or cluster).
    #[cfg(feature = "redis")]
    Redis(super::redis::RedisStore),
    /// The PostgreSQL store.
    #[cfg(feature = "postgres")]
    Postgres(super::postgres::PostgresStore),
}

impl AnyStore {
    /// Opens the store a spec names (see the [module docs](self) for the syntax).
    ///
    /// # Errors
    /// [`ConnectError`] when the spec is unknown or malformed, its feature is off, or the
    /// store cannot be reached.
    pub async fn connect(spec: &str) -> Result<AnyStore, ConnectError> {
        let spec = spec.trim();
        if spec == "memory" || spec.starts_with("memory:") {
            return connect_memory(spec);
        }
        if let Some(path) = spec.strip_prefix("sqlite:") {
            return connect_sqlite(path).await;
        }
        if let Some(seeds) = spec.strip_prefix("redis+cluster://") {
            return connect_redis(seeds, true).await;
        }
        if spec.starts_with("redis://") {
            return connect_redis(spec, false).await;
        }
        if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            return connect_postgres(spec).await;
        }
        Err(ConnectError::UnknownKind)
    }

    /// A short name of the kind of store: `memory`, `sqlite`, `redis` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self {
            #[cfg(feature = "memory")]
            AnyStore::Memory(_) => "memory",
            #[cfg(feature = "sqlite")]
            AnyStore::Sqlite(_) => "sqlite",
            #[cfg(feature = "redis")]
            AnyStore::Redis(_) => "redis",
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(_) => "postgres",
        }
    }
}

fn connect_memory(spec: &str) -> Result<AnyStore, ConnectError> {
    #[cfg(feature = "memory")]
    {
        use super::memory::{MemoryStore, DEFAULT_MAX_ENTRIES};
        let max = match spec.strip_prefix("memory:") {
            None => DEFAULT_MAX_ENTRIES,
            Some(n) => n
                .parse()
                .map_err(|_| ConnectError::BadSpec("memory:N needs a whole number of entries"))?,
        };
        Ok(AnyStore::Memory(MemoryStore::new(max)))
    }
    #[cfg(not(feature = "memory"))]
    {
        let _ = spec;
        Err(ConnectError::NotCompiled("memory"))
    }
}

async fn connect_sqlite(path: &str) -> Result<AnyStore, ConnectError> {
    #[cfg(feature = "sqlite")]
    {
        if path.is_empty() {
            return Err(ConnectError::BadSpec("sqlite:PATH needs a file path"));
        }
        let store = super::sqlite::SqliteStore::open(path).await;
        store.map(AnyStore::Sqlite).map_err(ConnectError::Store)
    }
    #[cfg(not(feature = "sqlite"))]
    {
        let _ = path;
        Err(ConnectError::NotCompiled("sqlite"))
    }
}

async fn connect_redis(spec: &str, cluster: bool) -> Result<AnyStore, ConnectError> {
    #[cfg(feature = "redis")]
    {
        use super::redis::RedisStore;
        let store = if cluster {
            let seeds: Vec<String> = spec
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| format!("redis://{s}"))
                .collect();
            if seeds.is_empty() {
                return Err(ConnectError::BadSpec(
                    "redis+cluster:// needs at least one HOST:PORT",
                ));
            }
            RedisStore::connect_cluster(&seeds).await
        } else {
            RedisStore::connect(spec).await
        };
        store.map(AnyStore::Redis).map_err(ConnectError::Store)
    }
    #[cfg(not(feature = "redis"))]
    {
        let _ = (spec, cluster);
        Err(ConnectError::NotCompiled("redis"))
    }
}

async fn connect_postgres(url: &str) -> Result<AnyStore, ConnectError> {
    #[cfg(feature = "postgres")]
    {
        let store = super::postgres::PostgresStore::connect(url).await;
        store.map(AnyStore::Postgres).map_err(ConnectError::Store)
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = url;
        Err(ConnectError::NotCompiled("postgres"))
    }
}

/// Calls the same method on whichever store is inside.
macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            #[cfg(feature = "memory")]
            AnyStore::Memory($store) => $call,
            #[cfg(feature = "sqlite")]
            AnyStore::Sqlite($store) => $call,
            #[cfg(feature = "redis")]
            AnyStore::Redis($store) => $call,
            #[cfg(feature = "postgres")]
            AnyStore::Postgres($store) => $call,
        }
    };
}

impl SessionStore for AnyStore {
    async fn load(&self, key: &StoreKey, now: u64) -> Result<Option<Record>, StoreError> {
        dispatch!(self, s => s.load(key, now).await)
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, StoreError> {
        dispatch!(self, s => s.create(key, record).await)
    }

    async fn apply(
        &self,
        key: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        dispatch!(self, s => s.apply(key, changes, expires_at, now).await)
    }

    async fn renew(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Result<Applied, Created>, StoreError> {
        dispatch!(self, s => s.renew(old, new, changes, expires_at, now).await)
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        dispatch!(self, s => s.touch(key, expires_at, now).await)
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), StoreError> {
        dispatch!(self, s => s.delete(key).await)
    }

    fn kind(&self) -> &'static str {
        AnyStore::kind(self)
    }

    async fn sweep(&self, now: u64) -> Result<u64, StoreError> {
        dispatch!(self, s => s.sweep(now).await)
    }
}

/// The registry of the store inside. The Redis store has none yet: listing or revoking on
/// it is a [`StoreError::Backend`] saying so.
impl crate::registry::SessionRegistry for AnyStore {
    async fn owned(&self, owner: &str, now: u64) -> Result<Vec<(StoreKey, Record)>, StoreError> {
        let _ = (owner, now);
        match self {
            #[cfg(feature = "memory")]
            AnyStore::Memory(store) => store.owned(owner, now).await,
            #[cfg(feature = "sqlite")]
            AnyStore::Sqlite(store) => store.owned(owner, now).await,
            #[cfg(feature = "redis")]
            AnyStore::Redis(_) => Err(StoreError::Backend(
                "the Redis store does not implement the session registry yet".into(),
            )),
            #[cfg(feature = "postgres")]
            AnyStore::Postgres(store) => store.owned(owner, now).await,
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn specs_parse_or_fail_calmly() {
        assert!(matches!(
            AnyStore::connect("ftp://x").await,
            Err(ConnectError::UnknownKind)
        ));
        assert!(matches!(
            AnyStore::connect("").await,
            Err(ConnectError::UnknownKind)
        ));
        let bad = AnyStore::connect("memory:lots").await;
        #[cfg(feature = "memory")]
        assert!(matches!(bad, Err(ConnectError::BadSpec(_))));
        #[cfg(not(feature = "memory"))]
        assert!(matches!(bad, Err(ConnectError::NotCompiled("memory"))));
    }

    #[cfg(feature = "memory")]
    #[tokio::test]
    async fn memory_spec_opens_memory_store() {
        let store = AnyStore::connect("memory:10").await.expect("memory store");
        assert_eq!(store.kind(), "memory");
    }
}
