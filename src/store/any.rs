//! Picking a store at run time from a one-line spec.
//!
//! | spec | store |
//! |---|---|
//! | `memory` or `memory:MAX_ENTRIES` | `store::memory::MemoryStore` (feature `memory`) |
//! | `sqlite:PATH` | `store::sqlite::SqliteStore` on the file `PATH`, created if missing (feature `sqlite`) |
//! | `redis://HOST:PORT[/DB]` (no TLS: `rediss://` is not compiled in) | `store::redis::RedisStore` on one node (feature `redis`) |
//! | `redis+cluster://H1:P1,H2:P2,…` | `store::redis::RedisStore` on a Redis Cluster; the comma-separated seed nodes are each reached as `redis://Hn:Pn` and the rest of the cluster is discovered (feature `redis`) |
//! | `postgres://…`, `postgresql://…` | `store::postgres::PostgresStore`, libpq-style URL, table `flagon_sessions` (feature `postgres`) |
//! | `flask-session+redis://HOST:PORT[/DB]` | `store::flask_session::FlaskSessionRedisStore`, the records of a Flask app using Flask-Session on that Redis node, with Flask-Session's defaults; [`AnyStore::connect_with_env`] takes `SESSION_KEY_PREFIX` and `SESSION_USE_SIGNER` from the environment (feature `flask-session`) |
//!
//! Errors never repeat the spec, since a URL may carry a password.

use super::{Applied, Changes, Created, Record, Renewed, SessionStore, StoreError};
use crate::id::{IdScheme, StoreKey};

/// Why [`AnyStore::connect`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The spec names no store kind flagon knows.
    #[error("unknown session store spec: use memory, memory:MAX_ENTRIES, sqlite:PATH, redis://HOST:PORT, redis+cluster://H1:P1,H2:P2, postgres://USER@HOST/DB or flask-session+redis://HOST:PORT")]
    UnknownKind,
    /// The store kind exists but its cargo feature is not enabled in this build.
    #[error("session store `{0}` is not compiled in: enable flagon's cargo feature `{0}` (for example `cargo run --features {0}`)")]
    NotCompiled(&'static str),
    /// The spec has the right kind but a malformed rest.
    #[error("malformed session store spec: {0}")]
    BadSpec(&'static str),
    /// The SQLite database file could not be opened or created.
    #[error("could not open the SQLite session store {}: {why}", path.display())]
    SqliteFile {
        /// The file named in the spec.
        path: std::path::PathBuf,
        /// Why, as far as it can be told: a missing directory, or SQLite's reason.
        why: String,
        /// SQLite's error.
        #[source]
        source: StoreError,
    },
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
    /// Flask-Session's records on Redis.
    #[cfg(feature = "flask-session")]
    FlaskSession(super::flask_session::FlaskSessionRedisStore),
}

impl AnyStore {
    /// Opens the store a spec names (see the [module docs](self) for the syntax).
    ///
    /// # Errors
    /// [`ConnectError`] when the spec is unknown or malformed, its feature is off, or the
    /// store cannot be reached.
    pub async fn connect(spec: &str) -> Result<AnyStore, ConnectError> {
        AnyStore::connect_with_settings(spec, |_| None).await
    }

    /// [`connect`](Self::connect), with Flask-Session's settings `SESSION_KEY_PREFIX` and
    /// `SESSION_USE_SIGNER` read from environment variables of those names for a
    /// `flask-session+redis://` spec (`SESSION_USE_SIGNER` is `true`/`1` or
    /// `false`/`0`, as Flask config values are usually given).
    ///
    /// # Errors
    /// As [`connect`](Self::connect), and [`ConnectError::BadSpec`] for a
    /// `SESSION_USE_SIGNER` that is not a boolean.
    pub async fn connect_with_env(spec: &str) -> Result<AnyStore, ConnectError> {
        AnyStore::connect_with_settings(spec, |name| std::env::var(name).ok()).await
    }

    /// [`connect`](Self::connect), with Flask-Session's settings looked up by name.
    async fn connect_with_settings(
        spec: &str,
        setting: impl Fn(&str) -> Option<String>,
    ) -> Result<AnyStore, ConnectError> {
        let spec = spec.trim();
        if let Some(rest) = spec.strip_prefix("flask-session+") {
            return connect_flask_session(rest, setting).await;
        }
        if spec == "memory" || spec.starts_with("memory:") {
            return connect_memory(spec);
        }
        if let Some(kind) = ["sqlite", "redis", "postgres"]
            .into_iter()
            .find(|kind| spec == *kind)
        {
            return Err(ConnectError::BadSpec(bare_kind_hint(kind)));
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

    /// A short name of the kind of store: `memory`, `sqlite`, `redis`, `postgres` or
    /// `flask-session`.
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
            #[cfg(feature = "flask-session")]
            AnyStore::FlaskSession(_) => "flask-session",
        }
    }
}

/// What to write instead of a bare kind name (`sqlite` rather than `sqlite:PATH`).
fn bare_kind_hint(kind: &str) -> &'static str {
    match kind {
        "sqlite" => "sqlite needs a file: write sqlite:PATH, for example sqlite:sessions.db",
        "redis" => "redis needs an address: write redis://HOST:PORT, for example redis://127.0.0.1:6379",
        _ => "postgres needs a URL: write postgres://USER@HOST/DB, for example postgres://postgres@127.0.0.1/test",
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
        store
            .map(AnyStore::Sqlite)
            .map_err(|source| sqlite_file_error(std::path::Path::new(path), source))
    }
    #[cfg(not(feature = "sqlite"))]
    {
        let _ = path;
        Err(ConnectError::NotCompiled("sqlite"))
    }
}

