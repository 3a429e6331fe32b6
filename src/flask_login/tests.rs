use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::session::State;
use crate::value::Map;

const SECRET: &str = "interop secret";

fn session() -> Session {
    Session::from_state(State::untracked(Map::new()), None)
}

fn config() -> LoginConfig {
    LoginConfig::new(Key::new(SECRET).unwrap())
        .clock(|| UNIX_EPOCH + Duration::from_secs(1_700_000_000))
}

fn browser() -> Client {
    Client::new(Some("10.1.2.3"), Some(b"flagon-test/1.0"))
}

#[test]
fn login_user_writes_flask_logins_keys() {
    let s = session();
    login_user(&s, &browser(), "42", &LoginOptions::new());
    assert_eq!(s.get_value(USER_ID), Some(Value::from("42")));
    assert_eq!(s.get_value(FRESH), Some(Value::Bool(true)));
    assert_eq!(
        s.get_value(ID),
        Some(Value::from(browser().session_identifier()))
    );
    assert!(!s.contains_key(REMEMBER) && !s.contains_key(REMEMBER_SECONDS));

    let s = session();
    let options = LoginOptions::new()
        .remember(true)
        .duration(Duration::from_millis(90_500))
        .fresh(false);
    login_user(&s, &browser(), "42", &options);
    assert_eq!(s.get_value(FRESH), Some(Value::Bool(false)));
    assert_eq!(s.get_value(REMEMBER), Some(Value::from("set")));
    assert_eq!(s.get_value(REMEMBER_SECONDS), Some(Value::Float(90.5)));
}

#[test]
fn remember_cookie_is_sent_once_with_flask_attributes() {
    let s = session();
    let options = LoginOptions::new()
        .remember(true)
        .duration(Duration::from_secs(60));
    login_user(&s, &browser(), "42", &options);
    let set = remember_cookie_update(&s, &config()).expect("a Set-Cookie");
    let value = encode_remember_cookie(&Key::new(SECRET).unwrap(), "42");
    assert_eq!(
        set,
        format!("remember_token={value}; Expires=Tue, 14 Nov 2023 22:14:20 GMT; HttpOnly; Path=/")
    );
    assert!(!s.contains_key(REMEMBER), "_remember is taken out");
    assert_eq!(
        remember_cookie_update(&s, &config()),
        None,
        "nothing more to do"
    );
    // without a duration the configured one (365 days) applies
    let s = session();
    login_user(&s, &browser(), "42", &LoginOptions::new().remember(true));
    let set = remember_cookie_update(&s, &config()).unwrap();
    assert!(
        set.contains("Expires=Wed, 13 Nov 2024 22:13:20 GMT"),
        "{set}"
    );
}

#[test]
fn logout_clears_the_remember_cookie_only_when_one_was_sent() {
    let s = session();
    s.insert_value("theme", "dark");
    login_user(&s, &browser(), "42", &LoginOptions::new());
    logout_user(&s, &browser());
    assert_eq!(s.keys(), vec!["theme".to_owned()]);
    assert_eq!(remember_cookie_update(&s, &config()), None);

    let with_cookie = browser().with_remember_cookie(encode_remember_cookie(&config().key, "42"));
    s.insert_value(REMEMBER_SECONDS, Value::Float(5.0));
    logout_user(&s, &with_cookie);
    assert!(!s.contains_key(REMEMBER_SECONDS));
    let deletion = remember_cookie_update(&s, &config()).expect("a deletion");
    assert_eq!(
        deletion,
        "remember_token=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Path=/"
    );
}

