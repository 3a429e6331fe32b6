//! Unit tests for the serde conversions, one file per direction.

mod from_value;
mod to_value;
mod value_impls;

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::value::{BigInt, Map, Value};

/// Bytes that serialize with `serialize_bytes`, like `serde_bytes::ByteBuf`.
#[derive(Debug, PartialEq)]
struct ByteBuf(Vec<u8>);

impl Serialize for ByteBuf {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ByteBuf;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.to_vec()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<ByteBuf, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = seq.next_element()? {
                    out.push(b);
                }
                Ok(ByteBuf(out))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

fn big(digits: &str) -> Value {
    Value::BigInt(BigInt::parse(digits).unwrap())
}

fn s(text: &str) -> Value {
    Value::Str(text.to_owned())
}

fn dict<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Dict(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<Map>(),
    )
}

/// A session-like struct exercising most shapes at once.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Profile {
    user_id: u64,
    name: String,
    admin: bool,
    score: f64,
    nickname: Option<String>,
    flashes: Vec<(String, String)>,
    role: Role,
    prefs: std::collections::BTreeMap<u32, Shape>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Role {
    Guest,
    Member(u32),
    Pair(i8, String),
    Staff { level: u8, teams: Vec<String> },
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Shape {
    Dot,
    Circle { r: f64 },
}

fn profile() -> Profile {
    Profile {
        user_id: u64::MAX,
        name: "Ada".into(),
        admin: false,
        score: -1.5,
        nickname: None,
        flashes: vec![("info".into(), "Welcome".into())],
        role: Role::Staff {
            level: 3,
            teams: vec!["core".into()],
        },
        prefs: [(1, Shape::Dot), (20, Shape::Circle { r: 2.0 })]
            .into_iter()
            .collect(),
    }
}
