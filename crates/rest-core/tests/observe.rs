//! Warning headers reach the handler; a credential provider is asked again after a 401.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use kubecto_rest_core::{
    Auth, Config, CredentialFuture, CredentialProvider, RequestBody, RestClient, SecretString,
    WarningHandler,
};

#[derive(Debug, Default)]
struct Collect(Mutex<Vec<String>>);

impl WarningHandler for Collect {
    fn handle_warning(&self, text: &str) {
        self.0.lock().unwrap().push(text.to_owned());
    }
}

#[tokio::test]
async fn warning_headers_go_to_the_handler() {
    let svc = tower::service_fn(|_req: http::Request<RequestBody>| async {
        let resp = http::Response::builder()
            .header(
                "warning",
                r#"299 - "policy/v1beta1 PodSecurityPolicy is deprecated""#,
            )
            .header("warning", r#"299 - "unknown field \"spec.foo\"""#)
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        Ok::<_, std::convert::Infallible>(resp)
    });
    let handler = Arc::new(Collect::default());
    let client = RestClient::builder(Config::new("http://unused.invalid"))
        .service(svc)
        .warning_handler(handler.clone())
        .build()
        .unwrap();
    client.get().resource("pods").send().await.unwrap();
    assert_eq!(
        *handler.0.lock().unwrap(),
        [
            "policy/v1beta1 PodSecurityPolicy is deprecated",
            r#"unknown field "spec.foo""#
        ]
    );
}

#[derive(Debug, Default)]
struct Rotating {
    asked: AtomicUsize,
    refreshed: AtomicUsize,
}

impl CredentialProvider for Rotating {
    fn credentials(&self) -> CredentialFuture<'_> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        let token = if self.refreshed.load(Ordering::SeqCst) > 0 {
            "fresh"
        } else {
            "stale"
        };
        Box::pin(async move { Ok(Auth::Bearer(SecretString::new(token))) })
    }

    fn refresh(&self) -> CredentialFuture<'_> {
        self.refreshed.fetch_add(1, Ordering::SeqCst);
        self.credentials()
    }
}

#[tokio::test]
async fn a_401_refreshes_credentials_once_and_retries() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let svc = tower::service_fn(move |req: http::Request<RequestBody>| {
        let auth = req
            .headers()
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        seen2.lock().unwrap().push(auth.clone());
        async move {
            let code = if auth == "Bearer fresh" { 200 } else { 401 };
            let resp = http::Response::builder()
                .status(code)
                .body(Full::new(Bytes::from_static(b"{}")))
                .unwrap();
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let provider = Arc::new(Rotating::default());
    let client = RestClient::builder(
        Config::new("http://unused.invalid").with_credential_provider(provider.clone()),
    )
    .service(svc)
    .build()
    .unwrap();
    client.get().resource("pods").send().await.unwrap();
    assert_eq!(*seen.lock().unwrap(), ["Bearer stale", "Bearer fresh"]);
    assert_eq!(provider.refreshed.load(Ordering::SeqCst), 1);

    // A server that never accepts: one refresh, then the 401 is reported.
    let never = tower::service_fn(|_req: http::Request<RequestBody>| async {
        Ok::<_, std::convert::Infallible>(
            http::Response::builder()
                .status(401)
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
    });
    let provider = Arc::new(Rotating::default());
    let client = RestClient::builder(
        Config::new("http://unused.invalid").with_credential_provider(provider.clone()),
    )
    .service(never)
    .build()
    .unwrap();
    let err = client.get().resource("pods").send().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert_eq!(provider.refreshed.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn static_auth_user_agent_and_impersonation_headers_are_sent() {
    let seen = Arc::new(Mutex::new(http::HeaderMap::new()));
    let seen2 = seen.clone();
    let svc = tower::service_fn(move |req: http::Request<RequestBody>| {
        *seen2.lock().unwrap() = req.headers().clone();
        async {
            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from_static(
                b"{}",
            ))))
        }
    });
    let mut imp = kubecto_rest_core::Impersonate::default();
    imp.user = Some("jane".into());
    imp.groups = vec!["devs".into(), "ops".into()];
    let client = RestClient::builder(
        Config::new("http://unused.invalid")
            .with_basic_auth("alice", "secret")
            .with_impersonate(imp),
    )
    .service(svc)
    .build()
    .unwrap();
    client
        .post()
        .resource("pods")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    let h = seen.lock().unwrap().clone();
    assert_eq!(h["authorization"], "Basic YWxpY2U6c2VjcmV0");
    assert!(h["authorization"].is_sensitive());
    assert_eq!(h["impersonate-user"], "jane");
    assert_eq!(h.get_all("impersonate-group").iter().count(), 2);
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["accept"], "application/json");
    let ua = h["user-agent"].to_str().unwrap();
    assert!(ua.starts_with("kubecto/0.1.0 ("), "{ua}");
    assert!(ua.contains(std::env::consts::OS), "{ua}");
}
