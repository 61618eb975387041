//! The proxy subresources of pods, services and nodes, spoken to in raw HTTP (hyper), with a
//! backend the test starts behind them: methods, paths, queries and bodies arrive as sent
//! (large ones streamed both ways), headers are dropped and added as kube-apiserver drops and
//! adds them, redirects are rewritten, and a backend that refuses, a missing pod and a
//! service without endpoints answer with kube-apiserver's Status.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use common::Http;
use http::{Request, Response};
use http_body_util::{BodyExt as _, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use kubecto_testserver::TestServer;
use serde_json::json;
use tokio::net::TcpListener;

type Body = BoxBody<Bytes, hyper::Error>;

fn whole(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// The backend: `/big?n=N` answers N bytes, `/redirect` and `/away` redirect, `/headers`
/// answers with CORS and hop-by-hop headers; anything else echoes the request body back as
/// it arrives, with what it saw in `x-*` headers.
async fn backend(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let res = match path.as_str() {
        "/big" => {
            let n: usize = query
                .strip_prefix("n=")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            Response::new(whole(vec![b'x'; n]))
        }
        "/redirect" => Response::builder()
            .status(302)
            .header("location", "/login?next=%2Fa")
            .body(whole(""))
            .unwrap(),
        "/away" => Response::builder()
            .status(301)
            .header("location", "http://example.com/elsewhere")
            .body(whole(""))
            .unwrap(),
        "/headers" => Response::builder()
            .header("access-control-allow-origin", "*")
            .header("connection", "x-hop")
            .header("x-hop", "1")
            .header("x-kept", "1")
            .body(whole("ok"))
            .unwrap(),
        _ => {
            let seen = |name: &str| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_owned()
            };
            let mut res = Response::builder()
                .status(if req.method() == "POST" { 201 } else { 200 })
                .header("x-method", req.method().as_str())
                .header("x-uri", req.uri().to_string())
                .header("x-authorization", seen("authorization"))
                .header("x-impersonate-user", seen("impersonate-user"))
                .header("x-forwarded-for", seen("x-forwarded-for"))
                .header("x-forwarded-uri", seen("x-forwarded-uri"))
                .header("x-host", seen("host"))
                .header("x-mine", seen("x-mine"))
                .header("x-custom", seen("x-custom"));
            if let Some(len) = req.headers().get("content-length") {
                res = res.header("content-length", len);
            }
            res.body(req.into_body().boxed()).unwrap()
        }
    };
    Ok(res)
}

async fn start_backend() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(conn), hyper::service::service_fn(backend)),
            );
        }
    });
    addr
}

/// A server whose pod `web` (10.1.0.5) listens on 8080 and whose node `node-1` has its
/// kubelet port, both at the backend; every other port refuses.
async fn setup() -> (TestServer, Http) {
    let backend = start_backend().await;
    let server = TestServer::builder()
        .port_forward(move |namespace, pod, port| {
            matches!(
                (namespace, pod, port),
                ("default", "web", 8080) | ("", "node-1", 10250)
            )
            .then_some(backend)
        })
        .start()
        .await
        .unwrap();
    let ready = json!([{"type": "Ready", "status": "True"}]);
    for (name, ip) in [("web", Some("10.1.0.5")), ("noip", None)] {
        server
            .seed(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
                "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "nginx",
                    "ports": [{"name": "http-alt", "containerPort": 8080}]}]},
                "status": {"phase": "Running", "podIP": ip,
                    "podIPs": ip.map(|ip| json!([{"ip": ip}])), "conditions": ready}}))
            .unwrap();
    }
    for (name, app) in [("web", "web"), ("empty", "nothing")] {
        server
            .seed(json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": "default"},
                "spec": {"selector": {"app": app},
                    "ports": [{"name": "http", "port": 80, "targetPort": "http-alt"}]}}))
            .unwrap();
    }
    server
        .seed(
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
            "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.10"}]}}),
        )
        .unwrap();
    let http = Http::new(&server);
    (server, http)
}

const POD: &str = "/api/v1/namespaces/default/pods";
const SVC: &str = "/api/v1/namespaces/default/services";

