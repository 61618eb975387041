//! A whole LIST body decoded into any `T`: the object's members with serde_json, and each
//! element of its `items` array with simd-json, one item at a time.
//!
//! A body over [`SIMD_MAX`] is too large for simd-json in one go (its tape would be many
//! times the body), and serde_json alone grows every `Vec` by doubling: a 10,000-pod LIST
//! (75 MB) decoded whole held 51.4 KB per pod that way, against 44.8 KB when each pod is
//! decoded by simd-json, which knows every array's length. So `Response::into` walks the
//! top-level object itself: the value of `items` is handed to `T` as a sequence whose
//! elements simd-json decodes from a small reused buffer (through [`Erase`], since serde
//! gives those elements the lifetime of the whole body), and every other member is decoded
//! by serde_json from its slice. Anything unexpected (not an object, a malformed value, an
//! item `T` refuses) ends the attempt, and the caller decodes the body with serde_json,
//! whose error names the offset.

use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

use crate::decode::{Decoder, SIMD_MAX};
use crate::erase::Erase;
use crate::scan::{Scan, ValueScanner, is_ws};

type Error = serde_json::Error;

fn fail(what: impl std::fmt::Display) -> Error {
    de::Error::custom(what)
}

/// `bytes` as a `T` if it is a JSON object with an `items` array and every part decodes;
/// `None` otherwise (the caller then decodes it with serde_json).
pub(crate) fn try_decode<T: DeserializeOwned>(bytes: &[u8], decoder: &mut Decoder) -> Option<T> {
    // Not a list at all: serde_json alone is cheaper than walking the members.
    memchr::memmem::find(bytes, b"\"items\"")?;
    let start = skip_ws(bytes, 0);
    if bytes.get(start) != Some(&b'{') {
        return None;
    }
    let mut end = None;
    let value = T::deserialize(Object {
        bytes,
        pos: start + 1,
        first: true,
        pending: None,
        end: &mut end,
        decoder,
    })
    .ok()?;
    let end = end?;
    (skip_ws(bytes, end) == bytes.len()).then_some(value)
}

fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while pos < bytes.len() && is_ws(bytes[pos]) {
        pos += 1;
    }
    pos
}

/// Where the JSON value starting at `pos` ends.
fn value_end(bytes: &[u8], pos: usize) -> Result<usize, Error> {
    match ValueScanner::default().scan(&bytes[pos..], 0) {
        Scan::Complete(n) if n > 0 => Ok(pos + n),
        _ => Err(fail("incomplete value")),
    }
}

/// The top-level object, as a deserializer and as the map of its members.
struct Object<'de, 'd> {
    bytes: &'de [u8],
    /// Just after `{`, or after the last member read.
    pos: usize,
    first: bool,
    /// The range of the value of the key just read, and whether the key was `items`.
    pending: Option<(usize, usize, bool)>,
    /// Just after the closing `}`, once it is reached.
    end: &'d mut Option<usize>,
    decoder: &'d mut Decoder,
}

impl<'de> de::Deserializer<'de> for Object<'de, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_map(self)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> MapAccess<'de> for Object<'de, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let bytes = self.bytes;
        let mut pos = skip_ws(bytes, self.pos);
        match bytes.get(pos) {
            Some(b'}') => {
                *self.end = Some(pos + 1);
                return Ok(None);
            }
            Some(b',') if !self.first => pos = skip_ws(bytes, pos + 1),
            Some(b'"') if self.first => {}
            _ => return Err(fail("expected a member")),
        }
        self.first = false;
        if bytes.get(pos) != Some(&b'"') {
            return Err(fail("expected a key"));
        }
        let key_end = value_end(bytes, pos)?;
        let raw = &bytes[pos..key_end];
        let inner = &raw[1..raw.len() - 1];
        let (key, is_items) = if inner.contains(&b'\\') {
            let key: String = serde_json::from_slice(raw)?;
            let is_items = key == "items";
            (
                seed.deserialize(StringDeserializer::<Error>::new(key))?,
                is_items,
            )
        } else {
            let key = std::str::from_utf8(inner).map_err(fail)?;
            (
                seed.deserialize(BorrowedStrDeserializer::<Error>::new(key))?,
                key == "items",
            )
        };
        pos = skip_ws(bytes, key_end);
        if bytes.get(pos) != Some(&b':') {
            return Err(fail("expected ':'"));
        }
        let value_start = skip_ws(bytes, pos + 1);
        let end = value_end(bytes, value_start)?;
        self.pending = Some((value_start, end, is_items));
        self.pos = end;
        Ok(Some(key))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let (start, end, is_items) = self.pending.take().ok_or_else(|| fail("no key"))?;
        let value = &self.bytes[start..end];
        if is_items && value.first() == Some(&b'[') {
            return seed.deserialize(Items {
                bytes: value,
                pos: 1,
                first: true,
                decoder: self.decoder,
            });
        }
        let mut de = serde_json::Deserializer::from_slice(value);
        let v = seed.deserialize(&mut de)?;
        de.end()?;
        Ok(v)
    }
}

