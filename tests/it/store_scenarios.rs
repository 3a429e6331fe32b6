//! Server-side sessions through both adapters: ids, renew, purge, touches, timeouts (each
//! scenario once through axum and once through actix-web); the purge race and concurrent
//! writers through axum, on several threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use flagon::axum::SessionLayer;
use flagon::id::StoreKey;
use flagon::store::memory::MemoryStore;
use flagon::store::{Applied, Changes, Created, Record, Renewed, SessionStore, StoreError};
use flagon::{Key, Session, SessionConfig};
use http::StatusCode;
use tokio::sync::Notify;

use crate::scenarios::{routes, TestClock};
use crate::support::app::{App, Framework};
use crate::support::http::get as fetch;

/// Counts what the engine asks of the store.
#[derive(Default)]
pub(crate) struct Counts {
    pub(crate) load: AtomicUsize,
    pub(crate) create: AtomicUsize,
    pub(crate) apply: AtomicUsize,
    pub(crate) renew: AtomicUsize,
    pub(crate) touch: AtomicUsize,
    pub(crate) delete: AtomicUsize,
}

impl Counts {
    fn writes(&self) -> usize {
        [&self.create, &self.apply, &self.renew, &self.delete]
            .iter()
            .map(|c| c.load(Ordering::SeqCst))
            .sum()
    }
}

/// A real store with counters in front.
pub(crate) struct Counting<S> {
    pub(crate) inner: S,
    pub(crate) counts: Arc<Counts>,
}

fn bump(counter: &AtomicUsize) {
    counter.fetch_add(1, Ordering::SeqCst);
}

impl<S: SessionStore> SessionStore for Counting<S> {
    async fn load(&self, key: &StoreKey, now: u64) -> Result<Option<Record>, StoreError> {
        bump(&self.counts.load);
        self.inner.load(key, now).await
    }
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, StoreError> {
        bump(&self.counts.create);
        self.inner.create(key, record).await
    }
    async fn apply(
        &self,
        key: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        bump(&self.counts.apply);
        self.inner.apply(key, changes, expires_at, now).await
    }
    async fn renew(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Renewed, StoreError> {
        bump(&self.counts.renew);
        self.inner.renew(old, new, changes, expires_at, now).await
    }
    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        bump(&self.counts.touch);
        self.inner.touch(key, expires_at, now).await
    }
    async fn delete(&self, key: &StoreKey) -> Result<(), StoreError> {
        bump(&self.counts.delete);
        self.inner.delete(key).await
    }
    async fn sweep(&self, now: u64) -> Result<u64, StoreError> {
        self.inner.sweep(now).await
    }
}

fn config() -> SessionConfig {
    SessionConfig::flask(Key::new("store scenarios").unwrap())
}

/// Hand-offs between a test and a handler that must run in a set order.
#[derive(Default)]
struct Steps {
    loaded: Notify,
    purged: Notify,
}

fn app(config: SessionConfig) -> (Router, Arc<Counts>) {
    app_with_steps(config, Arc::default())
}

fn app_with_steps(config: SessionConfig, steps: Arc<Steps>) -> (Router, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let store = Counting {
        inner: MemoryStore::new(100_000),
        counts: counts.clone(),
    };
    let layer = SessionLayer::new(config).unwrap().with_store(store);
    let router = routes()
        .route("/renew", get(|s: Session| async move { s.renew() }))
        .route(
            "/slow-write",
            get(move |s: Session| async move {
                // The session is loaded; let the logout run to completion, then write.
                steps.loaded.notify_one();
                steps.purged.notified().await;
                s.insert_value("late", true);
            }),
        )
        .layer(layer);
    (router, counts)
}

/// A request that began before a logout never brings the session back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_cannot_resurrect_a_purged_session() {
    let steps = Arc::new(Steps::default());
    let (app, _) = app_with_steps(config(), steps.clone());
    let mut resurrections = 0;
    let trials = 1000;
    for _ in 0..trials {
        let cookie = fetch(&app, "/put/a", None).await.cookie_pair();
        let slow = {
            let (app, cookie) = (app.clone(), cookie.clone());
            tokio::spawn(async move { fetch(&app, "/slow-write", Some(&cookie)).await })
        };
        steps.loaded.notified().await;
        fetch(&app, "/purge", Some(&cookie)).await;
        steps.purged.notify_one();
        let slow = slow.await.unwrap();
        assert_eq!(slow.status, StatusCode::CONFLICT, "{}", slow.body);
        assert_eq!(slow.set_cookie(), None);
        if !fetch(&app, "/keys", Some(&cookie)).await.body.is_empty() {
            resurrections += 1;
        }
    }
    eprintln!("store_scenarios: purge races through the layer (memory): {resurrections} resurrections of {trials}");
    assert_eq!(resurrections, 0);
}

