//! [`Response`]: a successful answer whose body has not been read yet. Read it whole
//! ([`bytes`](Response::bytes), [`into`](Response::into)), as raw chunks
//! ([`stream`](Response::stream)), as watch events or as list items.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use http::{HeaderMap, Method, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::status::excerpt;
use crate::transport::body::{DRAIN_LIMIT, ResponseBody, drain, drain_now};
use crate::transport::transport_error;

/// The most reserved up front from a body's announced length; a longer body still grows
/// the buffer as it arrives, but a bogus `Content-Length` cannot make us allocate more.
const RESERVE_LIMIT: u64 = 128 * 1024 * 1024;

/// Reads a whole body into one buffer, reserved from its announced length
/// (`Content-Length`), copying each chunk in as it arrives and dropping it, so only one copy
/// of the body is ever alive (`collect()` + `to_bytes()` held the chunks and a contiguous
/// copy: 2 × 75 MB for a 10,000-pod LIST). A body that arrives as one chunk is not copied.
///
/// This lowers the heap held before decoding, not the peak RSS of `into` for that LIST
/// (656 MiB before and after): the allocator reused the freed chunks for the decoded pods,
/// so the peak was and is the body plus the pods. `into_list` holds neither (520 MiB).
async fn collect(mut body: ResponseBody, url: &str, limit: usize) -> Result<Bytes> {
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    if body.size_hint().lower() > limit as u64 {
        return Err(too_large(url, limit));
    }
    let mut read = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| transport_error(url, e))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        read = read.saturating_add(data.len());
        if read > limit {
            return Err(too_large(url, limit));
        }
        match first.take() {
            None if buf.is_empty() => first = Some(data),
            None => buf.extend_from_slice(&data),
            Some(head) => {
                let announced = body.size_hint().lower().min(RESERVE_LIMIT) as usize;
                buf.reserve(head.len() + data.len() + announced);
                buf.extend_from_slice(&head);
                buf.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| buf.freeze()))
}

/// Reads a whole body as the chunks it arrives in, without copying them.
async fn collect_chunks(
    mut body: ResponseBody,
    url: &str,
    limit: usize,
) -> Result<VecDeque<Bytes>> {
    let mut chunks = VecDeque::new();
    if body.size_hint().lower() > limit as u64 {
        return Err(too_large(url, limit));
    }
    let mut read = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| transport_error(url, e))?;
        if let Ok(data) = frame.into_data()
            && !data.is_empty()
        {
            read = read.saturating_add(data.len());
            if read > limit {
                return Err(too_large(url, limit));
            }
            chunks.push_back(data);
        }
    }
    Ok(chunks)
}

/// A successful (2xx) answer.
///
/// Dropping it unread is fine: a small remaining body (up to 4 KiB, by its
/// `Content-Length`) is drained in the background so the connection stays in the pool.
#[derive(Debug)]
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: ResponseBody,
    method: Method,
    url: String,
    pub(crate) limits: Limits,
}

/// How much of an answer the readers hold at once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// One watch event or list item.
    pub(crate) event: usize,
    /// A body read whole.
    pub(crate) body: usize,
}

/// The error for a body longer than `limit` that was to be read whole.
fn too_large(url: &str, limit: usize) -> Error {
    Error::Decode {
        url: url.to_owned(),
        body_excerpt: String::new(),
        offset: Some(limit as u64),
        source: format!(
            "the body is larger than the limit of {limit} bytes for a body read whole \
             (Config::max_body_size; read a LIST item by item with into_list or list_stream)"
        )
        .into(),
    }
}

impl Response {
    pub(crate) fn new(
        parts: http::response::Parts,
        body: ResponseBody,
        method: Method,
        url: String,
        limits: Limits,
    ) -> Self {
        let mut headers = parts.headers;
        // A gzip body is inflated as it is read; its encoding and length go with it, as
        // Go's transport drops them.
        let gzip = headers
            .get(http::header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let body = if gzip {
            headers.remove(http::header::CONTENT_ENCODING);
            headers.remove(http::header::CONTENT_LENGTH);
            ResponseBody::Gzip(Box::new(crate::transport::gzip::Gzip::new(body)))
        } else {
            body
        };
        Self {
            status: parts.status,
            headers,
            body,
            method,
            url,
            limits,
        }
    }

    /// Bounds the reading of the body by the request's deadline (`at`, `after` the start).
    pub(crate) fn read_by(&mut self, at: Instant, after: Duration) {
        let body = std::mem::replace(&mut self.body, ResponseBody::Empty);
        self.body = body.read_by(at, after);
    }

    /// Takes the body (leaving an empty one) and the URL, for the readers.
    pub(crate) fn take_body(&mut self) -> (ResponseBody, String) {
        (
            std::mem::replace(&mut self.body, ResponseBody::Empty),
            std::mem::take(&mut self.url),
        )
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Whether the server answered `201 Created`.
    pub fn is_created(&self) -> bool {
        self.status == StatusCode::CREATED
    }

    /// The URL requested.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The request's method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// Reads the whole body.
    ///
    /// # Errors
    /// [`Error::Transport`] if the connection fails mid-body, [`Error::Timeout`] if the
    /// request's timeout elapses first.
    pub async fn bytes(mut self) -> Result<Bytes> {
        let (body, url) = self.take_body();
        collect(body, &url, self.limits.body).await
    }

    /// Reads the whole body and decodes it from JSON, straight from the received bytes. A
    /// body over 64 KiB is walked a member and an item at a time, and the chunks it came
    /// in are freed as the walk passes them.
    ///
    /// # Errors
    /// As [`bytes`](Self::bytes), and [`Error::Decode`] (with the byte offset and an
    /// excerpt) when the body is not a `T`.
    pub async fn into<T: DeserializeOwned>(mut self) -> Result<T> {
        let (body, url) = self.take_body();
        let chunks = collect_chunks(body, &url, self.limits.body).await?;
        crate::codec::decode::decode_chunks(&url, chunks)
    }

    /// The body as raw chunks as they arrive (for logs and other plain streams).
    pub fn stream(mut self) -> impl Stream<Item = Result<Bytes>> + Send + 'static {
        let (body, url) = self.take_body();
        futures_util::stream::unfold(Some(body), move |state| {
            let url = url.clone();
            async move {
                let mut body = state?;
                loop {
                    match body.frame().await {
                        None => return None,
                        Some(Err(e)) => return Some((Err(transport_error(&url, e)), None)),
                        Some(Ok(frame)) => {
                            if let Ok(data) = frame.into_data()
                                && !data.is_empty()
                            {
                                return Some((Ok(data), Some(body)));
                            }
                        }
                    }
                }
            }
        })
    }
}

impl Drop for Response {
    fn drop(&mut self) {
        let mut body = std::mem::replace(&mut self.body, ResponseBody::Empty);
        if body.is_end_stream() {
            return;
        }
        let small = body
            .size_hint()
            .upper()
            .is_some_and(|n| n <= DRAIN_LIMIT as u64);
        if small && drain_now(&mut body) {
            return;
        }
        if small && let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(drain(body));
        }
    }
}

