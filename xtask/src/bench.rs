//! `cargo xtask bench`: kubecto against kube-rs 5, side by side on this machine.
//!
//! The benchmark lives in `bench/`, its own workspace (the root `Cargo.toml` excludes it),
//! so kube-rs is compiled only here. This task builds it in release and runs its driver,
//! which starts a fast local server, runs every workload with each client in its own
//! process (medians of at least five runs, clients alternating) and prints a table of
//! kubecto/kube-rs ratios.
//!
//! - `cargo xtask bench [--quick] [--runs N] [--workload NAME[,NAME..]]`: the comparison.
//!   Workloads: get-seq, get-par, list, list-collect, list-stream, watch; kubecto in
//!   protobuf (kubecto-clientset's `Api<Pod>`; compared with kube-rs's JSON run of the same
//!   objects, kube-rs having no protobuf): get-seq-pb, get-seq-pb-drop, get-par-pb,
//!   list-collect-pb, list-collect-pb-drop, list-stream-pb, list-stream-pb-drop, watch-pb,
//!   watch-pb-drop
//!   (`-drop`: managedFields skipped while decoding); and the caches: reflector,
//!   reflector-drop, informer (a paged LIST of 10,000 pods into a store, then 100,000 watch
//!   events applied to it; kube-rs: `reflector(store, watcher(..))`).
//! - `cargo xtask bench testserver [--quick]`: kubecto-testserver's own throughput
//!   (`bench/testserver`, another workspace, so the test server's serde_json features do
//!   not leak into the client comparison).
//! - `cargo xtask bench testserver-memory [ARGS]`: the test server's peak RSS after
//!   100,000 updates of one ConfigMap, then of 1,000 (its `history_memory` example in
//!   release, each run in a fresh process); what bounds it is the history compaction.
//! - `cargo xtask bench compression [--runs N] [--rates MBIT,..]`: a LIST of 10,000 pods
//!   with and without gzip, on loopback and through a relay paced to each rate
//!   (`bench-compression`): bytes on the wire, client CPU, wall time, peak RSS.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::{cargo, workspace_root};

const USAGE: &str = "\
usage: cargo xtask bench [--quick] [--runs N] [--workload NAME[,NAME..]] [--json PATH]
       cargo xtask bench testserver [--quick] [--updates N] [--writers N] [--lists N]
       cargo xtask bench testserver-memory [--updates N] [--writers N] [--history N]
       cargo xtask bench compression [--runs N] [--rates MBIT,..]   (0: unshaped loopback)

  --quick      fewer runs (3) and smaller GET/watch counts; for a first look, not for figures
  --runs N     runs per client per workload (default 5)
  --workload   get-seq, get-par, list, list-collect, list-stream, watch,
               protobuf (kubecto in protobuf against kube-rs in JSON, same objects):
                 get-seq-pb, get-seq-pb-drop, get-par-pb, list-collect-pb,
                 list-collect-pb-drop, list-stream-pb, list-stream-pb-drop, watch-pb,
                 watch-pb-drop,
               reflector, reflector-drop, informer (default: all)
  --json PATH  raw runs and medians as JSON (default: bench/target/bench-results.json)";

pub(crate) fn run(args: &[String]) -> ExitCode {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let result = match args.first().map(String::as_str) {
        Some("testserver") => testserver(&args[1..]),
        Some("testserver-memory") => testserver_memory(&args[1..]),
        Some("compression") => compression(&args[1..]),
        _ => compare(args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("xtask bench: {message}");
            ExitCode::FAILURE
        }
    }
}

fn bench_dir() -> PathBuf {
    workspace_root().join("bench")
}

/// `cargo build --release --manifest-path <manifest>`, sharing `bench/target`.
fn build(manifest: &Path) -> Result<(), String> {
    eprintln!(
        "xtask bench: building {} in release (the first build of kube-rs takes minutes)",
        manifest.display()
    );
    let mut cmd = cargo();
    // `cargo run` gave this process the package variables of xtask (CARGO_PKG_*,
    // CARGO_MANIFEST_DIR, ...); build scripts of the bench's dependencies would see them
    // and rebuild on every switch between `cargo xtask bench` and a plain cargo build.
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || matches!(
                key,
                "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE" | "OUT_DIR"
            )
        {
            cmd.env_remove(key);
        }
    }
    let status = cmd
        .args(["build", "--release", "--manifest-path"])
        .arg(manifest)
        .arg("--target-dir")
        .arg(bench_dir().join("target"))
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("building {} failed ({status})", manifest.display()))
    }
}

fn exit_code(status: std::process::ExitStatus) -> ExitCode {
    match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(1)),
        None => ExitCode::FAILURE,
    }
}

fn compare(args: &[String]) -> Result<ExitCode, String> {
    build(&bench_dir().join("Cargo.toml"))?;
    let driver = bench_dir().join("target/release/bench-driver");
    let mut cmd = Command::new(&driver);
    cmd.args(args);
    if !args.iter().any(|a| a == "--json") {
        cmd.arg("--json")
            .arg(bench_dir().join("target/bench-results.json"));
    }
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {}: {e}", driver.display()))?;
    Ok(exit_code(status))
}

/// `bench-compression`: the LIST with and without gzip, unshaped and on paced links.
fn compression(args: &[String]) -> Result<ExitCode, String> {
    build(&bench_dir().join("Cargo.toml"))?;
    let program = bench_dir().join("target/release/bench-compression");
    let status = Command::new(&program)
        .args(args)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    Ok(exit_code(status))
}

/// Peak RSS after `--updates` writes to 1, then 1,000 ConfigMaps: the test server's
/// `history_memory` example, built in release in the main workspace's target.
fn testserver_memory(args: &[String]) -> Result<ExitCode, String> {
    let example = ["-p", "kubecto-testserver", "--example", "history_memory"];
    let status = cargo()
        .args(["build", "--release"])
        .args(example)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the history_memory example failed ({status})"
        ));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from);
    let program = target.join("release/examples/history_memory");
    for objects in ["1", "1000"] {
        let status = Command::new(&program)
            .args(["--objects", objects])
            .args(args)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
        if !status.success() {
            return Ok(exit_code(status));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn testserver(args: &[String]) -> Result<ExitCode, String> {
    build(&bench_dir().join("testserver/Cargo.toml"))?;
    let program = bench_dir().join("target/release/kubecto-testserver-bench");
    let status = Command::new(&program)
        .args(args)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    Ok(exit_code(status))
}
