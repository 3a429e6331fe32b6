//! Both adapters end to end, in-process: what a browser would see. Every scenario runs
//! once through axum and once through actix-web (see `support::app`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use flagon::{flask, Key, KeyRing, Map, SessionConfig, Value};

pub(crate) use crate::support::app::routes;
use crate::support::app::{App, Framework};

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

crate::on_both_frameworks! {
async fn counter_persists_across_requests(framework: Framework) {
    let app = App::new(framework, flask_config());
    let first = app.get("/counter", None).await;
    assert_eq!((first.status, first.body.as_str()), (StatusCode::OK, "1"));
    assert!(first.varies_on_cookie());
    let set = first.set_cookie().unwrap();
    assert!(set.ends_with("; HttpOnly; Path=/"), "{set}");
    let second = app.get("/counter", Some(&first.cookie_pair())).await;
    assert_eq!(second.body, "2");
    assert_eq!(decode(&second.cookie_value(), now())["n"], Value::Int(2));
    let read = app.get("/read", Some(&second.cookie_pair())).await;
    assert_eq!(read.body, "2");
    assert_eq!(
        read.set_cookie(),
        None,
        "a read does not re-send a non-permanent cookie"
    );
    assert!(read.varies_on_cookie());
}

async fn secure_defaults_reach_the_header(framework: Framework) {
    let app = App::new(framework, SessionConfig::new(Key::new(SECRET).unwrap()));
    let reply = app.get("/counter", None).await;
    let set = reply.set_cookie().unwrap();
    assert!(
        set.ends_with("; Secure; HttpOnly; Path=/; SameSite=Lax"),
        "{set}"
    );
}

async fn extracting_without_the_layer_is_a_plain_500_and_the_log_names_the_layer(framework: Framework) {
    let app = App::without_layer(framework);
    let (logs, _guard) = crate::support::logs::Capture::start();
    let reply = app.get("/read", None).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.body, "Internal Server Error\n");
    assert!(logs.text().contains("ERROR"), "{}", logs.text());
    let fix = match framework {
        Framework::Axum => "add `.layer(SessionLayer::new(config)?)` to the Router",
        #[cfg(feature = "actix")]
        Framework::Actix => "add `.wrap(SessionMiddleware::new(config)?)` to the App",
    };
    assert!(logs.text().contains(fix), "{}", logs.text());
    assert_eq!(app.get("/optional", None).await.body, "false");
    assert_eq!(
        App::new(framework, flask_config()).get("/optional", None)
            .await
            .body,
        "true"
    );
}

async fn tampered_or_garbage_cookies_are_an_empty_session_never_an_error(framework: Framework) {
    let app = App::new(framework, flask_config());
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
        let reply = app.get("/read", Some(bad)).await;
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
    assert_eq!(app.get("/read", Some(&good)).await.body, "7");
}

async fn first_cookie_that_verifies_wins(framework: Framework) {
    let app = App::new(framework, flask_config());
    let good = cookie_for(&[("n", Value::Int(5))], now());
    let other = cookie_for(&[("n", Value::Int(6))], now());
    let header = format!("session=tossed.by.attacker; {good}; {other}");
    let reply = app.send("GET", "/read", &[header.as_str()], None).await;
    assert_eq!(reply.body, "5");
    let split = app.send("GET",
        "/read",
        &["a=1; session=junk", good.as_str()],
        None,
    )
    .await;
    assert_eq!(split.body, "5", "cookies split over several header fields");
}

async fn a_5xx_response_saves_nothing(framework: Framework) {
    let app = App::new(framework, flask_config());
    let reply = app.get("/fail", None).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.set_cookie(), None);
    assert!(reply.varies_on_cookie());
}

