//! The `status` subresource: [`HasStatus`] marks the kinds that have one, and
//! [`Api`] gains get/update/patch/apply of the status for them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{Metadata, Resource};
use kubecto_rest_core::{PatchOptions, PatchType, Result, UpdateOptions};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::{Api, Verb};
use crate::patch::{ApplyOptions, Patch};
use crate::verbs::{object_name, to_body};

/// A resource served with a `status` subresource (`/{resource}/{name}/status`). The
/// generated code implements it for every built-in kind that has one; implement it for a
/// custom resource whose CRD enables `subresources.status`.
pub trait HasStatus: Resource {}

impl<K> Api<K>
where
    K: HasStatus + Metadata<Ty = ObjectMeta> + Serialize + DeserializeOwned + 'static,
{
    /// GET the object through its status subresource.
    ///
    /// # Errors
    /// [`Error::Api`](kubecto_rest_core::Error::Api) (`is_not_found()`).
    pub async fn get_status(&self, name: &str) -> Result<K> {
        let req = self.target.sub(Verb::Get, name, "status")?;
        self.wire
            .accepting(&self.target, req)
            .send()
            .await?
            .into_negotiated(self.wire.decoder())
            .await
    }

    /// PUT the object's status (`update_status`): the server takes `status` from the
    /// body and ignores spec changes.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`](kubecto_rest_core::Error::InvalidRequest) without a
    /// name; [`Error::Api`](kubecto_rest_core::Error::Api) (`is_conflict()` when stale).
    pub async fn update_status(&self, object: &K, options: &UpdateOptions) -> Result<K> {
        let name = object_name(object)?;
        let make = || Ok(self.target.sub(Verb::Put, name, "status")?.params(options));
        self.wire
            .send_object(&self.target, make, object)
            .await?
            .into_negotiated(self.wire.decoder())
            .await
    }

    /// PATCH the object's status.
    ///
    /// # Errors
    /// As [`Api::patch`].
    pub async fn patch_status<P: Serialize>(
        &self,
        name: &str,
        patch: &Patch<P>,
        options: &PatchOptions,
    ) -> Result<K> {
        self.target.patch_sub(name, "status", patch, options).await
    }

    /// Server-side apply of the object's status as `options.field_manager`.
    ///
    /// # Errors
    /// As [`Api::apply`].
    pub async fn apply_status(&self, object: &K, options: &ApplyOptions) -> Result<K> {
        self.target
            .sub(
                Verb::Patch(PatchType::Apply),
                object_name(object)?,
                "status",
            )?
            .params(&options.to_patch_options())
            .body(to_body(K::KIND, object)?)
            .send()
            .await?
            .into()
            .await
    }
}
