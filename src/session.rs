//! [`Session`]: the dict-like handle a handler works with.

use std::sync::{Arc, Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::engine::Shared;
use crate::error::SessionError;
use crate::registry::{SessionHandle, LABELS_KEY, OWNER_KEY, SINCE_KEY};
use crate::store::Changes;
use crate::value::{Map, Value};
use crate::value_serde::{from_value, to_value};

/// The key Flask keeps `session.permanent` under.
pub(crate) const PERMANENT_KEY: &str = "_permanent";
/// The key Flask keeps flashed messages under: a list of `(category, message)` tuples.
pub(crate) const FLASHES_KEY: &str = "_flashes";

/// What the handler asked to happen to the session as a whole.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    /// Keep the session (the usual case).
    #[default]
    Keep,
    /// Give the session a new id, keeping its data.
    Renew,
    /// End the session: delete it and its cookie.
    Purge,
}

/// The state behind a [`Session`] handle, read by the engine when the response is ready.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) data: Map,
    /// Flask's `accessed`: the handler looked at or changed the session.
    pub(crate) accessed: bool,
    /// Flask's `modified`: the handler changed the session.
    pub(crate) modified: bool,
    /// What changed, for server-side stores; left empty for cookie sessions, which
    /// always save the whole map (see [`State::untracked`]).
    pub(crate) changes: Changes,
    /// Skip recording `changes`: a key and value clone per write nobody would read.
    untracked: bool,
    pub(crate) lifecycle: Lifecycle,
    /// The registry handle of the stored session this request loaded.
    pub(crate) handle: Option<SessionHandle>,
}

impl State {
    /// The state of a server-side session: writes are recorded in `changes`.
    pub(crate) fn new(data: Map) -> State {
        State {
            data,
            ..State::default()
        }
    }

    /// The state of a cookie session: the whole map is signed on save, so no change set.
    pub(crate) fn untracked(data: Map) -> State {
        State {
            data,
            untracked: true,
            ..State::default()
        }
    }

    pub(crate) fn is_permanent(&self) -> bool {
        self.data.get(PERMANENT_KEY).is_some_and(Value::is_truthy)
    }

    fn set(&mut self, key: &str, value: Value) {
        self.modified = true;
        if !self.untracked {
            self.changes.set.insert(key.to_owned(), Some(value.clone()));
        }
        // Overwriting a key (a counter, a login flag) reuses the stored key's String.
        match self.data.get_mut(key) {
            Some(slot) => *slot = value,
            None => {
                self.data.insert(key.to_owned(), value);
            }
        }
    }

    fn remove(&mut self, key: &str) -> Option<Value> {
        let old = self.data.remove(key)?;
        self.modified = true;
        if !self.untracked {
            self.changes.set.insert(key.to_owned(), None);
        }
        Some(old)
    }

    fn clear(&mut self) {
        self.modified = true;
        self.data.clear();
        self.changes = Changes {
            clear: !self.untracked,
            ..Changes::default()
        };
    }
}

/// The session of the current request: a dict-like map that persists across requests.
///
/// Extract it in a handler (with the layer installed) and use it like Flask's `session`.
/// Every method is synchronous; the cookie was verified (or the store read) when the
/// extractor ran, and the changes are saved when the response goes out.
///
/// ```
/// # fn demo(session: flagon::Session) -> Result<(), flagon::SessionError> {
/// session.insert("logged_in", true)?;                 // session['logged_in'] = True
/// let user: Option<bool> = session.get("logged_in")?; // session.get('logged_in')
/// session.remove("logged_in");                        // session.pop('logged_in', None)
/// # Ok(()) }
/// ```
///
/// `Session` is a cheap handle: clones share one session. It follows Flask's rules for
/// what counts as a change: inserting (even the same value), removing a present key,
/// clearing and [`set_permanent`](Self::set_permanent) mark it modified; reads do not, and
/// neither does changing a value you took out with [`get`](Self::get) — insert it back.
#[derive(Clone)]
pub struct Session {
    state: Arc<Mutex<State>>,
    /// The layer's configuration, for [`Session::check_size`]; `None` in unit tests.
    shared: Option<Arc<Shared>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock_untracked();
        f.debug_struct("Session")
            .field("keys", &state.data.keys().collect::<Vec<_>>())
            .field("modified", &state.modified)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn from_state(state: State, shared: Option<Arc<Shared>>) -> Session {
        Session {
            state: Arc::new(Mutex::new(state)),
            shared,
        }
    }

