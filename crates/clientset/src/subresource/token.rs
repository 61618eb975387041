//! The service account `token` subresource (TokenRequest).

use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::ServiceAccount;
use kubecto_rest_core::{CreateOptions, Result};

use crate::api::{Api, Verb};
use crate::verbs::to_body;

impl Api<ServiceAccount> {
    /// Requests a token for the service account `name` (`POST
    /// serviceaccounts/{name}/token`); the answer's `status.token` is the token and
    /// `status.expirationTimestamp` when it expires.
    ///
    /// # Errors
    /// [`Error::Api`](kubecto_rest_core::Error::Api) (`is_not_found()`, `is_invalid()`
    /// for an audience or expiry the server refuses).
    pub async fn create_token(
        &self,
        name: &str,
        request: &TokenRequest,
        options: &CreateOptions,
    ) -> Result<TokenRequest> {
        self.target
            .sub(Verb::Post, name, "token")?
            .params(options)
            .body(to_body("TokenRequest", request)?)
            .send()
            .await?
            .into()
            .await
    }
}
