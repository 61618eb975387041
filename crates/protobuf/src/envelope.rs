//! The envelope around every protobuf body kube-apiserver sends: the magic `k8s\0`, then a
//! `runtime.Unknown` message — `typeMeta` (1: apiVersion 1, kind 2), `raw` (2: the object's
//! own message), `contentEncoding` (3), `contentType` (4). Objects embedded in a watch
//! event carry the same envelope; the items of a list do not.
//!
//! `kubecto-rest-core` opens envelopes itself (it knows bodies, not types); these helpers
//! are for callers holding a whole body, and for the tests.

use k8s_openapi::Resource;

use crate::error::{DecodeError, DecodeErrorKind};
use crate::wire::{self, Reader};
use crate::{DecodeOptions, Protobuf};

/// The magic every protobuf body and embedded object starts with.
pub const MAGIC: [u8; 4] = *b"k8s\0";

/// A `runtime.Unknown`, borrowed from the body it was read from.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unknown<'a> {
    /// `apiVersion` of the object (`v1`, `apps/v1`).
    pub api_version: &'a str,
    /// `kind` of the object (`Pod`, `PodList`, `Status`).
    pub kind: &'a str,
    /// The object's own message.
    pub raw: &'a [u8],
    /// Where `raw` starts in the buffer the envelope was read from.
    pub raw_offset: usize,
    /// How `raw` is encoded when not plain (empty from kube-apiserver).
    pub content_encoding: &'a str,
    /// The media type of `raw` when not protobuf (empty from kube-apiserver).
    pub content_type: &'a str,
}

impl<'a> Unknown<'a> {
    /// Reads a body (or an embedded object) that starts with [`MAGIC`].
    ///
    /// # Errors
    /// [`DecodeErrorKind::NoMagic`], or a malformed envelope.
    pub fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        if !body.starts_with(&MAGIC) {
            return Err(DecodeError::new(DecodeErrorKind::NoMagic, 0));
        }
        let mut r = Reader::range(body, MAGIC.len(), body.len());
        let mut out = Unknown {
            raw_offset: body.len(),
            ..Unknown::default()
        };
        while let Some((field, w)) = r.field()? {
            match field {
                1 => {
                    r.expect(w, wire::WireType::Len)?;
                    let mut tm = r.message()?;
                    while let Some((field, w)) = tm.field()? {
                        match field {
                            1 => {
                                tm.expect(w, wire::WireType::Len)?;
                                out.api_version = tm.str()?;
                            }
                            2 => {
                                tm.expect(w, wire::WireType::Len)?;
                                out.kind = tm.str()?;
                            }
                            _ => tm.skip(w)?,
                        }
                    }
                }
                2 => {
                    r.expect(w, wire::WireType::Len)?;
                    let raw = r.bytes()?;
                    out.raw = raw;
                    out.raw_offset = r.offset() - raw.len();
                }
                3 => {
                    r.expect(w, wire::WireType::Len)?;
                    out.content_encoding = r.str()?;
                }
                4 => {
                    r.expect(w, wire::WireType::Len)?;
                    out.content_type = r.str()?;
                }
                _ => r.skip(w)?,
            }
        }
        Ok(out)
    }

    /// Appends the envelope: [`MAGIC`], then the `Unknown` message as kube-apiserver
    /// writes it (all four fields).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&MAGIC);
        wire::put_len_delimited(out, 1, |out| {
            wire::put_bytes(out, 1, self.api_version.as_bytes());
            wire::put_bytes(out, 2, self.kind.as_bytes());
        });
        wire::put_bytes(out, 2, self.raw);
        wire::put_bytes(out, 3, self.content_encoding.as_bytes());
        wire::put_bytes(out, 4, self.content_type.as_bytes());
    }

    /// Decodes `raw` as `T`, with offsets in errors counted from the start of the buffer
    /// the envelope was read from.
    ///
    /// # Errors
    /// [`DecodeErrorKind::UnsupportedEncoding`] when `raw` is not plain protobuf, or
    /// malformed bytes.
    pub fn decode_raw<T: Protobuf>(
        &self,
        whole: &'a [u8],
        opts: &DecodeOptions,
    ) -> Result<T, DecodeError> {
        self.check_plain()?;
        let start = self.raw_offset;
        let end = start + self.raw.len();
        let same = whole
            .get(start..end)
            .is_some_and(|w| std::ptr::eq(w.as_ptr(), self.raw.as_ptr()));
        if same {
            T::decode_message(&mut Reader::range(whole, start, end), opts)
        } else {
            T::decode(self.raw, opts)
        }
    }

    fn check_plain(&self) -> Result<(), DecodeError> {
        if !self.content_encoding.is_empty() {
            return Err(DecodeError::new(
                DecodeErrorKind::UnsupportedEncoding(self.content_encoding.to_owned()),
                self.raw_offset,
            ));
        }
        if !self.content_type.is_empty() && !self.content_type.contains("protobuf") {
            return Err(DecodeError::new(
                DecodeErrorKind::UnsupportedEncoding(self.content_type.to_owned()),
                self.raw_offset,
            ));
        }
        Ok(())
    }
}

/// Decodes a whole protobuf body holding a `T` (a `Pod`, a `List<Pod>`): the magic, the
/// envelope, then the object.
///
/// # Errors
/// A body without the magic, an envelope of another kind
/// ([`DecodeErrorKind::UnexpectedKind`], a `Status` among others), or malformed bytes;
/// offsets count from the start of `body`.
pub fn decode<T: Protobuf + Resource>(body: &[u8], opts: &DecodeOptions) -> Result<T, DecodeError> {
    let unknown = Unknown::decode(body)?;
    let matches = (unknown.api_version.is_empty() || unknown.api_version == T::API_VERSION)
        && (unknown.kind.is_empty() || unknown.kind == T::KIND);
    if !matches {
        return Err(DecodeError::new(
            DecodeErrorKind::UnexpectedKind {
                expected: format!("{}/{}", T::API_VERSION, T::KIND),
                found: format!("{}/{}", unknown.api_version, unknown.kind),
            },
            MAGIC.len(),
        ));
    }
    unknown.decode_raw(body, opts)
}

/// Appends a whole protobuf body holding `obj`: the magic, then an envelope naming `T`'s
/// apiVersion and kind around its message.
pub fn encode<T: Protobuf + Resource>(obj: &T, out: &mut Vec<u8>) {
    encode_raw(T::API_VERSION, T::KIND, &obj.encode_to_vec(), out);
}

/// Appends a whole protobuf body: the magic, then an envelope naming `api_version` and
/// `kind` around `raw`, an object's own message (from [`Protobuf::encode`] or
/// [`Codec::encode`](crate::Codec::encode)).
pub fn encode_raw(api_version: &str, kind: &str, raw: &[u8], out: &mut Vec<u8>) {
    Unknown {
        api_version,
        kind,
        raw,
        ..Unknown::default()
    }
    .encode(out);
}
