//! Peak memory and time of a dynamic LIST of 10,000 realistic pods (about 6.8 KB of JSON
//! each, the coredns fixture with its managedFields): decoded whole
//! ([`DynamicResource::list`](kubecto_dynamic::DynamicResource::list)) versus as a stream of
//! items ([`list_stream`](kubecto_dynamic::DynamicResource::list_stream)).
//!
//! ```text
//! cargo run --release -p kubecto-dynamic --example list_memory [-- COUNT]
//! ```
//!
//! The parent starts an in-process test server, seeds the pods, then runs each mode in a
//! child process of its own (this program again) so that each peak RSS (`VmHWM`, Linux)
//! belongs to one client alone. A `baseline` child makes one tiny request: the client and
//! runtime with no list in flight.

use std::process::{Command, ExitCode};
use std::time::Instant;

use futures_util::StreamExt;
use kubecto_dynamic::{DynamicClient, GroupVersionResource, ListOptions};
use kubecto_rest_core::Config;

const POD: &str = include_str!("../../testserver/data/bench/coredns-pod.json");

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("list_memory: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match args.first().map(String::as_str) {
        Some("child") => runtime.block_on(child(&args[1..])),
        _ => runtime.block_on(parent(
            args.first().and_then(|c| c.parse().ok()).unwrap_or(10_000),
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("list_memory: {e}");
            ExitCode::FAILURE
        }
    }
}

fn pods() -> GroupVersionResource {
    GroupVersionResource::new("", "v1", "pods")
}

/// Peak resident set size of this process in KiB (`VmHWM`), if the OS reports it.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn child(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let [mode, url] = args else {
        return Err("usage: list_memory child MODE URL".into());
    };
    let client = DynamicClient::new(&Config::new(url.as_str()).without_rate_limit())?;
    let pods = client.resource(pods()).namespace("bench");
    let start = Instant::now();
    let count = match mode.as_str() {
        "baseline" => pods.list(&ListOptions::new().limit(1)).await?.len(),
        "list" => {
            let list = pods.list(&ListOptions::new()).await?;
            // Touch every item, as a caller would.
            list.items.iter().filter(|p| p.name().is_some()).count()
        }
        "stream" => {
            let mut stream = pods.list_stream(&ListOptions::new());
            let mut n = 0;
            while let Some(item) = stream.next().await {
                if item?.name().is_some() {
                    n += 1;
                }
            }
            n
        }
        other => return Err(format!("unknown mode {other:?}").into()),
    };
    let elapsed = start.elapsed();
    let peak = peak_rss_kib().map_or("n/a".to_owned(), |k| k.to_string());
    println!("{mode} {count} {} {peak}", elapsed.as_millis());
    Ok(())
}

async fn parent(count: usize) -> Result<(), Box<dyn std::error::Error>> {
    let server = kubecto_testserver::TestServer::start().await?;
    server.seed(
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}}),
    )?;
    let template: serde_json::Value = serde_json::from_str(POD)?;
    for i in 0..count {
        let mut pod = template.clone();
        pod["metadata"]["name"] = format!("coredns-{i:05}").into();
        pod["metadata"]["namespace"] = "bench".into();
        server.seed(pod)?;
    }
    let body = kubecto_rest_core::RestClient::new(Config::new(server.url()))?
        .get()
        .namespace("bench")
        .resource("pods")
        .send()
        .await?
        .bytes()
        .await?;
    println!(
        "{count} pods, LIST body {:.1} MiB ({} bytes per pod)",
        body.len() as f64 / 1048576.0,
        body.len() / count.max(1)
    );
    drop(body);
    println!(
        "{:<10} {:>7} {:>10} {:>14}",
        "mode", "items", "time ms", "peak RSS MiB"
    );
    let exe = std::env::current_exe()?;
    for mode in ["baseline", "list", "stream"] {
        let url = server.url();
        let exe = exe.clone();
        let out = tokio::task::spawn_blocking(move || {
            Command::new(exe).args(["child", mode, &url]).output()
        })
        .await??;
        if !out.status.success() {
            return Err(format!(
                "{mode} child failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let cells: Vec<&str> = text.split_whitespace().collect();
        if let [mode, items, ms, peak] = cells.as_slice() {
            let mib = peak
                .parse::<f64>()
                .map_or("n/a".to_owned(), |k| format!("{:.1}", k / 1024.0));
            println!("{mode:<10} {items:>7} {ms:>10} {mib:>14}");
        }
    }
    Ok(())
}
