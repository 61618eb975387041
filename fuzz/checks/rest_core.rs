//! The checks behind the rest-core fuzz targets: reading bodies whole and item by item
//! (the JSON scanner, the list-body walker and the list parser), watch framing, `Status`
//! decoding and URL building. Everything goes through rest-core's public API: a client
//! whose service answers the fuzz input, cut into chunks of sizes the input chooses.
//!
//! Included by `fuzz/src/lib.rs` (the fuzz targets) and by
//! `crates/rest-core/tests/fuzz_corpus.rs` (CI's replay of the committed corpora), so both
//! run the same assertions. Each check panics when an assertion fails.

#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{Method, StatusCode};
use http_body::Frame;
use http_body_util::StreamBody;
use kubecto_rest_core::{
    BoxError, Config, Error, GroupVersion, ListMeta, ObjectList, RequestBody, RestClient, Status,
    WatchEvent,
};
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::Value;

// ---------------------------------------------------------------------------
// Plumbing
// ---------------------------------------------------------------------------

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
}

/// Runs `f` to completion on this thread's runtime.
fn block_on<F: Future>(f: F) -> F::Output {
    RUNTIME.with(|rt| rt.block_on(f))
}

/// A small deterministic generator, seeded from the input.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The input as a header (`n` bytes, zero-padded) and the rest.
fn header<const N: usize>(data: &[u8]) -> ([u8; N], &[u8]) {
    let mut h = [0u8; N];
    let n = data.len().min(N);
    h[..n].copy_from_slice(&data[..n]);
    (h, &data[n..])
}

/// `body` cut into chunks: sizes drawn from `seed` (1 byte up to a maximum the seed also
/// picks), so the same input always gets the same chunking.
fn chunked(body: &[u8], seed: u64) -> Vec<Bytes> {
    let mut rng = Rng::new(seed);
    let max = [1u64, 2, 3, 7, 16, 63, 64, 65, 1000, 4096][rng.below(10) as usize];
    let mut out = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let n = (1 + rng.below(max) as usize).min(body.len() - at);
        out.push(Bytes::copy_from_slice(&body[at..at + n]));
        at += n;
    }
    out
}

/// A client whose every answer is `status` with these chunks as its body.
fn client_over(chunks: Vec<Bytes>, status: StatusCode, config: Config) -> RestClient {
    let svc = tower::service_fn(move |_req: http::Request<RequestBody>| {
        let frames: Vec<Result<Frame<Bytes>, BoxError>> =
            chunks.iter().cloned().map(|c| Ok(Frame::data(c))).collect();
        async move {
            let body = StreamBody::new(futures_util::stream::iter(frames));
            let mut resp = http::Response::new(body);
            *resp.status_mut() = status;
            Ok::<_, Infallible>(resp)
        }
    });
    RestClient::builder(config)
        .service(svc)
        .build()
        .expect("a client over a fixed body")
}

fn plain_config() -> Config {
    Config::new("http://fuzz.invalid")
        .without_rate_limit()
        .with_max_retries(0)
}

/// Whether two JSON values are equal, except that simd-json reads `-0` as the integer 0
/// where serde_json reads the float -0.0 (documented in rest-core's `decode.rs`), and
/// that floats may differ in their last bit: serde_json without its `float_roundtrip`
/// feature is not correctly rounded (`44444.4444444444444` is 44444.44444444444 to it,
/// 44444.444444444445 to simd-json, Go and Python).
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y
                || match (x.as_f64(), y.as_f64()) {
                    (Some(x), Some(y)) => x == y || next_to(x, y),
                    _ => false,
                }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

fn same_items(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_json(x, y))
}

fn show(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    if s.len() > 2000 {
        let cut = (0..=2000)
            .rev()
            .find(|i| s.is_char_boundary(*i))
            .unwrap_or(0);
        format!("{}… ({} bytes)", &s[..cut], body.len())
    } else {
        s.into_owned()
    }
}

// ---------------------------------------------------------------------------
// Bodies read whole (the list-body walker) and item by item (the list parser)
// ---------------------------------------------------------------------------

/// A typed list, as a user's `PodList` would be: the walker hands it `items` element by
/// element and the other members whole.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypedList {
    kind: Option<String>,
    metadata: Option<ListMeta>,
    #[serde(default)]
    items: Vec<TypedItem>,
}

#[derive(Debug, PartialEq, Deserialize)]
struct TypedItem {
    metadata: Option<TypedMeta>,
    #[serde(default)]
    spec: Value,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypedMeta {
    name: Option<String>,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
    generation: Option<i64>,
}

/// What a LIST body holds, decoded by serde_json in one piece: the reference for
/// `into_list`. Duplicate members make it fail (serde's derive refuses them), and so do
/// `items` that are not an array: the streaming parser has no single right answer there.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListMirror {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    metadata: Option<ListMeta>,
    #[serde(default)]
    items: Option<Vec<Value>>,
}

/// serde_json's reading of a body as rest-core defines it: JSON in UTF-8, all of it
/// (`serde_json::from_slice` does not check the UTF-8 of strings it skips).
fn from_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Option<T> {
    serde_json::from_str(std::str::from_utf8(body).ok()?).ok()
}

/// Whether two finite floats of the same sign are neighbours (one unit in the last place
/// apart).
fn next_to(x: f64, y: f64) -> bool {
    x.is_finite()
        && y.is_finite()
        && x.is_sign_negative() == y.is_sign_negative()
        && x.to_bits().abs_diff(y.to_bits()) == 1
}

