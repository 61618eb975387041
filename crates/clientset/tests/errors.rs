//! Server errors surface as rest-core's `Error::Api` with the helpers a user branches on;
//! mistakes the client can see are refused before any request is sent.

mod common;

use common::{config_map, pod, start};
use futures_util::StreamExt;
use kubecto_rest_core::{CreateOptions, Error, ListOptions, UpdateOptions, WatchOptions};

#[tokio::test]
async fn a_stale_update_is_a_conflict() {
    let (server, cs) = start().await;
    let cms = cs.core_v1().config_maps("default");
    let first = cms
        .create(&config_map("shared", "a"), &CreateOptions::new())
        .await
        .expect("create");
    let mut mine = first.clone();
    mine.data
        .get_or_insert_with(Default::default)
        .insert("key".into(), "mine".into());
    let mut theirs = first.clone();
    theirs
        .data
        .get_or_insert_with(Default::default)
        .insert("key".into(), "theirs".into());

    cms.update(&theirs, &UpdateOptions::new())
        .await
        .expect("first writer wins");
    let err = cms
        .update(&mine, &UpdateOptions::new())
        .await
        .expect_err("second writer holds a stale resourceVersion");
    assert!(err.is_conflict(), "{err}");
    assert_eq!(err.code(), Some(409));
    let status = err.status().expect("a Status");
    assert_eq!(status.reason, "Conflict");
    server.shutdown().await;
}

#[tokio::test]
async fn not_found_and_already_exists() {
    let (server, cs) = start().await;
    let pods = cs.core_v1().pods("default");
    let err = pods.get("nope").await.expect_err("no such pod");
    assert!(err.is_not_found(), "{err}");
    assert_eq!(
        err.status()
            .and_then(|s| s.details.as_ref())
            .map(|d| d.name.as_str()),
        Some("nope")
    );
    pods.create(&pod("twice", "web"), &CreateOptions::new())
        .await
        .expect("create");
    let err = pods
        .create(&pod("twice", "web"), &CreateOptions::new())
        .await
        .expect_err("second create");
    assert!(err.is_already_exists(), "{err}");
    assert!(!err.is_conflict(), "AlreadyExists is not a Conflict");
    server.shutdown().await;
}

#[tokio::test]
async fn invalid_selector_is_invalid() {
    let (server, cs) = start().await;
    let err = cs
        .core_v1()
        .pods("default")
        .list(&ListOptions::new().label_selector("app in (web"))
        .await
        .expect_err("bad selector");
    assert!(err.status().is_some(), "{err}");
    assert_eq!(err.code(), Some(400));
    server.shutdown().await;
}

#[tokio::test]
async fn client_side_mistakes_send_nothing() {
    let (server, cs) = start().await;
    server.clear_requests();

    // A namespaced resource with an empty namespace.
    let pods = cs.core_v1().pods("");
    let err = pods.get("x").await.expect_err("empty namespace");
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err}");
    assert!(err.to_string().contains("_all_namespaces"), "{err}");
    let err = pods
        .list(&ListOptions::new())
        .await
        .expect_err("empty namespace");
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err}");
    let first = Box::pin(pods.watch(&WatchOptions::new())).next().await;
    assert!(
        matches!(first, Some(Err(Error::InvalidRequest { .. }))),
        "{first:?}"
    );
    let first = Box::pin(pods.list_stream(&ListOptions::new())).next().await;
    assert!(
        matches!(first, Some(Err(Error::InvalidRequest { .. }))),
        "{first:?}"
    );

    // An update needs the object's name.
    let unnamed = common::typed(serde_json::json!({"data": {"k": "v"}}));
    let err = cs
        .core_v1()
        .config_maps("default")
        .update(&unnamed, &UpdateOptions::new())
        .await
        .expect_err("no name");
    assert!(err.to_string().contains("metadata.name"), "{err}");

    // Invalid path segments are refused by rest-core.
    let err = cs
        .core_v1()
        .pods("default")
        .get("a/b")
        .await
        .expect_err("slash");
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err}");

    assert!(server.requests().is_empty(), "{:?}", server.requests());
    server.shutdown().await;
}

#[tokio::test]
async fn retries_stay_rest_core_s() {
    let (server, cs) = start().await;
    server.inject(
        kubecto_testserver::Fault::status(429)
            .retry_after("0")
            .method("GET")
            .path("/api/v1/nodes"),
    );
    let nodes = cs
        .core_v1()
        .nodes()
        .list(&ListOptions::new())
        .await
        .expect("retried");
    assert!(nodes.items.is_empty());
    assert_eq!(server.request_count("GET", "/api/v1/nodes"), 2);
    server.shutdown().await;
}
