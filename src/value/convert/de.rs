//! A serde `Deserializer` that reads a borrowed [`Value`].

use serde::de::value::SeqDeserializer;
use serde::de::{self, IntoDeserializer, Visitor};

use super::access::{DictAccess, EnumAccess};
use super::tagged::Rfc3339;
use super::ValueError;
use crate::value::Value;

/// Reads the value, borrowing from it: strings can go to `&'de str` targets.
///
/// `from_value` is this with an owned target; call `T::deserialize(&value)` directly to
/// borrow:
///
/// ```
/// use flagon::Value;
/// use serde::Deserialize;
///
/// let value = Value::Str("alice".into());
/// let name: &str = Deserialize::deserialize(&value)?;
/// assert_eq!(name, "alice");
/// # Ok::<(), flagon::value::ValueError>(())
/// ```
impl<'de> IntoDeserializer<'de, ValueError> for &'de Value {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

/// Reads any integer variant as `T`, or says why it does not fit.
fn int_as<T>(value: &Value, target: &str) -> Result<T, ValueError>
where
    T: TryFrom<i64> + TryFrom<i128> + TryFrom<u128>,
{
    match value {
        Value::Int(i) => T::try_from(*i).map_err(|_| ValueError::no_fit(i, target)),
        Value::BigInt(big) => big
            .to_i128()
            .and_then(|n| T::try_from(n).ok())
            .or_else(|| big.to_u128().and_then(|n| T::try_from(n).ok()))
            .ok_or_else(|| ValueError::no_fit(big, target)),
        other => Err(ValueError::mismatch(
            format_args!("an integer ({target})"),
            other,
        )),
    }
}

fn visit_list<'de, V: Visitor<'de>>(
    items: &'de [Value],
    visitor: V,
) -> Result<V::Value, ValueError> {
    let mut seq = SeqDeserializer::new(items.iter());
    let out = visitor.visit_seq(&mut seq)?;
    seq.end()?;
    Ok(out)
}

fn visit_bytes_as_seq<'de, V: Visitor<'de>>(
    bytes: &[u8],
    visitor: V,
) -> Result<V::Value, ValueError> {
    let mut seq = SeqDeserializer::new(bytes.iter().copied());
    let out = visitor.visit_seq(&mut seq)?;
    seq.end()?;
    Ok(out)
}

fn visit_uuid<'de, V: Visitor<'de>>(id: &uuid::Uuid, visitor: V) -> Result<V::Value, ValueError> {
    let mut buf = uuid::Uuid::encode_buffer();
    visitor.visit_str(id.hyphenated().encode_lower(&mut buf))
}

