//! Flask's session cookie format, byte for byte.
//!
//! A cookie is `[.]payload.timestamp.signature`: the session as Flask's tagged JSON
//! (compact, sorted keys, ASCII only, Python's float `repr`), zlib-compressed when that
//! saves at least two bytes (the leading `.` marks it), base64url without padding, then
//! signed by itsdangerous' timestamp signer with HMAC-SHA1 under the key derived from the
//! secret with the salt `cookie-session`. For the same session, key and time, [`sign`]
//! writes exactly the string Flask writes (checked against every Flask-written test
//! vector).
//!
//! [`verify`] checks, in order: the length cap, the signature (constant time, current key
//! then fallbacks), the timestamp and age, and only then decodes the payload. It reads
//! everything Flask writes and everything Python's JSON reader accepts from other
//! writers (whitespace, raw UTF-8, unsorted or duplicate keys, `NaN`, big integers, any
//! zlib level), with these deliberate differences:
//!
//! | Flask | flagon |
//! |-------|--------|
//! | lenient base64 (junk, `=`, `+/`, stray bits) | canonical base64url only |
//! | ignores bytes after the zlib stream | rejects them |
//! | inflates without limit | stops at [`Limits::max_inflated`] |
//! | nesting limited by Python's recursion | [`Limits::max_depth`] (128) |
//! | HTTP 500 on an undecodable signed payload | [`DecodeError::Payload`] |
//! | top level may be `null` or a list of pairs | must be an object |
//! | empty timestamp segment means time 0 | malformed |
//! | lone surrogate escapes are strings | rejected |
//! | a future timestamp is expired | same, unless within `clock_skew` |
//!
//! Every failure is a [`DecodeError`], never a panic.

pub(crate) mod base64;
pub(crate) mod date;
pub(crate) mod json;
pub(crate) mod json_write;
pub(crate) mod signer;
pub(crate) mod tagged;
pub(crate) mod zlib;

use crate::key::{Key, KeyRing};
use crate::value::Map;

pub use signer::DecodeError;

/// Caps applied while decoding a cookie, before any work grows with the input.
///
/// Start from the defaults and change what you need:
///
/// ```
/// let mut limits = flagon::flask::Limits::default();
/// limits.max_inflated = 64 * 1024;
/// assert_eq!(limits.max_depth, 128);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest cookie value looked at, in bytes (default 4096); longer ones are rejected
    /// after a length check alone.
    pub max_cookie_len: usize,
    /// Most bytes a compressed payload may inflate to (default 256 KiB).
    pub max_inflated: usize,
    /// Deepest nesting of JSON arrays and objects (default 128).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_cookie_len: 4096,
            max_inflated: 256 * 1024,
            max_depth: 128,
        }
    }
}

/// What a verified cookie held.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Verified {
    /// The session data.
    pub session: Map,
    /// When it was signed, in Unix seconds.
    pub timestamp: u64,
    /// Which key verified it: 0 is the current key, 1 the newest fallback, and so on.
    pub key_index: usize,
}

/// Encodes and signs `session` as Flask does, at Unix time `timestamp`.
///
/// ```
/// use flagon::{flask, Key, Map, Value};
/// let key = Key::new("correct horse battery staple")?;
/// let mut session = Map::new();
/// session.insert("logged_in".into(), Value::Bool(true));
/// assert_eq!(
///     flask::sign(&session, &key, 1_700_000_000),
///     "eyJsb2dnZWRfaW4iOnRydWV9.ZVPxAA.njuUsaCugTIOn_G8r5TAhwpI-Yw",
/// );
/// # Ok::<(), flagon::ConfigError>(())
/// ```
pub fn sign(session: &Map, key: &Key, timestamp: u64) -> String {
    let mut out = String::new();
    sign_into(session, key, timestamp, &mut out);
    out
}

/// [`sign`], appended to `out`: the layer writes the cookie straight into its
/// `Set-Cookie` value.
pub(crate) fn sign_into(session: &Map, key: &Key, timestamp: u64, out: &mut String) {
    let start = out.len();
    tagged::with_json(session, |json| {
        out.reserve((json.len() * 4).div_ceil(3) + 1 + signer::SIGNATURE_ROOM);
        zlib::payload_segment_into(json.as_bytes(), out);
    });
    let purpose = crate::key::Purpose::FlaskCookie;
    signer::append_signature(key, purpose, out, start, timestamp);
}

