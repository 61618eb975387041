//! URL building follows client-go: prefix/api_path/group/version/namespaces/{ns}/{resource}/{name}/{subresource}?query.

use std::time::Duration;

use kubecto_rest_core::{Config, Error, GroupVersion, ListOptions, PatchType, RestClient};

fn core() -> RestClient {
    RestClient::new(Config::new("http://127.0.0.1:8080")).unwrap()
}

fn apps() -> RestClient {
    RestClient::new(
        Config::new("https://k8s.example.com:6443/base/")
            .with_api_path("apis")
            .with_group_version(GroupVersion::new("apps", "v1")),
    )
    .unwrap()
}

#[test]
fn the_seeds_pod_listing() {
    let url = core()
        .get()
        .namespace("kube-system")
        .resource("pods")
        .params(&ListOptions::new().limit(500))
        .url()
        .unwrap();
    assert_eq!(
        url,
        "http://127.0.0.1:8080/api/v1/namespaces/kube-system/pods?limit=500"
    );
}

#[test]
fn named_group_with_host_prefix_name_and_subresource() {
    let url = apps()
        .put()
        .namespace("default")
        .resource("Deployments")
        .name("web")
        .sub_resource("scale")
        .url()
        .unwrap();
    assert_eq!(
        url,
        "https://k8s.example.com:6443/base/apis/apps/v1/namespaces/default/deployments/web/scale"
    );
}

#[test]
fn cluster_scoped_and_empty_namespace() {
    assert_eq!(
        core().get().resource("nodes").name("n1").url().unwrap(),
        "http://127.0.0.1:8080/api/v1/nodes/n1"
    );
    // An empty namespace means all namespaces, as in client-go.
    assert_eq!(
        core().get().namespace("").resource("pods").url().unwrap(),
        "http://127.0.0.1:8080/api/v1/pods"
    );
}

#[test]
fn abs_path_and_suffix() {
    assert_eq!(
        apps().get().abs_path("/version").url().unwrap(),
        "https://k8s.example.com:6443/base/version"
    );
    assert_eq!(
        core()
            .get()
            .namespace("ns")
            .resource("pods")
            .name("p")
            .sub_resource("proxy")
            .suffix("metrics/raw")
            .url()
            .unwrap(),
        "http://127.0.0.1:8080/api/v1/namespaces/ns/pods/p/proxy/metrics/raw"
    );
    assert_eq!(
        core().get().abs_path("/").url().unwrap(),
        "http://127.0.0.1:8080/"
    );
}

#[test]
fn names_are_percent_encoded() {
    let url = core()
        .get()
        .namespace("ns")
        .resource("configmaps")
        .name("a b?c#d:e@f")
        .url()
        .unwrap();
    assert_eq!(
        url,
        "http://127.0.0.1:8080/api/v1/namespaces/ns/configmaps/a%20b%3Fc%23d:e@f"
    );
}

fn assert_invalid(result: Result<String, Error>, needle: &str) {
    match result {
        Err(Error::InvalidRequest { what }) => assert!(what.contains(needle), "{what}"),
        other => panic!("expected InvalidRequest containing {needle:?}, got {other:?}"),
    }
}

#[test]
fn bad_segments_are_rejected_not_panicked() {
    assert_invalid(core().get().resource("pods").name("..").url(), "\"..\"");
    assert_invalid(core().get().resource("pods").name(".").url(), "\".\"");
    assert_invalid(core().get().resource("pods").name("a/b").url(), "'/'");
    assert_invalid(core().get().resource("pods").name("a%2Fb").url(), "'%'");
    assert_invalid(
        core().get().namespace("../x").resource("pods").url(),
        "namespace",
    );
    assert_invalid(core().get().resource("").url(), "empty");
    assert_invalid(core().get().resource("pods").name("").url(), "empty");
    assert_invalid(
        core().get().resource("pods").sub_resource("a/b").url(),
        "subresource",
    );
    assert_invalid(core().get().abs_path("/api/../secrets").url(), "..");
    assert_invalid(core().get().suffix("a/../b").url(), "..");
}

