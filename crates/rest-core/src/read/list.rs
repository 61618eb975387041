//! LIST bodies consumed item by item: a small state machine walks the top-level object,
//! finds each element of `"items":[...]` with the incremental tokenizer, and decodes it from
//! its own slice as soon as it is complete. Bytes already decoded are released, so a
//! 10,000-pod list never sits in memory as one buffer.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use http_body::Body;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::codec::decode::Decoder;
use crate::codec::scan::{Scan, ValueScanner, is_ws};
use crate::error::Result;
use crate::protobuf::stream::Found;
use crate::read::response::Response;
use crate::read::watch::FrameError;
use crate::status::excerpt;
use crate::transport::body::ResponseBody;
use crate::transport::transport_error;

/// `metav1.ListMeta`: where a list stands.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListMeta {
    /// The resourceVersion the list was served at.
    #[serde(default)]
    pub resource_version: Option<String>,
    /// The token for the next page; `None` or empty on the last page.
    #[serde(default, rename = "continue")]
    pub continue_token: Option<String>,
    /// How many items remain after this page, when the server knows.
    #[serde(default)]
    pub remaining_item_count: Option<i64>,
}

impl ListMeta {
    /// The continue token, if there is a next page.
    pub fn next_page(&self) -> Option<&str> {
        self.continue_token.as_deref().filter(|c| !c.is_empty())
    }
}

/// A whole list: its kind, metadata and items.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectList<T> {
    /// The list's `kind` (`PodList`, say), when the server sent one.
    pub kind: Option<String>,
    /// The list's `apiVersion` (`v1`, `apps/v1`), when the server sent one.
    pub api_version: Option<String>,
    /// The list's metadata (of the last page, for a paged list).
    pub metadata: ListMeta,
    /// The items.
    pub items: Vec<T>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Items,
    Metadata,
    Kind,
    ApiVersion,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    /// After `{` or a member: expect a key, `,` or `}`.
    Member {
        first: bool,
    },
    KeyString,
    Colon(Key),
    Value(Key),
    /// Inside `items`: expect an item, `,` or `]`.
    Items {
        first: bool,
    },
    Item,
    Done,
}

/// What the parser found.
#[derive(Debug)]
pub(crate) enum Token {
    Item(Bytes, u64),
    Meta(Bytes, u64),
    Kind(Bytes, u64),
    ApiVersion(Bytes, u64),
}

/// The list body parser, fed chunks as they arrive.
#[derive(Debug)]
pub(crate) struct ListParser {
    buf: BytesMut,
    consumed: u64,
    state: State,
    scanner: ValueScanner,
    scanned: usize,
    max_item: usize,
}

impl ListParser {
    pub(crate) fn new(max_item: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            consumed: 0,
            state: State::Start,
            scanner: ValueScanner::default(),
            scanned: 0,
            max_item,
        }
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn error(&self, message: impl Into<String>) -> FrameError {
        FrameError {
            offset: self.consumed,
            message: message.into(),
            excerpt: excerpt(&self.buf, 200),
        }
    }

    fn advance(&mut self, n: usize) {
        self.buf.advance(n);
        self.consumed += n as u64;
    }

    /// Skips whitespace; the next byte, if buffered.
    fn peek(&mut self) -> Option<u8> {
        let ws = self.buf.iter().take_while(|b| is_ws(**b)).count();
        self.advance(ws);
        self.buf.first().copied()
    }

    /// Scans the value at the head of the buffer; `Some(bytes, offset)` once complete.
    fn take_value(&mut self) -> std::result::Result<Option<(Bytes, u64)>, FrameError> {
        if self.scanned == 0 && self.peek().is_none() {
            return Ok(None);
        }
        match self.scanner.scan(&self.buf, self.scanned) {
            Scan::Complete(end) if end > self.max_item => Err(self.error(format!(
                "one list item or field is larger than the limit of {} bytes",
                self.max_item
            ))),
            Scan::Complete(end) => {
                let offset = self.consumed;
                let bytes = self.buf.split_to(end).freeze();
                self.consumed += end as u64;
                self.scanner = ValueScanner::default();
                self.scanned = 0;
                Ok(Some((bytes, offset)))
            }
            Scan::Incomplete => {
                self.scanned = self.buf.len();
                if self.buf.len() > self.max_item {
                    Err(self.error(format!(
                        "one list item or field is larger than the limit of {} bytes",
                        self.max_item
                    )))
                } else {
                    Ok(None)
                }
            }
        }
    }

