//! One message between protobuf and JSON, driven by the generated table: decoding follows
//! what Go's generated `Unmarshal` then `encoding/json` make of the bytes (zero scalars
//! with `omitempty` left out, messages held by value always there), encoding what Go's
//! `Marshal` writes (fields by number, map entries by key, value-held fields even when
//! zero), so a body round-trips the way it would through kube-apiserver.

use std::fmt;

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use crate::protobuf::lookup::message;
use crate::protobuf::schema::{Field, Msg, Ty, flag};
use crate::protobuf::time;
use crate::protobuf::wire::{
    DecodeError, FIXED64, LEN, Reader, VARINT, put_bytes, put_tag, put_varint,
};

/// How deep messages may nest (a CRD's schema is the deepest real object).
const MAX_DEPTH: u32 = 100;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

// ---------------------------------------------------------------------------------------
// Decoding.

/// Decode a message's bytes into its JSON object.
pub(crate) fn decode(msg: &Msg, r: Reader<'_>) -> Result<Map<String, Value>, DecodeError> {
    decode_message(msg, r, 0)
}

fn decode_message(
    msg: &Msg,
    mut r: Reader<'_>,
    depth: u32,
) -> Result<Map<String, Value>, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(r.error(format!("messages nested deeper than {MAX_DEPTH}")));
    }
    let mut slots: Vec<Option<Value>> = vec![None; msg.fields.len()];
    while !r.is_empty() {
        let at = r.offset();
        let (number, wire) = r.tag()?;
        let Some(i) = msg.fields.iter().position(|f| f.number == number) else {
            r.skip(wire)?;
            continue;
        };
        let field = &msg.fields[i];
        if field.is(flag::MAP) {
            expect(&r, at, field, msg, wire, LEN)?;
            let (k, v) = map_entry(field, r.len_delimited()?, depth)?;
            let slot = slots[i].get_or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = slot {
                m.insert(k, v);
            }
        } else if field.is(flag::REPEATED) {
            let slot = slots[i].get_or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(items) = slot else { continue };
            if wire == LEN && packable(field.ty) {
                let mut packed = r.len_delimited()?;
                while !packed.is_empty() {
                    items.push(single(
                        field,
                        msg,
                        &mut packed,
                        wire_of(field.ty),
                        at,
                        depth,
                    )?);
                }
            } else {
                items.push(single(field, msg, &mut r, wire, at, depth)?);
            }
        } else if field.is(flag::INLINE) {
            expect(&r, at, field, msg, wire, LEN)?;
            let Ty::Message(m) = field.ty else {
                return Err(r.error_at(at, format!("inline field {} is not a message", field.json)));
            };
            let inner = message(m).ok_or_else(|| r.error_at(at, "corrupt table"))?;
            let sub = decode_message(inner, r.len_delimited()?, depth + 1)?;
            let slot = slots[i].get_or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(o) = slot {
                o.extend(sub);
            }
        } else {
            slots[i] = Some(single(field, msg, &mut r, wire, at, depth)?);
        }
    }
    let mut out = Map::new();
    for (field, slot) in msg.fields.iter().zip(slots) {
        let value = match slot {
            Some(v) => v,
            None if field.is(flag::VALUE) && field.is(flag::REPEATED) => Value::Array(Vec::new()),
            None if field.is(flag::VALUE) && !field.is(flag::INLINE) => empty_value(field.ty),
            None => continue,
        };
        if field.is(flag::INLINE) {
            if let Value::Object(o) = value {
                out.extend(o);
            }
            continue;
        }
        if field.is(flag::OMITEMPTY) && is_zero(&value) {
            continue;
        }
        out.insert(field.json.to_owned(), value);
    }
    Ok(out)
}

/// What Go's JSON shows for a message held by value that the bytes did not send.
fn empty_value(ty: Ty) -> Value {
    match ty {
        Ty::Time | Ty::MicroTime | Ty::RawExtension | Ty::FieldsV1 | Ty::Json => Value::Null,
        Ty::Quantity => Value::String("0".into()),
        Ty::IntOrString => Value::from(0),
        _ => Value::Object(Map::new()),
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Null => true,
        _ => false,
    }
}

fn packable(ty: Ty) -> bool {
    matches!(ty, Ty::Bool | Ty::I32 | Ty::I64 | Ty::F64)
}

