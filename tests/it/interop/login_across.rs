//! The classic login demo: log in on one implementation, use the cookie on the other.

/// The Rust login demo (examples/login.rs), built in-process.
#[allow(dead_code, unreachable_pub, clippy::duplicate_mod)] // also in login_example.rs
#[path = "../../../examples/login.rs"]
mod login;

use std::time::{Duration, UNIX_EPOCH};

use flagon::axum::SessionLayer;
use flagon::flask::{self, Limits};
use flagon::{Key, SessionConfig};

use super::{start, SECRET};
use crate::support::flask_peer::FlaskPeer;
use crate::support::http::{get, send};

const WELCOME: &str = "Welcome to the dashboard!";
const DENIED: &str = "Access denied!";

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

/// The attributes after `name=value` in a Set-Cookie header.
fn attributes(header: &str) -> &str {
    header.split_once(';').map_or("", |(_, rest)| rest.trim())
}

/// Flask's and flagon's Set-Cookie headers for the same login and logout, under Flask's
/// defaults and under a configuration that uses every attribute.
#[tokio::test]
async fn set_cookie_headers_match_flask() {
    let custom_flask = [
        "--cookie-name",
        "sid",
        "--cookie-domain",
        "example.com",
        "--cookie-path",
        "/a b;c",
        "--samesite",
        "Lax",
        "--partitioned",
        "--no-httponly",
    ];
    let key = || Key::new(SECRET).unwrap();
    let custom_rust = SessionConfig::flask(key())
        .cookie_name("sid")
        .domain(Some("example.com"))
        .path("/a b;c")
        .same_site(Some(flagon::SameSite::Lax))
        .partitioned(true)
        .http_only(false);
    for (flask_args, config, name) in [
        (&[][..], SessionConfig::flask(key()), "session"),
        (&custom_flask[..], custom_rust, "sid"),
    ] {
        let Some(flask) = start(flask_args) else {
            return;
        };
        let app = login::app(SessionLayer::new(config).unwrap());
        let form = [("Content-Type", "application/x-www-form-urlencoded")];
        let flask_login = flask.request("POST", "/login", &form, b"username=admin");
        let rust_login = send(&app, "POST", "/login", &[], Some("username=admin")).await;
        let flask_header = flask_login.header_values("set-cookie")[0].to_owned();
        let rust_header = rust_login.set_cookie().expect("flagon sets the cookie");
        assert!(
            rust_header.starts_with(&format!("{name}=")),
            "{rust_header}"
        );
        assert_eq!(
            attributes(&rust_header),
            attributes(&flask_header),
            "login, cookie {name}"
        );

        let flask_pair = flask_header.split(';').next().unwrap();
        let rust_pair = rust_header.split(';').next().unwrap().to_owned();
        let flask_logout = flask.get("/logout", Some(flask_pair));
        let rust_logout = get(&app, "/logout", Some(&rust_pair)).await;
        let flask_deletion = flask_logout.header_values("set-cookie")[0];
        assert_eq!(
            rust_logout.set_cookie().as_deref(),
            Some(flask_deletion),
            "logout, cookie {name}"
        );
    }
}

fn app_with(config: SessionConfig) -> axum::Router {
    login::app(SessionLayer::new(config).unwrap())
}

fn flask_key(secret: &str) -> SessionConfig {
    SessionConfig::flask(Key::new(secret).unwrap())
}

/// Logs in on the Flask peer; the `session=value` pair it set.
fn flask_login(peer: &FlaskPeer) -> String {
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let reply = peer.request("POST", "/login", &form, b"username=admin");
    format!(
        "session={}",
        reply.set_cookie_value("session").expect("login cookie")
    )
}

async fn dashboard(app: &axum::Router, cookie: &str) -> String {
    get(app, "/dashboard", Some(cookie)).await.body
}

/// `SessionConfig::fallback_key` against Flask's `SECRET_KEY_FALLBACKS`, both ways.
#[tokio::test]
async fn key_rotation_through_the_layer() {
    let old = "rotated-out key";
    let Some(old_flask) = FlaskPeer::start(&["--secret", old]) else {
        return;
    };
    let Some(new_flask) = start(&["--fallback", old]) else {
        return;
    };
    let rotated = app_with(flask_key(SECRET).fallback_key(Key::new(old).unwrap()));
    let only_new = app_with(flask_key(SECRET));
    let still_old = app_with(flask_key(old));

    let from_old_flask = flask_login(&old_flask);
    assert_eq!(dashboard(&rotated, &from_old_flask).await, WELCOME);
    assert_eq!(dashboard(&only_new, &from_old_flask).await, DENIED);

    let from_old_rust = send(&still_old, "POST", "/login", &[], Some("username=admin")).await;
    assert_eq!(
        new_flask
            .get("/dashboard", Some(&from_old_rust.cookie_pair()))
            .body,
        WELCOME
    );

    // After rotation flagon signs with the new key only.
    let from_rotated = send(&rotated, "POST", "/login", &[], Some("username=admin")).await;
    assert_eq!(
        new_flask
            .get("/dashboard", Some(&from_rotated.cookie_pair()))
            .body,
        WELCOME
    );
    assert_eq!(
        old_flask
            .get("/dashboard", Some(&from_rotated.cookie_pair()))
            .body,
        DENIED
    );
}

/// A Flask cookie under flagon's `permanent_lifetime` and `clock_skew`, at exact ages.
#[tokio::test]
async fn lifetime_and_clock_skew_through_the_layer() {
    let Some(peer) = start(&["--lifetime", "60"]) else {
        return;
    };
    let cookie = flask_login(&peer);
    let value = cookie.split_once('=').unwrap().1;
    let (_, signed) =
        flask::insecure_decode_unverified(value.as_bytes(), &Limits::default()).unwrap();
    let at = |offset: i64| {
        let t = UNIX_EPOCH + Duration::from_secs(signed.checked_add_signed(offset).unwrap());
        move || t
    };
    let lifetime = |c: SessionConfig| c.permanent_lifetime(Duration::from_secs(60));
    for (offset, skew, expected) in [
        (60, 0, WELCOME),
        (61, 0, DENIED),
        (-1, 0, DENIED),
        (-1, 5, WELCOME),
        (-6, 5, DENIED),
    ] {
        let config = lifetime(flask_key(SECRET))
            .clock(at(offset))
            .clock_skew(Duration::from_secs(skew));
        let body = dashboard(&app_with(config), &cookie).await;
        assert_eq!(body, expected, "age {offset} s, skew {skew} s");
        // Flask, at the same moments, agrees wherever flagon mimics it (no skew).
        if skew == 0 {
            let now = signed.checked_add_signed(offset).unwrap();
            let doc = serde_json::json!({ "cookie": value, "now": now });
            let flask_says = peer.send_json("POST", "/debug/decode", None, &doc).json();
            assert_eq!(
                flask_says["ok"],
                expected == WELCOME,
                "Flask at age {offset}: {flask_says}"
            );
        }
    }
}