    /// The next item or metadata; `Ok(None)` when more bytes are needed or the list ended.
    pub(crate) fn next(&mut self) -> std::result::Result<Option<Token>, FrameError> {
        loop {
            match self.state {
                State::Start => match self.peek() {
                    None => return Ok(None),
                    Some(b'{') => {
                        self.advance(1);
                        self.state = State::Member { first: true };
                    }
                    Some(_) => return Err(self.error("a list must be a JSON object")),
                },
                State::Member { first } => match self.peek() {
                    None => return Ok(None),
                    Some(b'}') => {
                        self.advance(1);
                        self.state = State::Done;
                    }
                    Some(b',') if !first => {
                        self.advance(1);
                        self.state = State::KeyString;
                    }
                    Some(b'"') if first => self.state = State::KeyString,
                    Some(_) => return Err(self.error("expected a key, ',' or '}' in the list")),
                },
                State::KeyString => {
                    if self.scanned == 0 {
                        match self.peek() {
                            None => return Ok(None),
                            Some(b'"') => {}
                            Some(_) => return Err(self.error("expected a key in the list")),
                        }
                    }
                    let Some((raw, _)) = self.take_value()? else {
                        return Ok(None);
                    };
                    let key = if raw.contains(&b'\\') {
                        serde_json::from_slice::<String>(&raw)
                            .map_err(|e| self.error(format!("invalid key: {e}")))?
                    } else {
                        String::from_utf8_lossy(&raw[1..raw.len() - 1]).into_owned()
                    };
                    let key = match key.as_str() {
                        "items" => Key::Items,
                        "metadata" => Key::Metadata,
                        "kind" => Key::Kind,
                        "apiVersion" => Key::ApiVersion,
                        _ => Key::Other,
                    };
                    self.state = State::Colon(key);
                }
                State::Colon(key) => match self.peek() {
                    None => return Ok(None),
                    Some(b':') => {
                        self.advance(1);
                        self.state = State::Value(key);
                    }
                    Some(_) => return Err(self.error("expected ':' in the list")),
                },
                State::Value(Key::Items) if self.scanned == 0 => match self.peek() {
                    None => return Ok(None),
                    Some(b'[') => {
                        self.advance(1);
                        self.state = State::Items { first: true };
                    }
                    // `"items": null` and anything else are skipped as a plain value.
                    Some(_) => self.state = State::Value(Key::Other),
                },
                State::Value(key) => {
                    let Some((value, offset)) = self.take_value()? else {
                        return Ok(None);
                    };
                    self.state = State::Member { first: false };
                    match key {
                        Key::Metadata => return Ok(Some(Token::Meta(value, offset))),
                        Key::Kind => return Ok(Some(Token::Kind(value, offset))),
                        Key::ApiVersion => return Ok(Some(Token::ApiVersion(value, offset))),
                        Key::Items | Key::Other => {}
                    }
                }
                State::Items { first } => match self.peek() {
                    None => return Ok(None),
                    Some(b']') => {
                        self.advance(1);
                        self.state = State::Member { first: false };
                    }
                    Some(b',') if !first => {
                        self.advance(1);
                        self.state = State::Item;
                    }
                    Some(_) if first => self.state = State::Item,
                    Some(_) => return Err(self.error("expected ',' or ']' between list items")),
                },
                State::Item => {
                    let Some((value, offset)) = self.take_value()? else {
                        return Ok(None);
                    };
                    self.state = State::Items { first: false };
                    return Ok(Some(Token::Item(value, offset)));
                }
                State::Done => {
                    return match self.peek() {
                        None => Ok(None),
                        Some(_) => Err(self.error("unexpected data after the list")),
                    };
                }
            }
        }
    }

    /// At the end of the body: an error unless the list was complete.
    pub(crate) fn finish(&mut self) -> std::result::Result<(), FrameError> {
        if self.is_done() && self.peek().is_none() {
            Ok(())
        } else {
            Err(self.error(format!(
                "the list body ended early, at byte {}",
                self.consumed + self.buf.len() as u64
            )))
        }
    }
}

/// The items of a LIST response, decoded one at a time as the body arrives.
/// [`metadata`](Self::metadata) is filled in when the list's `metadata` has been read
/// (the API server sends it before the items).
#[must_use = "streams do nothing unless polled"]
pub struct ListStream<T> {
    body: ResponseBody,
    format: Format<T>,
    /// simd-json's buffers, reused for every item and member.
    decoder: Decoder,
    url: String,
    metadata: Option<ListMeta>,
    kind: Option<String>,
    api_version: Option<String>,
    done: bool,
}

impl<T> std::fmt::Debug for ListStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListStream")
            .field("url", &self.url)
            .field("protobuf", &matches!(self.format, Format::Protobuf { .. }))
            .field("metadata", &self.metadata)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// Decodes one protobuf item (the list's embedded message) into a `T`.
pub(crate) type ItemDecoder<T> =
    Box<dyn FnMut(&[u8]) -> std::result::Result<T, crate::error::BoxError> + Send>;

