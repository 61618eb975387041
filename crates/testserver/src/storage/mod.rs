//! Storage.
pub(crate) mod registry;
pub(crate) mod store;
