//! The protobuf wire format (<https://protobuf.dev/programming-guides/encoding/>): a
//! zero-copy [`Reader`] over a borrowed slice and the few writers the encoders need.
//!
//! Every length is checked against what its enclosing message has left before it is used,
//! so a bogus length (past the end, 4 GiB) is an error at its offset — never a panic, never
//! an allocation. Nothing is preallocated from a length read off the wire; the only
//! allocations are the strings and byte strings themselves, after their length has been
//! checked against the bytes that hold them.

use crate::error::{DecodeError, DecodeErrorKind};

/// How deep embedded messages may nest before decoding stops with
/// [`DecodeErrorKind::TooDeep`]: deeper than any Kubernetes object (a JSON schema nests
/// one message per level), shallow enough that a hostile message cannot exhaust the stack.
pub const MAX_DEPTH: u32 = 100;

/// A field's wire type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum WireType {
    /// Integers and booleans.
    Varint = 0,
    /// `double`, `fixed64`.
    Fixed64 = 1,
    /// Strings, bytes, embedded messages, packed repeated numbers.
    Len = 2,
    /// `float`, `fixed32`.
    Fixed32 = 5,
}

/// Reads one message: the bytes `buf[pos..end]`. Offsets in errors count from the start of
/// `buf`, the buffer the caller handed in, however deep the message is nested.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
    /// Where the last tag started, for errors about its field.
    tag_pos: usize,
    depth: u32,
}

type Result<T> = std::result::Result<T, DecodeError>;

impl<'a> Reader<'a> {
    /// A reader of the whole of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            end: buf.len(),
            tag_pos: 0,
            depth: 0,
        }
    }

    /// A reader of `buf[start..end]` (offsets still count from the start of `buf`).
    pub(crate) fn range(buf: &'a [u8], start: usize, end: usize) -> Self {
        let end = end.min(buf.len());
        Self {
            buf,
            pos: start.min(end),
            end,
            tag_pos: start,
            depth: 0,
        }
    }

    /// The offset of the next byte to read, from the start of the outermost buffer.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Whether the message has been read to its end.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.end
    }

    /// An error of `kind` at `offset`.
    #[cold]
    pub fn error(kind: DecodeErrorKind, offset: usize) -> DecodeError {
        DecodeError::new(kind, offset)
    }

    /// The next field's number and wire type; `None` at the end of the message.
    ///
    /// # Errors
    /// A truncated or overlong tag, field number 0 or above 2^29-1, a group or undefined
    /// wire type.
    #[inline(always)]
    pub fn field(&mut self) -> Result<Option<(u32, WireType)>> {
        if self.pos >= self.end {
            return Ok(None);
        }
        self.tag_pos = self.pos;
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 || number > 0x1FFF_FFFF {
            return Err(Self::error(
                DecodeErrorKind::BadFieldNumber(number),
                self.tag_pos,
            ));
        }
        let wire = match key & 7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::Len,
            5 => WireType::Fixed32,
            other => {
                // `other` is at most 7.
                return Err(Self::error(
                    DecodeErrorKind::BadWireType(other as u8),
                    self.tag_pos,
                ));
            }
        };
        // `number` is at most 2^29-1.
        Ok(Some((number as u32, wire)))
    }

    /// Checks that the field just read has the wire type its type needs.
    ///
    /// # Errors
    /// [`DecodeErrorKind::WrongWireType`] at the field's tag.
    #[inline]
    pub fn expect(&self, found: WireType, expected: WireType) -> Result<()> {
        if found == expected {
            Ok(())
        } else {
            Err(self.wrong_wire_type(found, expected))
        }
    }

    #[cold]
    fn wrong_wire_type(&self, found: WireType, expected: WireType) -> DecodeError {
        // Re-read the field number from the tag for the message.
        let mut tag = Reader {
            buf: self.buf,
            pos: self.tag_pos,
            end: self.end,
            tag_pos: self.tag_pos,
            depth: self.depth,
        };
        let field = tag.varint().map_or(0, |k| (k >> 3) as u32);
        Self::error(
            DecodeErrorKind::WrongWireType {
                field,
                expected: expected as u8,
                found: found as u8,
            },
            self.tag_pos,
        )
    }

    /// A varint.
    ///
    /// # Errors
    /// Truncated, or longer than 64 bits.
    #[inline(always)]
    pub fn varint(&mut self) -> Result<u64> {
        if let Some(&b) = self.buf[..self.end].get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        self.varint_slow()
    }

    fn varint_slow(&mut self) -> Result<u64> {
        let start = self.pos;
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf[..self.end].get(start + i) else {
                return Err(Self::error(DecodeErrorKind::Truncated, start));
            };
            if i == 9 && b > 1 {
                return Err(Self::error(DecodeErrorKind::VarintTooLong, start));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                self.pos = start + i + 1;
                return Ok(value);
            }
        }
        Err(Self::error(DecodeErrorKind::VarintTooLong, start))
    }

    /// Eight little-endian bytes.
    ///
    /// # Errors
    /// Fewer than eight bytes left.
    pub fn fixed64(&mut self) -> Result<u64> {
        let bytes = self.take(8)?;
        let mut b = [0u8; 8];
        b.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(b))
    }

    /// Four little-endian bytes.
    ///
    /// # Errors
    /// Fewer than four bytes left.
    pub fn fixed32(&mut self) -> Result<u32> {
        let bytes = self.take(4)?;
        let mut b = [0u8; 4];
        b.copy_from_slice(bytes);
        Ok(u32::from_le_bytes(b))
    }

    /// The next `n` bytes.
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.end - self.pos < n {
            return Err(Self::error(DecodeErrorKind::Truncated, self.pos));
        }
        let bytes = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    /// A length prefix, checked against what the message has left.
    #[inline]
    fn len(&mut self) -> Result<usize> {
        let at = self.pos;
        let len = self.varint()?;
        let left = self.end - self.pos;
        if len > left as u64 {
            return Err(Self::error(
                DecodeErrorKind::LengthOutOfBounds { len, left },
                at,
            ));
        }
        // `len` is at most `left`, a usize.
        Ok(len as usize)
    }

    /// A length-delimited field's bytes, borrowed.
    ///
    /// # Errors
    /// A truncated or out-of-bounds length.
    #[inline]
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = self.len()?;
        let bytes = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(bytes)
    }

    /// A string field, borrowed.
    ///
    /// # Errors
    /// A truncated or out-of-bounds length, or bytes that are not UTF-8.
    #[inline]
    pub fn str(&mut self) -> Result<&'a str> {
        let len = self.len()?;
        let start = self.pos;
        let bytes = &self.buf[start..start + len];
        self.pos += len;
        std::str::from_utf8(bytes)
            .map_err(|e| Self::error(DecodeErrorKind::InvalidUtf8, start + e.valid_up_to()))
    }

    /// An embedded message: a reader of its bytes (offsets still count from the outermost
    /// buffer); this reader moves past it.
    ///
    /// # Errors
    /// A truncated or out-of-bounds length, or nesting deeper than [`MAX_DEPTH`].
    #[inline]
    pub fn message(&mut self) -> Result<Reader<'a>> {
        let at = self.pos;
        let len = self.len()?;
        if self.depth >= MAX_DEPTH {
            return Err(Self::error(DecodeErrorKind::TooDeep, at));
        }
        let sub = Reader {
            buf: self.buf,
            pos: self.pos,
            end: self.pos + len,
            tag_pos: self.pos,
            depth: self.depth + 1,
        };
        self.pos += len;
        Ok(sub)
    }

    /// How many values of the length-delimited field whose tag was just read come in a
    /// row from here, this one included: Go writes a repeated field's elements one after
    /// another, so its list can be sized once instead of grown (a grown `Vec` keeps up to
    /// half its capacity spare). Counts only bytes that are there, and stops at the first
    /// other field or malformed byte, which the decoding itself then reports.
    pub(crate) fn run_length(&self) -> usize {
        let mut tag = Reader {
            buf: self.buf,
            pos: self.tag_pos,
            end: self.end,
            tag_pos: self.tag_pos,
            depth: self.depth,
        };
        let Ok(Some((number, WireType::Len))) = tag.field() else {
            return 1;
        };
        let mut scan = Reader {
            pos: self.pos,
            ..tag
        };
        let mut n = 0;
        while scan.bytes().is_ok() {
            n += 1;
            match scan.field() {
                Ok(Some((f, WireType::Len))) if f == number => {}
                _ => break,
            }
        }
        n.max(1)
    }

    /// Skips a field's value (an unknown field).
    ///
    /// # Errors
    /// A value that is truncated or runs past the end of the message.
    pub fn skip(&mut self, wire: WireType) -> Result<()> {
        match wire {
            WireType::Varint => self.varint().map(drop),
            WireType::Fixed64 => self.take(8).map(drop),
            WireType::Fixed32 => self.take(4).map(drop),
            WireType::Len => self.bytes().map(drop),
        }
    }
}

