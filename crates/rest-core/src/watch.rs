//! Watch: a stream of typed events decoded incrementally from the body, whatever the
//! chunk boundaries. Each event is one JSON object (the API server ends each with a
//! newline, but nothing here relies on it); an event larger than the configured cap, or a
//! body that ends mid-event, is an error rather than a silent loss.

use std::collections::BTreeMap;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, TryFutureExt};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::request::Request;
use crate::response::{Response, ResponseBody, decode_at};
use crate::scan::{Scan, ValueScanner, is_ws};
use crate::status::{Status, excerpt};
use crate::transport::transport_error;

/// One watch event. `ERROR` events arrive as `Err(Error::Api(status))` instead.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent<T> {
    /// An object was created (or is part of the initial state).
    Added(T),
    /// An object changed.
    Modified(T),
    /// An object was deleted; its last state.
    Deleted(T),
    /// A progress marker: everything up to this resourceVersion has been sent.
    Bookmark(Bookmark),
}

/// A `BOOKMARK` event's content.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bookmark {
    /// The resourceVersion to resume from.
    pub resource_version: String,
    /// Annotations (`k8s.io/initial-events-end` marks the end of initial events).
    pub annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BookmarkObject {
    #[serde(default)]
    metadata: BookmarkMeta,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct BookmarkMeta {
    #[serde(default)]
    resource_version: String,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(tag = "type", content = "object", bound = "T: DeserializeOwned")]
enum RawEvent<T> {
    #[serde(rename = "ADDED")]
    Added(T),
    #[serde(rename = "MODIFIED")]
    Modified(T),
    #[serde(rename = "DELETED")]
    Deleted(T),
    #[serde(rename = "BOOKMARK")]
    Bookmark(BookmarkObject),
    #[serde(rename = "ERROR")]
    Error(Box<Status>),
}

/// Cuts a byte stream into top-level JSON objects.
#[derive(Debug)]
pub(crate) struct Framer {
    buf: BytesMut,
    scanner: ValueScanner,
    scanned: usize,
    consumed: u64,
    max: usize,
}

/// Why framing failed (the stream cannot go on).
#[derive(Debug)]
pub(crate) struct FrameError {
    pub(crate) offset: u64,
    pub(crate) message: String,
    pub(crate) excerpt: String,
}

impl Framer {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            scanner: ValueScanner::default(),
            scanned: 0,
            consumed: 0,
            max,
        }
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    fn error(&self, message: String) -> FrameError {
        FrameError {
            offset: self.consumed,
            message,
            excerpt: excerpt(&self.buf, 200),
        }
    }

    /// The next complete object and its offset in the body, if one is buffered.
    pub(crate) fn next_frame(&mut self) -> std::result::Result<Option<(Bytes, u64)>, FrameError> {
        if self.scanned == 0 {
            let ws = self.buf.iter().take_while(|b| is_ws(**b)).count();
            self.buf.advance(ws);
            self.consumed += ws as u64;
            match self.buf.first() {
                None => return Ok(None),
                Some(b'{') => {}
                Some(_) => return Err(self.error("expected a JSON object".to_owned())),
            }
        }
        match self.scanner.scan(&self.buf, self.scanned) {
            Scan::Complete(end) if end > self.max => Err(self.error(format!(
                "one event is larger than the limit of {} bytes",
                self.max
            ))),
            Scan::Complete(end) => {
                let frame = self.buf.split_to(end).freeze();
                let offset = self.consumed;
                self.consumed += end as u64;
                self.scanner = ValueScanner::default();
                self.scanned = 0;
                Ok(Some((frame, offset)))
            }
            Scan::Incomplete => {
                self.scanned = self.buf.len();
                if self.buf.len() > self.max {
                    Err(self.error(format!(
                        "one event is larger than the limit of {} bytes",
                        self.max
                    )))
                } else {
                    Ok(None)
                }
            }
        }
    }

    /// At the end of the body: an error if part of an event is left.
    pub(crate) fn finish(&self) -> std::result::Result<(), FrameError> {
        if self.buf.iter().all(|b| is_ws(*b)) {
            Ok(())
        } else {
            Err(self.error(format!(
                "the body ended in the middle of an event ({} bytes left)",
                self.buf.len()
            )))
        }
    }
}

pub(crate) fn frame_error(url: &str, e: FrameError) -> Error {
    Error::Decode {
        url: url.to_owned(),
        body_excerpt: e.excerpt,
        offset: Some(e.offset),
        source: e.message.into(),
    }
}

fn decode_event<T: DeserializeOwned>(
    url: &str,
    frame: &[u8],
    offset: u64,
) -> Result<WatchEvent<T>> {
    match decode_at::<RawEvent<T>>(url, frame, offset) {
        Ok(RawEvent::Added(o)) => Ok(WatchEvent::Added(o)),
        Ok(RawEvent::Modified(o)) => Ok(WatchEvent::Modified(o)),
        Ok(RawEvent::Deleted(o)) => Ok(WatchEvent::Deleted(o)),
        Ok(RawEvent::Bookmark(b)) => Ok(WatchEvent::Bookmark(Bookmark {
            resource_version: b.metadata.resource_version,
            annotations: b.metadata.annotations,
        })),
        Ok(RawEvent::Error(mut status)) => {
            if status.reason.is_empty() && status.code == 410 {
                status.reason = "Expired".to_owned();
            }
            Err(Error::Api(status))
        }
        Err(e) => Err(e),
    }
}

struct WatchState {
    body: ResponseBody,
    framer: Framer,
    url: String,
    done: bool,
}

