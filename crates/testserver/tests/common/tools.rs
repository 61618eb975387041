//! Where the conformance tests find the clients nobody here wrote: kubectl and the
//! Python `kubernetes` package.
//!
//! `cargo xtask test` installs whichever is missing in `target/conformance-venv` and
//! names what it chose in `KUBECTO_KUBECTL` and `KUBECTO_PYTHON`. Without those
//! variables (a plain `cargo test`) the lookup is the same: the virtual environment
//! when it is there, else `kubectl` and `python3` from `PATH`. One file, included with
//! `#[path]` by xtask and by every test that runs these tools, so they all find the
//! same ones.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The oldest kubectl minor version the conformance tests pass with. 1.27 (the
/// oldest the Google Cloud SDK ships) passes, validating with the `/openapi/v2` document
/// in protobuf as kubectl before 1.29 does; 1.20, Debian 12's, does not.
pub const KUBECTL_MIN_MINOR: u32 = 27;

/// The virtual environment `cargo xtask test` installs into, relative to the workspace.
pub const VENV: &str = "target/conformance-venv";

/// What to run when a tool is missing; the end of every lookup error.
const FIX: &str = "run `cargo xtask test` (it installs it in target/conformance-venv)";
/// What to run when kubectl is too old.
const FIX_OLD: &str =
    "run `cargo xtask test` (it installs a recent one in target/conformance-venv)";

/// The workspace root: the nearest directory above this crate holding `Cargo.lock`.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .unwrap_or(manifest_dir)
        .to_owned()
}

/// `target/conformance-venv` in this workspace.
pub fn venv() -> PathBuf {
    workspace_root().join(VENV)
}

/// `KUBECTO_PYTHON`, else the virtual environment's python when present, else `python3`.
pub fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("KUBECTO_PYTHON") {
        return python.into();
    }
    let in_venv = venv().join("bin/python");
    if in_venv.is_file() {
        in_venv
    } else {
        PathBuf::from("python3")
    }
}

/// The one-line error for a Python run that could not import `kubernetes`; `None` when
/// `stderr` shows some other failure.
pub fn python_missing_kubernetes(stderr: &str) -> Option<String> {
    stderr
        .contains("No module named 'kubernetes'")
        .then(|| format!("python `kubernetes` package not found: {FIX}"))
}

/// `KUBECTO_KUBECTL`, else the virtual environment's kubectl when present, else `kubectl`.
pub fn kubectl() -> PathBuf {
    if let Some(kubectl) = std::env::var_os("KUBECTO_KUBECTL") {
        return kubectl.into();
    }
    let in_venv = venv().join("bin/kubectl");
    if in_venv.is_file() {
        in_venv
    } else {
        PathBuf::from("kubectl")
    }
}

/// [`kubectl()`] with its minor version, or one line saying why it will not do.
///
/// # Errors
/// When it does not run or is older than [`KUBECTL_MIN_MINOR`].
pub fn checked_kubectl() -> Result<(PathBuf, u32), String> {
    let bin = kubectl();
    match kubectl_minor(&bin) {
        None => Err(format!("kubectl not found ({}): {FIX}", bin.display())),
        Some(minor) if minor < KUBECTL_MIN_MINOR => Err(format!(
            "kubectl {} is v1.{minor}, older than the v1.{KUBECTL_MIN_MINOR} the conformance tests need: {FIX_OLD}",
            bin.display()
        )),
        Some(minor) => Ok((bin, minor)),
    }
}

/// The minor version `bin version --client -o json` reports (`"minor": "32+"` is 32);
/// `None` when it does not run or says something else.
pub fn kubectl_minor(bin: &Path) -> Option<u32> {
    let out = Command::new(bin)
        .args(["version", "--client", "-o", "json"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let version: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let client = &version["clientVersion"];
    if client["major"] != "1" {
        return None;
    }
    let minor = client["minor"].as_str()?;
    let digits = minor
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(minor.len());
    minor[..digits].parse().ok()
}
