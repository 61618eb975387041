//! Retry follows client-go: 429/5xx with Retry-After for any verb, connection resets for GET only.

mod common;

use std::time::{Duration, Instant};

use common::{PODS, client, config, pod};
use kubecto_rest_core::{Error, RestClient, TransportKind};
use kubecto_testserver::{Fault, TestServer};

fn transport_kind(err: &Error) -> Option<TransportKind> {
    match err.last() {
        Error::Transport { kind, .. } => Some(*kind),
        _ => None,
    }
}

#[tokio::test]
async fn two_429s_with_retry_after_then_success() {
    let server = TestServer::start().await.unwrap();
    server.inject(
        Fault::status(429)
            .retry_after("1")
            .method("GET")
            .path(PODS)
            .times(2),
    );
    let started = Instant::now();
    let list: serde_json::Value = client(&server)
        .get()
        .namespace("default")
        .resource("pods")
        .send()
        .await
        .unwrap()
        .into()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(list["kind"], "PodList");
    assert_eq!(server.request_count("GET", PODS), 3);
    assert!(elapsed >= Duration::from_millis(1900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let server = TestServer::start().await.unwrap();
    let when = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
    server.inject(
        Fault::status(503)
            .retry_after(when)
            .method("GET")
            .path(PODS),
    );
    let started = Instant::now();
    client(&server)
        .get()
        .namespace("default")
        .resource("pods")
        .send()
        .await
        .unwrap();
    // An HTTP date has whole-second precision: the wait is between 1 and 2 seconds.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.request_count("GET", PODS), 2);
}

#[tokio::test]
async fn posts_are_retried_on_429_too_since_the_body_replays() {
    let server = TestServer::start().await.unwrap();
    server.inject(
        Fault::status(429)
            .retry_after("0")
            .method("POST")
            .path(PODS),
    );
    let resp = client(&server)
        .post()
        .namespace("default")
        .resource("pods")
        .json(&pod("p1"))
        .send()
        .await
        .unwrap();
    assert!(resp.is_created());
    assert_eq!(server.request_count("POST", PODS), 2);
}

#[tokio::test]
async fn exhausted_retries_report_every_attempt() {
    let server = TestServer::start().await.unwrap();
    server.inject(
        Fault::status(503)
            .retry_after("0")
            .method("GET")
            .path(PODS)
            .always(),
    );
    let err = client(&server)
        .get()
        .namespace("default")
        .resource("pods")
        .max_retries(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(server.request_count("GET", PODS), 3);
    assert_eq!(err.code(), Some(503));
    match &err {
        Error::Retried {
            attempts, history, ..
        } => {
            assert_eq!(*attempts, 3);
            assert_eq!(history.len(), 2);
            assert!(history[0].contains("503"), "{history:?}");
        }
        other => panic!("expected Retried, got {other:?}"),
    }
    assert!(err.to_string().contains("attempt 1"), "{err}");
}

#[tokio::test]
async fn a_5xx_without_retry_after_is_not_retried() {
    let server = TestServer::start().await.unwrap();
    server.inject(Fault::status(500).method("GET").path(PODS));
    let err = client(&server)
        .get()
        .namespace("default")
        .resource("pods")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(500));
    assert_eq!(
        err.status().map(|s| s.reason.as_str()),
        Some("InternalError")
    );
    assert_eq!(server.request_count("GET", PODS), 1);
}

#[tokio::test]
async fn a_dropped_post_is_reported_and_not_retried() {
    let server = TestServer::start().await.unwrap();
    server.inject(Fault::drop_connection().method("POST").path(PODS));
    let err = client(&server)
        .post()
        .namespace("default")
        .resource("pods")
        .json(&pod("p1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        transport_kind(&err),
        Some(TransportKind::ConnectionReset),
        "{err:?}"
    );
    assert!(!matches!(err, Error::Retried { .. }), "{err:?}");
    assert_eq!(server.request_count("POST", PODS), 1);
    assert!(err.to_string().contains(PODS), "{err}");
}

#[tokio::test]
async fn a_dropped_get_is_retried() {
    let server = TestServer::start().await.unwrap();
    server.inject(Fault::drop_connection().method("GET").path(PODS));
    let mut cfg = config(&server);
    cfg.transport_retry_wait = Duration::from_millis(50);
    let client = RestClient::new(cfg).unwrap();
    let resp = client
        .get()
        .namespace("default")
        .resource("pods")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert_eq!(server.request_count("GET", PODS), 2);
}

#[tokio::test]
async fn the_default_transport_wait_is_one_second() {
    let server = TestServer::start().await.unwrap();
    server.inject(Fault::drop_connection().method("GET").path(PODS));
    let started = Instant::now();
    client(&server)
        .get()
        .namespace("default")
        .resource("pods")
        .send()
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn connection_refused_is_not_retried() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = RestClient::new(kubecto_rest_core::Config::new(format!("http://{addr}"))).unwrap();
    let started = Instant::now();
    let err = client.get().resource("pods").send().await.unwrap_err();
    assert_eq!(
        transport_kind(&err),
        Some(TransportKind::ConnectionRefused),
        "{err:?}"
    );
    assert!(!matches!(err, Error::Retried { .. }));
    assert!(started.elapsed() < Duration::from_millis(900));
    // The message names the cause, not just the layer that reported it.
    let text = err.to_string().to_lowercase();
    assert!(
        text.contains("refused") && text.contains(&addr.to_string()),
        "{text}"
    );
}

#[tokio::test]
async fn a_retry_that_would_outlast_the_timeout_reports_the_answer_at_once() {
    let server = TestServer::start().await.unwrap();
    server.inject(Fault::status(429).retry_after("5").method("GET").path(PODS));
    let started = Instant::now();
    let err = client(&server)
        .get()
        .namespace("default")
        .resource("pods")
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_too_many_requests(), "{err:?}");
    // Far less than the 5 s the server asked for: no sleep happened.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.request_count("GET", PODS), 1);
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let server = TestServer::start().await.unwrap();
    server.inject(
        Fault::delay(Duration::from_secs(3))
            .method("GET")
            .path(PODS),
    );
    let started = Instant::now();
    let err = client(&server)
        .get()
        .namespace("default")
        .resource("pods")
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.is_timeout());
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.query.contains("timeout=300ms"))
    );
}

#[tokio::test]
async fn absurd_durations_do_not_panic() {
    let server = TestServer::start().await.unwrap();
    // Retry-After near u64::MAX seconds with a timeout: reported at once, no overflow.
    server.inject(
        Fault::status(429)
            .retry_after(u64::MAX.to_string())
            .method("GET")
            .path(PODS),
    );
    let err = client(&server)
        .get()
        .namespace("default")
        .resource("pods")
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_too_many_requests(), "{err:?}");
    // A timeout of Duration::MAX means "no deadline", not an overflow.
    client(&server)
        .get()
        .namespace("default")
        .resource("pods")
        .timeout(Duration::MAX)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
}