/// Says which file could not be opened and, where the file system can tell, why.
#[cfg(feature = "sqlite")]
fn sqlite_file_error(path: &std::path::Path, source: StoreError) -> ConnectError {
    let parent = path.parent().filter(|dir| !dir.as_os_str().is_empty());
    let why = if let Some(dir) = parent.filter(|dir| !dir.is_dir()) {
        format!(
            "its directory {} does not exist; create it or choose another path",
            dir.display()
        )
    } else if path.is_dir() {
        "that is a directory; name a file inside it, for example sessions.db".to_owned()
    } else {
        crate::error::Report(&source).to_string()
    };
    ConnectError::SqliteFile {
        path: path.to_owned(),
        why,
        source,
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

async fn connect_flask_session(
    url: &str,
    setting: impl Fn(&str) -> Option<String>,
) -> Result<AnyStore, ConnectError> {
    if !url.starts_with("redis://") {
        return Err(ConnectError::BadSpec(
            "flask-session+ takes a redis://HOST:PORT URL: Flask-Session's Redis records are the only ones flagon shares",
        ));
    }
    #[cfg(feature = "flask-session")]
    {
        use super::flask_session::{FlaskSessionOptions, FlaskSessionRedisStore};
        let mut options = FlaskSessionOptions::default();
        if let Some(prefix) = setting("SESSION_KEY_PREFIX") {
            options = options.key_prefix(prefix);
        }
        if let Some(signer) = setting("SESSION_USE_SIGNER") {
            let signed = match signer.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" | "" => false,
                _ => {
                    return Err(ConnectError::BadSpec(
                        "SESSION_USE_SIGNER must be true or false (or 1 or 0)",
                    ))
                }
            };
            options = options.use_signer(signed);
        }
        let store = FlaskSessionRedisStore::connect_with(url, options).await;
        store
            .map(AnyStore::FlaskSession)
            .map_err(ConnectError::Store)
    }
    #[cfg(not(feature = "flask-session"))]
    {
        let _ = setting;
        Err(ConnectError::NotCompiled("flask-session"))
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
            #[cfg(feature = "flask-session")]
            AnyStore::FlaskSession($store) => $call,
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
    ) -> Result<Renewed, StoreError> {
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

    fn id_scheme(&self) -> IdScheme {
        dispatch!(self, s => s.id_scheme())
    }
}

/// The registry of the store inside. The Flask-Session store has none (its records are
/// Flask's): listing or revoking on it is a [`StoreError::Backend`] saying so.
impl crate::registry::SessionRegistry for AnyStore {
    async fn owned(&self, owner: &str, now: u64) -> Result<Vec<(StoreKey, Record)>, StoreError> {
        let _ = (owner, now);
        match self {
            #[cfg(feature = "memory")]
            AnyStore::Memory(store) => store.owned(owner, now).await,
            #[cfg(feature = "sqlite")]
            AnyStore::Sqlite(store) => store.owned(owner, now).await,
            #[cfg(feature = "redis")]
            AnyStore::Redis(store) => store.owned(owner, now).await,
            #[cfg(feature = "flask-session")]
            AnyStore::FlaskSession(_) => Err(StoreError::Backend(
                "the Flask-Session store does not implement the session registry".into(),
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

    #[tokio::test]
    async fn flask_session_specs_need_redis_and_a_boolean_signer() {
        let not_redis = AnyStore::connect("flask-session+postgres://x").await;
        assert!(matches!(not_redis, Err(ConnectError::BadSpec(_))));
        let maybe = |name: &str| (name == "SESSION_USE_SIGNER").then(|| "maybe".to_owned());
        let bad = AnyStore::connect_with_settings("flask-session+redis://127.0.0.1:1", maybe);
        #[cfg(feature = "flask-session")]
        assert!(matches!(bad.await, Err(ConnectError::BadSpec(_))));
        #[cfg(not(feature = "flask-session"))]
        assert!(matches!(
            bad.await,
            Err(ConnectError::NotCompiled("flask-session"))
        ));
    }

    #[tokio::test]
    async fn bare_kind_names_say_what_to_write() {
        let Err(error) = AnyStore::connect("sqlite").await else {
            panic!("a bare `sqlite` must not open a store");
        };
        assert_eq!(
            error.to_string(),
            "malformed session store spec: sqlite needs a file: write sqlite:PATH, for example sqlite:sessions.db"
        );
        let Err(error) = AnyStore::connect("redis").await else {
            panic!("a bare `redis` must not open a store");
        };
        assert!(error.to_string().contains("redis://HOST:PORT"), "{error}");
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn sqlite_error_names_the_file_and_the_missing_directory() {
        let Err(error) = AnyStore::connect("sqlite:/nonexistent-flagon-dir/sessions.db").await
        else {
            panic!("a file in a missing directory must not open");
        };
        assert_eq!(
            error.to_string(),
            "could not open the SQLite session store /nonexistent-flagon-dir/sessions.db: its \
             directory /nonexistent-flagon-dir does not exist; create it or choose another path"
        );
        let report = crate::error::Report(&error).to_string();
        assert!(
            report.contains("another path: session store failed: unable to open database file"),
            "{report}"
        );
    }

    #[cfg(feature = "memory")]
    #[tokio::test]
    async fn memory_spec_opens_memory_store() {
        let store = AnyStore::connect("memory:10").await.expect("memory store");
        assert_eq!(store.kind(), "memory");
    }
}