/// Decodes JSON from `bytes`, which start at `base` in the whole body, with serde_json:
/// the path for bodies too large for simd-json and the fallback that reports every error
/// (see `decode.rs`), with the failure's byte offset and an excerpt around it.
///
/// The slice is checked for UTF-8 once, as a whole (`str::from_utf8` has an ASCII fast
/// path), and then decoded with `serde_json::from_str`. `serde_json::from_slice` would
/// check each string separately instead: for a 7.5 KB pod that was ≈ 45 K instructions
/// against ≈ 3 K, about 11% of the whole decode. A body that is not UTF-8 is a decode
/// error at the first invalid byte.
pub(crate) fn decode_at<T: DeserializeOwned>(url: &str, bytes: &[u8], base: u64) -> Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text).map_err(|e| decode_error(url, bytes, e, base)),
        Err(e) => Err(utf8_error(url, bytes, e, base)),
    }
}

/// A decode error for `bytes` (starting at `base` in the body) that are not UTF-8.
pub(crate) fn utf8_error(url: &str, bytes: &[u8], e: std::str::Utf8Error, base: u64) -> Error {
    let offset = e.valid_up_to();
    let start = offset.saturating_sub(80);
    Error::Decode {
        url: url.to_owned(),
        body_excerpt: excerpt(&bytes[start.min(bytes.len())..], 200),
        offset: Some(base + offset as u64),
        source: Box::new(e),
    }
}

/// A decode error for `bytes`, which start at `base` in the whole body.
pub(crate) fn decode_error(url: &str, bytes: &[u8], e: serde_json::Error, base: u64) -> Error {
    let offset = line_col_offset(bytes, e.line(), e.column());
    let start = offset.map(|o| o.saturating_sub(80)).unwrap_or(0);
    Error::Decode {
        url: url.to_owned(),
        body_excerpt: excerpt(&bytes[start.min(bytes.len())..], 200),
        offset: offset.map(|o| base + o as u64),
        source: Box::new(e),
    }
}

/// The byte offset of serde_json's 1-based line and column.
fn line_col_offset(bytes: &[u8], line: usize, column: usize) -> Option<usize> {
    if line == 0 {
        return None;
    }
    let mut line_start = 0;
    let mut current = 1;
    if line > 1 {
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\n' {
                current += 1;
                if current == line {
                    line_start = i + 1;
                    break;
                }
            }
        }
        if current != line {
            return None;
        }
    }
    Some((line_start + column.saturating_sub(1)).min(bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_error_reports_offset() {
        let body = br#"{"a": 1, "b": tru}"#;
        let err =
            crate::codec::decode::decode_body::<serde_json::Value>("http://x", body).unwrap_err();
        match err {
            Error::Decode { offset, .. } => assert!(matches!(offset, Some(14..=18)), "{offset:?}"),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn a_body_that_is_not_utf8_is_a_decode_error_at_the_bad_byte() {
        let body = b"{\"a\": \"ok\", \"b\": \"\xff\xfe\"}";
        let err =
            crate::codec::decode::decode_body::<serde_json::Value>("http://x/y", body).unwrap_err();
        match &err {
            Error::Decode {
                url,
                offset,
                body_excerpt,
                source,
            } => {
                assert_eq!(url, "http://x/y");
                assert_eq!(*offset, Some(18));
                assert!(body_excerpt.contains("\"a\": \"ok\""), "{body_excerpt}");
                assert!(source.is::<std::str::Utf8Error>(), "{source:?}");
            }
            other => panic!("unexpected {other}"),
        }
        // Offsets are relative to the whole body.
        let err = decode_at::<serde_json::Value>("u", body, 100).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Decode {
                    offset: Some(118),
                    ..
                }
            ),
            "{err:?}"
        );
        // Invalid UTF-8 inside a field the type ignores is still an error, not a panic.
        #[derive(serde::Deserialize, Debug)]
        struct OnlyA {
            #[allow(dead_code)]
            a: String,
        }
        assert!(crate::codec::decode::decode_body::<OnlyA>("u", body).is_err());
        assert_eq!(
            crate::codec::decode::decode_body::<OnlyA>("u", br#"{"a":"\u00e9","b":"\u00ff"}"#)
                .unwrap()
                .a,
            "\u{e9}"
        );
    }
}
