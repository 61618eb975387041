//! Seeding from manifests, and the kubeconfig a server writes.

mod common;
use common::*;

#[tokio::test]
async fn multi_document_yaml_and_lists_are_seeded() {
    let server = TestServer::start().await.unwrap();
    let text = r#"
apiVersion: v1
kind: Pod
metadata: {name: coredns, namespace: team}
spec: {containers: [{name: c, image: coredns:1.11}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "team"}},
  {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "team"},
   "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}}
]}
"#;
    assert_eq!(server.seed_manifests(text).unwrap(), 4);
    let http = Http::new(&server);
    assert_eq!(
        http.get("/api/v1/namespaces/team/pods/coredns")
            .await
            .status,
        200
    );
    let d = http
        .get("/apis/apps/v1/namespaces/team/deployments/d")
        .await
        .json();
    assert_eq!(
        d["spec"]["replicas"], 1,
        "defaults applied to seeded objects"
    );
}

#[tokio::test]
async fn bad_manifests_are_reported_clearly() {
    let server = TestServer::start().await.unwrap();
    let err = server
        .seed_manifests("kind: [unclosed")
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid manifest inline"), "{err}");
    let err = server
        .seed_manifests("apiVersion: v1\nkind: Gizmo\nmetadata: {name: x}\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("Gizmo"), "{err}");
    let err = server
        .seed_manifests(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: nowhere}\n",
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("404") && err.contains("nowhere"), "{err}");
    let err = server
        .seed_path("/definitely/not/here.yaml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("/definitely/not/here.yaml"), "{err}");
}

#[tokio::test]
async fn kubeconfig_points_at_the_server() {
    let server = TestServer::start().await.unwrap();
    let dir = std::env::temp_dir().join(format!("kubecto-ts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("kubeconfig");
    server.write_kubeconfig(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&format!("server: {}", server.url())));
    assert!(text.contains("current-context: kubecto-testserver"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn many_servers_in_one_process_are_independent() {
    let a = TestServer::start().await.unwrap();
    let b = TestServer::start().await.unwrap();
    assert_ne!(a.url(), b.url());
    a.seed(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "only-a", "namespace": "default"}})).unwrap();
    assert_eq!(
        Http::new(&b)
            .get("/api/v1/namespaces/default/configmaps/only-a")
            .await
            .status,
        404
    );
    assert_eq!(
        Http::new(&a)
            .get("/api/v1/namespaces/default/configmaps/only-a")
            .await
            .status,
        200
    );
    a.shutdown().await;
    assert_eq!(Http::new(&b).get("/version").await.status, 200);
}

#[tokio::test]
async fn seeded_status_is_kept() {
    let server = TestServer::start().await.unwrap();
    let seeded = server
        .seed(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "etcd", "namespace": "kube-system"},
            "spec": {"containers": [{"name": "etcd", "image": "registry.k8s.io/etcd:3.5.21-0"}]},
            "status": {"phase": "Running", "podIP": "10.0.0.5"},
        }))
        .unwrap();
    assert_eq!(seeded["status"]["phase"], "Running");
    let got = Http::new(&server)
        .get("/api/v1/namespaces/kube-system/pods/etcd")
        .await
        .json();
    assert_eq!(got["status"]["phase"], "Running");
    assert_eq!(got["status"]["podIP"], "10.0.0.5");
    assert_eq!(
        got["spec"]["restartPolicy"], "Always",
        "defaults still applied"
    );
    // Without a status, the POST default stands.
    let plain = server.seed(pod_in("web", "default")).unwrap();
    assert_eq!(plain["status"]["phase"], "Pending");
}

fn pod_in(name: &str, ns: &str) -> serde_json::Value {
    let mut p = pod(name, serde_json::json!({}));
    p["metadata"]["namespace"] = serde_json::json!(ns);
    p
}
