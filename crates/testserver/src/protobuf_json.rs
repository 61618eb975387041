//! kube-apiserver's protobuf, read and written as JSON by the server's own transcoder: for
//! tests that check what the server answers in protobuf (or what a recorded kube-apiserver
//! answered) against its JSON, and that build protobuf request bodies. Not the client's
//! codec: the server shares no code with kubecto-protobuf.

use std::fmt;

use serde_json::Value;

use crate::protobuf::envelope;

/// Bytes that are not the protobuf they claim to be, or an object with no protobuf form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtobufError {
    /// The offset of the byte where decoding failed (`None` for an encoding failure).
    pub offset: Option<usize>,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for ProtobufError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(at) => write!(f, "{} at byte {at}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ProtobufError {}

fn decode_error(e: crate::protobuf::wire::DecodeError) -> ProtobufError {
    ProtobufError {
        offset: Some(e.offset),
        message: e.message,
    }
}

/// A body (`k8s\0` + `runtime.Unknown`) as the JSON object it holds, `kind` and
/// `apiVersion` first.
///
/// # Errors
/// Bytes that are not an envelope of a known kind, with the offset of the first bad byte.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    envelope::decode_object(body).map_err(decode_error)
}

/// A JSON object (with `apiVersion` and `kind`) in its envelope, as kube-apiserver writes it.
///
/// # Errors
/// A kind with no protobuf message (a custom resource), or a field of the wrong type.
pub fn encode(object: &Value) -> Result<Vec<u8>, ProtobufError> {
    match envelope::encode_object(object) {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(ProtobufError {
            offset: None,
            message: format!(
                "no protobuf message for kind {} of apiVersion {}",
                object["kind"], object["apiVersion"]
            ),
        }),
        Err(e) => Err(ProtobufError {
            offset: None,
            message: e.to_string(),
        }),
    }
}

/// A whole protobuf watch stream as its events, `{"type": .., "object": ..}` each.
///
/// # Errors
/// A frame that is cut short or not a `WatchEvent`, with the offset of the first bad byte.
pub fn decode_watch(body: &[u8]) -> Result<Vec<Value>, ProtobufError> {
    envelope::decode_watch_stream(body).map_err(decode_error)
}

/// One watch frame, as kube-apiserver writes it: a 4-byte big-endian length, then a
/// `WatchEvent` of this type whose object is `object` in its own envelope.
///
/// # Errors
/// As [`encode`].
pub fn encode_watch_event(event_type: &str, object: &Value) -> Result<Vec<u8>, ProtobufError> {
    envelope::watch_frame(event_type, object).map_err(|e| ProtobufError {
        offset: None,
        message: e.to_string(),
    })
}
