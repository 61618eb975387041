//! Every verb on a namespaced resource (config maps, and pods for the status verbs),
//! as a user sees it through `core_v1()`.

mod common;

use common::{config_map, last_request, pod, start};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kubecto_clientset::{ApplyOptions, Deleted, Patch};
use kubecto_rest_core::{
    CreateOptions, DeleteOptions, GetOptions, ListOptions, PatchOptions, UpdateOptions,
};
use serde_json::json;

#[tokio::test]
async fn create_get_update_delete() {
    let (server, cs) = start().await;
    let cms = cs.core_v1().config_maps("default");

    let created = cms
        .create(&config_map("settings", "one"), &CreateOptions::new())
        .await
        .expect("create");
    assert_eq!(created.metadata.namespace.as_deref(), Some("default"));
    assert!(created.metadata.resource_version.is_some());
    assert!(last_request(&server, "POST", "/api/v1/namespaces/default/configmaps").is_some());

    let got = cms.get("settings").await.expect("get");
    assert_eq!(
        got.data
            .as_ref()
            .and_then(|d| d.get("key"))
            .map(String::as_str),
        Some("one")
    );
    let got = cms
        .get_with("settings", &GetOptions::new().resource_version("0"))
        .await
        .expect("get with options");
    assert_eq!(got.metadata.name.as_deref(), Some("settings"));
    let get = last_request(
        &server,
        "GET",
        "/api/v1/namespaces/default/configmaps/settings",
    )
    .expect("GET recorded");
    assert_eq!(get.query, "resourceVersion=0");
    assert!(cms.get_opt("missing").await.expect("get_opt").is_none());

    let mut changed = got.clone();
    changed
        .data
        .get_or_insert_with(Default::default)
        .insert("key".to_owned(), "two".to_owned());
    let updated = cms
        .update(&changed, &UpdateOptions::new().field_manager("tests"))
        .await
        .expect("update");
    assert_ne!(
        updated.metadata.resource_version,
        got.metadata.resource_version
    );
    let put = last_request(
        &server,
        "PUT",
        "/api/v1/namespaces/default/configmaps/settings",
    )
    .expect("PUT recorded");
    assert_eq!(put.query, "fieldManager=tests");

    // A config map is gone at once: DELETE answers a Status.
    let deleted = cms
        .delete("settings", &DeleteOptions::new())
        .await
        .expect("delete");
    assert!(
        matches!(deleted, Deleted::Status(ref s) if s.is_success()),
        "{deleted:?}"
    );
    assert!(cms.get_opt("settings").await.expect("get_opt").is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn delete_of_a_pod_returns_the_object() {
    let (server, cs) = start().await;
    let pods = cs.core_v1().pods("default");
    pods.create(&pod("web-0", "web"), &CreateOptions::new())
        .await
        .expect("create");
    let deleted = pods
        .delete("web-0", &DeleteOptions::new().grace_period_seconds(0))
        .await
        .expect("delete");
    match deleted {
        Deleted::Object(p) => assert_eq!(p.metadata.name.as_deref(), Some("web-0")),
        Deleted::Status(s) => assert!(s.is_success(), "{s:?}"),
    }
    server.shutdown().await;
}

#[tokio::test]
async fn delete_collection_by_label() {
    let (server, cs) = start().await;
    let pods = cs.core_v1().pods("default");
    for (name, app) in [("a", "web"), ("b", "web"), ("c", "db")] {
        pods.create(&pod(name, app), &CreateOptions::new())
            .await
            .expect("create");
    }
    pods.delete_collection(
        &DeleteOptions::new().grace_period_seconds(0),
        &ListOptions::new().label_selector("app=web"),
    )
    .await
    .expect("delete collection");
    let del = last_request(&server, "DELETE", "/api/v1/namespaces/default/pods")
        .expect("DELETE recorded");
    assert_eq!(del.query, "labelSelector=app%3Dweb");
    let left: Vec<String> = pods
        .list(&ListOptions::new())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| p.metadata.name)
        .collect();
    assert_eq!(left, ["c"]);
    server.shutdown().await;
}

#[tokio::test]
async fn four_kinds_of_patch() {
    let (server, cs) = start().await;
    let pods = cs.core_v1().pods("default");
    pods.create(&pod("web-0", "web"), &CreateOptions::new())
        .await
        .expect("create");
    let path = "/api/v1/namespaces/default/pods/web-0";

    let merged: Pod = pods
        .patch(
            "web-0",
            &Patch::Merge(json!({"metadata": {"labels": {"tier": "front"}}})),
            &PatchOptions::new(),
        )
        .await
        .expect("merge patch");
    let labels = merged.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("tier").map(String::as_str), Some("front"));
    assert_eq!(labels.get("app").map(String::as_str), Some("web"));

    let json_patched = pods
        .patch(
            "web-0",
            &Patch::Json(
                json!([{"op": "replace", "path": "/metadata/labels/tier", "value": "back"}]),
            ),
            &PatchOptions::new(),
        )
        .await
        .expect("json patch");
    assert_eq!(
        json_patched
            .metadata
            .labels
            .unwrap_or_default()
            .get("tier")
            .map(String::as_str),
        Some("back")
    );

    let strategic = pods
        .patch(
            "web-0",
            &Patch::Strategic(
                json!({"spec": {"containers": [{"name": "main", "image": "nginx:1.28"}]}}),
            ),
            &PatchOptions::new(),
        )
        .await
        .expect("strategic merge patch");
    let containers = strategic.spec.expect("spec").containers;
    assert_eq!(containers.len(), 1, "merged by name, not replaced");
    assert_eq!(containers[0].image.as_deref(), Some("nginx:1.28"));

    let applied = pods
        .patch(
            "web-0",
            &Patch::Apply(json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web-0", "annotations": {"owner": "team-a"}}
            })),
            &PatchOptions::new().field_manager("tests").force(true),
        )
        .await
        .expect("apply patch");
    assert_eq!(
        applied
            .metadata
            .annotations
            .unwrap_or_default()
            .get("owner")
            .map(String::as_str),
        Some("team-a")
    );
    let patch = last_request(&server, "PATCH", path).expect("PATCH recorded");
    assert_eq!(patch.query, "fieldManager=tests&force=true");
    assert_eq!(server.request_count("PATCH", path), 4);
    server.shutdown().await;
}

