//! itsdangerous' `TimestampSigner`: `value.timestamp.signature`.
//!
//! STUB: to be implemented (see FORMAT.md §4, §5, §7).

use crate::key::{Key, KeyRing, Purpose};

/// Why a cookie is not a valid session. `Display` never includes the cookie or a key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The value is longer than the configured cap; nothing else was looked at.
    #[error("cookie value is {len} bytes, over the {max}-byte limit")]
    TooLong {
        /// Length of the value.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The value is not `payload.timestamp.signature` in canonical base64url.
    #[error("malformed cookie: {0}")]
    Malformed(&'static str),
    /// No key in the ring produced this signature.
    #[error("bad signature")]
    BadSignature,
    /// The timestamp segment does not decode to an integer of at most 8 bytes.
    #[error("malformed timestamp")]
    MalformedTimestamp,
    /// Signed longer ago than the maximum age allows.
    #[error("expired: signed {age} s ago, max age is {max_age} s")]
    Expired {
        /// Seconds since signing.
        age: u64,
        /// The configured maximum age.
        max_age: u64,
    },
    /// Signed in the future by more than the allowed clock skew.
    #[error("timestamp is {ahead} s in the future (clock skew allowed: {allowed} s)")]
    FromTheFuture {
        /// Seconds ahead of now.
        ahead: u64,
        /// The configured clock skew.
        allowed: u64,
    },
    /// The signature is valid but the payload does not decode (Flask would answer 500).
    #[error("validly signed payload does not decode: {0}")]
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
    let _ = (key, purpose, payload, timestamp);
    todo!()
}

/// Verifies signature then age, in that order; the payload is not touched.
pub(crate) fn unsign<'a>(
    value: &'a [u8],
    keys: &KeyRing,
    purpose: Purpose,
    expiry: Expiry,
    max_len: usize,
) -> Result<Unsigned<'a>, DecodeError> {
    let _ = (value, keys, purpose, expiry, max_len);
    todo!()
}

/// Splits off payload and timestamp without verifying anything.
pub(crate) fn split_unverified(value: &[u8], max_len: usize) -> Result<(&[u8], u64), DecodeError> {
    let _ = (value, max_len);
    todo!()
}
