//! Shared.
pub(crate) mod body;
pub(crate) mod meta;
pub(crate) mod status;