#[tokio::test]
async fn server_side_apply_creates_then_updates() {
    let (server, cs) = start().await;
    let cms = cs.core_v1().config_maps("default");
    let manager = ApplyOptions::new("kubecto-tests").force(true);
    let first = cms
        .apply(&config_map("applied", "v1"), &manager)
        .await
        .expect("apply creates");
    assert_eq!(
        first
            .data
            .unwrap_or_default()
            .get("key")
            .map(String::as_str),
        Some("v1")
    );
    let second = cms
        .apply(&config_map("applied", "v2"), &manager)
        .await
        .expect("apply updates");
    assert_eq!(
        second
            .data
            .unwrap_or_default()
            .get("key")
            .map(String::as_str),
        Some("v2")
    );
    let req = last_request(
        &server,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/applied",
    )
    .expect("PATCH recorded");
    assert_eq!(req.query, "fieldManager=kubecto-tests&force=true");
    // A dry run changes nothing.
    cms.apply(&config_map("applied", "v3"), &manager.clone().dry_run(true))
        .await
        .expect("dry-run apply");
    let now: ConfigMap = cms.get("applied").await.expect("get");
    assert_eq!(
        now.data.unwrap_or_default().get("key").map(String::as_str),
        Some("v2")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn status_verbs() {
    let (server, cs) = start().await;
    let pods = cs.core_v1().pods("default");
    let created = pods
        .create(&pod("web-0", "web"), &CreateOptions::new())
        .await
        .expect("create");
    let status_path = "/api/v1/namespaces/default/pods/web-0/status";

    let mut with_status = pods.get_status("web-0").await.expect("get status");
    assert!(last_request(&server, "GET", status_path).is_some());
    with_status
        .status
        .get_or_insert_with(Default::default)
        .phase = Some("Running".to_owned());
    let updated = pods
        .update_status(&with_status, &UpdateOptions::new())
        .await
        .expect("update status");
    assert_eq!(
        updated.status.and_then(|s| s.phase).as_deref(),
        Some("Running")
    );
    assert!(last_request(&server, "PUT", status_path).is_some());

    let patched = pods
        .patch_status(
            "web-0",
            &Patch::Merge(json!({"status": {"message": "patched"}})),
            &PatchOptions::new(),
        )
        .await
        .expect("patch status");
    assert_eq!(
        patched.status.and_then(|s| s.message).as_deref(),
        Some("patched")
    );

    let mut partial = Pod::default();
    partial.metadata.name = Some("web-0".to_owned());
    partial.status = Some(common::typed(json!({"reason": "Applied"})));
    let applied = pods
        .apply_status(&partial, &ApplyOptions::new("tests").force(true))
        .await
        .expect("apply status");
    assert_eq!(
        applied.status.and_then(|s| s.reason).as_deref(),
        Some("Applied")
    );
    let req = last_request(&server, "PATCH", status_path).expect("PATCH status recorded");
    assert_eq!(req.query, "fieldManager=tests&force=true");

    // A status write never touches the spec.
    let after = pods.get("web-0").await.expect("get");
    assert_eq!(after.spec, created.spec);
    server.shutdown().await;
}
