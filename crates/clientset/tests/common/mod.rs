//! Shared set-up: a fresh test server per test and a clientset pointed at it.

#![allow(dead_code)]

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use kubecto_clientset::Clientset;
use kubecto_rest_core::Config;
use kubecto_testserver::{RecordedRequest, TestServer};
use serde_json::json;

/// A test server on port 0 and a clientset for it (no client-side rate limit).
pub async fn start() -> (TestServer, Clientset) {
    let server = TestServer::start().await.expect("test server starts");
    let config = Config::new(server.url()).without_rate_limit();
    let clientset = Clientset::new(config).expect("clientset");
    (server, clientset)
}

/// A typed object from JSON.
pub fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("valid object")
}

pub fn pod(name: &str, app: &str) -> Pod {
    typed(json!({
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}
    }))
}

pub fn config_map(name: &str, data: &str) -> ConfigMap {
    typed(json!({"metadata": {"name": name}, "data": {"key": data}}))
}

pub fn node(name: &str) -> Node {
    typed(json!({"metadata": {"name": name, "labels": {"zone": "a"}}, "spec": {}}))
}

pub fn deployment(name: &str, replicas: i32) -> Deployment {
    typed(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}
            }
        }
    }))
}

/// The last request the server saw with this method and path.
pub fn last_request(server: &TestServer, method: &str, path: &str) -> Option<RecordedRequest> {
    server
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.method == method && r.path == path)
}

/// Waits at most five seconds for a future (a test that hangs is a failure).
pub async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(Duration::from_secs(5), f).await {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within 5 s"),
    }
}

/// Creates a namespace through the clientset.
pub async fn create_namespace(cs: &Clientset, name: &str) {
    let ns: k8s_openapi::api::core::v1::Namespace = typed(json!({"metadata": {"name": name}}));
    cs.core_v1()
        .namespaces()
        .create(&ns, &kubecto_rest_core::CreateOptions::new())
        .await
        .expect("create namespace");
}
