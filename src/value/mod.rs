//! How session values are held.
//!
//! Flask's session is a Python dict serialised as *tagged JSON*: plain JSON plus six tags
//! for Python types JSON lacks. [`Value`] has one variant for each thing Flask can put in a
//! cookie, so a value that Flask wrote and Rust never touched goes back out unchanged: a
//! tuple stays a tuple, bytes stay bytes, a datetime stays a datetime.
//!
//! | Python (Flask)                  | tagged JSON        | [`Value`]                  | typed access with serde          |
//! |---------------------------------|--------------------|----------------------------|----------------------------------|
//! | `None`                          | `null`             | [`Value::Null`]            | `()`, `Option::None`             |
//! | `bool`                          | `true` / `false`   | [`Value::Bool`]            | `bool`                           |
//! | `int` in signed 64 bits         | number             | [`Value::Int`]             | any integer type it fits         |
//! | `int` beyond 64 bits            | number             | [`Value::BigInt`]          | `u64`/`i128`/`u128` when it fits |
//! | `float` (incl. NaN, ±inf)       | number / `NaN`     | [`Value::Float`]           | `f64`, `f32`                     |
//! | `str`                           | string             | [`Value::Str`]             | `String`; `&str` by borrowing    |
//! | `list`                          | array              | [`Value::List`]            | `Vec<T>`, arrays                 |
//! | `tuple`                         | `{" t": [...]}`    | [`Value::Tuple`]           | Rust tuples, `Vec<T>`            |
//! | `dict`                          | object             | [`Value::Dict`]            | structs, maps                    |
//! | `bytes`                         | `{" b": base64}`   | [`Value::Bytes`]           | `serde_bytes`, `Vec<u8>`         |
//! | `markupsafe.Markup`             | `{" m": html}`     | [`Value::Markup`]          | `String`                         |
//! | `uuid.UUID`                     | `{" u": hex}`      | [`Value::Uuid`]            | `uuid::Uuid` (as string)         |
//! | `datetime.datetime`             | `{" d": HTTP date}`| [`Value::DateTime`]        | `String` (RFC 3339)              |
//!
//! Writing Rust values with [`Session::insert`](crate::Session::insert) goes through serde:
//! Rust tuples become Python tuples, sequences become lists, structs and maps become
//! dicts. To write a type serde has no word for (bytes, `Markup`, a UUID, a datetime),
//! build the [`Value`] yourself and use [`Session::insert_value`](crate::Session::insert_value).
//!
//! ## serde conversions
//!
//! [`to_value`] and [`from_value`] are what `session.insert` and `session.get` use. They
//! talk to serde directly (no detour through JSON), and follow Python's types:
//!
//! | Rust (serde data model)                 | [`Value`]                                    |
//! |-----------------------------------------|----------------------------------------------|
//! | `bool`                                  | `Bool`                                       |
//! | integers                                | `Int` in the `i64` range, else exact `BigInt`|
//! | `f32`, `f64`                            | `Float`                                      |
//! | `char`, `str`, `String`                 | `Str`                                        |
//! | bytes (`serialize_bytes`, `serde_bytes`) | `Bytes`                                      |
//! | `None`, `()`, unit struct               | `Null`                                       |
//! | `Some(x)`, newtype struct               | the value of `x` / the inner value           |
//! | sequences (`Vec`, slices, sets)         | `List`                                       |
//! | tuples and tuple structs                | `Tuple` (a Python tuple)                     |
//! | maps and structs                        | `Dict`                                       |
//! | unit variant                            | `Str(variant name)`                          |
//! | newtype / tuple / struct variant        | `Dict { variant: inner / Tuple / Dict }`     |
//!
//! Map keys must be strings; integer and bool keys are written as strings (`1` → `"1"`,
//! `true` → `"true"`), as Python's `json` module does, and parsed back when read.
//!
//! Reading is the inverse, and forgiving where Python is: an integer goes into any integer
//! type it fits (or into a float), lists and tuples both read as sequences or Rust tuples,
//! `Markup` reads as a string, a UUID as its hyphenated string (so `uuid::Uuid` with its
//! `serde` feature reads directly), a datetime as an RFC 3339 string (use
//! `time::serde::rfc3339` to get an `OffsetDateTime`), bytes as bytes or as a sequence of
//! `u8`. `&Value` is a serde `Deserializer`, so `T::deserialize(&value)` can borrow `&str`s.
//!
//! [`Value`] itself implements `Serialize` and `Deserialize`: a `Value` can be a field of
//! your own types, and `to_value(&value)` gives back an equal value.

mod convert;

use std::collections::BTreeMap;
use std::fmt;

pub use convert::{from_value, to_value, ValueError};

/// A session's top-level map, and the contents of every [`Value::Dict`].
///
/// Keys are kept sorted by code point, which is the order Flask writes them in.
pub type Map = BTreeMap<String, Value>;

