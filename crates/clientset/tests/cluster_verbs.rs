//! Every verb on a cluster-scoped resource (nodes), which takes no namespace.

mod common;

use common::{last_request, node, start};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Node;
use kubecto_clientset::{ApplyOptions, Deleted, Patch};
use kubecto_rest_core::{
    CreateOptions, DeleteOptions, ListOptions, PatchOptions, UpdateOptions, WatchEvent,
    WatchOptions,
};
use serde_json::json;

#[tokio::test]
async fn every_verb_on_nodes() {
    let (server, cs) = start().await;
    let nodes = cs.core_v1().nodes();
    assert_eq!(nodes.namespace(), None);

    let created = nodes
        .create(&node("node-a"), &CreateOptions::new())
        .await
        .expect("create");
    nodes
        .create(&node("node-b"), &CreateOptions::new())
        .await
        .expect("create");
    assert!(last_request(&server, "POST", "/api/v1/nodes").is_some());

    let got = nodes.get("node-a").await.expect("get");
    assert_eq!(got.metadata.uid, created.metadata.uid);
    assert!(last_request(&server, "GET", "/api/v1/nodes/node-a").is_some());

    let list = nodes
        .list(&ListOptions::new().label_selector("zone=a"))
        .await
        .expect("list");
    assert_eq!(list.items.len(), 2);
    assert!(list.metadata.resource_version.is_some());

    let mut changed = got.clone();
    changed
        .metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert("role".to_owned(), "edge".to_owned());
    let updated = nodes
        .update(&changed, &UpdateOptions::new())
        .await
        .expect("update");
    assert_eq!(
        updated
            .metadata
            .labels
            .unwrap_or_default()
            .get("role")
            .map(String::as_str),
        Some("edge")
    );

    for patch in [
        Patch::Merge(json!({"metadata": {"labels": {"m": "1"}}})),
        Patch::Json(json!([{"op": "add", "path": "/metadata/labels/j", "value": "1"}])),
        Patch::Strategic(json!({"metadata": {"labels": {"s": "1"}}})),
    ] {
        nodes
            .patch("node-a", &patch, &PatchOptions::new())
            .await
            .unwrap_or_else(|e| panic!("{:?} patch: {e}", patch.patch_type()));
    }
    let applied = nodes
        .apply(
            &common::typed::<Node>(json!({"metadata": {"name": "node-a", "labels": {"a": "1"}}})),
            &ApplyOptions::new("tests").force(true),
        )
        .await
        .expect("apply");
    let labels = applied.metadata.labels.unwrap_or_default();
    for key in ["m", "j", "s", "a"] {
        assert_eq!(
            labels.get(key).map(String::as_str),
            Some("1"),
            "label {key}"
        );
    }

    // Status subresource of a cluster-scoped kind.
    let mut status = nodes.get_status("node-a").await.expect("get status");
    status.status.get_or_insert_with(Default::default).phase = Some("Running".to_owned());
    nodes
        .update_status(&status, &UpdateOptions::new())
        .await
        .expect("update status");
    nodes
        .patch_status(
            "node-a",
            &Patch::Merge(json!({"status": {"phase": "Terminated"}})),
            &PatchOptions::new(),
        )
        .await
        .expect("patch status");
    let mut partial = Node::default();
    partial.metadata.name = Some("node-a".to_owned());
    partial.status = Some(common::typed(json!({"phase": "Pending"})));
    let applied = nodes
        .apply_status(&partial, &ApplyOptions::new("tests").force(true))
        .await
        .expect("apply status");
    assert_eq!(
        applied.status.and_then(|s| s.phase).as_deref(),
        Some("Pending")
    );
    let status_calls: usize = ["GET", "PUT", "PATCH"]
        .iter()
        .map(|m| server.request_count(m, "/api/v1/nodes/node-a/status"))
        .sum();
    assert_eq!(status_calls, 4);

    match nodes
        .delete("node-b", &DeleteOptions::new())
        .await
        .expect("delete")
    {
        Deleted::Object(n) => assert_eq!(n.metadata.name.as_deref(), Some("node-b")),
        Deleted::Status(s) => assert!(s.is_success()),
    }
    nodes
        .delete_collection(&DeleteOptions::new(), &ListOptions::new())
        .await
        .expect("delete collection");
    assert!(last_request(&server, "DELETE", "/api/v1/nodes").is_some());
    assert!(
        nodes
            .list(&ListOptions::new())
            .await
            .expect("list")
            .items
            .is_empty()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn list_pages_streams_and_watch_on_nodes() {
    let (server, cs) = start().await;
    let nodes = cs.core_v1().nodes();
    for i in 0..5 {
        nodes
            .create(&node(&format!("n{i}")), &CreateOptions::new())
            .await
            .expect("create");
    }
    server.clear_requests();
    let paged = nodes
        .list_paged(&ListOptions::new().limit(2))
        .await
        .expect("paged");
    assert_eq!(paged.items.len(), 5);
    assert_eq!(server.request_count("GET", "/api/v1/nodes"), 3);
    let streamed: Vec<String> = nodes
        .list_stream(&ListOptions::new().limit(2))
        .map(|n| n.expect("node").metadata.name.unwrap_or_default())
        .collect()
        .await;
    assert_eq!(streamed, ["n0", "n1", "n2", "n3", "n4"]);

    let rv = paged.metadata.resource_version.unwrap_or_default();
    let mut events = Box::pin(nodes.watch(&WatchOptions::new().resource_version(rv)));
    nodes
        .patch(
            "n3",
            &Patch::Merge(json!({"metadata": {"labels": {"watched": "yes"}}})),
            &PatchOptions::new(),
        )
        .await
        .expect("patch");
    nodes
        .delete("n3", &DeleteOptions::new())
        .await
        .expect("delete");
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match common::within("node events", events.next()).await {
            Some(Ok(WatchEvent::Modified(n))) => {
                assert_eq!(n.metadata.name.as_deref(), Some("n3"));
                seen.push("MODIFIED");
            }
            Some(Ok(WatchEvent::Deleted(_))) => seen.push("DELETED"),
            Some(Ok(WatchEvent::Bookmark(_))) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, ["MODIFIED", "DELETED"]);
    server.shutdown().await;
}
