//! examples/flask_seam end to end: the Flask half (examples/flask_seam/app.py, a child
//! process with Flask-Login and Flask-WTF) and the Rust half (examples/flask_seam.rs,
//! served in-process on a real socket), both on 127.0.0.1 on different ports, and one
//! browser between them: one cookie jar, sent to both halves as a browser would (cookies
//! are per host, not per port), plain HTTP, nothing but the example's routes.
//!
//! Both halves see the client as the socket peer 127.0.0.1 with the same `User-Agent`,
//! so Flask-Login's session identifier agrees, as it would for one browser. The scenarios
//! run once per session setting the example takes ([`seam_tests!`]). Without Python and
//! the packages of tests/flask/requirements.txt they skip loudly, and fail when `CI` is
//! set.

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/flask_seam.rs"]
mod example;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use example::Store;
use flagon::csrf::CsrfConfig;
use flagon::Key;
use serde_json::{json, Value};

use crate::support::flask_peer::{self, http_request, FlaskPeer, PeerReply};

const SECRET: &str = "seam example secret";
const USER_AGENT: &str = "flagon-seam-test/1.0";
const INVALID: &str = "The CSRF token is invalid.";
const MISSING: &str = "The CSRF token is missing.";
const MISMATCH: &str = "The CSRF tokens do not match.";
const EXPIRED: &str = "The CSRF token has expired.";

fn key() -> Key {
    Key::new(SECRET).unwrap()
}

/// The two halves of the site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Flask,
    Rust,
}

use Side::{Flask, Rust};

impl Side {
    /// This side's route `name`: `/flask/name` or `/rust/name`.
    fn path(self, name: &str) -> String {
        match self {
            Flask => format!("/flask/{name}"),
            Rust => format!("/rust/{name}"),
        }
    }
}

/// The Rust half, served by its own runtime on a free port until dropped.
struct RustHalf {
    port: u16,
    // Dropping the runtime stops the server.
    _runtime: tokio::runtime::Runtime,
}

impl RustHalf {
    /// The example's app as its `main` builds it from the environment `env`, with `csrf`
    /// (the default settings, or a shifted clock).
    fn start(env: &Env, csrf: CsrfConfig) -> RustHalf {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let key = key();
        let store = Store::from_env(|name| env.get(name)).unwrap();
        let (login, _) = example::login_and_csrf(&key);
        let session = runtime
            .block_on(example::session_layer(&key, &store))
            .unwrap();
        let app = example::app(session, login, csrf).unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        runtime.spawn(example::serve(listener, app));
        RustHalf {
            port,
            _runtime: runtime,
        }
    }
}

/// The settings both halves get from their environment: `SESSION_STORE` and the
/// Flask-Session ones, plus a `SESSION_KEY_PREFIX` of this seam's own so that server-side
/// records of concurrent tests never meet.
#[derive(Clone, Debug)]
struct Env(Vec<(String, String)>);

impl Env {
    fn new(settings: &[(&str, &str)]) -> Env {
        static SEAMS: AtomicUsize = AtomicUsize::new(0);
        let seam = SEAMS.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("flagon-seam-test:{}-{seam}:", std::process::id());
        let mut vars = vec![("SESSION_KEY_PREFIX".to_owned(), prefix)];
        vars.extend(
            settings
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
        );
        Env(vars)
    }

    /// The last value of `name`, as a process environment would hold it.
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    fn is_cookie(&self) -> bool {
        self.get("SESSION_STORE")
            .is_none_or(|store| store == "cookie")
    }
}

/// Deletes this seam's Flask-Session records (they would live for 31 days).
#[cfg(feature = "flask-session")]
impl Drop for Env {
    fn drop(&mut self) {
        let (Some(store), Some(prefix)) =
            (self.get("SESSION_STORE"), self.get("SESSION_KEY_PREFIX"))
        else {
            return;
        };
        let Some(url) = store.strip_prefix("flask-session+") else {
            return;
        };
        let Ok(mut redis) = redis::Client::open(url).and_then(|c| c.get_connection()) else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query(&mut redis)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut redis);
        }
    }
}

