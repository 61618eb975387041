//! Helpers shared by the kubecto-config integration tests: a unique temporary
//! directory per test, and small kubeconfig fixtures.
#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh, empty, unique directory.
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "kubecto-config-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Write `contents` to `name` (creating parent directories) and return its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&path, contents).expect("write file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A PEM-shaped certificate (content is not a real certificate: only its shape is checked).
pub const CERT_PEM: &str =
    "-----BEGIN CERTIFICATE-----\nMIIBfakefakefake\n-----END CERTIFICATE-----\n";

/// A PEM-shaped private key.
pub const KEY_PEM: &str =
    "-----BEGIN PRIVATE KEY-----\nMIIEsecretkeymaterial\n-----END PRIVATE KEY-----\n";

/// Standard base64 of `data`.
pub fn b64(data: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A kubeconfig with one cluster `c1` at `server`, one user `u1` with `user_yaml`
/// (indented by 4 spaces in the file), one context `ctx` and current-context `ctx`.
pub fn simple(server: &str, user_yaml: &str) -> String {
    let user: String = user_yaml.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster:
    server: {server}
users:
- name: u1
  user:
{user}contexts:
- name: ctx
  context:
    cluster: c1
    user: u1
current-context: ctx
"
    )
}