/// 64 tasks × 60 requests on one session, each writing its own key: nothing is lost.
/// (Each request loads the whole, growing session; the 64 × 250 run per store is in
/// `stores`, at the store interface.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_writing_distinct_keys_lose_nothing() {
    let (app, _) = app(config());
    let cookie = fetch(&app, "/put/seed", None).await.cookie_pair();
    let mut tasks = Vec::new();
    for task in 0..64 {
        let (app, cookie) = (app.clone(), cookie.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..60 {
                let reply = fetch(&app, &format!("/put/k{task}-{i}"), Some(&cookie)).await;
                assert_eq!(reply.status, StatusCode::OK);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let keys = fetch(&app, "/keys", Some(&cookie)).await.body;
    let present = keys.split(',').filter(|k| k.starts_with('k')).count();
    eprintln!(
        "store_scenarios: distinct-key writes through the layer (memory): {} lost of 3840",
        3840 - present
    );
    assert_eq!(present, 3840);
}

/// A memory store whose stored bytes have rotted: every load reports corruption.
struct Rotten(MemoryStore);

impl SessionStore for Rotten {
    async fn load(&self, _: &StoreKey, _: u64) -> Result<Option<Record>, StoreError> {
        Err(StoreError::Corrupt("test: rotten record"))
    }
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, StoreError> {
        self.0.create(key, record).await
    }
    async fn apply(
        &self,
        key: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        self.0.apply(key, changes, expires_at, now).await
    }
    async fn renew(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Renewed, StoreError> {
        self.0.renew(old, new, changes, expires_at, now).await
    }
    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        self.0.touch(key, expires_at, now).await
    }
    async fn delete(&self, key: &StoreKey) -> Result<(), StoreError> {
        self.0.delete(key).await
    }
    async fn sweep(&self, now: u64) -> Result<u64, StoreError> {
        self.0.sweep(now).await
    }
}

/// The routes of `support::app` on a counting memory store, through either adapter.
fn stored(framework: Framework, config: SessionConfig) -> (App, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let store = Counting {
        inner: MemoryStore::new(100_000),
        counts: counts.clone(),
    };
    (App::with_store(framework, config, store), counts)
}

crate::on_both_frameworks! {
async fn the_cookie_carries_only_a_signed_id(framework: Framework) {
    let (app, counts) = stored(framework, config());
    let first = app.get("/counter", None).await;
    assert_eq!(first.body, "1");
    assert_eq!(counts.create.load(Ordering::SeqCst), 1);
    let value = first.cookie_value();
    assert_eq!(
        value.matches('.').count(),
        2,
        "id.timestamp.signature: {value}"
    );
    let keys = flagon::KeyRing::new(Key::new("store scenarios").unwrap());
    let as_flask = flagon::flask::verify(
        value.as_bytes(),
        &keys,
        u64::MAX / 2,
        u64::MAX,
        0,
        &Default::default(),
    );
    assert!(
        as_flask.is_err(),
        "an id cookie never verifies as a Flask session cookie"
    );
    let second = app.get("/counter", Some(&first.cookie_pair())).await;
    assert_eq!(second.body, "2");
    assert_eq!(second.set_cookie(), None, "same id, nothing to re-send");
}

async fn an_unmodified_session_costs_one_read_and_no_write(framework: Framework) {
    let (app, counts) = stored(framework, config());
    let cookie = app.get("/counter", None).await.cookie_pair();
    let before = counts.writes();
    let loads = counts.load.load(Ordering::SeqCst);
    let read = app.get("/read", Some(&cookie)).await;
    assert_eq!(read.body, "1");
    assert_eq!(counts.load.load(Ordering::SeqCst), loads + 1);
    assert_eq!(counts.writes(), before);
    assert_eq!(counts.touch.load(Ordering::SeqCst), 0, "touch is throttled");
    assert!(read.varies_on_cookie());
}

async fn forged_and_unknown_ids_are_never_adopted(framework: Framework) {
    let (app, counts) = stored(framework, config());
    for forged in [
        "session=garbage",
        "session=eyJhIjoxfQ.ZVPxAA.njuUsaCugTIOn_G8r5TAhwpI-Yw",
    ] {
        assert_eq!(app.get("/read", Some(forged)).await.body, "0");
    }
    assert_eq!(
        counts.load.load(Ordering::SeqCst),
        0,
        "a forged id costs no store round trip"
    );
    let cookie = app.get("/put/a", None).await.cookie_pair();
    assert_eq!(
        app.get("/purge", Some(&cookie)).await.status,
        StatusCode::OK
    );
    let after = app.get("/put/b", Some(&cookie)).await;
    let new_cookie = after.cookie_pair();
    assert_ne!(new_cookie, cookie, "a dead id is replaced, not revived");
    assert_eq!(app.get("/keys", Some(&new_cookie)).await.body, "b");
    assert_eq!(app.get("/keys", Some(&cookie)).await.body, "");
}

async fn renew_kills_the_old_id_and_keeps_the_data(framework: Framework) {
    let (app, _) = stored(framework, config());
    let old = app.get("/put/user", None).await.cookie_pair();
    let renewed = app.get("/renew", Some(&old)).await;
    let new = renewed.cookie_pair();
    assert_ne!(new, old);
    assert_eq!(app.get("/keys", Some(&new)).await.body, "user");
    assert_eq!(
        app.get("/keys", Some(&old)).await.body,
        "",
        "old id loads nothing"
    );
}

async fn purge_deletes_the_record_and_the_cookie(framework: Framework) {
    let (app, counts) = stored(framework, config());
    let cookie = app.get("/put/a", None).await.cookie_pair();
    let purged = app.get("/purge", Some(&cookie)).await;
    assert!(purged
        .set_cookie()
        .unwrap()
        .starts_with("session=; Expires=Thu, 01 Jan 1970"));
    assert_eq!(counts.delete.load(Ordering::SeqCst), 1);
}

async fn reads_touch_at_most_once_per_interval_and_idle_sessions_expire(framework: Framework) {
    let clock = TestClock::at(1_700_000_000);
    let config = clock.install(config().idle_timeout(Duration::from_secs(600)));
    let (app, counts) = stored(framework, config);
    let cookie = app.get("/put/a", None).await.cookie_pair();
    clock.advance(30);
    app.get("/read", Some(&cookie)).await;
    assert_eq!(
        counts.touch.load(Ordering::SeqCst),
        0,
        "within the touch interval"
    );
    clock.advance(40);
    app.get("/read", Some(&cookie)).await;
    assert_eq!(
        counts.touch.load(Ordering::SeqCst),
        1,
        "a read past the interval is activity"
    );
    clock.advance(599);
    assert_eq!(
        app.get("/keys", Some(&cookie)).await.body,
        "a",
        "the touch moved the expiry"
    );
    clock.advance(601);
    assert_eq!(
        app.get("/keys", Some(&cookie)).await.body,
        "",
        "idle timeout"
    );
}

async fn the_absolute_timeout_holds_however_active_the_session_is(framework: Framework) {
    let clock = TestClock::at(1_700_000_000);
    let config = clock.install(
        config()
            .idle_timeout(Duration::from_secs(600))
            .absolute_timeout(Duration::from_secs(1000)),
    );
    let (app, _) = stored(framework, config);
    let cookie = app.get("/counter", None).await.cookie_pair();
    for _ in 0..9 {
        clock.advance(100);
        assert_ne!(app.get("/counter", Some(&cookie)).await.body, "1");
    }
    clock.advance(100);
    assert_eq!(
        app.get("/counter", Some(&cookie)).await.body,
        "1",
        "created 1000 s ago: a new session"
    );
}

async fn a_5xx_handler_saves_nothing_to_the_store(framework: Framework) {
    let (app, counts) = stored(framework, config());
    let reply = app.send("GET", "/fail", &[], None).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(counts.writes(), 0);
    assert_eq!(reply.set_cookie(), None);
}

async fn a_corrupt_record_is_an_empty_session_not_an_outage(framework: Framework) {
    let app = App::with_store(framework, config(), Rotten(MemoryStore::new(10)));
    let cookie = app.get("/put/a", None).await.cookie_pair();
    let read = app.get("/keys", Some(&cookie)).await;
    assert_eq!((read.status, read.body.as_str()), (StatusCode::OK, ""));
    let write = app.get("/put/b", Some(&cookie)).await;
    assert_ne!(
        write.cookie_pair(),
        cookie,
        "the unreadable id is not adopted"
    );
}
}
