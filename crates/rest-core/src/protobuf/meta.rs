//! The few apimachinery messages rest-core reads itself: `runtime.Unknown` (the
//! envelope), `metav1.Status` (so protobuf errors become the same [`Error::Api`] as JSON
//! ones), `metav1.ListMeta`, and the `resourceVersion` and annotations of an object's
//! metadata (what a watch BOOKMARK carries). Field numbers are those of the upstream
//! `generated.proto` of k8s.io/apimachinery, checked against bodies a kube-apiserver
//! v1.36.2 sent (`../shared/k8s-reference/protobuf/`).
//!
//! [`Error::Api`]: crate::Error::Api

use bytes::Bytes;

use super::wire::{Reader, WireError, WireType};
use crate::read::list::ListMeta;
use crate::read::watch::Bookmark;
use crate::status::{Status, StatusCause, StatusDetails};

/// The magic every protobuf body starts with.
pub const MAGIC: [u8; 4] = *b"k8s\0";

/// A protobuf object as kube-apiserver sends it: `runtime.Unknown`, the envelope after the
/// `k8s\0` magic. [`raw`](Self::raw) is the object's own message, for a codec of its type
/// (kubecto-protobuf for k8s-openapi types).
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unknown {
    /// `apiVersion` of the object (`v1`, `apps/v1`).
    pub api_version: String,
    /// `kind` of the object (`Pod`, `PodList`, `Status`).
    pub kind: String,
    /// The object's own message.
    pub raw: Bytes,
    /// How `raw` is encoded, when not plain (empty from kube-apiserver).
    pub content_encoding: String,
    /// The media type of `raw`, when not protobuf (empty from kube-apiserver).
    pub content_type: String,
}

/// Decodes a body (or an embedded object) that starts with the magic, then `runtime.Unknown`.
/// `base` is where `body` starts in the whole answer, for offsets in errors.
pub(crate) fn decode_envelope(body: &Bytes, base: u64) -> Result<Unknown, WireError> {
    if body.len() < MAGIC.len() || body[..MAGIC.len()] != MAGIC {
        return Err(WireError {
            offset: base,
            what: "the body does not start with the protobuf magic k8s\\0".to_owned(),
        });
    }
    let inner = body.slice(MAGIC.len()..);
    let mut r = Reader::new(&inner, base + MAGIC.len() as u64);
    let mut out = Unknown::default();
    while let Some((field, wire)) = r.tag()? {
        match field {
            1 => {
                r.expect("runtime.Unknown.typeMeta", wire, WireType::Len)?;
                let (bytes, at) = r.bytes()?;
                let mut t = Reader::new(bytes, at);
                while let Some((f, w)) = t.tag()? {
                    match (f, w) {
                        (1, WireType::Len) => out.api_version = t.string()?,
                        (2, WireType::Len) => out.kind = t.string()?,
                        (_, w) => t.skip(w)?,
                    }
                }
            }
            2 => {
                r.expect("runtime.Unknown.raw", wire, WireType::Len)?;
                let (bytes, _) = r.bytes()?;
                out.raw = inner.slice_ref(bytes);
            }
            3 => {
                r.expect("runtime.Unknown.contentEncoding", wire, WireType::Len)?;
                out.content_encoding = r.string()?;
            }
            4 => {
                r.expect("runtime.Unknown.contentType", wire, WireType::Len)?;
                out.content_type = r.string()?;
            }
            _ => r.skip(wire)?,
        }
    }
    Ok(out)
}

/// Decodes a `metav1.Status` message.
pub(crate) fn decode_status(raw: &[u8], base: u64) -> Result<Status, WireError> {
    let mut r = Reader::new(raw, base);
    let mut s = Status {
        kind: Some("Status".to_owned()),
        api_version: Some("v1".to_owned()),
        ..Status::default()
    };
    while let Some((field, wire)) = r.tag()? {
        match (field, wire) {
            (2, WireType::Len) => s.status = r.string()?,
            (3, WireType::Len) => s.message = r.string()?,
            (4, WireType::Len) => s.reason = r.string()?,
            (5, WireType::Len) => {
                let (bytes, at) = r.bytes()?;
                s.details = Some(decode_details(bytes, at)?);
            }
            (6, WireType::Varint) => {
                s.code = u16::try_from(r.varint()?).unwrap_or(0);
            }
            (_, w) => r.skip(w)?,
        }
    }
    Ok(s)
}

