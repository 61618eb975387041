//! The default client's connection pool: HTTP/1 connections are reused after every kind of
//! answer, closed when a body is abandoned, and a connection the server closed while it
//! sat idle is never used for a request.

mod common;

use std::time::Duration;

use common::{PODS, client, list_pods, pod, seed_pods};
use futures_util::StreamExt;
use kubecto_rest_core::{Config, RestClient, WatchEvent};
use kubecto_testserver::{Fault, TestServer};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn get_pod(client: &RestClient, name: &str) -> kubecto_rest_core::Result<Value> {
    client
        .get()
        .namespace("default")
        .resource("pods")
        .name(name)
        .send()
        .await?
        .into()
        .await
}

#[tokio::test]
async fn sequential_requests_share_one_connection() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 3);
    let client = client(&server);
    for i in 0..50 {
        let p = get_pod(&client, &format!("pod-{:03}", i % 3))
            .await
            .unwrap();
        assert_eq!(p["metadata"]["name"], format!("pod-{:03}", i % 3));
    }
    let created = client
        .post()
        .namespace("default")
        .resource("pods")
        .json(&pod("new"))
        .send()
        .await
        .unwrap();
    assert!(created.is_created());
    let created: Value = created.into().await.unwrap();
    assert_eq!(created["metadata"]["name"], "new");
    let list: Value = list_pods(&client).await.into().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 4);
    assert_eq!(server.request_count("GET", "/api/v1/*"), 51);
    assert_eq!(
        server.connections(),
        1,
        "every request reused the first connection"
    );
}

#[tokio::test]
async fn error_answers_keep_the_connection() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 1);
    let client = client(&server);
    for _ in 0..5 {
        let err = get_pod(&client, "missing").await.unwrap_err();
        assert!(err.is_not_found(), "{err}");
    }
    server.inject(
        Fault::status(429)
            .retry_after("0")
            .method("GET")
            .path(&format!("{PODS}/pod-000"))
            .times(3),
    );
    get_pod(&client, "pod-000").await.unwrap();
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn an_unread_small_answer_is_drained_and_its_connection_reused() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 1);
    let client = client(&server);
    let unread = client
        .get()
        .namespace("default")
        .resource("pods")
        .name("pod-000")
        .send()
        .await
        .unwrap();
    drop(unread);
    // The drain runs in the background; give it a moment.
    tokio::time::sleep(Duration::from_millis(100)).await;
    get_pod(&client, "pod-000").await.unwrap();
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn an_abandoned_watch_closes_its_connection_and_the_next_request_opens_another() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 2);
    let client = client(&server);
    let mut events = Box::pin(
        client
            .get()
            .namespace("default")
            .resource("pods")
            .param("resourceVersion", "0")
            .watch::<Value>(),
    );
    match events.next().await.unwrap().unwrap() {
        WatchEvent::Added(p) => assert_eq!(p["kind"], "Pod"),
        other => panic!("expected ADDED, got {other:?}"),
    }
    drop(events);
    get_pod(&client, "pod-001").await.unwrap();
    get_pod(&client, "pod-000").await.unwrap();
    assert_eq!(
        server.connections(),
        2,
        "the watch's connection is not reused half read; the GETs share a new one"
    );
}

#[tokio::test]
async fn a_dropped_connection_is_not_put_back() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 1);
    let client = client(&server);
    get_pod(&client, "pod-000").await.unwrap();
    server.inject(Fault::truncate_body(100).method("GET").path(PODS));
    let err = list_pods(&client).await.into::<Value>().await.unwrap_err();
    assert!(!err.to_string().is_empty());
    get_pod(&client, "pod-000").await.unwrap();
    assert_eq!(server.connections(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_reuse_what_they_opened() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 8);
    let client = client(&server);
    for round in 0..3 {
        let mut tasks = Vec::new();
        for i in 0..8 {
            let c = client.clone();
            tasks.push(tokio::spawn(async move {
                get_pod(&c, &format!("pod-{i:03}")).await.unwrap()
            }));
        }
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap()["metadata"]["name"], format!("pod-{i:03}"));
        }
        assert!(
            server.connections() <= 8,
            "round {round}: {} connections for 8 concurrent requests",
            server.connections()
        );
    }
}

/// A bare HTTP/1.1 server that answers one request per connection and closes it: with
/// `announce`, saying `Connection: close` (as kube-apiserver does for a share of HTTP/1
/// requests with `--goaway-chance`) and closing at once; without, promising keep-alive and
/// closing a little later anyway, as a server whose idle timeout has passed does. It
/// reports each request's head.
async fn closing_server(announce: bool) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = sock.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    let n = sock.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                tx.send(head).unwrap();
                let body = br#"{"kind":"Status","apiVersion":"v1","status":"Success"}"#;
                let close = if announce {
                    "connection: close\r\n"
                } else {
                    ""
                };
                let answer = format!(
                    "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\n{close}content-length: {}\r\n\r\n",
                    body.len()
                );
                sock.write_all(answer.as_bytes()).await.unwrap();
                sock.write_all(body).await.unwrap();
                if !announce {
                    // Keep-alive was promised; close a little later, while the client's
                    // connection sits idle in its pool.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
        }
    });
    (url, rx)
}

#[tokio::test]
async fn a_connection_the_server_closed_while_idle_is_not_used_for_a_write() {
    let (url, mut heads) = closing_server(false).await;
    let client = RestClient::new(Config::new(url.as_str()).without_rate_limit()).unwrap();
    let port = url.rsplit(':').next().unwrap().to_owned();
    for i in 0..3 {
        let resp = client
            .post()
            .namespace("default")
            .resource("pods")
            .json(&pod(&format!("p{i}")))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {i} on a fresh connection: {e}"));
        assert!(resp.is_created());
        let head = heads.recv().await.unwrap();
        let mut lines = head.lines();
        assert_eq!(
            lines.next().unwrap(),
            "POST /api/v1/namespaces/default/pods HTTP/1.1",
            "origin form on the request line"
        );
        assert!(
            head.lines()
                .any(|l| l.eq_ignore_ascii_case(&format!("host: 127.0.0.1:{port}"))),
            "Host names the server: {head}"
        );
        // Let the server close the idle connection.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(heads.try_recv().is_err(), "each POST was sent exactly once");
}

#[tokio::test]
async fn a_connection_the_server_said_it_closes_is_not_reused() {
    let (url, mut heads) = closing_server(true).await;
    let client = RestClient::new(Config::new(url.as_str()).without_rate_limit()).unwrap();
    for i in 0..3 {
        // No pause: the next write follows the answer at once.
        let resp = client
            .post()
            .namespace("default")
            .resource("pods")
            .json(&pod(&format!("p{i}")))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {i} after `Connection: close`: {e}"));
        assert!(resp.is_created());
        let _: Value = resp.into().await.unwrap();
        heads.recv().await.unwrap();
    }
    assert!(heads.try_recv().is_err(), "each POST was sent exactly once");
}
