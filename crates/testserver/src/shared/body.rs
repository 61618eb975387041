//! Response bodies: whole, streamed from stored objects, fed by a watch task,
//! and the wrappers fault injection uses to cut or re-chunk a body.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt as _;
use http_body_util::combinators::UnsyncBoxBody;
use tokio::sync::mpsc;

use crate::storage::store::Obj;

/// Errors a body can end with (the connection is then aborted).
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type of every response.
pub(crate) type ResBody = UnsyncBoxBody<Bytes, BoxError>;

/// A whole body.
pub(crate) fn full(bytes: impl Into<Bytes>) -> ResBody {
    http_body_util::Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

const LIST_CHUNK: usize = 64 * 1024;

/// A LIST body written from stored objects in ~64 KiB chunks, never as one buffer.
pub(crate) struct ListBody {
    head: Option<Bytes>,
    items: std::vec::IntoIter<Arc<Obj>>,
    first: bool,
    tail: Option<Bytes>,
}

impl ListBody {
    /// `head` is everything up to and including `"items":[`; `tail` closes the list.
    pub(crate) fn new(head: Bytes, items: Vec<Arc<Obj>>, tail: Bytes) -> ListBody {
        ListBody {
            head: Some(head),
            items: items.into_iter(),
            first: true,
            tail: Some(tail),
        }
    }
}

impl Body for ListBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let mut buf = BytesMut::with_capacity(LIST_CHUNK + 8 * 1024);
        if let Some(head) = this.head.take() {
            buf.extend_from_slice(&head);
        }
        while buf.len() < LIST_CHUNK {
            match this.items.next() {
                Some(item) => {
                    if !this.first {
                        buf.extend_from_slice(b",");
                    }
                    this.first = false;
                    buf.extend_from_slice(&item.body);
                }
                None => {
                    if let Some(tail) = this.tail.take() {
                        buf.extend_from_slice(&tail);
                    }
                    break;
                }
            }
        }
        if buf.is_empty() {
            Poll::Ready(None)
        } else {
            Poll::Ready(Some(Ok(Frame::data(buf.freeze()))))
        }
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.tail.is_none() && self.items.len() == 0
    }
}

/// A body fed chunk by chunk through a channel (watch streams).
pub(crate) struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl ChannelBody {
    /// A body and the sender that feeds it; the body ends when the sender is dropped.
    pub(crate) fn new(capacity: usize) -> (mpsc::Sender<Bytes>, ChannelBody) {
        let (tx, rx) = mpsc::channel(capacity);
        (tx, ChannelBody { rx })
    }
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b))))
    }
}

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

use std::future::Future as _;
