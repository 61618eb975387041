//! The protobuf wire format, read from a slice: varints, tags, length-delimited fields,
//! skipping what is not wanted. Every length is checked against what is left before it is
//! used, so a bogus length is an error at its offset, never an allocation or a panic.

use std::fmt;

/// Why bytes are not the protobuf expected, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WireError {
    /// Offset of the failure from the start of the body (or frame).
    pub(crate) offset: u64,
    pub(crate) what: String,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (protobuf, at byte {})", self.what, self.offset)
    }
}

impl std::error::Error for WireError {}

/// A field's wire type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireType {
    Varint,
    Fixed64,
    Len,
    Fixed32,
}

/// A cursor over one message, reporting offsets relative to `base`.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: u64,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, which starts at `base` in the whole body.
    pub(crate) fn new(buf: &'a [u8], base: u64) -> Self {
        Self { buf, pos: 0, base }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The offset of the next byte in the whole body.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    pub(crate) fn error(&self, what: impl Into<String>) -> WireError {
        WireError {
            offset: self.offset(),
            what: what.into(),
        }
    }

    pub(crate) fn varint(&mut self) -> Result<u64, WireError> {
        let start = self.offset();
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(WireError {
                    offset: start,
                    what: "the message ends inside a varint".to_owned(),
                });
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                break;
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WireError {
            offset: start,
            what: "a varint longer than 10 bytes".to_owned(),
        })
    }

    /// The next field's number and wire type, `None` at the end of the message.
    pub(crate) fn tag(&mut self) -> Result<Option<(u32, WireType)>, WireError> {
        if self.is_empty() {
            return Ok(None);
        }
        let at = self.offset();
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).ok().filter(|n| *n > 0);
        let wire = match key & 7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::Len,
            5 => WireType::Fixed32,
            t => {
                return Err(WireError {
                    offset: at,
                    what: format!("unsupported wire type {t}"),
                });
            }
        };
        match number {
            Some(n) => Ok(Some((n, wire))),
            None => Err(WireError {
                offset: at,
                what: "a field number of 0 or past 2^32".to_owned(),
            }),
        }
    }

    /// A length-delimited field's bytes and their offset in the whole body.
    pub(crate) fn bytes(&mut self) -> Result<(&'a [u8], u64), WireError> {
        let at = self.offset();
        let len = self.varint()?;
        let left = (self.buf.len() - self.pos) as u64;
        if len > left {
            return Err(WireError {
                offset: at,
                what: format!("a length of {len} bytes where {left} are left"),
            });
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok((&self.buf[start..self.pos], self.base + start as u64))
    }

    /// A length-delimited field as UTF-8 text.
    pub(crate) fn string(&mut self) -> Result<String, WireError> {
        let (bytes, at) = self.bytes()?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|e| WireError {
                offset: at + e.valid_up_to() as u64,
                what: "a string that is not UTF-8".to_owned(),
            })
    }

    /// A field of `wire` type whose value is `want`, or an error naming the field.
    pub(crate) fn expect(
        &self,
        field: &str,
        wire: WireType,
        want: WireType,
    ) -> Result<(), WireError> {
        if wire == want {
            Ok(())
        } else {
            Err(self.error(format!(
                "field {field} has wire type {wire:?}, not {want:?}"
            )))
        }
    }

    /// Skips a field's value.
    pub(crate) fn skip(&mut self, wire: WireType) -> Result<(), WireError> {
        let n = match wire {
            WireType::Varint => return self.varint().map(drop),
            WireType::Len => return self.bytes().map(drop),
            WireType::Fixed64 => 8,
            WireType::Fixed32 => 4,
        };
        if self.buf.len() - self.pos < n {
            return Err(self.error("the message ends inside a fixed-size field"));
        }
        self.pos += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_hostile_lengths() {
        assert_eq!(Reader::new(&[0x96, 0x01], 0).varint(), Ok(150));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&max, 0).varint(), Ok(u64::MAX));
        let eleven = [0xff; 11];
        let err = Reader::new(&eleven, 7).varint().unwrap_err();
        assert_eq!(err.offset, 7);
        assert!(err.what.contains("longer than 10"), "{err}");
        assert!(Reader::new(&[0x80], 0).varint().is_err());
        // A length of 4 GiB with three bytes behind it.
        let mut r = Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x10, 1, 2, 3], 100);
        let err = r.bytes().unwrap_err();
        assert_eq!(err.offset, 100);
        assert!(err.what.contains("4294967296"), "{err}");
        // Wire types 3 and 4 (groups) are refused, as is field number 0.
        assert!(Reader::new(&[0x0b], 0).tag().is_err());
        assert!(Reader::new(&[0x02], 0).tag().is_err());
        assert_eq!(
            Reader::new(&[0x12, 0x01, b'x'], 0).tag(),
            Ok(Some((2, WireType::Len)))
        );
        let mut r = Reader::new(&[0x0a, 0x02, 0xff, 0xfe], 0);
        r.tag().unwrap();
        assert_eq!(r.string().unwrap_err().offset, 2);
    }
}
