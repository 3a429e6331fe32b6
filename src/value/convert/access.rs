//! The `MapAccess` and `EnumAccess` that the [`Value`] deserializer hands to visitors.

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, Visitor};

use super::key::KeyDeserializer;
use super::ValueError;
use crate::value::{Map, Value};

/// Walks a dict, lending out keys and values.
pub(super) struct DictAccess<'de> {
    iter: std::collections::btree_map::Iter<'de, String, Value>,
    value: Option<&'de Value>,
}

impl<'de> DictAccess<'de> {
    pub(super) fn new(map: &'de Map) -> Self {
        DictAccess {
            iter: map.iter(),
            value: None,
        }
    }
}

impl<'de> de::MapAccess<'de> for DictAccess<'de> {
    type Error = ValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(KeyDeserializer(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, ValueError> {
        match self.value.take() {
            Some(value) => seed.deserialize(value),
            None => Err(ValueError(
                "a dict value was requested before its key: this is a bug in the type's Deserialize implementation".to_owned(),
            )),
        }
    }

    fn next_entry_seed<K, S>(
        &mut self,
        kseed: K,
        vseed: S,
    ) -> Result<Option<(K::Value, S::Value)>, ValueError>
    where
        K: DeserializeSeed<'de>,
        S: DeserializeSeed<'de>,
    {
        match self.iter.next() {
            Some((key, value)) => Ok(Some((
                kseed.deserialize(KeyDeserializer(key))?,
                vseed.deserialize(value)?,
            ))),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// An enum read from a str (unit variant) or a one-key dict.
pub(super) struct EnumAccess<'de> {
    pub(super) variant: &'de str,
    pub(super) contents: Option<&'de Value>,
}

impl<'de> de::EnumAccess<'de> for EnumAccess<'de> {
    type Error = ValueError;
    type Variant = VariantAccess<'de>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), ValueError> {
        let name = seed.deserialize(BorrowedStrDeserializer::<ValueError>::new(self.variant))?;
        Ok((name, VariantAccess(self.contents)))
    }
}

/// The contents of a variant: `None` when the enum was a bare str.
pub(super) struct VariantAccess<'de>(Option<&'de Value>);

impl VariantAccess<'_> {
    fn missing(&self, what: &str) -> ValueError {
        ValueError(format!(
            "expected {what} as a one-key dict {{variant: contents}}, found a str naming the variant"
        ))
    }
}

impl<'de> de::VariantAccess<'de> for VariantAccess<'de> {
    type Error = ValueError;

    fn unit_variant(self) -> Result<(), ValueError> {
        match self.0 {
            None | Some(Value::Null) => Ok(()),
            Some(other) => Err(ValueError::mismatch(
                "None as the contents of a unit variant",
                other,
            )),
        }
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<S::Value, ValueError> {
        match self.0 {
            Some(value) => seed.deserialize(value),
            None => Err(self.missing("a newtype variant")),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.0 {
            Some(value) => de::Deserializer::deserialize_seq(value, visitor),
            None => Err(self.missing("a tuple variant")),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.0 {
            Some(value) => de::Deserializer::deserialize_struct(value, "", fields, visitor),
            None => Err(self.missing("a struct variant")),
        }
    }
}
