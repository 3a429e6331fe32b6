//! The engine's save decisions as tables, without a framework: what a finished request
//! sends back (a cookie, a deletion, nothing; `Vary`) and, with a store, which store
//! operations it costs.

use std::sync::{Arc, Mutex};

use http::StatusCode;

use super::{finish, finish_cookie, Loaded, Opened, Origin, Outcome, Shared};
use crate::config::SessionConfig;
use crate::id::{SessionId, StoreKey};
use crate::key::Key;
use crate::session::{Session, State, PERMANENT_KEY};
use crate::store::{Applied, Changes, Created, Record, Renewed, SessionStore, StoreError};
use crate::value::{Map, Value};

/// What the handler did to the session.
#[derive(Clone, Copy, Debug)]
enum Did {
    /// Never extracted it.
    Nothing,
    /// Read a key.
    Read,
    /// Wrote a key.
    Write,
    /// Cleared it.
    Clear,
    /// Renewed it.
    Renew,
    /// Purged it.
    Purge,
}

/// What went back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sent {
    None,
    Cookie,
    Deletion,
}

fn shared(refresh: bool) -> Arc<Shared> {
    let config = SessionConfig::flask(Key::new("engine tables").unwrap())
        .refresh_each_request(refresh)
        .clock(|| std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000));
    Arc::new(Shared::new(config).unwrap())
}

fn data(empty: bool, permanent: bool) -> Map {
    let mut map = Map::new();
    if !empty {
        map.insert("a".into(), Value::Int(1));
    }
    if permanent {
        map.insert(PERMANENT_KEY.into(), Value::Bool(true));
    }
    map
}

/// Runs `did` on a session holding `map`, as a handler would.
fn act(session: &Session, did: Did) {
    match did {
        Did::Nothing => {}
        Did::Read => {
            let _ = session.get_value("a");
        }
        Did::Write => session.insert_value("b", 2),
        Did::Clear => session.clear(),
        Did::Renew => session.renew(),
        Did::Purge => session.purge(),
    }
}

fn sent(outcome: &Outcome) -> Sent {
    match &outcome.set_cookie {
        None => Sent::None,
        Some(cookie) if cookie.contains("Max-Age=0") => Sent::Deletion,
        Some(_) => Sent::Cookie,
    }
}

fn cookie_outcome(did: Did, empty: bool, permanent: bool, refresh: bool, status: u16) -> Outcome {
    let shared = shared(refresh);
    let status = StatusCode::from_u16(status).unwrap();
    let opened = (!matches!(did, Did::Nothing)).then(|| {
        let session = Session::from_state(State::untracked(data(empty, permanent)), None);
        act(&session, did);
        Opened {
            session,
            origin: Origin::Cookie { reissue: false },
            span: tracing::Span::none(),
        }
    });
    // A request that never opened the session still carries its cookie, which a permanent
    // session's refresh re-sends.
    let cookie = (!empty || permanent).then(|| {
        let value = crate::flask::sign(
            &data(empty, permanent),
            shared.config.keys.current(),
            1_700_000_000,
        );
        format!("session={value}")
    });
    let headers = cookie.iter().map(|c| c.as_bytes());
    finish_cookie(&shared, opened, headers, status)
}

#[test]
fn cookie_sessions_send_what_flask_sends() {
    use Did::*;
    #[rustfmt::skip]
    let table: &[(Did, bool, bool, bool, u16, Sent, bool)] = &[
        // did      empty  perm   refresh status  sent            vary
        (Nothing,   false, false, true,   200,    Sent::None,     false),
        (Nothing,   false, true,  true,   200,    Sent::Cookie,   true),
        (Nothing,   false, true,  false,  200,    Sent::None,     false),
        (Read,      false, false, true,   200,    Sent::None,     true),
        (Read,      false, true,  true,   200,    Sent::Cookie,   true),
        (Read,      false, true,  false,  200,    Sent::None,     true),
        (Read,      true,  false, true,   200,    Sent::None,     true),
        (Write,     true,  false, true,   200,    Sent::Cookie,   true),
        (Write,     false, false, false,  200,    Sent::Cookie,   true),
        (Clear,     false, false, true,   200,    Sent::Deletion, true),
        (Clear,     true,  false, true,   200,    Sent::Deletion, true),
        (Purge,     false, true,  true,   200,    Sent::Deletion, true),
        (Renew,     false, false, true,   200,    Sent::Cookie,   true),
        // A 5xx saves nothing, whatever the handler did; a cache must still vary.
        (Write,     false, false, true,   500,    Sent::None,     true),
        (Purge,     false, false, true,   503,    Sent::None,     true),
        (Read,      false, true,  true,   500,    Sent::None,     true),
        // Other statuses save as 200 does.
        (Write,     false, false, true,   404,    Sent::Cookie,   true),
        (Write,     false, false, true,   302,    Sent::Cookie,   true),
    ];
    for (i, &(did, empty, permanent, refresh, status, want, vary)) in table.iter().enumerate() {
        let outcome = cookie_outcome(did, empty, permanent, refresh, status);
        assert_eq!(sent(&outcome), want, "row {i}: {did:?}");
        assert_eq!(outcome.vary, vary, "row {i}: {did:?} Vary");
        assert!(outcome.failure.is_none(), "row {i}");
    }
}

/// A store that records which operations the engine asked for and answers as told.
#[derive(Default)]
struct Recording {
    calls: Mutex<Vec<&'static str>>,
    /// What `apply`, `touch` and `renew` report.
    gone: bool,
}

