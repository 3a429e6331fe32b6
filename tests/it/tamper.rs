//! Tampered, truncated, mis-signed and hostile cookies (SECURITY §6 B, D, E).
//!
//! Hostile payloads under a *valid* signature are made by a signing oracle written here
//! from scratch with the `hmac` crate (FORMAT.md §2 and §5), so these tests also check
//! flagon's key derivation independently.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use flagon::flask::{self, DecodeError, Limits};
use flagon::{Key, KeyRing, Map, Value};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

const SECRET: &str = "correct horse battery staple";
const NOW: u64 = 1_700_000_100;
const SIGNED_AT: u64 = 1_700_000_000;
const MAX_AGE: u64 = 2_678_400;

fn hmac_sha1(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("any key length");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

fn timestamp_segment(ts: u64) -> String {
    let bytes = ts.to_be_bytes();
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(8);
    URL_SAFE_NO_PAD.encode(&bytes[first..])
}

/// Signs any payload segment as Flask would, with an explicit signing key.
fn sign_with(
    signing_key: &[u8],
    payload: &str,
    ts: u64,
    mac: fn(&[u8], &[u8]) -> Vec<u8>,
) -> String {
    let signed = format!("{payload}.{}", timestamp_segment(ts));
    let sig = mac(signing_key, signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// The Flask signing oracle: `HMAC-SHA1(HMAC-SHA1(secret, "cookie-session"), text)`.
fn oracle(payload: &str, ts: u64) -> String {
    let derived = hmac_sha1(SECRET.as_bytes(), b"cookie-session");
    sign_with(&derived, payload, ts, hmac_sha1)
}

fn ring() -> KeyRing {
    KeyRing::new(Key::new(SECRET).unwrap())
}

fn verify(cookie: &[u8]) -> Result<flask::Verified, DecodeError> {
    flask::verify(cookie, &ring(), NOW, MAX_AGE, 0, &Limits::default())
}

fn zlib(raw: &[u8], level: u32) -> Vec<u8> {
    use std::io::Write as _;
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(level));
    enc.write_all(raw).unwrap();
    enc.finish().unwrap()
}

fn compressed_payload(raw: &[u8]) -> String {
    format!(".{}", URL_SAFE_NO_PAD.encode(zlib(raw, 9)))
}

/// Sample cookies: small, compressed, every tag, time 2^32+5, a fallback-free mix.
fn samples() -> Vec<String> {
    let key = Key::new(SECRET).unwrap();
    let mut out = Vec::new();
    let mut s = Map::new();
    s.insert("logged_in".into(), Value::Bool(true));
    out.push(flask::sign(&s, &key, SIGNED_AT));
    s.insert("cart".into(), Value::from(vec!["sku-1"; 40]));
    out.push(flask::sign(&s, &key, SIGNED_AT));
    s.insert(
        "t".into(),
        Value::Tuple(vec![
            Value::Bytes(vec![0, 255]),
            Value::Markup("<b>".into()),
        ]),
    );
    s.insert("u".into(), Value::Uuid(uuid::Uuid::from_u128(7)));
    s.insert("f".into(), Value::Float(f64::NAN));
    out.push(flask::sign(&s, &key, SIGNED_AT - 5));
    let mut one = Map::new();
    one.insert(" t".into(), Value::Int(1));
    out.push(flask::sign(&one, &key, SIGNED_AT));
    out.push(oracle("e30", SIGNED_AT));
    for c in &out {
        assert!(verify(c.as_bytes()).is_ok(), "sample must be valid: {c}");
    }
    assert!(out[1].starts_with(".eJ"), "a compressed sample is included");
    out
}

#[test]
fn oracle_agrees_with_flagon() {
    let key = Key::new(SECRET).unwrap();
    let mut s = Map::new();
    s.insert("logged_in".into(), Value::Bool(true));
    let ours = flask::sign(&s, &key, SIGNED_AT);
    assert_eq!(ours, oracle("eyJsb2dnZWRfaW4iOnRydWV9", SIGNED_AT));
}

#[test]
fn b3_every_prefix_is_rejected() {
    let mut checked = 0;
    for cookie in samples() {
        for end in 0..cookie.len() {
            assert!(
                verify(&cookie.as_bytes()[..end]).is_err(),
                "prefix {end} of {cookie}"
            );
            checked += 1;
        }
    }
    assert!(checked > 300, "{checked}");
}

#[test]
fn b12_every_single_bit_flip_is_rejected() {
    let mut checked = 0;
    for cookie in samples() {
        let mut bytes = cookie.into_bytes();
        for i in 0..bytes.len() {
            for bit in 0..8 {
                bytes[i] ^= 1 << bit;
                assert!(verify(&bytes).is_err(), "bit {bit} of byte {i}");
                bytes[i] ^= 1 << bit;
                checked += 1;
            }
        }
        assert!(verify(&bytes).is_ok());
    }
    assert!(checked > 3000, "{checked}");
}

#[test]
fn b13_django_transforms_are_rejected() {
    for cookie in samples() {
        let mut variants = vec![
            cookie.to_uppercase(),
            cookie.to_lowercase(),
            format!("a{cookie}"),
            format!(".{cookie}"),
            format!("{cookie}a"),
            format!("{cookie}="),
            format!("{cookie}."),
            format!(" {cookie}"),
        ];
        for (i, _) in cookie.match_indices('.') {
            variants.push(format!("{}{}", &cookie[..i], &cookie[i + 1..]));
        }
        for v in variants {
            assert!(verify(v.as_bytes()).is_err(), "{v}");
        }
    }
}

#[test]
fn b14_b15_other_salts_digests_and_derivations_are_rejected() {
    let payload = "eyJsb2dnZWRfaW4iOnRydWV9";
    let secret = SECRET.as_bytes();
    let derive = |salt: &[u8]| hmac_sha1(secret, salt);
    let concat = {
        use sha1::Digest as _;
        let mut h = Sha1::new();
        h.update(b"cookie-session");
        h.update(b"signer");
        h.update(secret);
        h.finalize().to_vec()
    };
    let cases = [
        (
            "itsdangerous default salt",
            sign_with(
                &derive(b"itsdangerous.Signer"),
                payload,
                SIGNED_AT,
                hmac_sha1,
            ),
        ),
        (
            "app salt",
            sign_with(&derive(b"reset-password"), payload, SIGNED_AT, hmac_sha1),
        ),
        (
            "no derivation",
            sign_with(secret, payload, SIGNED_AT, hmac_sha1),
        ),
        (
            "django-concat",
            sign_with(&concat, payload, SIGNED_AT, hmac_sha1),
        ),
        (
            "sha256",
            sign_with(
                &hmac_sha256(secret, b"cookie-session"),
                payload,
                SIGNED_AT,
                hmac_sha256,
            ),
        ),
        ("sha256 truncated", {
            let c = sign_with(
                &hmac_sha256(secret, b"cookie-session"),
                payload,
                SIGNED_AT,
                hmac_sha256,
            );
            let sig_at = c.rfind('.').unwrap() + 1;
            format!("{}{}", &c[..sig_at], &c[sig_at..sig_at + 27])
        }),
    ];
    for (what, cookie) in cases {
        let err = verify(cookie.as_bytes()).expect_err(what);
        assert!(
            matches!(err, DecodeError::BadSignature | DecodeError::Malformed(_)),
            "{what}: {err:?}"
        );
    }
    // the right derivation passes, so the cases above failed for the right reason
    assert!(verify(oracle(payload, SIGNED_AT).as_bytes()).is_ok());
}

#[test]
fn b16_fallback_keys_verify_until_removed() {
    let old = Key::new("previous key").unwrap();
    let current = Key::new(SECRET).unwrap();
    let mut s = Map::new();
    s.insert("user".into(), Value::from("alice"));
    let cookie = flask::sign(&s, &old, SIGNED_AT);
    let rotated = KeyRing::new(current.clone())
        .with_fallback(Key::new("oldest").unwrap())
        .with_fallback(old);
    let got = flask::verify(
        cookie.as_bytes(),
        &rotated,
        NOW,
        MAX_AGE,
        0,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!((got.key_index, got.session.clone()), (1, s.clone()));
    // re-signed with the current key it verifies as index 0
    let resigned = flask::sign(&got.session, rotated.current(), NOW);
    let again = flask::verify(
        resigned.as_bytes(),
        &rotated,
        NOW,
        MAX_AGE,
        0,
        &Limits::default(),
    );
    assert_eq!(again.unwrap().key_index, 0);
    // once the fallback is gone, the old cookie is dead
    let err = flask::verify(
        cookie.as_bytes(),
        &KeyRing::new(current),
        NOW,
        MAX_AGE,
        0,
        &Limits::default(),
    );
    assert_eq!(err.unwrap_err(), DecodeError::BadSignature);
}

#[test]
fn d1_zlib_bomb_stops_at_the_cap() {
    let mut raw = b"{\"a\":\"".to_vec();
    raw.resize(2 << 20, b'a');
    raw.extend_from_slice(b"\"}");
    let payload = compressed_payload(&raw);
    let cookie = oracle(&payload, SIGNED_AT);
    assert!(cookie.len() <= 4096, "bomb fits a cookie: {}", cookie.len());
    let started = Instant::now();
    let err = verify(cookie.as_bytes()).unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(err, DecodeError::Payload(m) if m.contains("limit")),
        "{err:?}"
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
    // with a cap above 2 MiB the same cookie decodes, so the cap was the reason
    let mut roomy = Limits::default();
    roomy.max_inflated = 3 << 20;
    assert!(flask::verify(cookie.as_bytes(), &ring(), NOW, MAX_AGE, 0, &roomy).is_ok());
}

fn nested(depth: usize) -> String {
    // the session object is level 1, then depth - 1 arrays
    format!(
        "{{\"a\":{}0{}}}",
        "[".repeat(depth - 1),
        "]".repeat(depth - 1)
    )
}

#[test]
fn depth_128_passes_and_129_is_rejected() {
    let limits = Limits::default();
    assert!(flask::from_tagged_json(nested(128).as_bytes(), &limits).is_ok());
    let err = flask::from_tagged_json(nested(129).as_bytes(), &limits).unwrap_err();
    assert!(matches!(err, DecodeError::Payload(_)));
    for (depth, ok) in [(128, true), (129, false)] {
        let cookie = oracle(&compressed_payload(nested(depth).as_bytes()), SIGNED_AT);
        assert_eq!(verify(cookie.as_bytes()).is_ok(), ok, "{depth}");
    }
    // tags count as levels too: 128 nested tuples inside the session are too deep
    let tuples = format!("{{\"a\":{}0{}}}", "{\" t\":[".repeat(64), "]}".repeat(64));
    assert!(flask::from_tagged_json(tuples.as_bytes(), &limits).is_err());
}

#[test]
fn nesting_100k_deep_fails_without_overflowing_the_stack() {
    let arrays = "[".repeat(100_000);
    let objects = "{\"a\":".repeat(100_000);
    let tuples = "{\" t\":[".repeat(100_000);
    let limits = Limits::default();
    for doc in [&arrays, &objects, &tuples] {
        assert!(flask::from_tagged_json(doc.as_bytes(), &limits).is_err());
        let cookie = oracle(&compressed_payload(doc.as_bytes()), SIGNED_AT);
        assert!(cookie.len() < 4096);
        assert!(matches!(
            verify(cookie.as_bytes()),
            Err(DecodeError::Payload(_))
        ));
    }
}

#[test]
fn b6_dots_inside_a_validly_signed_payload_are_rejected() {
    for payload in [
        "eyJh.IjoxfQ",
        "..eJyrVkpUsjKsBQAIKgIJ",
        ".eJyr.VkpUsjKsBQAIKgIJ",
    ] {
        let cookie = oracle(payload, SIGNED_AT);
        assert!(
            matches!(verify(cookie.as_bytes()), Err(DecodeError::Malformed(_))),
            "{payload}"
        );
    }
}

#[test]
fn errors_never_show_the_cookie() {
    let cookie = oracle(
        &URL_SAFE_NO_PAD.encode(b"{\"secret_token\":\"hunter2\"} junk"),
        SIGNED_AT,
    );
    let err = verify(cookie.as_bytes()).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains(&cookie[..20]),
        "{shown}"
    );
}

#[test]
fn e4_e16_large_documents_decode_in_linear_time() {
    let mut limits = Limits::default();
    limits.max_inflated = 4 << 20;
    let long = format!("{{\"s\":\"{}\"}}", "x".repeat(200 * 1024));
    let keys: Vec<String> = (0..20_000).map(|i| format!("\"k{i}\":{i}")).collect();
    let many = format!("{{{}}}", keys.join(","));
    for (what, doc) in [("200 KiB string", long), ("20k keys", many)] {
        let started = Instant::now();
        let session = flask::from_tagged_json(doc.as_bytes(), &limits).expect(what);
        assert!(!session.is_empty());
        // through a cookie as well (compressed, signed by the oracle)
        let cookie = oracle(&compressed_payload(doc.as_bytes()), SIGNED_AT);
        let mut roomy = limits;
        roomy.max_cookie_len = cookie.len();
        let got = flask::verify(cookie.as_bytes(), &ring(), NOW, MAX_AGE, 0, &roomy);
        assert_eq!(got.expect(what).session, session);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "{what}: {took:?}");
    }
}
