//! Custom resources in discovery: CRD group-versions cost nothing extra with aggregated
//! discovery and one request each with the legacy endpoints; they appear after an
//! invalidate and disappear when their CRD is deleted.

mod common;

use kubecto_discovery::GroupVersion;
use kubecto_testserver::TestServer;

#[tokio::test]
async fn many_crds_in_two_requests() {
    let server = TestServer::start().await.unwrap();
    for i in 0..40 {
        server
            .seed(common::crd(
                &format!("g{i}.example.com"),
                "things",
                "Thing",
                &[],
                true,
            ))
            .unwrap();
    }
    server.clear_requests();
    let all = common::client(&server)
        .server_groups_and_resources()
        .await
        .unwrap();
    assert!(all.is_complete());
    assert_eq!(common::discovery_requests(&server), 2);
    for i in 0..40 {
        for v in ["v1", "v1beta1"] {
            let gv = GroupVersion::new(format!("g{i}.example.com"), v);
            let list = all.resources_for(&gv).unwrap();
            let names: Vec<&str> = list.resources.iter().map(|r| r.name.as_str()).collect();
            assert_eq!(names, ["things", "things/status"][..names.len()], "{gv}");
        }
    }
    let group = all
        .groups()
        .groups
        .iter()
        .find(|g| g.name == "g7.example.com")
        .unwrap();
    assert_eq!(group.preferred(), Some("v1"));

    server.clear_requests();
    let legacy = common::legacy_client(&server)
        .server_groups_and_resources()
        .await
        .unwrap();
    let gvs = legacy.groups().group_versions().count();
    assert_eq!(common::discovery_requests(&server), 2 + gvs);
    assert_eq!(legacy.resources().len(), all.resources().len());
}

#[tokio::test]
async fn crds_come_and_go_with_invalidate() {
    let server = TestServer::start().await.unwrap();
    let discovery = common::client(&server);
    let gv = GroupVersion::new("example.com", "v1");
    assert!(
        discovery
            .server_groups_and_resources()
            .await
            .unwrap()
            .resources_for(&gv)
            .is_none()
    );

    server
        .seed(common::crd(
            "example.com",
            "widgets",
            "Widget",
            &["wd"],
            true,
        ))
        .unwrap();
    // Cached: unchanged until invalidated.
    assert!(
        discovery
            .server_groups_and_resources()
            .await
            .unwrap()
            .resources_for(&gv)
            .is_none()
    );
    discovery.invalidate();
    let all = discovery.server_groups_and_resources().await.unwrap();
    let widgets = &all.resources_for(&gv).unwrap().resources[0];
    assert_eq!(
        (
            widgets.name.as_str(),
            widgets.kind.as_str(),
            widgets.short_names.clone()
        ),
        ("widgets", "Widget", vec!["wd".to_owned()])
    );

    // Deleting the CRD over HTTP (rest-core directly: discovery has no write path).
    let rest = kubecto_rest_core::RestClient::new(common::config(&server)).unwrap();
    rest.delete()
        .abs_path("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")
        .send()
        .await
        .unwrap();
    discovery.invalidate();
    let all = discovery.server_groups_and_resources().await.unwrap();
    assert!(all.resources_for(&gv).is_none());
    assert!(all.groups().groups.iter().all(|g| g.name != "example.com"));
}
