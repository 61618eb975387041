//! Hostile servers: a peer that stalls mid-body, never finishes a TLS handshake, sends
//! more headers than hyper's default allows, or an ERROR event that is not a Status; and
//! credentials in the server URL, which must never be sent as `Host` or shown.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use kubecto_rest_core::{Config, Error, RestClient, WatchEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A raw HTTP/1.1 server on loopback: for each request head it reads, it records it and
/// writes `answer`; it never closes a connection (an answer cut short stalls it).
async fn raw_server(answer: &'static [u8]) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let heads = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                loop {
                    let mut head = Vec::new();
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tcp.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    seen.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&head).into_owned());
                    if tcp.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, heads)
}

/// A chunked answer that starts a list of pods and then stalls.
const PART_OF_A_LIST: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n3c\r\n{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{},\"items\":[{\r\n";

fn timed_client(addr: SocketAddr, timeout: Duration) -> RestClient {
    RestClient::new(Config::new(format!("http://{addr}")).with_timeout(timeout)).unwrap()
}

/// `fut`, or a failure if the client is still waiting after 10 s (the bug this guards
/// against is a hang, which must fail the test rather than stall it).
async fn or_hang<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .expect("the client never gave up on a stalled body")
}

fn assert_timed_out(err: &Error, started: Instant, what: &str) {
    assert!(
        matches!(err.last(), Error::Timeout { .. }) && err.is_timeout(),
        "{what}: expected a timeout, got {err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{what}: took {:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains("timed out after"), "{what}: {err}");
}

#[tokio::test]
async fn the_timeout_bounds_a_list_body_that_stalls_however_it_is_read() {
    let (addr, _) = raw_server(PART_OF_A_LIST).await;
    let client = timed_client(addr, Duration::from_millis(300));
    let list = || client.get().namespace("default").resource("pods");

    let started = Instant::now();
    let resp = list().send().await.expect("the head arrives in time");
    let err = or_hang(resp.into_list::<serde_json::Value>())
        .await
        .expect_err("into_list must not hang");
    assert_timed_out(&err, started, "into_list");

    let started = Instant::now();
    let mut items = list()
        .send()
        .await
        .unwrap()
        .list_stream::<serde_json::Value>();
    let err = or_hang(items.next())
        .await
        .expect("an item or an error")
        .unwrap_err();
    assert_timed_out(&err, started, "list_stream");

    let started = Instant::now();
    let resp = list().send().await.unwrap();
    let err = or_hang(resp.into::<serde_json::Value>()).await.unwrap_err();
    assert_timed_out(&err, started, "into");

    let started = Instant::now();
    let mut chunks = Box::pin(list().send().await.unwrap().stream());
    let first = chunks.next().await.unwrap();
    assert!(first.is_ok(), "the first chunk arrived: {first:?}");
    let err = or_hang(chunks.next()).await.unwrap().unwrap_err();
    assert_timed_out(&err, started, "stream");
}

#[tokio::test]
async fn the_timeout_bounds_a_watch_that_stalls() {
    const WATCH: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n51\r\n{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"namespace\":\"x\"}}}\n\r\nf\r\n{\"type\":\"MODIFI\r\n";
    let (addr, _) = raw_server(WATCH).await;
    let client = timed_client(addr, Duration::from_millis(400));
    let started = Instant::now();
    let mut events = Box::pin(
        client
            .get()
            .namespace("x")
            .resource("pods")
            .watch::<serde_json::Value>(),
    );
    match events.next().await {
        Some(Ok(WatchEvent::Added(pod))) => assert_eq!(pod["metadata"]["name"], "a"),
        other => panic!("expected the first event, got {other:?}"),
    }
    let err = or_hang(events.next())
        .await
        .expect("an error, not a hang")
        .unwrap_err();
    assert_timed_out(&err, started, "watch");
    assert!(events.next().await.is_none(), "the watch ends after it");
}

#[tokio::test]
async fn credentials_in_the_server_url_are_basic_auth_not_a_host_header() {
    const OK: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    let (addr, heads) = raw_server(OK).await;
    let config = Config::new(format!("http://admin:s3cr3t@{addr}"));
    assert!(
        !format!("{config:?}").contains("s3cr3t"),
        "{config:?} shows the password"
    );
    assert!(format!("{config:?}").contains("admin:***@"), "{config:?}");
    let client = RestClient::new(config).unwrap();
    let _: serde_json::Value = client
        .get()
        .abs_path("/version")
        .send()
        .await
        .unwrap()
        .into()
        .await
        .unwrap();
    let head = heads.lock().unwrap()[0].to_lowercase();
    assert!(head.contains(&format!("host: {addr}\r\n")), "{head}");
    // base64("admin:s3cr3t")
    assert!(
        head.contains("authorization: basic ywrtaw46cznjcjn0\r\n"),
        "{head}"
    );

    // An explicit credential wins over the URL's.
    let client = RestClient::new(
        Config::new(format!("http://admin:s3cr3t@{addr}")).with_bearer_token("tok"),
    )
    .unwrap();
    client.get().abs_path("/version").send().await.unwrap();
    let head = heads.lock().unwrap()[1].to_lowercase();
    assert!(head.contains("authorization: bearer tok\r\n"), "{head}");
    assert!(!head.contains("admin"), "{head}");

    // Errors name the server without the password.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let client =
        RestClient::new(Config::new(format!("http://admin:s3cr3t@127.0.0.1:{port}"))).unwrap();
    let err = client.get().abs_path("/version").send().await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(shown.contains(&format!("127.0.0.1:{port}")), "{shown}");
    let err = RestClient::new(Config::new("ftp://admin:s3cr3t@example.invalid")).unwrap_err();
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
    assert!(err.to_string().contains("admin:***@"), "{err}");
}

#[tokio::test]
async fn an_answer_with_many_headers_is_read() {
    // Go reads up to 10 MB of response headers; hyper's default is 100 headers.
    static ANSWER: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let answer = ANSWER.get_or_init(|| {
        let mut a = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n".to_vec();
        for i in 0..500 {
            a.extend_from_slice(format!("X-Audit-{i}: {i}\r\n").as_bytes());
        }
        a.extend_from_slice(b"Content-Length: 11\r\n\r\n{\"a\":\"yes\"}");
        a
    });
    let (addr, _) = raw_server(answer).await;
    let client = RestClient::new(Config::new(format!("http://{addr}"))).unwrap();
    let resp = client.get().abs_path("/version").send().await.unwrap();
    assert_eq!(resp.headers().get("x-audit-499").unwrap(), "499");
    let v: serde_json::Value = resp.into().await.unwrap();
    assert_eq!(v["a"], "yes");
}

#[tokio::test]
async fn a_watch_error_event_that_is_not_a_status_says_what_it_carried() {
    const WATCH: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 54\r\nConnection: close\r\n\r\n{\"type\":\"ERROR\",\"object\":{\"kind\":\"Pod\",\"weird\":true}}\n";
    let (addr, _) = raw_server(WATCH).await;
    let client = RestClient::new(Config::new(format!("http://{addr}"))).unwrap();
    let mut events = Box::pin(client.get().resource("pods").watch::<serde_json::Value>());
    let err = events.next().await.unwrap().unwrap_err();
    let status = err.status().expect("an API error").clone();
    assert_eq!(status.code, 500, "{status:?}");
    assert_eq!(status.reason, "InternalError", "{status:?}");
    assert!(
        status.message.contains("not a Status") && status.message.contains("\"weird\":true"),
        "{status:?}"
    );
}

/// An HTTP/1.1 answer carrying `body` with its length.
fn answer_with(body: &[u8]) -> &'static [u8] {
    let mut a = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    a.extend_from_slice(body);
    Box::leak(a.into_boxed_slice())
}

#[tokio::test]
async fn a_body_read_whole_is_bounded_by_max_body_size_and_a_list_can_still_be_read_item_by_item() {
    let items: Vec<String> = (0..50)
        .map(|i| format!(r#"{{"metadata":{{"name":"pod-{i}"}}}}"#))
        .collect();
    let body = format!(r#"{{"kind":"PodList","items":[{}]}}"#, items.join(","));
    assert!(body.len() > 1000);
    let (addr, _) = raw_server(answer_with(body.as_bytes())).await;
    let client =
        RestClient::new(Config::new(format!("http://{addr}")).with_max_body_size(1000)).unwrap();
    let list = || client.get().resource("pods").send();
    for (what, err) in [
        (
            "into",
            list()
                .await
                .unwrap()
                .into::<serde_json::Value>()
                .await
                .unwrap_err(),
        ),
        ("bytes", list().await.unwrap().bytes().await.unwrap_err()),
    ] {
        assert!(matches!(err, Error::Decode { .. }), "{what}: {err:?}");
        let text = err.to_string();
        assert!(text.contains("limit of 1000 bytes"), "{what}: {text}");
    }
    let pods = list()
        .await
        .unwrap()
        .into_list::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(pods.items.len(), 50);
}

#[tokio::test]
async fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    // Small enough for simd-json, large enough for the walker, and as a list item.
    for body in [
        deep(20_000),
        deep(200_000),
        format!(r#"{{"kind":"PodList","items":[{}]}}"#, deep(200_000)),
    ] {
        let (addr, _) = raw_server(answer_with(body.as_bytes())).await;
        let client = RestClient::new(Config::new(format!("http://{addr}"))).unwrap();
        let err = client
            .get()
            .resource("pods")
            .send()
            .await
            .unwrap()
            .into::<serde_json::Value>()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        if body.starts_with('{') {
            let mut items = client
                .get()
                .resource("pods")
                .send()
                .await
                .unwrap()
                .list_stream::<serde_json::Value>();
            let err = items.next().await.unwrap().unwrap_err();
            assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        }
    }
    // A watch event.
    let event = format!(r#"{{"type":"ADDED","object":{{"a":{}}}}}"#, deep(100_000));
    let (addr, _) = raw_server(answer_with(format!("{event}\n").as_bytes())).await;
    let client = RestClient::new(Config::new(format!("http://{addr}"))).unwrap();
    let mut events = Box::pin(client.get().resource("pods").watch::<serde_json::Value>());
    let err = events.next().await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}
