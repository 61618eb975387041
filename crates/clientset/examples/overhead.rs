//! How much the typed clientset costs over the same call made with rest-core directly.
//!
//! ```text
//! cargo run --release -p kubecto-clientset --example overhead [-- GETS]
//! ```
//!
//! Times GET (one pod), LIST (50 pods, decoded item by item) and WATCH (200 events) both
//! ways over the same `RestClient`, twice:
//!
//! - **in memory**: a tower service answers from memory with bodies recorded from the
//!   test server, so the time is the client's own CPU (building the request, rest-core's
//!   send path, decoding) — the only place an overhead could come from;
//! - **loopback**: against an in-process kubecto-testserver over HTTP, end to end.
//!
//! Everything runs on one thread (a current-thread runtime: client, in-memory service and
//! test server alike) and is timed in that thread's CPU time (`/proc/thread-self/schedstat`
//! on Linux, else the wall clock), so other load on the machine is not counted. The two
//! ways alternate in blocks (A B, B A, ...). The report gives each way's mean per call and
//! the ratio clientset / rest-core of the totals and its median over the 20 pairs of
//! blocks (1.000 = no overhead).

use std::convert::Infallible;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::Full;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kubecto_clientset::{Api, Clientset};
use kubecto_rest_core::{
    Config, CreateOptions, GroupVersion, ListOptions, RequestBody, RestClient, WatchEvent,
    WatchOptions,
};
use kubecto_testserver::TestServer;
use serde_json::json;

type Failure = Box<dyn std::error::Error + Send + Sync>;

const BLOCKS: usize = 20;
const POD: &str = "pod-07";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Failure> {
    let gets: usize = match std::env::args().nth(1) {
        Some(n) => n
            .parse()
            .map_err(|_| format!("GETS must be a number, not {n:?}"))?,
        None => 2000,
    };
    let server = TestServer::start().await?;
    let config = Config::new(server.url())
        .with_api_path("api")
        .with_group_version(GroupVersion::core_v1())
        .without_rate_limit();
    let loopback = RestClient::new(config)?;
    let start_rv = seed(&Clientset::from_client(loopback.clone())).await?;

    // The bodies the server sends, recorded once for the in-memory transport.
    let pod_body = raw(&loopback, "bench", "pods", Some(POD)).await?;
    let list_body = raw(&loopback, "bench", "pods", None).await?;
    let cm_list: serde_json::Value =
        serde_json::from_slice(&raw(&loopback, "watch", "configmaps", None).await?)?;
    let mut watch_body = Vec::new();
    for item in cm_list["items"].as_array().ok_or("no items")? {
        serde_json::to_writer(&mut watch_body, &json!({"type": "ADDED", "object": item}))?;
        watch_body.push(b'\n');
    }
    let watch_body = Bytes::from(watch_body);
    let svc = tower::service_fn(move |req: http::Request<RequestBody>| {
        let watching = req.uri().query().is_some_and(|q| q.contains("watch=true"));
        let body = if watching {
            watch_body.clone()
        } else if req.uri().path().ends_with(POD) {
            pod_body.clone()
        } else {
            list_body.clone()
        };
        async move { Ok::<_, Infallible>(http::Response::new(Full::new(body))) }
    });
    let in_memory = RestClient::builder(
        Config::new("http://in-memory.invalid")
            .with_api_path("api")
            .with_group_version(GroupVersion::core_v1())
            .without_rate_limit(),
    )
    .service(svc)
    .build()?;

    let mut report = Vec::new();
    for (transport, client) in [("in memory", in_memory), ("loopback", loopback)] {
        for row in measure(&client, gets, &start_rv).await? {
            report.push((transport, row));
        }
    }
    println!(
        "\n{:<10} {:<18} {:>7} {:>13} {:>13} {:>7} {:>7}",
        "transport", "call", "calls", "rest-core", "clientset", "ratio", "median"
    );
    for (transport, (what, calls, a, b, ratio, median)) in report {
        println!(
            "{transport:<10} {what:<18} {calls:>7} {:>10.2} µs {:>10.2} µs {ratio:>7.3} {median:>7.3}",
            a.as_secs_f64() * 1e6,
            b.as_secs_f64() * 1e6,
        );
    }
    server.shutdown().await;
    Ok(())
}

/// 50 pods in `bench`, 200 config maps in `watch`; returns the resourceVersion before
/// the config maps, from which a watch replays 200 ADDED events.
async fn seed(cs: &Clientset) -> Result<String, Failure> {
    for ns in ["bench", "watch"] {
        let ns = serde_json::from_value(json!({"metadata": {"name": ns}}))?;
        cs.core_v1()
            .namespaces()
            .create(&ns, &CreateOptions::new())
            .await?;
    }
    let pods = cs.core_v1().pods("bench");
    for i in 0..50 {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": format!("pod-{i:02}"), "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "main", "image": "nginx:1.27",
                "ports": [{"containerPort": 80}], "env": [{"name": "A", "value": "b"}]}]}
        }))?;
        pods.create(&pod, &CreateOptions::new()).await?;
    }
    let cms = cs.core_v1().config_maps("watch");
    let rv = cms
        .list(&ListOptions::new())
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    for i in 0..200 {
        let cm: ConfigMap = serde_json::from_value(
            json!({"metadata": {"name": format!("cm-{i:03}")}, "data": {"k": "v"}}),
        )?;
        cms.create(&cm, &CreateOptions::new()).await?;
    }
    Ok(rv)
}

