//! Flask's save rules, differentially: the same request sequences go to the Flask peer and
//! to a flagon app with the same routes, and each response must agree on whether a cookie
//! is written or deleted, whether it carries `Expires`, and whether it varies on `Cookie`.
//! Each side carries its own cookie forward; flagon decodes both to the same data.

use axum::extract::Path;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use flagon::axum::SessionLayer;
use flagon::{Key, KeyRing, Session, SessionConfig};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::{start, verify_now, SECRET};
use crate::support::flask_peer::{FlaskPeer, PeerReply};
use crate::support::http::Reply;

/// The peer's routes that the scenarios use, written with flagon.
fn mirror(config: SessionConfig) -> Router {
    Router::new()
        .route("/ping", get(|| async { "pong" }))
        .route(
            "/session",
            get(|s: Session| async move { format!("{:?}", s.to_map()) }),
        )
        .route(
            "/session/{key}",
            put(
                |s: Session, Path(k): Path<String>, Json(v): Json<i64>| async move {
                    s.insert_value(&k, v);
                },
            ),
        )
        .route(
            "/session/{key}",
            delete(|s: Session, Path(k): Path<String>| async move {
                s.remove(&k);
            }),
        )
        .route("/clear", post(|s: Session| async move { s.clear() }))
        .route(
            "/permanent",
            post(|s: Session| async move { s.set_permanent(true) }),
        )
        .layer(SessionLayer::new(config).unwrap())
}

/// What a response did to the session cookie, in terms both sides can be compared on.
#[derive(Debug, PartialEq, Eq)]
struct Effect {
    write: bool,
    delete: bool,
    expires: bool,
    vary_cookie: bool,
}

fn effect(set_cookie: Option<&str>, vary: &[&str]) -> Effect {
    let header = set_cookie.unwrap_or("");
    Effect {
        write: !header.is_empty() && !header.starts_with("session=;"),
        delete: header.starts_with("session=;"),
        expires: header.contains("Expires="),
        vary_cookie: vary
            .iter()
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("cookie")),
    }
}

fn flask_effect(reply: &PeerReply) -> Effect {
    let cookies = reply.header_values("set-cookie");
    assert!(cookies.len() <= 1, "{cookies:?}");
    effect(cookies.first().copied(), &reply.header_values("vary"))
}

fn rust_effect(reply: &Reply) -> Effect {
    let vary: Vec<&str> = reply
        .headers
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    effect(reply.set_cookie().as_deref(), &vary)
}

/// One side's cookie jar: the `session=value` pair it last received.
#[derive(Default)]
struct Jar(Option<String>);

impl Jar {
    fn update(&mut self, set_cookie: Option<&str>) {
        if let Some(header) = set_cookie {
            let pair = header.split(';').next().unwrap();
            self.0 = (!pair.ends_with('=')).then(|| pair.to_owned());
        }
    }
}

/// Runs `steps` (method, path, JSON body) on both sides and compares every response.
async fn compare(
    peer: &FlaskPeer,
    app: &Router,
    start_cookie: Option<&str>,
    steps: &[(&str, &str, &str)],
) {
    let (mut flask_jar, mut rust_jar) = (
        Jar(start_cookie.map(str::to_owned)),
        Jar(start_cookie.map(str::to_owned)),
    );
    for (i, (method, path, body)) in steps.iter().enumerate() {
        let mut headers = vec![("Content-Type", "application/json")];
        headers.extend(flask_jar.0.as_deref().map(|c| ("Cookie", c)));
        let flask_reply = peer.request(method, path, &headers, body.as_bytes());
        let rust_cookies: Vec<&str> = rust_jar.0.as_deref().into_iter().collect();
        let rust_reply = send_json(app, method, path, &rust_cookies, body).await;
        let step = format!("step {i}: {method} {path} {body}");
        assert_eq!(
            rust_effect(&rust_reply),
            flask_effect(&flask_reply),
            "{step}"
        );
        flask_jar.update(flask_reply.header_values("set-cookie").first().copied());
        rust_jar.update(rust_reply.set_cookie().as_deref());
        assert_eq!(
            decoded(&rust_jar),
            decoded(&flask_jar),
            "{step}: session data"
        );
    }
}

/// One request through the flagon app, with an optional JSON body.
async fn send_json(app: &Router, method: &str, path: &str, cookies: &[&str], body: &str) -> Reply {
    let mut request = http::Request::builder().method(method).uri(path);
    for cookie in cookies {
        request = request.header(http::header::COOKIE, *cookie);
    }
    if !body.is_empty() {
        request = request.header(http::header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(axum::body::Body::from(body.to_owned()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn decoded(jar: &Jar) -> Option<String> {
    let pair = jar.0.as_deref()?;
    let value = pair.split_once('=').unwrap().1;
    let ring = KeyRing::new(Key::new(SECRET).unwrap());
    verify_now(value, &ring)
        .ok()
        .map(|v| flagon::flask::to_tagged_json(&v.session))
}

#[tokio::test]
async fn save_rules_match_flask() {
    let Some(peer) = start(&[]) else { return };
    let app = mirror(SessionConfig::flask(Key::new(SECRET).unwrap()));
    let scenarios: &[&[(&str, &str, &str)]] = &[
        // Untouched, read-only, written, read back, popped-missing, emptied.
        &[
            ("GET", "/ping", ""),
            ("GET", "/session", ""),
            ("PUT", "/session/a", "1"),
            ("GET", "/session", ""),
            ("DELETE", "/session/missing", ""),
            ("GET", "/ping", ""),
            ("DELETE", "/session/a", ""),
        ],
        // Clearing an already empty session still sends the deletion cookie.
        &[
            ("POST", "/clear", ""),
            ("PUT", "/session/a", "1"),
            ("POST", "/clear", ""),
        ],
        // Permanent sessions carry Expires and are re-sent on every request.
        &[
            ("PUT", "/session/a", "1"),
            ("POST", "/permanent", ""),
            ("GET", "/ping", ""),
            ("GET", "/session", ""),
            ("PUT", "/session/a", "2"),
            ("DELETE", "/session/a", ""),
        ],
    ];
    for steps in scenarios {
        compare(&peer, &app, None, steps).await;
    }
    // A cookie that does not verify is ignored, and not deleted until the session is written.
    let garbage = Some("session=not.a.cookie");
    compare(
        &peer,
        &app,
        garbage,
        &[
            ("GET", "/session", ""),
            ("GET", "/ping", ""),
            ("PUT", "/session/b", "3"),
        ],
    )
    .await;
}

#[tokio::test]
async fn save_rules_match_flask_without_refresh() {
    let Some(peer) = start(&["--no-refresh"]) else {
        return;
    };
    let config = SessionConfig::flask(Key::new(SECRET).unwrap()).refresh_each_request(false);
    let app = mirror(config);
    let steps = [
        ("PUT", "/session/a", "1"),
        ("POST", "/permanent", ""),
        ("GET", "/ping", ""),
        ("GET", "/session", ""),
        ("PUT", "/session/a", "5"),
    ];
    compare(&peer, &app, None, &steps).await;
}
