//! Helpers shared by the discovery tests: a client for a test server and a temporary
//! directory.

#![allow(dead_code)]

use std::path::PathBuf;

use kubecto_discovery::DiscoveryClient;
use kubecto_rest_core::Config;
use kubecto_testserver::TestServer;

/// A rest-core config for the server (no rate limit, no retries: counts stay exact).
pub fn config(server: &TestServer) -> Config {
    Config::new(server.url())
        .without_rate_limit()
        .with_max_retries(0)
}

/// An aggregated-first discovery client for the server.
pub fn client(server: &TestServer) -> DiscoveryClient {
    DiscoveryClient::new(&config(server)).expect("client")
}

/// A discovery client that only uses the legacy endpoints.
pub fn legacy_client(server: &TestServer) -> DiscoveryClient {
    DiscoveryClient::builder(config(server))
        .aggregated(false)
        .build()
        .expect("client")
}

/// How many discovery GETs the server saw (`/api*`, `/apis*`, `/version`).
pub fn discovery_requests(server: &TestServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && (r.path.starts_with("/api") || r.path == "/version"))
        .count()
}

/// A unique directory under the temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "kubecto-discovery-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A CustomResourceDefinition for `plural.group` with the given kind and short names,
/// served at v1 (and v1beta1 when `two_versions`).
pub fn crd(
    group: &str,
    plural: &str,
    kind: &str,
    short: &[&str],
    namespaced: bool,
) -> serde_json::Value {
    let schema = serde_json::json!({"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}});
    serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {
            "group": group,
            "scope": if namespaced { "Namespaced" } else { "Cluster" },
            "names": {"plural": plural, "singular": kind.to_ascii_lowercase(), "kind": kind, "shortNames": short},
            "versions": [
                {"name": "v1beta1", "served": true, "storage": false, "schema": schema},
                {"name": "v1", "served": true, "storage": true, "schema": schema, "subresources": {"status": {}}}
            ]
        }
    })
}
