//! The login example in a real browser: headless Chromium, driven as a person would use
//! it (form, dashboard, logout, dashboard refused, back to the form), following the links
//! each page offers, with the cookie's attributes read back from the browser's own cookie
//! jar. Fails if the browser drops the cookie or a page has no way back.
//!
//! `FLAGON_SCREENSHOTS=1` writes a screenshot of each page of the cookie-session walk to
//! `docs/screenshots/` (shown in the README); otherwise they go to cargo's temporary
//! directory.

use std::path::PathBuf;
use std::sync::Arc;

use flagon::axum::SessionLayer;
use flagon::store::memory::MemoryStore;
use flagon::{Key, SessionConfig};

use crate::login_example::login;
use crate::support::webdriver::Browser;

/// Serves the example's routes on 127.0.0.1 (plain http), on a runtime of its own.
fn serve(layer: SessionLayer) -> (tokio::runtime::Runtime, String) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move { axum::serve(listener, login::app(layer)).await });
    (runtime, url)
}

fn screenshots_dir(mode: &str) -> PathBuf {
    if mode == "cookie" && std::env::var_os("FLAGON_SCREENSHOTS").is_some() {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/screenshots"))
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
    }
}

/// The example's walk through, with the example's own configuration: flagon's defaults,
/// `Secure` included (browsers keep Secure cookies from http://127.0.0.1).
fn walk(mode: &str, layer: SessionLayer) {
    let Some(browser) = Browser::start() else {
        return;
    };
    let (_server, url) = serve(layer);
    let dir = screenshots_dir(mode);
    std::fs::create_dir_all(&dir).unwrap();
    let shot = |step: &str| {
        let path = dir.join(format!("{mode}-{step}.png"));
        std::fs::write(&path, browser.screenshot()).unwrap();
    };

    browser.open(&format!("{url}/"));
    assert!(
        browser.text().contains("flagon login demo"),
        "{}",
        browser.text()
    );
    shot("1-form");

    browser.type_into("input[name=username]", "admin");
    browser.click("button[type=submit]");
    assert_eq!(message(&browser), "Logged in successfully!");
    shot("2-logged-in");
    let cookies = browser.cookies();
    let session = cookies
        .iter()
        .find(|c| c.name == "session")
        .unwrap_or_else(|| panic!("the browser dropped the session cookie: {cookies:?}"));
    assert!(session.secure && session.http_only, "{session:?}");
    assert_eq!(
        (session.path.as_str(), session.same_site.as_str()),
        ("/", "Lax")
    );
    assert_eq!(
        session.expiry, None,
        "not permanent: gone when the browser closes"
    );

    browser.click("a[href='/dashboard']");
    assert_eq!(message(&browser), "Welcome to the dashboard!");
    shot("3-dashboard");

    browser.click("a[href='/logout']");
    assert_eq!(message(&browser), "Logged out successfully!");
    shot("4-logged-out");
    let kept = browser.cookies().iter().any(|c| c.name == "session");
    if mode == "cookie" {
        assert!(!kept, "the emptied session's deletion cookie removed it");
    } else {
        // With a store, removing the last key one by one does not end the session (the
        // handler's view may be stale): the id cookie stays, its record is empty.
        assert!(kept, "the id cookie of the emptied stored session");
    }

    browser.click("a[href='/dashboard']");
    assert_eq!(message(&browser), "Access denied!");
    shot("5-denied");

    browser.click("a[href='/']");
    assert!(browser.text().contains("flagon login demo"));
}

/// The page's message, after checking that the page offers the way back.
fn message(browser: &Browser) -> String {
    let text = browser.text();
    assert!(
        text.ends_with("login form · dashboard · log out"),
        "no way back on this page: {text:?}"
    );
    text.lines().next().unwrap_or_default().to_owned()
}

fn config() -> SessionConfig {
    SessionConfig::new(Key::new("browser test key, 32 bytes long!").unwrap())
}

#[test]
fn cookie_sessions_in_headless_chromium() {
    walk("cookie", SessionLayer::new(config()).unwrap());
}

#[test]
fn store_sessions_in_headless_chromium() {
    let store = Arc::new(MemoryStore::new(100));
    walk(
        "store",
        SessionLayer::new(config()).unwrap().with_store(store),
    );
}