async fn raw(
    client: &RestClient,
    namespace: &str,
    resource: &str,
    name: Option<&str>,
) -> Result<Bytes, Failure> {
    let req = client.get().namespace(namespace).resource(resource);
    let req = match name {
        Some(n) => req.name(n),
        None => req,
    };
    Ok(req.send().await?.bytes().await?)
}

type Row = (&'static str, usize, Duration, Duration, f64, f64);

async fn measure(rest: &RestClient, gets: usize, start_rv: &str) -> Result<Vec<Row>, Failure> {
    let clientset = Clientset::from_client(rest.clone());
    let pods: Api<Pod> = clientset.core_v1().pods("bench");
    let cms: Api<ConfigMap> = clientset.core_v1().config_maps("watch");
    let mut rows = Vec::new();

    rows.push(
        compare(
            "GET pod",
            gets,
            || async {
                let p: Pod = rest
                    .get()
                    .namespace("bench")
                    .resource("pods")
                    .name(POD)
                    .send()
                    .await?
                    .into()
                    .await?;
                Ok(p.metadata.name.is_some())
            },
            || async { Ok(pods.get(POD).await?.metadata.name.is_some()) },
        )
        .await?,
    );

    rows.push(
        compare(
            "LIST 50 pods",
            gets / 10,
            || async {
                let l = rest
                    .get()
                    .namespace("bench")
                    .resource("pods")
                    .params(&ListOptions::new())
                    .send()
                    .await?
                    .into_list::<Pod>()
                    .await?;
                Ok(l.items.len() == 50)
            },
            || async { Ok(pods.list(&ListOptions::new()).await?.items.len() == 50) },
        )
        .await?,
    );

    let opts = WatchOptions::new().resource_version(start_rv);
    rows.push(
        compare(
            "WATCH 200 events",
            gets / 20,
            || async {
                let stream = rest
                    .get()
                    .namespace("watch")
                    .resource("configmaps")
                    .params(&opts)
                    .watch::<ConfigMap>();
                Ok(count_added(stream, 200).await? == 200)
            },
            || async { Ok(count_added(cms.watch(&opts), 200).await? == 200) },
        )
        .await?,
    );
    Ok(rows)
}

async fn count_added<S>(stream: S, want: usize) -> Result<usize, Failure>
where
    S: futures_util::Stream<Item = kubecto_rest_core::Result<WatchEvent<ConfigMap>>>,
{
    let mut stream = Box::pin(stream);
    let mut n = 0;
    while n < want {
        match stream.next().await {
            Some(Ok(WatchEvent::Added(_))) => n += 1,
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => break,
        }
    }
    Ok(n)
}

/// CPU time this thread has run (`/proc/thread-self/schedstat`, nanoseconds): unlike a
/// wall clock, it does not count the time the thread waited for a CPU, so other load on
/// the machine does not show up as overhead. `None` where the file does not exist.
fn thread_cpu() -> Option<Duration> {
    // A yield goes through the scheduler, which brings the running thread's account up to
    // date (otherwise it only moves at scheduler ticks).
    std::thread::yield_now();
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// A clock: thread CPU time where available, else wall time.
struct Clock {
    cpu: bool,
}

impl Clock {
    fn new() -> Self {
        Self {
            cpu: thread_cpu().is_some(),
        }
    }

    fn now(&self) -> Duration {
        static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        let wall = || EPOCH.get_or_init(Instant::now).elapsed();
        if self.cpu {
            thread_cpu().unwrap_or_else(wall)
        } else {
            wall()
        }
    }
}

/// Runs `n` calls each way after a warm-up, in blocks that alternate A B B A ..., so
/// drift falls on both alike. Returns the calls made each way, each way's mean time per
/// call, the ratio of the totals and the median ratio over pairs of blocks.
async fn compare<A, AF, B, BF>(
    what: &'static str,
    n: usize,
    rest_core: A,
    clientset: B,
) -> Result<Row, Failure>
where
    A: Fn() -> AF,
    AF: std::future::Future<Output = Result<bool, Failure>>,
    B: Fn() -> BF,
    BF: std::future::Future<Output = Result<bool, Failure>>,
{
    let clock = Clock::new();
    let n = n.max(BLOCKS);
    for _ in 0..(n / 10).max(5) {
        check(what, rest_core().await?)?;
        check(what, clientset().await?)?;
    }
    let per_block = n / BLOCKS;
    let (mut a, mut b) = (Duration::ZERO, Duration::ZERO);
    let mut ratios = Vec::with_capacity(BLOCKS);
    for block in 0..BLOCKS {
        let mut took = [Duration::ZERO; 2];
        let order = if block % 2 == 0 { [0, 1] } else { [1, 0] };
        for way in order {
            let start = clock.now();
            for _ in 0..per_block {
                let ok = if way == 0 {
                    rest_core().await?
                } else {
                    clientset().await?
                };
                check(what, ok)?;
            }
            took[way] = clock.now().saturating_sub(start);
        }
        a += took[0];
        b += took[1];
        ratios.push(took[1].as_secs_f64() / took[0].as_secs_f64().max(1e-12));
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[BLOCKS / 2];
    let calls = per_block * BLOCKS;
    let per_call = |d: Duration| d / u32::try_from(calls).unwrap_or(u32::MAX);
    let total = b.as_secs_f64() / a.as_secs_f64().max(1e-12);
    Ok((what, calls, per_call(a), per_call(b), total, median))
}

fn check(what: &str, ok: bool) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(format!("{what}: unexpected answer").into())
    }
}
