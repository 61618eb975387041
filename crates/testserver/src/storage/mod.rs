//! Storage, the bottom of the server: what it holds, with no notion of HTTP or of
//! Kubernetes' rules for writes. It imports nothing else from the crate.
//!
//! - [`store`]: the objects, one global resourceVersion and the history of writes that
//!   serves watches and consistent list snapshots.
//! - [`registry`]: which resources are served (built-in ones from recorded discovery
//!   documents, custom ones from CRDs).
//! - [`logs`]: container log text (the kubelet's part, set by the library).

pub(crate) mod logs;
pub(crate) mod registry;
pub(crate) mod store;
