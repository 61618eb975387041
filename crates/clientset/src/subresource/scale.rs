//! The `scale` subresource (`autoscaling/v1` `Scale`) of deployments, replica sets,
//! stateful sets and replication controllers.

use k8s_openapi::Resource;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::core::v1::ReplicationController;
use kubecto_rest_core::{PatchOptions, Result, UpdateOptions};
use serde::Serialize;

use crate::api::{Api, Verb};
use crate::patch::Patch;

/// A resource served with a `scale` subresource. Implemented for the built-in workloads
/// that have one; implement it for a custom resource whose CRD enables
/// `subresources.scale`.
pub trait HasScale: Resource {}

impl HasScale for Deployment {}
impl HasScale for ReplicaSet {}
impl HasScale for StatefulSet {}
impl HasScale for ReplicationController {}

impl<K: HasScale> Api<K> {
    /// GET the object's `Scale` (desired and observed replicas, label selector).
    ///
    /// # Errors
    /// [`Error::Api`](kubecto_rest_core::Error::Api) (`is_not_found()`).
    pub async fn get_scale(&self, name: &str) -> Result<Scale> {
        self.target
            .sub(Verb::Get, name, "scale")?
            .send()
            .await?
            .into()
            .await
    }

    /// PUT the object's `Scale`: sets `spec.replicas`. A `metadata.resourceVersion` in
    /// `scale` makes a stale write fail with a Conflict.
    ///
    /// # Errors
    /// [`Error::Api`](kubecto_rest_core::Error::Api) (`is_conflict()`, `is_invalid()`).
    pub async fn update_scale(
        &self,
        name: &str,
        scale: &Scale,
        options: &UpdateOptions,
    ) -> Result<Scale> {
        self.target
            .put_sub(name, "scale", "Scale", scale, options)
            .await
    }

    /// PATCH the object's `Scale`, e.g.
    /// `Patch::Merge(json!({"spec": {"replicas": 3}}))`.
    ///
    /// # Errors
    /// As [`Api::patch`].
    pub async fn patch_scale<P: Serialize>(
        &self,
        name: &str,
        patch: &Patch<P>,
        options: &PatchOptions,
    ) -> Result<Scale> {
        self.target.patch_sub(name, "scale", patch, options).await
    }
}
