//! The bodies fault injection wraps an answer in: one cut short after some bytes (the
//! connection is aborted), one re-framed into small chunks.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::shared::body::{BoxError, ResBody};

/// Passes the first `remaining` bytes of a body, then fails it (the connection is
/// aborted). It pauses before failing so that the head and the bytes already sent
/// reach the client: the client sees a body cut short, not a missing answer.
pub(crate) struct TruncatedBody {
    inner: ResBody,
    remaining: usize,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl TruncatedBody {
    /// Cut `inner` after `after` bytes.
    pub(crate) fn new(inner: ResBody, after: usize) -> TruncatedBody {
        TruncatedBody {
            inner,
            remaining: after,
            pause: None,
        }
    }

    /// Wait for the flush pause, then fail.
    fn fail(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let pause = self
            .pause
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(100))));
        ready!(pause.as_mut().poll(cx));
        Poll::Ready(Some(Err("fault injected: body truncated".into())))
    }
}

impl Body for TruncatedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.remaining == 0 {
            return this.fail(cx);
        }
        match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(mut data) => {
                    if data.len() > this.remaining {
                        data.truncate(this.remaining);
                    }
                    this.remaining -= data.len();
                    Poll::Ready(Some(Ok(Frame::data(data))))
                }
                Err(frame) => Poll::Ready(Some(Ok(frame))),
            },
            Some(Err(e)) => Poll::Ready(Some(Err(e))),
            None => {
                this.remaining = 0;
                this.fail(cx)
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// Re-frames a body into `size`-byte chunks, pausing briefly between them so each
/// goes out on its own.
pub(crate) struct RechunkedBody {
    inner: ResBody,
    size: usize,
    pending: Bytes,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
    done: bool,
}

impl RechunkedBody {
    /// Split `inner` into chunks of `size` bytes (at least 1).
    pub(crate) fn new(inner: ResBody, size: usize) -> RechunkedBody {
        RechunkedBody {
            inner,
            size: size.max(1),
            pending: Bytes::new(),
            pause: None,
            done: false,
        }
    }
}

impl Body for RechunkedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Some(pause) = this.pause.as_mut() {
            ready!(pause.as_mut().poll(cx));
            this.pause = None;
        }
        while this.pending.is_empty() {
            if this.done {
                return Poll::Ready(None);
            }
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => this.pending = data,
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => this.done = true,
            }
        }
        let n = this.size.min(this.pending.len());
        let chunk = this.pending.split_to(n);
        this.pause = Some(Box::pin(tokio::time::sleep(Duration::from_millis(1))));
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }
}
