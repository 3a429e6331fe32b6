//! How stores write session values and times.
//!
//! Every value is kept as Flask's tagged JSON text of that one value, so a tuple stays a
//! tuple and bytes stay bytes, exactly as in the cookie format. Stores that keep one row
//! or hash field per session key store one such text per key; only the keys a request
//! changed are rewritten.
//!
//! Times are integer UTC Unix seconds everywhere: no text dates, no local time.

use std::time::{SystemTime, UNIX_EPOCH};

use super::StoreError;
use crate::flask::{from_tagged_json, to_tagged_json, Limits};
use crate::value::{Map, Value};

/// The single key the wrapper map uses; tagged JSON writes `{"v":<value>}` for it.
const WRAP_KEY: &str = "v";
const PREFIX: &str = "{\"v\":";

/// One value → its tagged JSON text.
pub(crate) fn encode_value(value: &Value) -> String {
    let mut wrapper = Map::new();
    wrapper.insert(WRAP_KEY.to_owned(), value.clone());
    let text = to_tagged_json(&wrapper);
    // Tagged JSON is compact, so the text is `{"v":` + value + `}`.
    match text.strip_prefix(PREFIX).and_then(|t| t.strip_suffix('}')) {
        Some(inner) => inner.to_owned(),
        // Not expected; keep the whole wrapper, which decode_value also accepts.
        None => text,
    }
}

/// Tagged JSON text of one value → the value.
///
/// # Errors
/// [`StoreError::Corrupt`] when the text is not tagged JSON within the default limits.
pub(crate) fn decode_value(text: &str) -> Result<Value, StoreError> {
    let wrapped = format!("{PREFIX}{text}}}");
    let mut map = from_tagged_json(wrapped.as_bytes(), &Limits::default())
        .map_err(|_| StoreError::Corrupt("a stored session value is not valid tagged JSON"))?;
    match map.remove(WRAP_KEY) {
        Some(value) if map.is_empty() => Ok(value),
        _ => Err(StoreError::Corrupt(
            "a stored session value is not a single tagged JSON value",
        )),
    }
}

/// The current time in UTC Unix seconds.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A Unix time as the signed 64-bit integer SQL columns hold (saturating: a time past
/// `i64::MAX` is "never").
pub(crate) fn to_sql_time(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// A stored signed time back to Unix seconds; a negative value is corrupt.
pub(crate) fn from_sql_time(t: i64) -> Result<u64, StoreError> {
    u64::try_from(t).map_err(|_| StoreError::Corrupt("a stored session time is negative"))
}

/// A store that cannot be set up as asked (bad option, database refused a setting).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct SetupError(pub(crate) &'static str);

/// Wraps any driver error as [`StoreError::Backend`].
pub(crate) fn backend<E>(error: E) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    StoreError::Backend(Box::new(error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_time_saturates_and_rejects_negative() {
        assert_eq!(to_sql_time(u64::MAX), i64::MAX);
        assert_eq!(to_sql_time(5), 5);
        assert!(from_sql_time(-1).is_err());
        assert_eq!(from_sql_time(7).ok(), Some(7));
    }

    #[test]
    fn garbage_value_is_corrupt_not_panic() {
        for text in ["", "}", "{", "1,\"w\":2", "\"unterminated", "[1,2"] {
            assert!(decode_value(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn values_round_trip() {
        let mut inner = Map::new();
        inner.insert(" t".into(), Value::Int(1));
        let values = [
            Value::Null,
            Value::Bool(true),
            Value::Int(-42),
            Value::Str("h\u{e9}llo \"q\" }".into()),
            Value::Tuple(vec![Value::Str("a".into()), Value::Int(2)]),
            Value::Bytes(vec![0, 255, 10]),
            Value::Dict(inner),
            Value::List(vec![]),
        ];
        for value in values {
            let text = encode_value(&value);
            assert_eq!(decode_value(&text).ok(), Some(value), "{text}");
        }
    }
}