macro_rules! deserialize_ints {
    ($($method:ident => $visit:ident($t:ty)),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
            visitor.$visit(int_as::<$t>(self, stringify!($t))?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for &'de Value {
    type Error = ValueError;

    /// Every variant has a natural serde shape, so self-describing targets
    /// (`serde_json::Value`, untagged enums, `#[serde(flatten)]`) work: a big integer goes
    /// out as a `u64` when it fits, else as its exact decimal digits in a str (serde's own
    /// buffering and `serde_json::Value` cannot hold 128-bit integers; typed `i128`/`u128`
    /// targets read them exactly); bytes as a sequence of `u8`; Markup, UUID and datetime
    /// as strings.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::BigInt(big) => {
                if let Ok(n) = big.as_str().parse::<u64>() {
                    visitor.visit_u64(n)
                } else if let Ok(n) = big.as_str().parse::<i64>() {
                    visitor.visit_i64(n)
                } else {
                    visitor.visit_borrowed_str(big.as_str())
                }
            }
            Value::Float(x) => visitor.visit_f64(*x),
            Value::Str(s) | Value::Markup(s) => visitor.visit_borrowed_str(s),
            Value::List(items) | Value::Tuple(items) => visit_list(items, visitor),
            Value::Dict(map) => visitor.visit_map(DictAccess::new(map)),
            Value::Bytes(bytes) => visit_bytes_as_seq(bytes, visitor),
            Value::Uuid(id) => visit_uuid(id, visitor),
            Value::DateTime(dt) => visitor.visit_string(Rfc3339(dt).to_string()),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Bool(b) => visitor.visit_bool(*b),
            other => Err(ValueError::not_a_bool(other)),
        }
    }

    deserialize_ints!(
        deserialize_i8 => visit_i8(i8), deserialize_i16 => visit_i16(i16),
        deserialize_i32 => visit_i32(i32), deserialize_i64 => visit_i64(i64),
        deserialize_i128 => visit_i128(i128), deserialize_u8 => visit_u8(u8),
        deserialize_u16 => visit_u16(u16), deserialize_u32 => visit_u32(u32),
        deserialize_u64 => visit_u64(u64), deserialize_u128 => visit_u128(u128)
    );

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_f64(visitor)
    }

    /// Integers are accepted too, rounded to the nearest float as Python's `float()` does.
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Float(x) => visitor.visit_f64(*x),
            Value::Int(i) => visitor.visit_f64(*i as f64),
            Value::BigInt(big) => match big.as_str().parse::<f64>() {
                Ok(x) => visitor.visit_f64(x),
                Err(_) => Err(ValueError::mismatch("a float", self)),
            },
            other => Err(ValueError::mismatch("a float", other)),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_str(visitor)
    }

    /// A str or Markup is lent out; a UUID comes out hyphenated, a datetime as RFC 3339.
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Str(s) | Value::Markup(s) => visitor.visit_borrowed_str(s),
            Value::Uuid(id) => visit_uuid(id, visitor),
            Value::DateTime(dt) => visitor.visit_string(Rfc3339(dt).to_string()),
            other => Err(ValueError::mismatch("a str", other)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_str(visitor)
    }

    /// Bytes are lent out; a str is offered as a str and a list as a sequence, for the
    /// visitor to accept or refuse.
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Bytes(bytes) => visitor.visit_borrowed_bytes(bytes),
            Value::Str(s) | Value::Markup(s) => visitor.visit_borrowed_str(s),
            Value::List(items) | Value::Tuple(items) => visit_list(items, visitor),
            other => Err(ValueError::mismatch("bytes", other)),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_none(),
            some => visitor.visit_some(some),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_unit(),
            other => Err(ValueError::mismatch("None", other)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    /// Lists and tuples alike; bytes as a sequence of `u8`.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::List(items) | Value::Tuple(items) => visit_list(items, visitor),
            Value::Bytes(bytes) => visit_bytes_as_seq(bytes, visitor),
            other => Err(ValueError::mismatch("a list or tuple", other)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Dict(map) => visitor.visit_map(DictAccess::new(map)),
            other => Err(ValueError::mismatch("a dict", other)),
        }
    }

    /// From a dict, or (as serde_json allows) from a list of the fields in order.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self {
            Value::Dict(map) => visitor.visit_map(DictAccess::new(map)),
            Value::List(items) | Value::Tuple(items) => visit_list(items, visitor),
            other => Err(ValueError::mismatch("a dict", other)),
        }
    }

    /// A str names a unit variant; a one-key dict `{variant: contents}` names any variant.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        let (variant, contents) = match self {
            Value::Str(s) => (s.as_str(), None),
            Value::Dict(map) if map.len() == 1 => match map.iter().next() {
                Some((key, value)) => (key.as_str(), Some(value)),
                None => return Err(ValueError::mismatch(ENUM_SHAPE, self)),
            },
            Value::Dict(map) => {
                return Err(ValueError(format!(
                    "expected {ENUM_SHAPE}, found a dict with {} keys",
                    map.len()
                )))
            }
            other => return Err(ValueError::mismatch(ENUM_SHAPE, other)),
        };
        visitor.visit_enum(EnumAccess { variant, contents })
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_unit()
    }
}

const ENUM_SHAPE: &str = "an enum (a str naming the variant, or a dict with exactly one key)";
