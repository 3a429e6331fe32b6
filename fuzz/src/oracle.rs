//! The oracles behind flagon's fuzz targets, shared with `tests/it/fuzz_regressions.rs`.
//!
//! Each `check_*` function takes what a fuzz target is handed, builds flagon's input from
//! it exactly as the target does, runs flagon and panics when the oracle does not hold.
//! The regression tests include this file by path, so a stored input replays as a plain
//! `#[test]` on stable Rust, without cargo-fuzz or libFuzzer.
//!
//! The signing model (`model.rs`) is independent of flagon.

use std::sync::OnceLock;

use flagon::flask::{self, DecodeError, Limits};
use flagon::{Key, KeyRing, Map, Value};

// Loaded by path so `tests/it/fuzz_regressions.rs` can include this file as it is.
#[path = "model.rs"]
mod model;
use model::{b64url, genuine, model_sign, zlib_stored};
pub use model::{MAX_AGE, NOW, SECRET};

fn ring() -> &'static KeyRing {
    static RING: OnceLock<KeyRing> = OnceLock::new();
    RING.get_or_init(|| KeyRing::new(key().clone()))
}

fn key() -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| Key::new(SECRET).expect("the test secret is not empty"))
}

/// Equality that treats every NaN as equal to every NaN and tells `-0.0` from `0.0`.
pub fn value_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => {
            (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
        }
        (Value::List(x), Value::List(y)) | (Value::Tuple(x), Value::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| value_eq(p, q))
        }
        (Value::Dict(x), Value::Dict(y)) => map_eq(x, y),
        _ => a == b,
    }
}

/// [`value_eq`] over whole maps.
pub fn map_eq(a: &Map, b: &Map) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((ka, va), (kb, vb))| ka == kb && value_eq(va, vb))
}

