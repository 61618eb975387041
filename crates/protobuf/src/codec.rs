//! The two traits every codec implements and the field helpers the generated code calls.
//!
//! [`Message`] is a type with a protobuf message of its own (`Pod`, `PodSpec`,
//! `ObjectMeta`); [`Value`] is anything a field can hold: a message, or a scalar
//! (`string`, `int32`, `int64`, `bool`, `double`, `bytes`), or one of apimachinery's
//! special types whose absence is spelled by an empty message (`Time`, `RawExtension`).
//! The helpers below put one field's value into the slot the generated decoder keeps for
//! it, following the field's shape in k8s-openapi (`T`, `Option<T>`, `Vec<T>`,
//! `BTreeMap<String, T>`), and write it back out the way kube-apiserver (Go) writes it.

use std::collections::BTreeMap;

use crate::DecodeOptions;
use crate::error::DecodeError;
use crate::wire::{self, Reader, WireType};

pub(crate) type Result<T> = std::result::Result<T, DecodeError>;

/// A type with a protobuf message of its own.
pub trait Message: Sized {
    /// Decodes the message from `r`, which holds exactly its bytes.
    ///
    /// # Errors
    /// Malformed bytes, named by their offset.
    fn decode_message(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Self>;

    /// Appends the message's fields (not a tag or length of its own).
    fn encode_message(&self, out: &mut Vec<u8>);

    /// Decodes the message into `self`: the fields that arrive replace (or, for embedded
    /// messages, merge into) the ones `self` has, as protobuf merges a message that
    /// arrives twice.
    ///
    /// # Errors
    /// Malformed bytes, named by their offset.
    #[inline]
    fn merge_message(&mut self, r: &mut Reader<'_>, o: &DecodeOptions) -> Result<()> {
        *self = Self::decode_message(r, o)?;
        Ok(())
    }

    /// Decodes the message into an optional field.
    ///
    /// # Errors
    /// Malformed bytes, named by their offset.
    #[inline]
    fn merge_option(slot: &mut Option<Self>, r: &mut Reader<'_>, o: &DecodeOptions) -> Result<()> {
        match slot {
            Some(v) => v.merge_message(r, o),
            None => {
                *slot = Some(Self::decode_message(r, o)?);
                Ok(())
            }
        }
    }

    /// Decodes the message as a new last element of a list.
    ///
    /// # Errors
    /// Malformed bytes, named by their offset.
    #[inline]
    fn push_decoded(list: &mut Vec<Self>, r: &mut Reader<'_>, o: &DecodeOptions) -> Result<()> {
        list.push(Self::decode_message(r, o)?);
        Ok(())
    }
}

/// The [`Message`] methods of a type with `Default`, which decodes in place: into
/// `Self::default()`, into an `Option`'s value, into a new last element of a `Vec`, so
/// that no decoded struct is moved after it is built. The type writes `merge_message`.
macro_rules! in_place {
    () => {
        #[inline]
        fn decode_message(
            r: &mut $crate::wire::Reader<'_>,
            o: &$crate::DecodeOptions,
        ) -> $crate::codec::Result<Self> {
            let mut this = Self::default();
            this.merge_message(r, o)?;
            Ok(this)
        }

        #[inline]
        fn merge_option(
            slot: &mut Option<Self>,
            r: &mut $crate::wire::Reader<'_>,
            o: &$crate::DecodeOptions,
        ) -> $crate::codec::Result<()> {
            slot.get_or_insert_with(Self::default).merge_message(r, o)
        }

        #[inline]
        fn push_decoded(
            list: &mut Vec<Self>,
            r: &mut $crate::wire::Reader<'_>,
            o: &$crate::DecodeOptions,
        ) -> $crate::codec::Result<()> {
            list.push(Self::default());
            match list.last_mut() {
                Some(last) => last.merge_message(r, o),
                None => Ok(()),
            }
        }
    };
}
pub(crate) use in_place;

/// What a field can hold.
pub trait Value: Sized {
    /// The wire type of the field's value.
    const WIRE: WireType;

    /// Whether an empty message decodes to `None` (a zero `Time`, a `RawExtension`
    /// without bytes), so that `None` can be written as Go writes it: an empty message.
    const EMPTY_IS_NONE: bool = false;

