//! `cargo xtask <task>`: the one entry point for kubecto's chores.
//!
//! - `demo`: start the embedded test server with realistic kube-system pods, run
//!   the `list_pods` example against it, shut down.
//! - `test`: the README's test command: install what the conformance tests need in
//!   `target/conformance-venv` when it is missing, then `cargo test --workspace --no-fail-fast`.
//! - `ci`: format check, clippy with warnings denied, docs, tests; in that order,
//!   stopping at the first failure.
//! - `bench`: kubecto against kube-rs, side by side (the `bench/` workspace), and the
//!   test server's own throughput (`bench testserver`) and peak memory under 100,000
//!   updates (`bench testserver-memory`).
//! - `codegen`: regenerate the clientset's accessors, the protobuf codecs and the test
//!   server's protobuf message table (`--check`:
//!   fail when stale).
//! - `soak`: writers, watchers and informers against the test server under random faults,
//!   then checks for duplicated creates, lost events, memory growth and leaks.

mod bench;
mod ci;
mod codegen;
mod codegen_protobuf;
mod codegen_testserver_pb;
mod demo;
mod soak;
mod test;
#[path = "../../crates/testserver/tests/common/tools.rs"]
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  demo      run the list_pods example against the embedded test server
  test      every test: installs kubectl and the Python `kubernetes` client in
            target/conformance-venv when missing, then cargo test --workspace --no-fail-fast
            (arguments replace --workspace: `test -p kubecto-testserver --test conformance_python`)
  ci        cargo fmt --check, clippy -D warnings, doc -D warnings, tests (stops at the first failure)
  bench     kubecto vs kube-rs ratios (`bench --help` for workloads; `bench testserver`;
            `bench testserver-memory`: peak RSS after 100,000 updates)
  codegen   regenerate crates/clientset/src/generated, crates/protobuf/src/generated and
            crates/testserver/src/protobuf/generated
            (`--check`: fail when stale; `--import-protos DIR TAG`: re-vendor the protos)
  soak      writers, watchers and informers under random faults for a while (default
            60 s; `--minutes N`), then checks: no duplicated create, no lost event,
            bounded memory, no leaked task or connection
  help      this message";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(task) = args.first().map(String::as_str) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match task {
        "demo" => demo::run(&args[1..]),
        "test" => test::run(&args[1..]),
        "ci" => ci::run(&args[1..]),
        "bench" => bench::run(&args[1..]),
        "codegen" => codegen::run(&args[1..]),
        "soak" => soak::run(&args[1..]),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        other => {
            eprintln!("xtask: unknown task {other:?}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// The workspace root (the parent of this package's directory).
fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}

/// The cargo that runs us (`$CARGO`), else `cargo` from `PATH`, in the environment a
/// `cargo` typed in a shell would have.
///
/// `cargo run` gives us `CARGO_MANIFEST_DIR`, `CARGO_PKG_*` and the like. Passed on,
/// they reach the fingerprints of build scripts that watch them (ring's watches
/// `CARGO_MANIFEST_DIR`), so every later plain `cargo build` or `cargo test` would see
/// them change and rebuild ring and all that stands on it.
fn cargo() -> std::process::Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(workspace_root());
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if name == "CARGO"
            || name == "CARGO_MANIFEST_DIR"
            || name == "CARGO_MANIFEST_PATH"
            || name.starts_with("CARGO_PKG_")
        {
            cmd.env_remove(name);
        }
    }
    cmd
}
