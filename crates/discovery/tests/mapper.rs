//! The RESTMapper: kinds to resources by plural, singular, short name and kind, preferred
//! versions and scope, all from discovery; a miss refreshes discovery exactly once.

mod common;

use kubecto_discovery::{GroupVersionKind, GroupVersionResource, RestMapper, Scope};
use kubecto_testserver::TestServer;

#[tokio::test]
async fn names_resolve_to_resources() {
    let server = TestServer::start().await.unwrap();
    let mapper = RestMapper::new(common::client(&server));

    for input in [
        "deployments",
        "deployment",
        "deploy",
        "Deployment",
        "DEPLOY",
        "deployments.apps",
        "deploy.v1.apps",
    ] {
        let m = mapper.resource_for(input).await.unwrap();
        assert_eq!(
            m.resource,
            GroupVersionResource::new("apps", "v1", "deployments"),
            "{input}"
        );
        assert_eq!(m.kind, GroupVersionKind::new("apps", "v1", "Deployment"));
        assert_eq!(m.scope, Scope::Namespaced);
        assert_eq!(m.singular, "deployment");
        assert_eq!(m.short_names, ["deploy"]);
        assert!(m.preferred);
    }
    let po = mapper.resource_for("po").await.unwrap();
    assert_eq!(po.resource, GroupVersionResource::new("", "v1", "pods"));
    let no = mapper.resource_for("no").await.unwrap();
    assert_eq!(no.resource.resource, "nodes");
    assert_eq!(no.scope, Scope::Cluster);
    // Preferred version: HPA resolves to autoscaling/v2, not v1.
    let hpa = mapper.resource_for("hpa").await.unwrap();
    assert_eq!(hpa.resource.version, "v2");
    // Explicit non-preferred version.
    let hpa1 = mapper.resource_for("hpa.v1.autoscaling").await.unwrap();
    assert_eq!(hpa1.resource.version, "v1");
    assert!(!hpa1.preferred);
    // The core group wins a name two groups share.
    let ev = mapper.resource_for("events").await.unwrap();
    assert_eq!(ev.resource.group, "");
    let ev = mapper.resource_for("events.events.k8s.io").await.unwrap();
    assert_eq!(ev.resource.group, "events.k8s.io");
    // All of it from the two aggregated requests.
    assert_eq!(common::discovery_requests(&server), 2);
}

#[tokio::test]
async fn kinds_resolve_to_mappings_and_back() {
    let server = TestServer::start().await.unwrap();
    let mapper = RestMapper::new(common::client(&server));
    let m = mapper
        .rest_mapping("apps", "StatefulSet", None)
        .await
        .unwrap();
    assert_eq!(m.resource.resource, "statefulsets");
    let m = mapper
        .rest_mapping("autoscaling", "HorizontalPodAutoscaler", Some("v1"))
        .await
        .unwrap();
    assert_eq!(m.resource.version, "v1");
    let m = mapper
        .mapping_for_kind(&GroupVersionKind::from_api_version("v1", "ConfigMap"))
        .await
        .unwrap();
    assert_eq!(m.resource.resource, "configmaps");
    let kind = mapper
        .kind_for(&GroupVersionResource::new(
            "rbac.authorization.k8s.io",
            "",
            "clusterroles",
        ))
        .await
        .unwrap();
    assert_eq!(
        kind,
        GroupVersionKind::new("rbac.authorization.k8s.io", "v1", "ClusterRole")
    );
}

#[tokio::test]
async fn a_miss_refreshes_discovery_exactly_once() {
    let server = TestServer::start().await.unwrap();
    let mapper = RestMapper::new(common::client(&server));
    // Warm the cache.
    mapper.resource_for("pods").await.unwrap();
    assert_eq!(common::discovery_requests(&server), 2);

    // A CRD created after discovery: the first lookup misses, refreshes once, finds it.
    server
        .seed(common::crd(
            "example.com",
            "widgets",
            "Widget",
            &["wd"],
            true,
        ))
        .unwrap();
    let m = mapper.resource_for("wd").await.unwrap();
    assert_eq!(
        m.resource,
        GroupVersionResource::new("example.com", "v1", "widgets")
    );
    assert_eq!(m.kind.kind, "Widget");
    assert_eq!(common::discovery_requests(&server), 4);
    let m = mapper
        .rest_mapping("example.com", "Widget", Some("v1beta1"))
        .await
        .unwrap();
    assert!(!m.preferred);
    assert_eq!(
        common::discovery_requests(&server),
        4,
        "a hit costs nothing"
    );

    // A real miss: one refresh (two requests), then NoMatch naming what was asked.
    let err = mapper.resource_for("gizmos").await.unwrap_err();
    assert!(err.is_no_match());
    assert!(err.to_string().contains("\"gizmos\""), "{err}");
    assert_eq!(common::discovery_requests(&server), 6);
    let err = mapper
        .rest_mapping("example.com", "Gizmo", None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("kind \"Gizmo\" in group \"example.com\""),
        "{err}"
    );
    assert_eq!(common::discovery_requests(&server), 8);
}

#[tokio::test]
async fn a_miss_on_just_fetched_data_does_not_refresh() {
    let server = TestServer::start().await.unwrap();
    let mapper = RestMapper::new(common::client(&server));
    let err = mapper.resource_for("nothing-like-this").await.unwrap_err();
    assert!(err.is_no_match());
    assert_eq!(common::discovery_requests(&server), 2);
}

#[tokio::test]
async fn cluster_scoped_crd() {
    let server = TestServer::start().await.unwrap();
    server
        .seed(common::crd(
            "example.com",
            "clusterthings",
            "ClusterThing",
            &[],
            false,
        ))
        .unwrap();
    let mapper = RestMapper::new(common::legacy_client(&server));
    let m = mapper.resource_for("clusterthing").await.unwrap();
    assert_eq!(m.scope, Scope::Cluster);
    assert_eq!(m.resource.version, "v1");
}

#[tokio::test]
async fn categories_list_their_resources() {
    let server = TestServer::start().await.unwrap();
    let mapper = RestMapper::new(common::client(&server));
    let all = mapper.resources_in_category("all").await.unwrap();
    let names: Vec<&str> = all.iter().map(|m| m.resource.resource.as_str()).collect();
    for expected in [
        "pods",
        "services",
        "deployments",
        "statefulsets",
        "jobs",
        "cronjobs",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    assert!(!names.contains(&"configmaps"), "{names:?}");
    let hpa: Vec<_> = all
        .iter()
        .filter(|m| m.resource.resource == "horizontalpodautoscalers")
        .collect();
    assert!(hpa.len() <= 1, "each resource once");
    assert!(
        mapper
            .resources_in_category("nope")
            .await
            .unwrap()
            .is_empty()
    );
}
