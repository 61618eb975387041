//! Protobuf on the wire, as kube-apiserver speaks it (`application/vnd.kubernetes.protobuf`):
//! the envelope every object arrives in (the magic `k8s\0`, then a `runtime.Unknown`), the
//! items of a LIST read one at a time, the length-prefixed frames of a watch, and
//! `metav1.Status`, decoded here so that a protobuf error is the same [`Error::Api`] as a
//! JSON one. The objects' own messages are decoded by a codec the caller hands in (the
//! `kubecto-protobuf` crate for k8s-openapi types): rest-core knows envelopes, frames and
//! content negotiation, not the types.

mod meta;
mod negotiated;
pub(crate) mod stream;
mod wire;

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use http_body::Body;

pub use self::meta::{MAGIC, Unknown};
pub use self::negotiated::ProtobufDecoder;
use self::wire::WireError;
use crate::error::{BoxError, Error, Result};
use crate::read::response::Response;
use crate::read::watch::WatchEvent;
use crate::status::Status;
use crate::transport::body::ResponseBody;
use crate::transport::transport_error;

/// kube-apiserver's protobuf media type.
pub const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

/// The `Accept` of a client that prefers protobuf and takes JSON where there is none
/// (custom resources, aggregated API servers): client-go's default for built-in types.
pub const PROTOBUF_OR_JSON: &str = "application/vnd.kubernetes.protobuf, application/json";

/// Whether a `Content-Type` is kube-apiserver's protobuf (a watch stream's included).
pub fn is_protobuf(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(PROTOBUF))
}

/// A decode error at `offset` of a protobuf body (`body` is for the excerpt: the bytes
/// around the offset, in hex).
pub(crate) fn wire_error(url: &str, body: &Bytes, base: u64, e: WireError) -> Error {
    let at = usize::try_from(e.offset.saturating_sub(base)).unwrap_or(usize::MAX);
    let start = at.saturating_sub(16).min(body.len());
    let end = at.saturating_add(16).min(body.len());
    let excerpt = body[start..end]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    Error::Decode {
        url: url.to_owned(),
        body_excerpt: excerpt,
        offset: Some(e.offset),
        source: Box::new(e),
    }
}

/// The `Status` in an error answer's body when it is protobuf; `None` when it is not.
pub(crate) fn status_of(body: &[u8]) -> Option<Status> {
    if !body.starts_with(&MAGIC) {
        return None;
    }
    let body = Bytes::copy_from_slice(body);
    let unknown = meta::decode_envelope(&body, 0).ok()?;
    (unknown.kind == "Status")
        .then(|| meta::decode_status(&unknown.raw, 0).ok())
        .flatten()
}

impl Response {
    /// Whether the answer is protobuf (its `Content-Type`).
    pub fn is_protobuf(&self) -> bool {
        self.headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_protobuf)
    }

    /// Reads a protobuf answer and opens its envelope: the object's kind and its own
    /// message, for a codec of its type.
    ///
    /// # Errors
    /// As [`bytes`](Self::bytes), and [`Error::Decode`] (naming the byte offset) when the
    /// body is not a protobuf envelope.
    pub async fn into_protobuf(self) -> Result<Unknown> {
        let url = self.url().to_owned();
        let body = self.bytes().await?;
        meta::decode_envelope(&body, 0).map_err(|e| wire_error(&url, &body, 0, e))
    }

    /// Reads a protobuf answer and decodes its object with `decode` (a codec such as
    /// kubecto-protobuf's), given the object's own message.
    ///
    /// # Errors
    /// As [`into_protobuf`](Self::into_protobuf), and [`Error::Decode`] with the codec's
    /// error.
    pub async fn decode_protobuf<T>(
        self,
        decode: impl FnOnce(&[u8]) -> std::result::Result<T, BoxError>,
    ) -> Result<T> {
        let url = self.url().to_owned();
        let unknown = self.into_protobuf().await?;
        decode(&unknown.raw).map_err(|source| Error::Decode {
            url,
            body_excerpt: String::new(),
            offset: None,
            source,
        })
    }

    /// Decodes this protobuf watch answer (`application/vnd.kubernetes.protobuf;stream=watch`)
    /// as a stream of events, each object's own message handed to `decode`. BOOKMARK events
    /// and ERROR `Status`es are read here. A malformed event is reported and the stream
    /// goes on; an oversized or cut-off frame ends it.
    pub fn protobuf_watch_events<T>(
        mut self,
        decode: impl FnMut(&[u8]) -> std::result::Result<T, BoxError> + Send + 'static,
    ) -> ProtobufWatch<T> {
        let (body, url) = self.take_body();
        ProtobufWatch {
            body,
            frames: stream::FrameReader::new(self.limits.event),
            url,
            decode: Box::new(decode),
            done: false,
        }
    }
}

/// The events of a protobuf watch, decoded frame by frame as they arrive; see
/// [`Response::protobuf_watch_events`].
#[must_use = "streams do nothing unless polled"]
pub struct ProtobufWatch<T> {
    body: ResponseBody,
    frames: stream::FrameReader,
    url: String,
    decode: crate::read::list::ItemDecoder<T>,
    done: bool,
}

impl<T> std::fmt::Debug for ProtobufWatch<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProtobufWatch")
            .field("url", &self.url)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<T> Stream for ProtobufWatch<T> {
    type Item = Result<WatchEvent<T>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match this.frames.next() {
                Ok(Some((frame, at))) => {
                    let decode = &mut this.decode;
                    let mut decode_raw = |u: &Unknown| decode(&u.raw);
                    let event = stream::decode_event(&this.url, &frame, at, &mut decode_raw);
                    return Poll::Ready(Some(event));
                }
                Ok(None) => {}
                Err(e) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(wire_error(&this.url, &Bytes::new(), 0, e))));
                }
            }
            match Pin::new(&mut this.body).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        this.frames.push(data);
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(transport_error(&this.url, e))));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    if let Err(e) = this.frames.finish() {
                        return Poll::Ready(Some(Err(wire_error(&this.url, &Bytes::new(), 0, e))));
                    }
                    return Poll::Ready(None);
                }
            }
        }
    }
}
