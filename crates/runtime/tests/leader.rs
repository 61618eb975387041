//! Leader election against the test server: two contenders, exactly one leads at any
//! moment; a killed leader is replaced within one lease duration (plus the polling of a
//! retry period); a leader that shuts down releases the lease and is replaced at once.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use kubecto_runtime::Shutdown;
use kubecto_runtime::leader::{LeaderElectionConfig, LeaderElector};
use kubecto_testserver::TestServer;

const LEASE: Duration = Duration::from_millis(1500);
const RENEW: Duration = Duration::from_millis(1000);
const RETRY: Duration = Duration::from_millis(200);

struct Contender {
    elector: Arc<LeaderElector>,
    stop: Shutdown,
    task: tokio::task::JoinHandle<()>,
    stopped_leading: Arc<AtomicUsize>,
}

fn contend(server: &TestServer, identity: &str) -> Contender {
    let config = LeaderElectionConfig::new(NS, "demo-lock", identity).timings(LEASE, RENEW, RETRY);
    let elector = Arc::new(LeaderElector::new(client(server), config).unwrap());
    let stop = Shutdown::new();
    let stopped_leading = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn({
        let (elector, stop, stopped) = (elector.clone(), stop.clone(), stopped_leading.clone());
        async move {
            elector
                .run(
                    stop,
                    |lost| async move { lost.wait().await },
                    move || {
                        stopped.fetch_add(1, Ordering::SeqCst);
                    },
                )
                .await;
        }
    });
    Contender {
        elector,
        stop,
        task,
        stopped_leading,
    }
}

/// Samples the live contenders every 10 ms until one of `wanted` leads (panics after
/// `within`); never more than one may lead at a time. Returns how long it took.
async fn until_leads(live: &[&Contender], wanted: &Contender, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let leaders = live.iter().filter(|c| c.elector.is_leader()).count();
        assert!(leaders <= 1, "{leaders} leaders at once");
        if wanted.elector.is_leader() {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "no takeover within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_at_a_time_a_killed_leader_is_replaced_and_a_stopped_one_releases() {
    let server = TestServer::start().await.unwrap();
    let a = contend(&server, "a");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b = contend(&server, "b");
    until_leads(&[&a, &b], &a, Duration::from_secs(5)).await;
    // For two lease durations, a keeps leading and b never does.
    let start = Instant::now();
    while start.elapsed() < 2 * LEASE {
        assert!(a.elector.is_leader() && !b.elector.is_leader());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Kill a: no release, no more renewals. b takes over once the lease runs out.
    a.task.abort();
    let took = until_leads(&[&b], &b, Duration::from_secs(5)).await;
    assert!(
        took <= LEASE + RETRY.mul_f64(2.2) + Duration::from_millis(300),
        "took over after {took:?}"
    );

    // c contends; b shuts down, releases the lease, and c takes over at once.
    let c = contend(&server, "c");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(b.elector.is_leader() && !c.elector.is_leader());
    b.stop.trigger();
    let took = until_leads(&[&b, &c], &c, Duration::from_secs(5)).await;
    assert!(took < LEASE, "a released lease is taken at once: {took:?}");
    tokio::time::timeout(Duration::from_secs(2), b.task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.stopped_leading.load(Ordering::SeqCst), 1);
    c.stop.trigger();
    c.task.await.unwrap();
}
