//! `FlaskSessionRedisStore` against a real Flask app on Flask-Session 0.8 with msgspec
//! (tests/flask/fsess_peer.py), both on the Redis at 127.0.0.1:6379, each test under its
//! own key prefix.
//!
//! Needs the packages of tests/flask/requirements.txt (tests/flask/setup.sh) and Redis;
//! without them the tests skip loudly, or fail when `CI` is set.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Path;
use axum::routing::{get, post, put};
use axum::Router;
use flagon::axum::SessionLayer;
use flagon::store::flask_session::{FlaskSessionOptions, FlaskSessionRedisStore};
use flagon::{BigInt, Key, Session, SessionConfig, Value};
use serde_json::{json, Value as Json};

use crate::markers::{from_marker, map_to_marker};
use crate::support::flask_peer::{unavailable, FlaskPeer};
use crate::support::http::{get as fetch, send, Reply};

const REDIS: &str = "redis://127.0.0.1:6379";
const SECRET: &str = "flask-session shared secret";

/// A key prefix no other test (or run) uses.
fn prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("fsess-test:{test}:{}:{nanos}:", std::process::id())
}

/// A raw connection for looking at the records, or a loud skip (a failure under CI).
async fn redis_or_skip() -> Option<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(REDIS).expect("a valid URL");
    match client.get_multiplexed_async_connection().await {
        Ok(conn) => Some(conn),
        Err(e) => unavailable(&format!("no Redis on 127.0.0.1:6379 ({e})")),
    }
}

/// Everything a test needs: the Flask peer, the Rust app and a Redis connection.
struct Pair {
    flask: FlaskPeer,
    rust: Router,
    redis: redis::aio::MultiplexedConnection,
    prefix: String,
}

#[derive(Clone, Copy)]
struct Setup {
    signed: bool,
    lifetime: u64,
    json_records: bool,
}

const DEFAULT: Setup = Setup {
    signed: false,
    lifetime: 3600,
    json_records: false,
};

/// The Flask peer under a fresh key prefix, and that prefix.
fn peer(test: &str, setup: Setup) -> Option<(FlaskPeer, String)> {
    let prefix = prefix(test);
    let lifetime = setup.lifetime.to_string();
    let mut args = vec![
        "--secret",
        SECRET,
        "--prefix",
        &prefix,
        "--lifetime",
        &lifetime,
    ];
    if setup.signed {
        args.push("--signer");
    }
    if setup.json_records {
        args.extend(["--format", "json"]);
    }
    let flask = FlaskPeer::start_app(
        "fsess_peer.py",
        &["flask_session", "msgspec", "redis"],
        &args,
    )?;
    Some((flask, prefix))
}

async fn pair(test: &str, setup: Setup) -> Option<Pair> {
    let redis = redis_or_skip().await?;
    let (flask, prefix) = peer(test, setup)?;
    let options = FlaskSessionOptions::default()
        .key_prefix(prefix.clone())
        .use_signer(setup.signed);
    let store = FlaskSessionRedisStore::connect_with(REDIS, options)
        .await
        .expect("connect to Redis");
    let config = SessionConfig::flask(Key::new(SECRET).expect("key"))
        .permanent_lifetime(Duration::from_secs(setup.lifetime));
    let layer = SessionLayer::new(config).expect("config").with_store(store);
    Some(Pair {
        flask,
        rust: rust_app(layer),
        redis,
        prefix,
    })
}

/// The Rust twin of the peer's endpoints.
fn rust_app(layer: SessionLayer) -> Router {
    Router::new()
        .route("/session", get(|s: Session| async move { dump(&s) }))
        .route(
            "/session/{key}",
            put(
                |s: Session, Path(key): Path<String>, body: String| async move {
                    let doc: Json = serde_json::from_str(&body).expect("marker JSON body");
                    s.insert_value(&key, from_marker(&doc));
                    dump(&s)
                },
            ),
        )
        .route(
            "/clear",
            post(|s: Session| async move {
                s.clear();
                axum::Json(json!({"ok": true}))
            }),
        )
        .route(
            "/renew",
            post(|s: Session| async move {
                s.renew();
                axum::Json(json!({"ok": true}))
            }),
        )
        .layer(layer)
}

fn dump(session: &Session) -> axum::Json<Json> {
    axum::Json(map_to_marker(&session.to_map()))
}

