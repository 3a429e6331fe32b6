//! The axum adapter end to end, in-process: what a browser would see.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use flagon::axum::SessionLayer;
use flagon::{flask, Key, KeyRing, Map, Session, SessionConfig, SessionError, Value};

use crate::support::http::{get as fetch, send};

const SECRET: &str = "scenario secret";
const T0: u64 = 1_700_000_000;

/// A clock the test moves by hand.
#[derive(Clone)]
pub(crate) struct TestClock(Arc<AtomicU64>);

impl TestClock {
    pub(crate) fn at(unix: u64) -> TestClock {
        TestClock(Arc::new(AtomicU64::new(unix)))
    }
    pub(crate) fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
    pub(crate) fn install(&self, config: SessionConfig) -> SessionConfig {
        let clock = self.0.clone();
        config.clock(move || UNIX_EPOCH + Duration::from_secs(clock.load(Ordering::SeqCst)))
    }
}

async fn read(session: Session) -> Result<String, SessionError> {
    Ok(session.get::<i64>("n")?.unwrap_or(0).to_string())
}

async fn counter(session: Session) -> Result<String, SessionError> {
    let n = session.get::<i64>("n")?.unwrap_or(0) + 1;
    session.insert("n", n)?;
    Ok(n.to_string())
}

async fn put(session: Session, Path(key): Path<String>) -> Result<&'static str, SessionError> {
    session.insert(&key, true)?;
    Ok("ok")
}

async fn pop(session: Session, Path(key): Path<String>) -> String {
    format!("{:?}", session.remove(&key))
}

async fn keys(session: Session) -> String {
    session.keys().join(",")
}

async fn permanent(session: Session, Path(on): Path<bool>) -> &'static str {
    session.set_permanent(on);
    "ok"
}

async fn fail(session: Session) -> (StatusCode, &'static str) {
    session.insert_value("doomed", true);
    (StatusCode::INTERNAL_SERVER_ERROR, "handler failed")
}

async fn big(session: Session, Path(len): Path<usize>) -> &'static str {
    session.insert_value("big", Value::Str(pseudo_random_text(len)));
    "ok"
}

async fn big_checked(session: Session, Path(len): Path<usize>) -> (StatusCode, String) {
    session.insert_value("big", Value::Str(pseudo_random_text(len)));
    match session.check_size() {
        Ok(()) => (StatusCode::OK, "fits".into()),
        Err(e) => {
            session.remove("big");
            (StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
        }
    }
}

/// Text that zlib cannot shrink much, so cookie sizes are predictable.
fn pseudo_random_text(len: usize) -> String {
    let mut x: u32 = 2_463_534_242;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            char::from(b'!' + (x % 90) as u8)
        })
        .collect()
}

pub(crate) fn routes() -> Router {
    Router::new()
        .route("/read", get(read))
        .route("/counter", get(counter))
        .route("/put/{key}", get(put))
        .route("/pop/{key}", get(pop))
        .route("/keys", get(keys))
        .route("/clear", get(|s: Session| async move { s.clear() }))
        .route("/purge", get(|s: Session| async move { s.purge() }))
        .route("/permanent/{on}", get(permanent))
        .route("/fail", get(fail))
        .route("/big/{len}", get(big))
        .route("/big-checked/{len}", get(big_checked))
        .route("/untouched", get(|| async { "static" }))
        .route(
            "/optional",
            get(|s: Option<Session>| async move { format!("{}", s.is_some()) }),
        )
}

fn app_with(config: SessionConfig) -> Router {
    routes().layer(SessionLayer::new(config).unwrap())
}

fn flask_config() -> SessionConfig {
    SessionConfig::flask(Key::new(SECRET).unwrap())
}

fn cookie_for(pairs: &[(&str, Value)], at: u64) -> String {
    let map: Map = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    format!(
        "session={}",
        flask::sign(&map, &Key::new(SECRET).unwrap(), at)
    )
}

