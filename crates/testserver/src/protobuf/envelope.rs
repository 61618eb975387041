//! What goes around a message on the wire, as kube-apiserver writes it: the `k8s\0` magic
//! and a `runtime.Unknown` (`typeMeta{apiVersion, kind}`, `raw`, `contentEncoding`,
//! `contentType`) around every object, and watch frames (a 4-byte big-endian length, then
//! a bare `metav1.WatchEvent{type, object: RawExtension{raw: the object's envelope}}`).

use serde_json::{Map, Value};

use crate::protobuf::codec::{self, EncodeError};
use crate::protobuf::lookup::message_for;
use crate::protobuf::wire::{DecodeError, LEN, Reader, put_bytes};

/// The four bytes every protobuf body of kube-apiserver starts with.
pub(crate) const MAGIC: &[u8; 4] = b"k8s\0";

/// Is there a message for this kind (built-in kinds have one, custom resources do not)?
pub(crate) fn has_message(api_version: &str, kind: &str) -> bool {
    message_for(api_version, kind).is_some()
}

/// An object (with its `apiVersion` and `kind`) in its envelope; `Ok(None)` when its kind
/// has no protobuf message.
pub(crate) fn encode_object(object: &Value) -> Result<Option<Vec<u8>>, EncodeError> {
    let Value::Object(obj) = object else {
        return Err(EncodeError {
            path: String::new(),
            message: "not an object".into(),
        });
    };
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    let Some(msg) = message_for(api_version, kind) else {
        return Ok(None);
    };
    let mut raw = Vec::new();
    codec::encode(msg, obj, &mut raw)?;
    let mut type_meta = Vec::new();
    put_bytes(&mut type_meta, 1, api_version.as_bytes());
    put_bytes(&mut type_meta, 2, kind.as_bytes());
    let mut out = Vec::with_capacity(raw.len() + type_meta.len() + 16);
    out.extend_from_slice(MAGIC);
    put_bytes(&mut out, 1, &type_meta);
    put_bytes(&mut out, 2, &raw);
    put_bytes(&mut out, 3, b"");
    put_bytes(&mut out, 4, b"");
    Ok(Some(out))
}

/// A body in its envelope, as a JSON object with `kind` and `apiVersion` first.
pub(crate) fn decode_object(body: &[u8]) -> Result<Value, DecodeError> {
    decode_object_at(body, 0)
}

fn string(r: &mut Reader<'_>) -> Result<String, DecodeError> {
    Ok(String::from_utf8_lossy(r.len_delimited()?.rest()).into_owned())
}

fn decode_object_at(body: &[u8], base: usize) -> Result<Value, DecodeError> {
    let mut r = Reader::at(body, base);
    if body.len() < MAGIC.len() {
        return Err(r.error(format!(
            "the body is {} bytes, shorter than the k8s\\0 magic",
            body.len()
        )));
    }
    if &body[..4] != MAGIC {
        return Err(r.error("the body does not start with the k8s\\0 magic"));
    }
    r.bytes(4)?;
    let (mut api_version, mut kind) = (String::new(), String::new());
    let mut raw: Option<Reader<'_>> = None;
    let mut type_at = r.offset();
    while !r.is_empty() {
        let at = r.offset();
        let (number, wire) = r.tag()?;
        if (1..=4).contains(&number) && wire != LEN {
            return Err(r.error_at(
                at,
                format!("field {number} of runtime.Unknown has wire type {wire}, expected 2"),
            ));
        }
        match number {
            1 => {
                type_at = at;
                let mut t = r.len_delimited()?;
                while !t.is_empty() {
                    let at = t.offset();
                    match t.tag()? {
                        (1, LEN) => api_version = string(&mut t)?,
                        (2, LEN) => kind = string(&mut t)?,
                        (n @ (1 | 2), w) => {
                            return Err(t.error_at(
                                at,
                                format!("field {n} of TypeMeta has wire type {w}, expected 2"),
                            ));
                        }
                        (_, w) => t.skip(w)?,
                    }
                }
            }
            2 => raw = Some(r.len_delimited()?),
            3 | 4 => {
                let at = r.offset();
                let v = string(&mut r)?;
                if number == 3 && !v.is_empty() {
                    return Err(r.error_at(at, format!("contentEncoding {v:?} is not supported")));
                }
                if number == 4 && !v.is_empty() && v != "application/vnd.kubernetes.protobuf" {
                    return Err(r.error_at(at, format!("contentType {v:?} is not supported")));
                }
            }
            _ => r.skip(wire)?,
        }
    }
    let Some(msg) = message_for(&api_version, &kind) else {
        return Err(r.error_at(
            type_at,
            format!("no protobuf message for kind {kind:?} of apiVersion {api_version:?}"),
        ));
    };
    let fields = codec::decode(msg, raw.unwrap_or_else(|| Reader::at(&[], r.offset())))?;
    let mut out = Map::new();
    out.insert("kind".into(), Value::String(kind));
    out.insert("apiVersion".into(), Value::String(api_version));
    out.extend(fields);
    Ok(Value::Object(out))
}

