//! In-cluster configuration (service host/port, the service-account token, CA and
//! namespace files under an injectable directory) against the TLS test server, and
//! `infer`'s order: kubeconfig first, in-cluster only when no kubeconfig file exists.

mod common;

use std::ffi::OsString;
use std::time::Duration;

use common::{TempDir, list_namespaces};
use kubecto_config::{Error, InCluster, LoadingRules, Overrides, Source, infer_with};
use kubecto_testserver::TestServer;

/// A service-account directory for `server`: token, CA and namespace files.
fn service_account(server: &TestServer, dir: &TempDir, token: &str) -> InCluster {
    dir.write("sa/token", token);
    dir.write("sa/ca.crt", server.ca_pem().unwrap());
    dir.write("sa/namespace", "team-a\n");
    InCluster::default()
        .service("127.0.0.1", server.addr().port().to_string())
        .dir(dir.path().join("sa"))
}

/// Loading rules that find no kubeconfig at all.
fn no_kubeconfig(dir: &TempDir) -> LoadingRules {
    LoadingRules::default()
        .kubeconfig_var(None)
        .home_dir(Some(dir.path().join("no-home")))
}

#[tokio::test]
async fn the_service_account_reaches_the_api_server_and_its_token_rotates() {
    let server = TestServer::builder()
        .tls()
        .require_token("sa-token-1")
        .start()
        .await
        .unwrap();
    let dir = TempDir::new("in-cluster");
    let in_cluster = service_account(&server, &dir, "sa-token-1\n");
    let inferred = in_cluster.load().unwrap();
    assert_eq!(inferred.source, Source::InCluster);
    assert_eq!(inferred.namespace, "team-a");
    assert_eq!(
        inferred.config.host,
        format!("https://127.0.0.1:{}", server.addr().port())
    );
    list_namespaces(&inferred.config).await.unwrap();

    // kubelet rotates the projected token; the API server accepts only the new one.
    server.rotate_token("sa-token-2");
    dir.write("sa/token", "sa-token-2\n");
    tokio::time::sleep(Duration::from_millis(20)).await;
    list_namespaces(&inferred.config).await.unwrap();

    // POD_NAMESPACE wins over the file; without either, `default`.
    let ns = in_cluster
        .clone()
        .pod_namespace(Some(OsString::from("from-env")))
        .load()
        .unwrap()
        .namespace;
    assert_eq!(ns, "from-env");
    std::fs::remove_file(dir.path().join("sa/namespace")).unwrap();
    assert_eq!(in_cluster.load().unwrap().namespace, "default");
}

