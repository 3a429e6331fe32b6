use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::session::State;
use crate::value::Map;

const SECRET: &str = "interop secret";
const RAW: &str = "0123456789abcdef0123456789abcdef01234567";
/// itsdangerous 2.2 `URLSafeTimedSerializer("interop secret", salt="wtf-csrf-token")
/// .dumps(RAW)` with the clock at 1700000000 (what Flask-WTF 1.3.0 signs).
const VECTOR: &str = ".eJxTMjA0MjYxNTO3sExMSk5JTcPFVwIA4koKpQ.ZVPxAA.KwvWLFGD20r0CHLBh68_18S4YWI";

fn config_at(now: u64) -> CsrfConfig {
    CsrfConfig::new(Key::new(SECRET).unwrap()).clock(move || UNIX_EPOCH + Duration::from_secs(now))
}

fn session_with(raw: &str) -> Session {
    let s = Session::from_state(State::untracked(Map::new()), None);
    s.insert_value("csrf_token", raw);
    s
}

#[test]
fn signs_like_flask_wtf() {
    let s = session_with(RAW);
    assert_eq!(generate_csrf(&s, &config_at(1_700_000_000)), VECTOR);
    assert_eq!(
        validate_csrf(&s, &config_at(1_700_000_000), Some(VECTOR)),
        Ok(())
    );
}

#[test]
fn generates_a_raw_token_once() {
    let s = Session::from_state(State::untracked(Map::new()), None);
    let config = config_at(1_700_000_000);
    let token = generate_csrf(&s, &config);
    let raw = s.get_value("csrf_token").unwrap();
    let raw = raw.as_str().unwrap();
    assert_eq!(raw.len(), 40);
    assert!(raw
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(generate_csrf(&s, &config), token, "same second, same token");
    validate_csrf(&s, &config, Some(&token)).unwrap();
    s.insert_value("csrf_token", 5);
    let replaced = generate_csrf(&s, &config);
    assert_ne!(replaced, token);
    validate_csrf(&s, &config, Some(&replaced)).unwrap();
}

#[test]
fn reasons_follow_flask_wtf_order() {
    let config = config_at(1_700_000_000);
    let s = session_with(RAW);
    assert_eq!(validate_csrf(&s, &config, None), Err(CsrfError::Missing));
    assert_eq!(
        validate_csrf(&s, &config, Some("")),
        Err(CsrfError::Missing)
    );
    let empty = Session::from_state(State::untracked(Map::new()), None);
    assert_eq!(
        validate_csrf(&empty, &config, Some("junk")),
        Err(CsrfError::SessionTokenMissing)
    );
    assert_eq!(
        validate_csrf(&s, &config, Some("junk")),
        Err(CsrfError::Invalid)
    );
    let tampered = VECTOR.replacen("eJx", "eJy", 1);
    assert_eq!(
        validate_csrf(&s, &config, Some(&tampered)),
        Err(CsrfError::Invalid)
    );
    let other_key = CsrfConfig::new(Key::new("other").unwrap())
        .clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    assert_eq!(
        validate_csrf(&s, &other_key, Some(VECTOR)),
        Err(CsrfError::Invalid)
    );
    let other_session = session_with("ffffffffffffffffffffffffffffffffffffffff");
    assert_eq!(
        validate_csrf(&other_session, &config, Some(VECTOR)),
        Err(CsrfError::Mismatch)
    );
    // a session-cookie signature is not a CSRF signature (different salt)
    let mut map = Map::new();
    map.insert("a".into(), Value::Int(1));
    let cookie = crate::flask::sign(&map, &Key::new(SECRET).unwrap(), 1_700_000_000);
    assert_eq!(
        validate_csrf(&s, &config, Some(&cookie)),
        Err(CsrfError::Invalid)
    );
}

#[test]
fn time_limit_is_inclusive_and_future_tokens_expire() {
    let s = session_with(RAW);
    assert_eq!(
        validate_csrf(&s, &config_at(1_700_003_600), Some(VECTOR)),
        Ok(())
    );
    assert_eq!(
        validate_csrf(&s, &config_at(1_700_003_601), Some(VECTOR)),
        Err(CsrfError::Expired)
    );
    assert_eq!(
        validate_csrf(&s, &config_at(1_699_999_999), Some(VECTOR)),
        Err(CsrfError::Expired)
    );
    let short = config_at(1_700_000_011).time_limit(Some(Duration::from_secs(10)));
    assert_eq!(
        validate_csrf(&s, &short, Some(VECTOR)),
        Err(CsrfError::Expired)
    );
    let unlimited = config_at(1_900_000_000).time_limit(None);
    assert_eq!(validate_csrf(&s, &unlimited, Some(VECTOR)), Ok(()));
}

#[test]
fn messages_are_flask_wtfs_and_never_show_the_token() {
    for e in [
        CsrfError::Missing,
        CsrfError::SessionTokenMissing,
        CsrfError::Expired,
        CsrfError::Invalid,
        CsrfError::Mismatch,
    ] {
        assert!(e.to_string().starts_with(e.reason()), "{e}");
        assert_eq!(e.status(), http::StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        CsrfError::Mismatch.reason(),
        "The CSRF tokens do not match."
    );
}

#[test]
fn finds_the_token_where_flask_wtf_looks() {
    let config = config_at(0);
    assert_eq!(
        token_from_form(b"a=1&csrf_token=x%2By+z", &config).as_deref(),
        Some("x+y z")
    );
    assert_eq!(
        token_from_form(b"csrf_token=&login-csrf_token=p", &config).as_deref(),
        Some("p")
    );
    assert_eq!(token_from_form(b"csrf_tokens=1", &config), None);
    assert_eq!(token_from_form(b"", &config), None);
    assert_eq!(token_from_form(b"csrf_token=%ff", &config), None);
    let mut headers = http::HeaderMap::new();
    assert_eq!(token_from_headers(&headers, &config), None);
    headers.insert("x-csrf-token", "second".parse().unwrap());
    assert_eq!(
        token_from_headers(&headers, &config).as_deref(),
        Some("second")
    );
    headers.insert("x-csrftoken", "first".parse().unwrap());
    assert_eq!(
        token_from_headers(&headers, &config).as_deref(),
        Some("first")
    );
}