/// Whether the body holds the token `-0` somewhere (simd-json and serde_json read it
/// differently; see [`same_json`]); a coarse test is enough.
fn has_negative_zero(body: &[u8]) -> bool {
    body.windows(2).any(|w| w == b"-0")
}

/// Bytes of whitespace that make a body large enough (over 64 KiB) for the walker.
const PAD: usize = 64 * 1024 + 1;

/// Fuzz target `list_body`. Input: 1 flag byte, 8 bytes of chunking seed, the body.
///
/// The body (padded with whitespace past 64 KiB when the flags ask, so `into` walks it a
/// member and an item at a time instead of decoding it in one go) is read as a client
/// would, from chunks of arbitrary sizes: `into::<Value>`, `into::<TypedList>` and
/// `into_list::<Value>`. Asserts:
/// - `into` accepts exactly what `serde_json::from_slice` accepts and decodes the same
///   value, typed or not, whatever the chunking (`-0` aside);
/// - `into_list` gives the same answer for any chunking, and for a body serde_json decodes
///   as a list (no duplicate members, `items` an array or absent) the same items, kind,
///   apiVersion and metadata.
pub fn list_body(data: &[u8]) {
    let ([flags, s0, s1, s2, s3, s4, s5, s6, s7], body) = header::<9>(data);
    let seed = u64::from_le_bytes([s0, s1, s2, s3, s4, s5, s6, s7]);
    // The padding is one chunk of its own: cut into small chunks, 64 KiB of it would
    // make every run slow and test nothing more.
    let pad = Bytes::from(vec![if flags & 4 == 0 { b' ' } else { b'\n' }; PAD]);
    let mut cut = chunked(body, seed);
    let body: Vec<u8> = match flags & 3 {
        1 => {
            cut.insert(0, pad.clone());
            [&pad[..], body].concat()
        }
        2 => {
            cut.push(pad.clone());
            [body, &pad[..]].concat()
        }
        _ => body.to_vec(),
    };
    let one = vec![Bytes::copy_from_slice(&body)];

    // Read whole: exactly serde_json's answer.
    let want: Option<Value> = from_json(&body);
    for chunks in [&one, &cut] {
        let client = client_over(chunks.clone(), StatusCode::OK, plain_config());
        let got: Result<Value, Error> =
            block_on(async { client.get().send().await?.into::<Value>().await });
        match (&want, &got) {
            (Some(w), Ok(g)) => assert!(
                same_json(w, g),
                "into::<Value> decoded {g} where serde_json decoded {w}: {}",
                show(&body)
            ),
            (None, Err(Error::Decode { .. })) => {}
            (Some(_), Err(e)) => panic!(
                "into::<Value> refused what serde_json accepts: {e}: {}",
                show(&body)
            ),
            (None, Ok(g)) => panic!(
                "into::<Value> accepted what serde_json refuses as {g}: {}",
                show(&body)
            ),
            (None, Err(e)) => panic!("not a decode error: {e:?}"),
        }
    }
    let want: Option<TypedList> = from_json(&body);
    for chunks in [&one, &cut] {
        let client = client_over(chunks.clone(), StatusCode::OK, plain_config());
        let got: Result<TypedList, Error> =
            block_on(async { client.get().send().await?.into::<TypedList>().await });
        match (&want, &got) {
            (Some(w), Ok(g)) => assert_eq!(w, g, "into::<TypedList>: {}", show(&body)),
            (None, Err(_)) => {}
            (Some(_), Err(e)) => panic!(
                "into::<TypedList> refused what serde_json accepts: {e}: {}",
                show(&body)
            ),
            // simd-json reads `-0` into an integer field where serde_json refuses it.
            (None, Ok(_)) if has_negative_zero(&body) => {}
            (None, Ok(g)) => panic!(
                "into::<TypedList> accepted what serde_json refuses as {g:?}: {}",
                show(&body)
            ),
        }
    }

    // Item by item: the same for any chunking, and serde_json's items for a plain list.
    let read_list = |chunks: Vec<Bytes>| -> Result<ObjectList<Value>, Error> {
        let client = client_over(chunks, StatusCode::OK, plain_config());
        block_on(async { client.get().send().await?.into_list::<Value>().await })
    };
    let whole = read_list(one);
    let pieces = read_list(cut);
    match (&whole, &pieces) {
        (Ok(w), Ok(p)) => {
            assert!(
                same_items(&w.items, &p.items),
                "chunking changed the items: {}",
                show(&body)
            );
            assert_eq!(
                (&w.kind, &w.api_version, &w.metadata),
                (&p.kind, &p.api_version, &p.metadata),
                "chunking changed the list's fields: {}",
                show(&body)
            );
        }
        (Err(_), Err(_)) => {}
        _ => panic!(
            "chunking changed whether the list reads: {:?} vs {:?}: {}",
            whole.as_ref().map(|l| l.items.len()),
            pieces.as_ref().map(|l| l.items.len()),
            show(&body)
        ),
    }
    // (serde's derive also reads a struct from an array: a list is an object.)
    let object = body.trim_ascii_start().first() == Some(&b'{');
    if let Some(mirror) = from_json::<ListMirror>(&body).filter(|_| object) {
        let list = match pieces {
            Ok(list) => list,
            Err(e) => panic!(
                "into_list refused a list serde_json reads: {e}: {}",
                show(&body)
            ),
        };
        let items = mirror.items.unwrap_or_default();
        assert!(
            same_items(&items, &list.items),
            "into_list items differ from serde_json's: {}",
            show(&body)
        );
        assert_eq!(list.kind, mirror.kind, "kind: {}", show(&body));
        assert_eq!(
            list.api_version,
            mirror.api_version,
            "apiVersion: {}",
            show(&body)
        );
        assert_eq!(
            list.metadata,
            mirror.metadata.unwrap_or_default(),
            "metadata: {}",
            show(&body)
        );
    }
}

