//! Hand-written codecs for the apimachinery types whose protobuf message and k8s-openapi
//! type differ in shape: `Time` and `MicroTime` (a seconds+nanos message, a timestamp in
//! Rust), `Quantity` (its string in field 1), `IntOrString` (type, intVal, strVal),
//! `RawExtension`, `FieldsV1` and apiextensions' `JSON` (JSON text in a `bytes` field),
//! (the JSON-schema unions of apiextensions are in `jsonschema.rs`).
//!
//! Each follows what kube-apiserver's Go code does with the message, so that a protobuf
//! object decodes to exactly what its JSON twin decodes to: an empty `Time` is Go's zero
//! time, which its JSON writes as `null` (`None` here); `Time` keeps whole seconds, as Go
//! does when it reads one; `MicroTime` keeps microseconds.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, MicroTime, Time};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;

use crate::DecodeOptions;
use crate::codec::{Message, Result, Value};
use crate::error::DecodeErrorKind;
use crate::wire::{self, Reader, WireType};

/// A `Timestamp` message (seconds 1, nanos 2); `None` when empty (Go's zero time).
fn read_timestamp(r: &mut Reader<'_>) -> Result<Option<(i64, i32, usize)>> {
    let mut msg = r.message()?;
    let at = msg.offset();
    if msg.is_empty() {
        return Ok(None);
    }
    let (mut seconds, mut nanos) = (0i64, 0i32);
    while let Some((field, w)) = msg.field()? {
        match field {
            1 => crate::codec::req(&mut seconds, &mut msg, w, &DecodeOptions::DEFAULT)?,
            2 => crate::codec::req(&mut nanos, &mut msg, w, &DecodeOptions::DEFAULT)?,
            _ => msg.skip(w)?,
        }
    }
    Ok(Some((seconds, nanos, at)))
}

fn timestamp(seconds: i64, nanos: i32, at: usize) -> Result<Timestamp> {
    Timestamp::new(seconds, nanos)
        .map_err(|_| Reader::error(DecodeErrorKind::InvalidValue("a time out of range"), at))
}

/// Seconds and non-negative nanos, as protobuf's `Timestamp` counts them.
fn write_timestamp(out: &mut Vec<u8>, field: u32, ts: Timestamp, keep_nanos: bool) {
    let (mut seconds, mut nanos) = (ts.as_second(), ts.subsec_nanosecond());
    if nanos < 0 {
        seconds -= 1;
        nanos += 1_000_000_000;
    }
    if !keep_nanos {
        nanos = 0;
    }
    wire::put_len_delimited(out, field, |out| {
        seconds.encode_field(1, out);
        nanos.encode_field(2, out);
    });
}

#[cold]
fn zero_time(r: &Reader<'_>) -> crate::DecodeError {
    Reader::error(
        DecodeErrorKind::InvalidValue("a zero time where a time is required"),
        r.offset(),
    )
}

impl Value for Time {
    const WIRE: WireType = WireType::Len;
    const EMPTY_IS_NONE: bool = true;

    fn decode_value(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Self> {
        Self::decode_option(r, o)?.ok_or_else(|| zero_time(r))
    }

    fn decode_option(r: &mut Reader<'_>, _: &DecodeOptions) -> Result<Option<Self>> {
        // Go keeps whole seconds when it reads a Time (its JSON has no more).
        match read_timestamp(r)? {
            None => Ok(None),
            Some((seconds, _, at)) => timestamp(seconds, 0, at).map(|t| Some(Self(t))),
        }
    }

    fn encode_field(&self, field: u32, out: &mut Vec<u8>) {
        write_timestamp(out, field, self.0, false);
    }
}

impl Value for MicroTime {
    const WIRE: WireType = WireType::Len;
    const EMPTY_IS_NONE: bool = true;

