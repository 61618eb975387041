//! The controller example against the test server, run as it ships: it stamps the hash
//! of the mounted ConfigMap onto the Deployment and records it in a ConfigMap the
//! Deployment owns, follows a change of the ConfigMap, cleans up when the Deployment stops
//! mounting it, and stops cleanly.

#[allow(dead_code)]
#[path = "../controller.rs"]
mod controller;

mod common;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kubecto_clientset::{Api, Patch};
use kubecto_rest_core::{Config, PatchOptions, RestClient};
use kubecto_runtime::Shutdown;
use kubecto_testserver::TestServer;
use serde_json::json;

fn annotation(d: &Deployment) -> Option<String> {
    d.spec
        .as_ref()?
        .template
        .metadata
        .as_ref()?
        .annotations
        .as_ref()?
        .get(controller::HASH_ANNOTATION)
        .cloned()
}

/// Polls `check` every 50 ms for up to 10 s.
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never: {what}");
}

#[tokio::test]
async fn stamps_follows_and_cleans_up() {
    let server = TestServer::start().await.expect("test server");
    let dir = common::TempDir::new("controller");
    let kubeconfig = dir.0.join("config");
    server.write_kubeconfig(&kubeconfig).unwrap();
    server
        .seed(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "default"}, "data": {"mode": "fast"}}))
        .unwrap();
    server
        .seed(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10"}],
                        "volumes": [{"name": "config", "configMap": {"name": "settings"}}]
                    }
                }
            }
        }))
        .unwrap();
    let stop = Shutdown::new();
    let running = tokio::spawn({
        let (kubeconfig, stop) = (kubeconfig.clone(), stop.clone());
        async move { controller::run(Some(&kubeconfig), stop).await }
    });
    let rest = RestClient::new(Config::new(server.url())).unwrap();
    let deployments = Api::<Deployment>::namespaced(rest.clone(), "default");
    let configmaps = Api::<ConfigMap>::namespaced(rest, "default");

    let first = eventually("the hash is stamped", async || {
        annotation(&deployments.get("web").await.ok()?)
    })
    .await;
    let web = deployments.get("web").await.unwrap();
    let record = eventually("the record exists", async || {
        configmaps.get_opt("web-config-hash").await.ok()?
    })
    .await;
    assert_eq!(record.data.as_ref().unwrap()["hash"], first);
    assert_eq!(record.data.as_ref().unwrap()["sources"], "settings");
    let owner = &record.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), &owner.uid),
        ("Deployment", web.metadata.uid.as_ref().unwrap())
    );

    // The ConfigMap changes: a new hash.
    configmaps
        .patch(
            "settings",
            &Patch::Merge(json!({"data": {"mode": "slow"}})),
            &PatchOptions::new(),
        )
        .await
        .unwrap();
    let second = eventually("the hash follows the configmap", async || {
        annotation(&deployments.get("web").await.ok()?).filter(|h| *h != first)
    })
    .await;
    eventually("the record follows", async || {
        let r = configmaps.get("web-config-hash").await.ok()?;
        (r.data?["hash"] == second).then_some(())
    })
    .await;

    // The Deployment stops mounting it: the record goes, and the annotation.
    deployments
        .patch(
            "web",
            &Patch::Json(json!([{"op": "remove", "path": "/spec/template/spec/volumes"}])),
            &PatchOptions::new(),
        )
        .await
        .unwrap();
    eventually("cleaned up", async || {
        let gone = configmaps.get_opt("web-config-hash").await.ok()?.is_none();
        let unstamped = annotation(&deployments.get("web").await.ok()?).is_none();
        (gone && unstamped).then_some(())
    })
    .await;

    stop.trigger();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("stops promptly")
        .unwrap()
        .expect("runs cleanly");
    server.shutdown().await;
}
