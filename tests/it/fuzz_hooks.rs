//! Replays for the fuzz targets that reach crate-private code through
//! `flagon::fuzz_hooks`: F-HDR (`cookie_header`), F-SETCOOKIE (`set_cookie`),
//! F-STORE-REC (`store_record`) and F-ID (`session_id`).
//!
//! The oracles are the targets' own files, included by path, so a hostile input here runs
//! exactly what libFuzzer runs; each area also gets a fixed-seed batch of random inputs so
//! the oracles are exercised on stable Rust without cargo-fuzz.

use std::time::Duration;

// `fuzz_regressions` includes the same file: `store_record.rs` needs it as a sibling.
#[path = "../../fuzz/src/oracle.rs"]
#[allow(dead_code, unreachable_pub, clippy::duplicate_mod)] // in both replay modules
mod oracle;

#[path = "../../fuzz/src/header.rs"]
#[allow(dead_code, unreachable_pub)]
mod header;

#[path = "../../fuzz/src/set_cookie.rs"]
#[allow(dead_code, unreachable_pub)]
mod set_cookie;

#[cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
#[path = "../../fuzz/src/store_record.rs"]
#[allow(dead_code, unreachable_pub)]
mod store_record;

#[path = "../../fuzz/src/id.rs"]
#[allow(dead_code, unreachable_pub)]
mod id;

/// Fixed-seed bytes for the random batches.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// `len` bytes, each from `alphabet` half of the time and any byte otherwise.
    fn bytes(&mut self, len: usize, alphabet: &[u8]) -> Vec<u8> {
        (0..len)
            .map(|_| {
                let r = self.next();
                if r & 1 == 0 {
                    alphabet[(r >> 8) as usize % alphabet.len()]
                } else {
                    (r >> 16) as u8
                }
            })
            .collect()
    }
}

fn random_batch(seed: u64, count: usize, max_len: u64, alphabet: &[u8], check: impl Fn(&[u8])) {
    let mut rng = XorShift(seed);
    for _ in 0..count {
        let len = (rng.next() % max_len) as usize;
        check(&rng.bytes(len, alphabet));
    }
}

/// A header case with fixed name `session` (selector byte 0) and `\n`-separated fields.
fn header_input(fields: &[&str]) -> Vec<u8> {
    let mut data = vec![0];
    data.extend_from_slice(fields.join("\n").as_bytes());
    data
}

#[test]
fn cookie_selection_matches_the_model_on_hostile_headers() {
    let cases: &[&[&str]] = &[
        &["session=", "session", "=session=x", "session==x"],
        &["\"session\"=x; SESSION=y; __host-session=z; ..Host-session=w"],
        &["\u{a0}session=x; \u{2000}session=y; \u{85}session=z"],
        &["session=\"v\"; session=\"\"; session=\"; session=\"\"\""],
        &[" \tsession \t=  \" v \" ; session=%2Ev"],
        &["$Version=1; session=\"abc\"; $Path=/"],
        &["junk; o=%E0%A4%A; session=v", "a=1", "session=B"],
        &[";;;;session=a;=;;session=b=c"],
    ];
    for fields in cases {
        header::check_header(&header_input(fields));
    }
    // A17: ten thousand tiny cookies before ours.
    let mut many = "a=1; ".repeat(10_000);
    many.push_str("session=v");
    header::check_header(&header_input(&[&many]));
    let got = flagon::fuzz_hooks::cookie_candidates(&[many.as_bytes()], b"session");
    assert_eq!(got, [b"v".as_slice()]);
    random_batch(
        1,
        20_000,
        80,
        b"session=; \t\"\n_Host-",
        header::check_header,
    );
}