// ---------------------------------------------------------------------------
// Watch framing
// ---------------------------------------------------------------------------

/// serde_json's reading of one watch event: the reference for the framer + decoder.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", content = "object")]
enum EventMirror {
    #[serde(rename = "ADDED")]
    Added(Value),
    #[serde(rename = "MODIFIED")]
    Modified(Value),
    #[serde(rename = "DELETED")]
    Deleted(Value),
    #[serde(rename = "BOOKMARK")]
    Bookmark(BookmarkMirror),
    #[serde(rename = "ERROR")]
    Error(Value),
}

#[derive(Debug, Deserialize)]
struct BookmarkMirror {
    #[serde(default)]
    metadata: BookmarkMetaMirror,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BookmarkMetaMirror {
    #[serde(default)]
    resource_version: String,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

/// One item of a watch stream, comparable.
#[derive(Debug)]
enum Seen {
    Event(WatchEvent<Value>),
    /// An ERROR event (or one whose object is not a Status): the Status.
    Api(Status),
    /// A malformed event or a framing error.
    Decode,
    Other(String),
}

fn same_seen(a: &Seen, b: &Seen) -> bool {
    match (a, b) {
        (Seen::Event(x), Seen::Event(y)) => match (x, y) {
            (WatchEvent::Added(x), WatchEvent::Added(y))
            | (WatchEvent::Modified(x), WatchEvent::Modified(y))
            | (WatchEvent::Deleted(x), WatchEvent::Deleted(y)) => same_json(x, y),
            (WatchEvent::Bookmark(x), WatchEvent::Bookmark(y)) => x == y,
            _ => false,
        },
        // The message of an ERROR event whose object is not a Status shows the object, and
        // so whether `-0` was decoded by simd-json or serde_json: not compared.
        (Seen::Api(x), Seen::Api(y)) => {
            (x.code, &x.reason, &x.status, &x.details) == (y.code, &y.reason, &y.status, &y.details)
                && (x.message == y.message || x.reason == "InternalError")
        }
        (Seen::Decode, Seen::Decode) => true,
        _ => false,
    }
}

fn watch_all(chunks: Vec<Bytes>, max_event: Option<usize>) -> Vec<Seen> {
    let mut config = plain_config();
    if let Some(max) = max_event {
        config = config.with_max_event_size(max);
    }
    let client = client_over(chunks, StatusCode::OK, config);
    block_on(async {
        let resp = match client.get().send().await {
            Ok(r) => r,
            Err(e) => return vec![Seen::Other(e.to_string())],
        };
        let events = resp.watch_events::<Value>();
        futures_util::pin_mut!(events);
        let mut out = Vec::new();
        while let Some(item) = events.next().await {
            out.push(match item {
                Ok(ev) => Seen::Event(ev),
                Err(Error::Api(status)) => Seen::Api(*status),
                Err(Error::Decode { .. }) => Seen::Decode,
                Err(e) => Seen::Other(e.to_string()),
            });
            assert!(out.len() <= 100_000, "a runaway watch stream");
        }
        out
    })
}

/// Fuzz target `watch`. Input: 1 flag byte, 8 bytes of chunking seed, the body.
///
/// The body is read as a watch (`watch_events::<Value>`) in one chunk and in chunks of
/// arbitrary sizes, with the default event cap or (flags) a small one. Asserts:
/// - chunking never changes the events, errors or where the stream ends;
/// - with the default cap, the body's JSON values up to the first that serde_json cannot
///   parse (or that is not an object) come out one event each, as serde_json decodes
///   them: ADDED/MODIFIED/DELETED with their object, BOOKMARK with its resourceVersion and
///   annotations, ERROR as an API error, and anything else as a decode error after which
///   the stream goes on; a body serde_json reads to its end ends the stream cleanly.
pub fn watch(data: &[u8]) {
    let ([flags, s0, s1, s2, s3, s4, s5, s6, s7], body) = header::<9>(data);
    let seed = u64::from_le_bytes([s0, s1, s2, s3, s4, s5, s6, s7]);
    let max_event = (flags & 1 == 1).then(|| 1 + usize::from(flags >> 1));
    let whole = watch_all(vec![Bytes::copy_from_slice(body)], max_event);
    let pieces = watch_all(chunked(body, seed), max_event);
    assert!(
        whole.len() == pieces.len() && whole.iter().zip(&pieces).all(|(a, b)| same_seen(a, b)),
        "chunking changed the watch:\n{whole:?}\nvs\n{pieces:?}\nbody: {}",
        show(body)
    );
    if let Some(Seen::Other(e)) = whole.iter().find(|s| matches!(s, Seen::Other(_))) {
        panic!("a watch over a fixed body failed with {e}: {}", show(body));
    }
    if max_event.is_some() {
        return;
    }
    // serde_json's reading, value by value.
    let mut values =
        serde_json::Deserializer::from_slice(body).into_iter::<serde::de::IgnoredAny>();
    let mut start = 0;
    let mut i = 0;
    let clean_end = loop {
        let item = values.next();
        let end = values.byte_offset();
        let Some(Ok(_)) = item else {
            break item.is_none();
        };
        let raw = &body[start..end];
        start = end;
        let trimmed = raw.trim_ascii_start();
        if trimmed.first() != Some(&b'{') {
            // The framer's "expected a JSON object", which ends the stream.
            assert!(
                matches!(whole.get(i), Some(Seen::Decode)) && whole.len() == i + 1,
                "a value that is not an object: want a decode error at {i} that ends the stream, got {whole:?}: {}",
                show(body)
            );
            return;
        }
        let got = whole
            .get(i)
            .unwrap_or_else(|| panic!("event {i} is missing: {whole:?}: {}", show(body)));
        match from_json::<EventMirror>(trimmed).ok_or(()) {
            Ok(EventMirror::Added(o)) => {
                assert!(
                    matches!(got, Seen::Event(WatchEvent::Added(g)) if same_json(g, &o)),
                    "event {i}: {got:?}, want ADDED {o}: {}",
                    show(body)
                );
            }
            Ok(EventMirror::Modified(o)) => {
                assert!(
                    matches!(got, Seen::Event(WatchEvent::Modified(g)) if same_json(g, &o)),
                    "event {i}: {got:?}, want MODIFIED {o}: {}",
                    show(body)
                );
            }
            Ok(EventMirror::Deleted(o)) => {
                assert!(
                    matches!(got, Seen::Event(WatchEvent::Deleted(g)) if same_json(g, &o)),
                    "event {i}: {got:?}, want DELETED {o}: {}",
                    show(body)
                );
            }
            Ok(EventMirror::Bookmark(b)) => {
                assert!(
                    matches!(got, Seen::Event(WatchEvent::Bookmark(g))
                        if g.resource_version == b.metadata.resource_version
                            && g.annotations == b.metadata.annotations),
                    "event {i}: {got:?}, want BOOKMARK {b:?}: {}",
                    show(body)
                );
            }
            Ok(EventMirror::Error(_)) => {
                assert!(
                    matches!(got, Seen::Api(_)),
                    "event {i}: {got:?}, want an API error: {}",
                    show(body)
                );
            }
            Err(_) => {
                assert!(
                    matches!(got, Seen::Decode),
                    "event {i}: {got:?}, want a decode error: {}",
                    show(body)
                );
            }
        }
        i += 1;
    };
    if clean_end {
        assert_eq!(
            whole.len(),
            i,
            "extra items after the last event: {whole:?}: {}",
            show(body)
        );
    } else {
        assert!(
            whole.len() > i,
            "a body serde_json cannot read to its end ended the watch cleanly: {whole:?}: {}",
            show(body)
        );
    }
}

// ---------------------------------------------------------------------------
// Status decoding
// ---------------------------------------------------------------------------

/// Fuzz target `status`. Input: 1 byte choosing the HTTP code (400-599), 1 byte choosing
/// the method and whether a `Retry-After` is sent, the error body.
///
/// Asserts that the answer is `Error::Api` with a Status that has a code and a reason;
/// that a body which is a Status (`kind: Status`) is returned as sent, with only an
/// empty code and reason filled in from the answer; that any other body becomes a
/// synthesised Failure with the answer's code, whose cause quotes at most 512 bytes of
/// the body (as text: at most 512 chars and an ellipsis); and that every Status survives a JSON round trip.
pub fn status(data: &[u8]) {
    let ([c, m], body) = header::<2>(data);
    let code = StatusCode::from_u16(400 + u16::from(c) % 200).expect("a valid code");
    let method =
        [Method::GET, Method::POST, Method::PUT, Method::DELETE][usize::from(m & 3)].clone();
    let retry_after = m & 4 != 0;
    let body_bytes = Bytes::copy_from_slice(body);
    let svc = tower::service_fn(move |_req: http::Request<RequestBody>| {
        let body = body_bytes.clone();
        async move {
            let mut resp = http::Response::new(http_body_util::Full::new(body));
            *resp.status_mut() = code;
            if retry_after {
                resp.headers_mut().insert(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from_static("3"),
                );
            }
            Ok::<_, Infallible>(resp)
        }
    });
    let client = RestClient::builder(plain_config())
        .service(svc)
        .build()
        .expect("a client");
    let result = block_on(async { client.request(method.clone()).resource("pods").send().await });
    let err = match result {
        Ok(_) => panic!("{code} was not an error"),
        Err(e) => e,
    };
    let _ = err.to_string();
    let st = match &err {
        Error::Api(st) => st,
        other => panic!("{code} gave {other:?}, not Error::Api"),
    };
    assert!(st.code != 0, "no code: {st:?}");
    assert!(!st.reason.is_empty(), "no reason: {st:?}");
    assert_eq!(err.status().map(|s| s.code), Some(st.code));
    match serde_json::from_slice::<Status>(body) {
        Ok(sent) if sent.kind.as_deref() == Some("Status") => {
            let mut want = sent.clone();
            if want.code == 0 {
                want.code = code.as_u16();
            }
            if want.reason.is_empty() {
                want.reason = st.reason.clone();
            }
            if code == StatusCode::UNAUTHORIZED {
                // A 401 says whose credentials were refused, after the server's words.
                let server = if sent.message.is_empty() {
                    "Unauthorized"
                } else {
                    &sent.message
                };
                want.message = format!("{server}: the server refused ");
                assert!(
                    st.message.starts_with(&want.message),
                    "a 401's message: {:?}: {}",
                    st.message,
                    show(body)
                );
                want.message.clone_from(&st.message);
            }
            assert_eq!(
                **st,
                want,
                "a Status body was not returned as sent: {}",
                show(body)
            );
        }
        _ => {
            assert_eq!(
                st.code,
                code.as_u16(),
                "synthesised with another code: {st:?}"
            );
            assert_eq!(st.kind.as_deref(), Some("Status"));
            assert_eq!(st.status, "Failure");
            assert!(!st.message.is_empty());
            let details = st.details.as_ref();
            if retry_after {
                assert_eq!(
                    details.and_then(|d| d.retry_after_seconds),
                    Some(3),
                    "{st:?}"
                );
            }
            for cause in details.map(|d| d.causes.as_slice()).unwrap_or_default() {
                // At most 512 bytes of the body, each at most one char (invalid UTF-8
                // becomes U+FFFD), and an ellipsis.
                let chars = cause.message.chars().count();
                assert!(chars <= 513, "a cause quotes too much: {chars} chars");
            }
        }
    }
    let text = serde_json::to_vec(&**st).expect("a Status serializes");
    let back: Status = serde_json::from_slice(&text).expect("a serialized Status decodes");
    assert_eq!(back, **st, "JSON round trip");
}

// ---------------------------------------------------------------------------
// URL building
// ---------------------------------------------------------------------------

/// Reads length-prefixed strings from the input.
struct Fields<'a> {
    data: &'a [u8],
}

impl Fields<'_> {
    fn byte(&mut self) -> u8 {
        let (b, rest) = self
            .data
            .split_first()
            .map_or((0, &[][..]), |(b, r)| (*b, r));
        self.data = rest;
        b
    }
    fn string(&mut self) -> String {
        let n = usize::from(self.byte() % 32).min(self.data.len());
        let (s, rest) = self.data.split_at(n);
        self.data = rest;
        String::from_utf8_lossy(s).into_owned()
    }
    fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.byte();
        }
        u64::from_le_bytes(b)
    }
}