/// Verifies a cookie value with `keys` and decodes it.
///
/// `now` is the current Unix time; a cookie older than `max_age` seconds, or signed more
/// than `clock_skew` seconds in the future, is expired (Flask: `age > max_age` or
/// `age < 0`). The payload is only touched after the signature and age check out.
///
/// # Errors
/// A [`DecodeError`] naming why the cookie is not a session. Its `Display` never contains
/// the cookie or the key.
pub fn verify(
    value: &[u8],
    keys: &KeyRing,
    now: u64,
    max_age: u64,
    clock_skew: u64,
    limits: &Limits,
) -> Result<Verified, DecodeError> {
    let expiry = signer::Expiry {
        now,
        max_age,
        clock_skew,
    };
    let verified = signer::unsign(
        value,
        keys,
        crate::key::Purpose::FlaskCookie,
        expiry,
        limits.max_cookie_len,
    )
    .and_then(|unsigned| {
        Ok(Verified {
            session: decode_payload(unsigned.payload, limits)?,
            timestamp: unsigned.timestamp,
            key_index: unsigned.key_index,
        })
    });
    if let Err(error) = &verified {
        // The error's text never holds the cookie or a key.
        tracing::debug!(%error, "flask session cookie rejected");
    }
    verified
}

/// Decodes a cookie's payload and timestamp **without checking the signature**.
///
/// For debugging only (`flagon decode --unverified`): anyone can forge what this returns.
///
/// # Errors
/// A [`DecodeError`] when the value is not shaped like a Flask cookie or the payload does
/// not decode.
pub fn insecure_decode_unverified(
    value: &[u8],
    limits: &Limits,
) -> Result<(Map, u64), DecodeError> {
    let (payload, timestamp) = signer::split_unverified(value, limits.max_cookie_len)?;
    Ok((decode_payload(payload, limits)?, timestamp))
}

/// The session as Flask's tagged JSON text (sorted keys, ASCII only, compact).
pub fn to_tagged_json(session: &Map) -> String {
    tagged::to_json(session)
}

/// Parses Flask's tagged JSON text into a session; the top level must be an object.
///
/// # Errors
/// [`DecodeError::Payload`] when the text is not valid tagged JSON within `limits`.
pub fn from_tagged_json(text: &[u8], limits: &Limits) -> Result<Map, DecodeError> {
    tagged::from_json(text, limits.max_depth)
}

/// Payload segment (with its optional leading compression dot) → session.
fn decode_payload(payload: &[u8], limits: &Limits) -> Result<Map, DecodeError> {
    zlib::with_payload_json(payload, limits.max_inflated, |json| {
        tagged::from_json(json, limits.max_depth)
    })
}

/// A fixed-seed xorshift generator for the codec's randomised unit tests: the same inputs
/// on every run, no dependency.
#[cfg(test)]
pub(crate) struct XorShift(u64);

#[cfg(test)]
impl XorShift {
    pub(crate) fn new(seed: u64) -> XorShift {
        XorShift(seed)
    }

    /// The next number, reduced modulo `m`.
    pub(crate) fn below(&mut self, m: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    fn session() -> Map {
        let mut s = Map::new();
        s.insert("logged_in".into(), Value::Bool(true));
        s
    }

    #[test]
    fn unverified_decoding_ignores_the_signature_only() {
        let key = Key::new("a key nobody else has").unwrap();
        let cookie = sign(&session(), &key, 1_700_000_000);
        let limits = Limits::default();
        let (got, ts) = insecure_decode_unverified(cookie.as_bytes(), &limits).unwrap();
        assert_eq!((got, ts), (session(), 1_700_000_000));
        let other = KeyRing::new(Key::new("another key").unwrap());
        let err = verify(cookie.as_bytes(), &other, 1_700_000_000, 60, 0, &limits);
        assert_eq!(err.unwrap_err(), DecodeError::BadSignature);
        for bad in ["", "hello", "e30..sig", "!!!.ZVPxAA.sig", "e30.ZVPxAA"] {
            assert!(
                insecure_decode_unverified(bad.as_bytes(), &limits).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn verify_reports_key_index_and_timestamp() {
        let old = Key::new("old").unwrap();
        let ring = KeyRing::new(Key::new("new").unwrap()).with_fallback(old.clone());
        let cookie = sign(&session(), &old, 1_000);
        let got = verify(cookie.as_bytes(), &ring, 1_010, 60, 0, &Limits::default()).unwrap();
        assert_eq!(
            (got.session, got.timestamp, got.key_index),
            (session(), 1_000, 1)
        );
    }

    #[test]
    fn tagged_json_helpers_round_trip() {
        let text = to_tagged_json(&session());
        assert_eq!(text, r#"{"logged_in":true}"#);
        let limits = Limits::default();
        assert_eq!(
            from_tagged_json(text.as_bytes(), &limits).unwrap(),
            session()
        );
        assert!(from_tagged_json(b"[]", &limits).is_err());
    }
}
