//! Controllers: what kube-controller-manager (and apiextensions-apiserver's own
//! controllers) would do after a write, done here synchronously, as ordinary clients of
//! the store. The state calls them after every write ([`crate::shared::state::Controller`]);
//! handlers never call them directly.
//!
//! - [`crd`]: serves the resources CRDs define and marks CRDs established.
//! - [`gc`]: the garbage collector (dependents by `ownerReferences`, propagation).

pub(crate) mod crd;
pub(crate) mod gc;

use crate::shared::state::Controller;

/// Every controller, in the order they follow a write.
pub(crate) fn all() -> Vec<Box<dyn Controller>> {
    vec![Box::new(crd::Crds), Box::new(gc::GarbageCollector)]
}
