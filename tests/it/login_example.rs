//! The login example (examples/login.rs) end to end, in-process.

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/login.rs"]
pub(crate) mod login;

use flagon::axum::SessionLayer;
use flagon::{Key, SessionConfig};
use http::StatusCode;

use crate::support::http::{get, send};

fn app() -> axum::Router {
    app_in(None)
}

fn app_in(session_cookie: Option<&str>) -> axum::Router {
    let mode = login::cookie_mode(session_cookie).unwrap();
    let config = SessionConfig::new(Key::new("example key").unwrap())
        .secure(false)
        .cookie_mode(mode);
    login::app(SessionLayer::new(config).unwrap())
}

#[tokio::test]
async fn classic_login_flow() {
    login_flow(app(), true).await;
}

#[tokio::test]
async fn classic_login_flow_with_sealed_cookies() {
    login_flow(app_in(Some("sealed")), false).await;
    login_flow(app_in(Some("sealed-accepting-signed")), false).await;
    assert!(login::cookie_mode(Some("encrypted")).is_err());
}

async fn login_flow(app: axum::Router, signed: bool) {
    let index = get(&app, "/", None).await;
    assert!(index
        .body
        .contains("<form method=\"post\" action=\"/login\">"));
    assert_eq!(get(&app, "/dashboard", None).await.body, "Access denied!");

    let failed = send(&app, "POST", "/login", &[], Some("username=mallory")).await;
    assert_eq!(
        (failed.status, failed.body.as_str()),
        (StatusCode::OK, "Login failed!")
    );
    assert_eq!(failed.set_cookie(), None);

    let login = send(&app, "POST", "/login", &[], Some("username=admin")).await;
    assert_eq!(login.body, "Logged in successfully!");
    let cookie = login.cookie_pair();
    // A signed cookie holds `payload.timestamp.signature`; a sealed one has no dot.
    assert_eq!(cookie.contains('.'), signed, "{cookie}");
    assert_eq!(
        get(&app, "/dashboard", Some(&cookie)).await.body,
        "Welcome to the dashboard!"
    );

    let logout = get(&app, "/logout", Some(&cookie)).await;
    assert_eq!(logout.body, "Logged out successfully!");
    assert!(logout
        .set_cookie()
        .unwrap()
        .starts_with("session=; Expires=Thu, 01 Jan 1970"));
    assert_eq!(get(&app, "/dashboard", None).await.body, "Access denied!");
}

/// A Flask app that stored `session['logged_in'] = 1` (truthy in Python) is logged in here
/// too: the dashboard reads the flag with Python's truthiness, not as a Rust `bool`.
#[tokio::test]
async fn flask_written_truthy_flags_log_in() {
    let app = app();
    let key = Key::new("example key").unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (value, page) in [
        (flagon::Value::Int(1), "Welcome to the dashboard!"),
        (
            flagon::Value::Str("yes".into()),
            "Welcome to the dashboard!",
        ),
        (flagon::Value::Int(0), "Access denied!"),
        (flagon::Value::Null, "Access denied!"),
    ] {
        let mut session = flagon::Map::new();
        session.insert("logged_in".into(), value.clone());
        let cookie = format!("session={}", flagon::flask::sign(&session, &key, now));
        let reply = get(&app, "/dashboard", Some(&cookie)).await;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (StatusCode::OK, page),
            "{value:?}"
        );
    }
}
#[tokio::test]
async fn metrics_endpoint_shows_the_rejection_reason() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let _ = login::METRICS.set(recorder.handle());
    // This thread only: other tests running in parallel do not count here.
    let _guard = metrics::set_default_local_recorder(&recorder);
    let app = app();
    let login = send(&app, "POST", "/login", &[], Some("username=admin")).await;
    let cookie = login.cookie_pair();
    let mut tampered = cookie.into_bytes();
    let at = tampered.len() - 5;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_eq!(
        get(&app, "/dashboard", Some(&tampered)).await.body,
        "Access denied!"
    );
    let text = get(&app, "/metrics", None).await;
    assert_eq!(text.status, StatusCode::OK);
    for line in [
        "flagon_sessions_rejected_total{reason=\"bad_signature\"} 1",
        "flagon_sessions_opened_total{outcome=\"new\"} 1",
        "flagon_sessions_opened_total{outcome=\"rejected\"} 1",
        "flagon_session_saves_total{result=\"set\"} 1",
        "flagon_set_cookie_bytes_count 1",
    ] {
        assert!(
            text.body.lines().any(|l| l == line),
            "{line} in\n{}",
            text.body
        );
    }
}

