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
