//! Store outage through the layer, for real: a redis-server of the test's own is killed
//! mid-run and restarted. Requests get the configured 503 within the deadline plus 100 ms,
//! the client's cookie is never touched, routes without sessions keep working, and every
//! session from before the outage is valid again once Redis is back.

use std::time::{Duration, Instant};

use axum::Router;
use flagon::axum::SessionLayer;
use flagon::store::redis::{RedisOptions, RedisStore};
use flagon::{Key, SessionConfig};
use http::StatusCode;

use crate::scenarios::routes;
use crate::support::http::{get, Reply};
use crate::support::redis_server::{available, RedisServer};

const DEADLINE: Duration = Duration::from_millis(300);

async fn app(url: &str) -> Router {
    let options = RedisOptions::default()
        .deadline(DEADLINE)
        .prefix("flagon-outage:");
    let store = RedisStore::connect_with(url, options)
        .await
        .expect("connect to the test's redis");
    let config = SessionConfig::flask(Key::new("outage").unwrap()).store_deadline(DEADLINE);
    routes().layer(SessionLayer::new(config).unwrap().with_store(store))
}

async fn timed(app: &Router, path: &str, cookie: Option<&str>) -> (Reply, Duration) {
    let started = Instant::now();
    let reply = get(app, path, cookie).await;
    (reply, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_run_then_restarted() {
    if !available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server is required under CI"
        );
        eprintln!("SKIPPED outage test: redis-server is not installed");
        return;
    }
    // Every write is on disk before Redis answers, so a SIGKILL loses nothing.
    let mut redis = RedisServer::start(&["--appendonly", "yes", "--appendfsync", "always"]);
    let app = app(&redis.url()).await;
    let login = get(&app, "/counter", None).await;
    assert_eq!(login.body, "1");
    let cookie = login.cookie_pair();

    redis.kill();
    let mut worst = Duration::ZERO;
    for (path, cookie) in [
        ("/read", Some(cookie.as_str())),
        ("/counter", Some(&cookie)),
        ("/counter", None),
    ] {
        for _ in 0..5 {
            let (reply, took) = timed(&app, path, cookie).await;
            worst = worst.max(took);
            assert_eq!(
                reply.status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{path}: {}",
                reply.body
            );
            assert_eq!(reply.headers.get("retry-after").unwrap(), "1");
            assert!(
                reply.varies_on_cookie(),
                "{path}: a 503 depends on the cookie too"
            );
            assert_eq!(
                reply.set_cookie(),
                None,
                "{path}: the client's cookie is never touched"
            );
            assert!(
                !reply.body.contains("redis") && !reply.body.contains("127.0.0.1"),
                "no internals"
            );
        }
    }
    eprintln!("outage: worst latency while Redis was down: {worst:?} (deadline {DEADLINE:?})");
    assert!(
        worst <= DEADLINE + Duration::from_millis(100),
        "worst {worst:?}"
    );
    let (plain, _) = timed(&app, "/untouched", Some(&cookie)).await;
    assert_eq!(
        plain.status,
        StatusCode::OK,
        "routes without sessions are unaffected"
    );

    redis.restart();
    let back = Instant::now();
    let mut reply = get(&app, "/counter", Some(&cookie)).await;
    while reply.status != StatusCode::OK && back.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        reply = get(&app, "/counter", Some(&cookie)).await;
    }
    eprintln!(
        "outage: first success {:?} after Redis came back",
        back.elapsed()
    );
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body, "2",
        "the session from before the outage is still valid"
    );
}