/// The `items` array, as a deserializer and as the sequence of its elements.
struct Items<'de, 'd> {
    bytes: &'de [u8],
    /// Just after `[`, or after the last element read.
    pos: usize,
    first: bool,
    decoder: &'d mut Decoder,
}

impl<'de> de::Deserializer<'de> for Items<'de, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_seq(self)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> SeqAccess<'de> for Items<'de, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let bytes = self.bytes;
        let mut pos = skip_ws(bytes, self.pos);
        match bytes.get(pos) {
            Some(b']') => return Ok(None),
            Some(b',') if !self.first => pos = skip_ws(bytes, pos + 1),
            Some(_) if self.first => {}
            _ => return Err(fail("expected an item")),
        }
        self.first = false;
        let end = value_end(bytes, pos)?;
        self.pos = end;
        let item = &bytes[pos..end];
        if item.len() > SIMD_MAX {
            let mut de = serde_json::Deserializer::from_slice(item);
            let v = seed.deserialize(&mut de)?;
            de.end()?;
            return Ok(Some(v));
        }
        self.decoder
            .decode_seed(item, |de| seed.deserialize(Erase::new(de)).map_err(fail))
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::{Value, json};

    fn coredns() -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testserver/data/bench/coredns-pod.json");
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    /// A PodList of `n` realistic pods, each with its own name.
    fn pod_list(n: usize) -> Value {
        let items: Vec<Value> = (0..n)
            .map(|i| {
                let mut p = coredns();
                p["metadata"]["name"] = json!(format!("coredns-{i}"));
                p
            })
            .collect();
        json!({"kind": "PodList", "apiVersion": "v1",
            "metadata": {"resourceVersion": "42", "continue": "token"}, "items": items})
    }

    fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
        try_decode(bytes, &mut Decoder::default())
    }

    #[test]
    fn a_large_list_decodes_exactly_as_serde_json_decodes_it() {
        let list = pod_list(20);
        for body in [
            serde_json::to_vec(&list).unwrap(),
            serde_json::to_vec_pretty(&list).unwrap(),
        ] {
            assert!(body.len() > SIMD_MAX);
            let want: k8s_openapi::List<Pod> = serde_json::from_slice(&body).unwrap();
            let got: k8s_openapi::List<Pod> = decode(&body).expect("the list path");
            assert_eq!(got.items, want.items);
            assert_eq!(got.metadata, want.metadata);
            assert_eq!(got.items[19].metadata.name.as_deref(), Some("coredns-19"));
            let want: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(decode::<Value>(&body), Some(want));
        }
    }

    #[test]
    fn keys_with_escapes_and_members_in_any_order() {
        let body = br#" {"ki\u006ed": "L", "items": [{"a": 1}, {"a": "\u00e9"}], "n": null} "#;
        let want: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(decode::<Value>(body), Some(want));
        let body = br#"{"items": null, "other": {"items": [1]}}"#;
        let want: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(decode::<Value>(body), Some(want));
        assert_eq!(
            decode::<Value>(br#"{"items":[]}"#),
            Some(json!({"items": []}))
        );
    }

    #[test]
    fn anything_else_is_left_to_serde_json() {
        for body in [
            &br#"["items"]"#[..],
            br#"{"it\u0065ms": [1]}"#,
            br#"{"kind": "x"}"#,
            br#"{"items": [1, 2] "#,
            br#"{"items": [1, 2]} x"#,
            br#"{"items": [1 2]}"#,
            br#"{"items": [1,]}"#,
            br#"{"items": [1], }"#,
            br#"{, "items": [1]}"#,
            br#"{"items" [1]}"#,
            b"{\"items\": [\"\xff\"]}",
        ] {
            assert_eq!(
                decode::<Value>(body),
                None,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        // A well-formed list whose items are not the type.
        #[derive(serde::Deserialize, Debug)]
        struct Named {
            #[allow(dead_code)]
            items: Vec<String>,
        }
        assert!(decode::<Named>(br#"{"items": ["a", 1]}"#).is_none());
        assert!(decode::<Named>(br#"{"items": ["a", "b"]}"#).is_some());
    }
}
