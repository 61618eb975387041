//! Controllers.
pub(crate) mod crd;
pub(crate) mod gc;
