//! Protobuf, as kube-apiserver speaks it for built-in kinds: JSON objects (the form the
//! store keeps) transcoded to and from `application/vnd.kubernetes.protobuf`, driven by a
//! table of every message of Kubernetes 1.36 generated from the upstream `.proto` files.
//! It is the server's own: it shares no code with the client's codecs (kubecto-protobuf),
//! so the client is tested against protobuf it did not define. A bottom stage: it imports
//! nothing else of the server.
//!
//! - [`schema`]: what the generated table ([`generated`]) says of a message and its fields.
//! - [`lookup`]: a message by index, and each kind's message.
//! - [`wire`]: varints, tags and lengths, with byte offsets in every error.
//! - [`codec`]: one message ⇄ one JSON object, with apimachinery's special types.
//! - [`time`]: `Time` and `MicroTime` ⇄ RFC 3339.
//! - [`envelope`]: the `k8s\0` + `runtime.Unknown` envelope, and watch frames.

pub(crate) mod codec;
pub(crate) mod envelope;
pub(crate) mod generated;
pub(crate) mod lookup;
pub(crate) mod schema;
pub(crate) mod time;
pub(crate) mod wire;

/// The media type of protobuf bodies.
pub(crate) const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";
/// The media type of a protobuf watch stream.
pub(crate) const WATCH_MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf;stream=watch";
