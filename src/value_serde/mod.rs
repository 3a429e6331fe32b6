//! serde conversions between Rust types and [`Value`] (STUB).

use crate::value::Value;

/// A Rust value that does not convert to or from a session [`Value`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub(crate) String);

/// Converts any `Serialize` value to a session [`Value`].
///
/// # Errors
/// When the value has a shape a session cannot hold (a map with non-string keys, …).
pub fn to_value<T: serde::Serialize + ?Sized>(value: &T) -> Result<Value, ValueError> {
    let _ = value;
    todo!()
}

/// Converts a session [`Value`] to any `Deserialize` type.
///
/// # Errors
/// When the value's type does not match `T`.
pub fn from_value<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, ValueError> {
    let _ = value;
    todo!()
}
