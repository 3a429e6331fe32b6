//! Live interoperability with real Flask (tests/flask/peer_app.py in a child process).
//!
//! Each direction on a broad set of values: Flask writes and flagon reads, flagon writes
//! and Flask reads (its decoder and a real request), and both write the same bytes for
//! the same data, key and time. Then key rotation, expiry, tampering, flashes, the login
//! demo across the two implementations with identical Set-Cookie headers
//! (`login_across`), and Flask's save rules side by side (`save_rules_diff`). Sessions
//! are compared as tagged JSON text, which is canonical (sorted keys, NaN spelled out)
//! where `==` on floats is not. Run `tests/flask/setup.sh` first; without Flask these
//! tests skip loudly, and fail when `CI` is set.

use std::time::{SystemTime, UNIX_EPOCH};

use flagon::flask::{self, DecodeError, Limits};
use flagon::{Key, KeyRing, Value};
use serde_json::json;
use time::macros::datetime;

use self::cases::{map, s};
use crate::markers::{map_from_marker, map_to_marker};
use crate::support::flask_peer::{self, FlaskPeer};

mod cases;
#[cfg(feature = "sqlite")] // examples/login.rs needs it for its store choices
mod login_across;
mod save_rules_diff;

const SECRET: &str = "interop secret: correct horse battery staple";
const MAX_AGE: u64 = 31 * 24 * 60 * 60;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn key(secret: &str) -> Key {
    Key::new(secret).unwrap()
}

/// Flask's marker JSON of a session, as tagged JSON text.
fn tagged_from_marker(doc: &serde_json::Value) -> String {
    flask::to_tagged_json(&map_from_marker(doc))
}

fn verify_now(cookie: &str, ring: &KeyRing) -> Result<flask::Verified, DecodeError> {
    flask::verify(
        cookie.as_bytes(),
        ring,
        now(),
        MAX_AGE,
        0,
        &Limits::default(),
    )
}

fn start(args: &[&str]) -> Option<FlaskPeer> {
    let mut all = vec!["--secret", SECRET];
    all.extend_from_slice(args);
    FlaskPeer::start(&all)
}

#[test]
fn flask_writes_flagon_reads() {
    let Some(peer) = start(&[]) else { return };
    let ring = KeyRing::new(key(SECRET));
    for (name, session) in cases::all() {
        let reply = peer.send_json("POST", "/session", None, &map_to_marker(&session));
        assert_eq!(reply.status, 200, "{name}: {}", reply.body);
        let cookie = reply
            .set_cookie_value("session")
            .unwrap_or_else(|| panic!("{name}: no cookie"));
        let verified = verify_now(&cookie, &ring)
            .unwrap_or_else(|e| panic!("{name}: flagon refused Flask's cookie: {e}"));
        assert_eq!(verified.key_index, 0);
        let ours = flask::to_tagged_json(&verified.session);
        assert_eq!(
            ours,
            flask::to_tagged_json(&session),
            "{name}: flagon read other data"
        );
        // And Flask itself reads the same out of it in the next request.
        let seen = peer.get("/session", Some(&format!("session={cookie}")));
        assert_eq!(tagged_from_marker(&seen.json()), ours, "{name}");
    }
}

#[test]
fn flagon_writes_flask_reads() {
    let Some(peer) = start(&[]) else { return };
    let key = key(SECRET);
    for (name, session) in cases::all() {
        let cookie = flask::sign(&session, &key, now());
        let expected = flask::to_tagged_json(&session);
        let decoded = peer
            .send_json("POST", "/debug/decode", None, &json!({ "cookie": cookie }))
            .json();
        assert_eq!(
            decoded["ok"], true,
            "{name}: Flask refused flagon's cookie: {decoded}"
        );
        assert_eq!(
            tagged_from_marker(&decoded["session"]),
            expected,
            "{name}: /debug/decode"
        );
        // A real request carrying the cookie sees the same session.
        let seen = peer.get("/session", Some(&format!("session={cookie}")));
        assert_eq!(seen.status, 200, "{name}: {}", seen.body);
        assert_eq!(
            tagged_from_marker(&seen.json()),
            expected,
            "{name}: GET /session"
        );
    }
}

