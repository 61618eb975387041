//! The client-side token bucket is shared by clones, can be turned off, and retries wait on it too.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{PODS, config};
use kubecto_rest_core::{BackoffConfig, Metrics, RequestMetrics, RestClient};
use kubecto_testserver::{Fault, TestServer};

#[derive(Debug, Default)]
struct Recorded(Mutex<Vec<(Option<u16>, u32, Duration)>>);

impl Metrics for Recorded {
    fn record(&self, m: &RequestMetrics<'_>) {
        self.0
            .lock()
            .unwrap()
            .push((m.status, m.retries, m.rate_limiter_wait));
    }
}

impl Recorded {
    fn take(&self) -> Vec<(Option<u16>, u32, Duration)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn client_with(server: &TestServer, qps: f32, burst: u32) -> (RestClient, Arc<Recorded>) {
    let metrics = Arc::new(Recorded::default());
    let client = RestClient::builder(config(server).with_rate_limit(qps, burst))
        .metrics(metrics.clone())
        .build()
        .unwrap();
    (client, metrics)
}

async fn get(client: &RestClient) {
    client
        .get()
        .namespace("default")
        .resource("pods")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
}

#[tokio::test]
async fn requests_beyond_the_burst_wait_for_tokens() {
    let server = TestServer::start().await.unwrap();
    let (client, metrics) = client_with(&server, 5.0, 2);
    let started = Instant::now();
    for _ in 0..5 {
        get(&client).await;
    }
    // Two from the burst, then three at 5 per second.
    assert!(
        started.elapsed() >= Duration::from_millis(550),
        "{:?}",
        started.elapsed()
    );
    let waits: Vec<_> = metrics.take().into_iter().map(|(_, _, w)| w).collect();
    assert_eq!(waits[0], Duration::ZERO);
    assert_eq!(waits[1], Duration::ZERO);
    assert!(waits[2..].iter().all(|w| !w.is_zero()), "{waits:?}");
}

#[tokio::test]
async fn clones_share_one_bucket() {
    let server = TestServer::start().await.unwrap();
    let (client, metrics) = client_with(&server, 2.0, 2);
    let a = client.clone();
    let b = client.clone();
    let started = Instant::now();
    tokio::join!(
        async {
            get(&a).await;
            get(&a).await
        },
        async {
            get(&b).await;
            get(&b).await
        }
    );
    // Four requests, two tokens at once, then 2/s: at least ~1 s, whoever asks.
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    let waited = metrics
        .take()
        .iter()
        .filter(|(_, _, w)| !w.is_zero())
        .count();
    assert_eq!(waited, 2);
}

#[tokio::test]
async fn the_limiter_can_be_turned_off() {
    let server = TestServer::start().await.unwrap();
    let metrics = Arc::new(Recorded::default());
    let client = RestClient::builder(config(&server).with_rate_limit(1.0, 1).without_rate_limit())
        .metrics(metrics.clone())
        .build()
        .unwrap();
    for _ in 0..20 {
        get(&client).await;
    }
    let recorded = metrics.take();
    assert_eq!(recorded.len(), 20);
    assert!(
        recorded
            .iter()
            .all(|(s, _, w)| *s == Some(200) && w.is_zero())
    );
}

#[tokio::test]
async fn retries_wait_on_the_limiter_too() {
    let server = TestServer::start().await.unwrap();
    server.inject(Fault::status(429).retry_after("0").method("GET").path(PODS));
    let (client, metrics) = client_with(&server, 1.0, 1);
    get(&client).await;
    let recorded = metrics.take();
    assert_eq!(recorded.len(), 1);
    let (status, retries, wait) = recorded[0];
    assert_eq!(status, Some(200));
    assert_eq!(retries, 1);
    assert!(wait >= Duration::from_millis(500), "{wait:?}");
}

#[tokio::test]
async fn the_per_host_backoff_steps_up_on_5xx_and_resets_on_success() {
    let server = TestServer::start().await.unwrap();
    server.inject(
        Fault::status(503)
            .retry_after("0")
            .method("GET")
            .path(PODS)
            .times(2),
    );
    let mut cfg = config(&server);
    cfg.backoff = Some(BackoffConfig::new(
        Duration::from_millis(300),
        Duration::from_secs(5),
    ));
    let client = RestClient::new(cfg).unwrap();
    let started = Instant::now();
    get(&client).await;
    // Two failures: waits of 300 ms then 600 ms before the third attempt.
    assert!(
        started.elapsed() >= Duration::from_millis(850),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.request_count("GET", PODS), 3);
    // Without the reset the next request would first wait 600 ms.
    let started = Instant::now();
    get(&client).await;
    assert!(
        started.elapsed() < Duration::from_millis(450),
        "reset after success: {:?}",
        started.elapsed()
    );
}
