//! Sealed (encrypted) cookie sessions through the axum layer: what a browser would see.

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use flagon::axum::SessionLayer;
use flagon::{CookieMode, Key, Session, SessionConfig, SessionError};
use http::StatusCode;

use crate::scenarios::TestClock;
use crate::support::http::{get as fetch, send};

const T0: u64 = 1_700_000_000;
const SECRET_VALUE: &str = "s3cr3t-account-number-0042";

async fn login(session: Session) -> Result<&'static str, SessionError> {
    session.insert("user", "alice")?;
    session.insert("account", SECRET_VALUE)?;
    Ok("ok")
}

async fn whoami(session: Session) -> Result<String, SessionError> {
    Ok(session.get::<String>("user")?.unwrap_or_default())
}

async fn permanent(session: Session) -> &'static str {
    session.set_permanent(true);
    "ok"
}

async fn big(session: Session) -> Result<String, SessionError> {
    session.insert("blob", "x".repeat(5000))?;
    Ok(match session.check_size() {
        Err(SessionError::CookieTooLarge { size, limit }) => format!("too large {size} {limit}"),
        other => format!("{other:?}"),
    })
}

fn app_with(config: SessionConfig) -> Router {
    Router::new()
        .route("/login", get(login))
        .route("/whoami", get(whoami))
        .route("/permanent", get(permanent))
        .route("/big", get(big))
        .layer(SessionLayer::new(config.secure(false)).unwrap())
}

fn sealed_app(secret: &str) -> Router {
    app_with(SessionConfig::new(Key::new(secret).unwrap()).cookie_mode(CookieMode::Sealed))
}

