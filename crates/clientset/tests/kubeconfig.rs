//! `Clientset::from_kubeconfig` (feature `config`): the test server's kubeconfig gives a
//! working clientset and the context's namespace.
#![cfg(feature = "config")]

mod common;

use kubecto_clientset::Clientset;
use kubecto_rest_core::ListOptions;
use kubecto_testserver::TestServer;

#[tokio::test]
async fn from_a_kubeconfig_file() {
    let server = TestServer::start().await.expect("test server");
    let dir = std::env::temp_dir().join(format!(
        "kubecto-clientset-kubeconfig-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("config");
    server.write_kubeconfig(&path).expect("write kubeconfig");

    let (cs, namespace) = Clientset::from_kubeconfig(Some(&path)).expect("clientset");
    let pods = cs
        .core_v1()
        .pods(&namespace)
        .list(&ListOptions::new())
        .await
        .expect("list");
    assert!(pods.items.is_empty());
    assert_eq!(
        server.request_count("GET", &format!("/api/v1/namespaces/{namespace}/pods")),
        1
    );

    let err = Clientset::from_kubeconfig(Some(&dir.join("missing"))).expect_err("no file");
    assert!(err.to_string().contains("kubeconfig"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
    server.shutdown().await;
}
