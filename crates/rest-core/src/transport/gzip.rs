//! Compressed answers: a body sent with `Content-Encoding: gzip` is inflated as it is read,
//! whatever reads it (whole, item by item, a watch), as Go's transport does for client-go.
//! The compressed input is fed to the inflater a kilobyte at a time and what comes out is
//! handed on at once, so a small body that inflates enormously (a gzip bomb) never sits in
//! memory beyond what its reader allows: a body read whole stops at
//! [`Config::max_body_size`](crate::Config::max_body_size), a list item or watch event at
//! [`Config::max_event_size`](crate::Config::max_event_size).

use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use flate2::write::GzDecoder;
use http_body::{Body, Frame};

use crate::error::BoxError;
use crate::transport::body::ResponseBody;

/// How much compressed input is inflated per step: deflate inflates at most about 1,032
/// to 1, so one step never makes more than about a megabyte.
const STEP: usize = 1024;

/// A gzip-compressed body, inflated as it is polled.
#[derive(Debug)]
pub(crate) struct Gzip {
    body: ResponseBody,
    inflater: GzDecoder<Vec<u8>>,
    /// Compressed bytes received and not yet inflated.
    pending: Bytes,
    /// How much compressed input was taken, for errors.
    taken: u64,
    ended: bool,
}

/// A compressed body that is not valid gzip.
#[derive(Debug, thiserror::Error)]
#[error("the gzip-compressed body is corrupt at compressed byte {offset}: {source}")]
pub(crate) struct GzipError {
    offset: u64,
    source: std::io::Error,
}

impl Gzip {
    pub(crate) fn new(body: ResponseBody) -> Self {
        Self {
            body,
            inflater: GzDecoder::new(Vec::new()),
            pending: Bytes::new(),
            taken: 0,
            ended: false,
        }
    }

    fn fail(&mut self, source: std::io::Error) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.ended = true;
        self.pending = Bytes::new();
        Poll::Ready(Some(Err(Box::new(GzipError {
            offset: self.taken,
            source,
        }))))
    }
}

impl Body for Gzip {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            let out = this.inflater.get_mut();
            if !out.is_empty() {
                let data = Bytes::from(std::mem::take(out));
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            if !this.pending.is_empty() {
                let step = this.pending.len().min(STEP);
                match this.inflater.write(&this.pending[..step]) {
                    Ok(0) => {
                        // The gzip member ended; anything after it is not ours to read.
                        this.pending = Bytes::new();
                    }
                    Ok(n) => {
                        this.pending = this.pending.slice(n..);
                        this.taken += n as u64;
                    }
                    Err(e) => return this.fail(e),
                }
                continue;
            }
            match Pin::new(&mut this.body).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        this.pending = data;
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    this.ended = true;
                    if let Err(e) = this.inflater.try_finish() {
                        return this.fail(e);
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.inflater.get_ref().is_empty()
    }
}