/// How the body is cut into items and each item decoded.
enum Format<T> {
    Json {
        parser: ListParser,
        item: fn(&mut Decoder, &str, &[u8], u64) -> Result<T>,
    },
    Protobuf {
        parser: crate::protobuf::stream::ListParser,
        item: ItemDecoder<T>,
    },
}

/// What the parser of either format found next.
enum Parsed<T> {
    Item(Result<T>),
    Member,
    More,
}

impl<T> ListStream<T> {
    /// The list's metadata, once read.
    pub fn metadata(&self) -> Option<&ListMeta> {
        self.metadata.as_ref()
    }

    /// The list's `kind` (`PodList`, say), once read (the API server sends it first).
    pub fn kind(&self) -> Option<&str> {
        self.kind.as_deref()
    }

    /// The list's `apiVersion`, once read.
    pub fn api_version(&self) -> Option<&str> {
        self.api_version.as_deref()
    }
}

impl<T> ListStream<T> {
    /// Collects every item (each decoded from its own slice, so the body is never held
    /// whole) with the list's metadata.
    ///
    /// # Errors
    /// The first error of the stream.
    pub async fn into_list(mut self) -> Result<ObjectList<T>> {
        let mut items = Vec::new();
        while let Some(item) = self.next().await {
            items.push(item?);
        }
        Ok(ObjectList {
            kind: self.kind.take(),
            api_version: self.api_version.take(),
            metadata: self.metadata.take().unwrap_or_default(),
            items,
        })
    }
}

impl<T> ListStream<T> {
    /// Decodes a member of the list other than `items` and hands it to `set`; a failure
    /// ends the stream.
    fn member<V: DeserializeOwned>(
        &mut self,
        bytes: &[u8],
        offset: u64,
        set: impl FnOnce(&mut Self, V),
    ) -> Result<()> {
        match self.decoder.decode_at::<V>(&self.url, bytes, offset) {
            Ok(v) => {
                set(self, v);
                Ok(())
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }
}

impl<T> ListStream<T> {
    /// The next item, member or need for more bytes, from what has arrived.
    fn parse(&mut self) -> Parsed<T> {
        match &mut self.format {
            Format::Json { parser, item } => match parser.next() {
                Ok(Some(Token::Item(bytes, offset))) => {
                    Parsed::Item(item(&mut self.decoder, &self.url, &bytes, offset))
                }
                Ok(Some(Token::Meta(bytes, offset))) => {
                    self.member_or_end(&bytes, offset, |t, m: Option<ListMeta>| t.metadata = m)
                }
                Ok(Some(Token::Kind(bytes, offset))) => {
                    self.member_or_end(&bytes, offset, |t, k| t.kind = k)
                }
                Ok(Some(Token::ApiVersion(bytes, offset))) => {
                    self.member_or_end(&bytes, offset, |t, v| t.api_version = v)
                }
                Ok(None) => Parsed::More,
                Err(e) => {
                    self.done = true;
                    Parsed::Item(Err(crate::read::watch::frame_error(&self.url, e)))
                }
            },
            Format::Protobuf { parser, item } => match parser.next() {
                Ok(Some(Found::Item(bytes, offset))) => {
                    Parsed::Item(item(&bytes).map_err(|source| crate::Error::Decode {
                        url: self.url.clone(),
                        body_excerpt: String::new(),
                        offset: Some(offset),
                        source,
                    }))
                }
                Ok(Some(Found::Meta(meta))) => {
                    self.metadata = Some(meta);
                    Parsed::Member
                }
                Ok(Some(Found::TypeMeta(api_version, kind))) => {
                    self.api_version = Some(api_version).filter(|v| !v.is_empty());
                    self.kind = Some(kind).filter(|k| !k.is_empty());
                    Parsed::Member
                }
                Ok(None) => Parsed::More,
                Err(e) => {
                    self.done = true;
                    Parsed::Item(Err(crate::protobuf::wire_error(
                        &self.url,
                        &Bytes::new(),
                        0,
                        e,
                    )))
                }
            },
        }
    }

    fn member_or_end<V: DeserializeOwned>(
        &mut self,
        bytes: &[u8],
        offset: u64,
        set: impl FnOnce(&mut Self, V),
    ) -> Parsed<T> {
        match self.member(bytes, offset, set) {
            Ok(()) => Parsed::Member,
            Err(e) => Parsed::Item(Err(e)),
        }
    }

    fn push(&mut self, data: &[u8]) {
        match &mut self.format {
            Format::Json { parser, .. } => parser.push(data),
            Format::Protobuf { parser, .. } => parser.push(data),
        }
    }

    fn finish(&mut self) -> Result<()> {
        match &mut self.format {
            Format::Json { parser, .. } => parser
                .finish()
                .map_err(|e| crate::read::watch::frame_error(&self.url, e)),
            Format::Protobuf { parser, .. } => parser
                .finish()
                .map_err(|e| crate::protobuf::wire_error(&self.url, &Bytes::new(), 0, e)),
        }
    }
}

impl<T> Stream for ListStream<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match this.parse() {
                Parsed::Item(item) => return Poll::Ready(Some(item)),
                Parsed::Member => continue,
                Parsed::More => {}
            }
            match Pin::new(&mut this.body).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        this.push(data);
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(transport_error(&this.url, e))));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    if let Err(e) = this.finish() {
                        return Poll::Ready(Some(Err(e)));
                    }
                    return Poll::Ready(None);
                }
            }
        }
    }
}

