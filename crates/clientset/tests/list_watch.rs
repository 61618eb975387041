//! LIST (one page, every page, a stream of items, every namespace) and WATCH.

mod common;

use common::{last_request, pod, start, within};
use futures_util::StreamExt;
use kubecto_clientset::Patch;
use kubecto_rest_core::{
    CreateOptions, DeleteOptions, ListOptions, PatchOptions, WatchEvent, WatchOptions,
};
use serde_json::json;

#[tokio::test]
async fn list_with_a_label_selector() {
    let (server, cs) = start().await;
    let pods = cs.core_v1().pods("default");
    for (name, app) in [("a", "web"), ("b", "web"), ("c", "db")] {
        pods.create(&pod(name, app), &CreateOptions::new())
            .await
            .expect("create");
    }
    let web = pods
        .list(&ListOptions::new().label_selector("app=web"))
        .await
        .expect("list");
    let names: Vec<_> = web
        .items
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    assert_eq!(names, ["a", "b"]);
    let req = last_request(&server, "GET", "/api/v1/namespaces/default/pods").expect("GET");
    assert_eq!(req.query, "labelSelector=app%3Dweb");
    server.shutdown().await;
}

#[tokio::test]
async fn paged_and_streamed_lists_follow_continue_tokens() {
    let (server, cs) = start().await;
    common::create_namespace(&cs, "paging").await;
    let cms = cs.core_v1().config_maps("paging");
    for i in 0..7 {
        cms.create(
            &common::config_map(&format!("cm-{i}"), "x"),
            &CreateOptions::new(),
        )
        .await
        .expect("create");
    }
    server.clear_requests();
    let all = cms
        .list_paged(&ListOptions::new().limit(3))
        .await
        .expect("paged list");
    assert_eq!(all.items.len(), 7);
    assert_eq!(
        server.request_count("GET", "/api/v1/namespaces/paging/configmaps"),
        3,
        "pages of 3, 3 and 1"
    );
    assert_eq!(all.metadata.next_page(), None);

    let one_page = cms
        .list(&ListOptions::new().limit(3))
        .await
        .expect("one page");
    assert_eq!(one_page.items.len(), 3);
    assert!(one_page.metadata.next_page().is_some());

    server.clear_requests();
    let streamed: Vec<_> = cms
        .list_stream(&ListOptions::new().limit(2))
        .map(|r| r.expect("item").metadata.name.unwrap_or_default())
        .collect()
        .await;
    assert_eq!(streamed.len(), 7);
    assert_eq!(streamed[0], "cm-0");
    assert_eq!(
        server.request_count("GET", "/api/v1/namespaces/paging/configmaps"),
        4
    );
    server.shutdown().await;
}

#[tokio::test]
async fn all_namespaces_lists_and_watches_every_namespace() {
    let (server, cs) = start().await;
    for ns in ["one", "two", "three"] {
        common::create_namespace(&cs, ns).await;
    }
    for ns in ["one", "two"] {
        cs.core_v1()
            .pods(ns)
            .create(&pod("p", "web"), &CreateOptions::new())
            .await
            .expect("create");
    }
    let everywhere = cs.core_v1().pods_all_namespaces();
    let list = everywhere.list(&ListOptions::new()).await.expect("list");
    let mut namespaces: Vec<_> = list
        .items
        .iter()
        .filter_map(|p| p.metadata.namespace.clone())
        .collect();
    namespaces.sort();
    assert_eq!(namespaces, ["one", "two"]);
    assert!(last_request(&server, "GET", "/api/v1/pods").is_some());
    let paged = everywhere
        .list_paged(&ListOptions::new().limit(1))
        .await
        .expect("paged");
    assert_eq!(paged.items.len(), 2);

    let rv = list.metadata.resource_version.clone().unwrap_or_default();
    let mut events = Box::pin(everywhere.watch(&WatchOptions::new().resource_version(rv)));
    cs.core_v1()
        .pods("three")
        .create(&pod("q", "web"), &CreateOptions::new())
        .await
        .expect("create");
    match within("the ADDED event", events.next()).await {
        Some(Ok(WatchEvent::Added(p))) => {
            assert_eq!(p.metadata.namespace.as_deref(), Some("three"));
        }
        other => panic!("expected ADDED, got {other:?}"),
    }
    server.shutdown().await;
}

#[tokio::test]
async fn watch_sees_added_modified_deleted() {
    let (server, cs) = start().await;
    let pods = cs.core_v1().pods("default");
    let rv = pods
        .list(&ListOptions::new())
        .await
        .expect("list")
        .metadata
        .resource_version
        .unwrap_or_default();
    let mut events = Box::pin(
        pods.watch(
            &WatchOptions::new()
                .resource_version(rv)
                .label_selector("app=web"),
        ),
    );
    pods.create(&pod("web-0", "web"), &CreateOptions::new())
        .await
        .expect("create");
    pods.patch(
        "web-0",
        &Patch::Merge(json!({"metadata": {"annotations": {"seen": "yes"}}})),
        &PatchOptions::new(),
    )
    .await
    .expect("patch");
    pods.delete("web-0", &DeleteOptions::new().grace_period_seconds(0))
        .await
        .expect("delete");

    let mut kinds = Vec::new();
    while kinds.last() != Some(&"DELETED") {
        let kind = match within("the next event", events.next()).await {
            Some(Ok(WatchEvent::Added(_))) => "ADDED",
            Some(Ok(WatchEvent::Modified(p))) => {
                assert_eq!(p.metadata.name.as_deref(), Some("web-0"));
                "MODIFIED"
            }
            Some(Ok(WatchEvent::Deleted(_))) => "DELETED",
            Some(Ok(WatchEvent::Bookmark(_))) => continue,
            other => panic!("unexpected {other:?}"),
        };
        kinds.push(kind);
    }
    assert_eq!(kinds.first(), Some(&"ADDED"));
    assert!(kinds.contains(&"MODIFIED"));
    let req =
        last_request(&server, "GET", "/api/v1/namespaces/default/pods").expect("watch request");
    assert!(req.query.contains("watch=true"), "{}", req.query);
    assert!(
        req.query.contains("labelSelector=app%3Dweb"),
        "{}",
        req.query
    );
    server.shutdown().await;
}
