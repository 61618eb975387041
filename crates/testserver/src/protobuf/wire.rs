//! The protobuf wire format, read and written by hand: varints, tags, length-delimited
//! runs and fixed-width numbers. A reader knows the offset of every byte in the whole
//! body, so each error names where it happened; nothing is allocated from a length read
//! off the wire (a length only ever slices bytes that are there).

use std::fmt;

/// Wire type 0: a varint.
pub(crate) const VARINT: u8 = 0;
/// Wire type 1: 8 bytes.
pub(crate) const FIXED64: u8 = 1;
/// Wire type 2: a length, then that many bytes.
pub(crate) const LEN: u8 = 2;
/// Wire type 5: 4 bytes.
pub(crate) const FIXED32: u8 = 5;

/// A body that is not the protobuf it claims to be: what, and at which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError {
    /// The offset, from the first byte of the body.
    pub offset: usize,
    /// What was wrong there.
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.message, self.offset)
    }
}

impl std::error::Error for DecodeError {}

/// Reads a run of bytes that starts at `base` in the body.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader of a whole body.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader::at(buf, 0)
    }

    /// A reader of bytes that start at `base` in the body.
    pub(crate) fn at(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    /// The offset of the next byte in the body.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Nothing left?
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// An error at the current offset.
    pub(crate) fn error(&self, message: impl Into<String>) -> DecodeError {
        self.error_at(self.offset(), message)
    }

    /// An error at an offset.
    pub(crate) fn error_at(&self, offset: usize, message: impl Into<String>) -> DecodeError {
        DecodeError {
            offset,
            message: message.into(),
        }
    }

    /// A varint (at most 10 bytes).
    pub(crate) fn varint(&mut self) -> Result<u64, DecodeError> {
        let start = self.offset();
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(self.error_at(start, "truncated varint"));
            };
            self.pos += 1;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error_at(start, "varint longer than 10 bytes"))
    }

    /// A field's number and wire type.
    pub(crate) fn tag(&mut self) -> Result<(u32, u8), DecodeError> {
        let start = self.offset();
        let tag = self.varint()?;
        let number = u32::try_from(tag >> 3).unwrap_or(0);
        if number == 0 || number > (1 << 29) - 1 {
            return Err(self.error_at(start, format!("invalid field number {}", tag >> 3)));
        }
        Ok((number, (tag & 7) as u8))
    }

    /// `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let left = self.buf.len() - self.pos;
        if n > left {
            return Err(self.error(format!("length {n} runs past the end ({left} bytes left)")));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// A length-delimited run, as a reader of its own (its offsets still the body's).
    pub(crate) fn len_delimited(&mut self) -> Result<Reader<'a>, DecodeError> {
        let at = self.offset();
        let n = self.varint()?;
        let n =
            usize::try_from(n).map_err(|_| self.error_at(at, format!("length {n} too large")))?;
        let base = self.offset();
        let buf = self.bytes(n).map_err(|mut e| {
            e.offset = at;
            e
        })?;
        Ok(Reader::at(buf, base))
    }

    /// The rest, as bytes.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos.min(self.buf.len())..];
        self.pos = self.buf.len();
        out
    }

    /// 8 bytes, little-endian.
    pub(crate) fn fixed64(&mut self) -> Result<u64, DecodeError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// Skip a field of this wire type.
    pub(crate) fn skip(&mut self, wire: u8) -> Result<(), DecodeError> {
        match wire {
            VARINT => self.varint().map(drop),
            FIXED64 => self.bytes(8).map(drop),
            LEN => self.len_delimited().map(drop),
            FIXED32 => self.bytes(4).map(drop),
            w => Err(self.error(format!("unsupported wire type {w}"))),
        }
    }
}

/// Append a varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Append a tag.
pub(crate) fn put_tag(out: &mut Vec<u8>, number: u32, wire: u8) {
    put_varint(out, (u64::from(number) << 3) | u64::from(wire));
}

/// Append a length-delimited field.
pub(crate) fn put_bytes(out: &mut Vec<u8>, number: u32, bytes: &[u8]) {
    put_tag(out, number, LEN);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_fail_with_offsets() {
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = vec![0xff];
            put_varint(&mut out, v);
            let mut r = Reader::new(&out);
            r.bytes(1).unwrap();
            assert_eq!(r.varint().unwrap(), v);
            assert!(r.is_empty());
        }
        let mut r = Reader::at(&[0x80, 0x80], 7);
        assert_eq!(
            r.varint().unwrap_err().to_string(),
            "truncated varint at byte 7"
        );
        let mut r = Reader::new(&[0x0a, 0x05, 1, 2]);
        r.tag().unwrap();
        let e = r.len_delimited().unwrap_err();
        assert_eq!(e.offset, 1);
        assert!(e.message.contains("past the end"), "{e}");
    }
}
