//! kubecto-testserver's own throughput, measured with a raw hyper client in this process:
//!
//! - LIST: 10,000 realistic pods (the coredns fixture) seeded, then whole LISTs of
//!   `kube-system` pods read as raw bytes: ms per list and MB/s (median of `--lists`).
//! - watch: one raw watcher (newline-delimited events counted, not decoded) while
//!   `--writers` tasks apply `--updates` merge patches over HTTP: updates/s applied and
//!   events/s delivered to the watcher; then a second watcher replays the same events
//!   from the watch history, which measures delivery alone.
//!
//! Prints a small table and one JSON line. Everything is bounded by `--timeout-secs`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kubecto_testserver::TestServer;
use serde_json::{Value, json};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

const PODS: &str = "/api/v1/namespaces/kube-system/pods";

fn cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc == 0 {
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    } else {
        Duration::ZERO
    }
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("VmHWM:")?
                    .split_whitespace()
                    .next()?
                    .parse::<f64>()
                    .ok()
            })
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

struct Options {
    pods: u64,
    lists: usize,
    updates: u64,
    writers: u64,
    timeout: Duration,
    fixture: std::path::PathBuf,
}

fn options() -> Options {
    let mut o = Options {
        pods: 10_000,
        lists: 5,
        updates: 100_000,
        writers: 8,
        timeout: Duration::from_secs(900),
        fixture: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../crates/testserver/data/bench/coredns-pod.json"),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().unwrap_or_default();
        match a.as_str() {
            "--pods" => o.pods = val().parse().expect("--pods N"),
            "--lists" => o.lists = val().parse().expect("--lists N"),
            "--updates" => o.updates = val().parse().expect("--updates N"),
            "--writers" => o.writers = val().parse::<u64>().expect("--writers N").max(1),
            "--timeout-secs" => {
                o.timeout = Duration::from_secs(val().parse().expect("--timeout-secs N"));
            }
            "--fixture" => o.fixture = val().into(),
            "--quick" => {
                o.lists = 3;
                o.updates = 20_000;
            }
            other => {
                eprintln!(
                    "usage: kubecto-testserver-bench [--quick] [--pods N] [--lists N] [--updates N] [--writers N] [--timeout-secs N] [--fixture PATH]\nunknown argument {other:?}"
                );
                std::process::exit(2);
            }
        }
    }
    o
}

fn pod(template: &Value, i: u64) -> Value {
    let mut p = template.clone();
    let meta = &mut p["metadata"];
    meta["name"] = json!(format!("coredns-674b8bbfcf-{i:06}"));
    if let Some(m) = meta.as_object_mut() {
        m.remove("uid");
        m.remove("resourceVersion");
        m.remove("creationTimestamp");
    }
    p
}

async fn get_bytes(client: &HttpClient, url: &str) -> Bytes {
    let resp = client
        .get(url.parse().expect("url"))
        .await
        .expect("GET over loopback");
    assert!(resp.status().is_success(), "GET {url}: {}", resp.status());
    resp.into_body().collect().await.expect("body").to_bytes()
}