fn decode(value: &str, now: u64) -> Map {
    let keys = KeyRing::new(Key::new(SECRET).unwrap());
    flask::verify(
        value.as_bytes(),
        &keys,
        now,
        31 * 86_400,
        0,
        &Default::default(),
    )
    .expect("a cookie flagon wrote verifies")
    .session
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn counter_persists_across_requests() {
    let app = app_with(flask_config());
    let first = fetch(&app, "/counter", None).await;
    assert_eq!((first.status, first.body.as_str()), (StatusCode::OK, "1"));
    assert!(first.varies_on_cookie());
    let set = first.set_cookie().unwrap();
    assert!(set.ends_with("; HttpOnly; Path=/"), "{set}");
    let second = fetch(&app, "/counter", Some(&first.cookie_pair())).await;
    assert_eq!(second.body, "2");
    assert_eq!(decode(&second.cookie_value(), now())["n"], Value::Int(2));
    let read = fetch(&app, "/read", Some(&second.cookie_pair())).await;
    assert_eq!(read.body, "2");
    assert_eq!(
        read.set_cookie(),
        None,
        "a read does not re-send a non-permanent cookie"
    );
    assert!(read.varies_on_cookie());
}

#[tokio::test]
async fn secure_defaults_reach_the_header() {
    let app = app_with(SessionConfig::new(Key::new(SECRET).unwrap()));
    let reply = fetch(&app, "/counter", None).await;
    let set = reply.set_cookie().unwrap();
    assert!(
        set.ends_with("; Secure; HttpOnly; Path=/; SameSite=Lax"),
        "{set}"
    );
}

#[tokio::test]
async fn extracting_without_the_layer_is_a_plain_500_and_the_log_names_the_layer() {
    let app = routes();
    let (logs, _guard) = crate::support::logs::Capture::start();
    let reply = fetch(&app, "/read", None).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.body, "Internal Server Error\n");
    assert!(logs.text().contains("ERROR"), "{}", logs.text());
    assert!(logs.text().contains("SessionLayer"), "{}", logs.text());
    assert_eq!(fetch(&app, "/optional", None).await.body, "false");
    assert_eq!(
        fetch(&app_with(flask_config()), "/optional", None)
            .await
            .body,
        "true"
    );
}

#[tokio::test]
async fn tampered_or_garbage_cookies_are_an_empty_session_never_an_error() {
    let app = app_with(flask_config());
    let good = cookie_for(&[("n", Value::Int(7))], now());
    let mut tampered = good.clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [
        tampered.as_str(),
        "session=garbage",
        "session=....",
        "session=eyJhIjoxfQ.ZVPxAA.",
        "session=caf\u{e9}.x.y",
    ] {
        let reply = fetch(&app, "/read", Some(bad)).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (StatusCode::OK, "0"),
            "{bad:?}"
        );
        assert_eq!(
            reply.set_cookie(),
            None,
            "a bad cookie is not deleted (Flask parity)"
        );
    }
    assert_eq!(fetch(&app, "/read", Some(&good)).await.body, "7");
}

#[tokio::test]
async fn first_cookie_that_verifies_wins() {
    let app = app_with(flask_config());
    let good = cookie_for(&[("n", Value::Int(5))], now());
    let other = cookie_for(&[("n", Value::Int(6))], now());
    let header = format!("session=tossed.by.attacker; {good}; {other}");
    let reply = send(&app, "GET", "/read", &[header.as_str()], None).await;
    assert_eq!(reply.body, "5");
    let split = send(
        &app,
        "GET",
        "/read",
        &["a=1; session=junk", good.as_str()],
        None,
    )
    .await;
    assert_eq!(split.body, "5", "cookies split over several header fields");
}

#[tokio::test]
async fn a_5xx_response_saves_nothing() {
    let app = app_with(flask_config());
    let reply = fetch(&app, "/fail", None).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.set_cookie(), None);
    assert!(reply.varies_on_cookie());
}