#[test]
fn same_bytes_as_flask_for_same_data_key_and_time() {
    let Some(peer) = start(&[]) else { return };
    let key = key(SECRET);
    for timestamp in [1_700_000_000_u64, now()] {
        for (name, session) in cases::all() {
            let body = json!({ "session": map_to_marker(&session), "timestamp": timestamp });
            let flask_out = peer.send_json("POST", "/debug/encode", None, &body).json();
            assert_eq!(
                flask_out["tagged_json"],
                flask::to_tagged_json(&session),
                "{name}: tagged JSON"
            );
            assert_eq!(
                flask_out["cookie"],
                flask::sign(&session, &key, timestamp),
                "{name}: cookie at {timestamp}"
            );
        }
    }
}

#[test]
fn key_rotation_both_ways() {
    let (old, new) = ("rotated-out key", "current key");
    let Some(peer) =
        FlaskPeer::start(&["--secret", new, "--fallback", "oldest", "--fallback", old])
    else {
        return;
    };
    let session = map([("user", s("alice")), ("logged_in", true.into())]);

    // flagon still signing with the old key: Flask accepts it through SECRET_KEY_FALLBACKS.
    let from_old = flask::sign(&session, &key(old), now());
    let seen = peer.get("/session", Some(&format!("session={from_old}")));
    assert_eq!(
        tagged_from_marker(&seen.json()),
        flask::to_tagged_json(&session)
    );
    // Once Flask modifies it, it is re-signed with the new key only.
    let put = peer.send_json(
        "PUT",
        "/session/n",
        Some(&format!("session={from_old}")),
        &json!(1),
    );
    let resigned = put.set_cookie_value("session").expect("re-signed cookie");
    let only_new = KeyRing::new(key(new));
    assert_eq!(
        verify_now(&resigned, &only_new).unwrap().session["n"],
        Value::Int(1)
    );

    // An app still on the old key writes; flagon, rotated, accepts it as a fallback.
    let Some(old_app) = FlaskPeer::start(&["--secret", old]) else {
        return;
    };
    let login = old_app.request(
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"username=admin",
    );
    let cookie = login.set_cookie_value("session").expect("login cookie");
    let ring = KeyRing::new(key(new))
        .with_fallback(key("oldest"))
        .with_fallback(key(old));
    let verified = verify_now(&cookie, &ring).expect("accepted through the fallback");
    assert_eq!(
        (verified.key_index, &verified.session["logged_in"]),
        (1, &Value::Bool(true))
    );
    assert_eq!(
        verify_now(&cookie, &only_new).unwrap_err(),
        DecodeError::BadSignature
    );
    // Flask with the old key removed refuses it too.
    let Some(strict) = FlaskPeer::start(&["--secret", new]) else {
        return;
    };
    assert_eq!(
        strict
            .get("/dashboard", Some(&format!("session={cookie}")))
            .body,
        "Access denied!"
    );
}

#[test]
fn expiry_agrees_with_flask() {
    let Some(peer) = start(&["--lifetime", "60"]) else {
        return;
    };
    let ring = KeyRing::new(key(SECRET));
    let session = map([("a", 1.into())]);
    let signed_at = 1_800_000_000_u64;
    let cookie = flask::sign(&session, &key(SECRET), signed_at);
    // Ages around the limit, and a cookie from one second in the future.
    for (age, valid) in [
        (0_i64, true),
        (59, true),
        (60, true),
        (61, false),
        (100_000, false),
        (-1, false),
    ] {
        let at = signed_at.checked_add_signed(age).unwrap();
        let flask_says = peer
            .send_json(
                "POST",
                "/debug/decode",
                None,
                &json!({ "cookie": cookie, "now": at }),
            )
            .json();
        let flagon_says = flask::verify(cookie.as_bytes(), &ring, at, 60, 0, &Limits::default());
        assert_eq!(
            flask_says["ok"], valid,
            "age {age}: Flask said {flask_says}"
        );
        assert_eq!(
            flagon_says.is_ok(),
            valid,
            "age {age}: flagon said {flagon_says:?}"
        );
        if age > 60 {
            assert!(
                matches!(flagon_says, Err(DecodeError::Expired { .. })),
                "{flagon_says:?}"
            );
        }
        if age < 0 {
            assert!(
                matches!(flagon_says, Err(DecodeError::FromTheFuture { .. })),
                "{flagon_says:?}"
            );
        }
    }
    // With the real clock: the peer's PERMANENT_SESSION_LIFETIME applies to real requests.
    let stale = flask::sign(&session, &key(SECRET), now() - 61);
    assert_eq!(
        peer.get("/session", Some(&format!("session={stale}")))
            .json(),
        json!({})
    );
    let fresh = flask::sign(&session, &key(SECRET), now() - 30);
    assert_eq!(
        peer.get("/session", Some(&format!("session={fresh}")))
            .json(),
        json!({"a": 1})
    );
}

