//! Logic.
pub(crate) mod apply;
pub(crate) mod defaults;
pub(crate) mod openapi;
pub(crate) mod patch;
pub(crate) mod selector;
pub(crate) mod table;
pub(crate) mod validation;
