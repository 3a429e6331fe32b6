//! A Flask-Session record ↔ a session [`Map`]: msgspec's MessagePack, and its JSON for
//! reading (see the type table in the [parent module](super)).

use std::io::Write as _;

use rmp::encode as mp;
use rmpv::Value as Mp;

use crate::flask::json;
use crate::flask::Limits;
use crate::value::{BigInt, Map, Value};

/// MessagePack's timestamp extension type.
const TIMESTAMP: i8 = -1;

/// A value that msgspec's MessagePack cannot hold, so Flask-Session could not read it.
///
/// A save that meets one fails with [`StoreError::Backend`](crate::store::StoreError::Backend)
/// wrapping this error (downcast it to tell it from an outage); nothing is written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Unencodable {
    /// An integer outside `-2**63 ..= 2**64 - 1` (msgspec refuses these too).
    #[error("session value `{0}` holds an integer outside -2**63..=2**64-1, which MessagePack (and so Flask-Session) cannot store; store it as a string")]
    IntOutOfRange(String),
    /// A string, byte string, list or dict longer than MessagePack's 32-bit lengths.
    #[error("session value `{0}` is longer than MessagePack's 4 GiB limit")]
    TooLong(String),
}

/// The MessagePack bytes of a session, as msgspec writes them for the same values
/// (dict keys in code-point order, which is the order flagon keeps them in).
///
/// # Errors
/// [`Unencodable`], naming the top-level session key whose value cannot be stored.
pub(crate) fn encode(session: &Map) -> Result<Vec<u8>, Unencodable> {
    let mut out = Vec::with_capacity(64);
    map_len(&mut out, session.len(), "")?;
    for (key, value) in session {
        mp::write_str(&mut out, key).map_err(|_| Unencodable::TooLong(key.clone()))?;
        encode_value(&mut out, value).map_err(|why| why.at(key))?;
    }
    Ok(out)
}

/// One top-level map entry, `key` then `value`, for splicing into a stored record.
///
/// # Errors
/// [`Unencodable`], naming `key`.
pub(crate) fn encode_entry(key: &str, value: &Value) -> Result<Vec<u8>, Unencodable> {
    let mut out = Vec::with_capacity(key.len() + 16);
    len32(key.len()).map_err(|why| why.at(key))?;
    let _ = mp::write_str(&mut out, key);
    encode_value(&mut out, value).map_err(|why| why.at(key))?;
    Ok(out)
}

/// Why one value failed, before the top-level key is known.
enum Failed {
    Int,
    Len,
}

impl Failed {
    fn at(self, key: &str) -> Unencodable {
        match self {
            Failed::Int => Unencodable::IntOutOfRange(key.to_owned()),
            Failed::Len => Unencodable::TooLong(key.to_owned()),
        }
    }
}

fn len32(len: usize) -> Result<u32, Failed> {
    u32::try_from(len).map_err(|_| Failed::Len)
}

fn map_len(out: &mut Vec<u8>, len: usize, key: &str) -> Result<(), Unencodable> {
    let len = len32(len).map_err(|why| why.at(key))?;
    // Writing into a Vec cannot fail.
    let _ = mp::write_map_len(out, len);
    Ok(())
}

fn encode_value(out: &mut Vec<u8>, value: &Value) -> Result<(), Failed> {
    // Writes into a `Vec` cannot fail; only lengths and integer ranges are checked.
    match value {
        Value::Null => {
            let _ = mp::write_nil(out);
        }
        Value::Bool(b) => {
            let _ = mp::write_bool(out, *b);
        }
        Value::Int(i) => {
            let _ = mp::write_sint(out, *i);
        }
        Value::BigInt(big) => {
            let unsigned = big.as_str().parse::<u64>().map_err(|_| Failed::Int)?;
            let _ = mp::write_uint(out, unsigned);
        }
        Value::Float(f) => {
            let _ = mp::write_f64(out, *f);
        }
        Value::Str(s) | Value::Markup(s) => {
            len32(s.len())?;
            let _ = mp::write_str(out, s);
        }
        Value::Bytes(b) => {
            len32(b.len())?;
            let _ = mp::write_bin(out, b);
        }
        Value::Uuid(u) => {
            let _ = mp::write_str(
                out,
                u.hyphenated()
                    .encode_lower(&mut uuid::Uuid::encode_buffer()),
            );
        }
        Value::DateTime(t) => timestamp(out, t.unix_timestamp(), t.nanosecond()),
        Value::List(items) | Value::Tuple(items) => {
            let _ = mp::write_array_len(out, len32(items.len())?);
            for item in items {
                encode_value(out, item)?;
            }
        }
        Value::Dict(map) => {
            let _ = mp::write_map_len(out, len32(map.len())?);
            for (key, item) in map {
                len32(key.len())?;
                let _ = mp::write_str(out, key);
                encode_value(out, item)?;
            }
        }
    }
    Ok(())
}

