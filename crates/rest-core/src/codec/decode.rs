//! Decoding JSON into typed values: simd-json first, with its buffers reused for every
//! item of a stream, and serde_json for whatever simd-json refuses, so errors (URL, byte
//! offset, excerpt, invalid UTF-8) and the set of accepted bodies stay serde_json's.
//!
//! Why simd-json, from `bench/src/bin/bench-decode.rs` (a 7.5 KB k8s-openapi `Pod`,
//! decode + drop): 336 K instructions against 346 K for `from_utf8` + `serde_json::from_str`
//! (user CPU 3–5% less), and 44.8 KB of heap held per decoded pod against 51.4 KB (−13%:
//! simd-json knows each array's length, so every `Vec` gets its exact capacity). The CPU
//! gain is small because building and dropping the typed object is most of the cost; the
//! heap gain is what a collected LIST keeps. Reusing the buffers matters: with fresh ones
//! for each pod simd-json costs more than serde_json (349 K instructions) and peaks at
//! 93 KB instead of 45 KB.
//!
//! simd-json rewrites escaped strings in place and reads up to [`simd_json::INPUT_PADDING`]
//! bytes past the end, so each value is copied into a padded scratch buffer first (0.8 K
//! instructions for a pod; simd-json's own entry points make the same copy internally).
//! The received bytes stay untouched for the serde_json fallback and its error report.
//!
//! What simd-json accepts it decodes as serde_json does, number and escape edge cases
//! included (tests below), except that `-0` becomes the integer 0 rather than -0.0.
//!
//! CPU support: the `runtime-detection` feature picks AVX2, SSE4.2 or portable scalar code
//! when first used (NEON on aarch64), so a CPU without AVX2 takes the slower path, never an
//! illegal instruction.

use std::cell::RefCell;
use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use serde::de::DeserializeOwned;
use simd_json::{Buffers, Deserializer, INPUT_PADDING, Tape};

use crate::error::Result;
use crate::read::response::decode_at;

/// serde_json's recursion limit; simd-json would go to 1,024 levels, deep enough to overflow
/// a task's stack while deserializing. Deeper values fail here and go to serde_json, which
/// reports them.
const MAX_DEPTH: usize = 128;

/// Values (whole bodies, list items, watch events) up to this size are decoded with
/// simd-json; larger ones with serde_json alone. simd-json builds a tape and a structural
/// index for the whole input before deserializing, about 9 bytes per input byte: for a
/// LIST of 10,000 pods (75 MB) decoded whole that peaked at 1,165 MB above the body,
/// against 554 MB for serde_json (which holds nothing but the result), although the
/// decoded list itself was smaller (482 MB against 554 MB). And a [`Decoder`] keeps its
/// buffers at the size of the largest value it decoded. 64 KiB covers single objects (a
/// pod is 5–10 KB) and bounds what each stream and each thread keeps to about 0.6 MB.
pub(crate) const SIMD_MAX: usize = 64 * 1024;

/// simd-json's buffers, tape and padded scratch, kept between values.
pub(crate) struct Decoder {
    buffers: Buffers,
    /// Empty between decodes; `None` only if a decode panicked.
    tape: Option<Tape<'static>>,
    scratch: Vec<u8>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("scratch_capacity", &self.scratch.capacity())
            .finish_non_exhaustive()
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Self {
            buffers: Buffers::with_max_depth(0, MAX_DEPTH),
            tape: Some(Tape::null()),
            scratch: Vec::new(),
        }
    }
}

impl Decoder {
    /// `bytes` as exactly one `T` (surrounding whitespace allowed), or `None` if simd-json
    /// fails for any reason (not JSON, not UTF-8, trailing data, not a `T`, too deep) or
    /// is not used (more than [`SIMD_MAX`] bytes).
    pub(crate) fn try_decode<T: DeserializeOwned>(&mut self, bytes: &[u8]) -> Option<T> {
        if bytes.len() > SIMD_MAX {
            return None;
        }
        self.with_tape(bytes, |de| T::deserialize(de).ok())
            .flatten()
    }