async fn call(http: &Http, method: &str, path: &str, headers: &[(&str, &str)]) -> common::Answer {
    let res = http.start(method, path, headers, Bytes::new()).await;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    common::Answer {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn a_pod_gets_the_path_and_query_without_the_authorization() {
    let (server, http) = setup().await;
    server.add_token("s3cret", "alice");
    let path = format!("{POD}/web:8080/proxy/a/b?x=1&y=two%20words");
    let a = call(
        &http,
        "GET",
        &path,
        &[
            ("authorization", "Bearer s3cret"),
            ("impersonate-user", "bob"),
            ("x-custom", "kept"),
        ],
    )
    .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.header("x-method"), "GET");
    assert_eq!(a.header("x-uri"), "/a/b?x=1&y=two%20words");
    assert_eq!(a.header("x-authorization"), "-");
    assert_eq!(a.header("x-impersonate-user"), "-");
    assert_eq!(a.header("x-custom"), "kept");
    assert_eq!(a.header("x-forwarded-for"), "127.0.0.1");
    assert_eq!(
        a.header("x-forwarded-uri"),
        format!("{POD}/web:8080/proxy/a/b")
    );
    assert_eq!(a.header("x-host"), server.addr().to_string());
    // No port: the first container port the pod declares.
    let a = call(&http, "GET", &format!("{POD}/web/proxy/"), &[]).await;
    assert_eq!((a.status, a.header("x-uri")), (200, "/"));
}

#[tokio::test]
async fn every_method_reaches_the_backend_with_its_body() {
    let (_server, http) = setup().await;
    for method in ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        let path = format!("{POD}/web:8080/proxy/things");
        let a = http
            .send(method, &path, "text/plain", format!("body of {method}"))
            .await;
        let expected = if method == "POST" { 201 } else { 200 };
        assert_eq!(a.status, expected, "{method}");
        assert_eq!(a.header("x-method"), method);
        assert_eq!(a.body, format!("body of {method}").as_bytes(), "{method}");
    }
    let a = call(&http, "HEAD", &format!("{POD}/web:8080/proxy/things"), &[]).await;
    assert_eq!((a.status, a.header("x-method")), (200, "HEAD"));
    assert!(a.body.is_empty());
}

#[tokio::test]
async fn large_bodies_stream_both_ways() {
    let (_server, http) = setup().await;
    let sent: Vec<u8> = (0..8 << 20).map(|i: u32| (i % 251) as u8).collect();
    let a = http
        .send(
            "PUT",
            &format!("{POD}/web:8080/proxy/upload"),
            "application/octet-stream",
            sent.clone(),
        )
        .await;
    assert_eq!(a.status, 200);
    assert!(a.body == sent, "the echoed body differs");
    let a = call(
        &http,
        "GET",
        &format!("{POD}/web:8080/proxy/big?n={}", 16 << 20),
        &[],
    )
    .await;
    assert_eq!((a.status, a.body.len()), (200, 16 << 20));
}

#[tokio::test]
async fn hop_by_hop_and_cors_headers_are_dropped() {
    let (_server, http) = setup().await;
    let a = call(
        &http,
        "GET",
        &format!("{POD}/web:8080/proxy/echo"),
        &[("connection", "x-mine"), ("x-mine", "1")],
    )
    .await;
    assert_eq!(
        a.header("x-mine"),
        "-",
        "a header Connection names is hop-by-hop"
    );
    let a = call(&http, "GET", &format!("{POD}/web:8080/proxy/headers"), &[]).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("x-kept"), "1");
    for gone in ["x-hop", "access-control-allow-origin"] {
        assert!(a.headers.get(gone).is_none(), "{gone} passed");
    }
}

#[tokio::test]
async fn redirects_are_rewritten_under_the_proxy_path() {
    let (_server, http) = setup().await;
    let prefix = format!("{POD}/web:8080/proxy");
    let a = call(&http, "GET", &format!("{prefix}/redirect"), &[]).await;
    assert_eq!(a.status, 302);
    assert_eq!(a.header("location"), format!("{prefix}/login?next=%2Fa"));
    let a = call(&http, "GET", &format!("{prefix}/away"), &[]).await;
    assert_eq!(a.header("location"), "http://example.com/elsewhere");
    // No path at all: kube-apiserver's redirect to the same path with a slash.
    let a = call(&http, "GET", &format!("{prefix}?q=1"), &[]).await;
    assert_eq!(a.status, 301);
    assert_eq!(a.header("location"), format!("{prefix}/?q=1"));
}

