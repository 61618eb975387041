//! Response bodies: whole, streamed from stored objects, or fed by a task (watches,
//! followed logs) and cut on demand.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame};
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

/// A body fed chunk by chunk through a channel (watch streams, followed logs), which
/// can be cut: then it stops passing chunks and, after a pause that lets what was sent
/// reach the client, fails, so the connection is aborted as if it broke.
pub(crate) struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
    cut: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    failing: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl ChannelBody {
    /// A body and the sender that feeds it; the body ends when the sender is dropped.
    pub(crate) fn new(capacity: usize) -> (mpsc::Sender<Bytes>, ChannelBody) {
        let (tx, rx) = mpsc::channel(capacity);
        let body = ChannelBody {
            rx,
            cut: None,
            failing: None,
        };
        (tx, body)
    }

    /// Cut the body when `signal` resolves.
    pub(crate) fn cut_when(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.cut = Some(Box::pin(signal));
        self
    }
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Some(cut) = this.cut.as_mut()
            && cut.as_mut().poll(cx).is_ready()
        {
            this.cut = None;
            this.failing = Some(Box::pin(tokio::time::sleep(Duration::from_millis(100))));
        }
        if let Some(pause) = this.failing.as_mut() {
            ready!(pause.as_mut().poll(cx));
            return Poll::Ready(Some(Err(
                "the stream was cut (TestServer::drop_open_watches)".into(),
            )));
        }
        this.rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b))))
    }
}
