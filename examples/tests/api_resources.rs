//! The api_resources example prints what `kubectl api-resources` prints for the same
//! server, byte for byte, with and without custom resources.

#[allow(dead_code)]
#[path = "../api_resources.rs"]
mod api_resources;

mod common;
// (tools.rs allows its own dead code.)
#[path = "../../crates/testserver/tests/common/tools.rs"]
mod tools;

use common::TempDir;
use std::path::Path;

use kubecto_testserver::TestServer;

async fn ours(kubeconfig: &Path) -> (String, Result<(), String>) {
    let mut out = Vec::new();
    let result = api_resources::run(Some(kubeconfig), &mut out)
        .await
        .map_err(|e| kubecto_examples::describe(&e));
    (String::from_utf8(out).unwrap(), result)
}

/// `kubectl api-resources` (with a private cache dir). kubectl is required, as in the
/// test server's conformance tests (`cargo xtask test` installs it when missing).
async fn kubectl(kubeconfig: &Path, cache: &Path) -> String {
    let (kubeconfig, cache) = (kubeconfig.to_owned(), cache.to_owned());
    let (kubectl, _) = tools::checked_kubectl().unwrap_or_else(|e| panic!("{e}"));
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(&cache)
            .arg("api-resources")
            .output()
            .expect("run kubectl");
        assert!(
            out.status.success(),
            "kubectl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    })
    .await
    .unwrap()
}

fn crd(group: &str, plural: &str, kind: &str, short: &[&str], scope: &str) -> serde_json::Value {
    let schema = serde_json::json!({"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}});
    serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {"group": group, "scope": scope,
            "names": {"plural": plural, "singular": kind.to_ascii_lowercase(), "kind": kind, "shortNames": short},
            "versions": [
                {"name": "v1alpha1", "served": true, "storage": false, "schema": schema},
                {"name": "v1", "served": true, "storage": true, "schema": schema}]}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_table_as_kubectl() {
    let server = TestServer::start().await.unwrap();
    let dir = TempDir::new("builtin");
    let kubeconfig = dir.0.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();

    let (out, result) = ours(&kubeconfig).await;
    assert_eq!(result, Ok(()));
    assert!(out.starts_with("NAME "), "{out}");
    assert!(out.lines().any(|l| l.starts_with("deployments ")));
    assert!(
        out.lines().all(|l| !l.ends_with(' ')),
        "no trailing spaces, as tabwriter"
    );
    // Aggregated discovery: the whole table from two requests.
    assert_eq!(server.request_count("GET", "/api"), 1);
    assert_eq!(server.request_count("GET", "/apis"), 1);
    assert_eq!(server.requests().len(), 2, "{:?}", server.requests());

    assert_eq!(out, kubectl(&kubeconfig, &dir.0.join("cache")).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_table_as_kubectl_with_custom_resources() {
    let server = TestServer::start().await.unwrap();
    server
        .seed(crd(
            "example.com",
            "widgets",
            "Widget",
            &["wd", "wdg"],
            "Namespaced",
        ))
        .unwrap();
    server
        .seed(crd(
            "a.example.org",
            "clusterthings",
            "ClusterThing",
            &[],
            "Cluster",
        ))
        .unwrap();
    let dir = TempDir::new("crds");
    let kubeconfig = dir.0.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();

    let (out, result) = ours(&kubeconfig).await;
    assert_eq!(result, Ok(()));
    let widgets = out.lines().find(|l| l.starts_with("widgets ")).unwrap();
    let cells: Vec<&str> = widgets.split_whitespace().collect();
    assert_eq!(
        cells,
        ["widgets", "wd,wdg", "example.com/v1", "true", "Widget"]
    );
    assert!(out.contains("a.example.org/v1"));
    assert_eq!(out, kubectl(&kubeconfig, &dir.0.join("cache")).await);
}

#[test]
fn table_is_padded_like_go_tabwriter() {
    let text = api_resources::table(&[]);
    assert_eq!(text, "NAME   SHORTNAMES   APIVERSION   NAMESPACED   KIND\n");
}

#[tokio::test]
async fn unreachable_server_is_a_clear_error() {
    let dir = TempDir::new("down");
    let (kubeconfig, port) = common::unreachable_kubeconfig(&dir);
    let (out, result) = ours(&kubeconfig).await;
    let message = result.unwrap_err();
    assert!(
        message.starts_with("error: cannot discover the server's resources"),
        "{message}"
    );
    assert!(message.contains(&port.to_string()), "{message}");
    assert!(out.is_empty());
}