/// The timestamp extension in its smallest form, as msgspec chooses it: 32-bit seconds
/// when there are no nanoseconds, 34-bit seconds with 30-bit nanoseconds, else 96 bits.
fn timestamp(out: &mut Vec<u8>, secs: i64, nanos: u32) {
    if (0..1 << 34).contains(&secs) {
        if nanos == 0 && secs < 1 << 32 {
            let _ = mp::write_ext_meta(out, 4, TIMESTAMP);
            let _ = out.write_all(&(secs as u32).to_be_bytes());
        } else {
            let _ = mp::write_ext_meta(out, 8, TIMESTAMP);
            let _ = out.write_all(&((u64::from(nanos) << 34) | secs as u64).to_be_bytes());
        }
    } else {
        let _ = mp::write_ext_meta(out, 12, TIMESTAMP);
        let _ = out.write_all(&nanos.to_be_bytes());
        let _ = out.write_all(&secs.to_be_bytes());
    }
}

/// A stored record → the session: MessagePack first, then JSON, the order Flask-Session
/// tries them in (its last resort, pickle, is not read).
///
/// # Errors
/// A reason, when the record is neither or holds something a session cannot (a dict
/// key that is not a string, an unknown extension type, bad UTF-8).
pub(crate) fn decode(bytes: &[u8]) -> Result<Map, &'static str> {
    let max_depth = Limits::default().max_depth;
    let mut rest = bytes;
    let parsed = rmpv::decode::read_value_with_max_depth(&mut rest, max_depth);
    match parsed {
        Ok(value) if rest.is_empty() => match from_msgpack(value)? {
            Value::Dict(map) => Ok(map),
            _ => Err("the stored MessagePack is not a dict"),
        },
        _ => match json::parse(bytes, max_depth, |map| Ok(Value::Dict(map))) {
            Ok(Value::Dict(map)) => Ok(map),
            Ok(_) => Err("the stored JSON is not a dict"),
            Err(_) => Err("the record is neither MessagePack nor JSON (a pickled record of Flask-Session < 0.7 is not read)"),
        },
    }
}

fn from_msgpack(value: Mp) -> Result<Value, &'static str> {
    Ok(match value {
        Mp::Nil => Value::Null,
        Mp::Boolean(b) => Value::Bool(b),
        Mp::Integer(i) => match (i.as_i64(), i.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => {
                Value::BigInt(BigInt::parse(&u.to_string()).ok_or("an integer did not convert")?)
            }
            (None, None) => return Err("an integer is out of range"),
        },
        Mp::F32(f) => Value::Float(f64::from(f)),
        Mp::F64(f) => Value::Float(f),
        Mp::String(s) => Value::Str(s.into_str().ok_or("a string is not valid UTF-8")?),
        Mp::Binary(b) => Value::Bytes(b),
        Mp::Array(items) => Value::List(
            items
                .into_iter()
                .map(from_msgpack)
                .collect::<Result<_, _>>()?,
        ),
        Mp::Map(pairs) => {
            let mut map = Map::new();
            for (key, item) in pairs {
                let Mp::String(key) = key else {
                    return Err(
                        "a dict key is not a string (flagon sessions have string keys only)",
                    );
                };
                let key = key.into_str().ok_or("a dict key is not valid UTF-8")?;
                map.insert(key, from_msgpack(item)?);
            }
            Value::Dict(map)
        }
        Mp::Ext(TIMESTAMP, data) => Value::DateTime(datetime(&data)?),
        Mp::Ext(..) => return Err("an unknown MessagePack extension type"),
    })
}

