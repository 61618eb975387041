//! TLS with a generated CA, bearer tokens, client certificates, 401/403 bodies as
//! kube-apiserver writes them, and token rotation. The client here is hyper over
//! tokio-rustls, one connection per request, no kubecto crate.

mod common;

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::TokioIo;
use kubecto_testserver::{ClientCert, TestServer};
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::{Value, json};
use tokio_rustls::TlsConnector;

/// How to connect: which CA to trust, which name to check, which client certificate.
struct Tls<'a> {
    ca: &'a str,
    name: &'a str,
    cert: Option<&'a ClientCert>,
}

fn connector(tls: &Tls<'_>) -> TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(tls.ca.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match tls.cert {
        Some(c) => {
            let chain = CertificateDer::pem_slice_iter(c.cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_slice(c.key_pem.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    TlsConnector::from(Arc::new(config))
}

/// One GET over a fresh TLS connection: (status, body as JSON or a string), or the
/// handshake error.
async fn get(
    server: &TestServer,
    tls: &Tls<'_>,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(u16, Value), String> {
    let tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let name = ServerName::try_from(tls.name.to_owned()).unwrap();
    let stream = connector(tls)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut req = http::Request::get(path).header("host", "localhost");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = send
        .send_request(req.body(Empty::<Bytes>::new()).unwrap())
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    Ok((status, value))
}

fn unauthorized() -> Value {
    json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})
}

#[tokio::test]
async fn tls_with_a_generated_ca_and_an_open_server() {
    let server = TestServer::builder().tls().start().await.unwrap();
    assert!(server.url().starts_with("https://127.0.0.1:"));
    let ca = server.ca_pem().unwrap();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    for name in ["127.0.0.1", "localhost", "kubernetes.default.svc"] {
        let tls = Tls {
            ca: &ca,
            name,
            cert: None,
        };
        let (status, body) = get(&server, &tls, "/api/v1/namespaces", &[]).await.unwrap();
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(body["kind"], "NamespaceList");
    }
    assert_eq!(server.requests()[0].user, None);
    // The kubeconfig carries the CA.
    assert!(server.kubeconfig().contains("certificate-authority-data: "));
    assert!(server.kubeconfig().contains("server: https://127.0.0.1:"));
}

#[tokio::test]
async fn the_certificate_is_refused_for_another_name_or_another_ca() {
    let server = TestServer::builder().tls().start().await.unwrap();
    let other = TestServer::builder().tls().start().await.unwrap();
    let ca = server.ca_pem().unwrap();
    let wrong_name = Tls {
        ca: &ca,
        name: "wrong.example.com",
        cert: None,
    };
    let err = get(&server, &wrong_name, "/version", &[])
        .await
        .unwrap_err();
    assert!(err.contains("certificate") || err.contains("name"), "{err}");
    let other_ca = other.ca_pem().unwrap();
    let wrong_ca = Tls {
        ca: &other_ca,
        name: "127.0.0.1",
        cert: None,
    };
    let err = get(&server, &wrong_ca, "/version", &[]).await.unwrap_err();
    assert!(
        err.contains("UnknownIssuer") || err.contains("issuer"),
        "{err}"
    );
    // Custom names replace the defaults.
    let named = TestServer::builder()
        .tls_server_names(["api.example.test"])
        .start()
        .await
        .unwrap();
    let named_ca = named.ca_pem().unwrap();
    let by_ip = Tls {
        ca: &named_ca,
        name: "127.0.0.1",
        cert: None,
    };
    assert!(get(&named, &by_ip, "/version", &[]).await.is_err());
    let by_name = Tls {
        ca: &named_ca,
        name: "api.example.test",
        cert: None,
    };
    assert_eq!(get(&named, &by_name, "/version", &[]).await.unwrap().0, 200);
}

#[tokio::test]
async fn bearer_tokens_401_and_rotation() {
    let server = TestServer::builder()
        .tls()
        .require_token("first-token")
        .start()
        .await
        .unwrap();
    let ca = server.ca_pem().unwrap();
    let tls = Tls {
        ca: &ca,
        name: "127.0.0.1",
        cert: None,
    };
    let path = "/api/v1/namespaces/default/pods";
    assert_eq!(
        get(&server, &tls, path, &[]).await.unwrap(),
        (401, unauthorized())
    );
    let bad = [("authorization", "Bearer nope")];
    assert_eq!(
        get(&server, &tls, path, &bad).await.unwrap(),
        (401, unauthorized())
    );
    let basic = [("authorization", "Basic dTpw")];
    assert_eq!(get(&server, &tls, path, &basic).await.unwrap().0, 401);
    let good = [("authorization", "Bearer first-token")];
    assert_eq!(get(&server, &tls, path, &good).await.unwrap().0, 200);
    assert!(server.kubeconfig().contains("token: first-token"));

    server.rotate_token("second-token");
    assert_eq!(get(&server, &tls, path, &good).await.unwrap().0, 401);
    let rotated = [("authorization", "Bearer second-token")];
    assert_eq!(get(&server, &tls, path, &rotated).await.unwrap().0, 200);
    assert!(server.kubeconfig().contains("token: second-token"));

    let users: Vec<Option<String>> = server.requests().into_iter().map(|r| r.user).collect();
    assert_eq!(
        users,
        [
            None,
            None,
            None,
            Some("kubecto-admin".to_owned()),
            None,
            Some("kubecto-admin".to_owned())
        ]
    );
}

#[tokio::test]
async fn tokens_work_over_plain_http_too() {
    let server = TestServer::builder()
        .token("t1", "alice")
        .start()
        .await
        .unwrap();
    assert!(server.url().starts_with("http://"));
    let http = common::Http::new(&server);
    let answer = http.get("/api/v1/namespaces").await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json(), unauthorized());
    let res = http
        .start(
            "GET",
            "/api/v1/namespaces",
            &[("authorization", "Bearer t1")],
            Bytes::new(),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(server.requests()[1].user.as_deref(), Some("alice"));
    assert!(server.revoke_token("t1"));
    assert!(!server.revoke_token("t1"));
}

#[tokio::test]
async fn client_certificates_authenticate_as_their_common_name() {
    let server = TestServer::builder()
        .tls()
        .require_auth()
        .start()
        .await
        .unwrap();
    let ca = server.ca_pem().unwrap();
    let alice = server.issue_client_cert("alice", Some("devs")).unwrap();
    assert!(alice.key_pem.contains("PRIVATE KEY"));
    assert!(!format!("{alice:?}").contains(alice.key_pem.trim()));
    let tls = Tls {
        ca: &ca,
        name: "localhost",
        cert: Some(&alice),
    };
    let (status, _) = get(&server, &tls, "/api/v1/namespaces", &[]).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(server.requests()[0].user.as_deref(), Some("alice"));

    // Without a certificate: anonymous, refused.
    let anonymous = Tls {
        ca: &ca,
        name: "localhost",
        cert: None,
    };
    let (status, _) = get(&server, &anonymous, "/api/v1/namespaces", &[])
        .await
        .unwrap();
    assert_eq!(status, 401);

    // A certificate from a CA the server does not trust fails the handshake (or the
    // first request, with TLS 1.3).
    let other = TestServer::builder().tls().start().await.unwrap();
    let mallory = other.issue_client_cert("mallory", None).unwrap();
    let untrusted = Tls {
        ca: &ca,
        name: "localhost",
        cert: Some(&mallory),
    };
    assert!(
        get(&server, &untrusted, "/api/v1/namespaces", &[])
            .await
            .is_err()
    );

    // ... unless that CA is given as a client CA.
    let trusting = TestServer::builder()
        .tls()
        .client_ca(other.ca_pem().unwrap())
        .require_auth()
        .start()
        .await
        .unwrap();
    let trusting_ca = trusting.ca_pem().unwrap();
    let tls = Tls {
        ca: &trusting_ca,
        name: "localhost",
        cert: Some(&mallory),
    };
    let (status, _) = get(&trusting, &tls, "/api/v1/namespaces", &[])
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(trusting.requests()[0].user.as_deref(), Some("mallory"));

    // A client CA without TLS, or that is not PEM, is an error at start.
    assert!(TestServer::builder().client_ca("x").start().await.is_err());
    assert!(
        TestServer::builder()
            .tls()
            .client_ca("not pem")
            .start()
            .await
            .is_err()
    );
    assert!(
        TestServer::start()
            .await
            .unwrap()
            .issue_client_cert("a", None)
            .is_err()
    );
}

#[tokio::test]
async fn forbidden_users_get_kube_apiservers_403() {
    let server = TestServer::builder()
        .token("bob-token", "bob")
        .token("admin-token", "admin")
        .forbid_user("bob")
        .start()
        .await
        .unwrap();
    let http = common::Http::new(&server);
    let get = |path: &'static str, token: &'static str| {
        let http = &http;
        async move {
            let res = http
                .start(
                    "GET",
                    path,
                    &[("authorization", &format!("Bearer {token}"))],
                    Bytes::new(),
                )
                .await;
            let status = res.status().as_u16();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice::<Value>(&body).unwrap())
        }
    };
    let (status, body) = get("/api/v1/namespaces/default/pods", "bob-token").await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
            "message":"pods is forbidden: User \"bob\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"",
            "reason":"Forbidden","details":{"kind":"pods"},"code":403})
    );
    let (_, body) = get("/apis/apps/v1/namespaces/x/deployments/web", "bob-token").await;
    assert_eq!(
        body["message"],
        "deployments.apps \"web\" is forbidden: User \"bob\" cannot get resource \"deployments\" in API group \"apps\" in the namespace \"x\""
    );
    assert_eq!(
        body["details"],
        json!({"name":"web","group":"apps","kind":"deployments"})
    );
    let (_, body) = get("/api/v1/nodes", "bob-token").await;
    assert_eq!(
        body["message"],
        "nodes is forbidden: User \"bob\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
    );
    let (_, body) = get("/version", "bob-token").await;
    assert_eq!(
        body["message"],
        "forbidden: User \"bob\" cannot get path \"/version\""
    );
    assert_eq!(get("/api/v1/nodes", "admin-token").await.0, 200);

    // Impersonating a forbidden user is forbidden too; lifting the ban lets bob in.
    let res = http
        .start(
            "GET",
            "/api/v1/nodes",
            &[
                ("authorization", "Bearer admin-token"),
                ("impersonate-user", "bob"),
            ],
            Bytes::new(),
        )
        .await;
    assert_eq!(res.status(), 403);
    server.allow_user("bob");
    assert_eq!(get("/api/v1/nodes", "bob-token").await.0, 200);
    server.forbid_user("admin");
    assert_eq!(get("/api/v1/nodes", "admin-token").await.0, 403);
}
