//! Where an object lives in the store: its collection (`group/plural`) and its key
//! (`namespace`, `name`), the namespace left empty for cluster-scoped resources.

use std::sync::Arc;

use crate::storage::registry::ResourceInfo;
use crate::storage::store::ObjKey;

/// The store collection of a resource.
pub(crate) fn collection(info: &ResourceInfo) -> Arc<str> {
    Arc::from(info.storage_key())
}

/// The store key of an object of a resource.
pub(crate) fn key(info: &ResourceInfo, namespace: Option<&str>, name: &str) -> ObjKey {
    let ns = if info.namespaced {
        namespace.unwrap_or_default()
    } else {
        ""
    };
    (ns.to_owned(), name.to_owned())
}
