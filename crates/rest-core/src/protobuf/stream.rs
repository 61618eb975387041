//! Protobuf answers read as they arrive: the items of a LIST one at a time (a list body is
//! one envelope whose `raw` is the list message, its items embedded messages in field 2),
//! and the frames of a watch (a 4-byte big-endian length, then a `metav1.WatchEvent`).
//! Both hold at most one item or event at a time, bounded like their JSON twins.

use bytes::{Buf, Bytes, BytesMut};

use super::meta::{
    MAGIC, Unknown, decode_bookmark, decode_envelope, decode_list_meta, decode_status,
};
use super::wire::{Reader, WireError, WireType};
use crate::error::{BoxError, Error, Result};
use crate::read::list::ListMeta;
use crate::read::watch::WatchEvent;

/// A varint at the start of `buf`: its value and length, `None` if it is not all there yet.
fn peek_varint(buf: &[u8], offset: u64) -> std::result::Result<Option<(u64, usize)>, WireError> {
    let mut value = 0u64;
    for i in 0..10 {
        let Some(&b) = buf.get(i) else {
            return Ok(None);
        };
        if i == 9 && b > 1 {
            break;
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    Err(WireError {
        offset,
        what: "a varint longer than 10 bytes".to_owned(),
    })
}

/// Where the list parser is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    Magic,
    /// Between the fields of the envelope.
    Envelope,
    /// Inside the list message (`raw`), with this many of its bytes still to come.
    List(u64),
    /// Discarding this many bytes of a field not wanted, then back to `then`.
    Skip(u64, Then),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    Envelope,
    List(u64),
}

/// What the list parser found.
pub(crate) enum Found {
    Item(Bytes, u64),
    Meta(ListMeta),
    TypeMeta(String, String),
}

/// Cuts a protobuf LIST body, pushed in pieces, into its items.
pub(crate) struct ListParser {
    buf: BytesMut,
    /// Offset of `buf[0]` in the body.
    consumed: u64,
    at: At,
    max: usize,
}

impl ListParser {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            consumed: 0,
            at: At::Magic,
            max,
        }
    }

    pub(crate) fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    fn advance(&mut self, n: usize) {
        self.buf.advance(n);
        self.consumed += n as u64;
    }

    fn err(&self, what: impl Into<String>) -> WireError {
        WireError {
            offset: self.consumed,
            what: what.into(),
        }
    }

    /// A field's tag and (for length-delimited fields) length, if all there.
    fn header(&self) -> std::result::Result<Option<(u32, WireType, u64, usize)>, WireError> {
        let Some((key, n)) = peek_varint(&self.buf, self.consumed)? else {
            return Ok(None);
        };
        let field = u32::try_from(key >> 3).unwrap_or(0);
        if field == 0 {
            return Err(self.err("a field number of 0 or past 2^32"));
        }
        let wire = match key & 7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::Len,
            5 => WireType::Fixed32,
            t => return Err(self.err(format!("unsupported wire type {t}"))),
        };
        let (len, m) = match wire {
            WireType::Len => match peek_varint(&self.buf[n..], self.consumed + n as u64)? {
                Some(v) => v,
                None => return Ok(None),
            },
            WireType::Varint => match peek_varint(&self.buf[n..], self.consumed + n as u64)? {
                // The value itself is skipped as the "header".
                Some((_, m)) => (0, m),
                None => return Ok(None),
            },
            WireType::Fixed64 => (8, 0),
            WireType::Fixed32 => (4, 0),
        };
        Ok(Some((field, wire, len, n + m)))
    }

    /// The next item or member, `None` when more bytes are needed.
    pub(crate) fn next(&mut self) -> std::result::Result<Option<Found>, WireError> {
        loop {
            match self.at {
                At::Magic => {
                    if self.buf.len() < MAGIC.len() {
                        return Ok(None);
                    }
                    if self.buf[..MAGIC.len()] != MAGIC {
                        return Err(
                            self.err("the body does not start with the protobuf magic k8s\\0")
                        );
                    }
                    self.advance(MAGIC.len());
                    self.at = At::Envelope;
                }
                At::Skip(0, then) => {
                    self.at = match then {
                        Then::Envelope => At::Envelope,
                        Then::List(left) => At::List(left),
                    };
                }
                At::Skip(n, then) => {
                    if self.buf.is_empty() {
                        return Ok(None);
                    }
                    let take = (n as usize).min(self.buf.len());
                    self.advance(take);
                    self.at = At::Skip(n - take as u64, then);
                }
                At::Envelope => {
                    if self.buf.is_empty() {
                        return Ok(None);
                    }
                    let Some((field, wire, len, head)) = self.header()? else {
                        return Ok(None);
                    };
                    match (field, wire) {
                        (2, WireType::Len) => {
                            self.advance(head);
                            self.at = At::List(len);
                        }
                        (1, WireType::Len) => {
                            let Some(bytes) = self.whole(head, len, "the list's typeMeta")? else {
                                return Ok(None);
                            };
                            let (api_version, kind) = type_meta(&bytes, self.consumed - len)?;
                            return Ok(Some(Found::TypeMeta(api_version, kind)));
                        }
                        _ => {
                            self.advance(head);
                            self.at = At::Skip(skip_len(wire, len), Then::Envelope);
                        }
                    }
                }
                At::List(0) => self.at = At::Envelope,
                At::List(left) => {
                    let Some((field, wire, len, head)) = self.header()? else {
                        return Ok(None);
                    };
                    let size = head as u64 + skip_len(wire, len);
                    if size > left {
                        return Err(self.err(format!(
                            "a field of {size} bytes inside a list message with {left} left"
                        )));
                    }
                    let rest = left - size;
                    match (field, wire) {
                        (1, WireType::Len) => {
                            let Some(bytes) = self.whole(head, len, "the list's metadata")? else {
                                return Ok(None);
                            };
                            self.at = At::List(rest);
                            let meta = decode_list_meta(&bytes, self.consumed - len)?;
                            return Ok(Some(Found::Meta(meta)));
                        }
                        (2, WireType::Len) => {
                            let Some(bytes) = self.whole(head, len, "one item")? else {
                                return Ok(None);
                            };
                            self.at = At::List(rest);
                            return Ok(Some(Found::Item(bytes, self.consumed - len)));
                        }
                        _ => {
                            self.advance(head);
                            self.at = At::Skip(skip_len(wire, len), Then::List(rest));
                        }
                    }
                }
            }
        }
    }

    /// A length-delimited field of `len` bytes after a `head`-byte header, once it is all
    /// there; an error if it is larger than the limit.
    fn whole(
        &mut self,
        head: usize,
        len: u64,
        what: &str,
    ) -> std::result::Result<Option<Bytes>, WireError> {
        if len > self.max as u64 {
            return Err(self.err(format!(
                "{what} is {len} bytes, larger than the limit of {} bytes",
                self.max
            )));
        }
        let len = len as usize;
        if self.buf.len() < head + len {
            self.buf.reserve(head + len - self.buf.len());
            return Ok(None);
        }
        self.advance(head);
        let bytes = self.buf.split_to(len).freeze();
        self.consumed += len as u64;
        Ok(Some(bytes))
    }

    /// At the end of the body: an error unless it ended between fields of the envelope.
    pub(crate) fn finish(&self) -> std::result::Result<(), WireError> {
        match self.at {
            At::Envelope if self.buf.is_empty() => Ok(()),
            At::Magic if self.buf.is_empty() && self.consumed == 0 => {
                Err(self.err("the body is empty"))
            }
            _ => Err(self.err(format!(
                "the body ended in the middle of a message ({} bytes left over)",
                self.buf.len()
            ))),
        }
    }
}

