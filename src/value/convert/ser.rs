//! A serde `Serializer` that builds a [`Value`] directly.

use std::fmt::Display;

use serde::ser::{self, Impossible, Serialize};

use super::ValueError;
use crate::value::{Map, Value};

/// Builds a [`Value`]; see [`to_value`](super::to_value) for the mapping.
pub(super) struct ValueSerializer;

/// A one-entry dict `{variant: inner}`, the shape of non-unit enum variants.
fn single(variant: &str, inner: Value) -> Value {
    let mut map = Map::new();
    map.insert(variant.to_owned(), inner);
    Value::Dict(map)
}

fn with_capacity(len: Option<usize>) -> Vec<Value> {
    Vec::with_capacity(len.unwrap_or(0).min(super::MAX_PREALLOC))
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = ValueError;
    type SerializeSeq = SeqSer;
    type SerializeTuple = SeqSer;
    type SerializeTupleStruct = SeqSer;
    type SerializeTupleVariant = VariantSer<SeqSer>;
    type SerializeMap = MapSer;
    type SerializeStruct = MapSer;
    type SerializeStructVariant = VariantSer<MapSer>;

    fn serialize_bool(self, v: bool) -> Result<Value, ValueError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, ValueError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, ValueError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, ValueError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, ValueError> {
        Ok(Value::Int(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, ValueError> {
        Ok(Value::from(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, ValueError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, ValueError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, ValueError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, ValueError> {
        Ok(Value::from(v))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, ValueError> {
        Ok(Value::from(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, ValueError> {
        Ok(Value::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, ValueError> {
        Ok(Value::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, ValueError> {
        Ok(Value::Str(v.into()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, ValueError> {
        Ok(Value::Str(v.to_owned()))
    }
    fn collect_str<T: Display + ?Sized>(self, v: &T) -> Result<Value, ValueError> {
        Ok(Value::Str(v.to_string()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, ValueError> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, ValueError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, ValueError> {
        Ok(Value::Str(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<Value, ValueError> {
        let inner = v.serialize(self)?;
        Ok(super::tagged::untag(name, inner))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Value, ValueError> {
        Ok(single(variant, v.serialize(self)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSer, ValueError> {
        Ok(SeqSer {
            items: with_capacity(len),
            tuple: false,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer, ValueError> {
        Ok(SeqSer {
            items: with_capacity(Some(len)),
            tuple: true,
        })
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqSer, ValueError> {
        self.serialize_tuple(len)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantSer<SeqSer>, ValueError> {
        Ok(VariantSer {
            variant,
            inner: self.serialize_tuple(len)?,
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapSer, ValueError> {
        Ok(MapSer {
            map: Map::new(),
            key: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<MapSer, ValueError> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<VariantSer<MapSer>, ValueError> {
        Ok(VariantSer {
            variant,
            inner: self.serialize_map(None)?,
        })
    }
}

/// Collects a sequence: a list, or a tuple for Rust tuples and tuple structs.
pub(super) struct SeqSer {
    items: Vec<Value>,
    tuple: bool,
}

impl SeqSer {
    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.items.push(v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn finish(self) -> Value {
        if self.tuple {
            Value::Tuple(self.items)
        } else {
            Value::List(self.items)
        }
    }
}

impl ser::SerializeSeq for SeqSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.push(v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for SeqSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.push(v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for SeqSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.push(v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(self.finish())
    }
}

/// Collects a dict, from a map or the fields of a struct.
pub(super) struct MapSer {
    map: Map,
    key: Option<String>,
}

impl ser::SerializeMap for MapSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ValueError> {
        self.key = Some(key.serialize(KeySer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        let key = self.key.take().ok_or_else(|| {
            ValueError("a map value was serialized before its key: this is a bug in the type's Serialize implementation".to_owned())
        })?;
        self.map.insert(key, v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn serialize_entry<K, V>(&mut self, key: &K, v: &V) -> Result<(), ValueError>
    where
        K: Serialize + ?Sized,
        V: Serialize + ?Sized,
    {
        let key = key.serialize(KeySer)?;
        self.map.insert(key, v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Dict(self.map))
    }
}

impl ser::SerializeStruct for MapSer {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), ValueError> {
        self.map
            .insert(key.to_owned(), v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Dict(self.map))
    }
}

/// A tuple or struct variant: its contents, wrapped in `{variant: ...}` at the end.
pub(super) struct VariantSer<S> {
    variant: &'static str,
    inner: S,
}

impl ser::SerializeTupleVariant for VariantSer<SeqSer> {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ValueError> {
        self.inner.push(v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(single(self.variant, self.inner.finish()))
    }
}

impl ser::SerializeStructVariant for VariantSer<MapSer> {
    type Ok = Value;
    type Error = ValueError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), ValueError> {
        ser::SerializeStruct::serialize_field(&mut self.inner, key, v)
    }
    fn end(self) -> Result<Value, ValueError> {
        Ok(single(self.variant, Value::Dict(self.inner.map)))
    }
}

/// Turns a map key into a dict key string, the way Python's `json` module does for
/// integer and bool keys.
struct KeySer;

macro_rules! key_to_string {
    ($($method:ident: $t:ty),*) => {$(
        fn $method(self, v: $t) -> Result<String, ValueError> {
            Ok(v.to_string())
        }
    )*};
}

macro_rules! key_rejects {
    ($($method:ident($($arg:ty),*) -> $ret:ty: $what:literal),*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<$ret, ValueError> {
            Err(ValueError::bad_key($what))
        }
    )*};
}

impl ser::Serializer for KeySer {
    type Ok = String;
    type Error = ValueError;
    type SerializeSeq = Impossible<String, ValueError>;
    type SerializeTuple = Impossible<String, ValueError>;
    type SerializeTupleStruct = Impossible<String, ValueError>;
    type SerializeTupleVariant = Impossible<String, ValueError>;
    type SerializeMap = Impossible<String, ValueError>;
    type SerializeStruct = Impossible<String, ValueError>;
    type SerializeStructVariant = Impossible<String, ValueError>;

    key_to_string!(
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
        serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_char: char
    );
    key_rejects!(
        serialize_f32(f32) -> String: "a float",
        serialize_f64(f64) -> String: "a float",
        serialize_bytes(&[u8]) -> String: "a bytes",
        serialize_none() -> String: "a None",
        serialize_unit() -> String: "a unit",
        serialize_unit_struct(&'static str) -> String: "a unit struct",
        serialize_seq(Option<usize>) -> Self::SerializeSeq: "a sequence",
        serialize_tuple(usize) -> Self::SerializeTuple: "a tuple",
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct: "a tuple struct",
        serialize_tuple_variant(&'static str, u32, &'static str, usize)
            -> Self::SerializeTupleVariant: "an enum",
        serialize_map(Option<usize>) -> Self::SerializeMap: "a map",
        serialize_struct(&'static str, usize) -> Self::SerializeStruct: "a struct",
        serialize_struct_variant(&'static str, u32, &'static str, usize)
            -> Self::SerializeStructVariant: "an enum"
    );

    fn serialize_str(self, v: &str) -> Result<String, ValueError> {
        Ok(v.to_owned())
    }
    fn collect_str<T: Display + ?Sized>(self, v: &T) -> Result<String, ValueError> {
        Ok(v.to_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _v: &T) -> Result<String, ValueError> {
        Err(ValueError::bad_key("an Option"))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, ValueError> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<String, ValueError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _v: &T,
    ) -> Result<String, ValueError> {
        Err(ValueError::bad_key("an enum"))
    }
}
