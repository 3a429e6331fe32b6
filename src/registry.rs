//! A user's sessions: list them, end one, end all, or end all but the current one.
//!
//! The app says who owns a session with [`Session::set_owner`](crate::Session::set_owner)
//! (typically at login, next to [`renew`](crate::Session::renew)); the owner is kept in
//! the session itself, under the reserved key [`OWNER_KEY`], so renewing the id keeps it
//! and a purge (logout) or expiry removes it with the session. Optional labels for an
//! account page (a user-agent summary, a place) go under [`LABELS_KEY`] with
//! [`Session::set_label`](crate::Session::set_label).
//!
//! A store that can find a user's sessions implements [`SessionRegistry`]; [`Registry`]
//! then lists and revokes them, from a handler or from outside any request (an admin job,
//! a password change):
//!
//! ```no_run
//! # async fn demo(store: std::sync::Arc<flagon::store::memory::MemoryStore>,
//! #               config: flagon::SessionConfig, session: flagon::Session)
//! #               -> Result<(), flagon::store::StoreError> {
//! use flagon::registry::Registry;
//! let registry = Registry::new(store, &config);
//! let mine = registry.list("alice", session.handle().as_ref()).await?;
//! for s in &mine {
//!     println!("{} created {} last seen {} current {}", s.handle, s.created_at, s.last_seen, s.current);
//! }
//! registry.revoke_all("alice", session.handle().as_ref()).await?; // log out my other devices
//! # Ok(()) }
//! ```
//!
//! A revoked session is deleted from the store, with the store's own guarantee: the next
//! request on it is an empty session, and a request in flight on it cannot write it back
//! (its save answers 409, or a renew starts a fresh session holding only its own writes,
//! without the owner unless it sets one).
//!
//! A [`SessionHandle`] names a session on an account page. It is derived from the store
//! key by a one-way hash, so it is not the session id and cannot be presented as a
//! session; revoking by handle also checks the owner, so one user's handle cannot end
//! another user's session.
//!
//! Stores: [`MemoryStore`](crate::store::memory::MemoryStore) scans its records;
//! [`SqliteStore`](crate::store::sqlite::SqliteStore) and
//! [`PostgresStore`](crate::store::postgres::PostgresStore) query the owner's value rows
//! through an index, kept in the same transactions as every write, so the index cannot
//! disagree with the sessions, and an expired session drops out of the list at once
//! (the sweeper only reclaims its rows).
//! [`RedisStore`](crate::store::redis::RedisStore), on one node and on a Cluster, keeps a
//! sorted set per owner (its key a hash of the owner, under the store's prefix). A
//! Cluster cannot write it in the same step as the session, so it is kept a superset:
//! a session enters it before the write that makes it the owner's, and leaves it only
//! once deleted or past a lease that outlasts its expiry; listing loads each session and
//! keeps the live ones that hold the owner. An expired session drops out of the list at
//! once and out of the index without a sweep. A request on a session without an owner
//! costs nothing more; see `docs/stores.md` for the rest of the cost.
//! The Flask-Session store has no registry (its records are Flask's).

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::config::{Clock, SessionConfig};
use crate::id::StoreKey;
use crate::store::{Record, SessionStore, StoreError};
use crate::telemetry;
use crate::value::Value;

/// The reserved session key holding the owner (a string) set by
/// [`Session::set_owner`](crate::Session::set_owner).
pub const OWNER_KEY: &str = "_flagon_owner";
/// The reserved session key holding the labels (a dict of strings) set by
/// [`Session::set_label`](crate::Session::set_label).
pub const LABELS_KEY: &str = "_flagon_labels";

/// The reserved session key holding when [`Session::set_owner`](crate::Session::set_owner)
/// was called (Unix seconds): what [`log_out_everywhere`] compares with.
pub const SINCE_KEY: &str = "_flagon_since";

/// How many times [`Registry::revoke_all`] lists again after deleting, to catch sessions
/// renewed (moved to a new id) while it ran.
const REVOKE_ROUNDS: usize = 3;

/// An opaque name for one session, for account pages and revoke forms.
///
/// 32 lower-case hex digits of `SHA-256("flagon-handle-v1" ‖ store key)`: not the session
/// id, not the store key, and useless as a cookie.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionHandle(String);

impl SessionHandle {
    /// The handle of the session filed under `key`.
    pub fn of(key: &StoreKey) -> SessionHandle {
        let digest = Sha256::new()
            .chain_update(b"flagon-handle-v1")
            .chain_update(key.as_bytes())
            .finalize();
        SessionHandle(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Reads a handle sent back by a client (a form field); `None` unless it is 32
    /// lower-case hex digits.
    pub fn parse(text: &str) -> Option<SessionHandle> {
        let ok = text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| SessionHandle(text.to_owned()))
    }

    /// The handle as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionHandle({})", self.0)
    }
}

