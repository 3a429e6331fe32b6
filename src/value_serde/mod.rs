//! serde conversions between Rust types and session [`Value`]s.
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

mod access;
mod de;
mod error;
mod key;
mod ser;
mod tagged;
mod value_impls;

#[cfg(test)]
mod tests;

pub use error::ValueError;

/// Largest capacity reserved up front from a length hint, so a wrong hint cannot
/// allocate a huge buffer.
const MAX_PREALLOC: usize = 4096;

use crate::value::Value;

/// Converts any `Serialize` value to a session [`Value`].
///
/// Rust tuples become Python tuples, so Flask-style flash messages are written as Flask
/// writes them:
///
/// ```
/// use flagon::{value_serde::to_value, Value};
///
/// let flashes = vec![("info", "Saved")];
/// assert_eq!(
///     to_value(&flashes)?,
///     Value::List(vec![Value::Tuple(vec!["info".into(), "Saved".into()])])
/// );
/// assert_eq!(to_value(&u64::MAX)?, Value::from(u64::MAX)); // exact, as a BigInt
/// # Ok::<(), flagon::value_serde::ValueError>(())
/// ```
///
/// # Errors
/// When the value has a shape a session cannot hold: a map whose keys are not strings,
/// integers or bools, or a `Serialize` implementation that fails by itself.
pub fn to_value<T: serde::Serialize + ?Sized>(value: &T) -> Result<Value, ValueError> {
    value.serialize(ser::ValueSerializer)
}

/// Converts a session [`Value`] to any `Deserialize` type.
///
/// ```
/// use flagon::{value_serde::from_value, Value};
///
/// let n: u8 = from_value(&Value::Int(42))?;
/// assert_eq!(n, 42);
///
/// let err = from_value::<u8>(&Value::Int(300)).unwrap_err();
/// assert!(err.to_string().starts_with("integer 300 does not fit in u8"));
///
/// let err = from_value::<i64>(&Value::Str("x".into())).unwrap_err();
/// assert!(err.to_string().starts_with("expected an integer (i64), found str"));
/// # Ok::<(), flagon::value_serde::ValueError>(())
/// ```
///
/// # Errors
/// When the value's type does not match `T`, or an integer does not fit in it. The message
/// names the Python type found and never repeats stored strings.
pub fn from_value<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, ValueError> {
    T::deserialize(value)
}
