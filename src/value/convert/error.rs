//! [`ValueError`]: why a Rust value did not convert to or from a session [`Value`].

use std::fmt::{self, Display};

use serde::de::{self, Expected, Unexpected};
use serde::ser;

use crate::value::Value;

/// A Rust value that does not convert to or from a session [`Value`].
///
/// The message says what did not match and how to fix it. The messages flagon builds name
/// Python types and integers but never repeat the contents of a stored string or bytes
/// value, so they are safe to log. (A type's own `Deserialize` code may add text of its
/// own through `custom`; the uuid crate's parse errors, for one, quote the bad input.)
///
/// Build one with the serde error traits, which is what `Serialize` and `Deserialize`
/// implementations do:
///
/// ```
/// use flagon::value::ValueError;
///
/// let from_ser = <ValueError as serde::ser::Error>::custom("cannot store a closure");
/// let from_de = <ValueError as serde::de::Error>::missing_field("user_id");
/// assert_eq!(from_ser.to_string(), "cannot store a closure");
/// assert!(from_de.to_string().contains("user_id"));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub(crate) String);

impl ValueError {
    /// The stored value has another type than the one asked for.
    pub(crate) fn mismatch(expected: impl Display, found: &Value) -> Self {
        let found = found.type_name();
        ValueError(format!(
            "expected {expected}, found {found}: the session holds a Python {found} here; \
             read it as a matching Rust type, or as `flagon::Value`"
        ))
    }

    /// A bool was asked for and the session holds something else, which Flask code often
    /// stores as a flag (`1`, a user id, a string).
    pub(crate) fn not_a_bool(found: &Value) -> Self {
        let ValueError(message) = ValueError::mismatch("a bool", found);
        ValueError(format!(
            "{message}. For a flag read as Flask does (`if session.get(key):`), use \
             `Session::is_truthy(key)`"
        ))
    }

    /// A stored integer is outside the range of the integer type asked for.
    pub(crate) fn no_fit(number: impl Display, target: &str) -> Self {
        ValueError(format!(
            "integer {number} does not fit in {target}: read it as a wider integer type \
             (i64, or i128/u128 for very large values)"
        ))
    }

    /// A map key that Flask's session format cannot hold.
    pub(crate) fn bad_key(found: &str) -> Self {
        ValueError(format!(
            "dict keys must be strings, integers or bools, found {found} key: \
             Flask's session keeps dict keys as strings, so convert the key to a String first"
        ))
    }

    /// A dict key that does not parse as the key type asked for.
    pub(crate) fn key_parse(target: &str) -> Self {
        ValueError(format!(
            "a dict key is not a valid {target}: dict keys are strings in the session; \
             read the map with String keys"
        ))
    }
}

/// Describes what serde saw, without repeating string or bytes contents.
struct Found<'a>(Unexpected<'a>);

impl Display for Found<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Unexpected::Bool(b) => write!(f, "bool {b}"),
            Unexpected::Unsigned(n) => write!(f, "integer {n}"),
            Unexpected::Signed(n) => write!(f, "integer {n}"),
            Unexpected::Float(x) => write!(f, "float {x}"),
            Unexpected::Char(_) | Unexpected::Str(_) => f.write_str("a str"),
            Unexpected::Bytes(_) => f.write_str("bytes"),
            Unexpected::Unit => f.write_str("None"),
            Unexpected::Option => f.write_str("an optional value"),
            Unexpected::NewtypeStruct => f.write_str("a newtype struct"),
            Unexpected::Seq => f.write_str("a list"),
            Unexpected::Map => f.write_str("a dict"),
            Unexpected::Enum => f.write_str("an enum"),
            Unexpected::UnitVariant => f.write_str("a unit variant"),
            Unexpected::NewtypeVariant => f.write_str("a newtype variant"),
            Unexpected::TupleVariant => f.write_str("a tuple variant"),
            Unexpected::StructVariant => f.write_str("a struct variant"),
            Unexpected::Other(other) => f.write_str(other),
        }
    }
}

/// Builds errors while serializing: `ValueError::custom(msg)` carries `msg` as is.
impl ser::Error for ValueError {
    fn custom<T: Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}

/// Builds errors while deserializing. Besides `custom`, the provided constructors are
/// overridden so that messages suggest a fix and never quote stored strings.
impl de::Error for ValueError {
    fn custom<T: Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        ValueError(format!(
            "expected {exp}, found {}: read this value as a Rust type that matches what is stored",
            Found(unexp)
        ))
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        ValueError(format!(
            "invalid value: expected {exp}, found {}",
            Found(unexp)
        ))
    }

    fn invalid_length(len: usize, exp: &dyn Expected) -> Self {
        ValueError(format!(
            "expected {exp}, found a sequence of {len} elements: \
             read it as a tuple of the right size, or as a Vec"
        ))
    }

    fn unknown_variant(_variant: &str, expected: &'static [&'static str]) -> Self {
        // The variant name is a stored string: it is not repeated.
        ValueError(format!(
            "unknown enum variant, expected one of {expected:?}: the stored str names no variant"
        ))
    }

    fn missing_field(field: &'static str) -> Self {
        ValueError(format!(
            "missing field `{field}`: the stored dict has no such key; \
             mark the field `#[serde(default)]` if it may be absent"
        ))
    }
}
