//! The login example (examples/login.rs) end to end, in-process.

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/login.rs"]
pub(crate) mod login;

use flagon::axum::SessionLayer;
use flagon::{Key, SessionConfig};
use http::StatusCode;

use crate::support::http::{get, send};

fn app() -> axum::Router {
    let config = SessionConfig::new(Key::new("example key").unwrap()).secure(false);
    login::app(SessionLayer::new(config).unwrap())
}

#[tokio::test]
async fn classic_login_flow() {
    let app = app();
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