    /// Decodes one value (its tag read and its wire type checked).
    ///
    /// # Errors
    /// Malformed bytes, named by their offset.
    fn decode_value(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Self>;

    /// Decodes one value of an optional field: `None` where Go's JSON would write `null`
    /// (an empty `Time`, a `RawExtension` without bytes).
    ///
    /// # Errors
    /// Malformed bytes, named by their offset.
    #[inline]
    fn decode_option(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Option<Self>> {
        Self::decode_value(r, o).map(Some)
    }

    /// Appends the field: its tag, then its value.
    fn encode_field(&self, field: u32, out: &mut Vec<u8>);

    /// Decodes one value into a field that already holds one (a message merges).
    ///
    /// # Errors
    /// Malformed bytes, named by their offset.
    #[inline]
    fn merge_value(slot: &mut Self, r: &mut Reader<'_>, o: &DecodeOptions) -> Result<()> {
        *slot = Self::decode_value(r, o)?;
        Ok(())
    }

    /// Decodes one value of an optional field into it.
    ///
    /// # Errors
    /// Malformed bytes, named by their offset.
    #[inline]
    fn merge_option(slot: &mut Option<Self>, r: &mut Reader<'_>, o: &DecodeOptions) -> Result<()> {
        *slot = Self::decode_option(r, o)?;
        Ok(())
    }

    /// Decodes one value as a new last element of a list.
    ///
    /// # Errors
    /// Malformed bytes, named by their offset.
    #[inline]
    fn push_value(list: &mut Vec<Self>, r: &mut Reader<'_>, o: &DecodeOptions) -> Result<()> {
        list.push(Self::decode_value(r, o)?);
        Ok(())
    }
}

impl<T: Message> Value for T {
    const WIRE: WireType = WireType::Len;

    #[inline]
    fn decode_value(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Self> {
        let mut sub = r.message()?;
        T::decode_message(&mut sub, o)
    }

    #[inline]
    fn encode_field(&self, field: u32, out: &mut Vec<u8>) {
        wire::put_len_delimited(out, field, |out| self.encode_message(out));
    }

    #[inline]
    fn merge_value(slot: &mut Self, r: &mut Reader<'_>, o: &DecodeOptions) -> Result<()> {
        let mut sub = r.message()?;
        slot.merge_message(&mut sub, o)
    }

    #[inline]
    fn merge_option(slot: &mut Option<Self>, r: &mut Reader<'_>, o: &DecodeOptions) -> Result<()> {
        let mut sub = r.message()?;
        T::merge_option(slot, &mut sub, o)
    }

    #[inline]
    fn push_value(list: &mut Vec<Self>, r: &mut Reader<'_>, o: &DecodeOptions) -> Result<()> {
        let mut sub = r.message()?;
        T::push_decoded(list, &mut sub, o)
    }
}

/// A scalar's zero value, which a Go field that is neither a pointer nor a slice holds
/// when unset: JSON omits it (`omitempty`), protobuf sends it.
pub trait Zero: Default {
    /// Whether this is the zero value.
    fn is_zero(&self) -> bool;
}

impl Value for String {
    const WIRE: WireType = WireType::Len;

    #[inline]
    fn decode_value(r: &mut Reader<'_>, _: &DecodeOptions) -> Result<Self> {
        r.str().map(str::to_owned)
    }

    #[inline]
    fn encode_field(&self, field: u32, out: &mut Vec<u8>) {
        wire::put_bytes(out, field, self.as_bytes());
    }
}

impl Zero for String {
    fn is_zero(&self) -> bool {
        self.is_empty()
    }
}

impl Value for bool {
    const WIRE: WireType = WireType::Varint;

    #[inline]
    fn decode_value(r: &mut Reader<'_>, _: &DecodeOptions) -> Result<Self> {
        r.varint().map(|v| v != 0)
    }

    #[inline]
    fn encode_field(&self, field: u32, out: &mut Vec<u8>) {
        wire::put_tag(out, field, WireType::Varint);
        wire::put_varint(out, u64::from(*self));
    }
}

impl Zero for bool {
    fn is_zero(&self) -> bool {
        !*self
    }
}

impl Value for i32 {
    const WIRE: WireType = WireType::Varint;

    #[inline]
    fn decode_value(r: &mut Reader<'_>, _: &DecodeOptions) -> Result<Self> {
        // An int32 is sent as the 64-bit varint of its sign extension; Go keeps the low
        // 32 bits of whatever arrives, and so do we.
        r.varint().map(|v| v as i32)
    }

    #[inline]
    fn encode_field(&self, field: u32, out: &mut Vec<u8>) {
        wire::put_tag(out, field, WireType::Varint);
        wire::put_varint(out, i64::from(*self) as u64);
    }
}

impl Zero for i32 {
    fn is_zero(&self) -> bool {
        *self == 0
    }
}

impl Value for i64 {
    const WIRE: WireType = WireType::Varint;

    #[inline]
    fn decode_value(r: &mut Reader<'_>, _: &DecodeOptions) -> Result<Self> {
        r.varint().map(|v| v as i64)
    }

    #[inline]
    fn encode_field(&self, field: u32, out: &mut Vec<u8>) {
        wire::put_tag(out, field, WireType::Varint);
        wire::put_varint(out, *self as u64);
    }
}

impl Zero for i64 {
    fn is_zero(&self) -> bool {
        *self == 0
    }
}

impl Value for f64 {
    const WIRE: WireType = WireType::Fixed64;

    #[inline]
    fn decode_value(r: &mut Reader<'_>, _: &DecodeOptions) -> Result<Self> {
        r.fixed64().map(f64::from_bits)
    }

    #[inline]
    fn encode_field(&self, field: u32, out: &mut Vec<u8>) {
        wire::put_tag(out, field, WireType::Fixed64);
        out.extend_from_slice(&self.to_bits().to_le_bytes());
    }
}

impl Zero for f64 {
    fn is_zero(&self) -> bool {
        *self == 0.0
    }
}

impl Value for k8s_openapi::ByteString {
    const WIRE: WireType = WireType::Len;

    #[inline]
    fn decode_value(r: &mut Reader<'_>, _: &DecodeOptions) -> Result<Self> {
        r.bytes().map(|b| Self(b.to_vec()))
    }

    #[inline]
    fn encode_field(&self, field: u32, out: &mut Vec<u8>) {
        wire::put_bytes(out, field, &self.0);
    }
}

impl Zero for k8s_openapi::ByteString {
    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: Message> Message for Box<T> {
    #[inline]
    fn decode_message(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Self> {
        T::decode_message(r, o).map(Box::new)
    }

    #[inline]
    fn encode_message(&self, out: &mut Vec<u8>) {
        (**self).encode_message(out);
    }
}

// ---- decoding: one field's value into its slot ----

/// A field k8s-openapi requires (`T`): the value as it arrives.
///
/// # Errors
/// A wrong wire type or malformed value.
#[inline]
pub fn req<T: Value>(
    slot: &mut T,
    r: &mut Reader<'_>,
    w: WireType,
    o: &DecodeOptions,
) -> Result<()> {
    r.expect(w, T::WIRE)?;
    T::merge_value(slot, r, o)
}

/// An optional field (`Option<T>`) whose presence is what Go's JSON shows: a pointer in
/// Go, a message, or a field Go's JSON always writes.
///
/// # Errors
/// A wrong wire type or malformed value.
#[inline]
pub fn opt<T: Value>(
    slot: &mut Option<T>,
    r: &mut Reader<'_>,
    w: WireType,
    o: &DecodeOptions,
) -> Result<()> {
    r.expect(w, T::WIRE)?;
    T::merge_option(slot, r, o)
}

/// An optional scalar that Go holds by value and its JSON omits when zero
/// (`json:",omitempty"`): protobuf sends the zero, which is `None` here as in JSON.
///
/// # Errors
/// A wrong wire type or malformed value.
#[inline]
pub fn opt_nonzero<T: Value + Zero>(
    slot: &mut Option<T>,
    r: &mut Reader<'_>,
    w: WireType,
    o: &DecodeOptions,
) -> Result<()> {
    r.expect(w, T::WIRE)?;
    let v = T::decode_value(r, o)?;
    *slot = if v.is_zero() { None } else { Some(v) };
    Ok(())
}

/// One element of a repeated field, or several when numbers arrive packed.
///
/// # Errors
/// A wrong wire type or malformed value.
#[inline]
pub fn rep<T: Value>(
    slot: &mut Vec<T>,
    r: &mut Reader<'_>,
    w: WireType,
    o: &DecodeOptions,
) -> Result<()> {
    if T::WIRE != WireType::Len && w == WireType::Len {
        // Packed numbers: one length-delimited run. Proto2 senders (Go) do not pack, but
        // a decoder must accept both.
        let mut run = r.message()?;
        while !run.is_empty() {
            slot.push(T::decode_value(&mut run, o)?);
        }
        return Ok(());
    }
    r.expect(w, T::WIRE)?;
    if slot.is_empty() && T::WIRE == WireType::Len {
        // Sized once for the elements that follow (at most this many reserved ahead, so
        // that a body of many tiny elements cannot reserve more than it could decode).
        slot.reserve_exact(r.run_length().min(MAX_RESERVED));
    }
    T::push_value(slot, r, o)
}

/// The most elements of a repeated field reserved ahead of decoding them.
const MAX_RESERVED: usize = 1024;

/// One element of an optional repeated field (`Option<Vec<T>>`, `None` when no element
/// arrives, as Go's JSON omits an empty list). An empty packed run adds no element and
/// leaves the field `None`, as Go leaves the slice nil (it was `Some([])`, which its JSON
/// twin never is and which encoding drops; found by the `protobuf` fuzz target).
///
/// # Errors
/// A wrong wire type or malformed value.
#[inline]
pub fn opt_rep<T: Value>(
    slot: &mut Option<Vec<T>>,
    r: &mut Reader<'_>,
    w: WireType,
    o: &DecodeOptions,
) -> Result<()> {
    let list = slot.get_or_insert_with(Vec::new);
    let result = rep(list, r, w, o);
    if list.is_empty() {
        *slot = None;
    }
    result
}

/// One entry of a map field: a message with the key in field 1 and the value in field 2,
/// either of which may be missing. A repeated key replaces the earlier value, as in Go.
#[inline]
fn entry<V>(
    r: &mut Reader<'_>,
    w: WireType,
    o: &DecodeOptions,
    mut value: impl FnMut(&mut Option<V>, &mut Reader<'_>, WireType) -> Result<()>,
) -> Result<(String, Option<V>)> {
    r.expect(w, WireType::Len)?;
    let mut entry = r.message()?;
    let mut key = String::new();
    let mut v = None;
    while let Some((field, w)) = entry.field()? {
        match field {
            1 => req(&mut key, &mut entry, w, o)?,
            2 => value(&mut v, &mut entry, w)?,
            _ => entry.skip(w)?,
        }
    }
    Ok((key, v))
}

/// One entry of a map field; a missing value is the zero value, as in Go.
///
/// # Errors
/// A wrong wire type or malformed entry.
#[inline]
pub fn map<V: Value + Default>(
    slot: &mut BTreeMap<String, V>,
    r: &mut Reader<'_>,
    w: WireType,
    o: &DecodeOptions,
) -> Result<()> {
    let (key, value) = entry(r, w, o, |v, r, w| {
        r.expect(w, V::WIRE)?;
        *v = Some(V::decode_value(r, o)?);
        Ok(())
    })?;
    slot.insert(key, value.unwrap_or_default());
    Ok(())
}

/// One entry of an optional map field (`None` when no entry arrives).
///
/// # Errors
/// A wrong wire type or malformed entry.
#[inline]
pub fn opt_map<V: Value + Default>(
    slot: &mut Option<BTreeMap<String, V>>,
    r: &mut Reader<'_>,
    w: WireType,
    o: &DecodeOptions,
) -> Result<()> {
    map(slot.get_or_insert_with(BTreeMap::new), r, w, o)
}

/// One entry of an optional map whose values have no zero (a JSON-schema union): a
/// missing or empty value is an error, as `null` is in JSON.
///
/// # Errors
/// A wrong wire type, a malformed entry or a missing value.
#[inline]
pub fn opt_map_strict<V: Value>(
    slot: &mut Option<BTreeMap<String, V>>,
    r: &mut Reader<'_>,
    w: WireType,
    o: &DecodeOptions,
) -> Result<()> {
    let (key, value) = entry(r, w, o, |v, r, w| {
        r.expect(w, V::WIRE)?;
        *v = Some(V::decode_value(r, o)?);
        Ok(())
    })?;
    let value = required(value, r, "value")?;
    slot.get_or_insert_with(BTreeMap::new).insert(key, value);
    Ok(())
}

/// A Go named slice (`Verbs`) sent as a message of its own: its items, in field 1.
///
/// # Errors
/// A wrong wire type or malformed items.
#[inline]
pub fn items<T: Value>(
    slot: &mut Vec<T>,
    r: &mut Reader<'_>,
    w: WireType,
    o: &DecodeOptions,
) -> Result<()> {
    r.expect(w, WireType::Len)?;
    let mut msg = r.message()?;
    while let Some((field, w)) = msg.field()? {
        match field {
            1 => rep(slot, &mut msg, w, o)?,
            _ => msg.skip(w)?,
        }
    }
    Ok(())
}

/// One entry of an optional map whose values are Go named slices (`ExtraValue`).
///
/// # Errors
/// A wrong wire type or malformed entry.
#[inline]
pub fn opt_map_items<T: Value>(
    slot: &mut Option<BTreeMap<String, Vec<T>>>,
    r: &mut Reader<'_>,
    w: WireType,
    o: &DecodeOptions,
) -> Result<()> {
    let (key, value) = entry(r, w, o, |v: &mut Option<Vec<T>>, r, w| {
        items(v.get_or_insert_with(Vec::new), r, w, o)
    })?;
    slot.get_or_insert_with(BTreeMap::new)
        .insert(key, value.unwrap_or_default());
    Ok(())
}

/// A value k8s-openapi requires but cannot default (a `Time`), once all fields are read.
///
/// # Errors
/// [`MissingField`](crate::DecodeErrorKind::MissingField) at `r`'s end when it never
/// arrived.
#[inline]
pub fn required<T>(slot: Option<T>, r: &Reader<'_>, name: &'static str) -> Result<T> {
    match slot {
        Some(v) => Ok(v),
        None => Err(DecodeError::new(
            crate::DecodeErrorKind::MissingField(name),
            r.offset(),
        )),
    }
}

// ---- encoding: one field as Go writes it ----

/// A field k8s-openapi requires: always written, zero or not (Go writes every field it
/// holds by value).
#[inline]
pub fn put_req<T: Value>(out: &mut Vec<u8>, field: u32, v: &T) {
    v.encode_field(field, out);
}

/// An optional field: written when `Some`.
#[inline]
pub fn put_opt<T: Value>(out: &mut Vec<u8>, field: u32, v: &Option<T>) {
    if let Some(v) = v {
        v.encode_field(field, out);
    }
}

/// An optional scalar Go holds by value: written always, the zero value for `None`, as Go
/// writes it.
#[inline]
pub fn put_opt_or_zero<T: Value + Zero>(out: &mut Vec<u8>, field: u32, v: &Option<T>) {
    match v {
        Some(v) => v.encode_field(field, out),
        None => T::default().encode_field(field, out),
    }
}

/// An optional message Go holds by value: written when `Some`, and as the empty message
/// Go writes when `None` means empty (a zero `Time`).
#[inline]
pub fn put_opt_or_empty<T: Value>(out: &mut Vec<u8>, field: u32, v: &Option<T>) {
    match v {
        Some(v) => v.encode_field(field, out),
        None if T::EMPTY_IS_NONE => {
            wire::put_tag(out, field, WireType::Len);
            out.push(0);
        }
        None => {}
    }
}

/// A repeated field: one field per element, unpacked, as proto2 senders write them.
#[inline]
pub fn put_rep<T: Value>(out: &mut Vec<u8>, field: u32, v: &[T]) {
    for v in v {
        v.encode_field(field, out);
    }
}

/// An optional repeated field.
#[inline]
pub fn put_opt_rep<T: Value>(out: &mut Vec<u8>, field: u32, v: &Option<Vec<T>>) {
    if let Some(v) = v {
        put_rep(out, field, v);
    }
}

/// A map field: one entry message per key, in key order (as Go sorts them), key and value
/// always written.
#[inline]
pub fn put_map<V: Value>(out: &mut Vec<u8>, field: u32, v: &BTreeMap<String, V>) {
    for (key, value) in v {
        wire::put_len_delimited(out, field, |out| {
            key.encode_field(1, out);
            value.encode_field(2, out);
        });
    }
}

/// An optional map field.
#[inline]
pub fn put_opt_map<V: Value>(out: &mut Vec<u8>, field: u32, v: &Option<BTreeMap<String, V>>) {
    if let Some(v) = v {
        put_map(out, field, v);
    }
}

/// A Go named slice sent as a message of its own: written when it has items.
#[inline]
pub fn put_items<T: Value>(out: &mut Vec<u8>, field: u32, v: &[T]) {
    if !v.is_empty() {
        wire::put_len_delimited(out, field, |out| put_rep(out, 1, v));
    }
}

/// An optional map whose values are Go named slices.
#[inline]
pub fn put_opt_map_items<T: Value>(
    out: &mut Vec<u8>,
    field: u32,
    v: &Option<BTreeMap<String, Vec<T>>>,
) {
    for (key, value) in v.iter().flatten() {
        wire::put_len_delimited(out, field, |out| {
            key.encode_field(1, out);
            wire::put_len_delimited(out, 2, |out| put_rep(out, 1, value));
        });
    }
}

/// An embedded message written field by field (a Go struct embedded with
/// `json:",inline"`, whose fields k8s-openapi flattens into the outer type).
#[inline]
pub fn put_message(out: &mut Vec<u8>, field: u32, body: impl FnOnce(&mut Vec<u8>)) {
    wire::put_len_delimited(out, field, body);
}
