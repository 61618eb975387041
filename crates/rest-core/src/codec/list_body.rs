//! A large body decoded into any `T` by `Response::into`, from the chunks it arrived in:
//! the top-level object's members one at a time, each element of its `items` array with
//! simd-json, and each chunk freed as soon as the walk has passed it.
//!
//! Decoding a 10,000-pod LIST (75 MB) in one go cost either way: serde_json grows every
//! `Vec` by doubling (51.4 KB held per pod, against 44.8 KB when simd-json decodes the pod,
//! because it knows every array's length), and simd-json's tape for the whole body peaked
//! at 1,165 MB. Holding the body while the pods are built adds its 75 MB to the peak. So
//! the walk takes one value at a time into a small window: an element of `items` goes
//! through the reused simd-json [`Decoder`], any other member through serde_json, both
//! through [`Erase`] because serde gives them the lifetime of the whole body while the
//! window lives for one value. A body that is not an object is left to the caller (nothing
//! has been consumed then); a failure later is reported with the offset of the value that
//! failed, serde_json's position inside it when it has one, and an excerpt.

use std::collections::VecDeque;

use bytes::{Buf, Bytes};
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

use crate::codec::decode::{Decoder, SIMD_MAX};
use crate::codec::erase::Erase;
use crate::codec::scan::{Scan, ValueScanner, is_ws};
use crate::error::Error;
use crate::read::response::{decode_at, decode_error};
use crate::status::excerpt;

type DeError = serde_json::Error;

fn fail(what: impl std::fmt::Display) -> DeError {
    de::Error::custom(what)
}

/// `chunks` (the whole body) as a `T`; `Err(chunks)` back, untouched, when the body does
/// not start with an object.
pub(crate) fn decode<T: DeserializeOwned>(
    url: &str,
    chunks: VecDeque<Bytes>,
    decoder: &mut Decoder,
) -> Result<crate::error::Result<T>, VecDeque<Bytes>> {
    let mut cursor = Cursor {
        chunks,
        offset: 0,
        window: Vec::new(),
    };
    if cursor.peek() != Some(b'{') {
        return Err(cursor.chunks);
    }
    let mut walk = Walk {
        url,
        cursor,
        decoder,
        failure: None,
        entered: false,
    };
    let result = T::deserialize(Object {
        walk: &mut walk,
        first: true,
        pending_items: false,
    });
    Ok(match result {
        Ok(value) => match walk.cursor.peek() {
            None => Ok(value),
            Some(_) => Err(walk.structure_error("trailing data after the object")),
        },
        // `T` wanted something other than a map (an externally tagged enum): nothing has
        // been consumed, so serde_json can have the body.
        Err(_) if !walk.entered => return Err(walk.cursor.chunks),
        Err(e) => Err(walk
            .failure
            .take()
            .unwrap_or_else(|| walk.structure_error(e))),
    })
}

/// The body not yet walked: its chunks, the offset of the first one's first byte in the
/// body, and the window the current value is copied into.
struct Cursor {
    chunks: VecDeque<Bytes>,
    offset: u64,
    window: Vec<u8>,
}

impl Cursor {
    /// The next byte that is not whitespace, dropping the chunks passed on the way.
    fn peek(&mut self) -> Option<u8> {
        loop {
            let chunk = self.chunks.front_mut()?;
            let ws = chunk.iter().take_while(|b| is_ws(**b)).count();
            self.offset += ws as u64;
            chunk.advance(ws);
            if let Some(&b) = chunk.first() {
                return Some(b);
            }
            self.chunks.pop_front();
        }
    }

    /// Steps over the byte [`peek`](Self::peek) returned.
    fn advance(&mut self) {
        if let Some(chunk) = self.chunks.front_mut() {
            chunk.advance(1);
            self.offset += 1;
        }
    }

    /// Copies the next value (which starts at the next byte) into the window and steps
    /// over it; returns the value's offset in the body.
    fn take_value(&mut self) -> Result<u64, DeError> {
        let start = self.offset;
        self.window.clear();
        let mut scanner = ValueScanner::default();
        // Most values end in the chunk they start in: scan there, copy only the value.
        if let Some(chunk) = self.chunks.front_mut() {
            if let Scan::Complete(end) = scanner.scan(chunk, 0) {
                self.window.extend_from_slice(&chunk[..end]);
                chunk.advance(end);
                self.offset += end as u64;
                return Ok(start);
            }
            self.window.extend_from_slice(chunk);
            self.offset += chunk.len() as u64;
            self.chunks.pop_front();
        }
        loop {
            let Some(chunk) = self.chunks.front_mut() else {
                return Err(fail("the body ends inside a value"));
            };
            let before = self.window.len();
            self.window.extend_from_slice(chunk);
            match scanner.scan(&self.window, before) {
                Scan::Complete(end) => {
                    let used = end - before;
                    self.window.truncate(end);
                    chunk.advance(used);
                    self.offset += used as u64;
                    return Ok(start);
                }
                Scan::Incomplete => {
                    self.offset += chunk.len() as u64;
                    self.chunks.pop_front();
                }
            }
        }
    }
}