/// Both halves with the same secret key and session settings.
struct Seam {
    flask: FlaskPeer,
    rust: RustHalf,
}

impl Seam {
    /// Both halves with the settings `env`, or a loud skip.
    fn start(env: &Env) -> Option<Seam> {
        let flask = start_flask(env)?;
        Some(Seam {
            flask,
            rust: RustHalf::start(env, CsrfConfig::new(key())),
        })
    }

    fn port(&self, side: Side) -> u16 {
        match side {
            Flask => self.flask.port(),
            Rust => self.rust.port,
        }
    }
}

/// examples/flask_seam/app.py with the settings `env`, or a loud skip.
fn start_flask(env: &Env) -> Option<FlaskPeer> {
    let modules = if env.is_cookie() {
        "flask, flask_login, flask_wtf"
    } else {
        "flask, flask_login, flask_wtf, flask_session, msgspec, redis"
    };
    let python = flask_peer::python_with(modules)
        .or_else(|| flask_peer::unavailable(&format!("no Python that can `import {modules}`")))?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/flask_seam/app.py");
    let mut vars = vec![("SECRET_KEY", SECRET), ("PORT", "0")];
    vars.extend(env.0.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    Some(FlaskPeer::start_program(
        &python,
        &script,
        &["--quiet"],
        &vars,
    ))
}

/// One browser: a cookie jar shared by both halves.
#[derive(Debug, Default)]
struct Browser {
    jar: BTreeMap<String, String>,
}

impl Browser {
    /// Sends a request with the jar's cookies and keeps what the response sets.
    fn send(
        &mut self,
        port: u16,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        form: Option<&str>,
    ) -> PeerReply {
        let cookie = self
            .jar
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut all = vec![("User-Agent", USER_AGENT)];
        if !cookie.is_empty() {
            all.push(("Cookie", &cookie));
        }
        if form.is_some() {
            all.push(("Content-Type", "application/x-www-form-urlencoded"));
        }
        all.extend_from_slice(headers);
        let body = form.unwrap_or_default().as_bytes();
        let reply = http_request(port, method, path, &all, body)
            .unwrap_or_else(|e| panic!("{method} {path} on port {port}: {e}"));
        for set in reply.header_values("set-cookie") {
            self.store(set);
        }
        reply
    }

    /// A `Set-Cookie`: an empty value or `Max-Age=0` deletes, anything else sets.
    fn store(&mut self, set_cookie: &str) {
        let mut parts = set_cookie.split(';');
        let (name, value) = parts.next().unwrap().split_once('=').unwrap();
        let deleted = value.is_empty()
            || parts.any(|attribute| attribute.trim().eq_ignore_ascii_case("max-age=0"));
        if deleted {
            self.jar.remove(name.trim());
        } else {
            self.jar.insert(name.trim().to_owned(), value.to_owned());
        }
    }

    fn get(&mut self, seam: &Seam, side: Side, name: &str) -> PeerReply {
        self.send(seam.port(side), "GET", &side.path(name), &[], None)
    }

    fn post(&mut self, seam: &Seam, side: Side, name: &str, form: &str) -> PeerReply {
        self.send(seam.port(side), "POST", &side.path(name), &[], Some(form))
    }

    /// `GET /side/me`: the user id, or `None` on 401.
    fn me(&mut self, seam: &Seam, side: Side) -> Option<String> {
        let reply = self.get(seam, side, "me");
        match reply.status {
            200 => Some(reply.body),
            401 => None,
            status => panic!("{side:?} /me answered {status}: {}", reply.body),
        }
    }

    /// The token in the hidden `csrf_token` input of the form `side` renders at `page`.
    fn form_token(&mut self, seam: &Seam, side: Side, page: &str) -> String {
        let reply = self.get(seam, side, page);
        assert_eq!(reply.status, 200, "{side:?} {page}: {}", reply.body);
        hidden_csrf_token(&reply.body)
            .unwrap_or_else(|| panic!("no csrf_token input in {side:?}'s {page}: {}", reply.body))
    }

    /// Logs `username` in on `side` through its login form, with a token from a form
    /// `token_from` rendered.
    fn log_in(
        &mut self,
        seam: &Seam,
        side: Side,
        token_from: Side,
        username: &str,
        remember: bool,
    ) -> PeerReply {
        let token = self.form_token(seam, token_from, "form");
        let remember = if remember { "&remember=1" } else { "" };
        let form = format!("username={username}&csrf_token={}{remember}", url(&token));
        let reply = self.post(seam, side, "login", &form);
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (200, format!("Logged in as {username}").as_str()),
            "login on {side:?} with a token from {token_from:?}"
        );
        reply
    }

    /// The session as the Flask half reads it (`GET /flask/session`).
    fn session(&mut self, seam: &Seam) -> Value {
        let reply = self.get(seam, Flask, "session");
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()
    }
}

