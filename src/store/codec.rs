//! How stores write session values and times.
//!
//! Every value is kept as Flask's tagged JSON text of that one value, so a tuple stays a
//! tuple and bytes stay bytes, exactly as in the cookie format. Stores that keep one row
//! or hash field per session key store one such text per key; only the keys a request
//! changed are rewritten.
//!
//! Times are integer UTC Unix seconds everywhere: no text dates, no local time.

use super::StoreError;
use crate::flask::tagged::{value_from_json, value_to_json};
use crate::flask::Limits;
use crate::value::Value;

/// One value → its tagged JSON text.
pub(crate) fn encode_value(value: &Value) -> String {
    value_to_json(value)
}

/// Tagged JSON text of one value → the value.
///
/// # Errors
/// [`StoreError::Corrupt`] when the text is not tagged JSON within the default limits.
pub(crate) fn decode_value(text: &str) -> Result<Value, StoreError> {
    value_from_json(text.as_bytes(), Limits::default().max_depth)
        .map_err(|_| StoreError::Corrupt("a stored session value is not valid tagged JSON"))
}

/// The current time in UTC Unix seconds (the store tests' clock).
#[cfg(test)]
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A Unix time as the signed 64-bit integer SQL columns hold (saturating: a time past
/// `i64::MAX` is "never").
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn to_sql_time(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// A stored signed time back to Unix seconds; a negative value is corrupt.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
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
    use crate::value::Map;

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
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
