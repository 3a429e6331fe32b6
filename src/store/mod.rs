//! Server-side session stores.
//!
//! With a store, the cookie carries only a signed session id and the data lives on the
//! server. A request never writes back a snapshot of what it loaded: it sends its
//! [`Changes`], and the store applies them atomically to the latest stored record, so
//! overlapping requests that write different keys both survive and a request that began
//! before a logout cannot bring the session back ([`Applied::Gone`]).
//!
//! Stores see only a [`StoreKey`], the SHA-256 of the session id: a leaked table holds no
//! live session tokens.
#![doc = include_str!("../../docs/stores.md")]
#![doc = ""]
// The guide's links to feature-gated items: in-crate where the item is compiled in, else
// to the full documentation.
#![cfg_attr(
    any(
        feature = "memory",
        feature = "sqlite",
        feature = "redis",
        feature = "postgres"
    ),
    doc = "[connect]: any::AnyStore::connect"
)]
#![cfg_attr(
    not(any(
        feature = "memory",
        feature = "sqlite",
        feature = "redis",
        feature = "postgres"
    )),
    doc = "[connect]: https://docs.rs/flagon/latest/flagon/store/any/enum.AnyStore.html#method.connect"
)]
#![cfg_attr(feature = "test-util", doc = "[conformance]: conformance")]
#![cfg_attr(
    not(feature = "test-util"),
    doc = "[conformance]: https://docs.rs/flagon/latest/flagon/store/conformance/index.html"
)]
#![doc = "[spawn_sweeper]: sweeper::spawn_sweeper"]

pub(crate) mod dyn_store;

use std::future::Future;
use std::time::Duration;

use crate::id::{IdScheme, StoreKey};
use crate::value::{Map, Value};
use std::collections::BTreeMap;

#[cfg(any(
    feature = "memory",
    feature = "sqlite",
    feature = "redis",
    feature = "postgres"
))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(
        feature = "memory",
        feature = "sqlite",
        feature = "redis",
        feature = "postgres"
    )))
)]
pub mod any;
#[cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
pub(crate) mod codec;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod conformance;
#[cfg(feature = "flask-session")]
pub mod flask_session;
#[cfg(feature = "memory")]
#[cfg_attr(docsrs, doc(cfg(feature = "memory")))]
pub mod memory;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite;
pub mod sweeper;

/// One stored session.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Record {
    /// The session data.
    pub data: Map,
    /// When the session was created, in Unix seconds (for the absolute timeout).
    pub created_at: u64,
    /// When the record stops being valid, in Unix seconds; a record with
    /// `expires_at <= now` is never returned by [`SessionStore::load`].
    pub expires_at: u64,
}

impl Record {
    /// A record holding `data`.
    pub fn new(data: Map, created_at: u64, expires_at: u64) -> Record {
        Record {
            data,
            created_at,
            expires_at,
        }
    }
}

/// What one request did to a session: the unit a store applies atomically.
///
/// Applying means: first, if `expect` is not empty, check that every key in it still holds
/// that value (`None`: the key is absent), and if one does not, write nothing and report
/// [`Applied::Conflict`]; then, if `clear`, remove every key; then, for each entry of
/// `set`, store the value (`Some`) or remove the key (`None`).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Changes {
    /// The request cleared the session before its other changes.
    pub clear: bool,
    /// Final state of each key the request wrote or removed (after the clear, if any).
    pub set: BTreeMap<String, Option<Value>>,
    /// Strict conflicts: the keys the request read, with the values it saw. Empty unless
    /// the layer checks conflicts ([`SessionConfig::strict_conflicts`](crate::SessionConfig::strict_conflicts)).
    pub expect: BTreeMap<String, Option<Value>>,
}

impl Changes {
    /// No change at all? (Expectations alone change nothing.)
    pub fn is_empty(&self) -> bool {
        !self.clear && self.set.is_empty()
    }

    /// Do the expectations hold on `data`? (Always, when there are none.)
    pub fn expectations_hold(&self, data: &Map) -> bool {
        self.expect
            .iter()
            .all(|(key, value)| data.get(key) == value.as_ref())
    }

    /// Applies the changes to a map, as a store must.
    pub fn apply_to(&self, data: &mut Map) {
        if self.clear {
            data.clear();
        }
        for (key, value) in &self.set {
            match value {
                Some(value) => {
                    data.insert(key.clone(), value.clone());
                }
                None => {
                    data.remove(key);
                }
            }
        }
    }
}

/// Result of [`SessionStore::create`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Created {
    /// The record was stored.
    Stored,
    /// A record with this key exists; it was left untouched.
    Collision,
}

/// Result of [`SessionStore::apply`] and [`SessionStore::touch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Applied {
    /// The record existed and was updated.
    Done,
    /// No live record: it was purged, renewed away or expired meanwhile. Nothing was
    /// written; the session must not be recreated.
    Gone,
    /// A key the request read ([`Changes::expect`]) holds another value now: another
    /// request changed it meanwhile. Nothing was written.
    Conflict,
}

/// Result of [`SessionStore::renew`]: what happened to the move, in one value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Renewed {
    /// The record moved to the new key with the changes applied; the old key loads nothing.
    Done,
    /// No live record under the old key: it was purged, renewed away or expired
    /// meanwhile. Nothing was written; the session must not be recreated.
    Gone,
    /// A key the request read ([`Changes::expect`]) holds another value now. Nothing was
    /// written.
    Conflict,
    /// A record already lives under the new key. Both records were left as they were.
    Collision,
}

