//! Peak memory of the test server after many updates: how much the history of writes
//! (watch resumption, paginated snapshots) costs once it is compacted.
//!
//! Creates `--objects` ConfigMaps (about 1 KiB of data each), then applies `--updates`
//! merge patches to them over HTTP, round robin, from `--writers` concurrent clients, and
//! prints the process's peak RSS (`VmHWM` in `/proc/self/status`; server and client share
//! the process) and what a watch from resourceVersion 1 is answered (410 Expired once the
//! history was compacted past it).
//!
//! ```text
//! cargo run --release -p kubecto-testserver --example history_memory -- --objects 1
//! cargo run --release -p kubecto-testserver --example history_memory -- --objects 1000
//! ```
//!
//! `cargo xtask bench testserver-memory` runs both, each in a fresh process. `--history N`
//! sets `TestServerBuilder::watch_history` (e.g. `--history 101000`: no compaction by
//! count, so only the byte limit bounds the history).

use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kubecto_testserver::TestServer;
use serde_json::{Value, json};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";

struct Options {
    objects: u64,
    updates: u64,
    writers: u64,
    history: Option<usize>,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        objects: 1,
        updates: 100_000,
        writers: 4,
        history: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let v = it.next().ok_or(format!("{name} needs a number"))?;
            v.parse::<u64>()
                .map_err(|_| format!("{name}: {v:?} is not a number"))
        };
        match a.as_str() {
            "--objects" => o.objects = number("--objects")?.max(1),
            "--updates" => o.updates = number("--updates")?,
            "--writers" => o.writers = number("--writers")?.max(1),
            "--history" => o.history = Some(number("--history")? as usize),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

/// `VmHWM` (peak) and `VmRSS` (now) of this process, in MiB.
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| {
                l.strip_prefix(name)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .map_or(f64::NAN, |kib: f64| kib / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

async fn send(
    client: &HttpClient,
    req: http::Request<Full<Bytes>>,
) -> Result<(u16, Bytes), String> {
    let res = client.request(req).await.map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

async fn run(o: Options) -> Result<(), String> {
    let mut builder = TestServer::builder();
    if let Some(events) = o.history {
        builder = builder.watch_history(events);
    }
    let server = builder.start().await.map_err(|e| e.to_string())?;
    let base = server.url();
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let payload = "x".repeat(1024);
    for i in 0..o.objects {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("cm-{i:05}"), "labels": {"app": "history-memory"}},
            "data": {"payload": payload, "step": "0"}});
        let req = http::Request::post(format!("{base}{CONFIGMAPS}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(cm.to_string())))
            .map_err(|e| e.to_string())?;
        let (status, body) = send(&client, req).await?;
        if status != 201 {
            return Err(format!(
                "create: {status} {}",
                String::from_utf8_lossy(&body)
            ));
        }
    }
    let (peak_before, _) = rss_mib();
    let start = Instant::now();
    let mut writers = Vec::new();
    for w in 0..o.writers {
        let (client, base) = (client.clone(), base.clone());
        let (objects, updates, step) = (o.objects, o.updates, o.writers);
        writers.push(tokio::spawn(async move {
            let mut n = w;
            while n < updates {
                let name = format!("cm-{:05}", n % objects);
                let patch = format!(r#"{{"data":{{"step":"{n}"}}}}"#);
                let req = http::Request::patch(format!("{base}{CONFIGMAPS}/{name}"))
                    .header("content-type", "application/merge-patch+json")
                    .body(Full::new(Bytes::from(patch)))
                    .map_err(|e| e.to_string())?;
                let (status, body) = send(&client, req).await?;
                if status != 200 {
                    return Err(format!(
                        "PATCH {name}: {status} {}",
                        String::from_utf8_lossy(&body)
                    ));
                }
                n += step;
            }
            Ok::<(), String>(())
        }));
    }
    for w in writers {
        w.await.map_err(|e| e.to_string())??;
    }
    let took = start.elapsed();
    // What a watch from the first resourceVersion gets now: its first line.
    let req = http::Request::get(format!(
        "{base}{CONFIGMAPS}?watch=true&resourceVersion=1&timeoutSeconds=1"
    ))
    .body(Full::new(Bytes::new()))
    .map_err(|e| e.to_string())?;
    let (_, body) = send(&client, req).await?;
    let first: Value = body
        .split(|b| *b == b'\n')
        .next()
        .and_then(|l| serde_json::from_slice(l).ok())
        .unwrap_or(Value::Null);
    let probe = match first["type"].as_str() {
        Some("ERROR") => format!(
            "{} {}: {}",
            first["object"]["code"], first["object"]["reason"], first["object"]["message"]
        ),
        Some(t) => format!("{t} (history reaches back to resourceVersion 1)"),
        None => "no event".to_owned(),
    };
    let (peak, now) = rss_mib();
    println!(
        "{} updates over {} ConfigMap(s) by {} writers in {:.1} s ({:.0}/s)",
        o.updates,
        o.objects,
        o.writers,
        took.as_secs_f64(),
        o.updates as f64 / took.as_secs_f64()
    );
    println!("watch from resourceVersion 1: {probe}");
    println!(
        "peak RSS (VmHWM): {peak:.1} MiB (after the creates: {peak_before:.1} MiB; VmRSS now {now:.1} MiB)"
    );
    server.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!(
                "history_memory: {e}\nusage: history_memory [--objects N] [--updates N] [--writers N]"
            );
            return std::process::ExitCode::from(2);
        }
    };
    match run(o).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("history_memory: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