fn wire_of(ty: Ty) -> u8 {
    match ty {
        Ty::Bool | Ty::I32 | Ty::I64 => VARINT,
        Ty::F64 => FIXED64,
        _ => LEN,
    }
}

fn expect(
    r: &Reader<'_>,
    at: usize,
    field: &Field,
    msg: &Msg,
    got: u8,
    want: u8,
) -> Result<(), DecodeError> {
    if got == want {
        return Ok(());
    }
    Err(r.error_at(
        at,
        format!(
            "field {} ({}) of {} has wire type {got}, expected {want}",
            field.number, field.json, msg.name
        ),
    ))
}

/// One value of a field (a repeated field's element, a map's value, or the field).
fn single(
    field: &Field,
    msg: &Msg,
    r: &mut Reader<'_>,
    wire: u8,
    at: usize,
    depth: u32,
) -> Result<Value, DecodeError> {
    expect(r, at, field, msg, wire, wire_of(field.ty))?;
    value(field.ty, r, depth)
}

fn value(ty: Ty, r: &mut Reader<'_>, depth: u32) -> Result<Value, DecodeError> {
    let at = r.offset();
    Ok(match ty {
        Ty::Bool => Value::Bool(r.varint()? != 0),
        Ty::I32 => Value::from(r.varint()? as i32),
        Ty::I64 => Value::from(r.varint()? as i64),
        Ty::F64 => float(f64::from_bits(r.fixed64()?), r, at)?,
        Ty::Str => Value::String(String::from_utf8_lossy(r.len_delimited()?.rest()).into_owned()),
        Ty::Bytes => Value::String(b64().encode(r.len_delimited()?.rest())),
        Ty::Message(m) => {
            let msg = message(m).ok_or_else(|| r.error_at(at, "corrupt table"))?;
            Value::Object(decode_message(msg, r.len_delimited()?, depth + 1)?)
        }
        Ty::Time | Ty::MicroTime => {
            let mut t = r.len_delimited()?;
            if t.is_empty() {
                return Ok(Value::Null);
            }
            let (mut seconds, mut nanos) = (0i64, 0i32);
            while !t.is_empty() {
                match t.tag()? {
                    (1, VARINT) => seconds = t.varint()? as i64,
                    (2, VARINT) => nanos = t.varint()? as i32,
                    (_, w) => t.skip(w)?,
                }
            }
            let micros = ty == Ty::MicroTime;
            Value::String(time::format(seconds, nanos, micros).ok_or_else(|| {
                r.error_at(at, format!("time out of range: {seconds}s {nanos}ns"))
            })?)
        }
        Ty::Quantity => {
            let mut q = r.len_delimited()?;
            let mut s = String::new();
            while !q.is_empty() {
                match q.tag()? {
                    (1, LEN) => s = String::from_utf8_lossy(q.len_delimited()?.rest()).into_owned(),
                    (_, w) => q.skip(w)?,
                }
            }
            Value::String(if s.is_empty() { "0".into() } else { s })
        }
        Ty::IntOrString => {
            let mut q = r.len_delimited()?;
            let (mut kind, mut int, mut text) = (0u64, 0i32, String::new());
            while !q.is_empty() {
                match q.tag()? {
                    (1, VARINT) => kind = q.varint()?,
                    (2, VARINT) => int = q.varint()? as i32,
                    (3, LEN) => {
                        text = String::from_utf8_lossy(q.len_delimited()?.rest()).into_owned()
                    }
                    (_, w) => q.skip(w)?,
                }
            }
            if kind == 1 {
                Value::String(text)
            } else {
                Value::from(int)
            }
        }
        Ty::RawExtension | Ty::FieldsV1 | Ty::Json => {
            let mut q = r.len_delimited()?;
            let mut raw: Option<(usize, &[u8])> = None;
            while !q.is_empty() {
                match q.tag()? {
                    (1, LEN) => {
                        let at = q.offset();
                        raw = Some((at, q.len_delimited()?.rest()));
                    }
                    (_, w) => q.skip(w)?,
                }
            }
            match raw {
                None => Value::Null,
                Some((at, raw)) => serde_json::from_slice(raw)
                    .map_err(|e| r.error_at(at, format!("raw bytes are not JSON: {e}")))?,
            }
        }
        Ty::PropsOrArray(p) | Ty::PropsOrBool(p) | Ty::PropsOrStringArray(p) => {
            let props = message(p).ok_or_else(|| r.error_at(at, "corrupt table"))?;
            let mut q = r.len_delimited()?;
            let (mut allows, mut schema, mut list) = (false, None, Vec::new());
            while !q.is_empty() {
                let tag = q.tag()?;
                match (ty, tag) {
                    (Ty::PropsOrBool(_), (1, VARINT)) => allows = q.varint()? != 0,
                    (Ty::PropsOrBool(_), (2, LEN)) | (_, (1, LEN)) => {
                        schema = Some(Value::Object(decode_message(
                            props,
                            q.len_delimited()?,
                            depth + 1,
                        )?));
                    }
                    (Ty::PropsOrArray(_), (2, LEN)) => {
                        list.push(Value::Object(decode_message(
                            props,
                            q.len_delimited()?,
                            depth + 1,
                        )?));
                    }
                    (Ty::PropsOrStringArray(_), (2, LEN)) => list.push(Value::String(
                        String::from_utf8_lossy(q.len_delimited()?.rest()).into_owned(),
                    )),
                    (_, (_, w)) => q.skip(w)?,
                }
            }
            match ty {
                Ty::PropsOrBool(_) => schema.unwrap_or(Value::Bool(allows)),
                _ if !list.is_empty() => Value::Array(list),
                _ => schema.unwrap_or(Value::Null),
            }
        }
    })
}

