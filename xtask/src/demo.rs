//! `cargo xtask demo`: the README's first command.
//!
//! Builds the `list_pods` example, starts the embedded kubecto-testserver seeded with
//! the kube-system pods of `examples/manifests/`, writes a kubeconfig for it to a
//! temporary file, runs the example with `--kubeconfig` pointing there (its output
//! goes straight to stdout), shuts the server down, and exits with the example's
//! status.

use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};

use kubecto_testserver::TestServer;

use crate::cargo;

/// The pods the demo lists.
const MANIFESTS: &str = include_str!("../../examples/manifests/kube-system-pods.yaml");

pub(crate) fn run(args: &[String]) -> ExitCode {
    if let Some(extra) = args.first() {
        eprintln!("xtask demo: unexpected argument {extra:?} (demo takes none)");
        return ExitCode::from(2);
    }
    match demo() {
        Ok(code) => code,
        Err(message) => {
            eprintln!("xtask demo: {message}");
            ExitCode::FAILURE
        }
    }
}

fn demo() -> Result<ExitCode, String> {
    let example = build_example()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the tokio runtime: {e}"))?;
    runtime.block_on(serve_and_run(example))
}

/// `cargo build --example list_pods -p kubecto-examples`, returning the executable.
fn build_example() -> Result<PathBuf, String> {
    eprintln!(
        "xtask demo: building the list_pods example (the first time: about a minute on 2 cores)"
    );
    let output = cargo()
        .args([
            "build",
            "--example",
            "list_pods",
            "-p",
            "kubecto-examples",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!("building list_pods failed ({})", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == "list_pods")
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo built list_pods but did not report its executable".to_owned())
}

async fn serve_and_run(example: PathBuf) -> Result<ExitCode, String> {
    let server = TestServer::start()
        .await
        .map_err(|e| format!("cannot start the test server: {e}"))?;
    let result = seed_and_run(&server, example).await;
    server.shutdown().await;
    result
}

async fn seed_and_run(server: &TestServer, example: PathBuf) -> Result<ExitCode, String> {
    let seeded = seed(server)
        .await
        .map_err(|e| format!("cannot seed examples/manifests/kube-system-pods.yaml: {e}"))?;
    let dir = TempDir::new()?;
    let kubeconfig = dir.0.join("kubeconfig");
    server
        .write_kubeconfig(&kubeconfig)
        .map_err(|e| format!("cannot write {}: {e}", kubeconfig.display()))?;
    eprintln!(
        "xtask demo: test server at {} with {seeded} objects; running {} --kubeconfig {}\n",
        server.url(),
        display_name(&example),
        kubeconfig.display()
    );

    // The example blocks on its own process; keep the server's runtime free.
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&example)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", example.display()))
    })
    .await
    .map_err(|e| format!("the example's runner task failed: {e}"))??;

    if status.success() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("\nxtask demo: list_pods failed ({status})");
        Ok(ExitCode::FAILURE)
    }
}

/// Create every object of [`MANIFESTS`]; the test server keeps each pod's manifest
/// status (a seed is a fixture), so the demo lists them `Running`.
async fn seed(server: &TestServer) -> Result<usize, String> {
    server.seed_manifests(MANIFESTS).map_err(|e| e.to_string())
}

/// `target/debug/examples/list_pods` relative to the workspace when possible.
fn display_name(path: &Path) -> String {
    let root = crate::workspace_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// A unique temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("kubecto-demo-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use kubecto_rest_core::{Config, RestClient};
    use serde_json::Value;

    use super::*;

    #[tokio::test]
    async fn seeding_gives_every_demo_pod_its_manifest_status() {
        let server = TestServer::start().await.unwrap();
        assert_eq!(seed(&server).await.unwrap(), 7);
        let client = RestClient::for_config(&Config::new(server.url())).unwrap();
        let list: Value = client
            .get()
            .namespace("kube-system")
            .resource("pods")
            .send()
            .await
            .unwrap()
            .into()
            .await
            .unwrap();
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 7);
        for pod in items {
            assert_eq!(
                pod["status"]["phase"], "Running",
                "{}",
                pod["metadata"]["name"]
            );
        }
        server.shutdown().await;
    }
}