/// client-go's `IsValidPathSegmentName`.
fn valid_segment(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/') && !s.contains('%')
}

fn decode(s: &str) -> String {
    percent_decode_str(s)
        .decode_utf8()
        .unwrap_or_else(|e| panic!("{s:?} does not decode to UTF-8: {e}"))
        .into_owned()
}

/// Parses Go's `time.Duration.String()` back to nanoseconds.
fn parse_go_duration(s: &str) -> Option<u128> {
    if s == "0s" {
        return Some(0);
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let (num, tail) = rest.split_at(num_end);
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let scale: u128 = match unit {
            "h" => 3_600_000_000_000,
            "m" => 60_000_000_000,
            "s" => 1_000_000_000,
            "ms" => 1_000_000,
            "µs" => 1_000,
            "ns" => 1,
            _ => return None,
        };
        let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
        let whole: u128 = whole.parse().ok()?;
        let mut part = whole * scale;
        if !frac.is_empty() {
            let digits = frac.len() as u32;
            let f: u128 = frac.parse().ok()?;
            part += f * scale / 10u128.pow(digits);
        }
        total += part;
        rest = tail;
    }
    Some(total)
}

const HOSTS: &[&str] = &[
    "http://fuzz.invalid",
    "https://fuzz.invalid:6443/",
    "https://fuzz.invalid:6443/some/prefix/",
    "http://[::1]:8080/k8s",
];

