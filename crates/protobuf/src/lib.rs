//! Kubernetes protobuf (`application/vnd.kubernetes.protobuf`) for the k8s-openapi types
//! users already hold: every built-in kind of Kubernetes 1.36 decoded straight from the
//! wire into `k8s_openapi` structs, in one pass, and encoded back the way kube-apiserver
//! writes it. There is no second family of types.
//!
//! - [`Protobuf`]: the codec trait, implemented for every k8s-openapi type that has a
//!   protobuf message (`Pod`, `PodSpec`, `ObjectMeta`, `List<Pod>`, ...). `decode` takes
//!   an object's own message (the `raw` of its envelope), `encode` appends one.
//! - [`envelope`]: the `k8s\0` magic and `runtime.Unknown` around a body's object;
//!   [`list`]: a LIST's items one at a time; [`watch`]: a watch event's message into
//!   k8s-openapi's `WatchEvent`. Frames, streaming and content negotiation belong to
//!   `kubecto-rest-core`, which hands each object's bytes to this crate.
//! - [`Codec`]: a type's codec found at run time, for code generic over types that may
//!   have no message (kubecto-clientset's `Api<K>`, where `K` may be a custom resource).
//! - [`DecodeOptions::drop_managed_fields`]: skip `metadata.managedFields` while decoding
//!   (GET, LIST, watch), so that half of a typical pod's memory is never allocated.
//!
//! The codecs in `generated/` are written by `cargo xtask codegen` from the messages of
//! Kubernetes 1.36 (the `generated.proto` files of k8s.io/api, apimachinery,
//! apiextensions-apiserver and kube-aggregator at v0.36.2, vendored under `proto/` with
//! the Go facts JSON needs; see `proto/README.md`) and from k8s-openapi's own types; the
//! apimachinery types whose message and Rust type differ in shape (`Time`, `Quantity`,
//! `IntOrString`, `RawExtension`, ...) are written by hand.
//!
//! The object decoded from protobuf is exactly the one its JSON twin decodes to: fields
//! Go holds by value are sent even when zero, and become `None` where Go's JSON omits
//! them; an empty `Time` is `None`; `Time` keeps whole seconds. Unknown fields are
//! skipped. Malformed bytes give a [`DecodeError`] naming the byte offset and the field
//! path, never a panic, and no length read off the wire sizes an allocation.
//!
//! ```
//! use k8s_openapi::api::core::v1::Pod;
//! use kubecto_protobuf::{DecodeOptions, Protobuf};
//!
//! let mut pod = Pod::default();
//! pod.metadata.name = Some("web".to_owned());
//! let mut bytes = Vec::new();
//! pod.encode(&mut bytes);
//! let opts = DecodeOptions::default().drop_managed_fields(true);
//! assert_eq!(Pod::decode(&bytes, &opts)?, pod);
//! # Ok::<(), kubecto_protobuf::DecodeError>(())
//! ```
//!
//! The codecs are generated for Kubernetes 1.36: the final binary enables k8s-openapi's
//! `v1_36` feature (any other version is a compile error that says so).
//!
//! # Cost
//!
//! Decoding the recorded 3.5 KB pod (`examples/decode_bench.rs`, instructions counted by
//! callgrind, object dropped afterwards) takes about 132 K instructions against
//! serde_json's 219 K into the same `Pod` (1.7x fewer), and 55 K with
//! [`drop_managed_fields`](DecodeOptions::drop_managed_fields) (4x fewer). What is left
//! with managed fields is mostly `fieldsV1`: k8s-openapi holds it as a
//! `serde_json::Value` tree (a map and a string per `"f:name"`), which must be built
//! whatever the wire format; most of the rest is the allocations of the strings, maps and
//! lists the k8s-openapi types own.
//!
//! # Not covered
//!
//! - A `RawExtension` whose bytes are a protobuf object in its own envelope, rather than
//!   the JSON kube-apiserver passes through, has no JSON form without its type: it is a
//!   [`DecodeErrorKind::UnsupportedEncoding`] error.
//! - A watch `ERROR` event whose object is not a `Status`.
//! - Custom resources: kube-apiserver has no protobuf for them.

mod codec;
pub mod envelope;
mod error;
#[allow(
    missing_docs,
    reason = "generated trait impls; the types are documented by k8s-openapi"
)]
mod generated;
mod jsonschema;
pub mod list;
mod registry;
mod special;
pub mod watch;
mod wire;

pub use error::{DecodeError, DecodeErrorKind};
pub use registry::Codec;
pub use wire::MAX_DEPTH;

k8s_openapi::k8s_if_le_1_35! {
    compile_error!(
        "kubecto-protobuf is generated from Kubernetes 1.36's messages: enable k8s-openapi's `v1_36` feature"
    );
}
k8s_openapi::k8s_if_ge_1_37! {
    compile_error!(
        "kubecto-protobuf is generated from Kubernetes 1.36's messages: enable k8s-openapi's `v1_36` feature"
    );
}

/// How to decode.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Skip `metadata.managedFields` (server-side apply's field ownership) of every object
    /// decoded, leaving it `None`. The entries are skipped on the wire, before any of them
    /// is built, so their memory (about half of a typical pod's) is never allocated.
    pub drop_managed_fields: bool,
}

impl DecodeOptions {
    /// Everything kept.
    pub const DEFAULT: Self = Self {
        drop_managed_fields: false,
    };

    /// Sets [`drop_managed_fields`](Self::drop_managed_fields).
    #[must_use]
    pub fn drop_managed_fields(mut self, drop: bool) -> Self {
        self.drop_managed_fields = drop;
        self
    }
}

/// A k8s-openapi type with a Kubernetes protobuf message: every built-in kind of
/// Kubernetes 1.36, its lists (`k8s_openapi::List<T>`) and every type they hold that has a
/// message of its own.
///
/// Implemented by this crate only (the trait is sealed): protobuf exists for built-in
/// types, not for custom resources.
pub trait Protobuf: codec::Message {
    /// Decodes the object's own message: the `raw` of its envelope
    /// ([`envelope::Unknown`]), or an item of a list.
    ///
    /// # Errors
    /// Malformed bytes: a [`DecodeError`] naming the offset (from the start of `buf`)
    /// and the field.
    fn decode(buf: &[u8], opts: &DecodeOptions) -> Result<Self, DecodeError> {
        Self::decode_message(&mut wire::Reader::new(buf), opts)
    }

    /// Appends the object's own message (no envelope; see [`envelope::encode`]).
    fn encode(&self, out: &mut Vec<u8>) {
        self.encode_message(out);
    }

    /// The object's own message, in a new buffer.
    fn encode_to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

impl<T: codec::Message> Protobuf for T {}