    fn decode_value(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Self> {
        Self::decode_option(r, o)?.ok_or_else(|| zero_time(r))
    }

    fn decode_option(r: &mut Reader<'_>, _: &DecodeOptions) -> Result<Option<Self>> {
        match read_timestamp(r)? {
            None => Ok(None),
            // Truncated to microseconds, as Go reads a MicroTime.
            Some((seconds, nanos, at)) => {
                timestamp(seconds, nanos - nanos % 1000, at).map(|t| Some(Self(t)))
            }
        }
    }

    fn encode_field(&self, field: u32, out: &mut Vec<u8>) {
        // Truncated to microseconds, as Go writes a MicroTime.
        let n = self.0.subsec_nanosecond();
        let ts = Timestamp::new(self.0.as_second(), n - n % 1000).unwrap_or(self.0);
        write_timestamp(out, field, ts, true);
    }
}

impl Message for Quantity {
    fn decode_message(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Self> {
        // Go always writes the string; without one, Go's quantity is zero, "0" in JSON.
        let mut s = None;
        while let Some((field, w)) = r.field()? {
            match field {
                1 => crate::codec::opt(&mut s, r, w, o)?,
                _ => r.skip(w)?,
            }
        }
        Ok(Self(s.unwrap_or_else(|| "0".to_owned())))
    }

    fn encode_message(&self, out: &mut Vec<u8>) {
        self.0.encode_field(1, out);
    }
}

impl Message for IntOrString {
    fn decode_message(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Self> {
        let (mut ty, mut int, mut string) = (0i64, 0i32, String::new());
        let mut ty_at = r.offset();
        while let Some((field, w)) = r.field()? {
            match field {
                1 => {
                    ty_at = r.offset();
                    crate::codec::req(&mut ty, r, w, o)?;
                }
                2 => crate::codec::req(&mut int, r, w, o)?,
                3 => crate::codec::req(&mut string, r, w, o)?,
                _ => r.skip(w)?,
            }
        }
        match ty {
            0 => Ok(Self::Int(int)),
            1 => Ok(Self::String(string)),
            _ => Err(Reader::error(
                DecodeErrorKind::InvalidValue("an IntOrString whose type is neither 0 nor 1"),
                ty_at,
            )),
        }
    }

    fn encode_message(&self, out: &mut Vec<u8>) {
        // Go writes all three fields.
        match self {
            Self::Int(i) => {
                0i64.encode_field(1, out);
                i.encode_field(2, out);
                wire::put_bytes(out, 3, b"");
            }
            Self::String(s) => {
                1i64.encode_field(1, out);
                0i32.encode_field(2, out);
                s.encode_field(3, out);
            }
        }
    }
}

/// The `bytes` field 1 of a message (`RawExtension.raw`, `FieldsV1.Raw`, `JSON.raw`),
/// borrowed, and its offset; `None` when the message has none or it is empty.
fn read_raw<'a>(r: &mut Reader<'a>) -> Result<Option<(&'a [u8], usize)>> {
    let mut msg = r.message()?;
    let mut raw = None;
    while let Some((field, w)) = msg.field()? {
        match field {
            1 => {
                msg.expect(w, WireType::Len)?;
                let bytes = msg.bytes()?;
                raw = Some((bytes, msg.offset() - bytes.len()));
            }
            _ => msg.skip(w)?,
        }
    }
    Ok(raw.filter(|(b, _)| !b.is_empty()))
}

/// JSON text held in a `bytes` field.
fn parse_json(raw: &[u8], at: usize) -> Result<serde_json::Value> {
    serde_json::from_slice(raw).map_err(|e| {
        // On the first line (Kubernetes writes these on one), the column is the byte.
        let within = if e.line() == 1 {
            e.column().saturating_sub(1)
        } else {
            0
        };
        Reader::error(DecodeErrorKind::InvalidJson(e.to_string()), at + within)
    })
}

/// `fieldsV1` JSON: what kube-apiserver writes is objects all the way down, with string
/// keys (`"f:spec"`, `"k:{\"name\":\"nginx\"}"`, `"."`) and no whitespace. This reads
/// that shape straight into a `serde_json::Value` (about twice as fast as serde_json's
/// general parser); anything else goes to serde_json, which has the last word.
fn parse_fields_json(raw: &[u8], at: usize) -> Result<serde_json::Value> {
    let mut pos = 0;
    if let Some(map) = fields_object(raw, &mut pos, 0)
        && pos == raw.len()
    {
        return Ok(serde_json::Value::Object(map));
    }
    parse_json(raw, at)
}

/// An object whose values are objects, at `raw[*pos]`; `None` for anything else.
fn fields_object(
    raw: &[u8],
    pos: &mut usize,
    depth: usize,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    // serde_json's own nesting limit.
    if depth >= 128 || raw.get(*pos) != Some(&b'{') {
        return None;
    }
    *pos += 1;
    let mut map = serde_json::Map::new();
    if raw.get(*pos) == Some(&b'}') {
        *pos += 1;
        return Some(map);
    }
    loop {
        let key = fields_key(raw, pos)?;
        if raw.get(*pos) != Some(&b':') {
            return None;
        }
        *pos += 1;
        let value = fields_object(raw, pos, depth + 1)?;
        map.insert(key, serde_json::Value::Object(value));
        match raw.get(*pos) {
            Some(b',') => *pos += 1,
            Some(b'}') => {
                *pos += 1;
                return Some(map);
            }
            _ => return None,
        }
    }
}

/// A key at `raw[*pos]` with no escapes but `\"` and `\\`; `None` for anything else.
fn fields_key(raw: &[u8], pos: &mut usize) -> Option<String> {
    if raw.get(*pos) != Some(&b'"') {
        return None;
    }
    let start = *pos + 1;
    let mut i = start;
    let mut escaped = false;
    loop {
        match *raw.get(i)? {
            b'"' => break,
            b'\\' => {
                escaped = true;
                match raw.get(i + 1)? {
                    b'"' | b'\\' => i += 2,
                    _ => return None,
                }
            }
            // Control characters must be escaped in JSON.
            c if c < 0x20 => return None,
            _ => i += 1,
        }
    }
    *pos = i + 1;
    let bytes = &raw[start..i];
    let text = std::str::from_utf8(bytes).ok()?;
    if !escaped {
        return Some(text.to_owned());
    }
    let mut key = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            key.extend(chars.next());
        } else {
            key.push(c);
        }
    }
    Some(key)
}

fn write_json(out: &mut Vec<u8>, field: u32, value: &serde_json::Value) {
    wire::put_len_delimited(out, field, |out| {
        if !value.is_null() {
            wire::put_len_delimited(out, 1, |out| {
                // Writing a `Value` into a `Vec` cannot fail.
                let _ = serde_json::to_writer(&mut *out, value);
            });
        }
    });
}

/// A `RawExtension`'s bytes as JSON. kube-apiserver sends an object embedded this way as
/// the JSON it was given; a protobuf object in its own envelope (`k8s\0`) has no JSON
/// form without its type, and is reported as such.
fn raw_extension_json(raw: &[u8], at: usize) -> Result<serde_json::Value> {
    if raw.starts_with(&crate::envelope::MAGIC) {
        return Err(Reader::error(
            DecodeErrorKind::UnsupportedEncoding(
                "protobuf (a RawExtension holding a protobuf object)".to_owned(),
            ),
            at,
        ));
    }
    parse_json(raw, at)
}

impl Value for RawExtension {
    const WIRE: WireType = WireType::Len;
    const EMPTY_IS_NONE: bool = true;

