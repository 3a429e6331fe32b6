//! Regression tests for the guarantees that once broke (issue "keep every promise"), each
//! through the axum layer on every store with real servers: memory, SQLite, Redis,
//! Redis Cluster and PostgreSQL.
//!
//! Interleavings are forced with gates inside handlers, not left to timing: a handler
//! signals that it has loaded the session, then waits until the test lets it finish.
//!
//! Run: `cargo test --all-features --test it promises -- --nocapture`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use flagon::axum::SessionLayer;
use flagon::store::any::AnyStore;
use flagon::{Key, Session, SessionConfig};
use http::StatusCode;
use tokio::sync::Notify;

use crate::scenarios::{routes, TestClock};
use crate::stores::{run_id, skip_or_fail};
use crate::support::http::{get as fetch, send};

mod cookie_limits;
mod memory_eviction;
mod postgres_faults;
mod redis_faults;
mod settings;
mod sqlite_order;
mod strict;
mod timeouts;

/// Two hand-offs between the test and one waiting handler.
#[derive(Default)]
struct Gate {
    /// The handler has its session and did its first step.
    reached: Notify,
    /// The test lets the handler finish.
    release: Notify,
}

impl Gate {
    async fn pass(&self) {
        self.reached.notify_one();
        self.release.notified().await;
    }
}

/// The stores every test here runs on, as `AnyStore` specs. Redis Cluster is started by
/// the caller (it needs its own servers) and added when available.
struct Stores {
    specs: Vec<(String, &'static str)>,
    _cluster: Option<crate::support::redis_cluster::RedisCluster>,
    _db: TempFile,
}

struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Stores {
    fn all(with_cluster: bool) -> Stores {
        let db = std::env::temp_dir().join(format!("flagon-promises-{}.db", run_id()));
        let mut specs = vec![
            ("memory".to_owned(), "memory"),
            (format!("sqlite:{}", db.display()), "sqlite"),
            ("redis://127.0.0.1:6379".to_owned(), "redis"),
            (
                "postgres://postgres@127.0.0.1:5432/test".to_owned(),
                "postgres",
            ),
        ];
        let cluster = (with_cluster && crate::support::redis_server::available()).then(|| {
            let cluster = crate::support::redis_cluster::RedisCluster::start();
            let seeds: Vec<String> = cluster
                .ports()
                .iter()
                .map(|p| format!("127.0.0.1:{p}"))
                .collect();
            specs.push((
                format!("redis+cluster://{}", seeds.join(",")),
                "redis-cluster",
            ));
            cluster
        });
        if with_cluster && cluster.is_none() {
            skip_or_fail("redis-server (for a Redis Cluster)", &"not installed");
        }
        Stores {
            specs,
            _cluster: cluster,
            _db: TempFile(db),
        }
    }

    /// Each store that answers, connected, with its name.
    async fn connect(&self) -> Vec<(Arc<AnyStore>, &'static str)> {
        let mut out = Vec::new();
        for (spec, name) in &self.specs {
            // A few tries: on a saturated machine a connect can miss the store's 500 ms
            // deadline although the server is fine; what is tested comes after.
            let mut tries = 0;
            loop {
                match AnyStore::connect(spec).await {
                    Ok(store) => out.push((Arc::new(store), *name)),
                    Err(_) if tries < 4 => {
                        tries += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                        continue;
                    }
                    Err(e) => skip_or_fail(name, &e),
                }
                break;
            }
        }
        out
    }
}

fn config() -> SessionConfig {
    SessionConfig::flask(Key::new("promises: a long enough secret for the tests").unwrap())
}

/// The scenario routes plus gated ones, on `store`.
fn app(store: Arc<AnyStore>, config: SessionConfig, gate: Arc<Gate>) -> Router {
    let layer = SessionLayer::new(config).unwrap().with_store(store);
    let pop_gate = gate.clone();
    let put_gate = gate.clone();
    let renew_gate = gate;
    routes()
        .route(
            "/pop-wait/{key}",
            get(move |s: Session, Path(key): Path<String>| async move {
                s.remove(&key);
                pop_gate.pass().await;
                "popped"
            }),
        )
        .route(
            "/put-wait/{key}",
            get(move |s: Session, Path(key): Path<String>| async move {
                let _ = s.keys();
                put_gate.pass().await;
                s.insert_value(&key, true);
                "put"
            }),
        )
        .route(
            "/login-wait",
            get(move |s: Session| async move {
                let _ = s.keys();
                renew_gate.pass().await;
                s.renew();
                s.insert_value("user", "alice");
                "logged in"
            }),
        )
        .route(
            "/own-cache-control",
            get(|s: Session| async move {
                s.insert_value("k", 1);
                ([(http::header::CACHE_CONTROL, "no-store")], "ok")
            }),
        )
        .layer(layer)
}

const TRIALS: usize = 20;

/// A handler that empties its *view* of the session (it popped the last key it saw)
/// must not delete keys another request wrote meanwhile, in either order, and the other
/// request must not be told to sign in again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn emptying_a_stale_view_never_loses_a_concurrent_write() {
    let stores = Stores::all(true);
    for (store, name) in stores.connect().await {
        let gate = Arc::new(Gate::default());
        let app = app(store, config(), gate.clone());
        let (mut lost, mut conflicts) = (0, 0);
        for _ in 0..TRIALS {
            // Order 1: A pops `x` and waits; B writes `b` and finishes first; then A.
            let cookie = fetch(&app, "/put/x", None).await.cookie_pair();
            let a = {
                let (app, cookie) = (app.clone(), cookie.clone());
                tokio::spawn(async move { fetch(&app, "/pop-wait/x", Some(&cookie)).await })
            };
            gate.reached.notified().await;
            let b = fetch(&app, "/put/b", Some(&cookie)).await;
            assert_eq!(b.status, StatusCode::OK, "{name}: {}", b.body);
            gate.release.notify_one();
            let a = a.await.unwrap();
            assert_eq!(a.status, StatusCode::OK, "{name}: {}", a.body);
            if fetch(&app, "/keys", Some(&cookie)).await.body != "b" {
                lost += 1;
            }

            // Order 2: B loads `{x}` and waits; A pops `x` and finishes; then B writes `b`.
            let cookie = fetch(&app, "/put/x", None).await.cookie_pair();
            let b = {
                let (app, cookie) = (app.clone(), cookie.clone());
                tokio::spawn(async move { fetch(&app, "/put-wait/b", Some(&cookie)).await })
            };
            gate.reached.notified().await;
            let a = fetch(&app, "/pop/x", Some(&cookie)).await;
            assert_eq!(a.status, StatusCode::OK, "{name}: {}", a.body);
            gate.release.notify_one();
            let b = b.await.unwrap();
            if b.status == StatusCode::CONFLICT {
                conflicts += 1;
            }
            if fetch(&app, "/keys", Some(&cookie)).await.body != "b" {
                lost += 1;
            }
        }
        eprintln!("[{name}] stale-empty races: {lost} lost writes, {conflicts} spurious 409s in {TRIALS} trials of each order");
        assert_eq!(lost, 0, "{name}: a concurrent write was lost");
        assert_eq!(
            conflicts, 0,
            "{name}: a write got 409 though nobody logged out"
        );
    }
}

