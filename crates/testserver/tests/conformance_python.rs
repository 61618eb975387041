//! Conformance: the official Python `kubernetes` client against the server binary.
//! `cargo xtask test` installs the client in `target/conformance-venv`; without it
//! this fails with one line that says so.

#[path = "common/binary.rs"]
mod binary;
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