async fn rust_put(app: &Router, cookie: Option<&str>, key: &str, value: &Json) -> Reply {
    let request = http::Request::builder()
        .method("PUT")
        .uri(format!("/session/{key}"));
    let request = match cookie {
        Some(cookie) => request.header(http::header::COOKIE, cookie),
        None => request,
    };
    let request = request
        .body(axum::body::Body::from(value.to_string()))
        .expect("request");
    send_request(app, request).await
}

async fn send_request(app: &Router, request: http::Request<axum::body::Body>) -> Reply {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn rust_json(reply: &Reply) -> Json {
    assert_eq!(reply.status, 200, "Rust app answered {}", reply.body);
    serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.body))
}

fn cookie_of_flask(reply: &crate::support::flask_peer::PeerReply) -> String {
    let value = reply
        .set_cookie_value("session")
        .unwrap_or_else(|| panic!("Flask set no session cookie: {:?}", reply.headers));
    format!("session={value}")
}

/// The sid in a cookie pair, without the signature.
fn sid_of(cookie: &str) -> &str {
    let value = cookie.strip_prefix("session=").expect("a session cookie");
    value.split('.').next().expect("a sid")
}

async fn ttl(redis: &mut redis::aio::MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("TTL")
        .arg(key)
        .query_async(redis)
        .await
        .expect("TTL")
}