#[test]
fn flask_and_flagon_reject_the_same_tampering() {
    let Some(peer) = start(&[]) else { return };
    let ring = KeyRing::new(key(SECRET));
    let good = flask::sign(&map([("logged_in", true.into())]), &key(SECRET), now());
    let tampered_payload = good.replacen("eyJ", "eyK", 1);
    let wrong_key = flask::sign(
        &map([("logged_in", true.into())]),
        &key("not the secret"),
        now(),
    );
    for bad in [
        tampered_payload,
        wrong_key,
        good[..good.len() - 1].to_owned(),
        format!(".{good}"),
    ] {
        assert!(verify_now(&bad, &ring).is_err(), "flagon accepted {bad}");
        assert_eq!(
            peer.get("/dashboard", Some(&format!("session={bad}"))).body,
            "Access denied!"
        );
    }
    assert_eq!(
        peer.get("/dashboard", Some(&format!("session={good}")))
            .body,
        "Welcome to the dashboard!"
    );
}

/// What Flask does to datetimes it is given (naive = UTC, offsets converted, microseconds
/// dropped) is what flagon reads back from Flask's cookie.
#[test]
fn flask_normalised_datetimes_read_back_in_utc() {
    let Some(peer) = start(&[]) else { return };
    let body = json!({
        "naive": { "$datetime": "2024-02-29T13:45:30.987654" },
        "offset": { "$datetime": "2024-01-02T03:04:05+05:30" },
        "west": { "$datetime": "1999-12-31T23:59:59-08:00" },
    });
    let reply = peer.send_json("POST", "/session", None, &body);
    let cookie = reply.set_cookie_value("session").expect("a session cookie");
    let session = verify_now(&cookie, &KeyRing::new(key(SECRET)))
        .unwrap()
        .session;
    let expect = [
        ("naive", datetime!(2024-02-29 13:45:30 UTC)),
        ("offset", datetime!(2024-01-01 21:34:05 UTC)),
        ("west", datetime!(2000-01-01 07:59:59 UTC)),
    ];
    for (name, utc) in expect {
        let Value::DateTime(got) = &session[name] else {
            panic!("{name}: {:?}", session[name])
        };
        assert_eq!((*got, got.offset()), (utc, time::UtcOffset::UTC), "{name}");
    }
}

/// Flash messages: Flask's `flash()` tuples read by flagon, flagon's read by Flask.
#[test]
fn flashes_cross_over() {
    let Some(peer) = start(&[]) else { return };
    let flashed = peer.send_json(
        "POST",
        "/flash",
        None,
        &json!({"message": "Saved", "category": "info"}),
    );
    let cookie = flashed
        .set_cookie_value("session")
        .expect("flash writes the session");
    let session = verify_now(&cookie, &KeyRing::new(key(SECRET)))
        .unwrap()
        .session;
    let pair = Value::Tuple(vec![s("info"), s("Saved")]);
    assert_eq!(session["_flashes"], Value::List(vec![pair]));

    let ours = map([(
        "_flashes",
        Value::List(vec![
            Value::Tuple(vec![s("message"), s("Welcome back")]),
            Value::Tuple(vec![s("error"), s("Card declined")]),
        ]),
    )]);
    let cookie = format!("session={}", flask::sign(&ours, &key(SECRET), now()));
    let shown = peer.get("/flashes", Some(&cookie)).json();
    assert_eq!(
        shown,
        json!([["message", "Welcome back"], ["error", "Card declined"]])
    );
}

/// tests/flask/vectors.json is exactly what the pinned Flask stack generates today.
#[test]
fn committed_vectors_are_reproducible() {
    let Some(python) = flask_peer::python_or_skip() else {
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/flask/gen_vectors.py");
    let out = std::process::Command::new(python)
        .args([script, "--check"])
        .output()
        .expect("run gen_vectors.py");
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        flask_peer::unavailable::<()>(&format!("not the pinned Flask stack: {report}"));
        return;
    }
    assert!(
        out.status.success(),
        "vectors.json is stale or the generator failed:\n{report}"
    );
    assert!(report.starts_with("up to date: "), "{report}");
}
