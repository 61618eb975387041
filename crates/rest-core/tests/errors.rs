//! Non-2xx answers become `Error::Api` with the server's Status, or one synthesised with client-go's reason.

use kubecto_rest_core::{Error, Status};

fn api(code: u16, reason: &str) -> Error {
    Error::Api(Box::new(Status::failure(code, reason, "m")))
}

#[test]
fn helpers_match_reasons() {
    assert!(api(404, "NotFound").is_not_found());
    assert!(api(409, "Conflict").is_conflict());
    assert!(!api(409, "Conflict").is_already_exists());
    assert!(api(409, "AlreadyExists").is_already_exists());
    assert!(!api(409, "AlreadyExists").is_conflict());
    assert!(api(410, "Expired").is_expired());
    assert!(api(410, "Expired").is_gone());
    assert!(api(410, "Gone").is_gone());
    assert!(!api(410, "Gone").is_expired());
    assert!(api(429, "TooManyRequests").is_too_many_requests());
    assert!(api(422, "Invalid").is_invalid());
    assert!(api(401, "Unauthorized").is_unauthorized());
    assert!(api(403, "Forbidden").is_forbidden());
    assert!(api(504, "Timeout").is_timeout());
    assert!(!api(500, "InternalError").is_not_found());
    let transport = Error::InvalidRequest { what: "x".into() };
    assert!(!transport.is_not_found() && transport.status().is_none());
}

#[test]
fn status_round_trips_the_server_format() {
    let body = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Pod \"x\" is invalid: spec.containers[0].image: Required value","reason":"Invalid","details":{"name":"x","kind":"Pod","causes":[{"reason":"FieldValueRequired","message":"Required value","field":"spec.containers[0].image"}]},"code":422}"#;
    let status: Status = serde_json::from_str(body).unwrap();
    assert_eq!(status.code, 422);
    let details = status.details.as_ref().unwrap();
    assert_eq!(details.causes[0].field, "spec.containers[0].image");
    let err = Error::Api(Box::new(status));
    assert!(err.is_invalid());
    assert!(err.to_string().contains("Required value"), "{err}");
    assert!(err.to_string().contains("422"), "{err}");
}

#[test]
fn retried_errors_say_what_earlier_attempts_saw() {
    let err = Error::Retried {
        attempts: 3,
        history: vec![
            "attempt 1: 429 Too Many Requests, retried after 1s".into(),
            "attempt 2: 503 Service Unavailable, retried after 1s".into(),
        ],
        last: Box::new(api(503, "ServiceUnavailable")),
    };
    let text = err.to_string();
    assert!(text.contains("after 3 attempts"), "{text}");
    assert!(text.contains("attempt 1: 429"), "{text}");
    assert!(text.contains("attempt 2: 503"), "{text}");
    assert_eq!(err.code(), Some(503));
    assert!(std::error::Error::source(&err).is_some());
}

mod common;

use common::{PODS, client, pod};
use kubecto_rest_core::{DeleteOptions, PatchType, Preconditions};
use kubecto_testserver::TestServer;

#[tokio::test]
async fn a_missing_pod_is_not_found_with_the_servers_status() {
    let server = TestServer::start().await.unwrap();
    let err = client(&server)
        .get()
        .namespace("default")
        .resource("pods")
        .name("nope")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let status = err.status().unwrap();
    assert_eq!(status.code, 404);
    assert_eq!(
        status.details.as_ref().map(|d| d.name.as_str()),
        Some("nope")
    );
}

#[tokio::test]
async fn creating_twice_is_already_exists_and_a_stale_update_is_a_conflict() {
    let server = TestServer::start().await.unwrap();
    let c = client(&server);
    let created: serde_json::Value = c
        .post()
        .namespace("default")
        .resource("pods")
        .json(&pod("twice"))
        .send()
        .await
        .unwrap()
        .into()
        .await
        .unwrap();
    let err = c
        .post()
        .namespace("default")
        .resource("pods")
        .json(&pod("twice"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");
    assert!(!err.is_conflict(), "{err:?}");

    // An update carrying an old resourceVersion loses.
    let mut stale = created.clone();
    stale["metadata"]["resourceVersion"] = "1".into();
    c.patch(PatchType::Merge)
        .namespace("default")
        .resource("pods")
        .name("twice")
        .json(&serde_json::json!({"metadata": {"labels": {"x": "y"}}}))
        .send()
        .await
        .unwrap();
    let err = c
        .put()
        .namespace("default")
        .resource("pods")
        .name("twice")
        .json(&created)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
}

#[tokio::test]
async fn delete_with_a_wrong_precondition_is_a_conflict() {
    let server = TestServer::start().await.unwrap();
    server.seed(pod("d")).unwrap();
    let err = client(&server)
        .delete()
        .namespace("default")
        .resource("pods")
        .name("d")
        .json(&DeleteOptions::new().preconditions(Preconditions::new().uid("not-the-uid")))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert_eq!(server.request_count("DELETE", &format!("{PODS}/d")), 1);
}

#[tokio::test]
async fn an_invalid_object_is_invalid() {
    let server = TestServer::start().await.unwrap();
    let err = client(&server)
        .post()
        .namespace("default")
        .resource("pods")
        .json(&serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "Bad_Name"}, "spec": {"containers": []}}))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err:?}");
}

