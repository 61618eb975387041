//! The check behind the `protobuf` fuzz target: kubecto-protobuf's decoding of objects,
//! envelopes, watch events and lists from arbitrary bytes.
//!
//! Included by `fuzz/src/lib.rs` (the fuzz target) and by
//! `crates/protobuf/tests/fuzz_corpus.rs` (CI's replay of the committed corpus).

#![allow(dead_code)]

use std::fmt::Debug;

use k8s_openapi::List;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kubecto_protobuf::envelope::{self, Unknown};
use kubecto_protobuf::{DecodeOptions, Protobuf, list, watch};

/// Fuzz target `protobuf`. Input: a mode byte (its high bit drops managedFields), then
/// the bytes to decode.
///
/// Asserts: decoding never panics; whatever decodes (a Pod, Deployment or ConfigMap
/// message, a whole body in its `k8s\0` envelope, an envelope alone, a watch event)
/// encodes back to bytes that decode to the same value; a list that decodes whole
/// decodes item by item to the same items and metadata; every error displays.
pub fn protobuf(data: &[u8]) {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let opts = DecodeOptions::default().drop_managed_fields(mode & 0x80 != 0);
    match mode % 7 {
        0 => object::<Pod>(bytes, &opts),
        1 => object::<Deployment>(bytes, &opts),
        2 => object::<ConfigMap>(bytes, &opts),
        3 => whole_body(bytes, &opts),
        4 => bare_envelope(bytes),
        5 => watch_event(bytes, &opts),
        _ => list_items(bytes, &opts),
    }
}

fn object<T: Protobuf + PartialEq + Debug>(bytes: &[u8], opts: &DecodeOptions) {
    match T::decode(bytes, opts) {
        Ok(obj) => {
            let again = T::decode(&obj.encode_to_vec(), opts)
                .unwrap_or_else(|e| panic!("a re-encoded {obj:?} does not decode: {e}"));
            assert_eq!(again, obj, "an encode-decode round trip changed the object");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fn whole_body(bytes: &[u8], opts: &DecodeOptions) {
    match envelope::decode::<Pod>(bytes, opts) {
        Ok(pod) => {
            let mut out = Vec::new();
            envelope::encode(&pod, &mut out);
            let again = envelope::decode::<Pod>(&out, opts)
                .unwrap_or_else(|e| panic!("a re-encoded body does not decode: {e}"));
            assert_eq!(again, pod, "a body's round trip changed the pod");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fn bare_envelope(bytes: &[u8]) {
    let Ok(u) = Unknown::decode(bytes) else {
        return;
    };
    let mut out = Vec::new();
    u.encode(&mut out);
    let again = Unknown::decode(&out).expect("a re-encoded envelope decodes");
    assert_eq!(
        (
            again.api_version,
            again.kind,
            again.raw,
            again.content_encoding,
            again.content_type
        ),
        (
            u.api_version,
            u.kind,
            u.raw,
            u.content_encoding,
            u.content_type
        ),
        "an envelope's round trip changed it"
    );
}

fn watch_event(bytes: &[u8], opts: &DecodeOptions) {
    match watch::decode_event::<Pod>(bytes, opts) {
        Ok(event) => {
            let mut out = Vec::new();
            watch::encode_event(&event, &mut out);
            let again = watch::decode_event::<Pod>(&out, opts)
                .unwrap_or_else(|e| panic!("a re-encoded {event:?} does not decode: {e}"));
            assert_eq!(again, event, "a watch event's round trip changed it");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fn list_items(bytes: &[u8], opts: &DecodeOptions) {
    let whole = List::<Pod>::decode(bytes, opts);
    let mut items = list::items::<Pod>(bytes, opts);
    let mut streamed = Vec::new();
    let mut failed = false;
    for item in &mut items {
        match item {
            Ok(pod) => streamed.push(pod),
            Err(e) => {
                let _ = e.to_string();
                failed = true;
            }
        }
    }
    if let Ok(list) = whole {
        assert!(!failed, "a list that decodes whole fails item by item");
        assert_eq!(
            streamed, list.items,
            "items one at a time differ from the whole list's"
        );
        assert_eq!(
            items.metadata(),
            &list.metadata,
            "the list's metadata differs"
        );
    }
}
