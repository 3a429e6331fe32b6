//! flagon's metrics (`flagon::telemetry`) under a scripted mix of requests, read back
//! from `metrics-util`'s debugging recorder.
//!
//! Each test installs its recorder for its own thread only (`set_default_local_recorder`
//! on a current-thread runtime), so tests running in parallel do not count each other.

use std::collections::HashMap;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use flagon::axum::SessionLayer;
use flagon::store::memory::MemoryStore;
use flagon::{flask, CookieMode, Key, Session, SessionConfig, SessionError};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::MetricKind;

use crate::scenarios::TestClock;
use crate::support::http::{get as fetch, send};

const T0: u64 = 1_700_000_000;

async fn login(session: Session) -> Result<&'static str, SessionError> {
    session.insert("user", "alice")?;
    Ok("ok")
}

async fn whoami(session: Session) -> Result<String, SessionError> {
    Ok(session.get::<String>("user")?.unwrap_or_default())
}

async fn big(session: Session) -> Result<&'static str, SessionError> {
    // Incompressible, so even Flask's zlib step leaves it over the limit.
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let blob: String = (0..5000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize])
        })
        .collect();
    session.insert("blob", blob)?;
    Ok("ok")
}

async fn logout(session: Session) -> &'static str {
    session.purge();
    "bye"
}

fn routes() -> Router {
    Router::new()
        .route("/login", get(login))
        .route("/whoami", get(whoami))
        .route("/big", get(big))
        .route("/logout", get(logout))
}

/// `cookie` with the character at `at` swapped for another base64url character (never
/// the last one, whose spare bits must stay zero).
fn tamper(cookie: &str, at: usize) -> String {
    let mut bytes = cookie.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

/// Counter values and histogram sample counts, by `name{label=value,…}` (labels sorted).
struct Readout {
    counters: HashMap<String, u64>,
    histograms: HashMap<String, Vec<f64>>,
}

impl Readout {
    fn take(snapshotter: &Snapshotter) -> Readout {
        let mut counters = HashMap::new();
        let mut histograms = HashMap::new();
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let (kind, key) = key.into_parts();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let name = format!("{}{{{}}}", key.name(), labels.join(","));
            match (kind, value) {
                (MetricKind::Counter, DebugValue::Counter(n)) => {
                    counters.insert(name, n);
                }
                (MetricKind::Histogram, DebugValue::Histogram(samples)) => {
                    histograms.insert(name, samples.into_iter().map(|s| s.0).collect());
                }
                _ => {}
            }
        }
        Readout {
            counters,
            histograms,
        }
    }

    fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }

    /// Every counter whose name starts with `prefix`, for a readable failure message.
    fn family(&self, prefix: &str) -> Vec<(&str, u64)> {
        let mut found: Vec<_> = self
            .counters
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        found.sort();
        found
    }
}

#[tokio::test]
async fn cookie_sessions_count_good_tampered_expired_and_oversize() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _guard = metrics::set_default_local_recorder(&recorder);

    let clock = TestClock::at(T0);
    let config = clock.install(
        SessionConfig::new(Key::new("current key").unwrap())
            .fallback_key(Key::new("old key").unwrap())
            .secure(false)
            .permanent_lifetime(Duration::from_secs(3600)),
    );
    let app = routes().layer(SessionLayer::new(config).unwrap());

    // new → set
    let cookie = fetch(&app, "/login", None).await.cookie_pair();
    // loaded ×2 → unchanged ×2
    for _ in 0..2 {
        assert_eq!(fetch(&app, "/whoami", Some(&cookie)).await.body, "alice");
    }
    // tampered (a signature character changed) → rejected, bad_signature
    let tampered = tamper(&cookie, cookie.len() - 5);
    assert_eq!(fetch(&app, "/whoami", Some(&tampered)).await.body, "");
    // malformed and oversize cookies in one request → one rejected session, two reasons
    let long = format!("session={}", "a".repeat(5000));
    let both = send(&app, "GET", "/whoami", &["session=garbage", &long], None).await;
    assert_eq!(both.body, "");
    // a cookie signed with the fallback key → loaded, fallback counted
    let mut data = flagon::Map::new();
    data.insert("user".into(), "bob".into());
    let old = flask::sign(&data, &Key::new("old key").unwrap(), T0);
    let old = format!("session={old}");
    assert_eq!(fetch(&app, "/whoami", Some(&old)).await.body, "bob");
    // too large to save → too_large
    let reply = fetch(&app, "/big", Some(&cookie)).await;
    assert_eq!(reply.status, http::StatusCode::INTERNAL_SERVER_ERROR);
    // logout → deleted, revoked
    assert!(fetch(&app, "/logout", Some(&cookie))
        .await
        .set_cookie()
        .unwrap()
        .starts_with("session=;"));
    // expired, then from the future
    clock.advance(3601);
    assert_eq!(fetch(&app, "/whoami", Some(&cookie)).await.body, "");
    let future = format!(
        "session={}",
        flask::sign(&data, &Key::new("current key").unwrap(), T0 + 9000)
    );
    assert_eq!(fetch(&app, "/whoami", Some(&future)).await.body, "");

    let got = Readout::take(&snapshotter);
    let opened = |outcome: &str| {
        got.counter(&format!(
            "flagon_sessions_opened_total{{outcome={outcome}}}"
        ))
    };
    let rejected = |reason: &str| {
        got.counter(&format!(
            "flagon_sessions_rejected_total{{reason={reason}}}"
        ))
    };
    let saves =
        |result: &str| got.counter(&format!("flagon_session_saves_total{{result={result}}}"));
    let all = got.family("flagon_");
    // 10 requests: 1 new, 5 loaded (2 reads, fallback, big, logout), 4 rejected.
    assert_eq!(
        (opened("new"), opened("loaded"), opened("rejected")),
        (1, 5, 4),
        "{all:?}"
    );
    assert_eq!(rejected("bad_signature"), 1, "{all:?}");
    assert_eq!(rejected("malformed"), 1, "{all:?}");
    assert_eq!(rejected("oversize"), 1, "{all:?}");
    assert_eq!(rejected("expired"), 1, "{all:?}");
    assert_eq!(rejected("future"), 1, "{all:?}");
    assert_eq!(
        got.counter("flagon_sessions_fallback_key_total{}"),
        1,
        "{all:?}"
    );
    assert_eq!(saves("set"), 1, "{all:?}");
    assert_eq!(saves("too_large"), 1, "{all:?}");
    assert_eq!(saves("deleted"), 1, "{all:?}");
    assert_eq!(saves("unchanged"), 7, "{all:?}");
    assert_eq!(got.counter("flagon_sessions_revoked_total{how=logout}"), 1);
    let sizes = &got.histograms["flagon_set_cookie_bytes{}"];
    assert_eq!(sizes.len(), 2, "the login cookie and the deletion");
    assert!(sizes.iter().all(|&n| n > 20.0 && n < 4096.0), "{sizes:?}");
}