struct Walk<'u, 'd> {
    url: &'u str,
    cursor: Cursor,
    decoder: &'d mut Decoder,
    /// The first failure, with its place in the body.
    failure: Option<Error>,
    /// Whether the walk has stepped into the object (and so consumed part of the body).
    entered: bool,
}

impl Walk<'_, '_> {
    fn structure_error(&mut self, what: impl std::fmt::Display) -> Error {
        let near: Vec<u8> = self
            .cursor
            .chunks
            .front()
            .map(|c| c[..c.len().min(200)].to_vec())
            .unwrap_or_default();
        Error::Decode {
            url: self.url.to_owned(),
            body_excerpt: excerpt(&near, 200),
            offset: Some(self.cursor.offset),
            source: what.to_string().into(),
        }
    }

    /// Records why the value in the window (at `base`) failed: serde_json's own error,
    /// which places it inside the value, else `e` at the value's start.
    fn value_failed(&mut self, base: u64, e: DeError) -> DeError {
        let window = &self.cursor.window;
        let placed = serde_json::from_slice::<de::IgnoredAny>(window)
            .err()
            .unwrap_or(e);
        let err = if placed.line() == 0 {
            // No position inside the value (simd-json's errors have none): its start.
            Error::Decode {
                url: self.url.to_owned(),
                body_excerpt: excerpt(window, 200),
                offset: Some(base),
                source: Box::new(placed),
            }
        } else {
            decode_error(self.url, window, placed, base)
        };
        self.failure.get_or_insert(err);
        fail("a value failed; see the recorded error")
    }

    /// The value in the window through serde_json. Like a small body, it must be UTF-8
    /// throughout: `from_slice` does not check the strings it skips, so a member `T` ignores
    /// was accepted with bytes a small body is refused for (found by the `list_body` fuzz
    /// target).
    fn json_value<'de, S: DeserializeSeed<'de>>(
        &mut self,
        base: u64,
        seed: S,
    ) -> Result<S::Value, DeError> {
        let Ok(text) = std::str::from_utf8(&self.cursor.window) else {
            if let Err(e) = decode_at::<de::IgnoredAny>(self.url, &self.cursor.window, base) {
                self.failure.get_or_insert(e);
            }
            return Err(fail("a value is not UTF-8; see the recorded error"));
        };
        let mut de = serde_json::Deserializer::from_str(text);
        match seed
            .deserialize(Erase::new(&mut de))
            .and_then(|v| de.end().map(|()| v))
        {
            Ok(v) => Ok(v),
            Err(e) => Err(self.value_failed(base, e)),
        }
    }
}

/// Takes the first key of a map with a seed.
struct FirstKey<S>(S);

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for FirstKey<S> {
    type Value = S::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<S::Value, A::Error> {
        let key = map
            .next_key_seed(self.0)?
            .ok_or_else(|| de::Error::custom("no key"))?;
        map.next_value::<de::IgnoredAny>()?;
        Ok(key)
    }
}

/// The top-level object, as a deserializer and as the map of its members.
struct Object<'w, 'u, 'd> {
    walk: &'w mut Walk<'u, 'd>,
    first: bool,
    /// Whether the key just read is `items`.
    pending_items: bool,
}

impl<'de> de::Deserializer<'de> for Object<'_, '_, '_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.walk.cursor.advance();
        self.walk.entered = true;
        visitor.visit_map(self)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, DeError> {
        Err(fail("an enum: left to serde_json"))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

impl<'de> MapAccess<'de> for Object<'_, '_, '_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let cursor = &mut self.walk.cursor;
        match cursor.peek() {
            Some(b'}') => {
                cursor.advance();
                return Ok(None);
            }
            Some(b',') if !self.first => {
                cursor.advance();
            }
            Some(b'"') if self.first => {}
            _ => return Err(fail("expected a member of the object")),
        }
        self.first = false;
        if cursor.peek() != Some(b'"') {
            return Err(fail("expected a key"));
        }
        cursor.take_value()?;
        let raw = &cursor.window;
        self.pending_items = if raw.contains(&b'\\') {
            serde_json::from_slice::<String>(raw)? == "items"
        } else {
            raw.as_slice() == b"\"items\""
        };
        // serde_json's own map-key rules (integer keys, escapes, control characters): the
        // key is read as the only key of a tiny object.
        let mut object = Vec::with_capacity(raw.len() + 4);
        object.push(b'{');
        object.extend_from_slice(raw);
        object.extend_from_slice(b":0}");
        let mut de = serde_json::Deserializer::from_slice(&object);
        let key = de::Deserializer::deserialize_map(Erase::new(&mut de), FirstKey(seed))?;
        if cursor.peek() != Some(b':') {
            return Err(fail("expected ':' after a key"));
        }
        cursor.advance();
        if cursor.peek().is_none() {
            return Err(fail("the body ends after a key"));
        }
        Ok(Some(key))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        if std::mem::take(&mut self.pending_items) && self.walk.cursor.peek() == Some(b'[') {
            self.walk.cursor.advance();
            return seed.deserialize(Items {
                walk: self.walk,
                first: true,
            });
        }
        let base = self.walk.cursor.take_value()?;
        self.walk.json_value(base, seed)
    }
}

