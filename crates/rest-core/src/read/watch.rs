//! Watch: a stream of typed events decoded incrementally from the body, whatever the
//! chunk boundaries. Each event is one JSON object; the API server writes one per line,
//! which the fast path uses, but events spread over lines or with no newline between them
//! decode too (see [`Framer`]). An event larger than the configured cap, or a body that
//! ends mid-event, is an error rather than a silent loss.

use std::collections::BTreeMap;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, TryFutureExt};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::codec::decode::Decoder;
use crate::codec::scan::{Scan, ValueScanner, is_ws};
use crate::error::{Error, Result};
use crate::read::response::Response;
use crate::request::Request;
use crate::status::{Status, excerpt};
use crate::transport::body::ResponseBody;
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
    /// Usually a `Status`, but a broken server or proxy can send anything.
    #[serde(rename = "ERROR")]
    Error(Box<serde_json::Value>),
}

/// Cuts a byte stream into top-level JSON objects.
///
/// kube-apiserver writes one compact event per line, so the fast path finds the next
/// newline and decodes the line in place (the decoder, not a second pass, says where the
/// value ends). Only when that is not a whole value (a server that pretty-prints events
/// across lines, or a malformed event) is the event cut with the [`ValueScanner`], and
/// decoded from its own slice. Callgrind, 7.5 KB events: the scanner
/// cost ≈ 127 K instructions per event byte by byte (≈ 62 K since it walks 64-byte
/// blocks), the newline search ≈ 1–5 K.
#[derive(Debug)]
pub(crate) struct Framer {
    buf: BytesMut,
    scanner: ValueScanner,
    /// How far the scanner has gone into the event at the head of `buf` (0: not started).
    scanned: usize,
    /// The event at the head of `buf` is scanned, not read as a line.
    scanning: bool,
    /// Bytes at the head of `buf` known to hold no newline.
    searched: usize,
    /// A newline has ended an event: the server writes one per line, so an event is
    /// read as a line once its newline is there.
    lines: bool,
    /// The body has ended: whatever is buffered is all there is.
    ended: bool,
    consumed: u64,
    max: usize,
}

/// What [`Framer::next`] found.
#[derive(Debug)]
pub(crate) enum Next<E> {
    /// A line decoded in place by the caller's decoder.
    Decoded(E),
    /// An event cut by the scanner, to decode from its slice, and its offset in the body.
    Scanned(Bytes, u64),
}

/// Why framing failed (the stream cannot go on).
#[derive(Debug)]
pub(crate) struct FrameError {
    pub(crate) offset: u64,
    pub(crate) message: String,
    pub(crate) excerpt: String,
}

/// The index of the first `\n` in `bytes`: 32 bytes at a time (a loop the compiler
/// vectorises), then byte by byte inside the block that has it.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const BLOCK: usize = 32;
    let mut base = 0;
    for block in bytes.chunks_exact(BLOCK) {
        if block.iter().fold(false, |found, b| found | (*b == b'\n')) {
            break;
        }
        base += BLOCK;
    }
    bytes[base..]
        .iter()
        .position(|b| *b == b'\n')
        .map(|i| base + i)
}