/// One watch frame: the length, then the `WatchEvent` holding the object's envelope.
pub(crate) fn watch_frame(event_type: &str, object: &Value) -> Result<Vec<u8>, EncodeError> {
    let envelope = encode_object(object)?.ok_or_else(|| EncodeError {
        path: String::new(),
        message: format!(
            "no protobuf message for kind {} of apiVersion {}",
            object["kind"], object["apiVersion"]
        ),
    })?;
    let mut ext = Vec::new();
    put_bytes(&mut ext, 1, &envelope);
    let mut event = Vec::new();
    put_bytes(&mut event, 1, event_type.as_bytes());
    put_bytes(&mut event, 2, &ext);
    let len = u32::try_from(event.len()).map_err(|_| EncodeError {
        path: String::new(),
        message: "event larger than 4 GiB".into(),
    })?;
    let mut out = Vec::with_capacity(event.len() + 4);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&event);
    Ok(out)
}

/// Every event of a watch stream, as `{"type":..,"object":..}` (the stream must end at a
/// frame's end).
pub(crate) fn decode_watch_stream(body: &[u8]) -> Result<Vec<Value>, DecodeError> {
    let mut r = Reader::new(body);
    let mut out = Vec::new();
    while !r.is_empty() {
        let at = r.offset();
        let len = r
            .bytes(4)
            .map_err(|_| r.error_at(at, "truncated frame length"))?;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let base = r.offset();
        let frame = r.bytes(len).map_err(|mut e| {
            e.offset = at;
            e
        })?;
        out.push(decode_watch_event(frame, base)?);
    }
    Ok(out)
}

/// One bare `WatchEvent` message that starts at `base` in the stream.
pub(crate) fn decode_watch_event(frame: &[u8], base: usize) -> Result<Value, DecodeError> {
    let mut r = Reader::at(frame, base);
    let mut event_type = String::new();
    let mut object = Value::Null;
    while !r.is_empty() {
        let at = r.offset();
        match r.tag()? {
            (1, LEN) => event_type = string(&mut r)?,
            (2, LEN) => {
                let mut ext = r.len_delimited()?;
                while !ext.is_empty() {
                    match ext.tag()? {
                        (1, LEN) => {
                            let raw = ext.len_delimited()?;
                            let at = raw.offset();
                            object = decode_object_at(raw.clone().rest(), at)?;
                        }
                        (_, w) => ext.skip(w)?,
                    }
                }
            }
            (n @ (1 | 2), w) => {
                return Err(r.error_at(
                    at,
                    format!("field {n} of WatchEvent has wire type {w}, expected 2"),
                ));
            }
            (_, w) => r.skip(w)?,
        }
    }
    Ok(serde_json::json!({"type": event_type, "object": object}))
}
