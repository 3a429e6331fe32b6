//! Crate-private code made callable by flagon's fuzz targets (`fuzz/`) and tests.
//!
//! Not part of the API: hidden from the docs, no stability promise, and nothing here
//! does more than call the function the engine itself calls, so a target exercises the
//! code that runs in production rather than a copy of it.

use crate::config::SessionConfig;
use crate::cookie::{candidates, CookieWriter};
use crate::flask::signer::Expiry;
use crate::id::{SessionId, StoreKey};
use crate::key::{Key, KeyRing};
#[cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
use crate::store::codec;
#[cfg(feature = "redis")]
use crate::store::Record;
#[cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
use crate::store::StoreError;
#[cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
use crate::value::Value;

/// The values of the cookie `name` in `Cookie` header fields, in the order the engine
/// tries them (SECURITY.md §6.A).
pub fn cookie_candidates<'h>(headers: &[&'h [u8]], name: &[u8]) -> Vec<&'h [u8]> {
    candidates(headers.iter().copied(), name).collect()
}

/// The `Set-Cookie` value a layer built from `config` sends for a cookie `value` that
/// expires at `expires` (Unix seconds), and the one that deletes the cookie. The config
/// is not validated here; layers call [`SessionConfig::validate`] first.
pub fn set_cookie(config: &SessionConfig, value: &str, expires: Option<u64>) -> (String, String) {
    let writer = CookieWriter::new(config);
    (
        writer.set_cookie(value, expires),
        writer.deletion().to_owned(),
    )
}

#[cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
/// A stored value's text (one session key's tagged JSON), read as every store reads it.
///
/// # Errors
/// [`StoreError::Corrupt`] when the text is not one tagged JSON value.
pub fn decode_stored_value(text: &str) -> Result<Value, StoreError> {
    codec::decode_value(text)
}

#[cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
/// The text every store writes for one session value.
pub fn encode_stored_value(value: &Value) -> String {
    codec::encode_value(value)
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// A time as SQLite and PostgreSQL rows hold it, read back to Unix seconds.
///
/// # Errors
/// [`StoreError::Corrupt`] when it is negative.
pub fn stored_time(t: i64) -> Result<u64, StoreError> {
    codec::from_sql_time(t)
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// Unix seconds as SQLite and PostgreSQL rows hold them.
pub fn to_stored_time(t: u64) -> i64 {
    codec::to_sql_time(t)
}

/// An `HGETALL` reply made of these field/value pairs (a RESP3 map when `as_map`, else a
/// RESP2 flat array), read as the Redis store reads it at time `now`.
///
/// # Errors
/// [`StoreError::Corrupt`] when the hash is not a session record.
#[cfg(feature = "redis")]
pub fn redis_hash_reply(
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
    as_map: bool,
    now: u64,
) -> Result<Option<Record>, StoreError> {
    use redis::Value as RedisValue;
    let reply = if as_map {
        RedisValue::Map(
            pairs
                .into_iter()
                .map(|(f, v)| (RedisValue::BulkString(f), RedisValue::BulkString(v)))
                .collect(),
        )
    } else {
        RedisValue::Array(
            pairs
                .into_iter()
                .flat_map(|(f, v)| [RedisValue::BulkString(f), RedisValue::BulkString(v)])
                .collect(),
        )
    };
    crate::store::redis::fields::reply_to_record(reply, now)
}

/// The id cookie value the engine sends for the session id `raw` (24 bytes), signed by
/// `key` at `now`.
pub fn sign_id_cookie(raw: [u8; 24], key: &Key, now: u64) -> String {
    let id = SessionId::from_bytes(&raw).expect("24 bytes are a session id");
    id.sign_cookie(key, now)
}

/// The store key of the session id in an id cookie value as the engine reads it:
/// signature first (any age: the store decides liveness), then base64url, then the
/// length; with "signed by a fallback key". The error is the reason the engine logs.
///
/// # Errors
/// Why the value is not an id cookie.
pub fn verify_id_cookie(
    value: &[u8],
    keys: &KeyRing,
    now: u64,
    clock_skew: u64,
    max_len: usize,
) -> Result<(StoreKey, bool), String> {
    let expiry = Expiry {
        now,
        max_age: u64::MAX,
        clock_skew,
    };
    SessionId::verify_cookie(value, keys, expiry, max_len).map(|(id, f)| (id.store_key(), f))
}