#[test]
fn remember_cookie_restores_a_login_not_fresh() {
    let config = config();
    let cookie = encode_remember_cookie(&config.key, "42");
    let s = session();
    let user = load_user(&s, &browser().with_remember_cookie(cookie.clone()), &config);
    assert_eq!(
        user,
        Some(CurrentUser {
            id: "42".into(),
            fresh: false
        })
    );
    assert_eq!(s.get_value(USER_ID), Some(Value::from("42")));
    assert_eq!(s.get_value(FRESH), Some(Value::Bool(false)));
    assert!(
        !s.contains_key(ID),
        "Flask-Login 0.6.3 does not write _id here"
    );
    // Werkzeug's quoted form of an id with a space reads back too
    let spaced = remember::quote(&encode_remember_cookie(&config.key, "a b"));
    let inner = spaced.trim_matches('"').to_owned();
    let user = load_user(&session(), &browser().with_remember_cookie(inner), &config);
    assert_eq!(user.map(|u| u.id).as_deref(), Some("a b"));
    // "clear" pending: the cookie is not used
    let s = session();
    s.insert_value(REMEMBER, "clear");
    assert_eq!(
        load_user(&s, &browser().with_remember_cookie(cookie), &config),
        None
    );
}

#[test]
fn forged_remember_cookies_are_ignored() {
    let config = config();
    let other = Key::new("not the key").unwrap();
    for forged in [
        encode_remember_cookie(&other, "42"),
        "42|".to_owned() + &"0".repeat(128),
        "42".to_owned(),
        "\\377|x".to_owned(),
    ] {
        let s = session();
        let user = load_user(&s, &browser().with_remember_cookie(forged.clone()), &config);
        assert_eq!(user, None, "{forged}");
        assert!(s.is_empty(), "{forged}");
    }
}

#[test]
fn basic_protection_marks_not_fresh() {
    let s = session();
    login_user(&s, &browser(), "42", &LoginOptions::new());
    let elsewhere = Client::new(Some("192.0.2.9"), Some(b"flagon-test/1.0"));
    let user = load_user(&s, &elsewhere, &config()).unwrap();
    assert_eq!((user.id.as_str(), user.fresh), ("42", false));
    // the same client sees its fresh login
    let s = session();
    login_user(&s, &browser(), "42", &LoginOptions::new());
    assert!(load_user(&s, &browser(), &config()).unwrap().fresh);
}

#[test]
fn strong_protection_logs_out_unless_permanent() {
    let strong = config().session_protection(Protection::Strong);
    let elsewhere = Client::new(Some("192.0.2.9"), None);
    let s = session();
    s.insert_value("theme", "dark");
    login_user(&s, &browser(), "42", &LoginOptions::new().remember(true));
    assert_eq!(load_user(&s, &elsewhere, &strong), None);
    assert_eq!(s.keys(), vec![REMEMBER.to_owned(), "theme".to_owned()]);
    assert!(remember_cookie_update(&s, &strong)
        .unwrap()
        .contains("Max-Age=0"));

    let s = session();
    s.set_permanent(true);
    login_user(&s, &browser(), "42", &LoginOptions::new());
    let user = load_user(&s, &elsewhere, &strong).unwrap();
    assert!(!user.fresh, "a permanent session gets basic protection");
    // off: nothing checked
    let s = session();
    login_user(&s, &browser(), "42", &LoginOptions::new());
    let off = config().session_protection(Protection::Off);
    assert!(load_user(&s, &elsewhere, &off).unwrap().fresh);
}

#[test]
fn confirm_login_refreshes() {
    let s = session();
    login_user(&s, &browser(), "42", &LoginOptions::new().fresh(false));
    assert!(!login_fresh(&s));
    confirm_login(&s, &browser());
    assert!(login_fresh(&s));
}

#[test]
fn refresh_each_request_resends_for_a_logged_in_user() {
    let config = config().remember_cookie_refresh_each_request(true);
    let s = session();
    assert_eq!(remember_cookie_update(&s, &config), None);
    login_user(&s, &browser(), "42", &LoginOptions::new());
    assert!(remember_cookie_update(&s, &config)
        .unwrap()
        .starts_with("remember_token=42|"));
}

#[test]
fn config_is_validated() {
    let key = Key::new(SECRET).unwrap();
    LoginConfig::new(key.clone()).validate().unwrap();
    assert!(LoginConfig::new(key.clone())
        .remember_cookie_name("a b")
        .validate()
        .is_err());
    let none_insecure = LoginConfig::new(key).remember_cookie_same_site(Some(SameSite::None));
    assert!(none_insecure.validate().is_err());
}