    /// Takes the state back for saving; the handle's clones see an empty session after.
    pub(crate) fn take_state(&self) -> State {
        std::mem::take(&mut *self.lock_untracked())
    }

    /// Locks without marking the session accessed (for the engine and `Debug`).
    fn lock_untracked(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held cannot leave `State` half-updated in a way that
        // matters more than losing the request, so keep serving the data.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Locks and marks the session accessed, as every access does in Flask.
    fn lock(&self) -> MutexGuard<'_, State> {
        let mut state = self.lock_untracked();
        state.accessed = true;
        state
    }

    /// The value under `key` converted to `T`, or `None` if the key is absent
    /// (`session.get(key)`).
    ///
    /// # Errors
    /// [`SessionError::Value`] when the stored value does not convert to `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        let state = self.lock();
        state
            .data
            .get(key)
            .map(|value| from_value(value).map_err(|source| value_error(key, source)))
            .transpose()
    }

    /// A copy of the raw [`Value`] under `key`, with Python's types intact.
    pub fn get_value(&self, key: &str) -> Option<Value> {
        self.lock().data.get(key).cloned()
    }

    /// Stores `value` under `key` (`session[key] = value`), converting it with serde.
    ///
    /// Rust tuples become Python tuples, sequences lists, structs and maps dicts. For
    /// bytes, `Markup`, UUIDs or datetimes, build a [`Value`] and use
    /// [`insert_value`](Self::insert_value).
    ///
    /// # Errors
    /// [`SessionError::Value`] when `value` has no session representation (for example
    /// a map with non-string keys); the session is then unchanged.
    pub fn insert<T: Serialize>(&self, key: &str, value: T) -> Result<(), SessionError> {
        let value = to_value(&value).map_err(|source| value_error(key, source))?;
        self.insert_value(key, value);
        Ok(())
    }

    /// Stores a [`Value`] under `key` as is.
    pub fn insert_value(&self, key: &str, value: impl Into<Value>) {
        self.lock().set(key, value.into());
    }

    /// Removes `key` and returns its value (`session.pop(key, None)`). Removing an absent
    /// key does not modify the session.
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.lock().remove(key)
    }

    /// Is there a value under `key` (`key in session`)?
    pub fn contains_key(&self, key: &str) -> bool {
        self.lock().data.contains_key(key)
    }

    /// The keys, in the order Flask writes them.
    pub fn keys(&self) -> Vec<String> {
        self.lock().data.keys().cloned().collect()
    }

    /// How many keys the session holds.
    pub fn len(&self) -> usize {
        self.lock().data.len()
    }

    /// Does the session hold nothing? An empty session is never stored.
    pub fn is_empty(&self) -> bool {
        self.lock().data.is_empty()
    }

    /// A copy of the whole session.
    pub fn to_map(&self) -> Map {
        self.lock().data.clone()
    }

    /// Removes every key (`session.clear()`); the cookie is deleted when the response goes out.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Is this a permanent session (`session.permanent`)?
    pub fn permanent(&self) -> bool {
        self.lock().is_permanent()
    }

    /// Makes the session permanent or not (`session.permanent = x`).
    ///
    /// A permanent session's cookie carries `Expires` (now + the permanent lifetime);
    /// otherwise the browser drops it when it closes. As in Flask this is stored in the
    /// session as `_permanent`.
    pub fn set_permanent(&self, permanent: bool) {
        self.lock().set(PERMANENT_KEY, Value::Bool(permanent));
    }

    /// Marks the session modified so it is saved (`session.modified = True`), for when
    /// you changed a value in place.
    pub fn mark_modified(&self) {
        self.lock().modified = true;
    }

    /// Gives the session a new id while keeping its data, and kills the old id at once.
    ///
    /// Call it when privileges change (after login) to defeat session fixation. With
    /// cookie sessions, which have no id, the cookie is re-signed.
    #[doc(alias = "cycle_id")]
    #[doc(alias = "regenerate")]
    pub fn renew(&self) {
        let mut state = self.lock();
        state.modified = true;
        if state.lifecycle != Lifecycle::Purge {
            state.lifecycle = Lifecycle::Renew;
        }
    }

    /// Ends the session (log out): the data is removed, the stored record deleted, and
    /// the cookie deleted. A request that started before and is still running cannot
    /// bring it back.
    pub fn purge(&self) {
        let mut state = self.lock();
        state.clear();
        state.lifecycle = Lifecycle::Purge;
    }

    /// Checks that the session, as it stands, fits in a cookie.
    ///
    /// flagon refuses to send a session cookie larger than
    /// [`max_cookie_size`](crate::SessionConfig::max_cookie_size), because browsers drop
    /// such cookies silently; by default the response then becomes a 500. Call this before
    /// returning to handle it yourself (remove something, or tell the user). Server-side
    /// sessions always fit.
    ///
    /// # Errors
    /// [`SessionError::CookieTooLarge`] with the size and the limit.
    pub fn check_size(&self) -> Result<(), SessionError> {
        let Some(shared) = self.shared.as_deref().filter(|s| s.store.is_none()) else {
            return Ok(());
        };
        let state = self.lock_untracked();
        let size = crate::engine::cookie_size(shared, &state);
        let limit = shared.config.max_cookie_size;
        if size > limit {
            return Err(SessionError::CookieTooLarge { size, limit });
        }
        Ok(())
    }

    /// Records who owns this session (at login: a user id, not a secret), so
    /// [`Registry`](crate::registry::Registry) can list and revoke it. Kept in the
    /// session under [`OWNER_KEY`], so [`renew`](Self::renew) keeps it and
    /// [`purge`](Self::purge) removes it with the session.
    ///
    /// It also records when (under [`SINCE_KEY`]), for
    /// [`log_out_everywhere`](crate::registry::log_out_everywhere) on cookie sessions.
    pub fn set_owner(&self, owner: &str) {
        let now = match &self.shared {
            Some(shared) => shared.config.clock.now(),
            None => crate::config::Clock::default().now(),
        };
        let mut state = self.lock();
        state.set(OWNER_KEY, Value::Str(owner.to_owned()));
        state.set(
            SINCE_KEY,
            Value::Int(i64::try_from(now).unwrap_or(i64::MAX)),
        );
    }

    /// The owner and since-when, without marking the session accessed (the engine's
    /// revocation check).
    pub(crate) fn owner_since(&self) -> Option<(String, u64)> {
        let state = self.lock_untracked();
        let Some(Value::Str(owner)) = state.data.get(OWNER_KEY) else {
            return None;
        };
        let since = match state.data.get(SINCE_KEY) {
            Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
            _ => 0,
        };
        Some((owner.clone(), since))
    }

    /// Empties a session found revoked, so its cookie is deleted on the way out.
    pub(crate) fn drop_revoked(&self) {
        self.lock_untracked().clear();
    }

    /// The owner set with [`set_owner`](Self::set_owner), if any.
    pub fn owner(&self) -> Option<String> {
        match self.lock().data.get(OWNER_KEY) {
            Some(Value::Str(owner)) => Some(owner.clone()),
            _ => None,
        }
    }

    /// Sets a label an account page shows next to this session in
    /// [`Registry::list`](crate::registry::Registry::list) (for example `device` →
    /// `"Firefox on Linux"`). Kept in the session under [`LABELS_KEY`].
    pub fn set_label(&self, name: &str, value: &str) {
        let mut state = self.lock();
        let mut labels = match state.data.get(LABELS_KEY) {
            Some(Value::Dict(map)) => map.clone(),
            _ => Map::new(),
        };
        labels.insert(name.to_owned(), Value::Str(value.to_owned()));
        state.set(LABELS_KEY, Value::Dict(labels));
    }

    /// The registry handle of this request's stored session: `None` for a cookie session
    /// or a session this request is creating. Pass it to
    /// [`Registry::list`](crate::registry::Registry::list) to mark the current session,
    /// and to [`Registry::revoke_all`](crate::registry::Registry::revoke_all) to keep it.
    pub fn handle(&self) -> Option<SessionHandle> {
        self.lock_untracked().handle.clone()
    }

    /// Adds a message for the next request (Flask's `flash(message, category)`).
    ///
    /// Stored as Flask does, so a Flask view's `get_flashed_messages()` sees it.
    pub fn flash(&self, category: &str, message: &str) {
        let mut state = self.lock();
        let entry = Value::Tuple(vec![category.into(), message.into()]);
        let mut flashes = match state.data.get(FLASHES_KEY) {
            Some(Value::List(list)) => list.clone(),
            _ => Vec::new(),
        };
        flashes.push(entry);
        state.set(FLASHES_KEY, Value::List(flashes));
    }

    /// Takes the flashed messages as `(category, message)` pairs, removing them
    /// (Flask's `get_flashed_messages(with_categories=True)`).
    pub fn take_flashes(&self) -> Vec<(String, String)> {
        let Some(Value::List(list)) = self.lock().remove(FLASHES_KEY) else {
            return Vec::new();
        };
        list.iter().filter_map(flash_pair).collect()
    }
}