/// Only an explicit purge or clear ends a session; popping every key leaves it alive and
/// keeps the cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_purge_or_clear_ends_a_stored_session() {
    let stores = Stores::all(false);
    for (store, name) in stores.connect().await {
        let app = app(store, config(), Arc::default());
        let cookie = fetch(&app, "/put/x", None).await.cookie_pair();
        let popped = fetch(&app, "/pop/x", Some(&cookie)).await;
        assert_eq!(
            popped.set_cookie(),
            None,
            "{name}: popping the last key sent a cookie"
        );
        let put = fetch(&app, "/put/y", Some(&cookie)).await;
        assert_eq!(put.status, StatusCode::OK, "{name}");
        assert_eq!(
            put.set_cookie(),
            None,
            "{name}: the emptied session was not kept"
        );
        assert_eq!(fetch(&app, "/keys", Some(&cookie)).await.body, "y");
        let cleared = fetch(&app, "/clear", Some(&cookie)).await;
        assert!(
            cleared
                .set_cookie()
                .unwrap()
                .contains("Expires=Thu, 01 Jan 1970"),
            "{name}: clear did not delete the cookie"
        );
        let after = fetch(&app, "/put/z", Some(&cookie)).await;
        assert_ne!(after.set_cookie(), None, "{name}: a cleared id was reused");
    }
}

