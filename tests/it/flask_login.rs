//! Flask-Login 0.6.3 and Flask-WTF 1.3.0 against flagon's `flask_login` and `csrf`, live:
//! tests/flask/login_peer.py in a child process and an axum app in-process, sharing one
//! secret key and passing cookies back and forth like one browser.
//!
//! Every request to either side carries the same `X-Forwarded-For` and `User-Agent`, so
//! both compute the same session identifier unless a test changes them on purpose.
//! Without Python and the packages of tests/flask/requirements.txt these tests skip
//! loudly, and fail when `CI` is set.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use flagon::axum::SessionLayer;
use flagon::csrf::axum::{CsrfLayer, CsrfToken};
use flagon::csrf::CsrfConfig;
use flagon::flask_login::axum::{Login, LoginLayer};
use flagon::flask_login::{self, Client, LoginConfig, LoginOptions, Protection};
use flagon::{Key, SessionConfig};
use http::Request;
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::support::flask_peer::{self, FlaskPeer, PeerReply};

#[cfg(feature = "actix")]
mod actix;

const SECRET: &str = "login interop secret";
const HOME: [(&str, &str); 2] = [
    ("X-Forwarded-For", "10.1.2.3"),
    ("User-Agent", "flagon-test/1.0"),
];
const AWAY: [(&str, &str); 2] = [
    ("X-Forwarded-For", "192.0.2.77"),
    ("User-Agent", "flagon-test/1.0"),
];
const MISSING: &str = "The CSRF token is missing.";
const INVALID: &str = "The CSRF token is invalid.";
const EXPIRED: &str = "The CSRF token has expired.";

fn key() -> Key {
    Key::new(SECRET).unwrap()
}

/// The Flask peer with Flask-Login and Flask-WTF, or a loud skip.
fn start_flask(args: &[&str]) -> Option<FlaskPeer> {
    let python = flask_peer::python_with("flask, flask_login, flask_wtf").or_else(|| {
        flask_peer::unavailable("no Python that can `import flask_login, flask_wtf`")
    })?;
    let mut all = vec!["--secret", SECRET];
    all.extend_from_slice(args);
    FlaskPeer::start_script(&python, "login_peer.py", &all)
}

#[derive(Deserialize)]
struct LoginForm {
    user_id: String,
    remember: Option<String>,
    duration: Option<f64>,
    fresh: Option<String>,
}

async fn login(login: Login, Form(form): Form<LoginForm>) -> Json<Value> {
    let mut options = LoginOptions::new()
        .remember(form.remember.as_deref() == Some("1"))
        .fresh(form.fresh.as_deref() != Some("0"));
    if let Some(seconds) = form.duration {
        options = options.duration(Duration::from_secs_f64(seconds));
    }
    login.login_user(&form.user_id, &options);
    Json(json!({"ok": true}))
}

async fn logout(login: Login) -> Json<Value> {
    login.logout_user();
    Json(json!({"ok": true}))
}

async fn confirm(login: Login) -> Json<Value> {
    login.confirm_login();
    Json(json!({"ok": true}))
}

async fn whoami(login: Login) -> Json<Value> {
    let user = login.current_user().map(|u| u.id);
    Json(json!({"user": user, "fresh": flask_login::login_fresh(login.session())}))
}

async fn token(CsrfToken(token): CsrfToken) -> Json<Value> {
    Json(json!({ "token": token }))
}

/// The Rust twin of login_peer.py.
fn rust_app(login_config: LoginConfig, csrf: CsrfConfig) -> Router {
    let csrf_routes = Router::new()
        .route("/csrf/token", get(token))
        .route(
            "/csrf/protected",
            post(|| async { Json(json!({"ok": true})) }),
        )
        .layer(CsrfLayer::new(csrf));
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/confirm", post(confirm))
        .route("/whoami", get(whoami))
        .merge(csrf_routes)
        .layer(LoginLayer::new(login_config).unwrap())
        .layer(SessionLayer::new(SessionConfig::flask(key())).unwrap())
}

fn default_app() -> Router {
    rust_app(LoginConfig::new(key()), CsrfConfig::new(key()))
}

