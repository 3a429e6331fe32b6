//! Soak: mixed traffic through the login example (examples/login.rs) on every session
//! mode: cookie, memory, SQLite, Redis and PostgreSQL. 64 clients, each with its own
//! cookie jar, log in, read the dashboard, log out, fail a login, and send tampered
//! cookies, in a fixed pseudo-random mix. Every reply must be the one the example gives
//! for that step (no error beyond the expected "Access denied!" and "Login failed!"), and
//! RSS after the run must be within ±10 % of RSS after the warm-up (the first half).
//!
//! `#[ignore]`d in the shared run (it measures this process's memory); `.ci/run` runs it
//! alone with 20,000 requests per mode, `scripts/soak` with 1,000,000
//! (`FLAGON_SOAK_REQUESTS`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use flagon::axum::SessionLayer;
use flagon::store::any::AnyStore;
use flagon::{Key, SessionConfig};

use crate::support::http::{get, send};

#[allow(dead_code, unreachable_pub, clippy::duplicate_mod)] // also in login_example.rs
#[path = "../../examples/login.rs"]
mod login;

const CLIENTS: u64 = 64;

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0)
        * 4
}

/// One client's walk: `steps` requests; returns the count of unexpected replies.
async fn client(app: axum::Router, seed: u64, steps: u64, done: Arc<AtomicU64>) -> u64 {
    let mut state = seed | 1;
    let mut cookie: Option<String> = None;
    let mut logged_in = false;
    let mut unexpected = 0;
    for _ in 0..steps {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let (body, expected) = match state % 10 {
            0 | 1 => {
                let reply = send(
                    &app,
                    "POST",
                    "/login",
                    &cookies(&cookie),
                    Some("username=admin"),
                )
                .await;
                if let Some(set) = reply.set_cookies().first() {
                    cookie = Some(set.split(';').next().unwrap().to_owned());
                }
                // A login the store could not save (503) leaves the client as it was.
                logged_in |= reply.status == http::StatusCode::OK;
                (reply.body, "Logged in successfully!")
            }
            2 => {
                let reply = send(
                    &app,
                    "POST",
                    "/login",
                    &cookies(&cookie),
                    Some("username=eve"),
                )
                .await;
                (reply.body, "Login failed!")
            }
            3 => {
                let reply = get(&app, "/logout", cookie.as_deref()).await;
                if let Some(set) = reply.set_cookies().first() {
                    cookie = Some(set.split(';').next().unwrap().to_owned());
                }
                logged_in &= reply.status != http::StatusCode::OK;
                (reply.body, "Logged out successfully!")
            }
            4 => {
                // A tampered cookie: one character of the signature changed.
                let forged = cookie.as_deref().map(|c| {
                    let mut bytes = c.as_bytes().to_vec();
                    let at = bytes.len() - 3;
                    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
                    String::from_utf8(bytes).unwrap()
                });
                let reply = get(&app, "/dashboard", forged.as_deref()).await;
                (reply.body, "Access denied!")
            }
            _ => {
                let reply = get(&app, "/dashboard", cookie.as_deref()).await;
                let want = if logged_in {
                    "Welcome to the dashboard!"
                } else {
                    "Access denied!"
                };
                (reply.body, want)
            }
        };
        if body != expected {
            unexpected += 1;
            if unexpected <= 3 {
                eprintln!("unexpected reply {body:?}, wanted {expected:?}");
            }
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
    unexpected
}

fn cookies(cookie: &Option<String>) -> Vec<&str> {
    cookie.as_deref().into_iter().collect()
}

async fn soak(mode: &str, layer: SessionLayer, requests: u64) {
    let app = login::app(layer);
    let done = Arc::new(AtomicU64::new(0));
    let per_client = requests / CLIENTS;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        tasks.push(tokio::spawn(client(
            app.clone(),
            0x9e37_79b9 * (i + 1),
            per_client,
            done.clone(),
        )));
    }
    // RSS at every tenth of the run. The first half is the warm-up: SQLite's page caches
    // (2 MiB per connection) and the stores' pools fill over it (a 2,000,000-request
    // SQLite run grew 16.0 → 18.4 MiB over the first half, then 18.4 → 19.0 MiB).
    let mut samples = Vec::new();
    for tenth in 1..10 {
        while done.load(Ordering::Relaxed) < per_client * CLIENTS * tenth / 10 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        samples.push(rss_kib());
    }
    let warm = samples[4];
    let mut unexpected = 0;
    for task in tasks {
        unexpected += task.await.expect("a client panicked");
    }
    let end = rss_kib();
    samples.push(end);
    eprintln!("[soak {mode}] RSS at each tenth (KiB): {samples:?}");
    let total = per_client * CLIENTS;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "[soak {mode}] {total} requests in {secs:.1} s ({:.0}/s): {unexpected} unexpected replies; \
         RSS after warm-up {warm} KiB, at the end {end} KiB ({:+.1} %)",
        total as f64 / secs,
        (end as f64 - warm as f64) * 100.0 / warm as f64
    );
    assert_eq!(unexpected, 0, "[{mode}]");
    assert!(
        end * 10 <= warm * 11 && end * 10 >= warm * 9,
        "[{mode}] RSS moved"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measures this process's memory: run alone (scripts/soak, or the CI step)"]
async fn soak_the_login_example_on_every_store() {
    let requests = std::env::var("FLAGON_SOAK_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let db = std::env::temp_dir().join(format!("flagon-soak-{}.db", std::process::id()));
    let config = || {
        SessionConfig::new(Key::new("soak: a long enough secret key for tests").unwrap())
            .secure(false)
    };
    let only = std::env::var("FLAGON_SOAK_MODES").unwrap_or_default();
    let wanted = |mode: &str| only.is_empty() || only.split(',').any(|m| m == mode);
    if wanted("cookie") {
        soak("cookie", SessionLayer::new(config()).unwrap(), requests).await;
    }
    for spec in [
        "memory".to_owned(),
        format!("sqlite:{}", db.display()),
        "redis://127.0.0.1:6379".to_owned(),
        "postgres://postgres@127.0.0.1:5432/test".to_owned(),
    ] {
        let kind = spec.split(':').next().unwrap().to_owned();
        if !wanted(&kind) {
            continue;
        }
        let store = match AnyStore::connect(&spec).await {
            Ok(store) => store,
            Err(e) => {
                if std::env::var_os("CI").is_some() {
                    panic!("{kind} is required under CI: {e}");
                }
                eprintln!("SKIPPED soak on {kind}: {e}");
                continue;
            }
        };
        soak(
            &kind,
            SessionLayer::new(config()).unwrap().with_store(store),
            requests,
        )
        .await;
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}