#[test]
fn set_cookie_parses_back_to_the_configuration() {
    // byte 0 flags: 1 secure, 2 http_only, 4 partitioned, 8 domain, 16 expires,
    // 32/64 SameSite, 128 names from a list; then 8 expiry bytes and 4 chunks.
    let case = |flags: u8, expires: u64, chunks: &[&[u8]]| {
        let mut data = vec![flags];
        data.extend_from_slice(&expires.to_be_bytes());
        for chunk in chunks {
            data.push(u8::try_from(chunk.len()).unwrap());
            data.extend_from_slice(chunk);
        }
        data
    };
    let hostile: Vec<Vec<u8>> = vec![
        // An expiry past year 9999: written as the last HTTP date, not a panic in httpdate.
        case(16 | 2, u64::MAX, &[b"session", b"", b"/", b"abc"]),
        case(16, 253_402_300_799, &[b"session", b"", b"/", b"abc"]),
        case(16, 951_782_400, &[b"session", b"", b"/", b"abc"]),
        case(16, 4_107_542_400, &[b"session", b"", b"/", b"abc"]),
        // Werkzeug's domain rule: port and leading dots dropped, even down to nothing.
        case(8, 0, &[b"s", b".", b"/", b"v"]),
        case(8, 0, &[b"s", b":8080", b"/", b"v"]),
        case(8 | 1, 0, &[b"s", b"..Example.COM:443", b"/", b"v"]),
        // Paths that need quoting, and names the rules refuse.
        case(0, 0, &[b"s", b"", "/caf\u{e9} x;y%41\"".as_bytes(), b"v"]),
        case(0, 0, &[b"s p", b"", b"/", b"v"]),
        case(0, 0, &[b"", b"", b"/", b"v"]),
        case(8, 0, &[b"s", b"a;b", b"/", b"v"]),
        case(8, 0, &[b"s", b"a\r\nSet-Cookie: x=y", b"/", b"v"]),
        case(128, 0, &[&[1], b"", b"/", b"v"]),
        case(128 | 1, 0, &[&[1], b"", b"/", b"v"]),
        case(128 | 1 | 8, 0, &[&[1], b"example.com", b"/", b"v"]),
        case(96, 0, &[b"s", b"", b"/", b"v"]),
        case(96 | 4, 0, &[b"s", b"", b"/", b"v"]),
    ];
    for data in &hostile {
        set_cookie::check_set_cookie(data);
    }
    random_batch(
        2,
        20_000,
        120,
        b"session/.:;%_-Host",
        set_cookie::check_set_cookie,
    );
}

/// A configured lifetime of ten thousand years: the layer sends the last HTTP date
/// instead of panicking while formatting `Expires` (SECURITY.md F7).
#[cfg(feature = "axum")]
#[tokio::test]
async fn a_lifetime_past_year_9999_is_written_as_the_last_http_date() {
    use axum::routing::get;
    use flagon::axum::SessionLayer;
    use flagon::{Key, Session, SessionConfig};

    let ten_thousand_years = Duration::from_secs(10_000 * 366 * 86_400);
    let config = SessionConfig::flask(Key::new("a key for the lifetime test").unwrap())
        .permanent_lifetime(ten_thousand_years);
    let app = axum::Router::new()
        .route(
            "/",
            get(|session: Session| async move {
                session.set_permanent(true);
                session.insert_value("user", 7);
                "ok"
            }),
        )
        .layer(SessionLayer::new(config).unwrap());
    let reply = crate::support::http::get(&app, "/", None).await;
    assert_eq!(reply.status, http::StatusCode::OK);
    let cookie = reply.set_cookie().expect("a Set-Cookie");
    assert!(
        cookie.contains("; Expires=Fri, 31 Dec 9999 23:59:59 GMT;"),
        "{cookie}"
    );
}

#[cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
#[test]
fn stored_records_read_back_or_are_corrupt() {
    let values: &[&str] = &[
        "NaN",
        "-Infinity",
        "1e400",
        "123456789012345678901234567890",
        "{\" t\":[1,{\" b\":\"AAE=\"}]}",
        "{\" d\":\"Fri, 31 Dec 9999 23:59:59 -2359\"}",
        "\"\\ud800\"",
        "[1,2",
        " 7 ",
        "{\"a\":1,\"a\":2}",
    ];
    for text in values {
        store_record::check_stored_value(text.as_bytes());
    }
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    store_record::check_stored_value(deep.as_bytes());
    assert!(flagon::fuzz_hooks::decode_stored_value(&deep).is_err());
    random_batch(3, 20_000, 60, b"{}[]\":, tbdmu0123456789.-eE", |d| {
        store_record::check_store_record(&[0].iter().chain(d).copied().collect::<Vec<_>>())
    });
    random_batch(4, 5_000, 16, b"\x00\x7f\x80\xff", |d| {
        store_record::check_store_record(&[2].iter().chain(d).copied().collect::<Vec<_>>())
    });
}

