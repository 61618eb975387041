//! What a decode failure says: what was wrong, at which byte, and in which field. The
//! error is one pointer wide, so the `Result`s of the hot decode loops stay small; the
//! field path is added only while an error travels up, never on success.

use std::fmt;

/// Why bytes could not be decoded: what was wrong ([`kind`](Self::kind)), the byte
/// offset where it was found ([`offset`](Self::offset), counted from the start of the
/// buffer handed to the decoder) and the fields it sat in ([`path`](Self::path)).
///
/// ```text
/// a length of 4294967295 bytes runs past the end of its message (12 bytes left) at byte 37, in spec.containers.image
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DecodeError(Box<Inner>);

#[derive(Clone, PartialEq, Eq)]
struct Inner {
    offset: usize,
    kind: DecodeErrorKind,
    /// Innermost field first, as the error travels outwards.
    path: Vec<&'static str>,
}

/// What was wrong with the bytes.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    /// The bytes end in the middle of a tag, varint, fixed-size value or length-delimited
    /// field.
    #[error("the message ends in the middle of a value")]
    Truncated,
    /// A varint longer than 10 bytes, or whose 10th byte overflows 64 bits.
    #[error("a varint longer than 64 bits")]
    VarintTooLong,
    /// A length-delimited field (string, bytes, embedded message) claims more bytes than
    /// its enclosing message has left.
    #[error("a length of {len} bytes runs past the end of its message ({left} bytes left)")]
    LengthOutOfBounds {
        /// The length the bytes claim.
        len: u64,
        /// What the enclosing message has left.
        left: usize,
    },
    /// A tag with field number 0 or above 2^29-1.
    #[error("field number {0} is out of range")]
    BadFieldNumber(u64),
    /// A wire type protobuf does not define (6, 7), or a group (3, 4), which Kubernetes
    /// messages never use.
    #[error("unsupported wire type {0}")]
    BadWireType(u8),
    /// A known field arrived with a wire type that does not fit its type (a string sent as
    /// a varint).
    #[error("field {field} has wire type {found}, expected {expected}")]
    WrongWireType {
        /// The field number.
        field: u32,
        /// The wire type the field's type needs.
        expected: u8,
        /// The wire type that arrived.
        found: u8,
    },
    /// A string field that is not UTF-8.
    #[error("a string that is not UTF-8")]
    InvalidUtf8,
    /// Embedded messages nested deeper than [`MAX_DEPTH`](crate::MAX_DEPTH).
    #[error("messages nested deeper than {} levels", crate::MAX_DEPTH)]
    TooDeep,
    /// A field that carries JSON text (`FieldsV1`, `RawExtension`, apiextensions `JSON`)
    /// holds something else.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// A field the type requires (not `Option` in k8s-openapi) that cannot be defaulted
    /// (a `Time`) is missing or zero.
    #[error("required field {0} is missing")]
    MissingField(&'static str),
    /// A body or embedded object that should start with the `k8s\0` magic does not.
    #[error("not a Kubernetes protobuf envelope (no k8s\\0 magic)")]
    NoMagic,
    /// The envelope holds another kind than the one asked for.
    #[error("the envelope holds {found}, expected {expected}")]
    UnexpectedKind {
        /// `apiVersion/kind` asked for.
        expected: String,
        /// `apiVersion/kind` found in the envelope.
        found: String,
    },
    /// The envelope's `raw` is not plain protobuf (a `contentEncoding` such as gzip, or a
    /// `contentType` other than protobuf).
    #[error("the envelope's object is encoded as {0:?}, not plain protobuf")]
    UnsupportedEncoding(String),
    /// A value the type cannot hold (an `IntOrString` whose type is neither 0 nor 1, a
    /// time out of range).
    #[error("{0}")]
    InvalidValue(&'static str),
}

impl DecodeError {
    /// An error of `kind` at `offset`.
    #[cold]
    pub(crate) fn new(kind: DecodeErrorKind, offset: usize) -> Self {
        Self(Box::new(Inner {
            offset,
            kind,
            path: Vec::new(),
        }))
    }

    /// Adds the field the error was found in, as the error travels outwards.
    #[cold]
    #[must_use]
    pub(crate) fn at(mut self, field: &'static str) -> Self {
        self.0.path.push(field);
        self
    }

    /// The same error found in a buffer that starts `by` bytes into the outer one.
    #[cold]
    #[must_use]
    pub(crate) fn shifted(mut self, by: usize) -> Self {
        self.0.offset += by;
        self
    }

    /// The byte offset where the failure was found, counted from the start of the buffer
    /// handed to the decoder.
    pub fn offset(&self) -> usize {
        self.0.offset
    }

    /// What was wrong.
    pub fn kind(&self) -> &DecodeErrorKind {
        &self.0.kind
    }

    /// The fields from the outermost message down to the one that failed, JSON names
    /// joined with dots (`spec.containers.image`); empty at the top level.
    pub fn path(&self) -> String {
        let mut out = String::new();
        for (i, field) in self.0.path.iter().rev().enumerate() {
            if i > 0 {
                out.push('.');
            }
            out.push_str(field);
        }
        out
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.0.kind, self.0.offset)?;
        if !self.0.path.is_empty() {
            write!(f, ", in {}", self.path())?;
        }
        Ok(())
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeError")
            .field("offset", &self.0.offset)
            .field("kind", &self.0.kind)
            .field("path", &self.path())
            .finish()
    }
}

impl std::error::Error for DecodeError {}
