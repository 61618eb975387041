//! The `kubecto-testserver` binary's command line: usage errors exit with status 2 (as
//! the examples do), and what it does at start is logged through `tracing`, so
//! `RUST_LOG=warn` keeps it quiet.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

fn server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kubecto-testserver"))
}

#[test]
fn usage_errors_exit_with_2_and_print_the_usage() {
    for (args, message) in [
        (&["--bogus"][..], "unknown argument \"--bogus\""),
        (&["--port"], "--port needs a value"),
        (&["--port", "http"], "--port: \"http\" is not a port number"),
        (
            &["--watch-history", "-1"],
            "--watch-history: \"-1\" is not a number",
        ),
    ] {
        let out = server().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!(
                "kubecto-testserver: {message}\nusage: kubecto-testserver "
            )),
            "{args:?}: {stderr}"
        );
    }
    let out = server().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("usage: "));
}

#[test]
fn a_failure_after_the_usage_is_right_exits_with_1() {
    let out = server()
        .args(["--port", "0", "--seed", "/nonexistent/manifests"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/manifests"), "{stderr}");
}

/// Start the binary seeded with one manifest and writing a kubeconfig, read its banner,
/// stop it, and return what it wrote to stderr.
fn stderr_of_a_start(rust_log: &str) -> String {
    let dir = std::env::temp_dir().join(format!(
        "kubecto-testserver-cli-{rust_log}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("ns.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: cli}\n",
    )
    .unwrap();
    let mut child = server()
        .args(["--port", "0", "--seed"])
        .arg(&manifest)
        .arg("--kubeconfig-out")
        .arg(dir.join("kubeconfig"))
        .env("RUST_LOG", rust_log)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    assert!(
        banner.starts_with("kubecto-testserver listening on http://127.0.0.1:"),
        "{banner}"
    );
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn start_up_messages_are_logs_that_rust_log_silences() {
    let info = stderr_of_a_start("info");
    assert!(info.contains("seeded 1 objects from "), "{info}");
    assert!(info.contains("wrote kubeconfig to "), "{info}");
    assert_eq!(stderr_of_a_start("warn"), "");
}
