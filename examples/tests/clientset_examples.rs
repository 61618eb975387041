//! The clientset_pods and deployment_scale examples against the embedded test server,
//! run exactly as they ship; and a clear error, never a panic, when the server is gone.

#[allow(dead_code)]
#[path = "../clientset_pods.rs"]
mod clientset_pods;

#[allow(dead_code)]
#[path = "../deployment_scale.rs"]
mod deployment_scale;

mod common;

use std::path::PathBuf;

use common::TempDir;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kubecto_clientset::{Api, Patch};
use kubecto_rest_core::{Config, DeleteOptions, ListOptions, PatchOptions, RestClient};
use kubecto_testserver::{Fault, TestServer};

/// The server's kubeconfig in a fresh directory, removed when the returned guard drops.
fn kubeconfig_path(server: &TestServer, tag: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new(tag);
    let path = dir.0.join("config");
    server.write_kubeconfig(&path).expect("kubeconfig");
    (dir, path)
}

#[tokio::test]
async fn clientset_pods_runs_and_cleans_up() {
    let server = TestServer::start().await.expect("test server");
    let (_dir, path) = kubeconfig_path(&server, "clientset-pods");
    clientset_pods::run(Some(&path))
        .await
        .expect("example runs");
    // Create, get, list, patch, watch and delete all reached the server.
    for (method, path) in [
        ("POST", "/api/v1/namespaces/default/pods"),
        ("GET", "/api/v1/namespaces/default/pods"),
        ("PATCH", "/api/v1/namespaces/default/pods/*"),
        ("DELETE", "/api/v1/namespaces/default/pods/*"),
    ] {
        assert!(server.request_count(method, path) >= 1, "{method} {path}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn deployment_scale_runs() {
    let server = TestServer::start().await.expect("test server");
    let (_dir, path) = kubeconfig_path(&server, "deployment-scale");
    deployment_scale::run(Some(&path))
        .await
        .expect("example runs");
    assert_eq!(
        server.request_count("PUT", "/apis/apps/v1/namespaces/default/deployments/*"),
        1,
        "one PUT, to the scale subresource"
    );
    server.shutdown().await;
}

/// With the built-in controllers on, the deployment controller writes the deployment's
/// status whenever its pods change, as on a real cluster (the 409). The server
/// holds the example's first PUT for a while (a delay fault) and a pod of the deployment
/// dies meanwhile: the replicaset controller replaces it and the deployment controller
/// writes the deployment's status, so that PUT carries a stale resourceVersion and meets
/// the Conflict; `retry_on_conflict` reads again and writes again. Nothing but the
/// controllers writes the deployment.
#[tokio::test]
async fn deployment_scale_survives_the_deployment_controller() {
    let server = TestServer::builder()
        .controllers(true)
        .start()
        .await
        .expect("test server");
    let (_dir, path) = kubeconfig_path(&server, "deployment-scale-controllers");
    let put = "/apis/apps/v1/namespaces/default/deployments/*";
    server.inject(
        Fault::delay(Duration::from_millis(500))
            .method("PUT")
            .path(put),
    );
    let rest = RestClient::new(Config::new(server.url())).expect("client");
    let pods = Api::<Pod>::namespaced(rest, "default");
    let pod_dies = async {
        // Wait until the example's first PUT is being held, then stop one of its pods.
        for _ in 0..400 {
            if server.request_count("PUT", put) >= 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut listed = pods.list(&ListOptions::new()).await.expect("list pods");
        for _ in 0..400 {
            if !listed.items.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            listed = pods.list(&ListOptions::new()).await.expect("list pods");
        }
        let name = listed.items[0].metadata.name.clone().expect("a pod's name");
        pods.delete(&name, &DeleteOptions::new())
            .await
            .expect("delete a pod");
    };
    let (ran, ()) = tokio::join!(deployment_scale::run(Some(&path)), pod_dies);
    ran.expect("the example succeeds beside the controllers");
    assert_eq!(
        server.request_count("PUT", put),
        2,
        "the first PUT met the controller's write, the second went through"
    );
    server.shutdown().await;
}

/// Another writer changes the deployment between the example's read of the Scale and its
/// write: the server holds the example's first PUT (a delay fault) while this test patches
/// the deployment's annotations, so that PUT carries a stale resourceVersion and gets 409.
/// `retry_on_conflict` reads again and writes again, and the example succeeds.
#[tokio::test]
async fn deployment_scale_survives_a_concurrent_writer() {
    let server = TestServer::start().await.expect("test server");
    let (_dir, path) = kubeconfig_path(&server, "deployment-scale-conflict");
    let put = "/apis/apps/v1/namespaces/default/deployments/*";
    server.inject(
        Fault::delay(Duration::from_millis(500))
            .method("PUT")
            .path(put),
    );
    let rest = RestClient::new(Config::new(server.url())).expect("client");
    let deployments = Api::<Deployment>::namespaced(rest, "default");
    let other_writer = {
        let deployments = deployments.clone();
        let server_requests = || server.request_count("PUT", put);
        async move {
            // Wait until the example's first PUT is being held, then write in between.
            for _ in 0..400 {
                if server_requests() >= 1 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let listed = deployments.list(&ListOptions::new()).await.expect("list");
            let name = listed.items[0].metadata.name.clone().expect("name");
            let patch = Patch::Merge(serde_json::json!({
                "metadata": {"annotations": {"other-writer": "was here"}}
            }));
            deployments
                .patch(&name, &patch, &PatchOptions::new())
                .await
                .expect("the other writer's patch");
        }
    };
    let (ran, ()) = tokio::join!(deployment_scale::run(Some(&path)), other_writer);
    ran.expect("the example succeeds despite the conflict");
    assert_eq!(
        server.request_count("PUT", put),
        2,
        "the first PUT conflicted and the second, after a fresh read, went through"
    );
    assert_eq!(
        server.request_count("GET", "/apis/apps/v1/namespaces/default/deployments/*"),
        3,
        "the Scale was read twice, then the deployment once"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn unreachable_server_is_an_error() {
    let server = TestServer::start().await.expect("test server");
    let (_dir, path) = kubeconfig_path(&server, "gone");
    server.shutdown().await;
    let err = deployment_scale::run(Some(&path))
        .await
        .expect_err("server is gone");
    let text = kubecto_examples::describe(&*err);
    assert!(text.contains("127.0.0.1"), "{text}");
}