fn flash_pair(entry: &Value) -> Option<(String, String)> {
    match entry {
        Value::Tuple(pair) | Value::List(pair) => match pair.as_slice() {
            [category, message] => {
                Some((category.as_str()?.to_owned(), message.as_str()?.to_owned()))
            }
            _ => None,
        },
        Value::Str(message) => Some(("message".to_owned(), message.clone())),
        _ => None,
    }
}

fn value_error(key: &str, source: crate::value_serde::ValueError) -> SessionError {
    SessionError::Value {
        key: key.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(pairs: &[(&str, Value)]) -> Session {
        let data = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        Session::from_state(State::new(data), None)
    }

    fn flags(s: &Session) -> (bool, bool) {
        let state = s.lock_untracked();
        (state.accessed, state.modified)
    }

    #[test]
    fn reads_access_but_do_not_modify() {
        let s = session(&[("a", Value::Int(1))]);
        assert_eq!(flags(&s), (false, false));
        assert!(s.contains_key("a"));
        assert_eq!(s.get_value("a"), Some(Value::Int(1)));
        assert_eq!(s.keys(), vec!["a".to_owned()]);
        assert_eq!(flags(&s), (true, false));
    }

    #[test]
    fn modified_follows_flask() {
        let s = session(&[("a", Value::Int(1))]);
        assert_eq!(s.remove("missing"), None);
        assert_eq!(flags(&s), (true, false), "pop of a missing key");
        s.insert_value("a", 1);
        assert_eq!(flags(&s), (true, true), "assigning the same value");
        let empty = session(&[]);
        empty.clear();
        assert_eq!(flags(&empty), (true, true), "clear of an empty session");
        let p = session(&[]);
        p.set_permanent(false);
        assert_eq!(p.get_value(PERMANENT_KEY), Some(Value::Bool(false)));
        assert!(!p.permanent());
    }

    #[test]
    fn changes_record_final_state_after_clear() {
        let s = session(&[("a", Value::Int(1)), ("b", Value::Int(2))]);
        s.insert_value("x", 1);
        s.clear();
        s.insert_value("c", 3);
        s.remove("c");
        s.insert_value("d", 4);
        let state = s.take_state();
        assert!(state.changes.clear);
        assert_eq!(state.changes.set.get("c"), Some(&None));
        assert_eq!(state.changes.set.get("d"), Some(&Some(Value::Int(4))));
        assert!(!state.changes.set.contains_key("x"));
        let mut replay = Map::new();
        replay.insert("a".into(), Value::Int(9));
        state.changes.apply_to(&mut replay);
        assert_eq!(replay, state.data);
    }

    #[test]
    fn flashes_are_flask_tuples() {
        let s = session(&[]);
        s.flash("message", "Saved");
        s.flash("error", "Oops");
        assert_eq!(
            s.get_value(FLASHES_KEY),
            Some(Value::List(vec![
                Value::Tuple(vec!["message".into(), "Saved".into()]),
                Value::Tuple(vec!["error".into(), "Oops".into()]),
            ]))
        );
        let taken = s.take_flashes();
        assert_eq!(taken[1], ("error".to_owned(), "Oops".to_owned()));
        assert!(s.take_flashes().is_empty());
    }

    #[test]
    fn purge_wins_over_renew() {
        let s = session(&[("a", Value::Int(1))]);
        s.purge();
        s.renew();
        let state = s.take_state();
        assert_eq!(state.lifecycle, Lifecycle::Purge);
        assert!(state.data.is_empty() && state.modified);
    }
}