impl Framer {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            scanner: ValueScanner::default(),
            scanned: 0,
            scanning: false,
            searched: 0,
            lines: false,
            ended: false,
            consumed: 0,
            max,
        }
    }

    /// The body has ended: buffered events are cut by the scanner from now on, none waits
    /// for a newline or a chunk that ends with `}`.
    pub(crate) fn end(&mut self) {
        self.ended = true;
    }

    pub(crate) fn is_ended(&self) -> bool {
        self.ended
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

    fn too_large(&self) -> FrameError {
        self.error(format!(
            "one event is larger than the limit of {} bytes",
            self.max
        ))
    }

    fn advance(&mut self, n: usize) {
        self.buf.advance(n);
        self.consumed += n as u64;
        self.searched = self.searched.saturating_sub(n);
    }

    /// Forgets the scan of the event just taken.
    fn reset_event(&mut self) {
        self.scanner = ValueScanner::default();
        self.scanned = 0;
        self.scanning = false;
    }

    /// The next complete event, if one is buffered. `decode_line` gets a line (without its
    /// newline) that starts with `{`; it returns the decoded value and where it ended in the
    /// line, or `None` if the line does not start with a whole value it can decode (the
    /// event is then scanned and handed out as [`Next::Scanned`]).
    pub(crate) fn next<E>(
        &mut self,
        decode_line: impl FnOnce(&[u8]) -> Option<(E, usize)>,
    ) -> std::result::Result<Option<Next<E>>, FrameError> {
        if self.scanned == 0 {
            let ws = self.buf.iter().take_while(|b| is_ws(**b)).count();
            self.advance(ws);
            match self.buf.first() {
                None => return Ok(None),
                Some(b'{') => {}
                Some(_) => return Err(self.error("expected a JSON object".to_owned())),
            }
        }
        if !self.scanning {
            let from = self.searched.min(self.buf.len());
            match find_newline(&self.buf[from..]) {
                Some(i) => {
                    let nl = from + i;
                    self.searched = nl;
                    self.lines = true;
                    if nl <= self.max
                        && let Some((event, end)) = decode_line(&self.buf[..nl])
                    {
                        self.advance(end.min(nl));
                        self.reset_event();
                        return Ok(Some(Next::Decoded(event)));
                    }
                    // Not a whole value on this line (pretty-printed, malformed, or over
                    // the cap): scan this event.
                    self.scanning = true;
                }
                None => {
                    self.searched = self.buf.len();
                    // Wait for the newline of a server that writes them, unless the buffer
                    // ends as an event does (or is over the cap, to tell a complete event
                    // from a big one). A server that omits newlines gets its events cut by
                    // the scanner as they arrive: waiting for a chunk that ends with `}`
                    // held a complete event back until the next one was whole, and lost
                    // it when the body ended first (found by the `watch` fuzz target).
                    let last = self.buf.iter().rev().find(|b| !is_ws(**b));
                    if self.lines
                        && !self.ended
                        && last != Some(&b'}')
                        && self.buf.len() <= self.max
                    {
                        return Ok(None);
                    }
                }
            }
        }
        match self.scanner.scan(&self.buf, self.scanned) {
            Scan::Complete(end) if end > self.max => Err(self.too_large()),
            Scan::Complete(end) => {
                let offset = self.consumed;
                let frame = self.buf.split_to(end).freeze();
                self.consumed += end as u64;
                self.searched = self.searched.saturating_sub(end);
                self.reset_event();
                Ok(Some(Next::Scanned(frame, offset)))
            }
            Scan::Incomplete => {
                self.scanned = self.buf.len();
                if self.buf.len() > self.max {
                    Err(self.too_large())
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

/// Decodes the event at the start of `line` in place: the event and where it ends, or
/// `None` if the line does not start with a whole, well-formed event (the caller then
/// scans for its end and decodes it with [`decode_event`], which reports the error).
///
/// simd-json first, on the whole line (what kube-apiserver sends); if it fails (a line
/// that holds more than one value, or not a whole one, or a bad one), serde_json, which
/// also says where a value that starts the line ends.
fn decode_line<T: DeserializeOwned>(
    decoder: &mut Decoder,
    line: &[u8],
) -> Option<(RawEvent<T>, usize)> {
    if let Some(event) = decoder.try_decode(line) {
        return Some((event, line.len()));
    }
    let text = std::str::from_utf8(line).ok()?;
    let mut events = serde_json::Deserializer::from_str(text).into_iter::<RawEvent<T>>();
    let event = events.next()?.ok()?;
    Some((event, events.byte_offset()))
}

fn event_of<T>(raw: RawEvent<T>) -> Result<WatchEvent<T>> {
    match raw {
        RawEvent::Added(o) => Ok(WatchEvent::Added(o)),
        RawEvent::Modified(o) => Ok(WatchEvent::Modified(o)),
        RawEvent::Deleted(o) => Ok(WatchEvent::Deleted(o)),
        RawEvent::Bookmark(b) => Ok(WatchEvent::Bookmark(Bookmark {
            resource_version: b.metadata.resource_version,
            annotations: b.metadata.annotations,
        })),
        RawEvent::Error(object) => Err(Error::Api(Box::new(error_event_status(*object)))),
    }
}

/// The `Status` an ERROR event carries; an object that is not one becomes an
/// `InternalError` that shows it (client-go: "unexpected object").
fn error_event_status(object: serde_json::Value) -> Status {
    let looks_like_status = object.get("kind").and_then(|k| k.as_str()) == Some("Status")
        || (object.get("kind").is_none()
            && object.get("code").is_some_and(serde_json::Value::is_u64));
    if looks_like_status && let Ok(mut status) = serde_json::from_value::<Status>(object.clone()) {
        if status.reason.is_empty() && status.code == 410 {
            status.reason = "Expired".to_owned();
        }
        return status;
    }
    let shown = crate::status::excerpt(object.to_string().as_bytes(), 512);
    Status::failure(
        500,
        "InternalError",
        format!("the watch sent an ERROR event whose object is not a Status: {shown}"),
    )
}

fn decode_event<T: DeserializeOwned>(
    decoder: &mut Decoder,
    url: &str,
    frame: &[u8],
    offset: u64,
) -> Result<WatchEvent<T>> {
    event_of(decoder.decode_at::<RawEvent<T>>(url, frame, offset)?)
}

struct WatchState {
    body: ResponseBody,
    framer: Framer,
    /// simd-json's buffers, reused for every event.
    decoder: Decoder,
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
            framer: Framer::new(self.limits.event),
            decoder: Decoder::default(),
            body,
            url,
            done: false,
        };
        futures_util::stream::unfold(state, |mut st| async move {
            if st.done {
                return None;
            }
            loop {
                let decoder = &mut st.decoder;
                match st.framer.next(|line| decode_line::<T>(decoder, line)) {
                    Ok(Some(Next::Decoded(raw))) => return Some((event_of(raw), st)),
                    Ok(Some(Next::Scanned(frame, offset))) => {
                        let ev = decode_event::<T>(&mut st.decoder, &st.url, &frame, offset);
                        return Some((ev, st));
                    }
                    Ok(None) => {}
                    Err(e) => {
                        st.done = true;
                        let err = frame_error(&st.url, e);
                        return Some((Err(err), st));
                    }
                }
                if st.framer.is_ended() {
                    st.done = true;
                    return match st.framer.finish() {
                        Ok(()) => None,
                        Err(e) => {
                            let err = frame_error(&st.url, e);
                            Some((Err(err), st))
                        }
                    };
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
                    // The events still buffered, then the end.
                    None => st.framer.end(),
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
        self.with_watch_param()
            .send()
            .map_ok(Response::watch_events::<T>)
            .try_flatten_stream()
    }

    /// This request with `watch=true`, unless a `watch` parameter is set.
    pub(crate) fn with_watch_param(self) -> Self {
        if self.has_param("watch") {
            self
        } else {
            self.param("watch", "true")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event of `text` fed in `chunk`-byte pieces: `(event, scanned)` pairs.
    fn frames(text: &[u8], chunk: usize, max: usize) -> Vec<(serde_json::Value, bool)> {
        let mut f = Framer::new(max);
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for piece in text.chunks(chunk) {
            f.push(piece);
            while let Some(next) = f
                .next(|l| decode_line::<serde_json::Value>(&mut d, l))
                .unwrap()
            {
                out.push(match next {
                    Next::Decoded(RawEvent::Added(o) | RawEvent::Deleted(o)) => (o, false),
                    Next::Decoded(_) => (serde_json::Value::Null, false),
                    Next::Scanned(frame, _) => {
                        match decode_event(&mut d, "u", &frame, 0).unwrap() {
                            WatchEvent::Added(o) | WatchEvent::Deleted(o) => (o, true),
                            _ => (serde_json::Value::Null, true),
                        }
                    }
                });
            }
        }
        f.finish().unwrap();
        out
    }

    /// Found by the `watch` fuzz target: with no newline after it, a complete event followed
    /// by part of the next waited for a chunk that ended with `}` (so for the whole next
    /// event), and was lost, reported as a cut-off event, when the body ended first.
    #[test]
    fn a_complete_event_is_not_held_back_by_the_next() {
        let mut d = Decoder::default();
        let mut next = |f: &mut Framer| {
            f.next(|l| decode_line::<serde_json::Value>(&mut d, l))
                .unwrap()
                .map(|n| matches!(n, Next::Scanned(..)))
        };
        // A server that writes no newlines: the event comes out as soon as it is whole.
        let mut f = Framer::new(1024);
        f.push(b"{\"type\":\"ADDED\",\"object\":{\"n\":1}}{\"type\":\"ADD");
        assert_eq!(next(&mut f), Some(true));
        assert_eq!(next(&mut f), None);
        // One that writes them but broke off: the whole event is handed out at the end,
        // then the cut one is an error.
        let mut f = Framer::new(1024);
        f.push(b"{\"type\":\"ADDED\",\"object\":{}}\n{\"type\":\"ADDED\",\"object\":{}}{\"ty");
        assert_eq!(next(&mut f), Some(false));
        assert_eq!(next(&mut f), None);
        f.end();
        assert_eq!(next(&mut f), Some(true));
        assert_eq!(next(&mut f), None);
        assert!(f.finish().is_err());
    }

    #[test]
    fn frames_across_splits_and_without_newlines() {
        let text = b"{\"type\":\"ADDED\",\"object\":{\"a\":\"}\\\"\"}}\n{\"type\":\"DELETED\",\"object\":{}}{\"type\":\"BOOKMARK\",\"object\":{}}\n";
        for chunk in 1..text.len() {
            assert_eq!(frames(text, chunk, 1024).len(), 3, "chunk {chunk}");
        }
        // No newline at all: each event is still handed out as soon as it is complete.
        let text =
            b"{\"type\":\"ADDED\",\"object\":{\"n\":1}}{\"type\":\"ADDED\",\"object\":{\"n\":2}}";
        for chunk in 1..text.len() {
            let got = frames(text, chunk, 1024);
            assert_eq!(got.len(), 2, "chunk {chunk}");
            assert_eq!(got[1].0["n"], 2, "chunk {chunk}");
        }
    }

    #[test]
    fn compact_lines_are_decoded_in_place_and_pretty_events_scanned() {
        let compact = b"{\"type\":\"ADDED\",\"object\":{\"s\":\"{[\\n\"}}\r\n";
        let pretty = b"{\n  \"type\": \"DELETED\",\n  \"object\": {\"s\": \"}\"}\n}\n";
        let mut text = Vec::new();
        for _ in 0..3 {
            text.extend_from_slice(compact);
            text.extend_from_slice(pretty);
        }
        for chunk in [1, 2, 5, 13, text.len()] {
            let got = frames(&text, chunk, 1024);
            assert_eq!(got.len(), 6, "chunk {chunk}");
            for pair in got.chunks(2) {
                assert_eq!(pair[0].0["s"], "{[\n", "chunk {chunk}");
                assert_eq!(pair[1].0["s"], "}", "chunk {chunk}");
            }
            // Pretty-printed events are always scanned; compact lines are decoded in place
            // unless a chunk ends right after their closing brace (then the scanner, which
            // serves servers that send no newline, gets there first).
            assert!(
                got.iter().skip(1).step_by(2).all(|(_, s)| *s),
                "chunk {chunk}"
            );
            if chunk == text.len() {
                assert!(got.iter().step_by(2).all(|(_, s)| !*s));
            }
        }
    }

    #[test]
    fn decodes_each_event_type_in_any_field_order() {
        let ev = decode_event::<serde_json::Value>(
            &mut Decoder::default(),
            "u",
            br#"{"object":{"a":1},"type":"MODIFIED"}"#,
            0,
        )
        .unwrap();
        assert_eq!(ev, WatchEvent::Modified(serde_json::json!({"a": 1})));
        let ev = decode_event::<serde_json::Value>(
            &mut Decoder::default(),
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
            &mut Decoder::default(),
            "u",
            br#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410}}"#,
            0,
        )
        .unwrap_err();
        assert!(err.is_expired(), "{err:?}");
        let err = decode_event::<serde_json::Value>(
            &mut Decoder::default(),
            "u",
            br#"{"type":"SURPRISE","object":{}}"#,
            7,
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::Decode { offset: Some(o), .. } if o >= 7),
            "{err:?}"
        );
    }

    #[test]
    fn cap_and_truncation() {
        let next = |f: &mut Framer| {
            f.next(|l| decode_line::<serde_json::Value>(&mut Decoder::default(), l))
                .map(|n| n.is_some())
        };
        let mut f = Framer::new(10);
        f.push(b"{\"type\":\"ADDED\",");
        assert!(next(&mut f).is_err());
        // A whole line over the cap.
        let mut f = Framer::new(20);
        f.push(b"{\"type\":\"ADDED\",\"object\":{}}\n");
        assert!(next(&mut f).is_err());
        let mut f = Framer::new(100);
        f.push(b"{\"type\":\"ADDED\"");
        assert!(!next(&mut f).unwrap());
        assert!(f.finish().is_err());
        // Cut after a line that is not a whole event.
        let mut f = Framer::new(100);
        f.push(b"{\"type\":\"ADDED\",\n\"object\":");
        assert!(!next(&mut f).unwrap());
        assert!(f.finish().is_err());
    }

    #[test]
    fn find_newline_anywhere() {
        for len in 0..100 {
            let mut v = vec![b'x'; len];
            assert_eq!(find_newline(&v), None);
            for at in 0..len {
                v[at] = b'\n';
                assert_eq!(find_newline(&v), Some(at), "len {len} at {at}");
                v[at] = b'x';
            }
        }
    }
}