/// Logs in and returns the cookie pair.
async fn logged_in(app: &Router) -> String {
    let reply = fetch(app, "/login", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.cookie_pair()
}

#[tokio::test]
async fn round_trip_and_the_user_cannot_read_the_values() {
    let app = sealed_app("sealed secret");
    let cookie = logged_in(&app).await;
    assert_eq!(fetch(&app, "/whoami", Some(&cookie)).await.body, "alice");
    let value = cookie.split_once('=').unwrap().1;
    assert!(!value.contains('.'), "not Flask's signed format: {value}");
    let raw = URL_SAFE_NO_PAD.decode(value).unwrap();
    assert_eq!(raw[0], flagon::sealed::VERSION);
    for needle in [SECRET_VALUE, "alice", "account", "user"] {
        let bytes = needle.as_bytes();
        assert!(!raw.windows(bytes.len()).any(|w| w == bytes), "{needle}");
        assert!(!value.contains(needle), "{needle}");
        let b64 = URL_SAFE_NO_PAD.encode(bytes);
        assert!(!value.contains(&b64[..b64.len() - 2]), "{needle} as base64");
    }
    // Neither Flask's format nor the unverified decoder can read it.
    let limits = flagon::flask::Limits::default();
    assert!(flagon::flask::insecure_decode_unverified(value.as_bytes(), &limits).is_err());
}

#[tokio::test]
async fn every_single_character_changed_is_rejected() {
    let app = sealed_app("sealed secret");
    let cookie = logged_in(&app).await;
    let (name, value) = cookie.split_once('=').unwrap();
    let mut rejected = 0;
    for i in 0..value.len() {
        let mut bytes = value.as_bytes().to_vec();
        // Another base64url character, so the value stays well-formed text.
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = format!("{name}={}", String::from_utf8(bytes).unwrap());
        let reply = fetch(&app, "/whoami", Some(&tampered)).await;
        assert_eq!(reply.body, "", "position {i} was accepted");
        rejected += 1;
    }
    assert_eq!(rejected, value.len());
    // Truncated and extended values too.
    for cut in [1, 2, 10, value.len() / 2] {
        let short = format!("{name}={}", &value[..value.len() - cut]);
        assert_eq!(fetch(&app, "/whoami", Some(&short)).await.body, "");
    }
    let long = format!("{cookie}AA");
    assert_eq!(fetch(&app, "/whoami", Some(&long)).await.body, "");
}

#[tokio::test]
async fn wrong_key_and_another_cookie_name_are_rejected() {
    let cookie = logged_in(&sealed_app("key one")).await;
    let other = sealed_app("key two");
    assert_eq!(fetch(&other, "/whoami", Some(&cookie)).await.body, "");
    // The same key under another cookie name: the name is bound as associated data.
    let renamed_app = app_with(
        SessionConfig::new(Key::new("key one").unwrap())
            .cookie_mode(CookieMode::Sealed)
            .cookie_name("other"),
    );
    let moved = format!("other={}", cookie.split_once('=').unwrap().1);
    assert_eq!(fetch(&renamed_app, "/whoami", Some(&moved)).await.body, "");
}

#[tokio::test]
async fn rotation_keeps_sessions_through_fallback_keys() {
    let old = logged_in(&sealed_app("old key")).await;
    let rotated = app_with(
        SessionConfig::new(Key::new("new key").unwrap())
            .fallback_key(Key::new("old key").unwrap())
            .cookie_mode(CookieMode::Sealed),
    );
    assert_eq!(fetch(&rotated, "/whoami", Some(&old)).await.body, "alice");
    // A write seals with the current key only.
    let fresh = fetch(&rotated, "/login", Some(&old)).await.cookie_pair();
    assert_eq!(fetch(&rotated, "/whoami", Some(&fresh)).await.body, "alice");
    assert_eq!(
        fetch(&sealed_app("old key"), "/whoami", Some(&fresh))
            .await
            .body,
        ""
    );
    assert_eq!(
        fetch(&sealed_app("new key"), "/whoami", Some(&fresh))
            .await
            .body,
        "alice"
    );
}

#[tokio::test]
async fn signed_to_sealed_transition_keeps_everyone_logged_in() {
    let key = || Key::new("shared key").unwrap();
    let signed_app = app_with(SessionConfig::new(key()));
    let signed = logged_in(&signed_app).await;
    assert!(signed.contains('.'), "Flask's signed format");

    let sealed_only = app_with(SessionConfig::new(key()).cookie_mode(CookieMode::Sealed));
    assert_eq!(fetch(&sealed_only, "/whoami", Some(&signed)).await.body, "");

    let window = app_with(SessionConfig::new(key()).cookie_mode(CookieMode::SealedAcceptingSigned));
    // A read of a non-permanent session still re-writes the signed cookie sealed.
    let reply = fetch(&window, "/whoami", Some(&signed)).await;
    assert_eq!(reply.body, "alice");
    let resealed = reply.cookie_pair();
    assert!(!resealed.contains('.'), "re-written sealed: {resealed}");
    assert_eq!(
        fetch(&sealed_only, "/whoami", Some(&resealed)).await.body,
        "alice"
    );
    // A sealed cookie read in the window is not re-sent without cause.
    let again = fetch(&window, "/whoami", Some(&resealed)).await;
    assert_eq!((again.body.as_str(), again.set_cookie()), ("alice", None));
    // New sessions in the window are sealed.
    let new = logged_in(&window).await;
    assert!(!new.contains('.'));
    // And a route that never opens the session still upgrades the cookie, whether or
    // not the layer refreshes cookies on every request (the window opens every cookie
    // itself).
    for refresh in [true, false] {
        let untouched = Router::new()
            .route("/plain", get(|| async { "plain" }))
            .layer(
                SessionLayer::new(
                    SessionConfig::new(key())
                        .secure(false)
                        .refresh_each_request(refresh)
                        .cookie_mode(CookieMode::SealedAcceptingSigned),
                )
                .unwrap(),
            );
        let reply = send(&untouched, "GET", "/plain", &[&signed], None).await;
        let upgraded = reply.cookie_pair();
        assert!(!upgraded.contains('.'), "refresh {refresh}: {upgraded}");
        assert_eq!(
            fetch(&sealed_only, "/whoami", Some(&upgraded)).await.body,
            "alice",
            "refresh {refresh}"
        );
    }
}

#[tokio::test]
async fn expiry_is_enforced_inside_the_seal_and_refresh_follows_flask() {
    let clock = TestClock::at(T0);
    let config = clock.install(
        SessionConfig::new(Key::new("k").unwrap())
            .cookie_mode(CookieMode::Sealed)
            .permanent_lifetime(Duration::from_secs(3600)),
    );
    let app = app_with(config);
    let cookie = logged_in(&app).await;
    // Not permanent: a read sends no cookie, as in Flask.
    assert_eq!(
        fetch(&app, "/whoami", Some(&cookie)).await.set_cookie(),
        None
    );
    clock.advance(3600);
    assert_eq!(fetch(&app, "/whoami", Some(&cookie)).await.body, "alice");
    clock.advance(1);
    assert_eq!(fetch(&app, "/whoami", Some(&cookie)).await.body, "");

    // Permanent sessions are re-sealed on every request, sliding the expiry.
    let cookie = logged_in(&app).await;
    let permanent = fetch(&app, "/permanent", Some(&cookie)).await;
    assert!(permanent.set_cookie().unwrap().contains("Expires="));
    let mut cookie = permanent.cookie_pair();
    for _ in 0..3 {
        clock.advance(3000);
        let reply = fetch(&app, "/whoami", Some(&cookie)).await;
        assert_eq!(reply.body, "alice");
        cookie = reply.cookie_pair();
    }
}

#[tokio::test]
async fn too_large_is_an_error_the_app_sees() {
    let app = sealed_app("k");
    let reply = fetch(&app, "/big", None).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.set_cookie(), None);
    let handled = Router::new()
        .route(
            "/big",
            get(|session: Session| async move {
                let text = big(session.clone()).await;
                session.remove("blob");
                text
            }),
        )
        .layer(
            SessionLayer::new(
                SessionConfig::new(Key::new("k").unwrap())
                    .secure(false)
                    .cookie_mode(CookieMode::Sealed),
            )
            .unwrap(),
        );
    let reply = fetch(&handled, "/big", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.starts_with("too large "), "{}", reply.body);
    assert!(reply.body.ends_with(" 4093"), "{}", reply.body);
}