    fn decode_value(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Self> {
        Ok(Self::decode_option(r, o)?.unwrap_or(Self(serde_json::Value::Null)))
    }

    fn decode_option(r: &mut Reader<'_>, _: &DecodeOptions) -> Result<Option<Self>> {
        // No bytes: Go's JSON writes `null`.
        match read_raw(r)? {
            None => Ok(None),
            Some((raw, at)) => raw_extension_json(raw, at).map(|v| Some(Self(v))),
        }
    }

    fn encode_field(&self, field: u32, out: &mut Vec<u8>) {
        write_json(out, field, &self.0);
    }
}

impl Value for FieldsV1 {
    const WIRE: WireType = WireType::Len;
    const EMPTY_IS_NONE: bool = true;

    fn decode_value(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Self> {
        Ok(Self::decode_option(r, o)?.unwrap_or(Self(serde_json::Value::Null)))
    }

    fn decode_option(r: &mut Reader<'_>, _: &DecodeOptions) -> Result<Option<Self>> {
        match read_raw(r)? {
            None => Ok(None),
            Some((raw, at)) => parse_fields_json(raw, at).map(|v| Some(Self(v))),
        }
    }

    fn encode_field(&self, field: u32, out: &mut Vec<u8>) {
        write_json(out, field, &self.0);
    }
}

impl Value for apiextensions::JSON {
    const WIRE: WireType = WireType::Len;
    const EMPTY_IS_NONE: bool = true;

    fn decode_value(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Self> {
        Ok(Self::decode_option(r, o)?.unwrap_or(Self(serde_json::Value::Null)))
    }

    fn decode_option(r: &mut Reader<'_>, _: &DecodeOptions) -> Result<Option<Self>> {
        match read_raw(r)? {
            None => Ok(None),
            Some((raw, at)) => parse_json(raw, at).map(|v| Some(Self(v))),
        }
    }

    fn encode_field(&self, field: u32, out: &mut Vec<u8>) {
        write_json(out, field, &self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_json_reads_what_serde_json_reads() {
        for text in [
            r#"{}"#,
            r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{}}}}}"#,
            r#"{"f:a\\b":{},"f:ü✓":{}}"#,
            r#"{"f:a":{},"f:a":{"x":{}}}"#,
            // Not the fast shape: serde_json decides.
            r#"{"f:a": {}}"#,
            r#"{"f:a":1}"#,
            r#"{"f:\u0041":{}}"#,
            r#"[1,2]"#,
        ] {
            let expected: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(
                parse_fields_json(text.as_bytes(), 0).unwrap(),
                expected,
                "{text}"
            );
        }
        for bad in [&b"{"[..], b"{\"a\":{}", b"{\"a\xff\":{}}", b"{\"a\":{}}x"] {
            assert!(parse_fields_json(bad, 0).is_err(), "{bad:?}");
        }
    }
}
