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