impl Recording {
    fn note(&self, op: &'static str) {
        self.calls.lock().unwrap().push(op);
    }
    fn applied(&self) -> Applied {
        if self.gone {
            Applied::Gone
        } else {
            Applied::Done
        }
    }
}

impl SessionStore for Arc<Recording> {
    async fn load(&self, _: &StoreKey, _: u64) -> Result<Option<Record>, StoreError> {
        self.note("load");
        Ok(None)
    }
    async fn create(&self, _: &StoreKey, _: &Record) -> Result<Created, StoreError> {
        self.note("create");
        Ok(Created::Stored)
    }
    async fn apply(
        &self,
        _: &StoreKey,
        _: &Changes,
        _: u64,
        _: u64,
    ) -> Result<Applied, StoreError> {
        self.note("apply");
        Ok(self.applied())
    }
    async fn renew(
        &self,
        _: &StoreKey,
        _: &StoreKey,
        _: &Changes,
        _: u64,
        _: u64,
    ) -> Result<Renewed, StoreError> {
        self.note("renew");
        Ok(self.applied().into())
    }
    async fn touch(&self, _: &StoreKey, _: u64, _: u64) -> Result<Applied, StoreError> {
        self.note("touch");
        Ok(self.applied())
    }
    async fn delete(&self, _: &StoreKey) -> Result<(), StoreError> {
        self.note("delete");
        Ok(())
    }
    async fn sweep(&self, _: u64) -> Result<u64, StoreError> {
        Ok(0)
    }
}

/// Finishes a store-backed request: `live` says whether a live session came in, with its
/// expiry `expires_in` seconds away.
async fn store_outcome(
    did: Did,
    live: bool,
    expires_in: u64,
    gone: bool,
    status: u16,
) -> (Outcome, Vec<&'static str>) {
    let recording = Arc::new(Recording {
        gone,
        ..Recording::default()
    });
    let shared = Arc::new(Arc::unwrap_or_clone(shared(true)).with_store(recording.clone()));
    let now = 1_700_000_000;
    let loaded = live.then(|| Loaded {
        id: SessionId::generate(),
        created_at: now - 10,
        expires_at: now + expires_in,
        stale_key: false,
    });
    let session = Session::from_state(State::new(data(!live, false)), None);
    act(&session, did);
    let opened = Opened {
        session,
        origin: Origin::Stored(loaded),
        span: tracing::Span::none(),
    };
    let status = StatusCode::from_u16(status).unwrap();
    let outcome = finish(&shared, Some(opened), std::iter::empty(), status).await;
    let calls = recording.calls.lock().unwrap().clone();
    (outcome, calls)
}

/// did, live, expires_in, gone, status → store operations, cookie, failure status.
type StoreRow = (
    Did,
    bool,
    u64,
    bool,
    u16,
    &'static [&'static str],
    Sent,
    Option<u16>,
);

#[tokio::test]
async fn store_sessions_cost_the_fewest_operations() {
    use Did::*;
    const LIFETIME: u64 = 31 * 24 * 3600;
    #[rustfmt::skip]
    let table: &[StoreRow] = &[
        // did     live   expires_in     gone   status ops           sent            failure
        (Read,     false, 0,             false, 200,   &[],          Sent::None,     None),
        (Write,    false, 0,             false, 200,   &["create"],  Sent::Cookie,   None),
        (Clear,    false, 0,             false, 200,   &[],          Sent::Deletion, None),
        // A read within the touch interval costs nothing; past it, one touch.
        (Read,     true,  LIFETIME,      false, 200,   &[],          Sent::None,     None),
        (Read,     true,  LIFETIME / 2,  false, 200,   &["touch"],   Sent::None,     None),
        (Nothing,  true,  LIFETIME / 2,  false, 200,   &[],          Sent::None,     None),
        (Write,    true,  LIFETIME,      false, 200,   &["apply"],   Sent::None,     None),
        (Clear,    true,  LIFETIME,      false, 200,   &["delete"],  Sent::Deletion, None),
        (Purge,    true,  LIFETIME,      false, 200,   &["delete"],  Sent::Deletion, None),
        (Renew,    true,  LIFETIME,      false, 200,   &["renew"],   Sent::Cookie,   None),
        // The session ended meanwhile: a write is refused with 409; a renew starts afresh
        // with only this request's writes, here none, so the cookie is deleted.
        (Write,    true,  LIFETIME,      true,  200,   &["apply"],   Sent::None,     Some(409)),
        (Renew,    true,  LIFETIME,      true,  200,   &["renew"],   Sent::Deletion, None),
        // A 5xx costs no write at all.
        (Write,    true,  LIFETIME,      false, 500,   &[],          Sent::None,     None),
        (Purge,    true,  LIFETIME,      false, 502,   &[],          Sent::None,     None),
    ];
    for (i, &(did, live, expires_in, gone, status, ops, want, failure)) in table.iter().enumerate()
    {
        let (outcome, calls) = store_outcome(did, live, expires_in, gone, status).await;
        assert_eq!(calls, ops, "row {i}: {did:?} store operations");
        assert_eq!(sent(&outcome), want, "row {i}: {did:?} cookie");
        assert_eq!(
            outcome.failure.map(|f| f.status.as_u16()),
            failure,
            "row {i}: {did:?} failure"
        );
        let touched = !matches!(did, Did::Nothing);
        assert_eq!(outcome.vary, touched, "row {i}: {did:?} Vary");
    }
}
