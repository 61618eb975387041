//! kubecto-testserver: an in-memory Kubernetes API server over real HTTP.
//!
//! (API being written; see crates/testserver/API.md for the contract.)

pub(crate) mod patch;
pub(crate) mod selector;