fn float(f: f64, r: &Reader<'_>, at: usize) -> Result<Value, DecodeError> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| r.error_at(at, format!("{f} has no JSON form")))
}

fn map_entry(field: &Field, mut e: Reader<'_>, depth: u32) -> Result<(String, Value), DecodeError> {
    let mut key = String::new();
    let mut val = None;
    while !e.is_empty() {
        let at = e.offset();
        match e.tag()? {
            (1, LEN) => key = String::from_utf8_lossy(e.len_delimited()?.rest()).into_owned(),
            (2, w) => {
                if w != wire_of(field.ty) {
                    return Err(e.error_at(
                        at,
                        format!(
                            "a value of map {} has wire type {w}, expected {}",
                            field.json,
                            wire_of(field.ty)
                        ),
                    ));
                }
                val = Some(value(field.ty, &mut e, depth)?);
            }
            (_, w) => e.skip(w)?,
        }
    }
    let val = val.unwrap_or_else(|| match field.ty {
        Ty::Str | Ty::Bytes | Ty::Quantity => Value::String(if field.ty == Ty::Quantity {
            "0".into()
        } else {
            String::new()
        }),
        Ty::Bool => Value::Bool(false),
        Ty::Message(_) => Value::Object(Map::new()),
        Ty::I32 | Ty::I64 | Ty::F64 => Value::from(0),
        _ => Value::Null,
    });
    Ok((key, val))
}

// ---------------------------------------------------------------------------------------
// Encoding.

/// A JSON object that does not fit its message: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncodeError {
    /// The JSON path (`.spec.containers[0].ports`).
    pub path: String,
    /// What was wrong there.
    pub message: String,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            if self.path.is_empty() {
                "."
            } else {
                &self.path
            },
            self.message
        )
    }
}

impl std::error::Error for EncodeError {}