/// A login (renew) racing a logout (purge) on the same cookie gets a fresh session
/// holding only what the login wrote, not a 409 and not the old data.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_racing_a_logout_gets_a_fresh_session() {
    let stores = Stores::all(false);
    for (store, name) in stores.connect().await {
        let gate = Arc::new(Gate::default());
        let app = app(store, config(), gate.clone());
        for _ in 0..5 {
            let old = fetch(&app, "/put/cart", None).await.cookie_pair();
            let login = {
                let (app, old) = (app.clone(), old.clone());
                tokio::spawn(async move { fetch(&app, "/login-wait", Some(&old)).await })
            };
            gate.reached.notified().await;
            fetch(&app, "/purge", Some(&old)).await;
            gate.release.notify_one();
            let login = login.await.unwrap();
            assert_eq!(login.status, StatusCode::OK, "{name}: {}", login.body);
            let new = login.cookie_pair();
            assert_ne!(new, old, "{name}");
            assert_eq!(
                fetch(&app, "/keys", Some(&new)).await.body,
                "user",
                "{name}"
            );
            assert_eq!(
                fetch(&app, "/keys", Some(&old)).await.body,
                "",
                "{name}: the purged session came back"
            );
        }
    }
}

/// Cookie tossing: a logged-out (dead) id placed before the live one does not hide it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_id_cookie_does_not_hide_a_live_one() {
    let stores = Stores::all(false);
    for (store, name) in stores.connect().await {
        let app = app(store, config(), Arc::default());
        let dead = fetch(&app, "/put/a", None).await.cookie_pair();
        fetch(&app, "/purge", Some(&dead)).await;
        let live = fetch(&app, "/put/b", None).await.cookie_pair();
        let both = format!("{dead}; {live}");
        let reply = send(&app, "GET", "/keys", &[&both], None).await;
        assert_eq!(reply.body, "b", "{name}: the dead id hid the live one");
        let split = send(&app, "GET", "/keys", &[&dead, &live], None).await;
        assert_eq!(split.body, "b", "{name}: across Cookie fields");
    }
}

/// Reads at half the idle timeout keep a session alive, whatever the touch throttle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_touch_throttle_never_shortens_the_idle_timeout() {
    let stores = Stores::all(false);
    for (store, name) in stores.connect().await {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let clock = TestClock::at(now);
        let config = clock.install(config().idle_timeout(Duration::from_secs(90)));
        let app = app(store, config, Arc::default());
        let cookie = fetch(&app, "/put/n", None).await.cookie_pair();
        for step in 1..=8 {
            clock.advance(45);
            let keys = fetch(&app, "/keys", Some(&cookie)).await.body;
            assert_eq!(
                keys,
                "n",
                "{name}: logged out at {} s of reads every 45 s",
                step * 45
            );
        }
        clock.advance(91);
        assert_eq!(
            fetch(&app, "/keys", Some(&cookie)).await.body,
            "",
            "{name}: idle session survived"
        );
    }
}

/// A session cookie never goes out cacheable by a shared cache; an app's own
/// `Cache-Control` is left alone.
#[tokio::test]
async fn session_cookies_go_out_with_cache_control_private() {
    let cookie_app = routes().layer(SessionLayer::new(config()).unwrap());
    let stored = app(
        Arc::new(AnyStore::connect("memory").await.unwrap()),
        config(),
        Arc::default(),
    );
    for (app, name) in [(&cookie_app, "cookie"), (&stored, "memory")] {
        let set = fetch(app, "/put/a", None).await;
        assert!(set.set_cookie().is_some());
        assert_eq!(
            set.headers[http::header::CACHE_CONTROL],
            "private",
            "{name}"
        );
        let cookie = set.cookie_pair();
        let read = fetch(app, "/keys", Some(&cookie)).await;
        assert!(read.set_cookie().is_none());
        assert!(
            read.headers.get(http::header::CACHE_CONTROL).is_none(),
            "{name}: a response without a cookie was marked"
        );
    }
    let own = fetch(&stored, "/own-cache-control", None).await;
    assert_eq!(own.headers[http::header::CACHE_CONTROL], "no-store");
    let off = routes().layer(SessionLayer::new(config().cache_control_private(false)).unwrap());
    assert!(fetch(&off, "/put/a", None)
        .await
        .headers
        .get(http::header::CACHE_CONTROL)
        .is_none());
}
