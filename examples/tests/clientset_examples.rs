//! The clientset_pods and deployment_scale examples against the embedded test server,
//! run exactly as they ship; and a clear error, never a panic, when the server is gone.

#[allow(dead_code)]
#[path = "../clientset_pods.rs"]
mod clientset_pods;

#[allow(dead_code)]
#[path = "../deployment_scale.rs"]
mod deployment_scale;

use std::path::PathBuf;

use kubecto_testserver::TestServer;

fn kubeconfig_path(server: &TestServer, tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kubecto-examples-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("config");
    server.write_kubeconfig(&path).expect("kubeconfig");
    path
}

#[tokio::test]
async fn clientset_pods_runs_and_cleans_up() {
    let server = TestServer::start().await.expect("test server");
    let path = kubeconfig_path(&server, "clientset-pods");
    clientset_pods::run(&path).await.expect("example runs");
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
    let path = kubeconfig_path(&server, "deployment-scale");
    deployment_scale::run(&path).await.expect("example runs");
    assert_eq!(
        server.request_count("PUT", "/apis/apps/v1/namespaces/default/deployments/*"),
        1,
        "one PUT, to the scale subresource"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn unreachable_server_is_an_error() {
    let server = TestServer::start().await.expect("test server");
    let path = kubeconfig_path(&server, "gone");
    server.shutdown().await;
    let err = deployment_scale::run(&path)
        .await
        .expect_err("server is gone");
    let text = kubecto_examples::describe(&*err);
    assert!(text.contains("127.0.0.1"), "{text}");
}
