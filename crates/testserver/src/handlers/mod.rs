//! Handlers.
pub(crate) mod log;
pub(crate) mod scale;
pub(crate) mod subresource;
pub(crate) mod watch;
