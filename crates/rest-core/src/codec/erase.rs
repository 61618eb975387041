//! A deserializer that borrows its input for a short lifetime `'s`, presented as one that
//! works for any lifetime `'de`.
//!
//! LIST bodies are decoded item by item with simd-json, from a scratch buffer that lives
//! only while one item is decoded, but serde hands out the seeds for those items with the
//! lifetime of the whole body. [`Erase`] bridges the two soundly: it never lends out data
//! borrowed from its input. A borrowed string or byte slice is offered to the visitor as
//! a transient one (`visit_str` instead of `visit_borrowed_str`), which the visitor copies
//! if it keeps it, as every owned (`DeserializeOwned`) type does anyway.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

/// `D`, a deserializer for `'s`, as a deserializer for any `'de`.
pub(crate) struct Erase<'s, D>(D, PhantomData<&'s ()>);

impl<D> Erase<'_, D> {
    pub(crate) fn new(inner: D) -> Self {
        Erase(inner, PhantomData)
    }
}

struct EraseVisitor<'de, V>(V, PhantomData<&'de ()>);
struct EraseSeed<'de, S>(S, PhantomData<&'de ()>);
struct EraseSeq<'s, A>(A, PhantomData<&'s ()>);
struct EraseMap<'s, A>(A, PhantomData<&'s ()>);
struct EraseEnum<'s, A>(A, PhantomData<&'s ()>);
struct EraseVariant<'s, A>(A, PhantomData<&'s ()>);

fn visitor<'de, V>(v: V) -> EraseVisitor<'de, V> {
    EraseVisitor(v, PhantomData)
}

fn seed<'de, S>(s: S) -> EraseSeed<'de, S> {
    EraseSeed(s, PhantomData)
}

macro_rules! forward_deserialize {
    ($($method:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
            self.0.$method(visitor(v))
        }
    )*};
}

impl<'de, 's, D: Deserializer<'s>> Deserializer<'de> for Erase<'s, D> {
    type Error = D::Error;

    forward_deserialize!(
        deserialize_any,
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, visitor(v))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, visitor(v))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, visitor(v))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, visitor(v))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_struct(name, fields, visitor(v))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, visitor(v))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty)),*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.0.$method(v)
        }
    )*};
}

impl<'s, 'de, V: Visitor<'de>> Visitor<'s> for EraseVisitor<'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    forward_visit!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
        visit_str(&str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_byte_buf(Vec<u8>)
    );

    // Borrowed input does not outlive one item: hand it over as transient.
    fn visit_borrowed_str<E: de::Error>(self, v: &'s str) -> Result<Self::Value, E> {
        self.0.visit_str(v)
    }

    fn visit_borrowed_bytes<E: de::Error>(self, v: &'s [u8]) -> Result<Self::Value, E> {
        self.0.visit_bytes(v)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_unit()
    }

    fn visit_some<D: Deserializer<'s>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_some(Erase::new(d))
    }

    fn visit_newtype_struct<D: Deserializer<'s>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_newtype_struct(Erase::new(d))
    }

    fn visit_seq<A: SeqAccess<'s>>(self, a: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(EraseSeq(a, PhantomData))
    }

    fn visit_map<A: MapAccess<'s>>(self, a: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(EraseMap(a, PhantomData))
    }

    fn visit_enum<A: EnumAccess<'s>>(self, a: A) -> Result<Self::Value, A::Error> {
        self.0.visit_enum(EraseEnum(a, PhantomData))
    }
}

impl<'s, 'de, S: DeserializeSeed<'de>> DeserializeSeed<'s> for EraseSeed<'de, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'s>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Erase::new(d))
    }
}

impl<'de, 's, A: SeqAccess<'s>> SeqAccess<'de> for EraseSeq<'s, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        s: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(seed(s))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, 's, A: MapAccess<'s>> MapAccess<'de> for EraseMap<'s, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        s: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(seed(s))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, s: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(seed(s))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, 's, A: EnumAccess<'s>> EnumAccess<'de> for EraseEnum<'s, A> {
    type Error = A::Error;
    type Variant = EraseVariant<'s, A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        s: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        let (value, variant) = self.0.variant_seed(seed(s))?;
        Ok((value, EraseVariant(variant, PhantomData)))
    }
}

impl<'de, 's, A: VariantAccess<'s>> VariantAccess<'de> for EraseVariant<'s, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, s: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(seed(s))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, visitor(v))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, visitor(v))
    }
}
