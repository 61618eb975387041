//! `kubecto-testserver --port N [--seed DIR_OR_FILE ...] [--kubeconfig-out PATH] [--tls] [--token T] [--controllers [--no-kubelet]]`
//!
//! Serves an in-memory Kubernetes API on 127.0.0.1 until interrupted. The URL goes to
//! stdout; what it did at start (seeding, the kubeconfig written) is logged to stderr
//! through `tracing` at `info`, which `RUST_LOG=warn` silences. A usage error exits
//! with status 2, any other failure with 1.

use std::process::ExitCode;

use kubecto_testserver::TestServer;

const USAGE: &str = "usage: kubecto-testserver [--port N] [--seed DIR_OR_FILE]... [--kubeconfig-out PATH] [--watch-history N] [--tls] [--token TOKEN] [--controllers [--no-kubelet]]\n  --tls          serve HTTPS with a CA generated at start (the kubeconfig carries it)\n  --token TOKEN  require this bearer token (the kubeconfig carries it)\n  --controllers  run the built-in controllers (namespaces, deployments, replica sets,\n                 jobs, endpoints) and a stand-in kubelet that runs pods\n  --no-kubelet   with --controllers: no kubelet, pods stay Pending";

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("kubecto-testserver: {message}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Run(message)) => {
            eprintln!("kubecto-testserver: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Why the server did not run: a usage error (exit 2) or a failure (exit 1).
enum Failure {
    Usage(String),
    Run(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Run(message)
    }
}

async fn run() -> Result<(), Failure> {
    let mut builder = TestServer::builder();
    let mut controllers = false;
    let mut kubelet = true;
    let mut seeds = Vec::new();
    let mut kubeconfig_out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| Failure::Usage(format!("{name} needs a value")))
        };
        match arg.as_str() {
            "--port" => {
                let v = value("--port")?;
                builder =
                    builder.port(v.parse().map_err(|_| {
                        Failure::Usage(format!("--port: {v:?} is not a port number"))
                    })?);
            }
            "--watch-history" => {
                let v = value("--watch-history")?;
                builder = builder.watch_history(v.parse().map_err(|_| {
                    Failure::Usage(format!("--watch-history: {v:?} is not a number"))
                })?);
            }
            "--seed" => seeds.push(value("--seed")?),
            "--tls" => builder = builder.tls(),
            "--controllers" => controllers = true,
            "--no-kubelet" => kubelet = false,
            "--token" => builder = builder.require_token(value("--token")?),
            "--kubeconfig-out" => kubeconfig_out = Some(value("--kubeconfig-out")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(Failure::Usage(format!("unknown argument {other:?}"))),
        }
    }
    if !kubelet && !controllers {
        return Err(Failure::Usage(
            "--no-kubelet needs --controllers".to_owned(),
        ));
    }
    builder = builder.controllers(controllers).kubelet(kubelet);
    let server = builder.start().await.map_err(|e| e.to_string())?;
    for seed in &seeds {
        let n = server.seed_path(seed).map_err(|e| e.to_string())?;
        tracing::info!("seeded {n} objects from {seed}");
    }
    if let Some(path) = &kubeconfig_out {
        server
            .write_kubeconfig(path)
            .map_err(|e| format!("cannot write kubeconfig {path}: {e}"))?;
        tracing::info!("wrote kubeconfig to {path}");
    }
    println!("kubecto-testserver listening on {}", server.url());
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("waiting for Ctrl-C: {e}"))?;
    server.shutdown().await;
    Ok(())
}
