//! Watch events: a `metav1.WatchEvent` message — `type` (1) and `object` (2, a
//! `RawExtension` whose `raw` is the object in its own `k8s\0` envelope) — decoded into
//! k8s-openapi's `WatchEvent<T>`, the same event its JSON twin decodes to. The frames
//! around events (a 4-byte big-endian length each) are `kubecto-rest-core`'s.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Status, WatchEvent};
use k8s_openapi::{Metadata, Resource};

use crate::envelope::{MAGIC, Unknown};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::wire::{self, Reader, WireType};
use crate::{DecodeOptions, Protobuf};

/// A watch event as it is on the wire, borrowed: its type and its object's envelope.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawEvent<'a> {
    /// `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK` or `ERROR`.
    pub type_: &'a str,
    /// The object's envelope (its `raw` is the object's own message).
    pub object: Unknown<'a>,
}

impl<'a> RawEvent<'a> {
    /// Reads a `metav1.WatchEvent` message (a frame's payload).
    ///
    /// # Errors
    /// Malformed bytes, or an object without its envelope.
    pub fn decode(event: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(event);
        let mut type_ = "";
        let mut object = None;
        while let Some((field, w)) = r.field()? {
            match field {
                1 => {
                    r.expect(w, WireType::Len)?;
                    type_ = r.str().map_err(|e| e.at("type"))?;
                }
                2 => {
                    r.expect(w, WireType::Len)?;
                    let mut ext = r.message()?;
                    while let Some((field, w)) = ext.field()? {
                        match field {
                            1 => {
                                ext.expect(w, WireType::Len)?;
                                let raw = ext.bytes().map_err(|e| e.at("object"))?;
                                let at = ext.offset() - raw.len();
                                object = Some((raw, at));
                            }
                            _ => ext.skip(w)?,
                        }
                    }
                }
                _ => r.skip(w)?,
            }
        }
        let Some((raw, at)) = object else {
            return Err(DecodeError::new(
                DecodeErrorKind::MissingField("object"),
                event.len(),
            ));
        };
        // Offsets inside the object count from the start of the event.
        let mut object = Unknown::decode(raw).map_err(|e| e.shifted(at).at("object"))?;
        object.raw_offset += at;
        Ok(Self { type_, object })
    }
}

/// Decodes a watch event (a frame's payload: a bare `metav1.WatchEvent` message) into the
/// `WatchEvent<T>` its JSON twin decodes to: `ADDED`, `MODIFIED` and `DELETED` carry the
/// object, `BOOKMARK` its `resourceVersion` and annotations, `ERROR` its `Status`.
///
/// # Errors
/// Malformed bytes (offsets from the start of `event`), an unknown event type, or an
/// `ERROR` event whose object is not a `Status`.
pub fn decode_event<T>(event: &[u8], opts: &DecodeOptions) -> Result<WatchEvent<T>, DecodeError>
where
    T: Protobuf + Resource + Metadata<Ty = ObjectMeta>,
{
    let raw = RawEvent::decode(event)?;
    let object_at = raw.object.raw_offset;
    let decode_object = |opts: &DecodeOptions| -> Result<T, DecodeError> {
        raw.object
            .decode_raw::<T>(event, opts)
            .map_err(|e| e.at("object"))
    };
    Ok(match raw.type_ {
        "ADDED" => WatchEvent::Added(decode_object(opts)?),
        "MODIFIED" => WatchEvent::Modified(decode_object(opts)?),
        "DELETED" => WatchEvent::Deleted(decode_object(opts)?),
        "BOOKMARK" => {
            let object = decode_object(&opts.drop_managed_fields(true))?;
            let meta = object.metadata();
            WatchEvent::Bookmark {
                annotations: meta.annotations.clone().unwrap_or_default(),
                resource_version: meta.resource_version.clone().unwrap_or_default(),
            }
        }
        "ERROR" => {
            if raw.object.kind != "Status" {
                return Err(DecodeError::new(
                    DecodeErrorKind::UnexpectedKind {
                        expected: "v1/Status".to_owned(),
                        found: format!("{}/{}", raw.object.api_version, raw.object.kind),
                    },
                    object_at,
                )
                .at("object"));
            }
            WatchEvent::ErrorStatus(
                raw.object
                    .decode_raw::<Status>(event, opts)
                    .map_err(|e| e.at("object"))?,
            )
        }
        _ => {
            return Err(DecodeError::new(
                DecodeErrorKind::InvalidValue(
                    "a watch event type other than ADDED, MODIFIED, DELETED, BOOKMARK, ERROR",
                ),
                0,
            )
            .at("type"));
        }
    })
}

/// Appends a watch event's message (no frame length): its type and its object in an
/// envelope, as kube-apiserver writes them.
pub fn encode_event<T>(event: &WatchEvent<T>, out: &mut Vec<u8>)
where
    T: Protobuf + Resource + Metadata<Ty = ObjectMeta> + Default,
{
    let (type_, object) = match event {
        WatchEvent::Added(o) => ("ADDED", envelope_of(o)),
        WatchEvent::Modified(o) => ("MODIFIED", envelope_of(o)),
        WatchEvent::Deleted(o) => ("DELETED", envelope_of(o)),
        WatchEvent::Bookmark {
            annotations,
            resource_version,
        } => {
            let mut o = T::default();
            let meta = o.metadata_mut();
            meta.resource_version = Some(resource_version.clone());
            meta.annotations = (!annotations.is_empty()).then(|| annotations.clone());
            ("BOOKMARK", envelope_of(&o))
        }
        WatchEvent::ErrorStatus(s) => ("ERROR", envelope_of(s)),
        WatchEvent::ErrorOther(other) => {
            // Not protobuf: the object as the JSON it is.
            let json = serde_json::to_vec(&other.0).unwrap_or_default();
            ("ERROR", json)
        }
    };
    wire::put_bytes(out, 1, type_.as_bytes());
    wire::put_len_delimited(out, 2, |out| wire::put_bytes(out, 1, &object));
}

fn envelope_of<T: Protobuf + Resource>(o: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    crate::envelope::encode(o, &mut out);
    debug_assert!(out.starts_with(&MAGIC));
    out
}
