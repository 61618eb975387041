//! Conformance: the official Python `kubernetes` client against the server binary.
//! `.ci/run` installs the client (`pip install kubernetes`); without it this fails.

#[path = "common/binary.rs"]
mod binary;

use std::process::Command;

#[test]
fn python_client_drives_the_server() {
    let server = binary::ServerProcess::start("python", None);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/conformance/python_client.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .arg(&server.kubeconfig)
        .output()
        .expect("run python3 (install it and `pip install kubernetes`; .ci/run does)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python client conformance failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("python client conformance: ok"), "{stdout}");
}
