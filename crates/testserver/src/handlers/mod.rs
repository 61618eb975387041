//! One handler per verb family: each takes the state, the request and the resolved
//! resource, and answers. They call `objects` for writes, `logic` for Kubernetes'
//! rules, and `shared` for responses; never `route`, `server` or `controllers`.
//!
//! - [`read`]: GET of an object and LIST, with Table and metadata-only output.
//! - [`write`]: POST (create) and PUT (replace, also of `status`).
//! - [`patch`]: PATCH (JSON, merge, strategic merge) and server-side apply.
//! - [`delete`]: DELETE of an object and of a collection.
//! - [`watch`]: watch streams with bookmarks, initial events and 410 Expired.
//! - [`scale`], [`log`], [`subresource`]: the `scale` and `log` subresources, and those
//!   that act on their object (eviction, binding, ephemeralcontainers, finalize,
//!   approval, token).
//! - [`discovery`], [`openapi`]: the discovery documents, `/version`, health, OpenAPI v3.
//! - [`input`]: decoding what requests send (bodies, patches, DeleteOptions, selectors).
//! - [`protobuf`]: answers re-encoded in protobuf when the request asks for it first.

pub(crate) mod delete;
pub(crate) mod discovery;
pub(crate) mod input;
pub(crate) mod log;
pub(crate) mod openapi;
pub(crate) mod patch;
pub(crate) mod protobuf;
pub(crate) mod read;
pub(crate) mod scale;
pub(crate) mod subresource;
pub(crate) mod watch;
pub(crate) mod write;