#[test]
fn in_cluster_errors() {
    let dir = TempDir::new("in-cluster-errors");
    let err = InCluster::default().load().unwrap_err();
    assert!(matches!(err, Error::NotInCluster { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "not running in a cluster: KUBERNETES_SERVICE_HOST is not set"
    );
    let err = InCluster::default()
        .service("10.0.0.1", "")
        .load()
        .unwrap_err();
    assert!(err.to_string().contains("KUBERNETES_SERVICE_PORT"), "{err}");

    // No token file.
    let base = InCluster::default()
        .service("10.0.0.1", "443")
        .dir(dir.path().join("sa"));
    let err = base.load().unwrap_err();
    assert!(matches!(err, Error::InClusterFile { .. }), "{err:?}");
    assert!(err.to_string().contains("sa/token"), "{err}");
    dir.write("sa/token", "  \n");
    assert!(base.load().unwrap_err().to_string().contains("empty"));

    // No CA (or not PEM): not used, not an error (as client-go).
    dir.write("sa/token", "t");
    let inferred = base.load().unwrap();
    assert_eq!(inferred.config.tls.ca, None);
    assert_eq!(inferred.config.host, "https://10.0.0.1:443");

    // IPv6 service addresses are bracketed.
    let v6 = base.clone().service("fd00::1", "443").load().unwrap();
    assert_eq!(v6.config.host, "https://[fd00::1]:443");
}

#[tokio::test]
async fn infer_prefers_the_kubeconfig_then_falls_back_to_in_cluster() {
    let server = TestServer::builder()
        .tls()
        .require_token("t")
        .start()
        .await
        .unwrap();
    let dir = TempDir::new("infer");
    let in_cluster = service_account(&server, &dir, "t");

    // 1. A kubeconfig in $KUBECONFIG wins over the in-cluster configuration.
    let kubeconfig = dir.write("kube/config", server.kubeconfig());
    let rules = LoadingRules::default()
        .kubeconfig_var(Some(kubeconfig.clone().into_os_string()))
        .home_dir(None);
    let inferred = infer_with(&rules, &in_cluster, &Overrides::default())
        .await
        .unwrap();
    assert!(
        matches!(&inferred.source, Source::Kubeconfig { context, .. } if context == "kubecto-testserver"),
        "{:?}",
        inferred.source
    );
    assert_eq!(inferred.namespace, "default");
    list_namespaces(&inferred.config).await.unwrap();

    // ~/.kube/config counts as a kubeconfig too.
    dir.write("home/.kube/config", server.kubeconfig());
    let rules = LoadingRules::default()
        .kubeconfig_var(None)
        .home_dir(Some(dir.path().join("home")));
    let inferred = infer_with(&rules, &in_cluster, &Overrides::default())
        .await
        .unwrap();
    assert!(matches!(inferred.source, Source::Kubeconfig { .. }));

    // 2. No kubeconfig file: in-cluster, with the namespace override applied.
    let inferred = infer_with(
        &no_kubeconfig(&dir),
        &in_cluster,
        &Overrides::default().namespace("override"),
    )
    .await
    .unwrap();
    assert_eq!(inferred.source, Source::InCluster);
    assert_eq!(inferred.namespace, "override");
    list_namespaces(&inferred.config).await.unwrap();

    // 3. Neither: one error saying why each was not used.
    let err = infer_with(
        &no_kubeconfig(&dir),
        &InCluster::default(),
        &Overrides::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::NoConfig { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("no kubeconfig found"), "{text}");
    assert!(
        text.contains("KUBERNETES_SERVICE_HOST is not set"),
        "{text}"
    );

    // A broken kubeconfig is an error, not a reason to fall back.
    let broken = dir.write("broken", "clusters: [");
    let rules = LoadingRules::default().kubeconfig_var(Some(broken.into_os_string()));
    let err = infer_with(&rules, &in_cluster, &Overrides::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Parse { .. }), "{err:?}");

    // An explicit path that does not exist is an error too.
    let rules = LoadingRules::default().explicit_path(dir.path().join("missing"));
    let err = infer_with(&rules, &in_cluster, &Overrides::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Read { .. }), "{err:?}");
}

#[tokio::test]
async fn an_empty_kubeconfig_falls_back_to_in_cluster_or_says_it_is_empty() {
    let server = TestServer::builder()
        .tls()
        .require_token("t")
        .start()
        .await
        .unwrap();
    let dir = TempDir::new("infer-empty");
    let in_cluster = service_account(&server, &dir, "t");
    // As client-go: an empty kubeconfig (here only a comment), even one named
    // explicitly, is no configuration, and a pod uses its service account.
    let empty = dir.write("empty", "# nothing yet\n");
    let rules = LoadingRules::default().explicit_path(&empty);
    let inferred = infer_with(&rules, &in_cluster, &Overrides::default())
        .await
        .unwrap();
    assert_eq!(inferred.source, Source::InCluster);

    // Outside a pod, the error says the file is empty (not that it lacks a context).
    let err = infer_with(&rules, &InCluster::default(), &Overrides::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "no configuration found: kubeconfig {} is empty; and not running in a cluster: KUBERNETES_SERVICE_HOST is not set",
            empty.display()
        )
    );
}