fn decode_details(raw: &[u8], base: u64) -> Result<StatusDetails, WireError> {
    let mut r = Reader::new(raw, base);
    let mut d = StatusDetails::default();
    while let Some((field, wire)) = r.tag()? {
        match (field, wire) {
            (1, WireType::Len) => d.name = r.string()?,
            (2, WireType::Len) => d.group = r.string()?,
            (3, WireType::Len) => d.kind = r.string()?,
            (6, WireType::Len) => d.uid = r.string()?,
            (4, WireType::Len) => {
                let (bytes, at) = r.bytes()?;
                let mut c = Reader::new(bytes, at);
                let mut cause = StatusCause::default();
                while let Some((f, w)) = c.tag()? {
                    match (f, w) {
                        (1, WireType::Len) => cause.reason = c.string()?,
                        (2, WireType::Len) => cause.message = c.string()?,
                        (3, WireType::Len) => cause.field = c.string()?,
                        (_, w) => c.skip(w)?,
                    }
                }
                d.causes.push(cause);
            }
            (5, WireType::Varint) => {
                // int32 on the wire: a negative value is sign-extended to 64 bits.
                let v = r.varint()? as i64;
                d.retry_after_seconds = (v != 0).then_some(v);
            }
            (_, w) => r.skip(w)?,
        }
    }
    Ok(d)
}

/// Decodes a `metav1.ListMeta` message.
pub(crate) fn decode_list_meta(raw: &[u8], base: u64) -> Result<ListMeta, WireError> {
    let mut r = Reader::new(raw, base);
    let mut m = ListMeta::default();
    while let Some((field, wire)) = r.tag()? {
        match (field, wire) {
            // Empty strings are sent, where JSON leaves the field out (`omitempty`).
            (2, WireType::Len) => m.resource_version = Some(r.string()?).filter(|v| !v.is_empty()),
            (3, WireType::Len) => m.continue_token = Some(r.string()?).filter(|c| !c.is_empty()),
            (4, WireType::Varint) => m.remaining_item_count = Some(r.varint()? as i64),
            (_, w) => r.skip(w)?,
        }
    }
    Ok(m)
}

/// The `resourceVersion` and annotations of an object whose metadata is its field 1 (every
/// built-in object): what a BOOKMARK carries.
pub(crate) fn decode_bookmark(raw: &[u8], base: u64) -> Result<Bookmark, WireError> {
    let mut r = Reader::new(raw, base);
    let mut b = Bookmark::default();
    while let Some((field, wire)) = r.tag()? {
        if (field, wire) != (1, WireType::Len) {
            r.skip(wire)?;
            continue;
        }
        let (bytes, at) = r.bytes()?;
        let mut m = Reader::new(bytes, at);
        while let Some((f, w)) = m.tag()? {
            match (f, w) {
                (6, WireType::Len) => b.resource_version = m.string()?,
                (12, WireType::Len) => {
                    let (entry, at) = m.bytes()?;
                    let (k, v) = decode_map_entry(entry, at)?;
                    b.annotations.insert(k, v);
                }
                (_, w) => m.skip(w)?,
            }
        }
    }
    Ok(b)
}

/// A `map<string, string>` entry: key (1) and value (2).
fn decode_map_entry(raw: &[u8], base: u64) -> Result<(String, String), WireError> {
    let mut r = Reader::new(raw, base);
    let (mut k, mut v) = (String::new(), String::new());
    while let Some((field, wire)) = r.tag()? {
        match (field, wire) {
            (1, WireType::Len) => k = r.string()?,
            (2, WireType::Len) => v = r.string()?,
            (_, w) => r.skip(w)?,
        }
    }
    Ok((k, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Bytes {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/protobuf/");
        Bytes::from(std::fs::read(format!("{dir}{name}")).expect("the recorded sample"))
    }

    #[test]
    fn a_recorded_404_status_decodes_as_its_json_twin_would() {
        let body = sample("error-404-accept-pb.bin");
        let env = decode_envelope(&body, 0).unwrap();
        assert_eq!(
            (env.api_version.as_str(), env.kind.as_str()),
            ("v1", "Status")
        );
        let s = decode_status(&env.raw, 0).unwrap();
        assert_eq!(s.status, "Failure");
        assert_eq!(s.reason, "NotFound");
        assert_eq!(s.code, 404);
        assert_eq!(s.message, "pods \"missing\" not found");
        let d = s.details.unwrap();
        assert_eq!((d.name.as_str(), d.kind.as_str()), ("missing", "pods"));
    }

    #[test]
    fn a_body_without_the_magic_is_refused_at_its_start() {
        let err = decode_envelope(&Bytes::from_static(b"{\"kind\":\"Pod\"}"), 0).unwrap_err();
        assert_eq!(err.offset, 0);
        assert!(err.what.contains("magic"), "{err}");
        let err = decode_envelope(&Bytes::from_static(b"k8s\0\x12\x10abc"), 0).unwrap_err();
        assert_eq!(err.offset, 5, "{err}");
    }
}
