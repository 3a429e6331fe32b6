//! [`Session`]: the dict-like handle a handler works with.

use std::sync::{Arc, Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::SessionError;
use crate::registry::{SessionHandle, LABELS_KEY, OWNER_KEY, SINCE_KEY};
use crate::store::Changes;
use crate::value::{from_value, to_value};
use crate::value::{Map, Value};

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

/// What the layer that opened a session lends it: its clock, and the size check of
/// [`Session::check_size`]. The engine implements it, so a session never needs to know
/// the engine (which knows sessions).
pub(crate) trait Host: Send + Sync {
    /// Now, by the layer's clock (Unix seconds).
    fn now(&self) -> u64;
    /// The length of the `Set-Cookie` value `state` would get now, and the limit; `None`
    /// when the session is kept in a store (its cookie holds only an id).
    fn cookie_size(&self, state: &State) -> Option<(usize, usize)>;
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
    /// Strict conflicts: each key the handler read, with the value it saw (`None`:
    /// absent). `None` when the layer does not check conflicts.
    pub(crate) reads: Option<std::collections::BTreeMap<String, Option<Value>>>,
    /// The response went out and this state was left behind by [`Session::take_state`]:
    /// a change now is lost, and is logged once.
    finished: bool,
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

    /// The state of a stored session whose reads are recorded, for strict conflicts.
    pub(crate) fn checking_reads(data: Map) -> State {
        State {
            reads: Some(std::collections::BTreeMap::new()),
            ..State::new(data)
        }
    }

    pub(crate) fn is_permanent(&self) -> bool {
        self.data.get(PERMANENT_KEY).is_some_and(Value::is_truthy)
    }

    /// Records that the handler read `key`, as loaded (strict conflicts only). A key the
    /// request wrote itself is its own business, not another request's.
    fn note_read(&mut self, key: &str) {
        let Some(reads) = &mut self.reads else {
            return;
        };
        if self.changes.clear || self.changes.set.contains_key(key) || reads.contains_key(key) {
            return;
        }
        reads.insert(key.to_owned(), self.data.get(key).cloned());
    }

    /// Records a read of the whole session: every key it holds.
    fn note_read_all(&mut self) {
        if self.reads.is_none() {
            return;
        }
        let keys: Vec<String> = self.data.keys().cloned().collect();
        for key in keys {
            self.note_read(&key);
        }
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
    /// The layer that opened it, for [`Session::check_size`] and the clock; `None` for
    /// a detached session.
    host: Option<Arc<dyn Host>>,
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
    pub(crate) fn from_state(state: State, host: Option<Arc<dyn Host>>) -> Session {
        Session {
            state: Arc::new(Mutex::new(state)),
            host,
        }
    }

    /// An empty session that belongs to no request: nothing it holds is ever saved.
    ///
    /// For unit tests of code that takes a [`Session`], and for examples.
    ///
    /// ```
    /// let session = flagon::Session::detached();
    /// session.insert("n", 1)?;
    /// assert_eq!(session.get::<i64>("n")?, Some(1));
    /// # Ok::<(), flagon::SessionError>(())
    /// ```
    pub fn detached() -> Session {
        Session::from_state(State::default(), None)
    }

    /// Takes the state back for saving; the handle's clones see an empty session after.
    pub(crate) fn take_state(&self) -> State {
        let left = State {
            finished: true,
            ..State::default()
        };
        std::mem::replace(&mut *self.lock_untracked(), left)
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

    /// Locks for a change. After the response went out (a clone kept by a spawned task)
    /// the change cannot be saved any more: say so once, instead of losing it silently.
    fn lock_for_write(&self) -> MutexGuard<'_, State> {
        let mut state = self.lock();
        if state.finished {
            state.finished = false;
            tracing::warn!(
                "session changed after its response was sent (from a spawned task or a clone \
                 kept past the handler); this and later changes are not saved. Change the \
                 session before the handler returns"
            );
        }
        state
    }

    /// The value under `key` converted to `T`, or `None` if the key is absent
    /// (`session.get(key)`).
    ///
    /// ```
    /// # let session = flagon::Session::detached();
    /// session.insert("user_id", 42)?;
    /// assert_eq!(session.get::<i64>("user_id")?, Some(42));
    /// assert_eq!(session.get::<i64>("missing")?, None);
    /// assert!(session.get::<String>("user_id").is_err()); // an int is not a str
    /// # Ok::<(), flagon::SessionError>(())
    /// ```
    ///
    /// # Errors
    /// [`SessionError::Value`] when the stored value does not convert to `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        let mut state = self.lock();
        state.note_read(key);
        state
            .data
            .get(key)
            .map(|value| from_value(value).map_err(|source| value_error(key, source)))
            .transpose()
    }

    /// Is the value under `key` truthy as in Python (`if session.get(key):`)? An absent
    /// key is false.
    ///
    /// Use this for flags a Flask app may have written: Flask code stores `True`, `1`,
    /// `"yes"` or a user id interchangeably, and [`get::<bool>`](Self::get) would fail on
    /// all but the first. Falsy are `None`, `False`, zero and empty strings and containers,
    /// as in Python; see [`Value::is_truthy`].
    ///
    /// ```
    /// # fn demo(session: flagon::Session) -> Result<(), flagon::SessionError> {
    /// assert!(!session.is_truthy("logged_in"));   // absent
    /// session.insert("logged_in", 1)?;            // as a Flask app might have written it
    /// assert!(session.is_truthy("logged_in"));
    /// session.insert("logged_in", "")?;
    /// assert!(!session.is_truthy("logged_in"));
    /// # Ok(()) }
    /// # demo(flagon::Session::detached()).unwrap();
    /// ```
    pub fn is_truthy(&self, key: &str) -> bool {
        let mut state = self.lock();
        state.note_read(key);
        state.data.get(key).is_some_and(Value::is_truthy)
    }

    /// A copy of the raw [`Value`] under `key`, with Python's types intact.
    ///
    /// ```
    /// use flagon::Value;
    /// # let session = flagon::Session::detached();
    /// session.insert_value("blob", Value::Bytes(vec![0, 255]));  // Python bytes
    /// assert_eq!(session.get_value("blob"), Some(Value::Bytes(vec![0, 255])));
    /// ```
    pub fn get_value(&self, key: &str) -> Option<Value> {
        let mut state = self.lock();
        state.note_read(key);
        state.data.get(key).cloned()
    }

    /// Stores `value` under `key` (`session[key] = value`), converting it with serde.
    ///
    /// Rust tuples become Python tuples, sequences lists, structs and maps dicts. For
    /// bytes, `Markup`, UUIDs or datetimes, build a [`Value`] and use
    /// [`insert_value`](Self::insert_value).
    ///
    /// ```
    /// # let session = flagon::Session::detached();
    /// session.insert("cart", vec!["apple", "pear"])?;           // a Python list
    /// session.insert("point", (1, 2))?;                          // a Python tuple
    /// assert_eq!(session.get::<Vec<String>>("cart")?.unwrap(), ["apple", "pear"]);
    /// # Ok::<(), flagon::SessionError>(())
    /// ```
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
    ///
    /// ```
    /// use flagon::Value;
    /// # let session = flagon::Session::detached();
    /// session.insert_value("token", Value::Markup("<b>hi</b>".into()));  // markupsafe.Markup
    /// assert!(matches!(session.get_value("token"), Some(Value::Markup(_))));
    /// ```
    pub fn insert_value(&self, key: &str, value: impl Into<Value>) {
        self.lock_for_write().set(key, value.into());
    }

    /// Removes `key` and returns its value (`session.pop(key, None)`). Removing an absent
    /// key does not modify the session.
    ///
    /// ```
    /// use flagon::Value;
    /// # let session = flagon::Session::detached();
    /// session.insert("logged_in", true)?;
    /// assert_eq!(session.remove("logged_in"), Some(Value::Bool(true)));
    /// assert_eq!(session.remove("logged_in"), None);
    /// # Ok::<(), flagon::SessionError>(())
    /// ```
    pub fn remove(&self, key: &str) -> Option<Value> {
        let mut state = self.lock_for_write();
        state.note_read(key);
        state.remove(key)
    }

    /// Removes `key` and returns its value converted to `T` (`session.pop(key, None)` for
    /// a value of known type). Absent, it is `Ok(None)` and nothing changes.
    ///
    /// ```
    /// # let session = flagon::Session::detached();
    /// session.insert("user_id", 42)?;
    /// assert_eq!(session.remove_as::<i64>("user_id")?, Some(42));
    /// assert_eq!(session.remove_as::<i64>("user_id")?, None);
    /// # Ok::<(), flagon::SessionError>(())
    /// ```
    ///
    /// # Errors
    /// [`SessionError::Value`] when the value does not convert to `T`; it is then left
    /// in the session.
    pub fn remove_as<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        let mut state = self.lock_for_write();
        state.note_read(key);
        let Some(value) = state.data.get(key) else {
            return Ok(None);
        };
        let typed = from_value(value).map_err(|source| value_error(key, source))?;
        state.remove(key);
        Ok(Some(typed))
    }

    /// Replaces the value under `key` with `f` of it, if there is one; returns whether
    /// there was. Read, change and write happen under one lock, so clones of this
    /// session cannot interleave.
    ///
    /// ```
    /// # let session = flagon::Session::detached();
    /// assert!(!session.update("visits", |n: i64| n + 1)?); // absent: nothing happens
    /// session.insert("visits", 1)?;
    /// assert!(session.update("visits", |n: i64| n + 1)?);
    /// assert_eq!(session.get::<i64>("visits")?, Some(2));
    /// # Ok::<(), flagon::SessionError>(())
    /// ```
    ///
    /// # Errors
    /// [`SessionError::Value`] when the stored value does not convert to `T` or the new
    /// one has no session representation; the session is then unchanged.
    pub fn update<T, F>(&self, key: &str, f: F) -> Result<bool, SessionError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(T) -> T,
    {
        let mut state = self.lock_for_write();
        state.note_read(key);
        let Some(value) = state.data.get(key) else {
            return Ok(false);
        };
        let old = from_value(value).map_err(|source| value_error(key, source))?;
        let new = to_value(&f(old)).map_err(|source| value_error(key, source))?;
        state.set(key, new);
        Ok(true)
    }

    /// Like [`update`](Self::update), but stores `default` when `key` is absent
    /// (`session[key] = f(session[key]) if key in session else default`).
    ///
    /// ```
    /// # let session = flagon::Session::detached();
    /// session.update_or("visits", 1, |n: i64| n + 1)?;
    /// session.update_or("visits", 1, |n: i64| n + 1)?;
    /// assert_eq!(session.get::<i64>("visits")?, Some(2));
    /// # Ok::<(), flagon::SessionError>(())
    /// ```
    ///
    /// # Errors
    /// As for [`update`](Self::update).
    pub fn update_or<T, F>(&self, key: &str, default: T, f: F) -> Result<(), SessionError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(T) -> T,
    {
        let mut state = self.lock_for_write();
        state.note_read(key);
        let new = match state.data.get(key) {
            Some(value) => f(from_value(value).map_err(|source| value_error(key, source))?),
            None => default,
        };
        let new = to_value(&new).map_err(|source| value_error(key, source))?;
        state.set(key, new);
        Ok(())
    }

    /// Is there a value under `key` (`key in session`)?
    ///
    /// ```
    /// # let session = flagon::Session::detached();
    /// assert!(!session.contains_key("user_id"));
    /// session.insert("user_id", 7)?;
    /// assert!(session.contains_key("user_id"));
    /// # Ok::<(), flagon::SessionError>(())
    /// ```
    pub fn contains_key(&self, key: &str) -> bool {
        let mut state = self.lock();
        state.note_read(key);
        state.data.contains_key(key)
    }

    /// The keys, in the order Flask writes them.
    ///
    /// ```
    /// # let session = flagon::Session::detached();
    /// session.insert("b", 1)?;
    /// session.insert("a", 2)?;
    /// assert_eq!(session.keys(), ["a", "b"]);
    /// # Ok::<(), flagon::SessionError>(())
    /// ```
    pub fn keys(&self) -> Vec<String> {
        let mut state = self.lock();
        state.note_read_all();
        state.data.keys().cloned().collect()
    }

    /// How many keys the session holds.
    ///
    /// ```
    /// # let session = flagon::Session::detached();
    /// session.insert("a", 1)?;
    /// assert_eq!(session.len(), 1);
    /// # Ok::<(), flagon::SessionError>(())
    /// ```
    pub fn len(&self) -> usize {
        let mut state = self.lock();
        state.note_read_all();
        state.data.len()
    }

    /// Does the session hold nothing? An empty session is never stored.
    ///
    /// ```
    /// # let session = flagon::Session::detached();
    /// assert!(session.is_empty());
    /// session.insert("a", 1)?;
    /// assert!(!session.is_empty());
    /// # Ok::<(), flagon::SessionError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        let mut state = self.lock();
        state.note_read_all();
        state.data.is_empty()
    }

    /// A copy of the whole session.
    ///
    /// ```
    /// use flagon::Value;
    /// # let session = flagon::Session::detached();
    /// session.insert("n", 3)?;
    /// let copy = session.to_map();
    /// assert_eq!(copy.get("n"), Some(&Value::Int(3)));
    /// # Ok::<(), flagon::SessionError>(())
    /// ```
    pub fn to_map(&self) -> Map {
        let mut state = self.lock();
        state.note_read_all();
        state.data.clone()
    }

    /// Removes every key (`session.clear()`); the cookie is deleted when the response goes out.
    ///
    /// ```
    /// # let session = flagon::Session::detached();
    /// session.insert("a", 1)?;
    /// session.clear();
    /// assert!(session.is_empty());
    /// # Ok::<(), flagon::SessionError>(())
    /// ```
    pub fn clear(&self) {
        self.lock_for_write().clear();
    }

    /// Is this a permanent session (`session.permanent`)?
    ///
    /// ```
    /// # let session = flagon::Session::detached();
    /// assert!(!session.permanent());
    /// session.set_permanent(true);
    /// assert!(session.permanent());
    /// ```
    pub fn permanent(&self) -> bool {
        let mut state = self.lock();
        state.note_read(PERMANENT_KEY);
        state.is_permanent()
    }

    /// Makes the session permanent or not (`session.permanent = x`).
    ///
    /// A permanent session's cookie carries `Expires` (now + the permanent lifetime);
    /// otherwise the browser drops it when it closes. As in Flask this is stored in the
    /// session as `_permanent`.
    ///
    /// ```
    /// use flagon::Value;
    /// # let session = flagon::Session::detached();
    /// session.set_permanent(true);                       // session.permanent = True
    /// assert_eq!(session.get_value("_permanent"), Some(Value::Bool(true)));
    /// ```
    pub fn set_permanent(&self, permanent: bool) {
        self.lock_for_write()
            .set(PERMANENT_KEY, Value::Bool(permanent));
    }

    /// Marks the session modified so it is saved (`session.modified = True`), for when
    /// you changed a value in place.
    ///
    /// ```
    /// # #[cfg(feature = "axum")] {
    /// # use flagon::{axum::SessionLayer, Key, Session, SessionConfig};
    /// # fn visit(config: &SessionConfig, cookie: Option<&str>, handler: fn(&Session)) -> http::Response<axum::body::Body> {
    /// #     use tower::ServiceExt as _;
    /// #     let route = axum::routing::get(move |s: Session| async move { handler(&s); "ok" });
    /// #     let app = axum::Router::new().route("/", route).layer(SessionLayer::new(config.clone()).unwrap());
    /// #     let mut request = http::Request::get("/");
    /// #     if let Some(cookie) = cookie { request = request.header("cookie", cookie); }
    /// #     let request = request.body(axum::body::Body::empty()).unwrap();
    /// #     tokio::runtime::Runtime::new().unwrap().block_on(app.oneshot(request)).unwrap()
    /// # }
    /// let key = Key::new("0123456789abcdef0123456789abcdef")?;
    /// let config = SessionConfig::new(key.clone()).refresh_each_request(false);
    /// let mut data = flagon::Map::new();
    /// data.insert("n".into(), flagon::Value::Int(1));
    /// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    /// let cookie = format!("session={}", flagon::flask::sign(&data, &key, now.as_secs()));
    /// // Reading sends nothing back; marking the session modified re-sends its cookie.
    /// let read = visit(&config, Some(&cookie), |s| drop(s.get_value("n")));
    /// assert!(read.headers().get("set-cookie").is_none());
    /// let marked = visit(&config, Some(&cookie), |s| s.mark_modified());
    /// assert!(marked.headers()["set-cookie"].to_str()?.starts_with("session="));
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn mark_modified(&self) {
        self.lock_for_write().modified = true;
    }

    /// Gives the session a new id while keeping its data, and kills the old id at once.
    ///
    /// Call it when privileges change (after login) to defeat session fixation. With
    /// cookie sessions, which have no id, the cookie is re-signed.
    #[doc(alias = "cycle_id")]
    #[doc(alias = "regenerate")]
    ///
    /// ```
    /// # let session = flagon::Session::detached();
    /// // After checking the password:
    /// session.renew();                       // a new id, the same data
    /// session.insert("user_id", 42)?;
    /// assert_eq!(session.get::<i64>("user_id")?, Some(42));
    /// # Ok::<(), flagon::SessionError>(())
    /// ```
    pub fn renew(&self) {
        let mut state = self.lock_for_write();
        state.modified = true;
        if state.lifecycle != Lifecycle::Purge {
            state.lifecycle = Lifecycle::Renew;
        }
    }

    /// Ends the session (log out): the data is removed, the stored record deleted, and
    /// the cookie deleted. A request that started before and is still running cannot
    /// bring it back.
    ///
    /// ```
    /// # let session = flagon::Session::detached();
    /// session.insert("user_id", 42)?;
    /// session.purge();                       // log out
    /// assert!(session.is_empty());
    /// # Ok::<(), flagon::SessionError>(())
    /// ```
    pub fn purge(&self) {
        let mut state = self.lock_for_write();
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
    /// ```
    /// # fn handler(session: flagon::Session) -> &'static str {
    /// if session.check_size().is_err() {
    ///     session.remove("history");         // keep the cookie under the limit
    ///     return "History too long; cleared it.";
    /// }
    /// "Saved."
    /// # }
    /// # assert_eq!(handler(flagon::Session::detached()), "Saved.");
    /// ```
    ///
    /// # Errors
    /// [`SessionError::CookieTooLarge`] with the size and the limit.
    pub fn check_size(&self) -> Result<(), SessionError> {
        let Some(host) = &self.host else {
            return Ok(());
        };
        let Some((size, limit)) = host.cookie_size(&self.lock_untracked()) else {
            return Ok(());
        };
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
    ///
    /// ```
    /// use flagon::registry::{OWNER_KEY, SINCE_KEY};
    /// # let session = flagon::Session::detached();
    /// // After checking the password:
    /// session.set_owner("alice");
    /// assert_eq!(session.get::<String>(OWNER_KEY)?.as_deref(), Some("alice"));
    /// assert!(session.get::<u64>(SINCE_KEY)?.is_some_and(|since| since > 0));
    /// session.purge();                       // log out: the owner goes with the session
    /// assert_eq!(session.owner(), None);
    /// # Ok::<(), flagon::SessionError>(())
    /// ```
    pub fn set_owner(&self, owner: &str) {
        let now = match &self.host {
            Some(host) => host.now(),
            None => crate::config::Clock::default().now(),
        };
        let mut state = self.lock_for_write();
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
    ///
    /// ```
    /// # let session = flagon::Session::detached();
    /// assert_eq!(session.owner(), None);     // anonymous
    /// session.set_owner("42");
    /// assert_eq!(session.owner().as_deref(), Some("42"));
    /// ```
    pub fn owner(&self) -> Option<String> {
        match self.lock().data.get(OWNER_KEY) {
            Some(Value::Str(owner)) => Some(owner.clone()),
            _ => None,
        }
    }

    /// Sets a label an account page shows next to this session in
    /// [`Registry::list`](crate::registry::Registry::list) (for example `device` →
    /// `"Firefox on Linux"`). Kept in the session under [`LABELS_KEY`].
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use flagon::registry::LABELS_KEY;
    /// # let session = flagon::Session::detached();
    /// session.set_label("device", "Firefox on Linux");
    /// session.set_label("ip", "203.0.113.7");
    /// let labels: BTreeMap<String, String> = session.get(LABELS_KEY)?.unwrap();
    /// assert_eq!(labels["device"], "Firefox on Linux");
    /// assert_eq!(labels.len(), 2);
    /// # Ok::<(), flagon::SessionError>(())
    /// ```
    pub fn set_label(&self, name: &str, value: &str) {
        let mut state = self.lock_for_write();
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
    ///
    /// ```
    /// # let session = flagon::Session::detached();
    /// // Not loaded from a store (a cookie session, or a new one): no handle.
    /// session.insert("user_id", 42)?;
    /// assert!(session.handle().is_none());
    /// # Ok::<(), flagon::SessionError>(())
    /// ```
    pub fn handle(&self) -> Option<SessionHandle> {
        self.lock_untracked().handle.clone()
    }

    /// Adds a message for the next request: Flask's `flash(message, category)`, with the
    /// arguments in Flask's order. Flask's default category is `"message"`.
    ///
    /// Stored as Flask does, so a Flask view's `get_flashed_messages()` sees it.
    ///
    /// ```
    /// # let session = flagon::Session::detached();
    /// session.flash("Saved.", "message");      // flash('Saved.')
    /// session.flash("Wrong password.", "error"); // flash('Wrong password.', 'error')
    /// assert_eq!(
    ///     session.take_flashes(),
    ///     [("message".to_owned(), "Saved.".to_owned()),
    ///      ("error".to_owned(), "Wrong password.".to_owned())]
    /// );
    /// ```
    pub fn flash(&self, message: &str, category: &str) {
        let mut state = self.lock_for_write();
        state.note_read(FLASHES_KEY);
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
    ///
    /// ```
    /// # let session = flagon::Session::detached();
    /// session.flash("Saved.", "message");
    /// let shown = session.take_flashes();
    /// assert_eq!(shown, [("message".to_owned(), "Saved.".to_owned())]);
    /// assert!(session.take_flashes().is_empty(), "each message is shown once");
    /// ```
    pub fn take_flashes(&self) -> Vec<(String, String)> {
        let Some(Value::List(list)) = self.remove(FLASHES_KEY) else {
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

fn value_error(key: &str, source: crate::value::ValueError) -> SessionError {
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
        s.flash("Saved", "message");
        s.flash("Oops", "error");
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
    fn update_helpers_follow_flask_modified_rules() {
        let s = session(&[("n", Value::Int(1)), ("name", Value::Str("x".into()))]);
        assert!(s.update("n", |n: i64| n * 10).unwrap());
        assert_eq!(s.get_value("n"), Some(Value::Int(10)));
        let err = s.update("name", |n: i64| n + 1).unwrap_err();
        assert!(err.to_string().contains("\"name\""), "{err}");
        assert_eq!(s.get_value("name"), Some(Value::Str("x".into())));
        assert!(s.remove_as::<i64>("name").is_err());
        assert!(s.contains_key("name"), "a value that did not convert stays");
        let fresh = session(&[]);
        assert!(!fresh.update("n", |n: i64| n + 1).unwrap());
        assert_eq!(
            flags(&fresh),
            (true, false),
            "updating an absent key changes nothing"
        );
        fresh.update_or("n", 5, |n: i64| n + 1).unwrap();
        assert_eq!(fresh.remove_as::<i64>("n").unwrap(), Some(5));
        assert_eq!(flags(&fresh), (true, true));
    }

    #[test]
    fn changes_after_the_response_are_not_saved_and_leave_the_state_finished() {
        let s = session(&[("a", Value::Int(1))]);
        let late = s.clone();
        let saved = s.take_state();
        assert_eq!(saved.data.len(), 1);
        assert!(late.lock_untracked().finished);
        late.insert_value("b", 2);
        // Logged once: the flag is cleared by the first late write.
        assert!(!late.lock_untracked().finished);
        assert_eq!(saved.data.get("b"), None);
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