/// [`rust_app`] with a session layer of the caller's choosing.
fn rust_app_with(login_config: LoginConfig, session: SessionLayer) -> Router {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/whoami", get(whoami))
        .layer(LoginLayer::new(login_config).unwrap())
        .layer(session)
}

/// A browser's cookies: what both sides set, sent to both sides.
#[derive(Debug, Default, Clone)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn header(&self) -> String {
        let pairs: Vec<String> = self.0.iter().map(|(n, v)| format!("{n}={v}")).collect();
        pairs.join("; ")
    }

    fn take(&mut self, set_cookies: &[&str]) {
        for set in set_cookies {
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn without(&self, name: &str) -> Jar {
        let mut jar = self.clone();
        jar.0.remove(name);
        jar
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// What one side answered, in a shape both sides share.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: String,
    set_cookies: Vec<String>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{} {e}: {}", self.status, self.body))
    }

    fn set_cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies
            .iter()
            .map(String::as_str)
            .find(|c| c.starts_with(&format!("{name}=")))
    }
}

fn from_peer(reply: PeerReply) -> Answer {
    Answer {
        status: reply.status,
        set_cookies: reply
            .header_values("set-cookie")
            .into_iter()
            .map(str::to_owned)
            .collect(),
        body: reply.body,
    }
}

/// One browser talking to either side.
struct Browser {
    jar: Jar,
    headers: [(&'static str, &'static str); 2],
}

impl Browser {
    fn new() -> Browser {
        Browser {
            jar: Jar::default(),
            headers: HOME,
        }
    }

    async fn rust(&mut self, app: &Router, method: &str, path: &str, form: Option<&str>) -> Answer {
        let answer = rust_request(app, method, path, &self.jar, &self.headers, form).await;
        let cookies: Vec<&str> = answer.set_cookies.iter().map(String::as_str).collect();
        self.jar.take(&cookies);
        answer
    }

    fn flask(&mut self, peer: &FlaskPeer, method: &str, path: &str, form: Option<&str>) -> Answer {
        let answer = flask_request(peer, method, path, &self.jar, &self.headers, form);
        let cookies: Vec<&str> = answer.set_cookies.iter().map(String::as_str).collect();
        self.jar.take(&cookies);
        answer
    }
}

async fn rust_request(
    app: &Router,
    method: &str,
    path: &str,
    jar: &Jar,
    headers: &[(&str, &str)],
    form: Option<&str>,
) -> Answer {
    let mut builder = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    if !jar.0.is_empty() {
        builder = builder.header("Cookie", jar.header());
    }
    let body = match form {
        Some(form) => {
            builder = builder.header("Content-Type", "application/x-www-form-urlencoded");
            Body::from(form.to_owned())
        }
        None => Body::empty(),
    };
    let response = app
        .clone()
        .oneshot(builder.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let set_cookies = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        set_cookies,
    }
}

fn flask_request(
    peer: &FlaskPeer,
    method: &str,
    path: &str,
    jar: &Jar,
    headers: &[(&str, &str)],
    form: Option<&str>,
) -> Answer {
    let cookie = jar.header();
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    if !jar.0.is_empty() {
        all.push(("Cookie", &cookie));
    }
    if form.is_some() {
        all.push(("Content-Type", "application/x-www-form-urlencoded"));
    }
    from_peer(peer.request(method, path, &all, form.unwrap_or("").as_bytes()))
}

fn me(user: Option<&str>, fresh: bool) -> Value {
    json!({"user": user, "fresh": fresh})
}

fn form_with_token(token: &str) -> String {
    format!("name=x&csrf_token={}", token.replace('.', "%2E"))
}

#[test]
fn session_identifier_is_flask_logins() {
    let Some(flask) = start_flask(&[]) else {
        return;
    };
    let reply = flask.request("GET", "/debug/identifier", &HOME, b"");
    let theirs = reply.json()["identifier"].as_str().unwrap().to_owned();
    let ours = Client::new(Some("10.1.2.3"), Some(b"flagon-test/1.0")).session_identifier();
    assert_eq!(ours, theirs);
    let reply = flask.request("GET", "/debug/remember/user%20%C3%A9", &HOME, b"");
    let theirs = reply.json()["cookie"].as_str().unwrap().to_owned();
    assert_eq!(
        flask_login::encode_remember_cookie(&key(), "user é"),
        theirs
    );
}