/// Fuzz target `request_url`. Input: a flag byte, then length-prefixed strings for the
/// host (with the flags), namespace, resource, name, subresources, suffix and query
/// parameters, and 8 bytes of timeout.
///
/// Asserts: a request with a segment client-go rejects (empty, `.`, `..`, containing `/`
/// or `%`) fails in `url()` and in `send()`, without panicking; any other request's URL
/// parses as an `http::Uri` whose path is the base path followed by exactly the given
/// segments (percent-decoding each gives it back), whose query decodes back to the given
/// parameters sorted stably by key (plus `timeout`, which parses back to the duration
/// given), and `send()` sends exactly that URL. An arbitrary host either fails to build a
/// client or yields URLs that parse.
pub fn request_url(data: &[u8]) {
    let mut f = Fields { data };
    let flags = f.byte();
    let fuzz_host = flags & 0x80 != 0;
    let host = if fuzz_host {
        f.string()
    } else {
        HOSTS[usize::from(flags & 3)].to_owned()
    };
    let gv = match (flags >> 2) & 3 {
        0 => ("api", GroupVersion::core_v1()),
        1 => ("apis", GroupVersion::new("apps", "v1")),
        2 => ("apis", GroupVersion::new("rbac.authorization.k8s.io", "v1")),
        _ => ("apis", GroupVersion::new("", "v1")),
    };
    let namespace = f.string();
    let resource = f.string();
    let name = if flags & 0x10 != 0 {
        Some(f.string())
    } else {
        None
    };
    let subs: Vec<String> = (0..f.byte() % 3).map(|_| f.string()).collect();
    let suffix = if flags & 0x20 != 0 {
        Some(f.string())
    } else {
        None
    };
    let params: Vec<(String, String)> = (0..f.byte() % 4)
        .map(|_| (f.string(), f.string()))
        .collect();
    let timeout = if flags & 0x40 != 0 {
        Some(Duration::from_nanos(f.u64() % (1 << 50)))
    } else {
        None
    };

    let captured: Arc<Mutex<Option<String>>> = Arc::default();
    let seen = captured.clone();
    let svc = tower::service_fn(move |req: http::Request<RequestBody>| {
        *seen.lock().unwrap() = Some(req.uri().to_string());
        async move { Ok::<_, Infallible>(http::Response::new(http_body_util::Empty::<Bytes>::new())) }
    });
    let config = Config::new(host.clone())
        .with_api_path(gv.0)
        .with_group_version(gv.1)
        .without_rate_limit()
        .with_max_retries(0);
    let client = match RestClient::builder(config).service(svc).build() {
        Ok(c) => c,
        Err(_) if fuzz_host => return,
        Err(e) => panic!("a fixed host failed: {e}"),
    };

    let build = |client: &RestClient| {
        let mut req = client
            .request(Method::GET)
            .namespace(&namespace)
            .resource(&resource);
        if let Some(n) = &name {
            req = req.name(n);
        }
        for s in &subs {
            req = req.sub_resource(s);
        }
        if let Some(s) = &suffix {
            req = req.suffix(s);
        }
        for (k, v) in &params {
            req = req.param(k, v);
        }
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        req
    };

    let lower = resource.to_ascii_lowercase();
    let suffix_segs: Vec<&str> = suffix
        .as_deref()
        .map(|s| s.split('/').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let valid = (namespace.is_empty() || valid_segment(&namespace))
        && valid_segment(&lower)
        && name.as_deref().is_none_or(valid_segment)
        && subs.iter().all(|s| valid_segment(s))
        && suffix_segs.iter().all(|s| *s != "." && *s != "..");

    let url = build(&client).url();
    let sent = block_on(build(&client).send());
    let url = match (valid, url) {
        (false, Err(e)) => {
            assert!(sent.is_err(), "send() accepted what url() refused");
            let _ = e.to_string();
            assert!(
                captured.lock().unwrap().is_none(),
                "an invalid request was sent"
            );
            return;
        }
        (false, Ok(u)) => panic!("an invalid segment made the URL {u}"),
        (true, Err(e)) => panic!("valid segments refused: {e}"),
        (true, Ok(u)) => u,
    };
    let uri: http::Uri = url
        .parse()
        .unwrap_or_else(|e| panic!("the URL {url:?} does not parse: {e}"));
    // Canonical form (RFC 3986 section 2.3): unreserved characters are never escaped (a
    // fuzzed host's own path is taken as given).
    for (i, _) in url.match_indices('%').filter(|_| !fuzz_host) {
        let hex = url
            .get(i + 1..i + 3)
            .unwrap_or_else(|| panic!("{url}: a cut escape"));
        let byte = u8::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("{url}: escape %{hex}"));
        assert!(
            !(byte.is_ascii_alphanumeric() || b"-._~".contains(&byte)),
            "{url}: the unreserved {:?} is percent-encoded",
            byte as char
        );
    }
    if let Err(e) = &sent {
        panic!("send() failed for {url}: {e}");
    }
    let captured = captured
        .lock()
        .unwrap()
        .clone()
        .expect("the request was sent");
    let captured: http::Uri = captured.parse().expect("the sent URI parses");
    assert_eq!(
        captured.path_and_query(),
        uri.path_and_query(),
        "send() sent another URL than url()"
    );

    // The base path: everything before our segments.
    let mut want: Vec<String> = Vec::new();
    if !namespace.is_empty() {
        want.push("namespaces".to_owned());
        want.push(namespace.clone());
    }
    want.push(lower.clone());
    want.extend(name.clone());
    want.extend(subs.iter().cloned());
    want.extend(suffix_segs.iter().map(|s| (*s).to_owned()));
    let segments: Vec<&str> = uri.path().split('/').skip(1).collect();
    assert!(segments.len() >= want.len(), "{url}: too few segments");
    let ours = &segments[segments.len() - want.len()..];
    let decoded: Vec<String> = ours.iter().map(|s| decode(s)).collect();
    assert_eq!(decoded, want, "{url}: the path does not decode back");
    if !fuzz_host {
        let base: Vec<&str> = segments[..segments.len() - want.len()].to_vec();
        let host_uri: http::Uri = host.parse().unwrap();
        let mut expected: Vec<&str> = host_uri
            .path()
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        expected.push(gv.0);
        let gv_group = match (flags >> 2) & 3 {
            1 => "apps",
            2 => "rbac.authorization.k8s.io",
            _ => "",
        };
        if !gv_group.is_empty() {
            expected.push(gv_group);
        }
        expected.push("v1");
        assert_eq!(base, expected, "{url}: the base path");
    }

    // The query: the parameters, sorted stably by key, and the timeout.
    let mut want_q: Vec<(String, String)> = params.clone();
    let timeout = timeout.filter(|t| !t.is_zero());
    let has_timeout_param = params.iter().any(|(k, _)| k == "timeout");
    if let Some(t) = timeout
        && !has_timeout_param
    {
        want_q.push(("timeout".to_owned(), String::new()));
        let _ = t;
    }
    want_q.sort_by(|a, b| a.0.cmp(&b.0));
    let got_q: Vec<(String, String)> = match uri.query() {
        None => Vec::new(),
        Some(q) => q
            .split('&')
            .map(|pair| {
                let (k, v) = pair
                    .split_once('=')
                    .unwrap_or_else(|| panic!("{url}: a pair without '='"));
                (decode(k), decode(v))
            })
            .collect(),
    };
    assert_eq!(got_q.len(), want_q.len(), "{url}: the query's pairs");
    for (g, w) in got_q.iter().zip(&want_q) {
        assert_eq!(g.0, w.0, "{url}: query keys");
        if w.0 == "timeout" && !has_timeout_param {
            let t = timeout.expect("a timeout");
            assert_eq!(
                parse_go_duration(&g.1),
                Some(t.as_nanos()),
                "{url}: timeout {t:?} written as {:?}",
                g.1
            );
        } else {
            assert_eq!(g.1, w.1, "{url}: query values");
        }
    }
}

