//! The list_pods example against the embedded test server: the seed's table, and
//! clear errors (never a panic) when the kubeconfig or the server is wrong.

// The example itself, so its `run` is tested exactly as it ships.
#[allow(dead_code)]
#[path = "../list_pods.rs"]
mod list_pods;

mod common;

use common::TempDir;

use k8s_openapi::api::core::v1::Pod;
use kubecto_testserver::TestServer;
use serde::Deserialize as _;

const MANIFESTS: &str = include_str!("../manifests/kube-system-pods.yaml");

async fn run(kubeconfig: &std::path::Path) -> (String, Result<(), String>) {
    let mut out = Vec::new();
    let result = list_pods::run(kubeconfig, &mut out)
        .await
        .map_err(|e| kubecto_examples::describe(&e));
    (String::from_utf8(out).unwrap(), result)
}

#[test]
fn manifests_are_realistic_running_kube_system_pods() {
    let mut names = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(MANIFESTS) {
        let pod = Pod::deserialize(doc).expect("every document is a Pod");
        assert_eq!(pod.metadata.namespace.as_deref(), Some("kube-system"));
        assert_eq!(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Running")
        );
        assert!(!pod.spec.as_ref().unwrap().containers.is_empty());
        names.push(pod.metadata.name.unwrap());
    }
    for prefix in [
        "coredns-",
        "coredns-",
        "etcd-",
        "kube-apiserver-",
        "kube-controller-manager-",
        "kube-scheduler-",
        "kube-proxy-",
    ] {
        let i = names
            .iter()
            .position(|n| n.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} pod"));
        names.remove(i);
    }
    assert!(names.is_empty(), "unexpected pods {names:?}");
}

#[tokio::test]
async fn prints_the_seed_table() {
    let server = TestServer::start().await.unwrap();
    for (i, name) in ["coredns-abc", "etcd-cp"].into_iter().enumerate() {
        server
            .seed(serde_json::json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "kube-system"},
                "spec": {"containers": [{"name": "c", "image": format!("img:{i}")}]},
            }))
            .unwrap();
    }
    // A pod elsewhere is not listed.
    server
        .seed(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        }))
        .unwrap();
    let dir = TempDir::new("table");
    let kubeconfig = dir.0.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();

    let (out, result) = run(&kubeconfig).await;
    assert_eq!(result, Ok(()));
    let mut lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.remove(0), "Namespace\t Status\t\t Name");
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "kube-system\t Pending\t coredns-abc",
            "kube-system\t Pending\t etcd-cp"
        ]
    );
    assert!(out.ends_with('\n'));

    // Exactly one LIST of kube-system pods, with limit=100.
    let lists: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == "/api/v1/namespaces/kube-system/pods")
        .collect();
    assert_eq!(lists.len(), 1, "{lists:?}");
    assert!(lists[0].query.contains("limit=100"), "{:?}", lists[0].query);
    server.shutdown().await;
}

#[tokio::test]
async fn empty_namespace_prints_only_the_header() {
    let server = TestServer::start().await.unwrap();
    let dir = TempDir::new("empty");
    let kubeconfig = dir.0.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let (out, result) = run(&kubeconfig).await;
    assert_eq!(result, Ok(()));
    assert_eq!(out, "Namespace\t Status\t\t Name\n");
    server.shutdown().await;
}

#[tokio::test]
async fn missing_kubeconfig_is_a_clear_error() {
    let dir = TempDir::new("missing");
    let kubeconfig = dir.0.join("nope");
    let (out, result) = run(&kubeconfig).await;
    let message = result.unwrap_err();
    assert!(
        message.contains(&kubeconfig.display().to_string()),
        "{message}"
    );
    assert!(out.is_empty());
}

#[tokio::test]
async fn unreachable_server_is_a_clear_error() {
    let dir = TempDir::new("down");
    let (kubeconfig, _port) = common::unreachable_kubeconfig(&dir);
    let (out, result) = run(&kubeconfig).await;
    let message = result.unwrap_err();
    assert!(
        message.starts_with("error: cannot list the pods of kube-system"),
        "{message}"
    );
    assert!(message.contains("caused by"), "{message}");
    assert!(out.is_empty());
}