#[tokio::test]
async fn flask_login_is_seen_by_rust() {
    let Some(flask) = start_flask(&[]) else {
        return;
    };
    let app = default_app();
    let mut browser = Browser::new();
    browser.flask(&flask, "POST", "/login", Some("user_id=42"));
    assert_eq!(
        browser.rust(&app, "GET", "/whoami", None).await.json(),
        me(Some("42"), true)
    );
    let mut stale = Browser::new();
    stale.flask(&flask, "POST", "/login", Some("user_id=7&fresh=0"));
    assert_eq!(
        stale.rust(&app, "GET", "/whoami", None).await.json(),
        me(Some("7"), false)
    );
    // confirm_login on the Rust side makes it fresh for Flask
    stale.rust(&app, "POST", "/confirm", None).await;
    assert_eq!(
        stale.flask(&flask, "GET", "/whoami", None).json(),
        me(Some("7"), true)
    );
}

#[tokio::test]
async fn rust_login_is_seen_by_flask() {
    let Some(flask) = start_flask(&[]) else {
        return;
    };
    let app = default_app();
    let mut browser = Browser::new();
    let answer = browser
        .rust(&app, "POST", "/login", Some("user_id=42"))
        .await;
    assert!(
        answer.set_cookie("remember_token").is_none(),
        "no remember cookie without remember"
    );
    assert_eq!(
        browser.flask(&flask, "GET", "/whoami", None).json(),
        me(Some("42"), true)
    );
    // the sessions both sides write are the same keys and values
    let flask_session = browser.flask(&flask, "GET", "/session", None).json();
    let mut twin = Browser::new();
    twin.flask(&flask, "POST", "/login", Some("user_id=42"));
    assert_eq!(
        twin.flask(&flask, "GET", "/session", None).json(),
        flask_session
    );
}

#[tokio::test]
async fn remember_cookie_from_flask_restores_rust_login() {
    let Some(flask) = start_flask(&[]) else {
        return;
    };
    let app = default_app();
    let mut browser = Browser::new();
    let answer = browser.flask(&flask, "POST", "/login", Some("user_id=42&remember=1"));
    let flask_cookie = answer
        .set_cookie("remember_token")
        .expect("Flask sets the remember cookie");
    // the browser closes: the session cookie is gone, the remember cookie stays
    browser.jar = browser.jar.without("session");
    let answer = browser.rust(&app, "GET", "/whoami", None).await;
    assert_eq!(answer.json(), me(Some("42"), false));
    assert!(
        browser.jar.get("session").is_some(),
        "the restored login is saved"
    );
    assert_eq!(
        browser.flask(&flask, "GET", "/whoami", None).json(),
        me(Some("42"), false)
    );
    // the Rust side writes the same remember cookie, attributes and all
    let mut rust_side = Browser::new();
    let answer = rust_side
        .rust(&app, "POST", "/login", Some("user_id=42&remember=1"))
        .await;
    let ours = answer.set_cookie("remember_token").unwrap();
    assert_eq!(without_expires(ours), without_expires(flask_cookie));
}

/// A Set-Cookie with its `Expires` taken out (the two sides sign a second apart).
fn without_expires(set_cookie: &str) -> String {
    let parts: Vec<&str> = set_cookie
        .split("; ")
        .filter(|p| !p.starts_with("Expires="))
        .collect();
    parts.join("; ")
}

fn is_deletion(set_cookie: &str) -> bool {
    set_cookie.starts_with("remember_token=;") && set_cookie.contains("Max-Age=0")
}

