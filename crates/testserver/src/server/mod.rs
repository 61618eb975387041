//! The HTTP stage, where a request enters: connections (plain or TLS), authentication,
//! the record of requests, injected faults, and reading the request into the `Req` the
//! router gets. Nothing below imports it.
//!
//! - [`serve`]: the accept loop and the per-request path (authn, record, fault, route).
//! - [`request`]: an HTTP request read into a [`crate::shared::request::Req`].
//! - [`auth`], [`tls`]: tokens, client certificates, the generated CA.
//! - [`faults`], [`fault_body`]: fault injection and the bodies it wraps answers in.
//! - [`gzip`]: compressing large answers for clients that accept gzip.
//! - [`traffic`]: requests seen, connections accepted, faults pending.

pub(crate) mod auth;
pub(crate) mod fault_body;
pub(crate) mod faults;
pub(crate) mod gzip;
pub(crate) mod request;
pub(crate) mod serve;
pub(crate) mod tls;
pub(crate) mod traffic;