/// What an [`apply`](SessionStore::apply) that stands for a renew reported, as a
/// [`Renewed`]: for stores that wrap another, or renew in steps.
impl From<Applied> for Renewed {
    fn from(applied: Applied) -> Renewed {
        match applied {
            Applied::Done => Renewed::Done,
            Applied::Gone => Renewed::Gone,
            Applied::Conflict => Renewed::Conflict,
        }
    }
}

/// A store failure. The request that hit it gets the configured failure response, and the
/// client's cookie is left alone.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store did not answer within the deadline. The operation may still have been
    /// applied (its reply was late, not necessarily its effect): the outcome is unknown.
    /// Retrying is safe: every write sets absolute values.
    #[error("session store did not answer within {0:?} (outcome unknown: the operation may or may not have been applied)")]
    Timeout(Duration),
    /// The store could not be reached or failed the operation.
    #[error("session store failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored record did not decode.
    #[error("stored session record is corrupt: {0}")]
    Corrupt(&'static str),
}

/// A place to keep sessions on the server.
///
/// Implement this for a new backend, then run the conformance suite
/// (`flagon::store::conformance`, feature `test-util`) against it. Every method must
/// be atomic with respect to every other on the same key, and must give up within the
/// store's own deadline with [`StoreError::Timeout`].
pub trait SessionStore: Send + Sync + 'static {
    /// The live record under `key`, or `None` if there is none or it expired (`expires_at <= now`).
    ///
    /// Stored bytes that do not decode give [`StoreError::Corrupt`]; callers should treat
    /// that session as absent and log it (SECURITY G5), never panic.
    fn load(
        &self,
        key: &StoreKey,
        now: u64,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send;

    /// Stores a new record, never overwriting one that is live at `record.created_at`
    /// (an expired record under the key is replaced whole, none of its data kept).
    fn create(
        &self,
        key: &StoreKey,
        record: &Record,
    ) -> impl Future<Output = Result<Created, StoreError>> + Send;

    /// Applies `changes` to the latest live record and sets its expiry, atomically.
    /// A missing or expired record gives [`Applied::Gone`] and is not recreated.
    fn apply(
        &self,
        key: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;

    /// Moves the live record under `old` to `new` with `changes` applied, atomically: after
    /// it, `old` loads nothing. [`Renewed::Gone`] if `old` has no live record,
    /// [`Renewed::Conflict`] if an expectation fails, and [`Renewed::Collision`] if a
    /// record lives under `new` (or `new` is `old`); each leaves both records as they were. `created_at` is kept. A store that cannot
    /// move atomically (Redis Cluster: two slots) must fail closed: the old key is dead
    /// from the first step, and a crash between steps may lose the session but never
    /// leaves two live copies.
    fn renew(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> impl Future<Output = Result<Renewed, StoreError>> + Send;

    /// Moves the expiry of a live record only; the data is not rewritten.
    fn touch(
        &self,
        key: &StoreKey,
        expires_at: u64,
        now: u64,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;

    /// Deletes the record; deleting a missing record is not an error.
    fn delete(&self, key: &StoreKey) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes expired records (`expires_at <= now`), returning how many went. It must
    /// never remove a record whose expiry was moved past `now` meanwhile. Stores that
    /// expire records natively (Redis TTL) may do nothing and return 0.
    fn sweep(&self, now: u64) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// How the cookie names a session for this store, and so what the [`StoreKey`]s it is
    /// handed hold. The default, [`IdScheme::Flagon`], fits every store that keeps its own
    /// records; a store that shares records with another framework's sessions (such as
    /// Flask-Session's) names that framework's scheme. A store that wraps another must
    /// forward this method, or the wrapped store gets keys of the wrong scheme.
    fn id_scheme(&self) -> IdScheme {
        IdScheme::Flagon
    }

    /// A short, fixed name for this kind of store: the `store` label of flagon's metrics
    /// (see [`telemetry`](crate::telemetry)). flagon's stores say `memory`, `sqlite`,
    /// `redis` or `postgres`; the default is `other`. Keep it a constant: it must not
    /// carry a host, a path or anything else that varies.
    fn kind(&self) -> &'static str {
        "other"
    }
}

/// A shared store is a store, so one store can serve a layer and a
/// [`spawn_sweeper`](sweeper::spawn_sweeper) task (or several layers) at once.
impl<S: SessionStore> SessionStore for std::sync::Arc<S> {
    fn load(
        &self,
        key: &StoreKey,
        now: u64,
    ) -> impl Future<Output = Result<Option<Record>, StoreError>> + Send {
        S::load(self, key, now)
    }

    fn create(
        &self,
        key: &StoreKey,
        record: &Record,
    ) -> impl Future<Output = Result<Created, StoreError>> + Send {
        S::create(self, key, record)
    }

    fn apply(
        &self,
        key: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send {
        S::apply(self, key, changes, expires_at, now)
    }

    fn renew(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> impl Future<Output = Result<Renewed, StoreError>> + Send {
        S::renew(self, old, new, changes, expires_at, now)
    }

    fn touch(
        &self,
        key: &StoreKey,
        expires_at: u64,
        now: u64,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send {
        S::touch(self, key, expires_at, now)
    }

    fn delete(&self, key: &StoreKey) -> impl Future<Output = Result<(), StoreError>> + Send {
        S::delete(self, key)
    }

    fn sweep(&self, now: u64) -> impl Future<Output = Result<u64, StoreError>> + Send {
        S::sweep(self, now)
    }

    fn id_scheme(&self) -> IdScheme {
        S::id_scheme(self)
    }

    fn kind(&self) -> &'static str {
        S::kind(self)
    }
}
