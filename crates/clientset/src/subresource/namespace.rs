//! The namespace `finalize` subresource.

use k8s_openapi::api::core::v1::Namespace;
use kubecto_rest_core::{Result, UpdateOptions};

use crate::api::Api;
use crate::verbs::object_name;

impl Api<Namespace> {
    /// PUT the namespace's `spec.finalizers` (`namespaces/{name}/finalize`): what the
    /// namespace controller does once a finalizer's work is done. Remove an entry from
    /// `namespace.spec.finalizers` and send the namespace.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`](kubecto_rest_core::Error::InvalidRequest) without a
    /// name; [`Error::Api`](kubecto_rest_core::Error::Api) (`is_conflict()` when stale).
    pub async fn finalize(
        &self,
        namespace: &Namespace,
        options: &UpdateOptions,
    ) -> Result<Namespace> {
        self.target
            .put_sub(
                object_name(namespace)?,
                "finalize",
                "Namespace",
                namespace,
                options,
            )
            .await
    }
}