fn fail(path: &str, message: impl Into<String>) -> EncodeError {
    EncodeError {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// Encode a JSON object as its message (keys the message does not have are dropped, as
/// Go's JSON decoding into the typed object drops them).
pub(crate) fn encode(
    msg: &Msg,
    obj: &Map<String, Value>,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    encode_message(msg, obj, out, "", 0)
}

fn encode_message(
    msg: &Msg,
    obj: &Map<String, Value>,
    out: &mut Vec<u8>,
    path: &str,
    depth: u32,
) -> Result<(), EncodeError> {
    if depth > MAX_DEPTH {
        return Err(fail(
            path,
            format!("objects nested deeper than {MAX_DEPTH}"),
        ));
    }
    for &i in msg.wire_order {
        let Some(field) = msg.fields.get(usize::from(i)) else {
            continue;
        };
        let here = format!("{path}.{}", field.json);
        if field.is(flag::INLINE) {
            let Ty::Message(m) = field.ty else { continue };
            let inner = message(m).ok_or_else(|| fail(&here, "corrupt table"))?;
            let mut sub = Vec::new();
            encode_message(inner, obj, &mut sub, path, depth + 1)?;
            put_bytes(out, field.number, &sub);
            continue;
        }
        let v = match obj.get(field.json) {
            None | Some(Value::Null) => {
                if field.is(flag::REPEATED) || field.is(flag::MAP) {
                    // Nothing to send.
                } else if field.is(flag::VALUE) {
                    put_bytes(out, field.number, &[]);
                } else if field.is(flag::OMITEMPTY) {
                    put_zero(out, field);
                }
                continue;
            }
            Some(v) => v,
        };
        if field.is(flag::MAP) {
            let Value::Object(m) = v else {
                return Err(fail(&here, "expected an object"));
            };
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                let mut entry = Vec::new();
                put_bytes(&mut entry, 1, k.as_bytes());
                let item = &m[k.as_str()];
                if !item.is_null() {
                    put_value(
                        &mut entry,
                        2,
                        field.ty,
                        item,
                        &format!("{here}[{k:?}]"),
                        depth,
                    )?;
                }
                put_bytes(out, field.number, &entry);
            }
        } else if field.is(flag::REPEATED) {
            let Value::Array(items) = v else {
                return Err(fail(&here, "expected an array"));
            };
            for (n, item) in items.iter().enumerate() {
                let at = format!("{here}[{n}]");
                if item.is_null() && matches!(field.ty, Ty::Message(_)) {
                    put_bytes(out, field.number, &[]);
                    continue;
                }
                put_value(out, field.number, field.ty, item, &at, depth)?;
            }
        } else {
            put_value(out, field.number, field.ty, v, &here, depth)?;
        }
    }
    Ok(())
}

/// What Go writes for a value-held scalar that is zero.
fn put_zero(out: &mut Vec<u8>, field: &Field) {
    match field.ty {
        Ty::Str | Ty::Bytes => put_bytes(out, field.number, &[]),
        Ty::Bool | Ty::I32 | Ty::I64 => {
            put_tag(out, field.number, VARINT);
            put_varint(out, 0);
        }
        Ty::F64 => {
            put_tag(out, field.number, FIXED64);
            out.extend_from_slice(&[0; 8]);
        }
        _ => put_bytes(out, field.number, &[]),
    }
}

fn int(v: &Value, path: &str, min: i128, max: i128) -> Result<i128, EncodeError> {
    let n = match v {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 1e19)
                    .map(|f| f as i128)
            }),
        _ => None,
    }
    .ok_or_else(|| fail(path, format!("expected an integer, got {v}")))?;
    if n < min || n > max {
        return Err(fail(path, format!("{n} is out of range")));
    }
    Ok(n)
}

fn text<'v>(v: &'v Value, path: &str) -> Result<&'v str, EncodeError> {
    v.as_str()
        .ok_or_else(|| fail(path, format!("expected a string, got {v}")))
}