#[tokio::test]
async fn sealed_tampering_counts_as_bad_signature() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _guard = metrics::set_default_local_recorder(&recorder);
    let config = SessionConfig::new(Key::new("k").unwrap())
        .secure(false)
        .cookie_mode(CookieMode::Sealed);
    let app = routes().layer(SessionLayer::new(config).unwrap());
    let cookie = fetch(&app, "/login", None).await.cookie_pair();
    let tampered = tamper(&cookie, 20);
    assert_eq!(fetch(&app, "/whoami", Some(&tampered)).await.body, "");
    assert_eq!(fetch(&app, "/whoami", Some(&cookie)).await.body, "alice");
    let got = Readout::take(&snapshotter);
    let all = got.family("flagon_");
    assert_eq!(
        got.counter("flagon_sessions_rejected_total{reason=bad_signature}"),
        1,
        "{all:?}"
    );
    assert_eq!(
        got.counter("flagon_sessions_opened_total{outcome=loaded}"),
        1,
        "{all:?}"
    );
}

#[tokio::test]
async fn store_sessions_count_unknown_ids_and_store_latency() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _guard = metrics::set_default_local_recorder(&recorder);
    let config = SessionConfig::new(Key::new("k").unwrap()).secure(false);
    let app = routes().layer(
        SessionLayer::new(config)
            .unwrap()
            .with_store(MemoryStore::new(100)),
    );
    let cookie = fetch(&app, "/login", None).await.cookie_pair();
    assert_eq!(fetch(&app, "/whoami", Some(&cookie)).await.body, "alice");
    fetch(&app, "/logout", Some(&cookie)).await;
    // The logged-out id still verifies, but has no record.
    assert_eq!(fetch(&app, "/whoami", Some(&cookie)).await.body, "");
    // A signed id cookie someone edited.
    let edited = tamper(&cookie, cookie.len() - 5);
    assert_eq!(fetch(&app, "/whoami", Some(&edited)).await.body, "");
    let got = Readout::take(&snapshotter);
    let all = got.family("flagon_");
    assert_eq!(
        got.counter("flagon_sessions_rejected_total{reason=unknown_id}"),
        1,
        "{all:?}"
    );
    assert_eq!(
        got.counter("flagon_sessions_rejected_total{reason=bad_signature}"),
        1,
        "{all:?}"
    );
    assert_eq!(
        got.counter("flagon_session_saves_total{result=set}"),
        1,
        "{all:?}"
    );
    assert_eq!(
        got.counter("flagon_session_saves_total{result=deleted}"),
        1,
        "{all:?}"
    );
    for op in ["create", "load", "delete"] {
        let key = format!("flagon_store_operation_seconds{{op={op},store=memory}}");
        assert!(
            got.histograms.get(&key).is_some_and(|s| !s.is_empty()),
            "{key} missing: {:?}",
            got.histograms.keys().collect::<Vec<_>>()
        );
    }
    assert_eq!(
        got.histograms["flagon_store_operation_seconds{op=load,store=memory}"].len(),
        3
    );
}

#[tokio::test]
async fn spans_carry_outcome_and_id_hash_never_the_id() {
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("flagon=debug")
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Other tests' threads may have cached "nobody listens" for flagon's callsites.
    tracing::callsite::rebuild_interest_cache();
    let config = SessionConfig::new(Key::new("k").unwrap()).secure(false);
    let app = routes().layer(
        SessionLayer::new(config)
            .unwrap()
            .with_store(MemoryStore::new(100)),
    );
    let cookie = fetch(&app, "/login", None).await.cookie_pair();
    assert_eq!(fetch(&app, "/whoami", Some(&cookie)).await.body, "alice");
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("flagon.session{mode=\"store\""), "{log}");
    assert!(log.contains("outcome=\"loaded\""), "{log}");
    assert!(log.contains("saved=\"unchanged\""), "{log}");
    assert!(log.contains("new_id_hash="), "{log}");
    assert!(log.contains("id_hash="), "{log}");
    let value = cookie.split_once('=').unwrap().1;
    let id_part = value.split('.').next().unwrap();
    assert!(!log.contains(value) && !log.contains(id_part), "{log}");
}