fn skip_len(wire: WireType, len: u64) -> u64 {
    match wire {
        WireType::Len | WireType::Fixed32 | WireType::Fixed64 => len,
        WireType::Varint => 0,
    }
}

fn type_meta(raw: &[u8], base: u64) -> std::result::Result<(String, String), WireError> {
    let mut r = Reader::new(raw, base);
    let (mut api_version, mut kind) = (String::new(), String::new());
    while let Some((f, w)) = r.tag()? {
        match (f, w) {
            (1, WireType::Len) => api_version = r.string()?,
            (2, WireType::Len) => kind = r.string()?,
            (_, w) => r.skip(w)?,
        }
    }
    Ok((api_version, kind))
}

/// Cuts a protobuf watch body into frames: a 4-byte big-endian length, then that many
/// bytes.
pub(crate) struct FrameReader {
    buf: BytesMut,
    consumed: u64,
    max: usize,
}

impl FrameReader {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            consumed: 0,
            max,
        }
    }

    pub(crate) fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole frame and its offset, `None` when more bytes are needed.
    pub(crate) fn next(&mut self) -> std::result::Result<Option<(Bytes, u64)>, WireError> {
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
        if len > self.max {
            return Err(WireError {
                offset: self.consumed,
                what: format!(
                    "a watch frame of {len} bytes, larger than the limit of {} bytes",
                    self.max
                ),
            });
        }
        if self.buf.len() < 4 + len {
            self.buf.reserve(4 + len - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(4);
        let frame = self.buf.split_to(len).freeze();
        let at = self.consumed + 4;
        self.consumed += 4 + len as u64;
        Ok(Some((frame, at)))
    }

    pub(crate) fn finish(&self) -> std::result::Result<(), WireError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(WireError {
                offset: self.consumed,
                what: format!(
                    "the watch ended in the middle of a frame ({} bytes left over)",
                    self.buf.len()
                ),
            })
        }
    }
}