#[cfg(feature = "memory")]
#[tokio::test]
async fn sessions_list_and_revoke_with_session_owner() {
    use std::sync::Arc;
    let config = SessionConfig::new(Key::new("example key").unwrap()).secure(false);
    let store = Arc::new(
        flagon::store::any::AnyStore::connect("memory")
            .await
            .unwrap(),
    );
    let registry = Arc::new(flagon::registry::Registry::new(store.clone(), &config));
    let layer = SessionLayer::new(config).unwrap().with_store(store);
    let options = login::Options {
        owner_is_username: true,
    };
    let app = login::app_with(layer, options, Some(registry));
    let mut cookies = Vec::new();
    for _ in 0..3 {
        let reply = send(&app, "POST", "/login", &[], Some("username=admin")).await;
        cookies.push(reply.cookie_pair());
    }
    let listed = get(&app, "/sessions", Some(&cookies[0])).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let list: Vec<serde_json::Value> = serde_json::from_str(&listed.body).unwrap();
    assert_eq!(list.len(), 3);
    for entry in &list {
        for field in ["handle", "created", "last_seen", "current"] {
            assert!(entry.get(field).is_some(), "{field} in {entry}");
        }
    }
    let current: Vec<_> = list.iter().filter(|e| e["current"] == true).collect();
    assert_eq!(current.len(), 1);
    let other = list.iter().find(|e| e["current"] == false).unwrap();
    let form = format!("handle={}", other["handle"].as_str().unwrap());
    let revoked = send(
        &app,
        "POST",
        "/sessions/revoke",
        &[&cookies[0]],
        Some(&form),
    )
    .await;
    assert_eq!(revoked.body, "{\"revoked\":1}");
    let mut logged_in = 0;
    for cookie in &cookies {
        if get(&app, "/dashboard", Some(cookie)).await.body == "Welcome to the dashboard!" {
            logged_in += 1;
        }
    }
    assert_eq!(logged_in, 2, "exactly the revoked client is logged out");
    let rest = send(
        &app,
        "POST",
        "/sessions/revoke",
        &[&cookies[0]],
        Some("all_but_current=1"),
    )
    .await;
    assert_eq!(rest.body, "{\"revoked\":1}");
    let listed = get(&app, "/sessions", Some(&cookies[0])).await;
    let list: Vec<serde_json::Value> = serde_json::from_str(&listed.body).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["current"], true);
    // Logging out ends the owned session: it leaves the list.
    get(&app, "/logout", Some(&cookies[0])).await;
    assert_eq!(
        get(&app, "/sessions", Some(&cookies[0])).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Cookie sessions have no registry.
    let cookie_app = self::app();
    assert_eq!(
        get(&cookie_app, "/sessions", None).await.status,
        StatusCode::NOT_IMPLEMENTED
    );
}

/// A browser gets every page with the way back (errors and unknown routes too, their
/// status kept); other clients get the bare texts of the Flask app.
#[tokio::test]
async fn browsers_get_a_way_back_from_every_page() {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    let app = app();
    let browse = |method: &str, path: &str, form: Option<&str>| {
        let mut request = http::Request::builder().method(method).uri(path).header(
            http::header::ACCEPT,
            "text/html,application/xhtml+xml,*/*;q=0.8",
        );
        if form.is_some() {
            request = request.header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
        }
        let body = axum::body::Body::from(form.unwrap_or_default().to_owned());
        app.clone().oneshot(request.body(body).unwrap())
    };
    for (method, path, form, status, message) in [
        (
            "POST",
            "/login",
            Some("username=admin"),
            200,
            "Logged in successfully!",
        ),
        ("POST", "/login", Some("username=eve"), 200, "Login failed!"),
        ("GET", "/dashboard", None, 200, "Access denied!"),
        ("GET", "/logout", None, 200, "Logged out successfully!"),
        ("GET", "/nowhere", None, 404, "Not Found"),
    ] {
        let response = browse(method, path, form).await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(
            response.headers()[http::header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            body.contains(&format!("<p id=\"message\">{message}</p>")),
            "{body}"
        );
        for link in ["href=\"/\"", "href=\"/dashboard\"", "href=\"/logout\""] {
            assert!(body.contains(link), "{path}: no {link} in {body}");
        }
    }
    let plain = get(&app, "/dashboard", None).await;
    assert_eq!(plain.body, "Access denied!");
}