    /// Runs `f` on a simd-json deserializer over `bytes` (one value), with this decoder's
    /// buffers and tape; `None`, without calling `f`, if simd-json cannot parse `bytes`.
    pub(crate) fn with_tape<V>(
        &mut self,
        bytes: &[u8],
        f: impl for<'s> FnOnce(&mut Deserializer<'s>) -> V,
    ) -> Option<V> {
        let len = bytes.len();
        self.scratch.clear();
        self.scratch.reserve(len + INPUT_PADDING);
        self.scratch.extend_from_slice(bytes);
        self.scratch.resize(len + INPUT_PADDING, b' ');
        let mut tape = self.tape.take().unwrap_or_else(Tape::null).reset();
        if simd_json::fill_tape_padded(&mut self.scratch, len, &mut self.buffers, &mut tape)
            .is_err()
        {
            self.tape = Some(tape.reset());
            return None;
        }
        let mut de = Deserializer::from_tape(tape);
        let value = f(&mut de);
        self.tape = Some(de.into_tape().reset());
        Some(value)
    }

    /// Decodes `bytes`, which start at `base` in the whole body: simd-json, or on any
    /// failure serde_json, whose error carries the URL, offset and an excerpt.
    pub(crate) fn decode_at<T: DeserializeOwned>(
        &mut self,
        url: &str,
        bytes: &[u8],
        base: u64,
    ) -> Result<T> {
        match self.try_decode(bytes) {
            Some(value) => Ok(value),
            None => decode_at(url, bytes, base),
        }
    }
}

thread_local! {
    /// For whole bodies of at most [`SIMD_MAX`] bytes.
    static BODY_DECODER: RefCell<Decoder> = RefCell::new(Decoder::default());
}

/// Decodes a whole body: small ones with this thread's [`Decoder`], large ones with
/// serde_json (see [`SIMD_MAX`]).
pub(crate) fn decode_body<T: DeserializeOwned>(url: &str, bytes: &[u8]) -> Result<T> {
    if bytes.len() > SIMD_MAX {
        return decode_at(url, bytes, 0);
    }
    match with_body_decoder(|d| d.try_decode(bytes)) {
        Some(value) => Ok(value),
        None => decode_at(url, bytes, 0),
    }
}

/// Decodes a whole body from the chunks it arrived in: a small one as [`decode_body`]
/// does, a large object by walking it a value at a time and freeing each chunk once it
/// is passed (see `list_body.rs`), anything else with serde_json.
pub(crate) fn decode_chunks<T: DeserializeOwned>(
    url: &str,
    mut chunks: VecDeque<Bytes>,
) -> Result<T> {
    let total: usize = chunks.iter().map(Bytes::len).sum();
    if total > SIMD_MAX {
        match with_body_decoder(|d| crate::codec::list_body::decode(url, chunks, d)) {
            Ok(result) => return result,
            Err(untouched) => chunks = untouched,
        }
    }
    let whole = match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.pop_front().unwrap_or_default(),
        _ => {
            let mut buf = BytesMut::with_capacity(total);
            chunks.iter().for_each(|c| buf.extend_from_slice(c));
            buf.freeze()
        }
    };
    decode_body(url, &whole)
}