// ---------------------------------------------------------------------------
// Protobuf streams: watch frames and LIST items
// ---------------------------------------------------------------------------

/// What a protobuf watch or list yielded, item by item (objects as their raw messages).
#[derive(Debug, PartialEq)]
enum PbSeen {
    Added(Vec<u8>),
    Modified(Vec<u8>),
    Deleted(Vec<u8>),
    Bookmark(kubecto_rest_core::Bookmark),
    /// An ERROR event's Status: code, reason, message.
    Api(u16, String, String),
    Item(Vec<u8>),
    /// A malformed event or item, a framing error, an oversized frame.
    Decode,
    Other(String),
}

fn pb_seen<T: Into<Vec<u8>>>(item: kubecto_rest_core::Result<WatchEvent<T>>) -> PbSeen {
    match item {
        Ok(WatchEvent::Added(o)) => PbSeen::Added(o.into()),
        Ok(WatchEvent::Modified(o)) => PbSeen::Modified(o.into()),
        Ok(WatchEvent::Deleted(o)) => PbSeen::Deleted(o.into()),
        Ok(WatchEvent::Bookmark(b)) => PbSeen::Bookmark(b),
        Err(e) => pb_error(e),
    }
}

fn pb_error(e: Error) -> PbSeen {
    match e {
        Error::Api(s) => PbSeen::Api(s.code, s.reason, s.message),
        Error::Decode { .. } => PbSeen::Decode,
        e => PbSeen::Other(e.to_string()),
    }
}