/// One live session of a user, as an account page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The session's opaque handle.
    pub handle: SessionHandle,
    /// When the session was created (Unix seconds).
    pub created_at: u64,
    /// When it was last used (Unix seconds): its expiry minus the idle timeout, so exact
    /// to within the touch interval; never before `created_at`.
    pub last_seen: u64,
    /// When it expires unless used again (Unix seconds).
    pub expires_at: u64,
    /// The labels the app set with [`Session::set_label`](crate::Session::set_label).
    pub labels: BTreeMap<String, String>,
    /// Is this the session of the request that asked?
    pub current: bool,
}

/// A store that can find the live sessions of an owner.
///
/// Implemented by flagon's memory, SQLite, PostgreSQL and Redis (one node or Cluster)
/// stores. A store implements it by
/// returning every live record (`expires_at > now`) whose data holds [`OWNER_KEY`] equal
/// to `owner`, with its key; the conformance suite's `registry` checks prove it. Ending
/// sessions goes through [`SessionStore::delete`], so no extra write path is needed.
pub trait SessionRegistry: SessionStore {
    /// The live records owned by `owner` at `now`, with their keys, in any order.
    fn owned(
        &self,
        owner: &str,
        now: u64,
    ) -> impl Future<Output = Result<Vec<(StoreKey, Record)>, StoreError>> + Send;
}

impl<S: SessionRegistry> SessionRegistry for Arc<S> {
    fn owned(
        &self,
        owner: &str,
        now: u64,
    ) -> impl Future<Output = Result<Vec<(StoreKey, Record)>, StoreError>> + Send {
        S::owned(self, owner, now)
    }
}

/// Does `record` belong to `owner`? (Stores that scan use this too.)
pub(crate) fn owned_by(record: &Record, owner: &str) -> bool {
    matches!(record.data.get(OWNER_KEY), Some(Value::Str(o)) if o == owner)
}

/// Lists and revokes a user's sessions in one store.
#[derive(Clone, Debug)]
pub struct Registry<S> {
    store: Arc<S>,
    idle: Duration,
    clock: Clock,
    deadline: Duration,
}

impl<S: SessionRegistry> Registry<S> {
    /// A registry over `store`, with the idle timeout, clock and store deadline of
    /// `config` (the one the session layer uses).
    pub fn new(store: Arc<S>, config: &SessionConfig) -> Registry<S> {
        Registry {
            store,
            idle: config.effective_idle(),
            clock: config.clock.clone(),
            deadline: config.store_deadline,
        }
    }

    /// The live sessions of `owner`, oldest first; `current` marks the caller's own.
    ///
    /// # Errors
    /// The store's error, or [`StoreError::Timeout`] past the store deadline.
    pub async fn list(
        &self,
        owner: &str,
        current: Option<&SessionHandle>,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        let now = self.clock.now();
        let mut sessions: Vec<SessionInfo> = self
            .owned(owner, now)
            .await?
            .into_iter()
            .map(|(key, record)| {
                let handle = SessionHandle::of(&key);
                SessionInfo {
                    current: current == Some(&handle),
                    handle,
                    created_at: record.created_at,
                    last_seen: record
                        .expires_at
                        .saturating_sub(self.idle.as_secs())
                        .clamp(record.created_at, now.max(record.created_at)),
                    expires_at: record.expires_at,
                    labels: labels(&record),
                }
            })
            .collect();
        sessions.sort_by(|a, b| (a.created_at, &a.handle).cmp(&(b.created_at, &b.handle)));
        Ok(sessions)
    }

