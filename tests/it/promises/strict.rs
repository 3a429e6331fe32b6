//! Strict conflicts (opt-in): 64 tasks × 250 read-increment-write requests on one
//! session, through the axum layer, on every store. Each request either commits (200) or
//! is refused with 409 and saves nothing, so the counter's final value equals the number
//! of commits: no silent loss. Without strict conflicts the same run loses increments
//! (the default is last-writer-wins per key), which the test shows too.
//!
//! `FLAGON_STRICT_TASKS` and `FLAGON_STRICT_WRITES` scale it. In the shared test run it
//! is 16 × 40 (it would starve the tests running beside it); `.ci/run` runs the full
//! 64 × 250 alone.

use std::sync::Arc;

use flagon::axum::SessionLayer;
use flagon::store::any::AnyStore;
use http::StatusCode;

use crate::scenarios::routes;
use crate::support::http::get as fetch;

fn scale(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs the counter race on `store`; (commits, conflicts, final value).
async fn race(store: Arc<AnyStore>, strict: bool, tasks: usize, writes: usize) -> (u64, u64, u64) {
    let config = super::config().strict_conflicts(strict);
    let app = routes().layer(SessionLayer::new(config).unwrap().with_store(store));
    let cookie = fetch(&app, "/put/start", None).await.cookie_pair();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (app, cookie) = (app.clone(), cookie.clone());
        handles.push(tokio::spawn(async move {
            let (mut commits, mut conflicts) = (0, 0);
            for _ in 0..writes {
                let reply = fetch(&app, "/counter", Some(&cookie)).await;
                match reply.status {
                    StatusCode::OK => commits += 1,
                    StatusCode::CONFLICT => conflicts += 1,
                    other => panic!("unexpected {other}: {}", reply.body),
                }
            }
            (commits, conflicts)
        }));
    }
    let (mut commits, mut conflicts) = (0, 0);
    for handle in handles {
        let (c, x) = handle.await.unwrap();
        commits += c;
        conflicts += x;
    }
    let value: u64 = fetch(&app, "/read", Some(&cookie))
        .await
        .body
        .parse()
        .unwrap();
    (commits, conflicts, value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn strict_conflicts_lose_no_increment_on_any_store() {
    let (tasks, writes) = (
        scale("FLAGON_STRICT_TASKS", 16),
        scale("FLAGON_STRICT_WRITES", 40),
    );
    let stores = super::Stores::all(true);
    for (store, name) in stores.connect().await {
        let started = std::time::Instant::now();
        let (commits, conflicts, value) = race(store.clone(), true, tasks, writes).await;
        eprintln!(
            "[{name}] strict, {tasks} x {writes}: {commits} committed, {conflicts} refused with 409, \
             final value {value}, silent losses {} ({:?})",
            commits - value,
            started.elapsed()
        );
        assert_eq!(commits + conflicts, (tasks * writes) as u64);
        assert_eq!(value, commits, "{name}: a committed increment was lost");
        assert!(commits > 0, "{name}: nothing ever committed");
        let (commits, _, value) = race(store, false, 16, 20).await;
        eprintln!("[{name}] last-writer-wins, 16 x 20: {commits} committed, final value {value}");
    }
}
