//! itsdangerous' `TimestampSigner`: `payload.timestamp.signature`.
//!
//! The timestamp is the signing time in whole Unix seconds, big-endian with its leading
//! zero bytes removed (0 is the empty string), in base64url. The signature is HMAC-SHA1
//! over everything before the last dot, compression dot included, under the key derived
//! for the purpose (see `key.rs`).
//!
//! Verification order, each step only when the one before succeeded:
//! 1. length cap (nothing else is looked at for a longer value);
//! 2. split at the last `.`; the signature must be canonical base64url of 20 bytes;
//! 3. HMAC check against every key of the ring, in constant time;
//! 4. split the signed text at its last `.`; the timestamp must be non-empty canonical
//!    base64url of at most 8 bytes (SECURITY C5 rejects the empty segment Flask would
//!    read as time 0);
//! 5. age: older than `max_age` is expired (`age == max_age` passes), newer than `now`
//!    by more than `clock_skew` is from the future; all arithmetic is checked;
//! 6. the payload may hold one leading compression dot and no other (SECURITY B6).
//!
//! The payload is not decoded here.

use super::base64;
use crate::key::{Key, KeyRing, Purpose};

/// Why a cookie is not a valid session. `Display` never includes the cookie or a key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The value is longer than the configured cap; nothing else was looked at.
    #[error("cookie value is {len} bytes, over the {max}-byte limit: raise `Limits::max_cookie_len` only if your sessions are really that large")]
    TooLong {
        /// Length of the value.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The value is not `payload.timestamp.signature` in canonical base64url.
    #[error("malformed cookie: {0}; Flask and flagon never write such a value")]
    Malformed(&'static str),
    /// No key in the ring produced this signature.
    #[error("bad signature: it matches none of the configured keys (a wrong key, or the cookie was tampered with)")]
    BadSignature,
    /// The timestamp segment does not decode to an integer of at most 8 bytes.
    #[error("malformed timestamp: the signed timestamp segment is empty or longer than 8 bytes")]
    MalformedTimestamp,
    /// Signed longer ago than the maximum age allows.
    #[error("expired: signed {age} s ago, max age is {max_age} s; the client needs a new session")]
    Expired {
        /// Seconds since signing.
        age: u64,
        /// The configured maximum age.
        max_age: u64,
    },
    /// Signed in the future by more than the allowed clock skew.
    #[error("timestamp is {ahead} s in the future (clock skew allowed: {allowed} s): synchronise the signing servers' clocks or allow more skew")]
    FromTheFuture {
        /// Seconds ahead of now.
        ahead: u64,
        /// The configured clock skew.
        allowed: u64,
    },
    /// No configured key opens this sealed cookie: it was tampered with, sealed with a key
    /// the ring does not hold, or sealed for another cookie name.
    #[error("sealed cookie does not open: no configured key sealed it for this cookie name (tampered, or the key was rotated without keeping the old one as a fallback)")]
    BadSeal,
    /// The signature is valid but the payload does not decode (Flask would answer 500).
    #[error("validly signed payload does not decode: {0}; someone holding the key wrote it, Flask never does")]
    Payload(&'static str),
}

/// The clock inputs of a verification.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Expiry {
    pub(crate) now: u64,
    pub(crate) max_age: u64,
    pub(crate) clock_skew: u64,
}

/// A verified value: the payload segment still encoded.
#[derive(Debug)]
pub(crate) struct Unsigned<'a> {
    /// The payload segment, including a leading compression dot if any.
    pub(crate) payload: &'a [u8],
    pub(crate) timestamp: u64,
    pub(crate) key_index: usize,
}

/// `payload.b64(timestamp).b64(HMAC(derived key, payload.timestamp))`.
pub(crate) fn sign(key: &Key, purpose: Purpose, payload: &str, timestamp: u64) -> String {
    let mut out = String::with_capacity(payload.len() + SIGNATURE_ROOM);
    out.push_str(payload);
    append_signature(key, purpose, &mut out, 0, timestamp);
    out
}

