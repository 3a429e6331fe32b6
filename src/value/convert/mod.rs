//! serde conversions between Rust types and session [`Value`]s; documented in [`crate::value`].

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
/// use flagon::{value::to_value, Value};
///
/// let flashes = vec![("info", "Saved")];
/// assert_eq!(
///     to_value(&flashes)?,
///     Value::List(vec![Value::Tuple(vec!["info".into(), "Saved".into()])])
/// );
/// assert_eq!(to_value(&u64::MAX)?, Value::from(u64::MAX)); // exact, as a BigInt
/// # Ok::<(), flagon::value::ValueError>(())
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
/// use flagon::{value::from_value, Value};
///
/// let n: u8 = from_value(&Value::Int(42))?;
/// assert_eq!(n, 42);
///
/// let err = from_value::<u8>(&Value::Int(300)).unwrap_err();
/// assert!(err.to_string().starts_with("integer 300 does not fit in u8"));
///
/// let err = from_value::<i64>(&Value::Str("x".into())).unwrap_err();
/// assert!(err.to_string().starts_with("expected an integer (i64), found str"));
/// # Ok::<(), flagon::value::ValueError>(())
/// ```
///
/// # Errors
/// When the value's type does not match `T`, or an integer does not fit in it. The message
/// names the Python type found and never repeats stored strings.
pub fn from_value<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, ValueError> {
    T::deserialize(value)
}
