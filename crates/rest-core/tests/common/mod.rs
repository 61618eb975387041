//! Shared helpers for the server-backed tests.
#![allow(dead_code)]

use kubecto_rest_core::{Config, Response, RestClient};
use kubecto_testserver::TestServer;
use serde_json::{Value, json};

pub const PODS: &str = "/api/v1/namespaces/default/pods";

/// A config for the test server: core/v1, no client-side rate limit.
pub fn config(server: &TestServer) -> Config {
    Config::new(server.url()).without_rate_limit()
}

pub fn client(server: &TestServer) -> RestClient {
    RestClient::new(config(server)).expect("client for the test server")
}

pub fn pod(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}
    })
}

pub fn seed_pods(server: &TestServer, n: usize) {
    for i in 0..n {
        server.seed(pod(&format!("pod-{i:03}"))).expect("seed pod");
    }
}

/// Sends a LIST of the default namespace's pods; the answer is not read yet.
pub async fn list_pods(client: &RestClient) -> Response {
    client
        .get()
        .namespace("default")
        .resource("pods")
        .send()
        .await
        .expect("LIST pods")
}