#[tokio::main]
async fn main() {
    let o = options();
    let deadline = Instant::now() + o.timeout;
    let template: Value = serde_json::from_slice(
        &std::fs::read(&o.fixture)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", o.fixture.display())),
    )
    .expect("fixture JSON");
    let server = TestServer::builder()
        // The replay below needs every update's event: no compaction by count or bytes.
        .watch_history(o.updates as usize + 1000)
        .history_bytes(usize::MAX)
        .history_age(None)
        .start()
        .await
        .expect("test server");
    let base = server.url();
    let _ = server.seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}}));
    let t = Instant::now();
    for i in 0..o.pods {
        server.seed(pod(&template, i)).expect("seed pod");
    }
    let seed_time = t.elapsed();
    eprintln!("testserver-bench: seeded {} pods in {seed_time:?}", o.pods);

    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();

    // LIST.
    let list_url = format!("{base}{PODS}");
    let mut list_ms = Vec::new();
    let mut list_cpu_ms = Vec::new();
    let mut list_bytes = 0usize;
    for _ in 0..o.lists {
        if Instant::now() > deadline {
            break;
        }
        let cpu0 = cpu_time();
        let t = Instant::now();
        let body = get_bytes(&client, &list_url).await;
        list_ms.push(t.elapsed().as_secs_f64() * 1e3);
        list_cpu_ms.push((cpu_time() - cpu0).as_secs_f64() * 1e3);
        list_bytes = body.len();
        let v: Value = serde_json::from_slice(&body).expect("list JSON");
        assert_eq!(
            v["items"].as_array().map_or(0, Vec::len) as u64,
            o.pods,
            "the list has every seeded pod"
        );
    }
    let ms = median(list_ms.clone());
    let mb_per_s = list_bytes as f64 / 1e6 / (ms / 1e3);

    // Watch while updating.
    let rv = {
        let body = get_bytes(&client, &format!("{list_url}?limit=1")).await;
        let v: Value = serde_json::from_slice(&body).expect("list JSON");
        v["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("0")
            .to_owned()
    };
    let watch_url = format!("{list_url}?watch=true&resourceVersion={rv}");
    let resp = client
        .get(watch_url.parse().expect("url"))
        .await
        .expect("watch");
    assert!(resp.status().is_success(), "watch: {}", resp.status());
    let want = o.updates;
    let watcher = tokio::spawn(async move {
        let mut body = resp.into_body();
        let mut events = 0u64;
        let mut bytes = 0u64;
        let mut last = Instant::now();
        while events < want {
            let Some(Ok(frame)) = body.frame().await else {
                break;
            };
            if let Some(d) = frame.data_ref() {
                bytes += d.len() as u64;
                events += d.iter().filter(|b| **b == b'\n').count() as u64;
                last = Instant::now();
            }
        }
        (events, bytes, last)
    });

    let cpu0 = cpu_time();
    let start = Instant::now();
    let mut writers = Vec::new();
    for w in 0..o.writers {
        let client = client.clone();
        let base = base.clone();
        let pods = o.pods;
        let (updates, writers_n) = (o.updates, o.writers);
        writers.push(tokio::spawn(async move {
            let mut n = w;
            let mut done = 0u64;
            while n < updates {
                let name = format!("coredns-674b8bbfcf-{:06}", n % pods);
                let body = format!(r#"{{"metadata":{{"labels":{{"bench-step":"{n}"}}}}}}"#);
                let req = http::Request::patch(format!("{base}{PODS}/{name}"))
                    .header("content-type", "application/merge-patch+json")
                    .body(Full::new(Bytes::from(body)))
                    .expect("request");
                let resp = client.request(req).await.expect("PATCH");
                assert!(resp.status().is_success(), "PATCH {name}: {}", resp.status());
                let _ = resp.into_body().collect().await;
                done += 1;
                n += writers_n;
            }
            done
        }));
    }
    let mut applied = 0u64;
    for w in writers {
        applied += w.await.expect("writer");
    }
    let write_time = start.elapsed();
    let remaining = deadline.saturating_duration_since(Instant::now());
    let (events, watch_bytes, last) = match tokio::time::timeout(remaining, watcher).await {
        Ok(r) => r.expect("watcher"),
        Err(_) => {
            eprintln!("testserver-bench: the watcher did not see every event before the deadline");
            std::process::exit(1);
        }
    };
    let watch_time = last.saturating_duration_since(start);
    let watch_cpu = cpu_time() - cpu0;

    // Replay: a second watcher from the same resourceVersion after every update is done,
    // so the server sends the whole history as fast as it can (delivery alone).
    let replay_cpu0 = cpu_time();
    let replay_start = Instant::now();
    let resp = client
        .get(watch_url.parse().expect("url"))
        .await
        .expect("replay watch");
    assert!(resp.status().is_success(), "replay watch: {}", resp.status());
    let replay = async {
        let mut body = resp.into_body();
        let mut events = 0u64;
        let mut bytes = 0u64;
        while events < want {
            let Some(Ok(frame)) = body.frame().await else {
                break;
            };
            if let Some(d) = frame.data_ref() {
                bytes += d.len() as u64;
                events += d.iter().filter(|b| **b == b'\n').count() as u64;
            }
        }
        (events, bytes)
    };
    let remaining = deadline.saturating_duration_since(Instant::now());
    let (replay_events, replay_bytes) = tokio::time::timeout(remaining, replay)
        .await
        .unwrap_or((0, 0));
    let replay_time = replay_start.elapsed();
    let replay_cpu = cpu_time() - replay_cpu0;

    println!();
    println!("kubecto-testserver throughput (one process: server + raw hyper client)");
    println!();
    println!("| what | figure |");
    println!("|---|---|");
    println!(
        "| seed {} pods (in process) | {:.1} s ({:.0} µs/pod) |",
        o.pods,
        seed_time.as_secs_f64(),
        seed_time.as_secs_f64() * 1e6 / o.pods as f64
    );
    println!(
        "| LIST of {} pods, {:.1} MB | {ms:.0} ms per list (median of {}; process CPU {:.0} ms), {mb_per_s:.0} MB/s |",
        o.pods,
        list_bytes as f64 / 1e6,
        list_ms.len(),
        median(list_cpu_ms)
    );
    println!(
        "| {applied} merge patches by {} writers | {:.1} s, {:.0} updates/s |",
        o.writers,
        write_time.as_secs_f64(),
        applied as f64 / write_time.as_secs_f64()
    );
    println!(
        "| watch: events delivered to one raw watcher | {events} events, {:.1} MB in {:.1} s: {:.0} events/s (process CPU {:.0} µs per update+event) |",
        watch_bytes as f64 / 1e6,
        watch_time.as_secs_f64(),
        events as f64 / watch_time.as_secs_f64(),
        watch_cpu.as_secs_f64() * 1e6 / applied.max(1) as f64
    );
    println!(
        "| watch replay: the same {replay_events} events from history to a new watcher | {:.1} MB in {:.2} s: {:.0} events/s, {:.0} MB/s (process CPU {:.1} µs per event) |",
        replay_bytes as f64 / 1e6,
        replay_time.as_secs_f64(),
        replay_events as f64 / replay_time.as_secs_f64(),
        replay_bytes as f64 / 1e6 / replay_time.as_secs_f64(),
        replay_cpu.as_secs_f64() * 1e6 / replay_events.max(1) as f64
    );
    println!("| peak RSS | {:.0} MiB |", peak_rss_mib());
    println!(
        "{}",
        json!({
            "pods": o.pods, "seed_s": seed_time.as_secs_f64(),
            "list_bytes": list_bytes, "list_ms_median": ms, "list_mb_per_s": mb_per_s,
            "updates": applied, "writers": o.writers, "update_s": write_time.as_secs_f64(),
            "watch_events": events, "watch_s": watch_time.as_secs_f64(),
            "watch_events_per_s": events as f64 / watch_time.as_secs_f64(),
            "replay_events": replay_events, "replay_s": replay_time.as_secs_f64(),
            "replay_events_per_s": replay_events as f64 / replay_time.as_secs_f64(),
            "peak_rss_mib": peak_rss_mib(),
        })
    );
    server.shutdown().await;
    if events < want {
        eprintln!("testserver-bench: the watcher saw {events} of {want} events");
        std::process::exit(1);
    }
}
