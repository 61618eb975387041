//! Typed helpers for subresources beyond `status`: scale, pod logs, eviction, binding and
//! ephemeral containers, namespace finalize, CSR approval and service account tokens;
//! exec, attach, port-forward and the proxy subresources (`connect`).
//! Each is an inherent method on the [`Api`](crate::Api) of the kind that has it, so it
//! is only there where the server serves it.

mod connect;
mod csr;
mod namespace;
mod pod;
mod scale;
mod token;

pub use connect::HasProxy;
pub use pod::LogOptions;
pub use scale::HasScale;