#[tokio::test]
async fn a_service_goes_to_a_ready_pod_through_its_target_port() {
    let (_server, http) = setup().await;
    for id in ["web:80", "web:http", "http:web:80"] {
        let a = call(&http, "GET", &format!("{SVC}/{id}/proxy/hello?x=1"), &[]).await;
        assert_eq!(a.status, 200, "{id}: {}", String::from_utf8_lossy(&a.body));
        assert_eq!(a.header("x-uri"), "/hello?x=1");
        assert_eq!(
            a.header("x-forwarded-uri"),
            format!("{SVC}/{id}/proxy/hello")
        );
    }
    let cases = [
        (
            "web/proxy/",
            503,
            "no endpoints available for service \"web\"",
        ),
        (
            "web:81/proxy/",
            503,
            "no service port 81 found for service \"web\"",
        ),
        (
            "empty:80/proxy/",
            503,
            "no endpoints available for service \"empty\"",
        ),
        ("missing:80/proxy/", 404, "services \"missing\" not found"),
        ("missing/proxy/", 404, "endpoints \"missing\" not found"),
        (
            "ftp:web:80/proxy/",
            400,
            "invalid service request \"ftp:web:80\"",
        ),
    ];
    for (path, code, message) in cases {
        let a = call(&http, "GET", &format!("{SVC}/{path}"), &[]).await;
        assert_eq!(a.status, code, "{path}");
        let status = a.json();
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["message"], message, "{path}");
    }
}

#[tokio::test]
async fn a_node_goes_to_its_kubelet_port() {
    let (_server, http) = setup().await;
    let a = call(&http, "GET", "/api/v1/nodes/node-1/proxy/metrics", &[]).await;
    assert_eq!((a.status, a.header("x-uri")), (200, "/metrics"));
    let a = call(&http, "GET", "/api/v1/nodes/node-1:10250/proxy/stats", &[]).await;
    assert_eq!((a.status, a.header("x-uri")), (200, "/stats"));
    let a = call(&http, "GET", "/api/v1/nodes/node-1:9100/proxy/metrics", &[]).await;
    assert_eq!(a.status, 503);
    assert_eq!(
        a.json()["message"],
        "error trying to reach service: dial tcp 10.0.0.10:9100: connect: connection refused"
    );
    let a = call(&http, "GET", "/api/v1/nodes/ghost/proxy/", &[]).await;
    assert_eq!(
        (a.status, a.json()["message"].clone()),
        (404, json!("nodes \"ghost\" not found"))
    );
}

#[tokio::test]
async fn failures_answer_with_kube_apiservers_status() {
    let (_server, http) = setup().await;
    let a = call(&http, "GET", &format!("{POD}/web:9999/proxy/"), &[]).await;
    assert_eq!(a.status, 503);
    let status = a.json();
    assert_eq!(status["reason"], "ServiceUnavailable");
    assert_eq!(status["code"], 503);
    assert_eq!(
        status["message"],
        "error trying to reach service: dial tcp 10.1.0.5:9999: connect: connection refused"
    );
    let cases = [
        ("ghost/proxy/", 404, "pods \"ghost\" not found"),
        ("noip/proxy/", 400, "address not allowed"),
        (
            "web:metrics/proxy/",
            503,
            "error trying to reach service: dial tcp: lookup tcp/metrics: unknown port",
        ),
    ];
    for (path, code, message) in cases {
        let a = call(&http, "GET", &format!("{POD}/{path}"), &[]).await;
        assert_eq!(a.status, code, "{path}");
        assert_eq!(a.json()["message"], message, "{path}");
    }
    let a = call(&http, "TRACE", &format!("{POD}/web/proxy/"), &[]).await;
    assert_eq!(a.status, 405);
}