#[tokio::test]
async fn remember_cookie_from_rust_restores_flask_login() {
    let Some(flask) = start_flask(&[]) else {
        return;
    };
    let app = default_app();
    let mut browser = Browser::new();
    let answer = browser
        .rust(
            &app,
            "POST",
            "/login",
            Some("user_id=user+%C3%A9&remember=1&duration=90"),
        )
        .await;
    let cookie = answer.set_cookie("remember_token").unwrap();
    assert!(
        cookie.starts_with("remember_token=\"user \\303\\251|"),
        "Werkzeug's quoting: {cookie}"
    );
    browser.jar = browser.jar.without("session");
    assert_eq!(
        browser.flask(&flask, "GET", "/whoami", None).json(),
        me(Some("user é"), false)
    );
    browser.jar = browser.jar.without("session");
    assert_eq!(
        browser.rust(&app, "GET", "/whoami", None).await.json(),
        me(Some("user é"), false)
    );
    // a forged or wrong-key remember cookie is ignored by both, without an error page
    for forged in [
        flask_login::encode_remember_cookie(&Key::new("another key").unwrap(), "42"),
        "42|00".to_owned(),
        "garbage".to_owned(),
    ] {
        let mut mallory = Browser::new();
        mallory
            .jar
            .0
            .insert("remember_token".into(), forged.clone());
        let rust = mallory.rust(&app, "GET", "/whoami", None).await;
        assert_eq!(
            (rust.status, rust.json()),
            (200, me(None, false)),
            "{forged}"
        );
        let flask_answer = mallory.flask(&flask, "GET", "/whoami", None);
        assert_eq!(
            (flask_answer.status, flask_answer.json()),
            (200, me(None, false)),
            "{forged}"
        );
    }
}

#[tokio::test]
async fn logout_on_either_side_ends_both() {
    let Some(flask) = start_flask(&[]) else {
        return;
    };
    let app = default_app();
    for rust_logs_out in [true, false] {
        let mut browser = Browser::new();
        if rust_logs_out {
            browser.flask(&flask, "POST", "/login", Some("user_id=42&remember=1"));
            let answer = browser.rust(&app, "POST", "/logout", None).await;
            let deletion = answer
                .set_cookie("remember_token")
                .expect("remember cookie deleted");
            assert!(deletion.contains("Max-Age=0"), "{deletion}");
        } else {
            browser
                .rust(&app, "POST", "/login", Some("user_id=42&remember=1"))
                .await;
            let answer = browser.flask(&flask, "POST", "/logout", None);
            assert!(answer
                .set_cookie("remember_token")
                .is_some_and(|c| c.contains("Max-Age=0")));
        }
        assert_eq!(browser.jar.get("remember_token"), None);
        assert_eq!(
            browser.flask(&flask, "GET", "/whoami", None).json(),
            me(None, false)
        );
        assert_eq!(
            browser.rust(&app, "GET", "/whoami", None).await.json(),
            me(None, false)
        );
    }
}

#[tokio::test]
async fn session_protection_matches() {
    for (mode, protection) in [("basic", Protection::Basic), ("strong", Protection::Strong)] {
        let Some(flask) = start_flask(&["--protection", mode]) else {
            return;
        };
        let app = rust_app(
            LoginConfig::new(key()).session_protection(protection),
            CsrfConfig::new(key()),
        );
        for rust_logs_in in [true, false] {
            let mut ours = Browser::new();
            let mut theirs = Browser::new();
            for browser in [&mut ours, &mut theirs] {
                if rust_logs_in {
                    browser
                        .rust(&app, "POST", "/login", Some("user_id=42&remember=1"))
                        .await;
                } else {
                    browser.flask(&flask, "POST", "/login", Some("user_id=42&remember=1"));
                }
                browser.headers = AWAY;
            }
            let rust = ours.rust(&app, "GET", "/whoami", None).await;
            let flask_answer = theirs.flask(&flask, "GET", "/whoami", None);
            assert_eq!(
                rust.json(),
                flask_answer.json(),
                "{mode}, rust login {rust_logs_in}"
            );
            let expected = match protection {
                Protection::Basic => me(Some("42"), false),
                _ => me(None, false),
            };
            assert_eq!(rust.json(), expected, "{mode}");
            // (flagon's deletion keeps the cookie's HttpOnly; Flask-Login's drops it)
            assert_eq!(
                rust.set_cookie("remember_token").map(is_deletion),
                flask_answer.set_cookie("remember_token").map(is_deletion),
                "{mode}: the remember cookie is deleted by both or neither"
            );
            // and each side reads the other's result the same way
            ours.headers = HOME;
            theirs.headers = HOME;
            let a = ours.flask(&flask, "GET", "/whoami", None).json();
            let b = theirs.rust(&app, "GET", "/whoami", None).await.json();
            assert_eq!(a, b, "{mode}, crossed");
        }
    }
}

