//! The proxy subresources of pods, services and nodes against the test server, passed on
//! to a backend the test starts: a GET with a query, a POST with a body, and a backend that
//! refuses, which surfaces as `Error::Api` carrying kube-apiserver's 503 Status.

mod common;

use std::net::SocketAddr;

use http::Method;
use kubecto_clientset::{Clientset, Error};
use kubecto_rest_core::Config;
use kubecto_testserver::TestServer;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// A tiny HTTP server: answers each request with JSON naming its method, target and body.
async fn backend() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 16 * 1024];
                let (head_end, length) = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse::<usize>().unwrap_or(0));
                        break (end + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let mut line = head.lines().next().unwrap_or_default().split(' ');
                let answer = json!({
                    "method": line.next(),
                    "target": line.next(),
                    "body": String::from_utf8_lossy(&buf[head_end..]),
                })
                .to_string();
                let out = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = sock.write_all(out.as_bytes()).await;
            });
        }
    });
    addr
}

/// A server where pod `web` (10.1.0.5, port 8080, ready, behind service `web` port 80) and
/// node `node-1`'s kubelet lead to the backend; every other port refuses.
async fn serve() -> (TestServer, Clientset) {
    let backend = backend().await;
    let server = TestServer::builder()
        .port_forward(move |ns, pod, port| {
            matches!(
                (ns, pod, port),
                ("default", "web", 8080) | ("", "node-1", 10250)
            )
            .then_some(backend)
        })
        .start()
        .await
        .unwrap();
    for object in [
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "nginx",
                "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": "10.1.0.5", "podIPs": [{"ip": "10.1.0.5"}],
                "conditions": [{"type": "Ready", "status": "True"}]}}),
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"},
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}),
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
            "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.10"}]}}),
    ] {
        server.seed(object).unwrap();
    }
    let clientset = Clientset::new(Config::new(server.url()).without_rate_limit()).unwrap();
    (server, clientset)
}

async fn json_of(req: kubecto_rest_core::Request) -> Value {
    req.send().await.unwrap().into::<Value>().await.unwrap()
}

#[tokio::test]
async fn pod_proxy_passes_a_get_with_its_query_and_a_post_with_its_body() {
    let (_server, cs) = serve().await;
    let pods = cs.core_v1().pods("default");
    let got = json_of(
        pods.proxy(Method::GET, "web", Some("8080"), "status/live")
            .unwrap()
            .param("verbose", "1"),
    )
    .await;
    assert_eq!(got["method"], "GET");
    assert_eq!(got["target"], "/status/live?verbose=1");
    // No port: the pod's first container port.
    let posted = json_of(
        pods.proxy(Method::POST, "web", None, "submit")
            .unwrap()
            .body("payload"),
    )
    .await;
    assert_eq!(posted["method"], "POST");
    assert_eq!(posted["target"], "/submit");
    assert_eq!(posted["body"], "payload");
}

#[tokio::test]
async fn service_proxy_reaches_the_pod_behind_the_port() {
    let (_server, cs) = serve().await;
    let services = cs.core_v1().services("default");
    for port in ["80", "http"] {
        let got = json_of(
            services
                .proxy(Method::GET, "web", Some(port), "healthz")
                .unwrap()
                .param("q", "a b"),
        )
        .await;
        assert_eq!(got["target"], "/healthz?q=a%20b", "port {port}");
    }
    let posted = json_of(
        services
            .proxy(Method::POST, "web", Some("http"), "api/items")
            .unwrap()
            .body(r#"{"x":1}"#),
    )
    .await;
    assert_eq!(
        (posted["method"].as_str(), posted["body"].as_str()),
        (Some("POST"), Some(r#"{"x":1}"#))
    );
}

#[tokio::test]
async fn node_proxy_reaches_the_kubelet() {
    let (_server, cs) = serve().await;
    let got = json_of(
        cs.core_v1()
            .nodes()
            .proxy(Method::GET, "node-1", None, "metrics/cadvisor")
            .unwrap(),
    )
    .await;
    assert_eq!(got["target"], "/metrics/cadvisor");
}

#[tokio::test]
async fn a_refusing_backend_is_an_api_error_with_the_servers_status() {
    let (_server, cs) = serve().await;
    let err = cs
        .core_v1()
        .pods("default")
        .proxy(Method::GET, "web", Some("9090"), "metrics")
        .unwrap()
        .send()
        .await
        .unwrap_err();
    let Error::Api(status) = &err else {
        panic!("not an API error: {err:?}");
    };
    assert_eq!(status.code, 503);
    assert_eq!(status.reason, "ServiceUnavailable");
    assert_eq!(
        status.message,
        "error trying to reach service: dial tcp 10.1.0.5:9090: connect: connection refused"
    );
    let err = cs
        .core_v1()
        .services("default")
        .proxy(Method::GET, "missing", Some("80"), "")
        .unwrap()
        .send()
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}
