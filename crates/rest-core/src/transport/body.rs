//! The body of an answer as it comes off the connection: the pooled client's or a custom
//! service's, read against the request's deadline ([`Timed`]) and inflated when it was
//! sent gzip-compressed (`gzip.rs`); and the small reads the send loop does itself
//! (draining a body before a retry, reading an error body for its `Status`).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame};
use http_body_util::BodyExt;

use crate::error::BoxError;
use crate::transport::BoxBody;

/// How much of an unwanted body is read so the connection can be reused.
pub(crate) const DRAIN_LIMIT: usize = 4 * 1024;
/// How much of an error body is read to build a Status.
const ERROR_BODY_LIMIT: usize = 1024 * 1024;

/// The body of an answer: the default client's, or a boxed one from a custom service.
#[derive(Debug)]
pub(crate) enum ResponseBody {
    Pooled(crate::transport::pool::HttpBody),
    Boxed(BoxBody),
    /// A body read against the request's deadline.
    Timed(Box<Timed>),
    /// A gzip-compressed body, inflated as it is read.
    Gzip(Box<crate::transport::gzip::Gzip>),
    /// Already handed out.
    Empty,
}

/// A body that must be read before the request's deadline (client-go's timeout covers the
/// whole body too): once it passes, the next read fails with [`BodyTimeout`], so every
/// reader (whole, item by item, a watch) ends instead of waiting for ever on a server that
/// sent part of an answer and stalled.
#[derive(Debug)]
pub(crate) struct Timed {
    body: ResponseBody,
    sleep: Pin<Box<tokio::time::Sleep>>,
    after: Duration,
}

impl ResponseBody {
    /// This body, to be read before `at` (`after` the request's start).
    pub(crate) fn read_by(self, at: std::time::Instant, after: Duration) -> ResponseBody {
        ResponseBody::Timed(Box::new(Timed {
            body: self,
            sleep: Box::pin(tokio::time::sleep_until(at.into())),
            after,
        }))
    }
}

/// The error a [`Timed`] body fails with; [`transport_error`](crate::transport::transport_error) turns it into
/// [`Error::Timeout`].
#[derive(Debug, thiserror::Error)]
#[error("the answer's body was not read within the request's timeout of {0:?}")]
pub(crate) struct BodyTimeout(pub(crate) Duration);

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match this {
            ResponseBody::Pooled(b) => Pin::new(b).poll_frame(cx),
            ResponseBody::Boxed(b) => Pin::new(b).poll_frame(cx),
            ResponseBody::Gzip(g) => Pin::new(&mut **g).poll_frame(cx),
            ResponseBody::Timed(t) => {
                if t.sleep.as_mut().poll(cx).is_ready() {
                    // Reported once; the body is dropped, which closes its connection.
                    let after = t.after;
                    *this = ResponseBody::Empty;
                    return Poll::Ready(Some(Err(Box::new(BodyTimeout(after)))));
                }
                Pin::new(&mut t.body).poll_frame(cx)
            }
            ResponseBody::Empty => Poll::Ready(None),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            ResponseBody::Pooled(b) => b.size_hint(),
            ResponseBody::Boxed(b) => b.size_hint(),
            ResponseBody::Timed(t) => t.body.size_hint(),
            // The inflated size is not known.
            ResponseBody::Gzip(_) => http_body::SizeHint::default(),
            ResponseBody::Empty => http_body::SizeHint::with_exact(0),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Pooled(b) => b.is_end_stream(),
            ResponseBody::Boxed(b) => b.is_end_stream(),
            ResponseBody::Timed(t) => t.body.is_end_stream(),
            ResponseBody::Gzip(g) => g.is_end_stream(),
            ResponseBody::Empty => true,
        }
    }
}

/// Reads and discards up to [`DRAIN_LIMIT`] bytes so the connection can go back to the
/// pool (the seed's `io.Copy(ioutil.Discard, ...)` before a retry). A larger body is
/// dropped unread, which closes the connection.
pub(crate) async fn drain(mut body: ResponseBody) {
    if body.size_hint().lower() > DRAIN_LIMIT as u64 {
        return;
    }
    let mut seen = 0usize;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(d) = frame.data_ref() {
            seen += d.len();
            if seen > DRAIN_LIMIT {
                return;
            }
        }
    }
}

/// Reads what has already arrived of a small body without waiting, so its connection
/// is back in the pool before the next request; `true` when nothing is left to do
/// (finished, failed, or larger than [`DRAIN_LIMIT`] after all, and dropped).
pub(crate) fn drain_now(body: &mut ResponseBody) -> bool {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let mut seen = 0usize;
    while seen <= DRAIN_LIMIT {
        match Pin::new(&mut *body).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => {
                seen += frame.data_ref().map_or(0, Bytes::len);
            }
            Poll::Ready(None) => return true,
            Poll::Ready(Some(Err(_))) => return true,
            Poll::Pending => return false,
        }
    }
    true
}

/// Reads an error body, up to [`ERROR_BODY_LIMIT`]; a failure mid-body keeps what came.
pub(crate) async fn read_error_body(mut body: ResponseBody) -> Bytes {
    let mut buf = BytesMut::new();
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(d) = frame.data_ref() {
            let room = ERROR_BODY_LIMIT.saturating_sub(buf.len());
            buf.extend_from_slice(&d[..d.len().min(room)]);
            if buf.len() >= ERROR_BODY_LIMIT {
                break;
            }
        }
    }
    buf.freeze()
}
