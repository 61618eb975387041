//! The CertificateSigningRequest `approval` subresource.

use k8s_openapi::api::certificates::v1::{
    CertificateSigningRequest, CertificateSigningRequestCondition, CertificateSigningRequestStatus,
};
use kubecto_rest_core::{PatchOptions, Result, UpdateOptions};
use serde::Serialize;

use crate::api::Api;
use crate::patch::Patch;
use crate::verbs::object_name;

impl Api<CertificateSigningRequest> {
    /// PUT the request's `status.conditions` through `approval` (client-go's
    /// `UpdateApproval`). Use [`approve`](Self::approve) or [`deny`](Self::deny) to add
    /// the condition and send it in one call.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`](kubecto_rest_core::Error::InvalidRequest) without a
    /// name; [`Error::Api`](kubecto_rest_core::Error::Api) (`is_conflict()` when stale).
    pub async fn update_approval(
        &self,
        csr: &CertificateSigningRequest,
        options: &UpdateOptions,
    ) -> Result<CertificateSigningRequest> {
        self.target
            .put_sub(
                object_name(csr)?,
                "approval",
                "CertificateSigningRequest",
                csr,
                options,
            )
            .await
    }

    /// PATCH through `approval`.
    ///
    /// # Errors
    /// As [`Api::patch`].
    pub async fn patch_approval<P: Serialize>(
        &self,
        name: &str,
        patch: &Patch<P>,
        options: &PatchOptions,
    ) -> Result<CertificateSigningRequest> {
        self.target
            .patch_sub(name, "approval", patch, options)
            .await
    }

    /// Approves the request as `kubectl certificate approve` does: reads it, adds an
    /// `Approved` condition with `reason` and `message`, and sends it through `approval`.
    ///
    /// # Errors
    /// As [`get`](Api::get) and [`update_approval`](Self::update_approval).
    pub async fn approve(
        &self,
        name: &str,
        reason: &str,
        message: &str,
    ) -> Result<CertificateSigningRequest> {
        self.decide(name, "Approved", reason, message).await
    }

    /// Denies the request: as [`approve`](Self::approve) with a `Denied` condition.
    ///
    /// # Errors
    /// As [`approve`](Self::approve).
    pub async fn deny(
        &self,
        name: &str,
        reason: &str,
        message: &str,
    ) -> Result<CertificateSigningRequest> {
        self.decide(name, "Denied", reason, message).await
    }

    async fn decide(
        &self,
        name: &str,
        kind: &str,
        reason: &str,
        message: &str,
    ) -> Result<CertificateSigningRequest> {
        let mut csr = self.get(name).await?;
        let status = csr
            .status
            .get_or_insert_with(CertificateSigningRequestStatus::default);
        status
            .conditions
            .get_or_insert_with(Vec::new)
            .push(CertificateSigningRequestCondition {
                type_: kind.to_owned(),
                status: "True".to_owned(),
                reason: Some(reason.to_owned()),
                message: Some(message.to_owned()),
                ..Default::default()
            });
        self.update_approval(&csr, &UpdateOptions::default()).await
    }
}