fn datetime(data: &[u8]) -> Result<time::OffsetDateTime, &'static str> {
    let (secs, nanos) = match data.len() {
        4 => (i64::from(be_u32(data)), 0),
        8 => {
            let n = u64::from_be_bytes(data.try_into().map_err(|_| "timestamp")?);
            ((n & ((1 << 34) - 1)) as i64, (n >> 34) as u32)
        }
        12 => (
            i64::from_be_bytes(data[4..].try_into().map_err(|_| "timestamp")?),
            be_u32(&data[..4]),
        ),
        _ => return Err("a timestamp extension of the wrong length"),
    };
    if nanos >= 1_000_000_000 {
        return Err("a timestamp with nanoseconds past one second");
    }
    let whole = time::OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|_| "a timestamp outside the years -9999..=9999")?;
    Ok(whole + time::Duration::nanoseconds(i64::from(nanos)))
}

fn be_u32(data: &[u8]) -> u32 {
    let mut be = [0u8; 4];
    be.copy_from_slice(&data[..4]);
    u32::from_be_bytes(be)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn one(value: Value) -> Map {
        Map::from([("k".to_owned(), value)])
    }

    /// Bytes msgspec 0.23 writes for `{"k": value}` (from `msgspec.msgpack.encode`).
    #[test]
    fn encodes_as_msgspec_does() {
        let utc = |secs, nanos| {
            time::OffsetDateTime::from_unix_timestamp(secs).expect("time")
                + time::Duration::nanoseconds(nanos)
        };
        let cases = [
            (Value::Int(5), "05"),
            (Value::Int(i64::MIN), "d38000000000000000"),
            (Value::Int(200), "ccc8"),
            (Value::Int(-33), "d0df"),
            (
                Value::BigInt(BigInt::parse("18446744073709551615").expect("big")),
                "cfffffffffffffffff",
            ),
            (
                Value::Tuple(vec![Value::Int(1), Value::Str("a".into())]),
                "9201a161",
            ),
            (Value::Bytes(vec![0, 255]), "c40200ff"),
            (Value::Float(1.5), "cb3ff8000000000000"),
            (Value::Null, "c0"),
            (
                Value::DateTime(utc(1_704_164_645, 123_456_000)),
                "d7ff1d6f280065937d25",
            ),
            (Value::DateTime(utc(1_704_157_445, 0)), "d6ff65936105"),
            (
                Value::DateTime(utc(-2_208_988_800, 0)),
                "c70cff00000000ffffffff7c558180",
            ),
            (
                Value::Uuid(uuid::Uuid::from_u128(5)),
                "d92430303030303030302d303030302d303030302d303030302d303030303030303030303035",
            ),
        ];
        for (value, want) in cases {
            let bytes = encode(&one(value.clone())).expect("encodes");
            assert_eq!(hex(&bytes), format!("81a16b{want}"), "{value:?}");
        }
    }

    #[test]
    fn round_trips_what_msgpack_keeps() {
        let mut inner = Map::new();
        inner.insert(
            "é".into(),
            Value::List(vec![Value::Bool(true), Value::Float(-0.0)]),
        );
        let session: Map = [
            ("a", Value::Dict(inner)),
            ("b", Value::Bytes(vec![1, 2, 3])),
            ("c", Value::Int(-1)),
            (
                "d",
                Value::BigInt(BigInt::parse("9223372036854775808").expect("big")),
            ),
            ("e", Value::Str("x".repeat(70_000))),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let bytes = encode(&session).expect("encodes");
        assert_eq!(decode(&bytes), Ok(session));
    }

    #[test]
    fn refuses_ints_msgpack_cannot_hold() {
        for text in ["18446744073709551616", "-9223372036854775809"] {
            let value = Value::BigInt(BigInt::parse(text).expect("big"));
            let err = encode(&one(Value::List(vec![value]))).expect_err("out of range");
            assert!(err.to_string().contains("`k`"), "{err}");
        }
    }

    #[test]
    fn reads_json_records_and_refuses_garbage() {
        let map = decode(br#"{"a": [1, 2.5, "x", null, true], "big": 1180591620717411303424}"#)
            .expect("json");
        assert_eq!(map.get("a").map(Value::type_name), Some("list"));
        assert_eq!(map.get("big").map(Value::type_name), Some("int"));
        for bad in [
            &b""[..],
            b"\x81\x01\x02",
            b"\x05",
            b"\xc1",
            b"\x81\xa1k\xc7\x01\x05\x00",
            b"[1]",
        ] {
            assert!(decode(bad).is_err(), "{}", hex(bad));
        }
    }
}