#[test]
fn the_first_mistake_is_kept_and_setting_twice_differently_is_an_error() {
    assert_invalid(
        core().get().name("..").resource("a/b").url(),
        "resource name",
    );
    assert_invalid(
        core().get().namespace("a").namespace("b").url(),
        "already set",
    );
    assert!(core().get().namespace("a").namespace("a").url().is_ok());
}

#[tokio::test]
async fn send_returns_the_builder_error_without_io() {
    // Port 9 on a documentation address: nothing must be attempted.
    let client = RestClient::new(Config::new("http://192.0.2.1:9")).unwrap();
    let err = client
        .get()
        .resource("pods")
        .name("a/b")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    let err = client
        .get()
        .resource("pods")
        .header("bad header", "x")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    let err = client
        .get()
        .resource("pods")
        .header("x-ok", "bad\nvalue")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
}

#[test]
fn timeout_is_sent_as_a_go_duration_and_query_is_sorted() {
    let url = core()
        .get()
        .resource("pods")
        .param("watch", "true")
        .param("labelSelector", "app in (a,b)")
        .timeout(Duration::from_secs(90))
        .url()
        .unwrap();
    assert_eq!(
        url,
        "http://127.0.0.1:8080/api/v1/pods?labelSelector=app%20in%20%28a%2Cb%29&timeout=1m30s&watch=true"
    );
}

#[test]
fn patch_verb_builds_the_same_url() {
    let url = core()
        .patch(PatchType::Merge)
        .namespace("default")
        .resource("pods")
        .name("p")
        .url()
        .unwrap();
    assert_eq!(
        url,
        "http://127.0.0.1:8080/api/v1/namespaces/default/pods/p"
    );
}

#[test]
fn bad_hosts_are_config_errors() {
    for host in ["", "ftp://x", "http://"] {
        let err = RestClient::new(Config::new(host)).unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{host}: {err:?}");
    }
}

#[test]
fn another_group_version_on_the_same_client() {
    let apps = apps();
    let batch = apps
        .with_group_version("apis", &GroupVersion::new("batch", "v1"))
        .unwrap();
    assert_eq!(
        batch.get().namespace("ns").resource("jobs").url().unwrap(),
        "https://k8s.example.com:6443/base/apis/batch/v1/namespaces/ns/jobs"
    );
    let core = apps
        .with_group_version("api", &GroupVersion::core_v1())
        .unwrap();
    assert_eq!(
        core.get().resource("nodes").url().unwrap(),
        "https://k8s.example.com:6443/base/api/v1/nodes"
    );
    // The original is unchanged.
    assert_eq!(
        apps.get().resource("deployments").url().unwrap(),
        "https://k8s.example.com:6443/base/apis/apps/v1/deployments"
    );
    assert!(
        apps.with_group_version("apis/..", &GroupVersion::core_v1())
            .is_err()
    );
}

#[test]
fn the_configs_timeout_is_sent_unless_the_request_sets_its_own() {
    let client =
        RestClient::new(Config::new("http://h").with_timeout(Duration::from_secs(30))).unwrap();
    assert_eq!(
        client.get().resource("pods").url().unwrap(),
        "http://h/api/v1/pods?timeout=30s"
    );
    assert_eq!(
        client
            .get()
            .resource("pods")
            .timeout(Duration::from_secs(5))
            .url()
            .unwrap(),
        "http://h/api/v1/pods?timeout=5s"
    );
}

/// Found by the `request_url` fuzz target: a group's dots (and a CRD group's dashes) were
/// percent-encoded in the URL (`/apis/rbac%2Eauthorization%2Ek8s%2Eio/v1`), which only a
/// server that decodes unreserved characters before routing understands.
#[test]
fn group_names_are_not_percent_encoded() {
    let client = RestClient::new(
        Config::new("https://k8s.example.com")
            .with_api_path("apis")
            .with_group_version(GroupVersion::new("cert-manager.io", "v1~beta_1")),
    )
    .unwrap();
    let url = client.get().resource("certificates").url().unwrap();
    assert_eq!(
        url,
        "https://k8s.example.com/apis/cert-manager.io/v1~beta_1/certificates"
    );
}
