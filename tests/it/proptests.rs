//! Property tests of the Flask cookie codec.
//!
//! * Any session (every `Value` variant, tag-like keys, big ints, non-NaN floats,
//!   datetimes at whole seconds in UTC) survives sign → verify unchanged, and the tagged
//!   JSON text alone round-trips too.
//! * Any single-byte change, insertion or deletion of a valid cookie is rejected.
//!
//! Case counts are modest so the suite stays fast; set `PROPTEST_CASES` for more.

use flagon::flask::{self, Limits};
use flagon::{Key, KeyRing, Map, Value};
use proptest::prelude::*;
use proptest::test_runner::Config;
use time::OffsetDateTime;

const SIGNED_AT: u64 = 1_700_000_000;
const MAX_AGE: u64 = 2_678_400;

fn config(default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default_cases);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

fn key() -> Key {
    Key::new("proptest secret").unwrap()
}

fn roomy() -> Limits {
    let mut limits = Limits::default();
    limits.max_cookie_len = 1 << 20;
    limits.max_inflated = 1 << 22;
    limits
}

/// Keys, with Flask's tag keys and their look-alikes over-represented.
fn dict_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        1 => prop::sample::select(vec![" t", " b", " m", " u", " d", " di", " t__", " x", "$x", ""])
            .prop_map(str::to_owned),
    ]
}

/// Whole seconds in UTC between the years 100 and 9999 (Python reads two-digit years
/// as 19xx/20xx, so years below 100 do not round-trip in Flask either).
fn datetime() -> impl Strategy<Value = OffsetDateTime> {
    (-59_011_459_200i64..253_402_300_799)
        .prop_map(|s| OffsetDateTime::from_unix_timestamp(s).unwrap())
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<i128>().prop_map(Value::from),
        any::<u128>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("NaN never equals itself", |x| !x.is_nan())
            .prop_map(Value::Float),
        any::<String>().prop_map(Value::Str),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
        any::<String>().prop_map(Value::Markup),
        any::<u128>().prop_map(|u| Value::Uuid(uuid::Uuid::from_u128(u))),
        datetime().prop_map(Value::DateTime),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Tuple),
            prop::collection::btree_map(dict_key(), inner, 0..6).prop_map(Value::Dict),
        ]
    })
}

fn session() -> impl Strategy<Value = Map> {
    prop::collection::btree_map(dict_key(), value(), 0..8)
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn any_session_round_trips(session in session(), ts in 1u64..(1 << 40)) {
        let cookie = flask::sign(&session, &key(), ts);
        let ring = KeyRing::new(key());
        let got = flask::verify(cookie.as_bytes(), &ring, ts, MAX_AGE, 0, &roomy())
            .map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(&got.session, &session);
        prop_assert_eq!(got.timestamp, ts);
        let text = flask::to_tagged_json(&session);
        prop_assert!(text.is_ascii());
        prop_assert_eq!(flask::from_tagged_json(text.as_bytes(), &roomy()).unwrap(), session);
    }
}

/// One edit of a cookie.
#[derive(Clone, Debug)]
enum Edit {
    Change(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Change(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
    ]
}

fn apply(cookie: &[u8], edit: &Edit) -> Option<Vec<u8>> {
    let mut out = cookie.to_vec();
    match *edit {
        Edit::Change(i, b) => {
            let i = i % out.len();
            if out[i] == b {
                return None;
            }
            out[i] = b;
        }
        Edit::Insert(i, b) => out.insert(i % (out.len() + 1), b),
        Edit::Delete(i) => {
            out.remove(i % cookie.len());
        }
    }
    Some(out)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_single_byte_edit_is_rejected(session in session(), edit in edit()) {
        let cookie = flask::sign(&session, &key(), SIGNED_AT);
        let ring = KeyRing::new(key());
        let check = |c: &[u8]| flask::verify(c, &ring, SIGNED_AT, MAX_AGE, 0, &roomy());
        prop_assert!(check(cookie.as_bytes()).is_ok());
        if let Some(edited) = apply(cookie.as_bytes(), &edit) {
            prop_assert!(check(&edited).is_err(), "{:?} accepted", edit);
        }
    }
}