/// The `items` array, as a deserializer and as the sequence of its elements.
struct Items<'w, 'u, 'd> {
    walk: &'w mut Walk<'u, 'd>,
    first: bool,
}

impl<'de> de::Deserializer<'de> for Items<'_, '_, '_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_seq(self)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> SeqAccess<'de> for Items<'_, '_, '_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let cursor = &mut self.walk.cursor;
        match cursor.peek() {
            Some(b']') => {
                cursor.advance();
                return Ok(None);
            }
            Some(b',') if !self.first => cursor.advance(),
            Some(_) if self.first => {}
            _ => return Err(fail("expected an element of items")),
        }
        self.first = false;
        if cursor.peek().is_none() {
            return Err(fail("the body ends inside items"));
        }
        let base = cursor.take_value()?;
        if cursor.window.len() > SIMD_MAX {
            return self.walk.json_value(base, seed).map(Some);
        }
        let walk = &mut *self.walk;
        let mut seed = Some(seed);
        let decoded = walk.decoder.with_tape(&walk.cursor.window, |de| {
            seed.take().map(|s| s.deserialize(Erase::new(de)))
        });
        match (decoded.flatten(), seed) {
            (Some(Ok(v)), _) => Ok(Some(v)),
            (Some(Err(e)), _) => Err(walk.value_failed(base, fail(e))),
            // simd-json could not parse it (a number beyond its range, say): serde_json
            // decides, as it does for a small body.
            (None, Some(seed)) => walk.json_value(base, seed).map(Some),
            (None, None) => Err(fail("an item was decoded twice")),
        }
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

    /// `bytes` through the chunked walk, cut into chunks of every size in `sizes`; all
    /// must agree. `None` when the walk left the body to serde_json or failed.
    fn decode<T: DeserializeOwned + PartialEq + std::fmt::Debug>(bytes: &[u8]) -> Option<T> {
        let mut results = [1, 7, 64, 4096, usize::MAX].map(|size| {
            let chunks: VecDeque<Bytes> = bytes
                .chunks(size.min(bytes.len().max(1)))
                .map(Bytes::copy_from_slice)
                .collect();
            super::decode::<T>("http://x/list", chunks, &mut Decoder::default())
                .ok()
                .and_then(Result::ok)
        });
        for r in &results[1..] {
            assert_eq!(r, &results[0]);
        }
        results[0].take()
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
            let got: k8s_openapi::List<Pod> = decode_list(&body).expect("the list path");
            assert_eq!(got.items, want.items);
            assert_eq!(got.metadata, want.metadata);
            assert_eq!(got.items[19].metadata.name.as_deref(), Some("coredns-19"));
            let want: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(decode::<Value>(&body), Some(want));
        }
    }

    /// `decode` for a type without `PartialEq` on the list (k8s-openapi's `List`).
    fn decode_list(bytes: &[u8]) -> Option<k8s_openapi::List<Pod>> {
        let chunks: VecDeque<Bytes> = bytes.chunks(5000).map(Bytes::copy_from_slice).collect();
        super::decode("u", chunks, &mut Decoder::default())
            .ok()?
            .ok()
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
        for body in [
            &br#"{"it\u0065ms": [1, {"b": [2]}]}"#[..],
            br#"{"kind": "x", "data": {"k": "v"}}"#,
            br#"{}"#,
            br#" { "items" : [ ] , "x" : 1 } "#,
        ] {
            let want: Value = serde_json::from_slice(body).unwrap();
            assert_eq!(
                decode::<Value>(body),
                Some(want),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    /// Found in review: what serde_json accepts in a small body, a large one accepts too.
    #[test]
    fn large_bodies_accept_what_serde_json_accepts() {
        let padding = "x".repeat(SIMD_MAX);
        let big = |inner: &str| format!(r#"{{"pad": "{padding}", {inner}}}"#).into_bytes();
        let chunked = |body: &[u8]| -> VecDeque<Bytes> {
            body.chunks(1000).map(Bytes::copy_from_slice).collect()
        };

        // A number simd-json cannot parse, inside an item: serde_json decodes that item.
        let body = big(r#""items": [{"n": 123456789012345678901234567890}, {"n": 1}]"#);
        let want: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(decode::<Value>(&body), Some(want));

        // Integer keys, as serde_json reads them.
        let body = big(r#""1": "a", "22": "b""#);
        let body = String::from_utf8(body)
            .unwrap()
            .replace(r#""pad""#, r#""3""#);
        let want: std::collections::BTreeMap<u32, String> = serde_json::from_str(&body).unwrap();
        let got: std::collections::BTreeMap<u32, String> =
            crate::codec::decode::decode_chunks("u", chunked(body.as_bytes())).unwrap();
        assert_eq!(got, want);

        // A top-level externally tagged enum is left to serde_json, untouched.
        #[derive(serde::Deserialize, Debug, PartialEq)]
        enum Top {
            Big { pad: String },
        }
        let body = format!(r#"{{"Big": {{"pad": "{padding}"}}}}"#);
        let got: Top = crate::codec::decode::decode_chunks("u", chunked(body.as_bytes())).unwrap();
        assert_eq!(
            got,
            Top::Big {
                pad: padding.clone()
            }
        );

        // A raw control character in a key is refused, as serde_json refuses it.
        let body = big("\"k\tey\": 1");
        assert!(serde_json::from_slice::<Value>(&body).is_err());
        assert!(crate::codec::decode::decode_chunks::<Value>("u", chunked(&body)).is_err());
    }

    /// Found by the `list_body` fuzz target: a large body with invalid UTF-8 in a member or
    /// item field that `T` ignores was accepted, though the same bytes in a small body are
    /// refused (at the invalid byte).
    #[test]
    fn invalid_utf8_is_refused_in_a_large_body_as_in_a_small_one() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Kind {
            kind: String,
            #[serde(default)]
            items: Vec<Kind>,
        }
        let padding = " ".repeat(SIMD_MAX);
        for inner in [
            &b"\"junk\": \"\xff\""[..],
            b"\"items\": [{\"kind\": \"a\", \"junk\": [\"\xc3\"]}]",
        ] {
            let small = [&b"{\"kind\": \"K\", "[..], inner, b"}"].concat();
            let large = [padding.as_bytes(), &small].concat();
            for body in [small, large] {
                let chunks: VecDeque<Bytes> =
                    body.chunks(1000).map(Bytes::copy_from_slice).collect();
                let err = crate::codec::decode::decode_chunks::<Kind>("u", chunks).unwrap_err();
                match err {
                    Error::Decode {
                        offset: Some(o), ..
                    } => assert_eq!(body[o as usize] & 0x80, 0x80, "offset {o}"),
                    other => panic!("expected a decode error, got {other:?}"),
                }
            }
        }
    }

    #[test]
    fn a_bad_item_is_reported_at_its_offset_with_the_url() {
        let mut list = pod_list(12);
        list["items"][10]["spec"]["containers"] = json!("not a list");
        let body = serde_json::to_vec(&list).unwrap();
        let item = serde_json::to_vec(&list["items"][10]).unwrap();
        let at = body
            .windows(item.len())
            .position(|w| w == item.as_slice())
            .unwrap() as u64;
        for size in [333, 8192, usize::MAX] {
            let chunks: VecDeque<Bytes> = body
                .chunks(size.min(body.len()))
                .map(Bytes::copy_from_slice)
                .collect();
            let err = super::decode::<k8s_openapi::List<Pod>>(
                "http://x/pods",
                chunks,
                &mut Decoder::default(),
            )
            .expect("an object")
            .unwrap_err();
            match err {
                Error::Decode {
                    url,
                    offset: Some(o),
                    body_excerpt,
                    ..
                } => {
                    assert_eq!(url, "http://x/pods");
                    assert!(
                        o >= at && o < at + item.len() as u64,
                        "offset {o}, item at {at}"
                    );
                    assert!(!body_excerpt.is_empty());
                }
                other => panic!("expected a decode error, got {other:?}"),
            }
        }
        // A body that ends early names where it ended.
        let cut = &body[..body.len() / 2];
        let err = super::decode::<Value>(
            "u",
            VecDeque::from([Bytes::copy_from_slice(cut)]),
            &mut Decoder::default(),
        )
        .expect("an object")
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Decode {
                    offset: Some(_),
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn anything_else_is_left_to_serde_json() {
        for body in [
            &br#"["items"]"#[..],
            b"",
            b"  ",
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
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Named {
            #[allow(dead_code)]
            items: Vec<String>,
        }
        assert!(decode::<Named>(br#"{"items": ["a", 1]}"#).is_none());
        assert!(decode::<Named>(br#"{"items": ["a", "b"]}"#).is_some());
    }
}
