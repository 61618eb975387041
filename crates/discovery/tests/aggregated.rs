//! Aggregated discovery: the whole cluster in exactly two requests, nothing more while
//! the memory cache is warm, and the same answer client-go would derive.

mod common;

use kubecto_discovery::{GroupVersion, Source};
use kubecto_testserver::TestServer;

#[tokio::test]
async fn whole_cluster_in_two_requests_then_none() {
    let server = TestServer::start().await.unwrap();
    let discovery = common::client(&server);

    let all = discovery.server_groups_and_resources().await.unwrap();
    assert_eq!(all.source(), Source::Aggregated);
    assert!(all.is_complete(), "{}", all.failed());
    assert_eq!(server.request_count("GET", "/api"), 1);
    assert_eq!(server.request_count("GET", "/apis"), 1);
    assert_eq!(
        common::discovery_requests(&server),
        2,
        "{:?}",
        server.requests()
    );

    // Warm: every call is answered from memory.
    discovery.server_groups_and_resources().await.unwrap();
    discovery.server_groups().await.unwrap();
    discovery.server_preferred_resources().await.unwrap();
    discovery
        .server_resources_for_group_version(&GroupVersion::new("apps", "v1"))
        .await
        .unwrap();
    assert_eq!(common::discovery_requests(&server), 2);

    // Invalidated: asked again, two requests again.
    discovery.invalidate();
    discovery.server_groups_and_resources().await.unwrap();
    assert_eq!(common::discovery_requests(&server), 4);
}

#[tokio::test]
async fn resources_subresources_and_kinds_match_the_server() {
    let server = TestServer::start().await.unwrap();
    let all = common::client(&server)
        .server_groups_and_resources()
        .await
        .unwrap();
    let groups = all.groups();
    assert_eq!(groups.groups[0].name, "", "core group first");
    assert_eq!(groups.groups[0].preferred(), Some("v1"));

    let core = all.resources_for(&GroupVersion::core_v1()).unwrap();
    let pods = core.resources.iter().find(|r| r.name == "pods").unwrap();
    assert!(pods.namespaced);
    assert_eq!(pods.kind, "Pod");
    assert_eq!(pods.singular_name, "pod");
    assert_eq!(pods.short_names, ["po"]);
    assert!(pods.supports("watch"));
    let status = core
        .resources
        .iter()
        .find(|r| r.name == "pods/status")
        .unwrap();
    assert_eq!(status.kind, "Pod");
    assert!(status.is_subresource());

    let apps = all.resources_for(&GroupVersion::new("apps", "v1")).unwrap();
    let scale = apps
        .resources
        .iter()
        .find(|r| r.name == "deployments/scale")
        .unwrap();
    assert_eq!(
        (
            scale.group.as_str(),
            scale.version.as_str(),
            scale.kind.as_str()
        ),
        ("autoscaling", "v1", "Scale")
    );
    let nodes = core.resources.iter().find(|r| r.name == "nodes").unwrap();
    assert!(!nodes.namespaced);
}

#[tokio::test]
async fn preferred_resources_hold_each_resource_once_in_the_preferred_version() {
    let server = TestServer::start().await.unwrap();
    let discovery = common::client(&server);
    let preferred = discovery
        .server_preferred_resources()
        .await
        .unwrap()
        .into_complete()
        .unwrap();
    let hpa: Vec<&str> = preferred
        .iter()
        .filter(|l| {
            l.resources
                .iter()
                .any(|r| r.name == "horizontalpodautoscalers")
        })
        .map(|l| l.group_version.as_str())
        .collect();
    assert_eq!(hpa, ["autoscaling/v2"]);
    assert!(
        preferred
            .iter()
            .all(|l| l.resources.iter().all(|r| !r.is_subresource()))
    );
    // autoscaling/v1 stays as an (empty) list, as in client-go.
    assert!(
        preferred
            .iter()
            .any(|l| l.group_version == "autoscaling/v1")
    );

    let namespaced = discovery
        .server_preferred_namespaced_resources()
        .await
        .unwrap();
    let names: Vec<&str> = namespaced
        .lists
        .iter()
        .flat_map(|l| l.resources.iter().map(|r| r.name.as_str()))
        .collect();
    assert!(names.contains(&"pods") && names.contains(&"deployments"));
    assert!(!names.contains(&"nodes") && !names.contains(&"namespaces"));
}

#[tokio::test]
async fn server_version_and_groups() {
    let server = TestServer::start().await.unwrap();
    let discovery = common::client(&server);
    let v = discovery.server_version().await.unwrap();
    assert_eq!(v.major, "1");
    assert!(v.git_version.starts_with("v1.36"), "{v:?}");

    let groups = discovery.server_groups().await.unwrap();
    let names: Vec<&str> = groups.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names[0], "");
    assert!(names.contains(&"apps") && names.contains(&"autoscaling"));
    let autoscaling = groups
        .groups
        .iter()
        .find(|g| g.name == "autoscaling")
        .unwrap();
    assert_eq!(autoscaling.preferred(), Some("v2"));
    // Against an aggregated server, the groups came with every resource: no more requests.
    discovery.server_groups_and_resources().await.unwrap();
    assert_eq!(
        common::discovery_requests(&server),
        3,
        "{:?}",
        server.requests()
    );
}

#[tokio::test]
async fn concurrent_callers_share_one_discovery() {
    let server = TestServer::start().await.unwrap();
    let discovery = common::client(&server);
    let calls = (0..8).map(|_| {
        let d = discovery.clone();
        tokio::spawn(async move { d.server_groups_and_resources().await.map(|_| ()) })
    });
    for c in calls {
        c.await.unwrap().unwrap();
    }
    assert_eq!(common::discovery_requests(&server), 2);
}

#[tokio::test]
async fn any_rest_client_gets_aggregated_discovery() {
    // A client built for something else, with the default JSON Accept: discovery sets
    // the aggregated Accept on its own requests, so it still takes two requests.
    let server = TestServer::start().await.unwrap();
    let rest =
        kubecto_rest_core::RestClient::new(kubecto_rest_core::Config::new(server.url())).unwrap();
    let discovery = kubecto_discovery::DiscoveryClient::from_rest_client(rest);
    let all = discovery.server_groups_and_resources().await.unwrap();
    assert_eq!(all.source(), Source::Aggregated);
    assert_eq!(
        common::discovery_requests(&server),
        2,
        "{:?}",
        server.requests()
    );

    // Asking for the legacy form only: one request per group-version.
    let rest =
        kubecto_rest_core::RestClient::new(kubecto_rest_core::Config::new(server.url())).unwrap();
    let legacy = kubecto_discovery::DiscoveryClient::from_rest_client(rest).with_aggregated(false);
    let all = legacy.server_groups_and_resources().await.unwrap();
    assert_ne!(all.source(), Source::Aggregated);
    assert!(common::discovery_requests(&server) > 20);
}