/// Runs `f` with this thread's decoder (a fresh one if a `Deserialize` impl is already
/// using it, which only a body decoded from inside a decode could do).
fn with_body_decoder<R>(f: impl FnOnce(&mut Decoder) -> R) -> R {
    BODY_DECODER.with(|d| match d.try_borrow_mut() {
        Ok(mut d) => f(&mut d),
        Err(_) => f(&mut Decoder::default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use serde_json::{Value, json};

    #[test]
    fn decodes_what_serde_json_decodes() {
        let mut d = Decoder::default();
        for text in [
            r#"{"a":[1,-2,3.5,1e3,true,null],"b":"x\"y\\z\u00e9\ud83d\ude00","c":{}}"#,
            " [ ] ",
            "\"s\"",
            "12",
            "18446744073709551616",
            r#"{"big":123456789012345678901234567890}"#,
        ] {
            let want: Value = serde_json::from_str(text).unwrap();
            assert_eq!(d.decode_at::<Value>("u", text.as_bytes(), 0).unwrap(), want);
            assert_eq!(decode_body::<Value>("u", text.as_bytes()).unwrap(), want);
        }
        // The same decoder again, after a failure and with a shorter value.
        assert!(d.try_decode::<Value>(b"{").is_none());
        assert_eq!(d.try_decode::<Value>(b"[1]"), Some(json!([1])));
    }

    #[test]
    fn refuses_what_serde_json_refuses() {
        let mut d = Decoder::default();
        for text in [
            &b"{\"a\":1} x"[..],
            b"{\"a\":1}{}",
            b"",
            b"{\"a\":\"\xff\"}",
            b"\"\x01\"",
            b"[1,]",
            b"{\"a\" 1}",
            b"01",
        ] {
            assert!(
                serde_json::from_slice::<Value>(text).is_err(),
                "{:?}",
                String::from_utf8_lossy(text)
            );
            assert!(
                d.decode_at::<Value>("u", text, 0).is_err(),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(d.try_decode::<Value>(deep.as_bytes()).is_none());
        assert!(d.decode_at::<Value>("u", deep.as_bytes(), 0).is_err());
    }

    #[test]
    fn errors_are_serde_json_s_with_url_and_offset() {
        let mut d = Decoder::default();
        let err = d
            .decode_at::<Value>("http://x/y", br#"{"a": 1, "b": tru}"#, 100)
            .unwrap_err();
        match err {
            Error::Decode { url, offset, .. } => {
                assert_eq!(url, "http://x/y");
                assert!(matches!(offset, Some(114..=118)), "{offset:?}");
            }
            other => panic!("unexpected {other}"),
        }
        // A well-formed body that is not the type, and one that is not UTF-8.
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Named {
            name: String,
        }
        let err = decode_body::<Named>("u", br#"{"name": 5}"#).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Decode {
                    offset: Some(9),
                    ..
                }
            ),
            "{err:?}"
        );
        let err = decode_body::<Value>("u", b"{\"a\": \"\xff\"}").unwrap_err();
        match err {
            Error::Decode { offset, source, .. } => {
                assert_eq!(offset, Some(7));
                assert!(source.is::<std::str::Utf8Error>(), "{source:?}");
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn edge_cases_agree_with_serde_json() {
        let mut d = Decoder::default();
        for text in [
            "1e400",
            "1e-400",
            "-0.0",
            "18446744073709551615",
            "-9223372036854775808",
            "-9223372036854775809",
            "0.1e1",
            "1E+2",
            r#""\ud800""#,
            r#""\udc00x""#,
            r#""\ud83d\ude00""#,
            r#""\u0000""#,
            "\u{feff}{}",
            "{}\u{0}",
            "[1]\n\r\t ",
            " ",
            "nul",
            "[1,2",
            r#"{"a":1,"a":2}"#,
            "\"raw\ttab\"",
            "\"\u{7f}\"",
            "[01]",
            "[1.]",
            "[.5]",
            "[+1]",
        ] {
            let want = serde_json::from_str::<Value>(text).ok();
            assert_eq!(
                d.decode_at::<Value>("u", text.as_bytes(), 0).ok(),
                want,
                "{text:?}"
            );
        }
        // The one difference found: simd-json reads `-0` as the integer 0, serde_json as
        // the float -0.0. Both are zero to any typed field.
        assert_eq!(d.decode_at::<f64>("u", b"-0", 0).unwrap(), 0.0);
        assert_eq!(d.decode_at::<i64>("u", b"-0", 0).unwrap(), 0);
    }

    #[test]
    fn a_realistic_pod_takes_the_simd_path() {
        use k8s_openapi::api::core::v1::Pod;
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testserver/data/bench/coredns-pod.json");
        let text = std::fs::read(path).unwrap();
        let want: Pod = serde_json::from_slice(&text).unwrap();
        let mut d = Decoder::default();
        for _ in 0..2 {
            assert_eq!(d.try_decode::<Pod>(&text).as_ref(), Some(&want));
        }
    }

    #[test]
    fn large_bodies_go_to_serde_json_and_still_decode() {
        let big = json!({"items": vec!["x".repeat(100); SIMD_MAX / 50]});
        let text = serde_json::to_vec(&big).unwrap();
        assert!(text.len() > SIMD_MAX);
        assert_eq!(decode_body::<Value>("u", &text).unwrap(), big);
        let mut d = Decoder::default();
        assert!(d.try_decode::<Value>(&text).is_none());
        assert_eq!(d.decode_at::<Value>("u", &text, 0).unwrap(), big);
    }
}