#[tokio::test]
async fn csrf_tokens_cross_both_ways() {
    let Some(flask) = start_flask(&[]) else {
        return;
    };
    let app = default_app();
    // Flask's token, posted to Rust
    let mut browser = Browser::new();
    let token = browser.flask(&flask, "GET", "/csrf/token", None).json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = browser
        .rust(
            &app,
            "POST",
            "/csrf/protected",
            Some(&form_with_token(&token)),
        )
        .await;
    assert_eq!((answer.status, answer.json()), (200, json!({"ok": true})));
    // Rust's token, posted to Flask, in the form and in the header
    let mut browser = Browser::new();
    let token = browser.rust(&app, "GET", "/csrf/token", None).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = browser.flask(
        &flask,
        "POST",
        "/csrf/protected",
        Some(&form_with_token(&token)),
    );
    assert_eq!((answer.status, answer.json()), (200, json!({"ok": true})));
    let mut headers = HOME.to_vec();
    headers.push(("X-CSRFToken", &token));
    let answer = flask_request(
        &flask,
        "POST",
        "/csrf/protected",
        &browser.jar,
        &headers,
        None,
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = rust_request(
        &app,
        "POST",
        "/csrf/protected",
        &browser.jar,
        &headers,
        None,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn bad_csrf_tokens_are_refused_by_both_with_the_same_reason() {
    let Some(flask) = start_flask(&[]) else {
        return;
    };
    let app = default_app();
    let mut browser = Browser::new();
    let token = browser.flask(&flask, "GET", "/csrf/token", None).json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Change the signature's first character: its last one ends in base64 padding bits,
    // which itsdangerous ignores, so Flask could accept that "tampered" token.
    let at = token.rfind('.').unwrap() + 1;
    let other = if token[at..].starts_with('A') {
        "B"
    } else {
        "A"
    };
    let tampered = format!("{}{other}{}", &token[..at], &token[at + 1..]);
    for (form, reason) in [
        (Some(form_with_token(&tampered)), INVALID),
        (Some("name=x".to_owned()), MISSING),
        (None, MISSING),
    ] {
        let flask_answer = browser.flask(&flask, "POST", "/csrf/protected", form.as_deref());
        assert_eq!(
            (flask_answer.status, flask_answer.json()["error"].as_str()),
            (400, Some(reason))
        );
        let rust = browser
            .rust(&app, "POST", "/csrf/protected", form.as_deref())
            .await;
        assert_eq!(rust.status, 400);
        assert!(rust.body.contains(reason), "{}", rust.body);
        assert!(!rust.body.contains(&tampered), "the token is never echoed");
    }
    // a session without the raw token: Flask-WTF's second reason on both
    let mut fresh = Browser::new();
    let flask_answer = fresh.flask(
        &flask,
        "POST",
        "/csrf/protected",
        Some(&form_with_token(&token)),
    );
    let reason = "The CSRF session token is missing.";
    assert_eq!(flask_answer.json()["error"].as_str(), Some(reason));
    let rust = fresh
        .rust(
            &app,
            "POST",
            "/csrf/protected",
            Some(&form_with_token(&token)),
        )
        .await;
    assert!(rust.body.contains(reason), "{}", rust.body);
}

#[tokio::test]
async fn expired_csrf_tokens_are_refused_by_both() {
    let Some(flask) = start_flask(&[]) else {
        return;
    };
    // Rust with its clock an hour and a bit ahead refuses Flask's fresh token...
    let later = || SystemTime::now() + Duration::from_secs(3_700);
    let late_app = rust_app(LoginConfig::new(key()), CsrfConfig::new(key()).clock(later));
    let mut browser = Browser::new();
    let token = browser.flask(&flask, "GET", "/csrf/token", None).json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let rust = browser
        .rust(
            &late_app,
            "POST",
            "/csrf/protected",
            Some(&form_with_token(&token)),
        )
        .await;
    assert_eq!(rust.status, 400);
    assert!(rust.body.contains(EXPIRED), "{}", rust.body);
    // ...and Flask refuses a token Rust signed an hour and a bit ago.
    let earlier = || SystemTime::now() - Duration::from_secs(3_700);
    let early_app = rust_app(
        LoginConfig::new(key()),
        CsrfConfig::new(key()).clock(earlier),
    );
    let mut browser = Browser::new();
    let token = browser
        .rust(&early_app, "GET", "/csrf/token", None)
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let flask_answer = browser.flask(
        &flask,
        "POST",
        "/csrf/protected",
        Some(&form_with_token(&token)),
    );
    assert_eq!(
        (flask_answer.status, flask_answer.json()["error"].as_str()),
        (400, Some(EXPIRED))
    );
    // A short limit on both sides, honoured by both.
    let Some(short) = start_flask(&["--csrf-time-limit", "10"]) else {
        return;
    };
    let eleven = || SystemTime::now() - Duration::from_secs(11);
    let app = rust_app(
        LoginConfig::new(key()),
        CsrfConfig::new(key()).clock(eleven),
    );
    let mut browser = Browser::new();
    let token = browser.rust(&app, "GET", "/csrf/token", None).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let flask_answer = browser.flask(
        &short,
        "POST",
        "/csrf/protected",
        Some(&form_with_token(&token)),
    );
    assert_eq!(flask_answer.json()["error"].as_str(), Some(EXPIRED));
    let limited = rust_app(
        LoginConfig::new(key()),
        CsrfConfig::new(key()).time_limit(Some(Duration::from_secs(10))),
    );
    let rust = browser
        .rust(
            &limited,
            "POST",
            "/csrf/protected",
            Some(&form_with_token(&token)),
        )
        .await;
    assert!(rust.body.contains(EXPIRED), "{}", rust.body);
}

#[tokio::test]
async fn strong_protection_after_a_remembered_login_matches() {
    // Flask-Login 0.6.3 does not write `_id` when it restores a login from the remember
    // cookie, so under strong protection the next request logs the user out again.
    let Some(flask) = start_flask(&["--protection", "strong"]) else {
        return;
    };
    let app = rust_app(
        LoginConfig::new(key()).session_protection(Protection::Strong),
        CsrfConfig::new(key()),
    );
    let mut ours = Browser::new();
    let mut theirs = Browser::new();
    ours.rust(&app, "POST", "/login", Some("user_id=42&remember=1"))
        .await;
    theirs.flask(&flask, "POST", "/login", Some("user_id=42&remember=1"));
    ours.jar = ours.jar.without("session");
    theirs.jar = theirs.jar.without("session");
    let restored = ours.rust(&app, "GET", "/whoami", None).await.json();
    assert_eq!(
        restored,
        theirs.flask(&flask, "GET", "/whoami", None).json()
    );
    assert_eq!(restored, me(Some("42"), false));
    let rust = ours.rust(&app, "GET", "/whoami", None).await;
    let flask_answer = theirs.flask(&flask, "GET", "/whoami", None);
    assert_eq!(rust.json(), flask_answer.json());
    assert_eq!(rust.json(), me(None, false));
    assert!(rust.set_cookie("remember_token").is_some_and(is_deletion));
    assert!(flask_answer
        .set_cookie("remember_token")
        .is_some_and(is_deletion));
}

#[tokio::test]
async fn remember_cookie_refreshed_on_every_request_like_flask() {
    let Some(flask) = start_flask(&["--remember-refresh"]) else {
        return;
    };
    let config = LoginConfig::new(key()).remember_cookie_refresh_each_request(true);
    let app = rust_app(config, CsrfConfig::new(key()));
    for rust_logs_in in [true, false] {
        let mut browser = Browser::new();
        if rust_logs_in {
            browser
                .rust(&app, "POST", "/login", Some("user_id=42"))
                .await;
        } else {
            browser.flask(&flask, "POST", "/login", Some("user_id=42"));
        }
        let rust = browser.rust(&app, "GET", "/whoami", None).await;
        let flask_answer = browser.flask(&flask, "GET", "/whoami", None);
        let ours = rust.set_cookie("remember_token").map(without_expires);
        let theirs = flask_answer
            .set_cookie("remember_token")
            .map(without_expires);
        assert!(ours.is_some(), "rust login {rust_logs_in}");
        assert_eq!(ours, theirs, "rust login {rust_logs_in}");
    }
    // nobody logged in: nothing to refresh on either side
    let mut anonymous = Browser::new();
    assert!(anonymous
        .rust(&app, "GET", "/whoami", None)
        .await
        .set_cookies
        .iter()
        .all(|c| !c.starts_with("remember_token")));
    assert!(anonymous
        .flask(&flask, "GET", "/whoami", None)
        .set_cookie("remember_token")
        .is_none());
}

/// The same login API over a server-side store: the session API does not change, and the
/// remember cookie brings the login back when the session id cookie is gone.
#[cfg(feature = "memory")]
#[tokio::test]
async fn works_with_a_server_side_store() {
    use flagon::store::memory::MemoryStore;
    let layer = SessionLayer::new(SessionConfig::flask(key()))
        .unwrap()
        .with_store(MemoryStore::new(1_000));
    let app = rust_app_with(LoginConfig::new(key()), layer);
    let mut browser = Browser::new();
    browser
        .rust(&app, "POST", "/login", Some("user_id=42&remember=1"))
        .await;
    assert!(browser.jar.get("remember_token").is_some());
    assert_eq!(
        browser.rust(&app, "GET", "/whoami", None).await.json(),
        me(Some("42"), true)
    );
    browser.jar = browser.jar.without("session");
    assert_eq!(
        browser.rust(&app, "GET", "/whoami", None).await.json(),
        me(Some("42"), false)
    );
    assert!(
        browser.jar.get("session").is_some(),
        "the restored login got a new stored session"
    );
    browser.rust(&app, "POST", "/logout", None).await;
    assert_eq!(browser.jar.get("remember_token"), None);
    assert_eq!(
        browser.rust(&app, "GET", "/whoami", None).await.json(),
        me(None, false)
    );
}

/// Forged remember cookies and missing layers answer with a page, never a panic; the
/// messages say what to do.
#[tokio::test]
async fn failures_are_answers_not_errors() {
    let app = default_app();
    for forged in ["", "|", "42|", "42|\\377", "\"42|x\"", &"9".repeat(5000)] {
        let mut browser = Browser::new();
        browser
            .jar
            .0
            .insert("remember_token".into(), forged.to_owned());
        let answer = browser.rust(&app, "GET", "/whoami", None).await;
        assert_eq!(
            (answer.status, answer.json()),
            (200, me(None, false)),
            "{forged:?}"
        );
    }
    let bare = Router::new()
        .route("/whoami", get(whoami))
        .layer(SessionLayer::new(SessionConfig::flask(key())).unwrap());
    let (logs, guard) = crate::support::logs::Capture::start();
    let answer = Browser::new().rust(&bare, "GET", "/whoami", None).await;
    drop(guard);
    assert_eq!(answer.status, 500);
    assert_eq!(answer.body, "Internal Server Error\n");
    assert!(logs.text().contains("LoginLayer"), "{}", logs.text());
    let no_session = Router::new()
        .route("/whoami", get(whoami))
        .layer(LoginLayer::new(LoginConfig::new(key())).unwrap());
    let (logs, guard) = crate::support::logs::Capture::start();
    let answer = Browser::new()
        .rust(&no_session, "GET", "/whoami", None)
        .await;
    drop(guard);
    assert_eq!(answer.status, 500);
    // The visitor gets a plain 500; the fix goes to the log.
    assert_eq!(answer.body, "Internal Server Error\n");
    assert!(logs.text().contains("SessionLayer"), "{}", logs.text());
    let anonymous = Router::new()
        .route(
            "/me",
            get(|user: flask_login::CurrentUser| async move { user.id }),
        )
        .route(
            "/maybe",
            get(|user: Option<flask_login::CurrentUser>| async move { format!("{user:?}") }),
        )
        .layer(LoginLayer::new(LoginConfig::new(key())).unwrap())
        .layer(SessionLayer::new(SessionConfig::flask(key())).unwrap());
    let answer = Browser::new().rust(&anonymous, "GET", "/me", None).await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        Browser::new()
            .rust(&anonymous, "GET", "/maybe", None)
            .await
            .body,
        "None"
    );
    let mut browser = Browser::new();
    let answer = browser
        .rust(
            &default_app(),
            "POST",
            "/csrf/protected",
            Some("csrf_token=x"),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert!(
        answer
            .body
            .starts_with("Bad Request: The CSRF session token is missing. Reload"),
        "{}",
        answer.body
    );
}