#[cfg(feature = "redis")]
#[test]
fn redis_hash_replies_match_the_model() {
    use flagon::fuzz_hooks::redis_hash_reply;
    let pair = |f: &[u8], v: &[u8]| (f.to_vec(), v.to_vec());
    let now = 100;
    let check = |pairs: Vec<(Vec<u8>, Vec<u8>)>| {
        let want = store_record::model_hash(&pairs, now);
        for as_map in [false, true] {
            let got = redis_hash_reply(pairs.clone(), as_map, now);
            assert_eq!(
                got.is_err(),
                want.is_err(),
                "{pairs:?}: {got:?} vs {want:?}"
            );
            assert_eq!(
                got.as_ref().ok().map(Option::is_some),
                want.as_ref().ok().map(Option::is_some),
                "{pairs:?}"
            );
        }
    };
    // A sealed hash with an unreadable time or name is still corrupt: fields are read
    // before the seal is looked at.
    check(vec![pair(b"s", b"1"), pair(b"c", b"x")]);
    check(vec![pair(b"s", b"1"), pair(b"v:\xff", b"1")]);
    check(vec![
        pair(b"c", b"+5"),
        pair(b"e", b"101"),
        pair(b"v:a", b"1"),
    ]);
    check(vec![
        pair(b"c", b"5"),
        pair(b"e", b"100"),
        pair(b"v:a", b"{"),
    ]);
    check(vec![
        pair(b"c", b"5"),
        pair(b"e", b"101"),
        pair(b"v:a", b"\xff"),
    ]);
    check(vec![pair(b"e", b"101"), pair(b"v:a", b"1")]);
    check(vec![pair(b"x", b"1")]);
    random_batch(5, 20_000, 80, b"ces\x03\x04v:01{}\"", |d| {
        store_record::check_store_record(&[1].iter().chain(d).copied().collect::<Vec<_>>())
    });
}

#[test]
fn id_cookies_verify_only_when_genuine() {
    let raw = [7u8; 24];
    let cookie = id::model_id_cookie(&raw, id::ID_NOW - 5);
    id::check_id_raw(cookie.as_bytes());
    let key = flagon::Key::new(id::ID_SECRET).unwrap();
    let ring = flagon::KeyRing::new(key.clone());
    let got = flagon::fuzz_hooks::verify_id_cookie(cookie.as_bytes(), &ring, id::ID_NOW, 0, 4096);
    assert!(got.is_ok(), "the model's id cookie verifies: {got:?}");
    assert_eq!(
        flagon::fuzz_hooks::sign_id_cookie(raw, &key, id::ID_NOW - 5),
        cookie
    );
    // Genuinely signed payloads that are not a 24-byte id are refused.
    let not_ids = [
        String::new(),
        id::b64url(&[7; 23]),
        id::b64url(&[7; 25]),
        id::b64url(&[7; 32]),
        format!("{}=", id::b64url(&[7; 24])),
        id::b64url(&[7; 24]).replace('H', "+"),
        format!(".{}", id::b64url(&[7; 24])),
    ];
    for payload in not_ids {
        let cookie = id::model_sign_payload(&payload, id::ID_NOW - 5);
        let got =
            flagon::fuzz_hooks::verify_id_cookie(cookie.as_bytes(), &ring, id::ID_NOW, 0, 4096);
        assert!(got.is_err(), "{payload:?} verified as an id");
        id::check_id_raw(cookie.as_bytes());
    }
    random_batch(6, 20_000, 60, b"ABCxyz019-_.", |d| {
        id::check_id(&[0].iter().chain(d).copied().collect::<Vec<_>>())
    });
    random_batch(7, 5_000, 40, b"\x00\xff", |d| {
        id::check_id(&[1].iter().chain(d).copied().collect::<Vec<_>>())
    });
}
