//! Watch through the dynamic client: ADDED, MODIFIED and DELETED events as Unstructured
//! objects, resumed from a list's resourceVersion.

mod common;

use futures_util::StreamExt;
use kubecto_dynamic::{
    CreateOptions, DeleteOptions, ListOptions, Patch, PatchOptions, WatchEvent, WatchOptions,
};
use kubecto_testserver::TestServer;
use serde_json::json;

#[tokio::test]
async fn watch_from_a_list() {
    let server = TestServer::start().await.unwrap();
    let cms = common::client(&server)
        .resource(common::configmaps())
        .namespace("default");
    let list = cms.list(&ListOptions::new()).await.unwrap();
    let rv = list.resource_version().unwrap().to_owned();

    let mut events = cms.watch(&WatchOptions::new().resource_version(rv).timeout_seconds(10));
    cms.create(&common::configmap("w", "a"), &CreateOptions::new())
        .await
        .unwrap();
    cms.patch(
        "w",
        &Patch::Merge(json!({"data": {"mode": "b"}})),
        &PatchOptions::new(),
    )
    .await
    .unwrap();
    cms.delete("w", &DeleteOptions::new()).await.unwrap();

    let mut seen = Vec::new();
    while seen.len() < 3 {
        let event = tokio::time::timeout(std::time::Duration::from_secs(5), events.next())
            .await
            .expect("an event within 5 s")
            .expect("the stream goes on")
            .unwrap();
        match event {
            WatchEvent::Added(o) => seen.push(("ADDED", o)),
            WatchEvent::Modified(o) => seen.push(("MODIFIED", o)),
            WatchEvent::Deleted(o) => seen.push(("DELETED", o)),
            WatchEvent::Bookmark(_) => {}
        }
    }
    let kinds: Vec<_> = seen.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, ["ADDED", "MODIFIED", "DELETED"]);
    assert_eq!(seen[1].1.nested_str(&["data", "mode"]), Some("b"));
    assert_eq!(seen[2].1.kind(), Some("ConfigMap"));
}

#[tokio::test]
async fn watch_of_an_expired_version_is_gone() {
    let server = TestServer::builder()
        .watch_history(5)
        .start()
        .await
        .unwrap();
    let cms = common::client(&server)
        .resource(common::configmaps())
        .namespace("default");
    for i in 0..10 {
        cms.create(
            &common::configmap(&format!("x{i}"), "a"),
            &CreateOptions::new(),
        )
        .await
        .unwrap();
    }
    let mut events = cms.watch(&WatchOptions::new().resource_version("1"));
    let first = events.next().await.unwrap();
    let err = first.unwrap_err();
    assert!(err.is_gone(), "{err}");
    assert!(err.to_string().contains("watch configmaps.v1."), "{err}");
}