async fn oversized_cookie_is_an_error_not_a_silent_drop(framework: Framework) {
    let app = App::new(framework, flask_config());
    let small = app.get("/big/100", None).await;
    assert_eq!(small.status, StatusCode::OK);
    let big = app.get("/big/5000", None).await;
    assert_eq!(big.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(big.set_cookie(), None);
    let handled = app.get("/big-checked/5000", None).await;
    assert_eq!(handled.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        handled.body.contains("over the 4093-byte limit"),
        "{}",
        handled.body
    );
    let anyway = App::new(framework, flask_config().oversize(flagon::OversizePolicy::InsecureSendAnyway));
    let sent = anyway.get("/big/5000", None).await;
    assert!(sent.set_cookie().unwrap().len() > 4093);
}

async fn vary_is_merged_not_duplicated(framework: Framework) {
    let app = App::new(framework, flask_config());
    let reply = app.get("/vary/accept-encoding", None).await;
    let vary: Vec<_> = reply
        .headers
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(vary, ["Accept-Encoding", "Cookie"]);
    let already = app.get("/vary/cookie", None).await;
    assert_eq!(already.headers.get_all("vary").iter().count(), 1);
}

async fn untouched_routes_get_no_session_headers(framework: Framework) {
    let app = App::new(framework, flask_config());
    let cookie = cookie_for(&[("n", Value::Int(1))], now());
    let reply = app.get("/untouched", Some(&cookie)).await;
    assert_eq!(reply.set_cookie(), None);
    assert!(!reply.varies_on_cookie());
}

async fn expiry_is_enforced_from_the_last_write(framework: Framework) {
    let clock = TestClock::at(T0);
    let app = App::new(framework, clock.install(flask_config().permanent_lifetime(Duration::from_secs(100))));
    let login = app.get("/put/logged_in", None).await;
    let cookie = login.cookie_pair();
    clock.advance(100);
    assert_eq!(
        app.get("/keys", Some(&cookie)).await.body,
        "logged_in",
        "age == max_age is accepted"
    );
    clock.advance(1);
    assert_eq!(
        app.get("/keys", Some(&cookie)).await.body,
        "",
        "age > max_age is rejected"
    );
}

async fn future_cookies_are_rejected_unless_skew_allows(framework: Framework) {
    let app = App::new(framework, flask_config());
    let future = cookie_for(&[("n", Value::Int(3))], now() + 30);
    assert_eq!(app.get("/read", Some(&future)).await.body, "0");
    let tolerant = App::new(framework, flask_config().clock_skew(Duration::from_secs(60)));
    assert_eq!(tolerant.get("/read", Some(&future)).await.body, "3");
}

async fn permanent_sessions_carry_expires_and_refresh(framework: Framework) {
    let clock = TestClock::at(T0);
    let app = App::new(framework, clock.install(flask_config()));
    let made = app.get("/permanent/true", None).await;
    let set = made.set_cookie().unwrap();
    // T0 + 31 days = 2023-12-15T22:13:20Z
    assert!(
        set.contains("; Expires=Fri, 15 Dec 2023 22:13:20 GMT; HttpOnly"),
        "{set}"
    );
    clock.advance(60);
    let untouched = app.get("/untouched", Some(&made.cookie_pair())).await;
    let refreshed = untouched
        .set_cookie()
        .expect("Flask refreshes permanent sessions on every request");
    assert!(
        refreshed.contains("Expires=Fri, 15 Dec 2023 22:14:20 GMT"),
        "{refreshed}"
    );
    assert!(untouched.varies_on_cookie());
    let no_refresh = App::new(framework, clock.install(flask_config().refresh_each_request(false)));
    assert_eq!(
        no_refresh.get("/read", Some(&made.cookie_pair()))
            .await
            .set_cookie(),
        None
    );
}

async fn fallback_keys_verify_and_writes_move_to_the_current_key(framework: Framework) {
    let config =
        SessionConfig::flask(Key::new("new key").unwrap()).fallback_key(Key::new(SECRET).unwrap());
    let app = App::new(framework, config);
    let old = cookie_for(&[("n", Value::Int(41))], now());
    let read = app.get("/read", Some(&old)).await;
    assert_eq!(read.body, "41");
    assert_eq!(
        read.set_cookie(),
        None,
        "a verified fallback cookie is not re-signed by itself"
    );
    let write = app.get("/counter", Some(&old)).await;
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
    let dropped = App::new(framework, SessionConfig::flask(Key::new("new key").unwrap()));
    assert_eq!(
        dropped.get("/read", Some(&old)).await.body,
        "0",
        "removed fallback"
    );
}

async fn clear_and_purge_send_a_matching_deletion_cookie(framework: Framework) {
    let config = flask_config()
        .cookie_name("sid")
        .path("/app")
        .domain(Some("example.com"));
    let app = App::new(framework, config);
    let deletion = "sid=; Domain=example.com; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Path=/app";
    assert_eq!(
        app.get("/clear", None).await.set_cookie().as_deref(),
        Some(deletion)
    );
    let cookie = cookie_for(&[("a", Value::Int(1))], now()).replace("session=", "sid=");
    assert_eq!(
        app.get("/purge", Some(&cookie))
            .await
            .set_cookie()
            .as_deref(),
        Some(deletion)
    );
    let popped = app.get("/pop/a", Some(&cookie)).await;
    assert_eq!(popped.body, "Some(Int(1))");
    assert_eq!(
        popped.set_cookie().as_deref(),
        Some(deletion),
        "popping the last key empties it"
    );
    let missing = app.get("/pop/zzz", Some(&cookie)).await;
    assert_eq!(
        (missing.body.as_str(), missing.set_cookie()),
        ("None", None)
    );
}

async fn flask_typed_values_survive_a_rust_round_trip(framework: Framework) {
    let app = App::new(framework, flask_config());
    let flashes = Value::List(vec![Value::Tuple(vec!["message".into(), "Saved".into()])]);
    let cookie = cookie_for(
        &[
            ("_flashes", flashes.clone()),
            ("blob", Value::Bytes(vec![0, 255])),
            ("n", Value::Int(1)),
        ],
        now(),
    );
    let reply = app.get("/counter", Some(&cookie)).await;
    let data = decode(&reply.cookie_value(), now());
    assert_eq!(data["_flashes"], flashes);
    assert_eq!(data["blob"], Value::Bytes(vec![0, 255]));
    assert_eq!(data["n"], Value::Int(2));
}
}

#[test]
fn configuration_errors_come_at_startup() {
    assert!(matches!(Key::new(""), Err(flagon::ConfigError::EmptyKey)));
    let err = flagon::axum::SessionLayer::new(flask_config().cookie_name("bad name")).unwrap_err();
    assert!(err.to_string().contains("invalid cookie name"), "{err}");
}