/// One value in a session: everything Flask's tagged JSON can hold.
///
/// See the [module documentation](self) for the mapping to Python types.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// Python `None`, JSON `null`.
    Null,
    /// Python `bool`.
    Bool(bool),
    /// A Python `int` that fits in `i64`.
    Int(i64),
    /// A Python `int` outside the `i64` range, kept exactly.
    BigInt(BigInt),
    /// A Python `float`, including NaN and the infinities.
    Float(f64),
    /// A Python `str`.
    Str(String),
    /// A Python `list`.
    List(Vec<Value>),
    /// A Python `tuple` (tag ` t`); Flask's flash messages are tuples.
    Tuple(Vec<Value>),
    /// A Python `dict` with string keys.
    Dict(Map),
    /// Python `bytes` (tag ` b`).
    Bytes(Vec<u8>),
    /// `markupsafe.Markup`: HTML that templates must not escape again (tag ` m`).
    Markup(String),
    /// A `uuid.UUID` (tag ` u`).
    Uuid(uuid::Uuid),
    /// A `datetime.datetime` (tag ` d`), to the second.
    ///
    /// Flask writes it in UTC; an offset read from a cookie is kept as it was written.
    DateTime(time::OffsetDateTime),
}

impl Value {
    /// The name of this value's Python type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Dict(_) => "dict",
            Value::Bytes(_) => "bytes",
            Value::Markup(_) => "Markup",
            Value::Uuid(_) => "UUID",
            Value::DateTime(_) => "datetime",
        }
    }

    /// Is this value truthy in Python's sense (`if session.get('logged_in'):`)?
    ///
    /// `None`, `False`, zero, NaN is truthy as in Python, empty strings and containers are falsy.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::BigInt(_) => true,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) | Value::Markup(s) => !s.is_empty(),
            Value::List(v) | Value::Tuple(v) => !v.is_empty(),
            Value::Dict(m) => !m.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::Uuid(_) | Value::DateTime(_) => true,
        }
    }

    /// The string inside a [`Value::Str`] or [`Value::Markup`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Markup(s) => Some(s),
            _ => None,
        }
    }

    /// The integer inside a [`Value::Int`].
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The boolean inside a [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

/// A Python integer outside the `i64` range, held exactly as its decimal digits.
///
/// Flask cookies can carry integers of any size (`2**70`); flagon never rounds them.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BigInt(Box<str>);

impl BigInt {
    /// Parses a decimal integer (optional leading `-`, digits only).
    ///
    /// Leading zeros are dropped and `-0` becomes `0`, as Python does. Returns `None`
    /// for anything that is not a decimal integer.
    pub fn parse(text: &str) -> Option<BigInt> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = digits.trim_start_matches('0');
        let canonical = match (negative, digits.is_empty()) {
            (_, true) => "0".to_owned(),
            (true, false) => format!("-{digits}"),
            (false, false) => digits.to_owned(),
        };
        Some(BigInt(canonical.into_boxed_str()))
    }

    /// The canonical decimal digits (with a leading `-` when negative).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as an `i128`, when it fits.
    pub fn to_i128(&self) -> Option<i128> {
        self.0.parse().ok()
    }

    /// The value as a `u128`, when it fits.
    pub fn to_u128(&self) -> Option<u128> {
        self.0.parse().ok()
    }
}

impl fmt::Debug for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Integers: `i64` when it fits, [`Value::BigInt`] otherwise.
impl From<i128> for Value {
    fn from(v: i128) -> Self {
        match i64::try_from(v) {
            Ok(small) => Value::Int(small),
            Err(_) => Value::BigInt(BigInt(v.to_string().into_boxed_str())),
        }
    }
}

impl From<u128> for Value {
    fn from(v: u128) -> Self {
        match i64::try_from(v) {
            Ok(small) => Value::Int(small),
            Err(_) => Value::BigInt(BigInt(v.to_string().into_boxed_str())),
        }
    }
}

macro_rules! from_small_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self { Value::Int(i64::from(v)) }
        }
    )*};
}
from_small_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::from(u128::from(v))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}

impl From<uuid::Uuid> for Value {
    fn from(v: uuid::Uuid) -> Self {
        Value::Uuid(v)
    }
}

impl From<time::OffsetDateTime> for Value {
    fn from(v: time::OffsetDateTime) -> Self {
        Value::DateTime(v)
    }
}

impl From<Map> for Value {
    fn from(v: Map) -> Self {
        Value::Dict(v)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigint_is_canonical() {
        assert_eq!(BigInt::parse("-000").unwrap().as_str(), "0");
        assert_eq!(BigInt::parse("007").unwrap().as_str(), "7");
        assert_eq!(BigInt::parse("-0012").unwrap().as_str(), "-12");
        assert!(BigInt::parse("").is_none());
        assert!(BigInt::parse("-").is_none());
        assert!(BigInt::parse("1e5").is_none());
        assert!(BigInt::parse("+1").is_none());
    }

    #[test]
    fn wide_integers_pick_the_right_variant() {
        assert_eq!(Value::from(5u64), Value::Int(5));
        assert_eq!(
            Value::from(u64::MAX),
            Value::BigInt(BigInt::parse("18446744073709551615").unwrap())
        );
        assert_eq!(Value::from(i128::from(i64::MIN)), Value::Int(i64::MIN));
    }

    #[test]
    fn truthiness_follows_python() {
        assert!(!Value::Null.is_truthy());
        assert!(!Value::Str(String::new()).is_truthy());
        assert!(Value::Bool(true).is_truthy());
        assert!(Value::Float(f64::NAN).is_truthy());
        assert!(!Value::Int(0).is_truthy());
    }
}
