//! F-ID: session id cookies (`payload.timestamp.signature` over the base64url of a
//! 24-byte id, salt `flagon.session-id`) and the store key derived from the id.
//!
//! The key holder's side is modelled here without flagon (HMAC-SHA1 under
//! HMAC-SHA1(secret, "flagon.session-id"), SHA-256 for the store key).
//!
//! Oracle, on any bytes as an id cookie: no panic; an id only from a value the model
//! says a key holder signed, whose payload is the canonical base64url of exactly 24
//! bytes, and its store key is SHA-256 of those bytes, in lower-case hex of 64
//! characters. On a generated id and time: the cookie is byte for byte the model's,
//! verifies to the same store key (flagged "fallback" exactly when a fallback key
//! signed it), is refused after any one-byte change, and is never a Flask session.

use std::sync::OnceLock;

use flagon::flask::{self, Limits};
use flagon::fuzz_hooks::{sign_id_cookie, verify_id_cookie};
use flagon::{Key, KeyRing};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The test secret.
pub const ID_SECRET: &str = "id cookie fuzz secret";
const OTHER_SECRET: &str = "a newer id cookie secret";
/// The fixed clock of the checks.
pub const ID_NOW: u64 = 1_700_000_100;

type HmacSha1 = Hmac<Sha1>;

fn id_mac() -> &'static HmacSha1 {
    static MAC: OnceLock<HmacSha1> = OnceLock::new();
    MAC.get_or_init(|| {
        let mut outer = HmacSha1::new_from_slice(ID_SECRET.as_bytes()).expect("any length");
        outer.update(b"flagon.session-id");
        HmacSha1::new_from_slice(&outer.finalize().into_bytes()).expect("any length")
    })
}

fn key() -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| Key::new(ID_SECRET).expect("not empty"))
}

/// The ring of the checks: the test key is current.
fn ring() -> &'static KeyRing {
    static RING: OnceLock<KeyRing> = OnceLock::new();
    RING.get_or_init(|| KeyRing::new(key().clone()))
}

/// A ring where the test key is only a fallback.
fn rotated() -> &'static KeyRing {
    static RING: OnceLock<KeyRing> = OnceLock::new();
    RING.get_or_init(|| {
        KeyRing::new(Key::new(OTHER_SECRET).expect("not empty")).with_fallback(key().clone())
    })
}

/// base64url without padding (the model's own).
pub fn b64url(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// The id cookie a key holder writes for `raw` at `timestamp`.
pub fn model_id_cookie(raw: &[u8; 24], timestamp: u64) -> String {
    model_sign_payload(&b64url(raw), timestamp)
}

/// Any payload segment signed by a key holder as an id cookie at `timestamp`.
pub fn model_sign_payload(payload: &str, timestamp: u64) -> String {
    let be = timestamp.to_be_bytes();
    let first = be.iter().position(|&b| b != 0).unwrap_or(be.len());
    let signed = format!("{payload}.{}", b64url(&be[first..]));
    let mut mac = id_mac().clone();
    mac.update(signed.as_bytes());
    format!("{signed}.{}", b64url(&mac.finalize().into_bytes()))
}

/// Did a key holder sign this value?
fn genuine(value: &[u8]) -> bool {
    let Some(dot) = value.iter().rposition(|&b| b == b'.') else {
        return false;
    };
    let mut mac = id_mac().clone();
    mac.update(&value[..dot]);
    value[dot + 1..] == *b64url(&mac.finalize().into_bytes()).as_bytes()
}

/// The payload segment (before the timestamp) as canonical base64url of 24 bytes.
fn payload_id(value: &[u8]) -> Option<[u8; 24]> {
    let text = std::str::from_utf8(value).ok()?;
    let payload = text.split('.').next()?;
    if payload.len() != 32 {
        return None;
    }
    decode32(payload)
}

/// 32 base64url characters → 24 bytes (24 is a multiple of 3: no partial group).
fn decode32(text: &str) -> Option<[u8; 24]> {
    let value = |c: u8| -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        }))
    };
    let mut out = [0u8; 24];
    for (group, chunk) in text.as_bytes().chunks(4).enumerate() {
        let n = chunk
            .iter()
            .try_fold(0u32, |acc, &c| Some(acc << 6 | value(c)?))?;
        out[group * 3..group * 3 + 3].copy_from_slice(&n.to_be_bytes()[1..]);
    }
    Some(out)
}

fn store_hex(raw: &[u8; 24]) -> String {
    Sha256::digest(raw)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Any bytes as an id cookie value.
pub fn check_id_raw(value: &[u8]) {
    let got = verify_id_cookie(value, ring(), ID_NOW, 0, 4096);
    let Ok((store_key, fallback)) = got else {
        return;
    };
    assert!(
        genuine(value),
        "an id verified without a key holder's signature"
    );
    assert!(!fallback, "the current key is not a fallback");
    let raw = payload_id(value).expect("a verified id is 32 base64url characters");
    let hex = store_key.to_hex();
    assert_eq!(hex, store_hex(&raw), "store key is not SHA-256 of the id");
    assert!(
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
}

/// A generated id and time: the round trip, one-byte changes, and no crossing over to
/// Flask cookies.
pub fn check_id_roundtrip(data: &[u8]) {
    let mut raw = [0u8; 24];
    let n = data.len().min(24);
    raw[..n].copy_from_slice(&data[..n]);
    let mut be = [0u8; 8];
    let m = data.len().saturating_sub(24).min(8);
    be[..m].copy_from_slice(data.get(24..24 + m).unwrap_or_default());
    let timestamp = 1 + u64::from_be_bytes(be) % ID_NOW;
    let cookie = sign_id_cookie(raw, key(), timestamp);
    assert_eq!(
        cookie,
        model_id_cookie(&raw, timestamp),
        "id cookie differs from the model"
    );
    let want = store_hex(&raw);
    for (keys, fallback) in [(ring(), false), (rotated(), true)] {
        match verify_id_cookie(cookie.as_bytes(), keys, ID_NOW, 0, 4096) {
            Ok((store_key, f)) => {
                assert_eq!(store_key.to_hex(), want);
                assert_eq!(f, fallback, "fallback flag");
            }
            Err(e) => panic!("flagon refuses its own id cookie: {e}"),
        }
    }
    let tail = data.get(32..).unwrap_or_default();
    if let [at, xor, ..] = tail {
        let mut changed = cookie.clone().into_bytes();
        let i = usize::from(*at) % changed.len();
        changed[i] ^= (*xor).max(1);
        let got = verify_id_cookie(&changed, ring(), ID_NOW, 0, 4096);
        assert!(
            got.is_err(),
            "a changed id cookie verified: {:?}",
            String::from_utf8_lossy(&changed)
        );
    }
    let as_flask = flask::verify(
        cookie.as_bytes(),
        ring(),
        ID_NOW,
        u64::MAX,
        0,
        &Limits::default(),
    );
    assert!(
        as_flask.is_err(),
        "an id cookie verified as a Flask session"
    );
}

/// F-ID: byte 0 picks raw bytes or the generated round trip.
pub fn check_id(data: &[u8]) {
    let rest = data.get(1..).unwrap_or_default();
    if data.first().copied().unwrap_or(0) & 1 == 0 {
        check_id_raw(rest);
    } else {
        check_id_roundtrip(rest);
    }
}