fn put_value(
    out: &mut Vec<u8>,
    number: u32,
    ty: Ty,
    v: &Value,
    path: &str,
    depth: u32,
) -> Result<(), EncodeError> {
    match ty {
        Ty::Str => put_bytes(out, number, text(v, path)?.as_bytes()),
        Ty::Bytes => {
            let raw = b64()
                .decode(text(v, path)?)
                .map_err(|e| fail(path, format!("not base64: {e}")))?;
            put_bytes(out, number, &raw);
        }
        Ty::Bool => {
            let b = v
                .as_bool()
                .ok_or_else(|| fail(path, format!("expected a bool, got {v}")))?;
            put_tag(out, number, VARINT);
            put_varint(out, u64::from(b));
        }
        Ty::I32 | Ty::I64 => {
            let (min, max) = match ty {
                Ty::I32 => (i128::from(i32::MIN), i128::from(i32::MAX)),
                _ => (i128::from(i64::MIN), i128::from(i64::MAX)),
            };
            let n = int(v, path, min, max)?;
            put_tag(out, number, VARINT);
            // Negative int32 and int64 are sign-extended to ten bytes, as protobuf says.
            put_varint(out, if n < 0 { n as i64 as u64 } else { n as u64 });
        }
        Ty::F64 => {
            let f = v
                .as_f64()
                .ok_or_else(|| fail(path, format!("expected a number, got {v}")))?;
            put_tag(out, number, FIXED64);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Ty::Message(m) => {
            let Value::Object(o) = v else {
                return Err(fail(path, format!("expected an object, got {v}")));
            };
            let msg = message(m).ok_or_else(|| fail(path, "corrupt table"))?;
            let mut sub = Vec::new();
            encode_message(msg, o, &mut sub, path, depth + 1)?;
            put_bytes(out, number, &sub);
        }
        Ty::Time | Ty::MicroTime => {
            let s = text(v, path)?;
            let (seconds, nanos) =
                time::parse(s).ok_or_else(|| fail(path, format!("not an RFC 3339 time: {s:?}")))?;
            let mut sub = Vec::new();
            put_tag(&mut sub, 1, VARINT);
            put_varint(&mut sub, seconds as u64);
            put_tag(&mut sub, 2, VARINT);
            put_varint(&mut sub, i64::from(nanos) as u64);
            put_bytes(out, number, &sub);
        }
        Ty::Quantity => {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(fail(path, format!("expected a quantity, got {v}"))),
            };
            let mut sub = Vec::new();
            put_bytes(&mut sub, 1, s.as_bytes());
            put_bytes(out, number, &sub);
        }
        Ty::IntOrString => {
            let mut sub = Vec::new();
            let (kind, n, s) = match v {
                Value::String(s) => (1, 0, s.as_str()),
                _ => (
                    0,
                    int(v, path, i128::from(i32::MIN), i128::from(i32::MAX))?,
                    "",
                ),
            };
            put_tag(&mut sub, 1, VARINT);
            put_varint(&mut sub, kind);
            put_tag(&mut sub, 2, VARINT);
            put_varint(&mut sub, n as i64 as u64);
            put_bytes(&mut sub, 3, s.as_bytes());
            put_bytes(out, number, &sub);
        }
        Ty::RawExtension | Ty::FieldsV1 | Ty::Json => {
            let raw = serde_json::to_vec(v).map_err(|e| fail(path, e.to_string()))?;
            let mut sub = Vec::new();
            put_bytes(&mut sub, 1, &raw);
            put_bytes(out, number, &sub);
        }
        Ty::PropsOrArray(p) | Ty::PropsOrBool(p) | Ty::PropsOrStringArray(p) => {
            let props = message(p).ok_or_else(|| fail(path, "corrupt table"))?;
            let mut sub = Vec::new();
            let schema_field = if matches!(ty, Ty::PropsOrBool(_)) {
                2
            } else {
                1
            };
            match (ty, v) {
                (Ty::PropsOrBool(_), Value::Bool(b)) => {
                    put_tag(&mut sub, 1, VARINT);
                    put_varint(&mut sub, u64::from(*b));
                }
                (_, Value::Object(o)) => {
                    if matches!(ty, Ty::PropsOrBool(_)) {
                        put_tag(&mut sub, 1, VARINT);
                        put_varint(&mut sub, 1);
                    }
                    let mut inner = Vec::new();
                    encode_message(props, o, &mut inner, path, depth + 1)?;
                    put_bytes(&mut sub, schema_field, &inner);
                }
                (Ty::PropsOrArray(_), Value::Array(items)) => {
                    for (n, item) in items.iter().enumerate() {
                        let at = format!("{path}[{n}]");
                        let Value::Object(o) = item else {
                            return Err(fail(&at, "expected an object"));
                        };
                        let mut inner = Vec::new();
                        encode_message(props, o, &mut inner, &at, depth + 1)?;
                        put_bytes(&mut sub, 2, &inner);
                    }
                }
                (Ty::PropsOrStringArray(_), Value::Array(items)) => {
                    for (n, item) in items.iter().enumerate() {
                        put_bytes(&mut sub, 2, text(item, &format!("{path}[{n}]"))?.as_bytes());
                    }
                }
                _ => return Err(fail(path, format!("unexpected {v}"))),
            }
            put_bytes(out, number, &sub);
        }
    }
    Ok(())
}
