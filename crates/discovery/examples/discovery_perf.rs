//! Requests and wall time of a full discovery against a test server serving 200 CRD
//! group-versions (plus every built-in one): aggregated, legacy (capped fan-out), warm disk
//! cache and warm memory cache.
//!
//! ```text
//! cargo run --release -p kubecto-discovery --example discovery_perf [-- CRDS]
//! ```
//!
//! Each figure is the median of 7 runs, each with a new client (new connections), with the
//! default rest-core config (so the default client-side rate limit applies, with the
//! discovery burst raised to 300 as kubectl does).

use std::time::{Duration, Instant};

use kubecto_discovery::{DiscoveryClient, DiskCache};
use kubecto_rest_core::Config;
use kubecto_testserver::TestServer;

const RUNS: usize = 7;

fn crd(i: usize) -> serde_json::Value {
    let schema = serde_json::json!({"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}});
    serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("things{i}.g{i}.example.com")},
        "spec": {"group": format!("g{i}.example.com"), "scope": "Namespaced",
            "names": {"plural": format!("things{i}"), "singular": format!("thing{i}"), "kind": format!("Thing{i}"), "shortNames": [format!("t{i}")]},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": schema, "subresources": {"status": {}}}]}
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn measure<F, Fut>(server: &TestServer, mut make: F) -> (usize, Duration, usize)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut times = Vec::new();
    let mut requests = 0;
    let mut resources = 0;
    for _ in 0..RUNS {
        server.clear_requests();
        let start = Instant::now();
        resources = make().await;
        times.push(start.elapsed());
        requests = server.requests().len();
    }
    (requests, median(times), resources)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let crds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let server = TestServer::start().await?;
    for i in 0..crds {
        server.seed(crd(i))?;
    }
    let config = Config::new(server.url());
    let probe = DiscoveryClient::new(&config)?
        .server_groups_and_resources()
        .await?;
    let gvs = probe.groups().group_versions().count();
    println!("{crds} CRD group-versions, {gvs} group-versions in all");
    println!(
        "{:<34} {:>9} {:>10} {:>10}",
        "mode", "requests", "median ms", "resources"
    );
    let count = |d: &kubecto_discovery::Discovery| {
        d.resources()
            .iter()
            .map(|l| l.resources.len())
            .sum::<usize>()
    };

    let row = |name: &str, (requests, time, resources): (usize, Duration, usize)| {
        println!(
            "{name:<34} {requests:>9} {:>10.1} {resources:>10}",
            time.as_secs_f64() * 1000.0
        );
    };

    for latency in [None, Some(Duration::from_millis(5))] {
        let tag = match latency {
            None => "loopback".to_owned(),
            Some(l) => {
                // Every discovery answer waits, as over a real network.
                server.inject(
                    kubecto_testserver::Fault::delay(l)
                        .path("/api*")
                        .times(1_000_000),
                );
                format!("+{}ms", l.as_millis())
            }
        };
        let r = measure(&server, || async {
            let d = DiscoveryClient::new(&config).unwrap();
            count(&d.server_groups_and_resources().await.unwrap())
        })
        .await;
        row(&format!("aggregated, cold, {tag}"), r);

        for concurrency in [16, 1] {
            let r = measure(&server, || async {
                let d = DiscoveryClient::builder(config.clone())
                    .aggregated(false)
                    .concurrency(concurrency)
                    .build()
                    .unwrap();
                count(&d.server_groups_and_resources().await.unwrap())
            })
            .await;
            row(&format!("legacy x{concurrency}, cold, {tag}"), r);
        }
    }
    server.clear_faults();

    let dir = std::env::temp_dir().join(format!("kubecto-discovery-perf-{}", std::process::id()));
    let cache = DiskCache::for_host(&dir, &config.host);
    DiscoveryClient::builder(config.clone())
        .disk_cache(cache.clone())
        .build()?
        .server_groups_and_resources()
        .await?;
    let r = measure(&server, || async {
        let d = DiscoveryClient::builder(config.clone())
            .disk_cache(cache.clone())
            .build()
            .unwrap();
        count(&d.server_groups_and_resources().await.unwrap())
    })
    .await;
    row("warm disk cache, new client", r);
    let _ = std::fs::remove_dir_all(&dir);

    let warm = DiscoveryClient::new(&config)?;
    warm.server_groups_and_resources().await?;
    let r = measure(&server, || async {
        count(&warm.server_groups_and_resources().await.unwrap())
    })
    .await;
    row("warm memory cache, same client", r);
    Ok(())
}
