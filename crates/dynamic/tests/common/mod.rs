//! Helpers shared by the dynamic client tests.

#![allow(dead_code)]

use kubecto_dynamic::{DynamicClient, GroupVersionResource, Unstructured};
use kubecto_rest_core::Config;
use kubecto_testserver::TestServer;
use serde_json::json;

/// A dynamic client for the server (no rate limit, no retries).
pub fn client(server: &TestServer) -> DynamicClient {
    DynamicClient::new(
        &Config::new(server.url())
            .without_rate_limit()
            .with_max_retries(0),
    )
    .expect("client")
}

pub fn configmaps() -> GroupVersionResource {
    GroupVersionResource::new("", "v1", "configmaps")
}

pub fn deployments() -> GroupVersionResource {
    GroupVersionResource::new("apps", "v1", "deployments")
}

/// A config map named `name` with one data key.
pub fn configmap(name: &str, mode: &str) -> Unstructured {
    Unstructured::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"app": "demo"}},
        "data": {"mode": mode},
    }))
    .unwrap()
}

/// A deployment named `name` with `replicas` replicas.
pub fn deployment(name: &str, replicas: i64) -> Unstructured {
    Unstructured::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
            }
        }
    }))
    .unwrap()
}
