//! `kubecto-testserver --port N [--seed DIR_OR_FILE ...] [--kubeconfig-out PATH] [--tls] [--token T]`
//!
//! Serves an in-memory Kubernetes API on 127.0.0.1 until interrupted.

use std::process::ExitCode;

use kubecto_testserver::TestServer;

const USAGE: &str = "usage: kubecto-testserver [--port N] [--seed DIR_OR_FILE]... [--kubeconfig-out PATH] [--watch-history N] [--tls] [--token TOKEN]\n  --tls          serve HTTPS with a CA generated at start (the kubeconfig carries it)\n  --token TOKEN  require this bearer token (the kubeconfig carries it)";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("kubecto-testserver: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let mut builder = TestServer::builder();
    let mut seeds = Vec::new();
    let mut kubeconfig_out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--port" => {
                let v = value("--port")?;
                builder = builder.port(
                    v.parse()
                        .map_err(|_| format!("--port: {v:?} is not a port number"))?,
                );
            }
            "--watch-history" => {
                let v = value("--watch-history")?;
                builder = builder.watch_history(
                    v.parse()
                        .map_err(|_| format!("--watch-history: {v:?} is not a number"))?,
                );
            }
            "--seed" => seeds.push(value("--seed")?),
            "--tls" => builder = builder.tls(),
            "--token" => builder = builder.require_token(value("--token")?),
            "--kubeconfig-out" => kubeconfig_out = Some(value("--kubeconfig-out")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let server = builder.start().await.map_err(|e| e.to_string())?;
    for seed in &seeds {
        let n = server.seed_path(seed).map_err(|e| e.to_string())?;
        eprintln!("seeded {n} objects from {seed}");
    }
    if let Some(path) = &kubeconfig_out {
        server
            .write_kubeconfig(path)
            .map_err(|e| format!("cannot write kubeconfig {path}: {e}"))?;
        eprintln!("wrote kubeconfig to {path}");
    }
    println!("kubecto-testserver listening on {}", server.url());
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("waiting for Ctrl-C: {e}"))?;
    server.shutdown().await;
    Ok(())
}