/// The `value` of the `<input>` named `csrf_token`.
fn hidden_csrf_token(html: &str) -> Option<String> {
    let name = html.find(r#"name="csrf_token""#)?;
    let start = html[..name].rfind("<input")?;
    let end = start + html[start..].find('>')?;
    let tag = &html[start..end];
    assert!(tag.contains(r#"type="hidden""#), "{tag}");
    let value = tag.find(r#"value=""#)? + r#"value=""#.len();
    let len = tag[value..].find('"')?;
    Some(tag[value..value + len].to_owned())
}

/// Form-encodes a token (base64url, `.` and `-` need none, but be exact).
fn url(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `token` with the first character of its signature changed. (Not the last: its low
/// bits are base64 padding, which itsdangerous ignores, so changing them may change
/// nothing for Flask.)
fn tampered(token: &str) -> String {
    let at = token.rfind('.').unwrap() + 1;
    let other = if token[at..].starts_with('A') {
        "B"
    } else {
        "A"
    };
    format!("{}{other}{}", &token[..at], &token[at + 1..])
}

const BOTH_WAYS: [(Side, Side); 2] = [(Flask, Rust), (Rust, Flask)];

fn flask_login_is_known_to_rust(settings: &[(&str, &str)]) {
    let env = Env::new(settings);
    let Some(seam) = Seam::start(&env) else {
        return;
    };
    let mut browser = Browser::default();
    assert_eq!(browser.me(&seam, Rust), None);
    assert_eq!(browser.me(&seam, Flask), None);
    // The Flask half's own login page, as a person would use it.
    let token = browser.form_token(&seam, Flask, "login");
    let form = format!("username=alice&csrf_token={}", url(&token));
    let reply = browser.post(&seam, Flask, "login", &form);
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "Logged in as alice")
    );

    assert_eq!(browser.me(&seam, Rust).as_deref(), Some("alice"));
    assert_eq!(browser.me(&seam, Flask).as_deref(), Some("alice"));
    // Rust computed Flask-Login's session identifier for this browser, or basic
    // protection would have marked the login not fresh.
    let session = browser.session(&seam);
    assert_eq!(session["_user_id"], json!("alice"));
    assert_eq!(session["_fresh"], json!(true));
}

fn rust_login_is_known_to_flask(settings: &[(&str, &str)]) {
    let env = Env::new(settings);
    let Some(seam) = Seam::start(&env) else {
        return;
    };
    let mut browser = Browser::default();
    browser.log_in(&seam, Rust, Flask, "bob", false);
    assert_eq!(browser.me(&seam, Flask).as_deref(), Some("bob"));
    assert_eq!(browser.me(&seam, Rust).as_deref(), Some("bob"));
    assert!(
        !browser.jar.contains_key("remember_token"),
        "no remember cookie without remember"
    );
    // What Rust wrote is what Flask-Login writes for the same login, key for key.
    let ours = browser.session(&seam);
    let mut twin = Browser::default();
    twin.log_in(&seam, Flask, Flask, "bob", false);
    let theirs = twin.session(&seam);
    let keys = |session: &Value| {
        session
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&ours), keys(&theirs));
    for key in ["_user_id", "_fresh", "_id"] {
        assert_eq!(ours[key], theirs[key], "{key}");
    }
    assert_eq!(ours["_fresh"], json!(true));
}

fn remember_cookie_restores_the_login_on_the_other_side(settings: &[(&str, &str)]) {
    let env = Env::new(settings);
    let Some(seam) = Seam::start(&env) else {
        return;
    };
    for (login_side, other) in BOTH_WAYS {
        let mut browser = Browser::default();
        browser.log_in(&seam, login_side, login_side, "carol", true);
        assert!(browser.jar.contains_key("remember_token"), "{login_side:?}");
        // The browser closes: the session cookie goes, the remember cookie stays.
        browser.jar.remove("session");
        assert_eq!(
            browser.me(&seam, other).as_deref(),
            Some("carol"),
            "{login_side:?} login restored by {other:?}"
        );
        assert_eq!(browser.session(&seam)["_fresh"], json!(false));
        assert_eq!(browser.me(&seam, login_side).as_deref(), Some("carol"));

        // Without "remember me", closing the browser ends the login on both.
        let mut forgetful = Browser::default();
        forgetful.log_in(&seam, login_side, login_side, "carol", false);
        forgetful.jar.remove("session");
        assert_eq!(forgetful.me(&seam, other), None);
        assert_eq!(forgetful.me(&seam, login_side), None);
    }
}

fn logout_on_either_side_forgets_on_both(settings: &[(&str, &str)]) {
    let env = Env::new(settings);
    let Some(seam) = Seam::start(&env) else {
        return;
    };
    for (login_side, logout_side) in [(Flask, Rust), (Rust, Flask), (Rust, Rust), (Flask, Flask)] {
        let mut browser = Browser::default();
        browser.log_in(&seam, login_side, logout_side, "dave", true);
        assert_eq!(browser.me(&seam, logout_side).as_deref(), Some("dave"));
        let reply = browser.get(&seam, logout_side, "logout");
        assert_eq!((reply.status, reply.body.as_str()), (200, "Logged out"));
        let case = format!("login on {login_side:?}, logout on {logout_side:?}");
        assert!(
            !browser.jar.contains_key("remember_token"),
            "{case}: the remember cookie is deleted"
        );
        assert_eq!(browser.me(&seam, Flask), None, "{case}");
        assert_eq!(browser.me(&seam, Rust), None, "{case}");
        browser.jar.remove("session");
        assert_eq!(browser.me(&seam, Flask), None, "{case}");
        assert_eq!(browser.me(&seam, Rust), None, "{case}");
    }
}

fn forms_rendered_by_either_side_submit_to_the_other(settings: &[(&str, &str)]) {
    let env = Env::new(settings);
    let Some(seam) = Seam::start(&env) else {
        return;
    };
    for (render, submit) in BOTH_WAYS {
        let case = format!("form from {render:?}, posted to {submit:?}");
        let mut browser = Browser::default();
        let token = browser.form_token(&seam, render, "form");
        let form = format!("message=hello&csrf_token={}", url(&token));
        let reply = browser.post(&seam, submit, "submit", &form);
        assert_eq!((reply.status, reply.body.as_str()), (200, "ok"), "{case}");
        // The same token in the X-CSRFToken header, as JavaScript sends it.
        let path = submit.path("submit");
        let header = [("X-CSRFToken", token.as_str())];
        let reply = browser.send(seam.port(submit), "POST", &path, &header, None);
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (200, "ok"),
            "{case}, header"
        );
        // And a login form's token, the other way too (log_in asserts the 200).
        browser.log_in(&seam, submit, render, "erin", false);
        assert_eq!(browser.me(&seam, render).as_deref(), Some("erin"));
    }
}

fn bad_tokens_are_refused_by_both(settings: &[(&str, &str)]) {
    let env = Env::new(settings);
    let Some(seam) = Seam::start(&env) else {
        return;
    };
    let mut browser = Browser::default();
    let token = browser.form_token(&seam, Flask, "form");
    let mut stranger = Browser::default();
    let strangers_token = stranger.form_token(&seam, Rust, "form");
    let cases = [
        (format!("csrf_token={}", url(&tampered(&token))), INVALID),
        ("csrf_token=".to_owned(), MISSING),
        ("message=no+token".to_owned(), MISSING),
        (format!("csrf_token={}", url(&strangers_token)), MISMATCH),
    ];
    for side in [Flask, Rust] {
        for (fields, reason) in &cases {
            for (page, form) in [
                ("submit", fields.clone()),
                ("login", format!("username=mallory&{fields}")),
            ] {
                let reply = browser.post(&seam, side, page, &form);
                assert_eq!(reply.status, 400, "{side:?} {page} {form}: {}", reply.body);
                assert!(
                    reply.body.contains(reason),
                    "{side:?} {page} {form}: {}",
                    reply.body
                );
                assert!(!reply.body.contains(&token), "the token is never echoed");
            }
        }
        let path = side.path("submit");
        let header = [("X-CSRFToken", tampered(&token))];
        let header = [(header[0].0, header[0].1.as_str())];
        let reply = browser.send(seam.port(side), "POST", &path, &header, None);
        assert_eq!(reply.status, 400, "{side:?} tampered header");
        assert_eq!(browser.me(&seam, Flask), None, "nobody got logged in");
        assert_eq!(browser.me(&seam, Rust), None, "nobody got logged in");
    }
    // The untouched token still works on both: only the bad ones were refused.
    for side in [Flask, Rust] {
        let form = format!("csrf_token={}", url(&token));
        assert_eq!(browser.post(&seam, side, "submit", &form).body, "ok");
    }
}

fn expired_tokens_are_refused_by_both(settings: &[(&str, &str)]) {
    let env = Env::new(settings);
    let Some(flask) = start_flask(&env) else {
        return;
    };
    // A Rust half whose clock runs an hour and a bit ahead sees Flask's fresh token as
    // expired (Flask-WTF's limit: 3600 s)...
    let late = || SystemTime::now() + Duration::from_secs(3_700);
    let seam = Seam {
        flask,
        rust: RustHalf::start(&env, CsrfConfig::new(key()).clock(late)),
    };
    let mut browser = Browser::default();
    let token = browser.form_token(&seam, Flask, "form");
    for page in ["submit", "login"] {
        let form = format!("username=frank&csrf_token={}", url(&token));
        let reply = browser.post(&seam, Rust, page, &form);
        assert_eq!(reply.status, 400, "{page}: {}", reply.body);
        assert!(reply.body.contains(EXPIRED), "{page}: {}", reply.body);
    }
    // ...and Flask sees a token signed by a Rust half an hour and a bit behind as expired.
    let early = || SystemTime::now() - Duration::from_secs(3_700);
    let seam = Seam {
        flask: seam.flask,
        rust: RustHalf::start(&env, CsrfConfig::new(key()).clock(early)),
    };
    let mut browser = Browser::default();
    let token = browser.form_token(&seam, Rust, "form");
    for page in ["submit", "login"] {
        let form = format!("username=frank&csrf_token={}", url(&token));
        let reply = browser.post(&seam, Flask, page, &form);
        assert_eq!(reply.status, 400, "{page}: {}", reply.body);
        assert!(reply.body.contains(EXPIRED), "{page}: {}", reply.body);
    }
    assert_eq!(browser.me(&seam, Flask), None);
}

/// The scenarios above as tests, in a module named `$name`, with the environment
/// `$settings` (`SESSION_STORE` and the Flask-Session settings) on both halves.
macro_rules! seam_tests {
    ($name:ident, $settings:expr) => {
        mod $name {
            #[test]
            fn flask_login_is_known_to_rust() {
                super::flask_login_is_known_to_rust($settings);
            }

            #[test]
            fn rust_login_is_known_to_flask() {
                super::rust_login_is_known_to_flask($settings);
            }

            #[test]
            fn remember_cookie_restores_the_login_on_the_other_side() {
                super::remember_cookie_restores_the_login_on_the_other_side($settings);
            }

            #[test]
            fn logout_on_either_side_forgets_on_both() {
                super::logout_on_either_side_forgets_on_both($settings);
            }

            #[test]
            fn forms_rendered_by_either_side_submit_to_the_other() {
                super::forms_rendered_by_either_side_submit_to_the_other($settings);
            }

            #[test]
            fn bad_tokens_are_refused_by_both() {
                super::bad_tokens_are_refused_by_both($settings);
            }

            #[test]
            fn expired_tokens_are_refused_by_both() {
                super::expired_tokens_are_refused_by_both($settings);
            }
        }
    };
}

seam_tests!(cookie, &[("SESSION_STORE", "cookie")]);
#[cfg(feature = "flask-session")]
seam_tests!(
    flask_session,
    &[("SESSION_STORE", "flask-session+redis://127.0.0.1:6379")]
);
#[cfg(feature = "flask-session")]
seam_tests!(
    flask_session_signed,
    &[
        ("SESSION_STORE", "flask-session+redis://127.0.0.1:6379"),
        ("SESSION_USE_SIGNER", "true"),
    ]
);

/// The Rust half's settings, without Python: `SESSION_STORE` and Flask-Session's
/// settings, and a clear refusal of the Flask-Session store in this build.
#[tokio::test]
async fn store_settings_come_from_the_environment() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    assert_eq!(Store::from_env(env(&[])), Ok(Store::Cookie));
    assert_eq!(
        Store::from_env(env(&[("SESSION_STORE", "cookie")])),
        Ok(Store::Cookie)
    );
    let redis = Store::from_env(env(&[(
        "SESSION_STORE",
        "flask-session+redis://127.0.0.1:6379",
    )]))
    .unwrap();
    assert_eq!(
        redis,
        Store::FlaskSessionRedis {
            url: "redis://127.0.0.1:6379".into(),
            key_prefix: "session:".into(),
            use_signer: false,
        }
    );
    let configured = Store::from_env(env(&[
        ("SESSION_STORE", "flask-session+redis://10.0.0.5:6380"),
        ("SESSION_KEY_PREFIX", "myapp:"),
        ("SESSION_USE_SIGNER", "True"),
    ]));
    assert_eq!(
        configured,
        Ok(Store::FlaskSessionRedis {
            url: "redis://10.0.0.5:6380".into(),
            key_prefix: "myapp:".into(),
            use_signer: true,
        })
    );
    for (vars, names) in [
        (
            &[("SESSION_STORE", "redis://127.0.0.1:6379")][..],
            "SESSION_STORE",
        ),
        (
            &[("SESSION_STORE", "flask-session+postgres://x")][..],
            "SESSION_STORE",
        ),
        (
            &[
                ("SESSION_STORE", "flask-session+redis://127.0.0.1:6379"),
                ("SESSION_USE_SIGNER", "maybe"),
            ][..],
            "SESSION_USE_SIGNER",
        ),
    ] {
        let error = Store::from_env(env(vars)).unwrap_err();
        assert!(error.starts_with(names), "{error}");
    }
    #[cfg(not(feature = "flask-session"))]
    {
        let error = example::session_layer(&key(), &redis).await.unwrap_err();
        assert!(
            error
                .to_string()
                .contains("not built with feature flask-session"),
            "{error}"
        );
    }
    #[cfg(feature = "flask-session")]
    {
        let _ = redis;
        let unreachable = Store::FlaskSessionRedis {
            url: "redis://127.0.0.1:1".into(),
            key_prefix: "session:".into(),
            use_signer: false,
        };
        assert!(example::session_layer(&key(), &unreachable).await.is_err());
    }
}