/// What [`append_signature`] adds after the payload: '.' + up to 11 timestamp characters
/// + '.' + 27 signature characters.
pub(crate) const SIGNATURE_ROOM: usize = 40;

/// [`sign`] for a payload segment already in `out` from byte `start` on: appends the
/// timestamp and the signature over `out[start..]`.
pub(crate) fn append_signature(
    key: &Key,
    purpose: Purpose,
    out: &mut String,
    start: usize,
    timestamp: u64,
) {
    out.push('.');
    let bytes = timestamp.to_be_bytes();
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    base64::encode_segment_into(&bytes[first..], out);
    let signature = key.sign(purpose, &out.as_bytes()[start..]);
    out.push('.');
    base64::encode_segment_into(&signature, out);
}

/// Verifies signature then age, in that order; the payload is not touched.
pub(crate) fn unsign<'a>(
    value: &'a [u8],
    keys: &KeyRing,
    purpose: Purpose,
    expiry: Expiry,
    max_len: usize,
) -> Result<Unsigned<'a>, DecodeError> {
    check_len(value, max_len)?;
    let (signed, signature) = split_last_dot(value).ok_or(DecodeError::Malformed(
        "no '.' separator before the signature",
    ))?;
    let (signature, used) = base64::decode_segment_small::<20>(signature).ok_or(
        DecodeError::Malformed("signature is not canonical base64url"),
    )?;
    if used != signature.len() {
        return Err(DecodeError::Malformed("signature is not 20 bytes"));
    }
    let key_index = keys
        .verify(purpose, signed, &signature)
        .ok_or(DecodeError::BadSignature)?;
    let (payload, timestamp) = split_timestamp(signed)?;
    check_age(timestamp, expiry)?;
    check_payload_dots(payload)?;
    Ok(Unsigned {
        payload,
        timestamp,
        key_index,
    })
}

/// Splits off payload and timestamp without verifying anything.
pub(crate) fn split_unverified(value: &[u8], max_len: usize) -> Result<(&[u8], u64), DecodeError> {
    check_len(value, max_len)?;
    let (signed, _signature) = split_last_dot(value).ok_or(DecodeError::Malformed(
        "no '.' separator before the signature",
    ))?;
    let (payload, timestamp) = split_timestamp(signed)?;
    check_payload_dots(payload)?;
    Ok((payload, timestamp))
}

pub(crate) fn check_len(value: &[u8], max: usize) -> Result<(), DecodeError> {
    if value.len() > max {
        return Err(DecodeError::TooLong {
            len: value.len(),
            max,
        });
    }
    Ok(())
}

/// `(before, after)` the last `.`.
fn split_last_dot(value: &[u8]) -> Option<(&[u8], &[u8])> {
    let dot = value.iter().rposition(|&b| b == b'.')?;
    Some((&value[..dot], &value[dot + 1..]))
}

/// Signed text → payload segment and decoded timestamp.
fn split_timestamp(signed: &[u8]) -> Result<(&[u8], u64), DecodeError> {
    let (payload, timestamp) =
        split_last_dot(signed).ok_or(DecodeError::Malformed("timestamp missing: only one '.'"))?;
    if timestamp.is_empty() {
        return Err(DecodeError::MalformedTimestamp);
    }
    let (bytes, used) =
        base64::decode_segment_small::<8>(timestamp).ok_or(DecodeError::MalformedTimestamp)?;
    let mut be = [0u8; 8];
    be[8 - used..].copy_from_slice(&bytes[..used]);
    Ok((payload, u64::from_be_bytes(be)))
}

/// Flask's age rule, with an optional allowance for clocks running ahead (DV9).
pub(crate) fn check_age(timestamp: u64, expiry: Expiry) -> Result<(), DecodeError> {
    match expiry.now.checked_sub(timestamp) {
        Some(age) if age > expiry.max_age => Err(DecodeError::Expired {
            age,
            max_age: expiry.max_age,
        }),
        Some(_) => Ok(()),
        None => {
            let ahead = timestamp - expiry.now;
            if ahead > expiry.clock_skew {
                Err(DecodeError::FromTheFuture {
                    ahead,
                    allowed: expiry.clock_skew,
                })
            } else {
                Ok(())
            }
        }
    }
}