/// Nesting of lists, tuples and dicts (the top-level map counts as one).
pub fn depth(value: &Value) -> usize {
    match value {
        Value::List(items) | Value::Tuple(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Dict(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// One per value plus the bytes it holds: never more than the JSON text it came from.
pub fn weight(value: &Value) -> usize {
    let own = match value {
        Value::Str(s) | Value::Markup(s) => s.len(),
        Value::Bytes(b) => b.len(),
        Value::BigInt(b) => b.as_str().len(),
        Value::List(items) | Value::Tuple(items) => items.iter().map(weight).sum(),
        Value::Dict(map) => map.iter().map(|(k, v)| k.len() + weight(v)).sum(),
        _ => 0,
    };
    1 + own
}

/// A decoded session respects the caps it was decoded under.
fn assert_bounded(session: &Map, json_len_bound: usize, limits: &Limits) {
    let top = Value::Dict(session.clone());
    assert!(
        depth(&top) <= limits.max_depth,
        "decoded depth {} is over the cap {}",
        depth(&top),
        limits.max_depth
    );
    assert!(
        weight(&top) <= json_len_bound,
        "decoded session weighs {} but its JSON had at most {json_len_bound} bytes",
        weight(&top)
    );
}

/// Limits large enough that re-encoding a decoded session never hits them.
fn roomy() -> Limits {
    let mut limits = Limits::default();
    limits.max_cookie_len = 1 << 24;
    limits.max_inflated = 1 << 24;
    limits
}

/// Re-signing an accepted session with `flask::sign` verifies to the same map.
fn assert_resigns(session: &Map, timestamp: u64) {
    let cookie = flask::sign(session, key(), timestamp);
    match flask::verify(cookie.as_bytes(), ring(), NOW, MAX_AGE, 0, &roomy()) {
        Ok(again) => {
            assert!(map_eq(&again.session, session), "re-signed session changed");
            assert_eq!(again.timestamp, timestamp, "re-signed timestamp changed");
        }
        Err(e) => panic!("flagon rejects its own re-signed cookie: {e}"),
    }
}

/// Verified and unverified decoding agree on an accepted value.
fn assert_unverified_agrees(value: &[u8], limits: &Limits, session: &Map, timestamp: u64) {
    match flask::insecure_decode_unverified(value, limits) {
        Ok((map, ts)) => {
            assert!(map_eq(&map, session), "unverified decode differs");
            assert_eq!(ts, timestamp, "unverified timestamp differs");
        }
        Err(e) => panic!("verified value fails unverified decoding: {e}"),
    }
}

/// F-DEC-RAW: `data` is a cookie value; the test key verifies it.
///
/// Oracle: no panic; anything past the signature check (accept, age, timestamp or
/// payload errors) only for values the model says a key holder signed; a genuine
/// signature is never called bad; an accepted session is bounded, decodes the same
/// unverified, and survives re-signing.
pub fn check_raw(data: &[u8]) {
    let limits = Limits::default();
    let verified = flask::verify(data, ring(), NOW, MAX_AGE, 0, &limits);
    let unverified = flask::insecure_decode_unverified(data, &limits);
    let short = data.len() <= limits.max_cookie_len;
    let genuine = short && genuine(data);
    match &verified {
        Err(DecodeError::TooLong { .. }) => assert!(!short, "TooLong for a short value"),
        Err(DecodeError::BadSignature) => assert!(!genuine, "genuine signature called bad"),
        Err(DecodeError::Malformed(_)) => {}
        other => assert!(
            genuine,
            "got past the MAC without a genuine signature: {other:?}"
        ),
    }
    let aged = matches!(
        verified,
        Err(DecodeError::Expired { .. } | DecodeError::FromTheFuture { .. })
    );
    if genuine && !aged {
        assert_eq!(verified.is_ok(), unverified.is_ok(), "{verified:?}");
    }
    if let Ok(v) = verified {
        assert_bounded(&v.session, limits.max_inflated.max(data.len()), &limits);
        assert_unverified_agrees(data, &limits, &v.session, v.timestamp);
        assert_resigns(&v.session, v.timestamp);
    }
}

/// How `check_signed` turns the body into a payload segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The body is the payload segment, byte for byte.
    Verbatim,
    /// The body is JSON text, base64url-encoded.
    Json,
    /// The body is JSON text, in a zlib stream, behind the compression dot.
    JsonZlib,
    /// The body is a zlib stream of the fuzzer's making, behind the compression dot.
    ZlibStream,
}

/// One signing-oracle case, decoded from fuzzer bytes.
#[derive(Clone, Debug)]
pub struct SignedCase {
    /// How the body became the payload segment.
    pub mode: Mode,
    /// The signing time.
    pub timestamp: u64,
    /// The fuzzer's body bytes.
    pub body: Vec<u8>,
    /// The signed cookie value.
    pub cookie: Vec<u8>,
}

/// Byte 0: mode (bits 0–1) and "any timestamp" (bit 2); bytes 1..9: timestamp
/// (big-endian; without bit 2 it is taken as an age within `MAX_AGE`); the rest: body.
pub fn signed_case(data: &[u8]) -> SignedCase {
    let flags = data.first().copied().unwrap_or(0);
    let rest = data.get(1..).unwrap_or_default();
    let mut ts = [0u8; 8];
    let ts_len = rest.len().min(8);
    ts[..ts_len].copy_from_slice(&rest[..ts_len]);
    let raw_ts = u64::from_be_bytes(ts);
    let timestamp = if flags & 4 != 0 {
        raw_ts
    } else {
        NOW - raw_ts % (MAX_AGE + 1)
    };
    let body = data.get(9..).unwrap_or_default().to_vec();
    let (mode, payload) = match flags & 3 {
        0 => (Mode::Verbatim, body.clone()),
        1 => (Mode::Json, b64url(&body).into_bytes()),
        2 => (Mode::JsonZlib, dotted(&zlib_stored(&body))),
        _ => (Mode::ZlibStream, dotted(&body)),
    };
    let cookie = model_sign(&payload, timestamp);
    SignedCase {
        mode,
        timestamp,
        body,
        cookie,
    }
}

fn dotted(packed: &[u8]) -> Vec<u8> {
    format!(".{}", b64url(packed)).into_bytes()
}

/// The caps of the signing oracle: small enough that bombs and deep nesting hit them.
pub fn signed_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_cookie_len = 1 << 16;
    limits.max_inflated = 4096;
    limits.max_depth = 64;
    limits
}

/// F-DEC-SIGNED: fuzzer bytes become a genuinely signed cookie (see [`signed_case`]).
///
/// Oracle: no panic; never `BadSignature`; timestamp and age errors exactly as the
/// arithmetic says; JSON bodies decode exactly as `from_tagged_json` decodes them (and
/// over the inflate cap only as a payload error); an accepted session is bounded,
/// decodes the same unverified, and survives re-signing.
pub fn check_signed(data: &[u8]) {
    let case = signed_case(data);
    let limits = signed_limits();
    let got = flask::verify(&case.cookie, ring(), NOW, MAX_AGE, 0, &limits);
    if case.cookie.len() > limits.max_cookie_len {
        assert!(matches!(got, Err(DecodeError::TooLong { .. })), "{got:?}");
        return;
    }
    let ts = case.timestamp;
    let expect_ts_error = match ts {
        0 => Some("MalformedTimestamp"),
        _ if ts > NOW => Some("FromTheFuture"),
        _ if NOW - ts > MAX_AGE => Some("Expired"),
        _ => None,
    };
    let ts_error = match &got {
        Err(DecodeError::MalformedTimestamp) => Some("MalformedTimestamp"),
        Err(DecodeError::FromTheFuture { .. }) => Some("FromTheFuture"),
        Err(DecodeError::Expired { .. }) => Some("Expired"),
        Err(DecodeError::BadSignature) => panic!("model-signed cookie called bad"),
        _ => None,
    };
    assert_eq!(ts_error, expect_ts_error, "{got:?} for timestamp {ts}");
    if ts_error.is_some() {
        return;
    }
    check_signed_payload(&case, &got, &limits);
    if let Ok(v) = got {
        assert_bounded(
            &v.session,
            limits.max_inflated.max(case.cookie.len()),
            &limits,
        );
        assert_unverified_agrees(&case.cookie, &limits, &v.session, v.timestamp);
        assert_resigns(&v.session, v.timestamp);
    }
}

/// The payload part of [`check_signed`]'s oracle, per mode.
fn check_signed_payload(
    case: &SignedCase,
    got: &Result<flask::Verified, DecodeError>,
    limits: &Limits,
) {
    if case.mode != Mode::Verbatim {
        assert!(!matches!(got, Err(DecodeError::Malformed(_))), "{got:?}");
    }
    let json_mode = matches!(case.mode, Mode::Json | Mode::JsonZlib);
    if case.mode == Mode::JsonZlib && case.body.len() > limits.max_inflated {
        assert!(matches!(got, Err(DecodeError::Payload(_))), "{got:?}");
    } else if json_mode {
        let direct = flask::from_tagged_json(&case.body, limits);
        match (got, &direct) {
            (Ok(v), Ok(map)) => assert!(map_eq(&v.session, map), "cookie and JSON differ"),
            (Err(DecodeError::Payload(_)), Err(_)) => {}
            _ => panic!("cookie gave {got:?}, its JSON alone {direct:?}"),
        }
    }
}

/// F-TAG-RT: `to_tagged_json` then `from_tagged_json` gives the session back.
///
/// The one documented loss: datetimes are written to the second, in UTC. `session`
/// must hold no datetime before year 100 (UTC), no integer of more than 4300 digits
/// and nest at most 64 deep, as the fuzz target's generator guarantees.
pub fn check_tagged_roundtrip(session: &Map) {
    let text = flask::to_tagged_json(session);
    assert!(text.is_ascii(), "tagged JSON is not ASCII");
    match flask::from_tagged_json(text.as_bytes(), &roomy()) {
        Ok(back) => {
            let want = truncate_datetimes(session);
            assert!(
                map_eq(&back, &want),
                "round trip changed the session: {text}"
            );
            assert_eq!(
                flask::to_tagged_json(&back),
                text,
                "second encoding differs"
            );
        }
        Err(e) => panic!("flagon cannot read its own tagged JSON ({e}): {text}"),
    }
}

/// The session with every datetime cut to whole seconds (the writer's documented loss).
pub fn truncate_datetimes(session: &Map) -> Map {
    session
        .iter()
        .map(|(k, v)| (k.clone(), truncate_value(v)))
        .collect()
}

fn truncate_value(value: &Value) -> Value {
    match value {
        Value::DateTime(dt) => Value::DateTime(dt.replace_nanosecond(0).unwrap_or(*dt)),
        Value::List(items) => Value::List(items.iter().map(truncate_value).collect()),
        Value::Tuple(items) => Value::Tuple(items.iter().map(truncate_value).collect()),
        Value::Dict(map) => Value::Dict(truncate_datetimes(map)),
        other => other.clone(),
    }
}

/// Payload JSON and F-STORE-REC: `data` as tagged JSON text, and as the stored record
/// of one value (stores keep `{"v":<value>}` minus the wrapper).
///
/// Oracle: no panic; an accepted session is bounded by the text and re-encodes to text
/// that reads back to the same session.
pub fn check_json(data: &[u8]) {
    check_json_text(data);
    let mut record = b"{\"v\":".to_vec();
    record.extend_from_slice(data);
    record.push(b'}');
    check_json_text(&record);
}

fn check_json_text(text: &[u8]) {
    let limits = Limits::default();
    let Ok(session) = flask::from_tagged_json(text, &limits) else {
        return;
    };
    assert_bounded(&session, text.len(), &limits);
    let again = flask::to_tagged_json(&session);
    match flask::from_tagged_json(again.as_bytes(), &limits) {
        Ok(back) => assert!(
            map_eq(&back, &session),
            "re-encoded session differs: {again}"
        ),
        Err(e) => panic!("re-encoded session does not read back ({e}): {again}"),
    }
}

/// F-DEC-SEALED: the sealed-cookie decoder (`flagon::sealed::open`).
///
/// Byte 0, bit 0 clear: the rest is the cookie value verbatim. Nobody without the key can
/// seal, so it must never open; `TooLong` exactly over 4096 bytes, and nothing but
/// `TooLong`, `Malformed` and `BadSeal` can come back before the tag is checked.
///
/// Bit 0 set: byte 1 picks a position, the rest is tagged JSON. When it parses, it is
/// sealed with the test key at `NOW`, must open to the same session (at `NOW`, with the
/// issue time back), must not open under another cookie name, and with the byte at the
/// picked position of the decoded value flipped must not open at all.
pub fn check_sealed(data: &[u8]) {
    let limits = Limits::default();
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let open = |value: &[u8], name: &str| {
        flagon::sealed::open(value, ring(), name, NOW, MAX_AGE, 0, &limits)
    };
    if flags & 1 == 0 {
        let got = open(rest, "session");
        assert_eq!(
            matches!(got, Err(DecodeError::TooLong { .. })),
            rest.len() > limits.max_cookie_len,
            "{got:?}"
        );
        assert!(
            matches!(
                got,
                Err(DecodeError::TooLong { .. } | DecodeError::Malformed(_) | DecodeError::BadSeal)
            ),
            "forged sealed cookie got {got:?}"
        );
        return;
    }
    let Some((&position, json)) = rest.split_first() else {
        return;
    };
    let Ok(session) = flask::from_tagged_json(json, &limits) else {
        return;
    };
    let cookie = flagon::sealed::seal(&session, key(), "session", NOW);
    let roomy_limits = roomy();
    let opened = flagon::sealed::open(
        cookie.as_bytes(),
        ring(),
        "session",
        NOW,
        MAX_AGE,
        0,
        &roomy_limits,
    )
    .expect("a cookie sealed with the key opens");
    assert!(
        map_eq(&opened.session, &session),
        "sealed round trip differs"
    );
    assert_eq!((opened.timestamp, opened.key_index), (NOW, 0));
    assert!(
        flagon::sealed::open(
            cookie.as_bytes(),
            ring(),
            "other",
            NOW,
            MAX_AGE,
            0,
            &roomy_limits
        )
        .is_err(),
        "opened under another cookie name"
    );
    let mut raw = base64_url_decode(&cookie);
    let at = usize::from(position) % raw.len();
    raw[at] ^= 0x01;
    let tampered = b64url(&raw);
    let got = flagon::sealed::open(
        tampered.as_bytes(),
        ring(),
        "session",
        NOW,
        MAX_AGE,
        0,
        &roomy_limits,
    );
    assert!(
        matches!(got, Err(DecodeError::BadSeal | DecodeError::Malformed(_))),
        "byte {at} flipped: {got:?}"
    );
}

/// Decodes the base64url (no padding) that [`b64url`] writes.
fn base64_url_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes() {
        let v = ALPHABET
            .iter()
            .position(|&a| a == c)
            .expect("base64url text") as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
