//! Server.
pub(crate) mod auth;
pub(crate) mod faults;
pub(crate) mod serve;
pub(crate) mod tls;