/// Values Flask writes, as marker JSON, and what any reader gets back after msgspec.
fn flask_written() -> Vec<(&'static str, Json, Json)> {
    let same = |v: Json| (v.clone(), v);
    let rows = [
        ("int", same(json!(42))),
        ("neg", same(json!(-9_223_372_036_854_775_808i64))),
        ("u64", same(json!({"$int": "18446744073709551615"}))),
        ("float", same(json!(2.5))),
        ("nan", same(json!({"$float": "NaN"}))),
        ("inf", same(json!({"$float": "-Infinity"}))),
        ("str", same(json!("h\u{e9}llo \"q\" \u{1F600}"))),
        ("bools", same(json!([true, false]))),
        ("none", same(json!(null))),
        (
            "nested",
            same(json!({"a": [1, {"b": null}], "c": {"d": "e"}})),
        ),
        ("tuple", (json!({"$tuple": [1, "a"]}), json!([1, "a"]))),
        ("bytes", same(json!({"$bytes": "AP8Kbw=="}))),
        (
            "aware",
            same(json!({"$datetime": "2024-01-02T03:04:05.123456+00:00"})),
        ),
        (
            "offset",
            (
                json!({"$datetime": "2024-01-02T03:04:05+02:00"}),
                json!({"$datetime": "2024-01-02T01:04:05+00:00"}),
            ),
        ),
        (
            "uuid",
            (
                json!({"$uuid": "12345678-1234-5678-1234-567812345678"}),
                json!("12345678-1234-5678-1234-567812345678"),
            ),
        ),
    ];
    rows.into_iter().map(|(k, (a, b))| (k, a, b)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flask_written_values_read_the_same_in_rust() {
    let Some(p) = pair("flask-writes", DEFAULT).await else {
        return;
    };
    let first = p.flask.send_json("PUT", "/session/first", None, &json!(1));
    let cookie = cookie_of_flask(&first);
    for (key, written, _) in flask_written() {
        let r = p
            .flask
            .send_json("PUT", &format!("/session/{key}"), Some(&cookie), &written);
        assert_eq!(r.status, 200, "Flask refused {key}: {}", r.body);
    }
    let extras = p
        .flask
        .request("POST", "/extras", &[("Cookie", &cookie)], b"");
    assert_eq!(extras.status, 200, "{}", extras.body);
    let in_rust = rust_json(&fetch(&p.rust, "/session", Some(&cookie)).await);
    // Flask's own view after a fresh load, which went through msgspec as well.
    let in_flask = p.flask.get("/session", Some(&cookie)).json();
    assert_eq!(
        in_rust, in_flask,
        "Rust and Flask read the record differently"
    );
    for (key, _, read) in flask_written() {
        assert_eq!(in_rust[key], read, "{key}");
    }
    assert_eq!(in_rust["_permanent"], json!(true), "SESSION_PERMANENT");
    // What msgspec changes on the way (the module docs' table).
    assert_eq!(in_rust["set"], json!([1, 2, 3]));
    assert_eq!(in_rust["frozenset"], json!([7]));
    assert_eq!(in_rust["bytearray"], json!({"$bytes": "YWI="}));
    assert_eq!(in_rust["naive"], json!("2024-01-02T03:04:05"));
    assert_eq!(in_rust["date"], json!("2024-01-02"));
    assert_eq!(in_rust["time"], json!("03:04:05"));
    assert_eq!(in_rust["timedelta"], json!("PT5S"));
    assert_eq!(in_rust["decimal"], json!("1.5"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_written_values_read_the_same_in_flask() {
    let Some(mut p) = pair("rust-writes", DEFAULT).await else {
        return;
    };
    let created = rust_put(&p.rust, None, "first", &json!("one")).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let cookie = created.cookie_pair();
    assert_eq!(
        sid_of(&cookie).len(),
        43,
        "token_urlsafe(32) shape: {cookie}"
    );
    let set_cookie = created.set_cookie().expect("a Set-Cookie");
    assert!(
        set_cookie.contains("; Expires="),
        "permanent from the start: {set_cookie}"
    );
    let big = Value::BigInt(BigInt::parse("9223372036854775808").expect("big"));
    let rows = [
        ("int", json!(-7), json!(-7)),
        (
            "u64",
            crate::markers::to_marker(&big),
            json!({"$int": "9223372036854775808"}),
        ),
        ("float", json!(0.1), json!(0.1)),
        (
            "inf",
            json!({"$float": "Infinity"}),
            json!({"$float": "Infinity"}),
        ),
        (
            "list",
            json!([1, "two", null, false]),
            json!([1, "two", null, false]),
        ),
        (
            "dict",
            json!({"x": {"y": [2.5]}}),
            json!({"x": {"y": [2.5]}}),
        ),
        (
            "tuple",
            json!({"$tuple": ["message", "hi"]}),
            json!(["message", "hi"]),
        ),
        (
            "bytes",
            json!({"$bytes": "AAEC/w=="}),
            json!({"$bytes": "AAEC/w=="}),
        ),
        (
            "when",
            json!({"$datetime": "2030-05-06T07:08:09.250000+00:00"}),
            json!({"$datetime": "2030-05-06T07:08:09.250000+00:00"}),
        ),
        (
            "uuid",
            json!({"$uuid": "12345678-1234-5678-1234-567812345678"}),
            json!("12345678-1234-5678-1234-567812345678"),
        ),
        (
            "markup",
            json!({"$markup": "<b>hi</b>"}),
            json!("<b>hi</b>"),
        ),
    ];
    for (key, written, _) in &rows {
        let r = rust_put(&p.rust, Some(&cookie), key, written).await;
        assert_eq!(r.status, 200, "Rust refused {key}: {}", r.body);
    }
    let in_flask = p.flask.get("/session", Some(&cookie)).json();
    for (key, _, read) in &rows {
        assert_eq!(&in_flask[key], read, "{key}");
    }
    assert_eq!(in_flask["first"], json!("one"));
    assert_eq!(
        in_flask["_permanent"],
        json!(true),
        "new sessions are permanent"
    );
    // Flask writes on top; Rust sees it, and its own keys are still there.
    let r = p
        .flask
        .send_json("PUT", "/session/from_flask", Some(&cookie), &json!([1]));
    assert_eq!(r.status, 200);
    let in_rust = rust_json(&fetch(&p.rust, "/session", Some(&cookie)).await);
    assert_eq!(in_rust["from_flask"], json!([1]));
    assert_eq!(in_rust["first"], json!("one"));
    // The record is where Flask-Session looks, with the lifetime as TTL.
    let key = format!("{}{}", p.prefix, sid_of(&cookie));
    let left = ttl(&mut p.redis, &key).await;
    assert!((3590..=3600).contains(&left), "TTL {left}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_integer_msgpack_cannot_hold_is_an_error_not_a_lost_session() {
    let Some(p) = pair("too-big", DEFAULT).await else {
        return;
    };
    let created = rust_put(&p.rust, None, "user", &json!("alice")).await;
    let cookie = created.cookie_pair();
    let huge = json!({"$int": "1180591620717411303424"});
    let refused = rust_put(&p.rust, Some(&cookie), "huge", &huge).await;
    assert!(refused.status.is_server_error(), "{}", refused.status);
    let in_flask = p.flask.get("/session", Some(&cookie)).json();
    assert_eq!(in_flask["user"], json!("alice"), "the session survived");
    assert!(in_flask.get("huge").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_sids_work_both_ways() {
    let signed = Setup {
        signed: true,
        ..DEFAULT
    };
    let Some(p) = pair("signed", signed).await else {
        return;
    };
    let from_flask =
        cookie_of_flask(
            &p.flask
                .send_json("PUT", "/session/by", None, &json!("flask")),
        );
    let value = from_flask.strip_prefix("session=").expect("pair");
    assert_eq!(value.len(), 43 + 1 + 27, "sid.signature: {value}");
    let in_rust = rust_json(&fetch(&p.rust, "/session", Some(&from_flask)).await);
    assert_eq!(in_rust["by"], json!("flask"));

    let from_rust = rust_put(&p.rust, None, "by", &json!("rust"))
        .await
        .cookie_pair();
    assert_eq!(from_rust.len(), "session=".len() + 71, "{from_rust}");
    let in_flask = p.flask.get("/session", Some(&from_rust)).json();
    assert_eq!(in_flask["by"], json!("rust"));

    // The bare sid, or a wrong signature, is a new empty session on both sides.
    let bare = format!("session={}", sid_of(&from_rust));
    let mut forged = from_rust.clone();
    forged.replace_range(forged.len() - 3.., "AAA");
    for cookie in [bare, forged] {
        let in_rust = rust_json(&fetch(&p.rust, "/session", Some(&cookie)).await);
        assert_eq!(in_rust, json!({}), "{cookie}");
        let in_flask = p.flask.get("/session", Some(&cookie)).json();
        assert_eq!(in_flask, json!({"_permanent": true}), "{cookie}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_is_the_lifetime_and_expired_records_are_gone_on_both_sides() {
    let short = Setup {
        lifetime: 2,
        ..DEFAULT
    };
    let Some(mut p) = pair("ttl", short).await else {
        return;
    };
    let from_flask = cookie_of_flask(&p.flask.send_json("PUT", "/session/a", None, &json!(1)));
    let from_rust = rust_put(&p.rust, None, "b", &json!(2)).await.cookie_pair();
    for cookie in [&from_flask, &from_rust] {
        let left = ttl(&mut p.redis, &format!("{}{}", p.prefix, sid_of(cookie))).await;
        assert!((1..=2).contains(&left), "TTL {left} for a 2 s lifetime");
        assert_ne!(
            rust_json(&fetch(&p.rust, "/session", Some(cookie)).await),
            json!({})
        );
    }
    tokio::time::sleep(Duration::from_millis(3100)).await;
    for cookie in [&from_flask, &from_rust] {
        assert_eq!(
            rust_json(&fetch(&p.rust, "/session", Some(cookie)).await),
            json!({})
        );
        let in_flask = p.flask.get("/session", Some(cookie)).json();
        assert_eq!(in_flask, json!({"_permanent": true}));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_on_either_side_ends_the_session_on_both() {
    let Some(mut p) = pair("logout", DEFAULT).await else {
        return;
    };
    // Logged in by Flask, logged out by Rust.
    let cookie = cookie_of_flask(
        &p.flask
            .send_json("PUT", "/session/user", None, &json!("alice")),
    );
    let key = format!("{}{}", p.prefix, sid_of(&cookie));
    assert_eq!(
        rust_json(&fetch(&p.rust, "/session", Some(&cookie)).await)["user"],
        json!("alice")
    );
    let out = send(&p.rust, "POST", "/clear", &[&cookie], None).await;
    assert_eq!(out.status, 200);
    assert!(
        out.set_cookie().is_some_and(|c| c.starts_with("session=;")),
        "deletes the cookie"
    );
    assert_eq!(ttl(&mut p.redis, &key).await, -2, "the record is gone");
    assert_eq!(
        p.flask.get("/session", Some(&cookie)).json(),
        json!({"_permanent": true})
    );
    // Logged in by Rust, logged out by Flask.
    let cookie = rust_put(&p.rust, None, "user", &json!("bob"))
        .await
        .cookie_pair();
    let key = format!("{}{}", p.prefix, sid_of(&cookie));
    assert_eq!(
        p.flask.get("/session", Some(&cookie)).json()["user"],
        json!("bob")
    );
    let out = p
        .flask
        .request("POST", "/clear", &[("Cookie", &cookie)], b"");
    assert_eq!(out.status, 200);
    assert_eq!(
        ttl(&mut p.redis, &key).await,
        -2,
        "Flask-Session deleted the record"
    );
    assert_eq!(
        rust_json(&fetch(&p.rust, "/session", Some(&cookie)).await),
        json!({})
    );
    // A late Rust write to the logged-out session does not bring it back.
    let late = rust_put(&p.rust, Some(&cookie), "late", &json!(1)).await;
    assert!(
        late.set_cookie().is_some(),
        "a new session, under a new sid"
    );
    assert_ne!(sid_of(&late.cookie_pair()), sid_of(&cookie));
    assert_eq!(
        ttl(&mut p.redis, &key).await,
        -2,
        "the old record stays gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renew_moves_the_record_to_a_new_sid_flask_can_read() {
    let Some(mut p) = pair("renew", DEFAULT).await else {
        return;
    };
    let cookie = cookie_of_flask(
        &p.flask
            .send_json("PUT", "/session/user", None, &json!("carol")),
    );
    let renewed = send(&p.rust, "POST", "/renew", &[&cookie], None).await;
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    let new_cookie = renewed.cookie_pair();
    assert_ne!(sid_of(&new_cookie), sid_of(&cookie));
    let old_key = format!("{}{}", p.prefix, sid_of(&cookie));
    assert_eq!(ttl(&mut p.redis, &old_key).await, -2, "the old sid is dead");
    assert_eq!(
        p.flask.get("/session", Some(&new_cookie)).json()["user"],
        json!("carol")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_rust_writes_lose_no_key() {
    let Some(p) = pair("concurrent", DEFAULT).await else {
        return;
    };
    let cookie = cookie_of_flask(
        &p.flask
            .send_json("PUT", "/session/from_flask", None, &json!(0)),
    );
    let app = Arc::new(p.rust.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..64 {
        let (app, cookie) = (app.clone(), cookie.clone());
        tasks.spawn(
            async move { rust_put(&app, Some(&cookie), &format!("k{i:02}"), &json!(i)).await },
        );
    }
    let mut failures = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let reply = done.expect("task");
        if reply.status != 200 {
            failures.push(format!("{} {}", reply.status, reply.body));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 64 writes failed: {failures:?}",
        failures.len()
    );
    let in_flask = p.flask.get("/session", Some(&cookie)).json();
    let lost: Vec<String> = (0..64)
        .map(|i| format!("k{i:02}"))
        .filter(|k| in_flask.get(k).is_none())
        .collect();
    eprintln!(
        "[flask-session] 64 concurrent Rust writes into one session: {} keys lost",
        lost.len()
    );
    assert!(lost.is_empty(), "keys lost: {lost:?}");
    for i in 0..64 {
        assert_eq!(in_flask[format!("k{i:02}")], json!(i));
    }
    assert_eq!(in_flask["from_flask"], json!(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_records_are_read_and_flask_reads_the_msgpack_written_over_them() {
    let json_records = Setup {
        json_records: true,
        ..DEFAULT
    };
    let Some(mut p) = pair("json", json_records).await else {
        return;
    };
    let cookie =
        cookie_of_flask(
            &p.flask
                .send_json("PUT", "/session/n", None, &json!([1, 2.5, "x"])),
        );
    let key = format!("{}{}", p.prefix, sid_of(&cookie));
    let raw: Vec<u8> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut p.redis)
        .await
        .expect("GET");
    assert_eq!(raw.first(), Some(&b'{'), "Flask-Session wrote JSON");
    let in_rust = rust_json(&fetch(&p.rust, "/session", Some(&cookie)).await);
    assert_eq!(in_rust["n"], json!([1, 2.5, "x"]));
    let r = rust_put(&p.rust, Some(&cookie), "m", &json!({"$bytes": "AAE="})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let raw: Vec<u8> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut p.redis)
        .await
        .expect("GET");
    assert_ne!(raw.first(), Some(&b'{'), "flagon writes MessagePack");
    let in_flask = p.flask.get("/session", Some(&cookie)).json();
    assert_eq!(in_flask["n"], json!([1, 2.5, "x"]));
    assert_eq!(in_flask["m"], json!({"$bytes": "AAE="}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_store_spec_opens_the_flask_session_store_with_its_settings() {
    use flagon::id::IdScheme;
    use flagon::store::any::AnyStore;
    use flagon::store::SessionStore;
    if redis_or_skip().await.is_none() {
        return;
    }
    let store = AnyStore::connect("flask-session+redis://127.0.0.1:6379")
        .await
        .expect("connect");
    assert_eq!(store.kind(), "flask-session");
    assert_eq!(
        store.id_scheme(),
        IdScheme::FlaskSession {
            signed: false,
            permanent: true
        }
    );
    let AnyStore::FlaskSession(inner) = &store else {
        panic!("not the Flask-Session store: {store:?}")
    };
    assert_eq!(inner.options().key_prefix, "session:");
}

/// The actix-web adapter shares the sessions the same way (signed sids here).
#[cfg(feature = "actix")]
#[actix_web::test]
async fn actix_adapter_shares_sessions_with_flask() {
    use actix_web::test::{call_service, init_service, read_body, TestRequest};
    use actix_web::{web, App, HttpResponse};
    use flagon::actix::SessionMiddleware;

    if redis_or_skip().await.is_none() {
        return;
    }
    let signed = Setup {
        signed: true,
        ..DEFAULT
    };
    let Some((flask, prefix)) = peer("actix", signed) else {
        return;
    };
    let options = FlaskSessionOptions::default()
        .key_prefix(prefix)
        .use_signer(true);
    let store = FlaskSessionRedisStore::connect_with(REDIS, options)
        .await
        .expect("connect to Redis");
    let config = SessionConfig::flask(Key::new(SECRET).expect("key"));
    let middleware = SessionMiddleware::new(config)
        .expect("config")
        .with_store(store);
    let app = init_service(
        App::new()
            .wrap(middleware)
            .route(
                "/user",
                web::get().to(|s: Session| async move {
                    HttpResponse::Ok()
                        .body(s.get::<String>("user").ok().flatten().unwrap_or_default())
                }),
            )
            .route(
                "/login",
                web::post().to(|s: Session| async move {
                    s.insert_value("user", Value::Str("dave".into()));
                    HttpResponse::Ok().finish()
                }),
            ),
    )
    .await;
    let cookie = cookie_of_flask(&flask.send_json("PUT", "/session/user", None, &json!("erin")));
    let req = TestRequest::get()
        .uri("/user")
        .insert_header(("cookie", cookie.as_str()));
    let body = read_body(call_service(&app, req.to_request()).await).await;
    assert_eq!(body, "erin");
    let login = call_service(&app, TestRequest::post().uri("/login").to_request()).await;
    let set = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a Set-Cookie")
        .to_owned();
    let pair = set.split(';').next().expect("a pair");
    assert_eq!(
        flask.get("/session", Some(pair)).json()["user"],
        json!("dave")
    );
}

/// The parts of the store conformance suite that Flask-Session's record format allows
/// (it keeps no creation time and turns tuples into lists, so `load_returns_what_was_stored`
/// does not apply; `run_all` is therefore not used).
#[cfg(feature = "test-util")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_passes_the_conformance_checks_that_apply() {
    use flagon::store::conformance as c;
    if redis_or_skip().await.is_none() {
        return;
    }
    // 64 writers on one record of up to 16,000 keys: every write rewrites the whole
    // record (that is the format), so give each more than the default 500 ms.
    let options = FlaskSessionOptions::default()
        .key_prefix(prefix("conformance"))
        .permanent(false)
        .deadline(Duration::from_secs(5));
    let store = Arc::new(
        FlaskSessionRedisStore::connect_with(REDIS, options)
            .await
            .expect("connect"),
    );
    let started = std::time::Instant::now();
    c::create_never_overwrites(&*store).await;
    c::apply_set_remove_clear(&*store).await;
    c::apply_never_recreates(&*store).await;
    c::apply_checks_expectations(&*store).await;
    c::touch_moves_only_expiry(&*store).await;
    c::delete_then_nothing(&*store).await;
    c::renew_moves_and_kills_old(&*store).await;
    c::renew_collision_changes_nothing(&*store).await;
    c::expired_never_returned(&*store).await;
    c::expired_are_cleaned_up(&*store).await;
    // 64 writers, but 20 keys each rather than the suite's 250: every write rewrites the
    // whole record inside one Redis script, so at 16,000 keys each call held Redis for
    // about 10 ms, and the shared Redis stalled every other test for minutes.
    let disjoint = c::concurrent_disjoint_keys(store.clone(), 64, 20).await;
    c::concurrent_same_key(store.clone(), 16, 100).await;
    let purge = c::purge_races(store.clone(), 1000).await;
    let renew = c::renew_races(store, 200).await;
    eprintln!(
        "[flask-session] conformance took {:?}; keys lost: {} of {}; resurrections: {} of {}; \
         old key alive: {} of {}",
        started.elapsed(),
        disjoint.failures,
        disjoint.trials,
        purge.failures,
        purge.trials,
        renew.failures,
        renew.trials
    );
    assert_eq!(disjoint.trials, 1_280);
    assert_eq!(disjoint.failures, 0, "concurrent writes were lost");
    assert_eq!(purge.failures, 0, "a purged session came back");
    assert_eq!(renew.failures, 0, "a renewed-away key stayed alive");
}
