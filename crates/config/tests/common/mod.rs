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

/// A client certificate (the fixture `ec.crt`, CN `ec-user`): `rest_config` checks
/// that a client certificate and key parse and belong together, as client-go does.
pub const CERT_PEM: &str = include_str!("../fixtures/certs/ec.crt");

/// The private key of [`CERT_PEM`] (the fixture `ec-sec1.key`).
pub const KEY_PEM: &str = include_str!("../fixtures/certs/ec-sec1.key");

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

/// Every message of an error and its sources, joined by ": ".
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        parts.push(e.to_string());
        cur = e.source();
    }
    parts.join(": ")
}

/// A kubeconfig for the TLS test server `server` (its CA as
/// `certificate-authority-data`), one user `u1` with `user_yaml` and `cluster_extra`
/// lines added to the cluster (each indented by 4 spaces).
pub fn tls_kubeconfig(
    server: &kubecto_testserver::TestServer,
    cluster_extra: &str,
    user_yaml: &str,
) -> String {
    let ca = server.ca_pem().expect("a TLS server");
    let mut cluster = format!("certificate-authority-data: {}\n", b64(&ca));
    cluster.push_str(cluster_extra);
    let cluster: String = cluster
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| format!("    {l}\n"))
        .collect();
    simple(&server.url(), user_yaml).replace(
        &format!("    server: {}\n", server.url()),
        &format!("    server: {}\n{cluster}", server.url()),
    )
}

/// GET /api/v1/namespaces with a client for `config`.
pub async fn list_namespaces(
    config: &kubecto_rest_core::Config,
) -> Result<serde_json::Value, kubecto_rest_core::Error> {
    let config = config.clone().without_rate_limit().with_max_retries(0);
    let client = kubecto_rest_core::RestClient::for_config(&config)?;
    client
        .get()
        .resource("namespaces")
        .send()
        .await?
        .into()
        .await
}

/// Load the kubeconfig text (written to `dir/config`) and build its rest-core config.
pub fn config_from(
    dir: &TempDir,
    yaml: &str,
) -> Result<kubecto_rest_core::Config, kubecto_config::Error> {
    let path = dir.write("config", yaml);
    kubecto_config::load(Some(&path), &kubecto_config::Overrides::default())?.rest_config()
}
