//! The pieces every stage shares: the state handlers get, the request they read, the
//! responses and errors they answer with, and store keys and object metadata. These
//! modules import only each other and `storage`, never the stages above them.
//!
//! - [`state`]: the store, the registry, logs, settings, and the controllers hook.
//! - [`request`]: a request as handlers see it ([`request::Req`]).
//! - [`media`]: content negotiation (Accept: Table, PartialObjectMetadata, discovery).
//! - [`response`], [`body`]: JSON and `Status` answers, streamed lists and watch bodies.
//! - [`status`]: `metav1.Status` errors worded as kube-apiserver words them.
//! - [`keys`]: an object's collection and key in the store.
//! - [`meta`]: server-owned metadata (UIDs, timestamps, name rules).
//! - [`watches`]: the open watches, and the signals that end them all.
//! - [`grace`]: pending graceful deletions and when they end.
//! - [`gojson`]: bodies that are not JSON, reported in Go's `encoding/json` words.

pub(crate) mod body;
pub(crate) mod gojson;
pub(crate) mod grace;
pub(crate) mod keys;
pub(crate) mod media;
pub(crate) mod meta;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod state;
pub(crate) mod status;
pub(crate) mod watches;