/// One leading compression dot at most, no dot elsewhere (SECURITY B6).
fn check_payload_dots(payload: &[u8]) -> Result<(), DecodeError> {
    let body = payload.strip_prefix(b".").unwrap_or(payload);
    if body.contains(&b'.') {
        return Err(DecodeError::Malformed(
            "payload holds a '.' other than the leading compression flag",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_100;

    fn key() -> Key {
        Key::new("correct horse battery staple").unwrap()
    }

    fn expiry(now: u64, max_age: u64, clock_skew: u64) -> Expiry {
        Expiry {
            now,
            max_age,
            clock_skew,
        }
    }

    fn unsign_at(value: &str, e: Expiry) -> Result<(String, u64), DecodeError> {
        let ring = KeyRing::new(key());
        let u = unsign(value.as_bytes(), &ring, Purpose::FlaskCookie, e, 4096)?;
        Ok((String::from_utf8(u.payload.to_vec()).unwrap(), u.timestamp))
    }

    #[test]
    fn timestamps_strip_leading_zero_bytes() {
        let s = sign(&key(), Purpose::FlaskCookie, "eyJhIjoxfQ", 1_700_000_000);
        assert!(s.starts_with("eyJhIjoxfQ.ZVPxAA."), "{s}");
        let s = sign(&key(), Purpose::FlaskCookie, "eyJhIjoxfQ", 0);
        assert_eq!(s, "eyJhIjoxfQ..7Y7O7XLqgOoahZ7cZ9Jv4wVCqdg");
        let s = sign(&key(), Purpose::FlaskCookie, "eyJhIjoxfQ", (1 << 32) + 5);
        assert!(s.starts_with("eyJhIjoxfQ.AQAAAAU."), "{s}");
        let s = sign(&key(), Purpose::FlaskCookie, "e30", u64::MAX);
        assert!(s.starts_with("e30.__________8."), "{s}");
    }

    #[test]
    fn worked_example_signs_and_verifies() {
        let cookie = "eyJsb2dnZWRfaW4iOnRydWV9.ZVPxAA.njuUsaCugTIOn_G8r5TAhwpI-Yw";
        let payload = "eyJsb2dnZWRfaW4iOnRydWV9";
        assert_eq!(
            sign(&key(), Purpose::FlaskCookie, payload, 1_700_000_000),
            cookie
        );
        let got = unsign_at(cookie, expiry(NOW, 2_678_400, 0)).unwrap();
        assert_eq!(got, (payload.to_owned(), 1_700_000_000));
        let split = split_unverified(cookie.as_bytes(), 4096).unwrap();
        assert_eq!(split, (payload.as_bytes(), 1_700_000_000));
    }

    #[test]
    fn age_boundaries() {
        let cookie = sign(&key(), Purpose::FlaskCookie, "e30", 1_000);
        assert!(unsign_at(&cookie, expiry(1_060, 60, 0)).is_ok());
        assert_eq!(
            unsign_at(&cookie, expiry(1_061, 60, 0)),
            Err(DecodeError::Expired {
                age: 61,
                max_age: 60
            })
        );
        assert_eq!(
            unsign_at(&cookie, expiry(999, 60, 0)),
            Err(DecodeError::FromTheFuture {
                ahead: 1,
                allowed: 0
            })
        );
        assert!(unsign_at(&cookie, expiry(995, 60, 5)).is_ok());
        assert!(unsign_at(&cookie, expiry(994, 60, 5)).is_err());
        // absurd values neither overflow nor pass
        let far = sign(&key(), Purpose::FlaskCookie, "e30", u64::MAX);
        assert!(matches!(
            unsign_at(&far, expiry(NOW, u64::MAX, 0)),
            Err(DecodeError::FromTheFuture { .. })
        ));
        assert!(unsign_at(&far, expiry(NOW, 0, u64::MAX)).is_ok());
        assert!(unsign_at(&cookie, expiry(u64::MAX, u64::MAX, 0)).is_ok());
    }

    #[test]
    fn empty_and_oversized_timestamps_are_malformed() {
        let zero = sign(&key(), Purpose::FlaskCookie, "e30", 0);
        assert_eq!(
            unsign_at(&zero, expiry(100, u64::MAX, 0)),
            Err(DecodeError::MalformedTimestamp)
        );
        let ring = KeyRing::new(key());
        let signed = "e30.AQEBAQEBAQEB";
        let sig = base64::encode_segment(&key().sign(Purpose::FlaskCookie, signed.as_bytes()));
        let nine = format!("{signed}.{sig}");
        let e = expiry(NOW, u64::MAX, u64::MAX);
        let got = unsign(nine.as_bytes(), &ring, Purpose::FlaskCookie, e, 4096);
        assert_eq!(got.unwrap_err(), DecodeError::MalformedTimestamp);
    }

    #[test]
    fn shape_errors() {
        let e = expiry(NOW, 100, 0);
        let too_long = "a".repeat(4097);
        assert_eq!(
            unsign_at(&too_long, e),
            Err(DecodeError::TooLong {
                len: 4097,
                max: 4096
            })
        );
        assert!(matches!(
            unsign_at("hello", e),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            unsign_at("a.b.c", e),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(unsign_at("", e), Err(DecodeError::Malformed(_))));
        let forged = format!("e30.ZVPxAA.{}", base64::encode_segment(&[0; 20]));
        assert_eq!(unsign_at(&forged, e), Err(DecodeError::BadSignature));
    }

    #[test]
    fn payload_dots_are_checked_after_the_signature() {
        let e = expiry(NOW, 1_000, 0);
        for payload in ["a.b", "..e30", ".a.b"] {
            let cookie = sign(&key(), Purpose::FlaskCookie, payload, NOW);
            assert!(
                matches!(unsign_at(&cookie, e), Err(DecodeError::Malformed(_))),
                "{payload}"
            );
        }
        let cookie = sign(&key(), Purpose::FlaskCookie, ".eJyrVkpUsjKsBQAIKgIJ", NOW);
        assert!(unsign_at(&cookie, e).is_ok());
        // one separator only: signed by a key holder, still not a timestamped value
        let sig = base64::encode_segment(&key().sign(Purpose::FlaskCookie, b"e30"));
        let one = format!("e30.{sig}");
        assert!(matches!(unsign_at(&one, e), Err(DecodeError::Malformed(_))));
    }

    #[test]
    fn the_length_cap_is_inclusive() {
        let ring = KeyRing::new(key());
        let cookie = sign(&key(), Purpose::FlaskCookie, "e30", NOW);
        let e = expiry(NOW, 1_000, 0);
        let len = cookie.len();
        let at_cap = unsign(cookie.as_bytes(), &ring, Purpose::FlaskCookie, e, len);
        assert!(at_cap.is_ok(), "{at_cap:?}");
        let over = unsign(cookie.as_bytes(), &ring, Purpose::FlaskCookie, e, len - 1);
        assert_eq!(
            over.unwrap_err(),
            DecodeError::TooLong { len, max: len - 1 }
        );
    }

    #[test]
    fn how_far_ahead_is_reported_exactly() {
        let cookie = sign(&key(), Purpose::FlaskCookie, "e30", 1_000);
        assert_eq!(
            unsign_at(&cookie, expiry(990, 60, 3)),
            Err(DecodeError::FromTheFuture {
                ahead: 10,
                allowed: 3
            })
        );
        assert_eq!(
            unsign_at(&cookie, expiry(1_500, 60, 0)),
            Err(DecodeError::Expired {
                age: 500,
                max_age: 60
            })
        );
    }
}