impl Response {
    /// Consumes a LIST response as a stream of items decoded one at a time.
    pub fn list_stream<T: DeserializeOwned>(self) -> ListStream<T> {
        let format = Format::Json {
            parser: ListParser::new(self.limits.event),
            item: |decoder, url, bytes, offset| decoder.decode_at::<T>(url, bytes, offset),
        };
        self.into_list_stream(format)
    }

    /// Consumes a protobuf LIST response (`application/vnd.kubernetes.protobuf`) as a
    /// stream of items, each of the list's embedded messages handed to `decode` (a codec
    /// such as kubecto-protobuf's) as soon as it has arrived whole. Memory is bounded as
    /// for [`list_stream`](Self::list_stream): one item at a time, each at most
    /// [`Config::max_event_size`](crate::Config::max_event_size).
    pub fn protobuf_list_stream<T>(
        self,
        decode: impl FnMut(&[u8]) -> std::result::Result<T, crate::error::BoxError> + Send + 'static,
    ) -> ListStream<T> {
        let format = Format::Protobuf {
            parser: crate::protobuf::stream::ListParser::new(self.limits.event),
            item: Box::new(decode),
        };
        self.into_list_stream(format)
    }

    fn into_list_stream<T>(mut self, format: Format<T>) -> ListStream<T> {
        let (body, url) = self.take_body();
        ListStream {
            format,
            decoder: Decoder::default(),
            url,
            body,
            metadata: None,
            kind: None,
            api_version: None,
            done: false,
        }
    }

    /// Decodes a LIST response item by item into an [`ObjectList`], as the body arrives;
    /// the body is never held whole.
    ///
    /// # Errors
    /// As [`ListStream::into_list`].
    pub async fn into_list<T: DeserializeOwned>(self) -> Result<ObjectList<T>> {
        self.list_stream().into_list().await
    }
}

/// Parses a whole list held in memory (for tests and small bodies).
#[cfg(test)]
fn parse_all(
    chunks: &[&[u8]],
) -> (
    Vec<Bytes>,
    Option<Bytes>,
    std::result::Result<(), FrameError>,
) {
    let mut p = ListParser::new(1 << 20);
    let mut items = Vec::new();
    let mut meta = None;
    for c in chunks {
        p.push(c);
        loop {
            match p.next() {
                Ok(Some(Token::Item(b, _))) => items.push(b),
                Ok(Some(Token::Meta(b, _))) => meta = Some(b),
                Ok(Some(Token::Kind(..) | Token::ApiVersion(..))) => {}
                Ok(None) => break,
                Err(e) => return (items, meta, Err(e)),
            }
        }
    }
    let end = p.finish();
    (items, meta, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &[u8] = br#" {"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7","continue":"c"},"items":[{"metadata":{"name":"a]"}} , {"metadata":{"name":"b\"}"}}],"extra":[1,2]} "#;

    #[test]
    fn every_split_gives_the_same_items() {
        for split in 0..LIST.len() {
            let (items, meta, end) = parse_all(&[&LIST[..split], &LIST[split..]]);
            assert!(end.is_ok(), "split {split}");
            assert_eq!(items.len(), 2, "split {split}");
            assert!(meta.is_some(), "split {split}");
        }
    }

    #[test]
    fn truncation_anywhere_is_an_error() {
        for cut in 0..LIST.trim_ascii_end().len() {
            let (_, _, end) = parse_all(&[&LIST[..cut]]);
            assert!(end.is_err(), "cut {cut}");
        }
    }

    #[test]
    fn empty_and_null_items() {
        let (items, _, end) = parse_all(&[br#"{"items":[]}"#]);
        assert!(items.is_empty() && end.is_ok());
        let (items, _, end) = parse_all(&[br#"{"items":null,"metadata":{}}"#]);
        assert!(items.is_empty() && end.is_ok());
        let (_, _, end) = parse_all(&[b"[1,2]"]);
        assert!(end.is_err());
    }
}
