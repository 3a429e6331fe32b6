//! The classic login demo: log in on one implementation, use the cookie on the other.

/// The Rust login demo (examples/login.rs), built in-process.
#[allow(dead_code, unreachable_pub, clippy::duplicate_mod)] // also in login_example.rs
#[path = "../../../examples/login.rs"]
mod login;

use flagon::axum::SessionLayer;
use flagon::{Key, SessionConfig};

use super::{start, SECRET};
use crate::support::http::{get, send};

fn rust_app() -> axum::Router {
    let config = SessionConfig::new(Key::new(SECRET).unwrap()).secure(false);
    login::app(SessionLayer::new(config).unwrap())
}

#[tokio::test]
async fn flask_login_opens_rust_dashboard() {
    let Some(flask) = start(&[]) else { return };
    let app = rust_app();
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let login = flask.request("POST", "/login", &form, b"username=admin");
    assert_eq!(login.body, "Logged in successfully!");
    let cookie = format!("session={}", login.set_cookie_value("session").unwrap());
    assert_eq!(
        get(&app, "/dashboard", Some(&cookie)).await.body,
        "Welcome to the dashboard!"
    );
    assert_eq!(get(&app, "/dashboard", None).await.body, "Access denied!");
    // Logging out on the Rust side yields a cookie Flask no longer lets in.
    let logout = get(&app, "/logout", Some(&cookie)).await;
    assert_eq!(logout.body, "Logged out successfully!");
    let after = logout.set_cookie().expect("logout writes the session");
    assert!(after.starts_with("session=;"), "{after}");
    let pair = after.split(';').next().unwrap();
    assert_eq!(flask.get("/dashboard", Some(pair)).body, "Access denied!");
}

#[tokio::test]
async fn rust_login_opens_flask_dashboard() {
    let Some(flask) = start(&[]) else { return };
    let app = rust_app();
    let failed = send(&app, "POST", "/login", &[], Some("username=mallory")).await;
    assert_eq!(failed.body, "Login failed!");
    let login = send(&app, "POST", "/login", &[], Some("username=admin")).await;
    assert_eq!(login.body, "Logged in successfully!");
    let cookie = login.cookie_pair();
    assert_eq!(
        flask.get("/dashboard", Some(&cookie)).body,
        "Welcome to the dashboard!"
    );
    // Flask adds to the session; the Rust app still reads it as logged in.
    let put = flask.send_json(
        "PUT",
        "/session/theme",
        Some(&cookie),
        &serde_json::json!("dark"),
    );
    let updated = format!(
        "session={}",
        put.set_cookie_value("session").expect("Flask re-signs")
    );
    assert_eq!(
        get(&app, "/dashboard", Some(&updated)).await.body,
        "Welcome to the dashboard!"
    );
    // Logging out on Flask keeps the theme but not the login, for the Rust app too.
    let logout = flask.get("/logout", Some(&updated));
    assert_eq!(logout.body, "Logged out successfully!");
    let after = format!(
        "session={}",
        logout.set_cookie_value("session").expect("Flask re-signs")
    );
    assert_eq!(
        get(&app, "/dashboard", Some(&after)).await.body,
        "Access denied!"
    );
}