    /// Ends the session of `owner` named `handle`; false when `owner` has no live session
    /// by that handle (already ended, expired, or someone else's).
    ///
    /// # Errors
    /// The store's error; the session may then still be live.
    pub async fn revoke(&self, owner: &str, handle: &SessionHandle) -> Result<bool, StoreError> {
        let now = self.clock.now();
        for (key, _) in self.owned(owner, now).await? {
            if SessionHandle::of(&key) == *handle {
                self.delete(&key).await?;
                telemetry::revoked("handle", 1);
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Ends every session of `owner` except the one named `except` (pass the current
    /// session's handle for "log out my other devices", `None` for "log out everywhere");
    /// how many were ended.
    ///
    /// A session renewed while this runs moves to a new id the first listing did not see;
    /// the owner's sessions are listed again after each round of deletes (up to three
    /// rounds) so such a session is ended too.
    ///
    /// # Errors
    /// The store's error; sessions not yet deleted stay live.
    pub async fn revoke_all(
        &self,
        owner: &str,
        except: Option<&SessionHandle>,
    ) -> Result<u64, StoreError> {
        let mut ended = 0;
        for _ in 0..REVOKE_ROUNDS {
            let now = self.clock.now();
            let doomed: Vec<StoreKey> = self
                .owned(owner, now)
                .await?
                .into_iter()
                .map(|(key, _)| key)
                .filter(|key| except != Some(&SessionHandle::of(key)))
                .collect();
            if doomed.is_empty() {
                break;
            }
            for key in &doomed {
                self.delete(key).await?;
            }
            ended += doomed.len() as u64;
        }
        let how = if except.is_some() {
            "all_but_current"
        } else {
            "all"
        };
        telemetry::revoked(how, ended);
        Ok(ended)
    }

    async fn owned(&self, owner: &str, now: u64) -> Result<Vec<(StoreKey, Record)>, StoreError> {
        let found = tokio::time::timeout(self.deadline, self.store.owned(owner, now)).await;
        let found = found.map_err(|_| StoreError::Timeout(self.deadline))??;
        // A store that scans may be handed records another owner; never show them.
        Ok(found
            .into_iter()
            .filter(|(_, record)| owned_by(record, owner) && record.expires_at > now)
            .collect())
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), StoreError> {
        tokio::time::timeout(self.deadline, self.store.delete(key))
            .await
            .map_err(|_| StoreError::Timeout(self.deadline))?
    }
}

/// The store key of `owner`'s "not before" record: a hash no session id maps to (session
/// keys are SHA-256 of 24 random bytes; this is SHA-256 of a labelled owner name).
pub(crate) fn not_before_key(owner: &str) -> StoreKey {
    let digest = Sha256::new()
        .chain_update(b"flagon-not-before-v1\0")
        .chain_update(owner.as_bytes())
        .finalize();
    StoreKey::from_bytes(digest.into())
}

/// The field of a "not before" record holding the time.
pub(crate) const NOT_BEFORE_FIELD: &str = "nb";

/// Logs `owner` out of every cookie session issued until now: each request carrying a
/// session whose owner was set at or before this moment gets an empty session (and its
/// cookie deleted). Needs [`SessionConfig::revocation_store`] with the same store; call
/// it from a handler or from outside any request (a password change, an admin job).
///
/// The record lives for the permanent lifetime (plus the allowed clock skew), after which
/// every cookie issued before it has expired anyway. For server-side sessions use
/// [`Registry::revoke_all`] instead, which deletes them.
///
/// # Errors
/// The store's error, or [`StoreError::Timeout`] past the store deadline; the revocation
/// may then not have happened.
pub async fn log_out_everywhere<S: SessionStore>(
    store: &S,
    owner: &str,
    config: &SessionConfig,
) -> Result<(), StoreError> {
    let now = config.clock.now();
    let expires = now
        .saturating_add(config.permanent_lifetime.as_secs())
        .saturating_add(config.clock_skew.as_secs())
        .saturating_add(1);
    let key = not_before_key(owner);
    let mut data = crate::value::Map::new();
    data.insert(NOT_BEFORE_FIELD.to_owned(), Value::Int(now as i64));
    let limit = config.store_deadline;
    for _ in 0..3 {
        let record = Record::new(data.clone(), now, expires);
        if within(limit, store.create(&key, &record)).await? == crate::store::Created::Stored {
            telemetry::revoked("not_before", 1);
            return Ok(());
        }
        let mut changes = crate::store::Changes::default();
        changes
            .set
            .insert(NOT_BEFORE_FIELD.to_owned(), Some(Value::Int(now as i64)));
        if within(limit, store.apply(&key, &changes, expires, now)).await?
            == crate::store::Applied::Done
        {
            telemetry::revoked("not_before", 1);
            return Ok(());
        }
        // It expired between the two calls: create again.
    }
    Err(StoreError::Backend(
        "could not write the not-before record after three attempts".into(),
    ))
}

/// `op` under the deadline `limit`.
async fn within<T>(
    limit: Duration,
    op: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(limit, op)
        .await
        .map_err(|_| StoreError::Timeout(limit))?
}

/// The string labels under [`LABELS_KEY`]; anything else there is ignored.
fn labels(record: &Record) -> BTreeMap<String, String> {
    let Some(Value::Dict(map)) = record.data.get(LABELS_KEY) else {
        return BTreeMap::new();
    };
    map.iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_opaque_and_parse_back() {
        let key = StoreKey::from_bytes([7; 32]);
        let handle = SessionHandle::of(&key);
        assert_eq!(handle.as_str().len(), 32);
        assert!(!key.to_hex().contains(handle.as_str()));
        assert_eq!(SessionHandle::parse(handle.as_str()), Some(handle.clone()));
        assert_eq!(SessionHandle::parse(&handle.as_str().to_uppercase()), None);
        assert_eq!(SessionHandle::parse("abc"), None);
        assert_ne!(SessionHandle::of(&StoreKey::from_bytes([8; 32])), handle);
    }
}
