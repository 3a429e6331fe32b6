//! Session maps from fuzzer bytes, for `tagged_roundtrip` (F-TAG-RT).
//!
//! The shapes come from the `arbitrary` crate; the conversion keeps every generated
//! session inside what the round trip promises: nesting at most [`MAX_NEST`] containers,
//! integers beyond `i64` of at most 4300 digits, datetimes in years 100 to 9999 UTC.
//! Keys are biased towards Flask's tag names so the ` di` escape gets exercised.

use arbitrary::{Arbitrary, Unstructured};
use flagon::{BigInt, Map, Value};
use time::{OffsetDateTime, UtcOffset};

/// Containers nested deeper than this become `None`.
pub const MAX_NEST: usize = 40;

/// Seconds from 0100-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
const FIRST: i64 = -58_979_923_200;
const LAST: i64 = 253_402_300_799;

/// The tag keys Flask registers, and two near misses.
const KEYS: [&str; 9] = [" di", " t", " b", " m", " u", " d", " t__", " di__", " x"];

/// A generated value, before the bounds are applied.
#[derive(Arbitrary, Debug)]
pub enum GenValue {
    /// `None`.
    Null,
    /// A bool.
    Bool(bool),
    /// An `i64`.
    Int(i64),
    /// An `i128` (beyond `i64` becomes a big integer).
    Wide(i128),
    /// Decimal digits from bytes, for integers far beyond 128 bits.
    Huge(bool, Vec<u8>),
    /// Any `f64`, NaN and infinities included.
    Float(f64),
    /// A string.
    Str(String),
    /// A list.
    List(Vec<GenValue>),
    /// A tuple.
    Tuple(Vec<GenValue>),
    /// A dict.
    Dict(Vec<(GenKey, GenValue)>),
    /// Bytes.
    Bytes(Vec<u8>),
    /// Markup.
    Markup(String),
    /// A UUID.
    Uuid(u128),
    /// Seconds, nanoseconds and an offset in seconds.
    DateTime(i64, u32, i32),
}

/// A dict key: often a tag, otherwise any string.
#[derive(Arbitrary, Debug)]
pub enum GenKey {
    /// One of [`KEYS`].
    Tagish(u8),
    /// Any string.
    Any(String),
}

impl GenKey {
    fn build(self) -> String {
        match self {
            GenKey::Tagish(i) => KEYS[usize::from(i) % KEYS.len()].to_owned(),
            GenKey::Any(s) => s,
        }
    }
}

impl GenValue {
    /// The flagon value, with the bounds applied; `nest` counts enclosing containers.
    pub fn build(self, nest: usize) -> Value {
        match self {
            GenValue::Null => Value::Null,
            GenValue::Bool(b) => Value::Bool(b),
            GenValue::Int(i) => Value::Int(i),
            GenValue::Wide(i) => Value::from(i),
            GenValue::Huge(negative, digits) => huge(negative, &digits),
            GenValue::Float(x) => Value::Float(x),
            GenValue::Str(s) => Value::Str(s),
            GenValue::Bytes(b) => Value::Bytes(b),
            GenValue::Markup(s) => Value::Markup(s),
            GenValue::Uuid(u) => Value::Uuid(uuid::Uuid::from_u128(u)),
            GenValue::DateTime(secs, nanos, offset) => datetime(secs, nanos, offset),
            _ if nest >= MAX_NEST => Value::Null,
            GenValue::List(items) => Value::List(build_all(items, nest)),
            GenValue::Tuple(items) => Value::Tuple(build_all(items, nest)),
            GenValue::Dict(pairs) => Value::Dict(build_map(pairs, nest + 1)),
        }
    }
}

fn build_all(items: Vec<GenValue>, nest: usize) -> Vec<Value> {
    items.into_iter().map(|v| v.build(nest + 1)).collect()
}

/// A map (later duplicate keys win, as in JSON).
pub fn build_map(pairs: Vec<(GenKey, GenValue)>, nest: usize) -> Map {
    pairs
        .into_iter()
        .map(|(k, v)| (k.build(), v.build(nest)))
        .collect()
}

/// `1` followed by up to 4299 digits taken from the bytes: always beyond `i64`.
fn huge(negative: bool, bytes: &[u8]) -> Value {
    let mut text = String::from(if negative { "-1" } else { "1" });
    text.extend(bytes.iter().take(4299).map(|b| char::from(b'0' + b % 10)));
    while text.trim_start_matches('-').len() < 20 {
        text.push('7');
    }
    BigInt::parse(&text).map_or(Value::Null, Value::BigInt)
}

/// A datetime in years 100..=9999 UTC, shown in any offset the range allows.
fn datetime(secs: i64, nanos: u32, offset: i32) -> Value {
    let span = LAST - FIRST + 1;
    let secs = FIRST + secs.rem_euclid(span);
    let Ok(utc) = OffsetDateTime::from_unix_timestamp(secs) else {
        return Value::Null;
    };
    let utc = utc.replace_nanosecond(nanos % 1_000_000_000).unwrap_or(utc);
    let offset = UtcOffset::from_whole_seconds(offset % 86_400).unwrap_or(UtcOffset::UTC);
    Value::DateTime(utc.checked_to_offset(offset).unwrap_or(utc))
}

/// The whole session: a top-level map built from the fuzzer's bytes.
pub fn session(data: &[u8]) -> arbitrary::Result<Map> {
    let mut u = Unstructured::new(data);
    let pairs: Vec<(GenKey, GenValue)> = u.arbitrary()?;
    Ok(build_map(pairs, 1))
}