/// Decodes one watch frame (`metav1.WatchEvent`): its type, and its object through
/// `decode` (a BOOKMARK's resourceVersion and an ERROR's `Status` are read here).
pub(crate) fn decode_event<T>(
    url: &str,
    frame: &Bytes,
    at: u64,
    decode: &mut impl FnMut(&Unknown) -> std::result::Result<T, BoxError>,
) -> Result<WatchEvent<T>> {
    let wire = |e: WireError| super::wire_error(url, frame, at, e);
    let mut r = Reader::new(frame, at);
    let (mut kind, mut object) = (String::new(), None);
    while let Some((f, w)) = r.tag().map_err(wire)? {
        match (f, w) {
            (1, WireType::Len) => kind = r.string().map_err(wire)?,
            (2, WireType::Len) => {
                // A RawExtension: its `raw` (field 1) is the object in its own envelope.
                let (bytes, base) = r.bytes().map_err(wire)?;
                let mut x = Reader::new(bytes, base);
                while let Some((f, w)) = x.tag().map_err(wire)? {
                    if (f, w) == (1, WireType::Len) {
                        let (raw, raw_at) = x.bytes().map_err(wire)?;
                        object = Some((frame.slice_ref(raw), raw_at));
                    } else {
                        x.skip(w).map_err(wire)?;
                    }
                }
            }
            (_, w) => r.skip(w).map_err(wire)?,
        }
    }
    let Some((raw, raw_at)) = object else {
        return Err(wire(WireError {
            offset: at,
            what: format!("a {kind:?} watch event without an object"),
        }));
    };
    let unknown = decode_envelope(&raw, raw_at).map_err(wire)?;
    let object = |decode: &mut dyn FnMut(&Unknown) -> std::result::Result<T, BoxError>| {
        decode(&unknown).map_err(|source| Error::Decode {
            url: url.to_owned(),
            body_excerpt: String::new(),
            offset: Some(raw_at),
            source,
        })
    };
    match kind.as_str() {
        "ADDED" => Ok(WatchEvent::Added(object(decode)?)),
        "MODIFIED" => Ok(WatchEvent::Modified(object(decode)?)),
        "DELETED" => Ok(WatchEvent::Deleted(object(decode)?)),
        "BOOKMARK" => Ok(WatchEvent::Bookmark(
            decode_bookmark(&unknown.raw, raw_at).map_err(wire)?,
        )),
        "ERROR" if unknown.kind == "Status" => {
            let mut status = decode_status(&unknown.raw, raw_at).map_err(wire)?;
            if status.reason.is_empty() && status.code == 410 {
                status.reason = "Expired".to_owned();
            }
            Err(Error::Api(Box::new(status)))
        }
        "ERROR" => Err(Error::Api(Box::new(crate::status::Status::failure(
            500,
            "InternalError",
            format!(
                "the watch sent an ERROR event whose object is a {:?}, not a Status",
                unknown.kind
            ),
        )))),
        other => Err(wire(WireError {
            offset: at,
            what: format!("an unknown watch event type {other:?}"),
        })),
    }
}