/// A protobuf watch over `chunks`, every event's object kept as its raw message.
fn pb_watch_all(chunks: Vec<Bytes>, max_event: Option<usize>) -> Vec<PbSeen> {
    let mut config = plain_config();
    if let Some(max) = max_event {
        config = config.with_max_event_size(max);
    }
    let client = client_over(chunks, StatusCode::OK, config);
    block_on(async {
        let resp = match client.get().send().await {
            Ok(r) => r,
            Err(e) => return vec![PbSeen::Other(e.to_string())],
        };
        let events = resp.protobuf_watch_events(|raw| Ok(raw.to_vec()));
        futures_util::pin_mut!(events);
        let mut out = Vec::new();
        while let Some(item) = events.next().await {
            out.push(pb_seen(item));
            assert!(out.len() <= 100_000, "a runaway watch stream");
        }
        out
    })
}

/// A list's resourceVersion and continue token.
type ListEnd = (Option<String>, Option<String>);

/// A protobuf LIST over `chunks`: its items, then its resourceVersion and continue token
/// if it ended cleanly.
fn pb_list_all(chunks: Vec<Bytes>, max_event: Option<usize>) -> (Vec<PbSeen>, Option<ListEnd>) {
    let mut config = plain_config();
    if let Some(max) = max_event {
        config = config.with_max_event_size(max);
    }
    let client = client_over(chunks, StatusCode::OK, config);
    block_on(async {
        let resp = match client.get().send().await {
            Ok(r) => r,
            Err(e) => return (vec![PbSeen::Other(e.to_string())], None),
        };
        let mut items = resp.protobuf_list_stream(|raw| Ok(raw.to_vec()));
        let mut out = Vec::new();
        let mut failed = false;
        while let Some(item) = items.next().await {
            failed |= item.is_err();
            out.push(match item {
                Ok(raw) => PbSeen::Item(raw),
                Err(e) => pb_error(e),
            });
            assert!(out.len() <= 100_000, "a runaway list stream");
        }
        let meta = items
            .metadata()
            .map(|m| (m.resource_version.clone(), m.continue_token.clone()));
        (out, if failed { None } else { meta })
    })
}

/// Protobuf writing, independent of rest-core's reader: a varint, a tag, a field.
fn pb_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn pb_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    pb_varint(out, u64::from(field) << 3 | 2);
    pb_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// `k8s\0` and a `runtime.Unknown` holding `raw` as an object of `kind`.
