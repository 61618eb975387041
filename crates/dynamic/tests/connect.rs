//! `connect()` on a resource named by its GroupVersionResource: a raw request to the
//! `proxy` subresource of a service, passed on by the test server to a backend the test
//! starts, and a refusing backend's 503 surfacing as the server's Status.

mod common;

use http::Method;
use kubecto_dynamic::GroupVersionResource;
use kubecto_testserver::TestServer;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// Answers each request with its request line, then closes.
async fn backend() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(n @ 1..) => head.extend_from_slice(&buf[..n]),
                        _ => return,
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let line = text.lines().next().unwrap_or_default().to_owned();
                let out = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{line}",
                    line.len()
                );
                let _ = sock.write_all(out.as_bytes()).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn connect_sends_a_raw_request_to_a_services_proxy() {
    let backend = backend().await;
    let server = TestServer::builder()
        .port_forward(move |ns, pod, port| {
            (ns == "default" && pod == "web" && port == 8080).then_some(backend)
        })
        .start()
        .await
        .unwrap();
    server
        .seed(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "nginx"}]},
            "status": {"phase": "Running", "podIP": "10.1.0.5", "podIPs": [{"ip": "10.1.0.5"}],
                "conditions": [{"type": "Ready", "status": "True"}]}}))
        .unwrap();
    server
        .seed(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"},
                "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}))
        .unwrap();
    let services = common::client(&server)
        .resource(GroupVersionResource::new("", "v1", "services"))
        .namespace("default");
    let body = services
        .connect(Method::GET, "web:http", "proxy", "healthz")
        .unwrap()
        .param("full", "1")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&body[..], b"GET /healthz?full=1 HTTP/1.1");
    let err = services
        .connect(Method::GET, "web:81", "proxy", "")
        .unwrap()
        .send()
        .await
        .unwrap_err();
    let status = err.status().expect("an API error");
    assert_eq!(
        (status.code, status.reason.as_str()),
        (503, "ServiceUnavailable")
    );
    assert_eq!(
        status.message,
        "no service port 81 found for service \"web\""
    );
}
