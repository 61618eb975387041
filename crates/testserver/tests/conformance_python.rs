//! Conformance: the official Python `kubernetes` client against the server binary.
//! `cargo xtask test` installs the client in `target/conformance-venv`; without it
//! this fails with one line that says so.

#[path = "common/binary.rs"]
mod binary;
#[path = "common/proxied.rs"]
mod proxied;
#[path = "common/tools.rs"]
mod tools;

use std::process::Command;

#[test]
fn python_client_drives_the_server() {
    let server = binary::ServerProcess::start("python", None);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/conformance/python_client.py"
    );
    let python = tools::python();
    let out = Command::new(&python)
        .arg(script)
        .arg(&server.kubeconfig)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): install Python 3, then run `cargo xtask test`",
                python.display()
            )
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if let Some(missing) = tools::python_missing_kubernetes(&stderr) {
        panic!("{missing}");
    }
    assert!(
        out.status.success(),
        "python client conformance failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("python client conformance: ok"), "{stdout}");
}

/// The official client's `connect_get_namespaced_pod_proxy_with_path` against a server in
/// this process whose pod `web` (10.1.0.5) listens on 8080 at a backend the test started:
/// the client quotes the `/` in the path (`a%2Fb`), the server decodes it as kube-apiserver
/// does, and the backend's answer comes back as the call's result.
#[test]
fn python_client_proxies_to_a_pod() {
    let proxied = proxied::start("python-proxy");
    let kubeconfig = &proxied.kubeconfig;
    let script = r#"
import sys
from kubernetes import client, config
config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
print(v1.connect_get_namespaced_pod_proxy_with_path("web:8080", "default", "a/b"))
"#;
    let python = tools::python();
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(kubeconfig)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} ({e})", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if let Some(missing) = tools::python_missing_kubernetes(&stderr) {
        panic!("{missing}");
    }
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.trim_end(), "backend got GET /a/b HTTP/1.1");
    if let Some(dir) = proxied.kubeconfig.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}