/// Appends a varint.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a field's tag.
#[inline]
pub fn put_tag(out: &mut Vec<u8>, field: u32, wire: WireType) {
    put_varint(out, (u64::from(field) << 3) | wire as u64);
}

/// Appends a length-delimited field: its tag, then the length of what `body` appends,
/// then that. The body is written in place after a one-byte length, moved up when the
/// length takes more bytes.
#[inline]
pub fn put_len_delimited(out: &mut Vec<u8>, field: u32, body: impl FnOnce(&mut Vec<u8>)) {
    put_tag(out, field, WireType::Len);
    let at = out.len();
    out.push(0);
    body(out);
    let len = out.len() - at - 1;
    if len < 0x80 {
        out[at] = len as u8;
    } else {
        fix_length(out, at, len);
    }
}

#[cold]
fn fix_length(out: &mut Vec<u8>, at: usize, len: usize) {
    let mut prefix = Vec::with_capacity(10);
    put_varint(&mut prefix, len as u64);
    let extra = prefix.len() - 1;
    let end = out.len();
    out.resize(end + extra, 0);
    out.copy_within(at + 1..end, at + 1 + extra);
    out[at..at + prefix.len()].copy_from_slice(&prefix);
}

/// Appends a length-delimited field holding `bytes`.
#[inline]
pub fn put_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_tag(out, field, WireType::Len);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_of_every_length_round_trip() {
        for v in [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX - 1, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut r = Reader::new(&out);
            assert_eq!(r.varint().unwrap(), v);
            assert!(r.is_empty());
        }
    }

    #[test]
    fn a_long_body_moves_up_behind_its_length() {
        let mut out = vec![0xAA];
        put_len_delimited(&mut out, 3, |o| o.extend(std::iter::repeat_n(7u8, 300)));
        assert_eq!(&out[..4], &[0xAA, 0x1A, 0xAC, 0x02]);
        assert_eq!(out.len(), 4 + 300);
        assert!(out[4..].iter().all(|&b| b == 7));
    }
}