/// A body that is not a Status gets the Status client-go would synthesise; this also
/// shows a user's own tower service standing in for the HTTP client.
#[tokio::test]
async fn a_plain_text_error_body_is_synthesised_into_a_status() {
    use bytes::Bytes;
    use http_body_util::Full;
    let svc = tower::service_fn(
        |req: http::Request<kubecto_rest_core::RequestBody>| async move {
            let (code, body) = match *req.method() {
                http::Method::POST => (409, "exists already"),
                _ => (404, "404 page not found"),
            };
            let resp = http::Response::builder()
                .status(code)
                .header("content-type", "text/plain")
                .body(Full::new(Bytes::from_static(body.as_bytes())))
                .unwrap();
            Ok::<_, std::convert::Infallible>(resp)
        },
    );
    let client = kubecto_rest_core::RestClient::builder(kubecto_rest_core::Config::new(
        "http://unused.invalid",
    ))
    .service(svc)
    .build()
    .unwrap();
    let err = client.get().resource("widgets").send().await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let status = err.status().unwrap();
    assert_eq!(status.reason, "NotFound");
    assert!(
        status.message.contains("404 page not found"),
        "{}",
        status.message
    );
    let err = client
        .post()
        .resource("widgets")
        .body("{}")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");
    let err = client
        .put()
        .resource("widgets")
        .name("w")
        .body("{}")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

/// Every line of `err`'s chain, as a person reading `caused by:` lines sees them.
fn chain_lines(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut lines = vec![err.to_string()];
    let mut next = err.source();
    while let Some(e) = next {
        lines.push(e.to_string());
        next = e.source();
    }
    lines
}

#[tokio::test]
async fn connection_refused_says_the_url_and_the_cause_once() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = kubecto_rest_core::RestClient::new(kubecto_rest_core::Config::new(format!(
        "http://127.0.0.1:{port}"
    )))
    .unwrap();
    let err = client
        .get()
        .namespace("default")
        .resource("pods")
        .send()
        .await
        .unwrap_err();
    // Two lines: what failed where, with the cause; then the cause itself (no "cannot
    // connect", no "tcp connect error" in between).
    let lines = chain_lines(&err);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_eq!(
        lines[0],
        format!(
            "connection refused talking to http://127.0.0.1:{port}/api/v1/namespaces/default/pods: {}",
            lines[1]
        )
    );
    #[cfg(target_os = "linux")]
    assert_eq!(lines[1], "Connection refused (os error 111)");
    // The cause is the operating system's own error, not a wrapper around it.
    let cause = std::error::Error::source(&err).unwrap();
    let io = cause
        .downcast_ref::<std::io::Error>()
        .expect("an io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn unauthorized_says_whose_credentials_were_refused() {
    let server = TestServer::builder()
        .require_token("right-token")
        .start()
        .await
        .unwrap();
    let list = async |config: kubecto_rest_core::Config| {
        kubecto_rest_core::RestClient::new(config)
            .unwrap()
            .get()
            .resource("namespaces")
            .send()
            .await
            .unwrap_err()
    };
    // Without an origin, the kind of credentials sent.
    let err =
        list(kubecto_rest_core::Config::new(server.url()).with_bearer_token("wrong-token")).await;
    assert!(err.is_unauthorized(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "Unauthorized: the server refused the bearer token (Unauthorized, 401)"
    );
    let err = list(kubecto_rest_core::Config::new(server.url())).await;
    assert_eq!(
        err.to_string(),
        "Unauthorized: the server refused anonymous access (the request carried no credentials) (Unauthorized, 401)"
    );
    // With one, as kubecto-config sets it: the user and the source, never the secret.
    let err = list(
        kubecto_rest_core::Config::new(server.url())
            .with_bearer_token("wrong-token")
            .with_credential_origin(
                "the credentials of user \"alice\" (bearer token from file /run/token)",
            ),
    )
    .await;
    assert_eq!(
        err.to_string(),
        "Unauthorized: the server refused the credentials of user \"alice\" (bearer token from file /run/token) (Unauthorized, 401)"
    );
    assert!(!format!("{err} {err:?}").contains("wrong-token"));
    assert_eq!(err.status().unwrap().reason, "Unauthorized");
    server.shutdown().await;
}
