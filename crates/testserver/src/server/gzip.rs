//! Gzip for clients that send `Accept-Encoding: gzip`, as kube-apiserver's
//! APIResponseCompression does it (`responsewriters/writers.go`): an answer is compressed
//! (level 1, `Content-Encoding: gzip`, `Vary: Accept-Encoding`) once more than 128 KiB of it
//! has been written, and sent as it is otherwise. Only what goes through its object
//! serializer is: watches, pod logs and OpenAPI documents are never compressed.

use std::io::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use flate2::Compression;
use flate2::write::GzEncoder;
use http::{HeaderMap, HeaderValue, Response, header};
use http_body::{Body, Frame};
use http_body_util::BodyExt as _;

use crate::shared::body::{BoxError, ResBody, full};

/// kube-apiserver's `defaultGzipThresholdBytes`.
pub(crate) const THRESHOLD: usize = 128 * 1024;

/// Whether the client accepts gzip: one of `Accept-Encoding`'s comma-separated tokens is
/// exactly `gzip` (`negotiateContentEncoding`: `gzip;q=0.5` is not).
pub(crate) fn accepted(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == "gzip"))
}

/// Whether an answer to this request may be compressed: not a watch, a pod log (both
/// streamed by writers of their own upstream) or an OpenAPI document (kube-openapi's).
pub(crate) fn applies(path: &str, query: &str) -> bool {
    let watch = path.contains("/watch/")
        || query
            .split('&')
            .any(|p| matches!(p, "watch=true" | "watch=1" | "watch=True"));
    !(watch || path.ends_with("/log") || path.starts_with("/openapi/"))
}

/// The answer, compressed when its body goes past [`THRESHOLD`]: the body is read that far
/// first (a stored LIST is written from memory, so that never waits on anything).
pub(crate) async fn compress(res: Response<ResBody>) -> Response<ResBody> {
    if res.headers().contains_key(header::CONTENT_ENCODING) {
        return res;
    }
    let (mut parts, mut body) = res.into_parts();
    let mut head = BytesMut::new();
    let mut ended = false;
    while head.len() <= THRESHOLD {
        match body.frame().await {
            None => {
                ended = true;
                break;
            }
            Some(Ok(frame)) => {
                // Trailers are dropped: no answer here has any.
                if let Ok(data) = frame.into_data() {
                    head.extend_from_slice(&data);
                }
            }
            Some(Err(e)) => {
                // Send what there was, then the error, as the body would have.
                let rest = http_body_util::StreamBody::new(futures_util::stream::iter([
                    Ok(Frame::data(head.freeze())),
                    Err(e),
                ]));
                return Response::from_parts(parts, rest.boxed_unsync());
            }
        }
    }
    if head.len() <= THRESHOLD {
        return Response::from_parts(parts, full(head.freeze()));
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    let _ = encoder.write_all(&head);
    let body = GzipBody {
        inner: if ended { None } else { Some(body) },
        encoder: Some(encoder),
    };
    Response::from_parts(parts, body.boxed_unsync())
}

/// The rest of a body, compressed as it comes.
struct GzipBody {
    inner: Option<ResBody>,
    encoder: Option<GzEncoder<Vec<u8>>>,
}

impl Body for GzipBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        loop {
            let Some(encoder) = self.encoder.as_mut() else {
                return Poll::Ready(None);
            };
            // What the encoder has produced goes out first.
            if encoder.get_ref().len() >= 16 * 1024 {
                let out = std::mem::take(encoder.get_mut());
                return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
            }
            let next = match self.inner.as_mut() {
                Some(inner) => ready!(Pin::new(inner).poll_frame(cx)),
                None => None,
            };
            let Some(encoder) = self.encoder.as_mut() else {
                return Poll::Ready(None);
            };
            match next {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data()
                        && let Err(e) = encoder.write_all(&data)
                    {
                        return Poll::Ready(Some(Err(e.into())));
                    }
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {
                    self.inner = None;
                    let Some(encoder) = self.encoder.take() else {
                        return Poll::Ready(None);
                    };
                    return match encoder.finish() {
                        Ok(out) => Poll::Ready(Some(Ok(Frame::data(Bytes::from(out))))),
                        Err(e) => Poll::Ready(Some(Err(e.into()))),
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_gzip_token_counts() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, v.parse().unwrap());
            m
        };
        assert!(accepted(&h("gzip")));
        assert!(accepted(&h("deflate, gzip")));
        assert!(!accepted(&h("gzip;q=1.0")));
        assert!(!accepted(&h("br")));
        assert!(!accepted(&HeaderMap::new()));
    }

    #[test]
    fn watches_logs_and_openapi_are_left_alone() {
        assert!(applies("/api/v1/pods", "limit=500"));
        assert!(!applies("/api/v1/pods", "watch=true"));
        assert!(!applies("/api/v1/watch/pods", ""));
        assert!(!applies("/api/v1/namespaces/d/pods/p/log", ""));
        assert!(!applies("/openapi/v2", ""));
    }
}
