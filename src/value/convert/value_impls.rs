//! `Serialize` and `Deserialize` for [`Value`] itself, so a `Value` can sit inside any
//! serde type and go to or come from any self-describing format.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::tagged::{self, Rfc3339};
use crate::value::{BigInt, Map, Value};

/// Writes each variant in its natural serde shape: a tuple as a tuple (JSON array), bytes
/// as bytes, Markup, UUID (hyphenated) and datetime (RFC 3339) as strings, and a big
/// integer as `u64`, `u128` or `i128` when it fits, else as its decimal digits in a string.
///
/// ```
/// use flagon::Value;
///
/// let flashes = Value::List(vec![Value::Tuple(vec!["info".into(), "Saved".into()])]);
/// assert_eq!(serde_json::to_string(&flashes).unwrap(), r#"[["info","Saved"]]"#);
/// ```
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::BigInt(big) => serialize_big(big, serializer),
            Value::Float(x) => serializer.serialize_f64(*x),
            Value::Str(s) => serializer.serialize_str(s),
            Value::List(items) => serializer.collect_seq(items),
            Value::Tuple(items) => serialize_tuple(items, serializer),
            Value::Dict(map) => serializer.collect_map(map),
            Value::Bytes(bytes) => serializer.serialize_bytes(bytes),
            Value::Markup(s) => serializer.serialize_newtype_struct(tagged::MARKUP, s),
            Value::Uuid(id) => {
                let mut buf = uuid::Uuid::encode_buffer();
                let text: &str = id.hyphenated().encode_lower(&mut buf);
                serializer.serialize_newtype_struct(tagged::UUID, text)
            }
            Value::DateTime(dt) => {
                serializer.serialize_newtype_struct(tagged::DATETIME, &Collect(Rfc3339(dt)))
            }
        }
    }
}

fn serialize_big<S: Serializer>(big: &BigInt, serializer: S) -> Result<S::Ok, S::Error> {
    if let Some(n) = big.to_u128() {
        match u64::try_from(n) {
            Ok(small) => serializer.serialize_u64(small),
            Err(_) => serializer.serialize_u128(n),
        }
    } else if let Some(n) = big.to_i128() {
        serializer.serialize_i128(n)
    } else {
        serializer.serialize_newtype_struct(tagged::BIGINT, big.as_str())
    }
}

fn serialize_tuple<S: Serializer>(items: &[Value], serializer: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeTuple;
    let mut tuple = serializer.serialize_tuple(items.len())?;
    for item in items {
        tuple.serialize_element(item)?;
    }
    tuple.end()
}

/// Serializes something `Display` as a string without an intermediate `String` where the
/// serializer allows it.
struct Collect<T>(T);

impl<T: fmt::Display> Serialize for Collect<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// Reads any self-describing format into the natural variant: sequences become
/// [`Value::List`], maps [`Value::Dict`] (integer and bool keys become strings), bytes
/// [`Value::Bytes`], and integers [`Value::Int`] or, beyond `i64`, [`Value::BigInt`].
///
/// ```
/// use flagon::Value;
///
/// let value: Value = serde_json::from_str(r#"{"n": 18446744073709551615, "tags": ["a"]}"#).unwrap();
/// let Value::Dict(map) = &value else { panic!() };
/// assert_eq!(map["n"], Value::from(u64::MAX));
/// assert_eq!(map["tags"], Value::List(vec!["a".into()]));
/// ```
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value a Flask session can hold")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(v))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(super::MAX_PREALLOC));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some((key, value)) = access.next_entry_seed(KeySeed, std::marker::PhantomData)? {
            map.insert(key, value);
        }
        Ok(Value::Dict(map))
    }
}

/// Reads a map key as a string, writing integer and bool keys as Python's json would.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_string(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a dict key (a string, an integer or a bool)")
    }
    fn visit_str<E>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_bool<E>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i128<E>(self, v: i128) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u128<E>(self, v: u128) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<String, E> {
        String::from_utf8(v.to_vec())
            .map_err(|_| E::custom("a dict key is not valid UTF-8: dict keys must be strings"))
    }
}
