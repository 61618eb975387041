//! Namespace finalize, CSR approval and service account token requests: the exact
//! request that reaches the server, and the server's answer decoded (or its refusal
//! surfaced as the right error).

mod common;

use common::{last_request, start, typed};
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kubecto_clientset::Patch;
use kubecto_rest_core::{CreateOptions, Error, PatchOptions, UpdateOptions};
use serde_json::json;

/// The decoded answer of a call the server must serve.
fn served<T>(what: &str, result: Result<T, Error>) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {e}"))
}

#[tokio::test]
async fn namespace_finalize() {
    let (server, cs) = start().await;
    let namespaces = cs.core_v1().namespaces();
    let ns: Namespace =
        typed(json!({"metadata": {"name": "doomed"}, "spec": {"finalizers": ["kubernetes"]}}));
    let mut ns = namespaces
        .create(&ns, &CreateOptions::new())
        .await
        .expect("create");
    ns.spec.get_or_insert_with(Default::default).finalizers = Some(Vec::new());
    let result = namespaces.finalize(&ns, &UpdateOptions::new()).await;
    let done = served("finalize", result);
    let left = done.spec.and_then(|s| s.finalizers).unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    assert!(last_request(&server, "PUT", "/api/v1/namespaces/doomed/finalize").is_some());
    server.shutdown().await;
}

#[tokio::test]
async fn csr_approval() {
    let (server, cs) = start().await;
    let csrs = cs.certificates_v1().certificate_signing_requests();
    let csr: CertificateSigningRequest = typed(json!({
        "metadata": {"name": "node-csr"},
        "spec": {
            "request": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K",
            "signerName": "kubernetes.io/kube-apiserver-client",
            "usages": ["client auth"]
        }
    }));
    csrs.create(&csr, &CreateOptions::new())
        .await
        .expect("create");
    let path = "/apis/certificates.k8s.io/v1/certificatesigningrequests/node-csr/approval";

    let approved = csrs
        .approve("node-csr", "KubectoTest", "approved by a test")
        .await;
    let c = served("approve", approved);
    let conditions = c.status.and_then(|s| s.conditions).unwrap_or_default();
    assert!(
        conditions
            .iter()
            .any(|c| c.type_ == "Approved" && c.status == "True")
    );
    // approve reads the request first, then writes through `approval`.
    assert!(
        last_request(
            &server,
            "GET",
            "/apis/certificates.k8s.io/v1/certificatesigningrequests/node-csr"
        )
        .is_some()
    );
    assert_eq!(server.request_count("PUT", path), 1);

    let denied = csrs
        .deny("node-csr", "KubectoTest", "denied by a test")
        .await;
    // Approved and Denied together: kube-apiserver refuses it with 422.
    let err = denied.expect_err("approved and denied together");
    assert!(err.is_invalid(), "{err}");
    assert_eq!(server.request_count("PUT", path), 2);

    let patch = Patch::Merge(json!({"status": {"conditions": [
        {"type": "Approved", "status": "True", "reason": "Patched"}
    ]}}));
    let patched = csrs
        .patch_approval("node-csr", &patch, &PatchOptions::new())
        .await;
    let c = served("patch approval", patched);
    let conditions = c.status.and_then(|s| s.conditions).unwrap_or_default();
    assert!(
        conditions
            .iter()
            .any(|c| c.reason.as_deref() == Some("Patched"))
    );
    assert!(last_request(&server, "PATCH", path).is_some());

    let err = csrs
        .approve("missing", "r", "m")
        .await
        .expect_err("no such CSR");
    assert!(err.is_not_found(), "{err}");
    server.shutdown().await;
}

#[tokio::test]
async fn service_account_token_request() {
    let (server, cs) = start().await;
    let accounts = cs.core_v1().service_accounts("default");
    let sa: ServiceAccount = typed(json!({"metadata": {"name": "robot"}}));
    accounts
        .create(&sa, &CreateOptions::new())
        .await
        .expect("create");
    let request: TokenRequest = typed(json!({
        "spec": {"audiences": ["https://kubernetes.default.svc"], "expirationSeconds": 600}
    }));
    let result = accounts
        .create_token("robot", &request, &CreateOptions::new())
        .await;
    let token = served("token request", result);
    let status = token.status.expect("a TokenRequest status");
    assert!(status.token.is_some_and(|t| !t.is_empty()));
    let req = last_request(
        &server,
        "POST",
        "/api/v1/namespaces/default/serviceaccounts/robot/token",
    )
    .expect("POST token recorded");
    assert_eq!(req.query, "");
    server.shutdown().await;
}