#[tokio::test]
async fn oversized_cookie_is_an_error_not_a_silent_drop() {
    let app = app_with(flask_config());
    let small = fetch(&app, "/big/100", None).await;
    assert_eq!(small.status, StatusCode::OK);
    let big = fetch(&app, "/big/5000", None).await;
    assert_eq!(big.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(big.set_cookie(), None);
    let handled = fetch(&app, "/big-checked/5000", None).await;
    assert_eq!(handled.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        handled.body.contains("over the 4093-byte limit"),
        "{}",
        handled.body
    );
    let anyway = app_with(flask_config().oversize(flagon::OversizePolicy::InsecureSendAnyway));
    let sent = fetch(&anyway, "/big/5000", None).await;
    assert!(sent.set_cookie().unwrap().len() > 4093);
}

#[tokio::test]
async fn vary_is_merged_not_duplicated() {
    let app = Router::new()
        .route(
            "/",
            get(|s: Session| async move {
                let _ = s.contains_key("x");
                ([("vary", "Accept-Encoding")], "ok")
            }),
        )
        .route(
            "/already",
            get(|s: Session| async move {
                let _ = s.len();
                ([("vary", "cookie")], "ok")
            }),
        )
        .layer(SessionLayer::new(flask_config()).unwrap());
    let reply = fetch(&app, "/", None).await;
    let vary: Vec<_> = reply
        .headers
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(vary, ["Accept-Encoding", "Cookie"]);
    let already = fetch(&app, "/already", None).await;
    assert_eq!(already.headers.get_all("vary").iter().count(), 1);
}

#[tokio::test]
async fn untouched_routes_get_no_session_headers() {
    let app = app_with(flask_config());
    let cookie = cookie_for(&[("n", Value::Int(1))], now());
    let reply = fetch(&app, "/untouched", Some(&cookie)).await;
    assert_eq!(reply.set_cookie(), None);
    assert!(!reply.varies_on_cookie());
}

#[tokio::test]
async fn expiry_is_enforced_from_the_last_write() {
    let clock = TestClock::at(T0);
    let app = app_with(clock.install(flask_config().permanent_lifetime(Duration::from_secs(100))));
    let login = fetch(&app, "/put/logged_in", None).await;
    let cookie = login.cookie_pair();
    clock.advance(100);
    assert_eq!(
        fetch(&app, "/keys", Some(&cookie)).await.body,
        "logged_in",
        "age == max_age is accepted"
    );
    clock.advance(1);
    assert_eq!(
        fetch(&app, "/keys", Some(&cookie)).await.body,
        "",
        "age > max_age is rejected"
    );
}

#[tokio::test]
async fn future_cookies_are_rejected_unless_skew_allows() {
    let app = app_with(flask_config());
    let future = cookie_for(&[("n", Value::Int(3))], now() + 30);
    assert_eq!(fetch(&app, "/read", Some(&future)).await.body, "0");
    let tolerant = app_with(flask_config().clock_skew(Duration::from_secs(60)));
    assert_eq!(fetch(&tolerant, "/read", Some(&future)).await.body, "3");
}

#[tokio::test]
async fn permanent_sessions_carry_expires_and_refresh() {
    let clock = TestClock::at(T0);
    let app = app_with(clock.install(flask_config()));
    let made = fetch(&app, "/permanent/true", None).await;
    let set = made.set_cookie().unwrap();
    // T0 + 31 days = 2023-12-15T22:13:20Z
    assert!(
        set.contains("; Expires=Fri, 15 Dec 2023 22:13:20 GMT; HttpOnly"),
        "{set}"
    );
    clock.advance(60);
    let untouched = fetch(&app, "/untouched", Some(&made.cookie_pair())).await;
    let refreshed = untouched
        .set_cookie()
        .expect("Flask refreshes permanent sessions on every request");
    assert!(
        refreshed.contains("Expires=Fri, 15 Dec 2023 22:14:20 GMT"),
        "{refreshed}"
    );
    assert!(untouched.varies_on_cookie());
    let no_refresh = app_with(clock.install(flask_config().refresh_each_request(false)));
    assert_eq!(
        fetch(&no_refresh, "/read", Some(&made.cookie_pair()))
            .await
            .set_cookie(),
        None
    );
}

#[tokio::test]
async fn fallback_keys_verify_and_writes_move_to_the_current_key() {
    let config =
        SessionConfig::flask(Key::new("new key").unwrap()).fallback_key(Key::new(SECRET).unwrap());
    let app = app_with(config);
    let old = cookie_for(&[("n", Value::Int(41))], now());
    let read = fetch(&app, "/read", Some(&old)).await;
    assert_eq!(read.body, "41");
    assert_eq!(
        read.set_cookie(),
        None,
        "a verified fallback cookie is not re-signed by itself"
    );
    let write = fetch(&app, "/counter", Some(&old)).await;
    let new_keys = KeyRing::new(Key::new("new key").unwrap());
    let value = write.cookie_value();
    let verified = flask::verify(
        value.as_bytes(),
        &new_keys,
        now(),
        3600,
        0,
        &Default::default(),
    )
    .unwrap();
    assert_eq!(verified.key_index, 0);
    assert_eq!(verified.session["n"], Value::Int(42));
    let dropped = app_with(SessionConfig::flask(Key::new("new key").unwrap()));
    assert_eq!(
        fetch(&dropped, "/read", Some(&old)).await.body,
        "0",
        "removed fallback"
    );
}

#[tokio::test]
async fn clear_and_purge_send_a_matching_deletion_cookie() {
    let config = flask_config()
        .cookie_name("sid")
        .path("/app")
        .domain(Some("example.com"));
    let app = app_with(config);
    let deletion = "sid=; Domain=example.com; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Path=/app";
    assert_eq!(
        fetch(&app, "/clear", None).await.set_cookie().as_deref(),
        Some(deletion)
    );
    let cookie = cookie_for(&[("a", Value::Int(1))], now()).replace("session=", "sid=");
    assert_eq!(
        fetch(&app, "/purge", Some(&cookie))
            .await
            .set_cookie()
            .as_deref(),
        Some(deletion)
    );
    let popped = fetch(&app, "/pop/a", Some(&cookie)).await;
    assert_eq!(popped.body, "Some(Int(1))");
    assert_eq!(
        popped.set_cookie().as_deref(),
        Some(deletion),
        "popping the last key empties it"
    );
    let missing = fetch(&app, "/pop/zzz", Some(&cookie)).await;
    assert_eq!(
        (missing.body.as_str(), missing.set_cookie()),
        ("None", None)
    );
}

#[tokio::test]
async fn flask_typed_values_survive_a_rust_round_trip() {
    let app = app_with(flask_config());
    let flashes = Value::List(vec![Value::Tuple(vec!["message".into(), "Saved".into()])]);
    let cookie = cookie_for(
        &[
            ("_flashes", flashes.clone()),
            ("blob", Value::Bytes(vec![0, 255])),
            ("n", Value::Int(1)),
        ],
        now(),
    );
    let reply = fetch(&app, "/counter", Some(&cookie)).await;
    let data = decode(&reply.cookie_value(), now());
    assert_eq!(data["_flashes"], flashes);
    assert_eq!(data["blob"], Value::Bytes(vec![0, 255]));
    assert_eq!(data["n"], Value::Int(2));
}

#[test]
fn configuration_errors_come_at_startup() {
    assert!(matches!(Key::new(""), Err(flagon::ConfigError::EmptyKey)));
    let err = SessionLayer::new(flask_config().cookie_name("bad name")).unwrap_err();
    assert!(err.to_string().contains("invalid cookie name"), "{err}");
}
