//! Bad input gives errors that say what was wrong, never a panic: a resource the server
//! does not serve, a group-version that cannot be a path, an object without a name.

mod common;

use futures_util::StreamExt;
use kubecto_dynamic::{
    Error, GetOptions, GroupVersionResource, ListOptions, Unstructured, UpdateOptions, WatchOptions,
};
use kubecto_testserver::TestServer;

#[tokio::test]
async fn unserved_group_version_is_not_found_and_named() {
    let server = TestServer::start().await.unwrap();
    let client = common::client(&server);
    let widgets = client
        .resource(GroupVersionResource::new("example.com", "v1", "widgets"))
        .namespace("default");
    let err = widgets.list(&ListOptions::new()).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("widgets.v1.example.com"), "{text}");
    assert!(text.contains("namespace \"default\""), "{text}");

    let err = widgets.get("w", &GetOptions::new()).await.unwrap_err();
    assert!(err.is_not_found());
    assert!(
        err.to_string().contains("widgets.v1.example.com \"w\""),
        "{err}"
    );

    // An unknown resource in a served group-version: NotFound too.
    let err = client
        .resource(GroupVersionResource::new("apps", "v1", "gizmos"))
        .list(&ListOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains("gizmos.v1.apps"), "{err}");
}

#[tokio::test]
async fn unusable_group_versions_are_refused_before_sending() {
    let server = TestServer::start().await.unwrap();
    let client = common::client(&server);
    for gvr in [
        GroupVersionResource::new("apps/v1/namespaces", "v1", "x"),
        GroupVersionResource::new("..", "v1", "x"),
        GroupVersionResource::new("apps", "", "deployments"),
        GroupVersionResource::new("apps", "v1", ""),
    ] {
        let err = client
            .resource(gvr.clone())
            .list(&ListOptions::new())
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidResource { .. }),
            "{gvr:?}: {err}"
        );
        let mut watch = client.resource(gvr.clone()).watch(&WatchOptions::new());
        assert!(watch.next().await.unwrap().is_err());
        let mut stream = client
            .resource(gvr.clone())
            .list_stream(&ListOptions::new());
        assert!(stream.next().await.unwrap().is_err());
    }
    // A name with a slash is refused by rest-core, not sent.
    let err = client
        .resource(common::configmaps())
        .namespace("default")
        .get("a/b", &GetOptions::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("may not contain"), "{err}");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[tokio::test]
async fn update_without_a_name_is_refused() {
    let server = TestServer::start().await.unwrap();
    let cms = common::client(&server)
        .resource(common::configmaps())
        .namespace("default");
    let err = cms
        .update(&Unstructured::new("v1", "ConfigMap"), &UpdateOptions::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("needs metadata.name"), "{err}");
}

#[tokio::test]
async fn unreachable_server_names_the_url() {
    let client = kubecto_dynamic::DynamicClient::new(
        &kubecto_rest_core::Config::new("http://127.0.0.1:1").with_max_retries(0),
    )
    .unwrap();
    let err = client
        .resource(common::configmaps())
        .list(&ListOptions::new())
        .await
        .unwrap_err();
    let chain = format!("{err}");
    assert!(chain.contains("127.0.0.1:1"), "{chain}");
}
