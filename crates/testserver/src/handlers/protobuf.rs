//! Answers in protobuf, as kube-apiserver gives them when protobuf is the first encoding
//! the Accept header asks for: the handlers answer in JSON and this turns the answer into
//! its `k8s\0` envelope (objects, lists, `Status` errors) or, for a watch, into
//! length-prefixed `WatchEvent` frames. A kind with no protobuf message (a custom resource,
//! a `Table`) stays JSON when JSON is acceptable too, and is refused with 406 otherwise.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Response, StatusCode, header};
use http_body::{Body, Frame};
use http_body_util::BodyExt as _;
use serde_json::Value;

use crate::protobuf::{MEDIA_TYPE, WATCH_MEDIA_TYPE, envelope};
use crate::shared::body::{BoxError, ResBody, full};
use crate::shared::media;
use crate::shared::request::Req;
use crate::shared::response::error;
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;

/// The 406 kube-apiserver answers when only protobuf is acceptable for a kind that has no
/// protobuf form (custom resources), before anything is done.
pub(crate) fn refuse_early(req: &Req, info: &ResourceInfo) -> Option<ApiError> {
    (media::protobuf_first(&req.accept) && !servable(info) && !media::accepts_json(&req.accept))
        .then(not_acceptable)
}

/// Does the resource's kind have a protobuf form?
fn servable(info: &ResourceInfo) -> bool {
    info.custom.is_none() && envelope::has_message(&info.api_version(), &info.kind)
}

fn not_acceptable() -> ApiError {
    ApiError::new(
        406,
        "NotAcceptable",
        "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
        None,
    )
}

/// The handler's JSON answer, in protobuf when the request asks for it first; `watch` is
/// the resource of a watch (whose stream is re-framed as it comes, or left JSON for a kind
/// with no protobuf form).
pub(crate) async fn answer(
    req: &Req,
    res: Response<ResBody>,
    watch: Option<&ResourceInfo>,
) -> Response<ResBody> {
    if !media::protobuf_first(&req.accept) || !is_json(&res) {
        return res;
    }
    if let Some(info) = watch
        && res.status() == StatusCode::OK
    {
        if !servable(info) {
            return res;
        }
        let (mut parts, body) = res.into_parts();
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(WATCH_MEDIA_TYPE),
        );
        return Response::from_parts(parts, WatchFrames::new(body).boxed_unsync());
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return in_protobuf(&ApiError::internal(format!("reading the answer: {e}"))),
    };
    let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, full(bytes));
    };
    match envelope::encode_object(&value) {
        Ok(Some(pb)) => {
            parts
                .headers
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, full(pb))
        }
        Ok(None) if media::accepts_json(&req.accept) => Response::from_parts(parts, full(bytes)),
        Ok(None) => in_protobuf(&not_acceptable()),
        Err(e) => in_protobuf(&ApiError::internal(format!(
            "encoding {} as protobuf: {e}",
            value["kind"]
        ))),
    }
}

/// A `Status` error answered before routing (authentication, an unreadable request): in
/// protobuf when the Accept header asks for it first, as kube-apiserver's filters
/// negotiate theirs.
pub(crate) fn error_for(accept: &str, e: &ApiError) -> Response<ResBody> {
    if media::protobuf_first(accept) {
        in_protobuf(e)
    } else {
        error(e)
    }
}

/// A `Status` error in protobuf (JSON if it somehow cannot be encoded).
fn in_protobuf(e: &ApiError) -> Response<ResBody> {
    let mut res = error(e);
    if let Ok(Some(pb)) = envelope::encode_object(&e.body) {
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
        *res.body_mut() = full(pb);
    }
    res
}

fn is_json<B>(res: &Response<B>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|m| m.trim() == "application/json")
        })
}

/// A watch's JSON lines (`{"type":..,"object":..}` then a newline), re-framed as protobuf
/// `WatchEvent`s as they come.
struct WatchFrames {
    inner: ResBody,
    pending: BytesMut,
    done: bool,
}

impl WatchFrames {
    fn new(inner: ResBody) -> Self {
        WatchFrames {
            inner,
            pending: BytesMut::new(),
            done: false,
        }
    }

    /// The frame of the next whole line in `pending` (or of what is left, at the end).
    fn next_frame(&mut self, at_end: bool) -> Option<Result<Bytes, BoxError>> {
        let line = match self.pending.iter().position(|b| *b == b'\n') {
            Some(i) => {
                let line = self.pending.split_to(i + 1);
                line.freeze()
            }
            None if at_end && !self.pending.is_empty() => self.pending.split().freeze(),
            None => return None,
        };
        Some(frame(&line))
    }
}

fn frame(line: &[u8]) -> Result<Bytes, BoxError> {
    let event: Value = serde_json::from_slice(line)?;
    let kind = event["type"].as_str().unwrap_or_default();
    Ok(Bytes::from(envelope::watch_frame(kind, &event["object"])?))
}

impl Body for WatchFrames {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            if let Some(next) = this.next_frame(this.done) {
                return Poll::Ready(Some(next.map(Frame::data)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => this.done = true,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(f))) => match f.into_data() {
                    Ok(data) => this.pending.extend_from_slice(&data),
                    Err(other) => return Poll::Ready(Some(Ok(other))),
                },
            }
        }
    }
}