impl Response {
    /// Decodes this (watch) response's body as a stream of events. A malformed event is
    /// reported and the stream goes on; an oversized or cut-off event ends it.
    pub fn watch_events<T>(mut self) -> impl Stream<Item = Result<WatchEvent<T>>> + Send + 'static
    where
        T: DeserializeOwned + Send + 'static,
    {
        let (body, url) = self.take_body();
        let state = WatchState {
            framer: Framer::new(self.max_event_size),
            body,
            url,
            done: false,
        };
        futures_util::stream::unfold(state, |mut st| async move {
            if st.done {
                return None;
            }
            loop {
                match st.framer.next_frame() {
                    Ok(Some((frame, offset))) => {
                        let ev = decode_event::<T>(&st.url, &frame, offset);
                        return Some((ev, st));
                    }
                    Ok(None) => {}
                    Err(e) => {
                        st.done = true;
                        let err = frame_error(&st.url, e);
                        return Some((Err(err), st));
                    }
                }
                match st.body.frame().await {
                    Some(Ok(frame)) => {
                        if let Some(data) = frame.data_ref() {
                            st.framer.push(data);
                        }
                    }
                    Some(Err(e)) => {
                        st.done = true;
                        let err = transport_error(&st.url, e);
                        return Some((Err(err), st));
                    }
                    None => {
                        st.done = true;
                        return match st.framer.finish() {
                            Ok(()) => None,
                            Err(e) => {
                                let err = frame_error(&st.url, e);
                                Some((Err(err), st))
                            }
                        };
                    }
                }
            }
        })
    }
}

impl Request {
    /// Starts a watch (adding `watch=true` unless given) and decodes its events as they
    /// arrive. Pass [`WatchOptions`](crate::WatchOptions) with `params` for a
    /// resourceVersion, selectors or bookmarks. Connecting is retried as any GET is; a
    /// watch that ends mid-stream is not resumed here (the caller knows where to resume).
    ///
    /// ```no_run
    /// # use kubecto_rest_core::{RestClient, WatchEvent, WatchOptions};
    /// # async fn run(client: RestClient) -> kubecto_rest_core::Result<()> {
    /// use futures_util::StreamExt;
    /// let events = client
    ///     .get()
    ///     .namespace("default")
    ///     .resource("pods")
    ///     .params(&WatchOptions::new().resource_version("12345").allow_watch_bookmarks(true))
    ///     .watch::<serde_json::Value>();
    /// futures_util::pin_mut!(events);
    /// while let Some(event) = events.next().await {
    ///     match event? {
    ///         WatchEvent::Added(pod) | WatchEvent::Modified(pod) => println!("{}", pod["metadata"]["name"]),
    ///         WatchEvent::Deleted(_) | WatchEvent::Bookmark(_) => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn watch<T>(self) -> impl Stream<Item = Result<WatchEvent<T>>> + Send + 'static
    where
        T: DeserializeOwned + Send + 'static,
    {
        let req = if self.has_param("watch") {
            self
        } else {
            self.param("watch", "true")
        };
        req.send()
            .map_ok(Response::watch_events::<T>)
            .try_flatten_stream()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_across_splits_and_without_newlines() {
        let text = b"{\"type\":\"ADDED\",\"object\":{\"a\":\"}\\\"\"}}\n{\"type\":\"DELETED\",\"object\":{}}{\"type\":\"BOOKMARK\",\"object\":{}}\n";
        for chunk in 1..text.len() {
            let mut f = Framer::new(1024);
            let mut frames = Vec::new();
            for piece in text.chunks(chunk) {
                f.push(piece);
                while let Some((frame, _)) = f.next_frame().unwrap() {
                    frames.push(frame);
                }
            }
            f.finish().unwrap();
            assert_eq!(frames.len(), 3, "chunk {chunk}");
        }
    }

    #[test]
    fn decodes_each_event_type_in_any_field_order() {
        let ev =
            decode_event::<serde_json::Value>("u", br#"{"object":{"a":1},"type":"MODIFIED"}"#, 0)
                .unwrap();
        assert_eq!(ev, WatchEvent::Modified(serde_json::json!({"a": 1})));
        let ev = decode_event::<serde_json::Value>(
            "u",
            br#"{"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"42","annotations":{"k8s.io/initial-events-end":"true"}}}}"#,
            0,
        )
        .unwrap();
        match ev {
            WatchEvent::Bookmark(b) => {
                assert_eq!(b.resource_version, "42");
                assert_eq!(
                    b.annotations
                        .get("k8s.io/initial-events-end")
                        .map(String::as_str),
                    Some("true")
                );
            }
            other => panic!("{other:?}"),
        }
        let err = decode_event::<serde_json::Value>(
            "u",
            br#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410}}"#,
            0,
        )
        .unwrap_err();
        assert!(err.is_expired(), "{err:?}");
        let err = decode_event::<serde_json::Value>("u", br#"{"type":"SURPRISE","object":{}}"#, 7)
            .unwrap_err();
        assert!(
            matches!(err, Error::Decode { offset: Some(o), .. } if o >= 7),
            "{err:?}"
        );
    }

    #[test]
    fn cap_and_truncation() {
        let mut f = Framer::new(10);
        f.push(b"{\"type\":\"ADDED\",");
        assert!(f.next_frame().is_err());
        let mut f = Framer::new(100);
        f.push(b"{\"type\":\"ADDED\"");
        assert!(f.next_frame().unwrap().is_none());
        assert!(f.finish().is_err());
    }
}
