//! What asking for gzip costs and saves on a LIST of 10,000 pods, on loopback and on
//! shaped links: `cargo xtask bench compression [--runs N] [--rates 0,100,10]`.
//!
//! Starts `bench-server --gzip` (the list compressed once at start, at kube-apiserver's
//! level 1; sent compressed only to a request whose `Accept-Encoding` names gzip), and
//! between it and the clients a relay of its own on 127.0.0.1 that counts the bytes it
//! carries and, for a rate in Mbit/s (0: unshaped), paces the server-to-client direction
//! to that rate (no added latency, no loss). Through it, the `list` workload runs with
//! `bench-kubecto` as configured by default (`Accept-Encoding: gzip`), `bench-kubecto` with
//! compression disabled (`KUBECTO_BENCH_NO_COMPRESSION`, kubeconfig `disable-compression`),
//! and `bench-kube` (kube-rs with its default features, which do not ask for gzip).
//! Prints medians per rate and client: bytes on the wire (server to client), client CPU,
//! wall time, peak RSS.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn sibling(name: &str) -> PathBuf {
    std::env::current_exe()
        .expect("current exe")
        .with_file_name(name)
}

/// A relay from 127.0.0.1:0 to `upstream`; counts the bytes sent to the client in
/// `down`, pacing them to `mbit` Mbit/s when not 0.
async fn relay(upstream: std::net::SocketAddr, mbit: u64, down: Arc<AtomicU64>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
    let addr = listener.local_addr().expect("relay address");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let down = down.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                    let _ = sw.shutdown().await;
                });
                let mut buf = vec![0u8; 16 * 1024];
                let start = Instant::now();
                let mut sent = 0u64;
                loop {
                    let n = match sr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if mbit > 0 {
                        // Send no sooner than the link would have carried what went before.
                        let due = Duration::from_secs_f64(sent as f64 * 8.0 / (mbit as f64 * 1e6));
                        tokio::time::sleep_until((start + due).into()).await;
                    }
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    sent += n as u64;
                    down.fetch_add(n as u64, Ordering::Relaxed);
                }
                let _ = cw.shutdown().await;
                up.abort();
            });
        }
    });
    format!("http://{addr}")
}

struct Run {
    wire: u64,
    cpu_ms: f64,
    wall_ms: f64,
    rss_mib: f64,
}

fn run_client(bin: &str, url: &str, no_compression: bool) -> serde_json::Value {
    let mut cmd = Command::new(sibling(bin));
    cmd.args(["list", url]).stderr(Stdio::inherit());
    if no_compression {
        cmd.env("KUBECTO_BENCH_NO_COMPRESSION", "1");
    }
    let out = cmd.output().expect("run the client");
    assert!(out.status.success(), "{bin} failed: {}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().expect("the client's JSON line");
    serde_json::from_str(line).expect("the client's JSON line")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut runs = 3usize;
    let mut rates = vec![0u64, 100, 10];
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => runs = it.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--rates" => {
                rates = it
                    .next()
                    .expect("--rates 0,100,10")
                    .split(',')
                    .map(|r| r.parse().expect("a rate in Mbit/s"))
                    .collect();
            }
            other => {
                eprintln!(
                    "bench-compression: unknown argument {other:?}\nusage: bench-compression [--runs N] [--rates MBIT,...] (0: unshaped)"
                );
                std::process::exit(2);
            }
        }
    }
    let mut server = Command::new(sibling("bench-server"))
        .args(["--gzip", "--watch-events", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start bench-server");
    let mut first = String::new();
    BufReader::new(server.stdout.take().expect("server stdout"))
        .read_line(&mut first)
        .expect("the server's URL");
    let upstream: std::net::SocketAddr = first
        .trim()
        .trim_start_matches("http://")
        .parse()
        .expect("the server's address");
    // The relays run on the runtime's one worker while the clients run.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let clients = [
        ("kubecto, gzip (default)", "bench-kubecto", false),
        ("kubecto, no compression", "bench-kubecto", true),
        ("kube-rs (no gzip)", "bench-kube", false),
    ];
    println!(
        "| link | client | bytes on the wire | client CPU | wall | peak RSS |\n|---|---|---|---|---|---|"
    );
    for &mbit in &rates {
        let down = Arc::new(AtomicU64::new(0));
        let url = rt.block_on(relay(upstream, mbit, down.clone()));
        let link = if mbit == 0 {
            "loopback".to_owned()
        } else {
            format!("{mbit} Mbit/s")
        };
        for (name, bin, no_compression) in clients {
            let mut all = Vec::new();
            for _ in 0..runs {
                down.store(0, Ordering::Relaxed);
                let v = run_client(bin, &url, no_compression);
                let ns = |k: &str| v[k].as_u64().unwrap_or(0) as f64 / 1e6;
                all.push(Run {
                    wire: down.load(Ordering::Relaxed),
                    cpu_ms: ns("cpu_ns"),
                    wall_ms: ns("wall_ns"),
                    rss_mib: v["peak_rss_kib"].as_u64().unwrap_or(0) as f64 / 1024.0,
                });
            }
            println!(
                "| {link} | {name} | {:.1} MB | {:.0} ms | {:.0} ms | {:.1} MiB |",
                median(all.iter().map(|r| r.wire as f64).collect()) / 1e6,
                median(all.iter().map(|r| r.cpu_ms).collect()),
                median(all.iter().map(|r| r.wall_ms).collect()),
                median(all.iter().map(|r| r.rss_mib).collect()),
            );
        }
    }
    drop(server.stdin.take());
    let _ = server.wait();
}