fn pb_envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut type_meta = Vec::new();
    pb_bytes(&mut type_meta, 1, api_version.as_bytes());
    pb_bytes(&mut type_meta, 2, kind.as_bytes());
    let mut out = b"k8s\0".to_vec();
    pb_bytes(&mut out, 1, &type_meta);
    pb_bytes(&mut out, 2, raw);
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The events the input describes (a type byte, a length byte, that many bytes of
/// payload), each encoded as kube-apiserver frames it, and what the watch must yield.
fn pb_watch_script(mut script: &[u8]) -> (Vec<u8>, Vec<PbSeen>) {
    let (mut body, mut want) = (Vec::new(), Vec::new());
    while let [t, n, rest @ ..] = script {
        let n = usize::from(*n).min(rest.len());
        let (payload, tail) = rest.split_at(n);
        script = tail;
        let (kind, object, seen) = match t % 6 {
            0 => (
                "ADDED",
                pb_envelope("v1", "Pod", payload),
                PbSeen::Added(payload.to_vec()),
            ),
            1 => (
                "MODIFIED",
                pb_envelope("v1", "Pod", payload),
                PbSeen::Modified(payload.to_vec()),
            ),
            2 => (
                "DELETED",
                pb_envelope("v1", "Pod", payload),
                PbSeen::Deleted(payload.to_vec()),
            ),
            3 => {
                // A Pod whose metadata (1) carries only its resourceVersion (6).
                let rv = hex(payload);
                let mut meta = Vec::new();
                pb_bytes(&mut meta, 6, rv.as_bytes());
                let mut pod = Vec::new();
                pb_bytes(&mut pod, 1, &meta);
                let mut b = kubecto_rest_core::Bookmark::default();
                b.resource_version = rv;
                (
                    "BOOKMARK",
                    pb_envelope("v1", "Pod", &pod),
                    PbSeen::Bookmark(b),
                )
            }
            4 => {
                // A Status: status (2), message (3), code (6).
                let code = 400 + u16::from(payload.first().copied().unwrap_or(10));
                let message = hex(payload);
                let mut status = Vec::new();
                pb_bytes(&mut status, 2, b"Failure");
                pb_bytes(&mut status, 3, message.as_bytes());
                pb_varint(&mut status, 6 << 3);
                pb_varint(&mut status, u64::from(code));
                let reason = if code == 410 { "Expired" } else { "" };
                (
                    "ERROR",
                    pb_envelope("v1", "Status", &status),
                    PbSeen::Api(code, reason.to_owned(), message),
                )
            }
            _ => (
                "SOMETHING",
                pb_envelope("v1", "Pod", payload),
                PbSeen::Decode,
            ),
        };
        let mut raw_extension = Vec::new();
        pb_bytes(&mut raw_extension, 1, &object);
        let mut event = Vec::new();
        pb_bytes(&mut event, 1, kind.as_bytes());
        pb_bytes(&mut event, 2, &raw_extension);
        body.extend_from_slice(&(event.len() as u32).to_be_bytes());
        body.extend_from_slice(&event);
        want.push(seen);
    }
    (body, want)
}

/// The list the input describes (a resourceVersion's length and bytes, then items as a
/// length byte and that many bytes), encoded as kube-apiserver sends a PodList, and its
/// items and metadata.
fn pb_list_script(script: &[u8]) -> (Vec<u8>, Vec<PbSeen>, ListEnd) {
    let (rv, mut script) = match script {
        [n, rest @ ..] => rest.split_at(usize::from(*n % 16).min(rest.len())),
        [] => (&[][..], &[][..]),
    };
    let rv = hex(rv);
    let mut meta = Vec::new();
    pb_bytes(&mut meta, 2, rv.as_bytes());
    pb_bytes(&mut meta, 3, b"");
    let mut list = Vec::new();
    pb_bytes(&mut list, 1, &meta);
    let mut want = Vec::new();
    while let [n, rest @ ..] = script {
        let n = usize::from(*n).min(rest.len());
        let (item, tail) = rest.split_at(n);
        script = tail;
        pb_bytes(&mut list, 2, item);
        want.push(PbSeen::Item(item.to_vec()));
    }
    let rv = Some(rv).filter(|v| !v.is_empty());
    (pb_envelope("v1", "PodList", &list), want, (rv, None))
}

/// The `protobuf_stream` target: protobuf watch frames and LIST items read from bodies in
/// arbitrary chunks. Whatever the bytes, cutting them differently changes nothing; and a
/// stream the input describes, encoded here independently, decodes to what it describes.
/// The first byte picks the mode (bits 0-1: raw watch, described watch, raw list,
/// described list; bit 2: a small event-size limit, its size from the other bits), the
/// next eight seed the chunking.
pub fn protobuf_stream(data: &[u8]) {
    let ([flags, s0, s1, s2, s3, s4, s5, s6, s7], input) = header::<9>(data);
    let seed = u64::from_le_bytes([s0, s1, s2, s3, s4, s5, s6, s7]);
    let max_event = (flags & 4 == 4).then(|| 1 + usize::from(flags >> 3) * 8);
    let mode = flags & 3;
    let (body, want_watch, want_list) = match mode {
        1 => {
            let (body, want) = pb_watch_script(input);
            (body, Some(want), None)
        }
        3 => {
            let (body, items, meta) = pb_list_script(input);
            (body, None, Some((items, meta)))
        }
        _ => (input.to_vec(), None, None),
    };
    let whole_chunks = vec![Bytes::copy_from_slice(&body)];
    if mode & 2 == 0 {
        let whole = pb_watch_all(whole_chunks, max_event);
        let pieces = pb_watch_all(chunked(&body, seed), max_event);
        assert_eq!(
            whole,
            pieces,
            "chunking changed the protobuf watch: {}",
            hex(&body)
        );
        if let Some(e) = whole.iter().find(|s| matches!(s, PbSeen::Other(_))) {
            panic!(
                "a protobuf watch over a fixed body failed with {e:?}: {}",
                hex(&body)
            );
        }
        if let (Some(want), None) = (want_watch, max_event) {
            assert_eq!(
                whole,
                want,
                "the described watch decoded otherwise: {}",
                hex(&body)
            );
        }
    } else {
        let whole = pb_list_all(whole_chunks, max_event);
        let pieces = pb_list_all(chunked(&body, seed), max_event);
        assert_eq!(
            whole,
            pieces,
            "chunking changed the protobuf list: {}",
            hex(&body)
        );
        if let Some(e) = whole.0.iter().find(|s| matches!(s, PbSeen::Other(_))) {
            panic!(
                "a protobuf list over a fixed body failed with {e:?}: {}",
                hex(&body)
            );
        }
        if let (Some((items, meta)), None) = (want_list, max_event) {
            assert_eq!(
                whole,
                (items, Some(meta)),
                "the described list decoded otherwise: {}",
                hex(&body)
            );
        }
    }
}
