//! Create, get, update, update_status, list (whole and streamed), delete (with
//! preconditions and propagation) and delete_collection through the dynamic client.

mod common;

use futures_util::TryStreamExt;
use kubecto_dynamic::{
    CreateOptions, DeleteOptions, GetOptions, ListOptions, Preconditions, PropagationPolicy,
    UpdateOptions,
};
use kubecto_testserver::TestServer;
use serde_json::json;

#[tokio::test]
async fn create_get_update_delete_a_configmap() {
    let server = TestServer::start().await.unwrap();
    let cms = common::client(&server)
        .resource(common::configmaps())
        .namespace("default");
    assert_eq!(cms.namespace_name(), Some("default"));

    let created = cms
        .create(
            &common::configmap("settings", "fast"),
            &CreateOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(created.name(), Some("settings"));
    assert_eq!(created.namespace(), Some("default"));
    assert!(created.uid().is_some_and(|u| !u.is_empty()));
    let rv = created.resource_version().unwrap().to_owned();

    let got = cms.get("settings", &GetOptions::new()).await.unwrap();
    assert_eq!(got.nested_str(&["data", "mode"]), Some("fast"));
    assert_eq!(got.kind(), Some("ConfigMap"));
    assert_eq!(got.label("app"), Some("demo"));

    let mut changed = got.clone();
    changed
        .set_nested_field(&["data", "mode"], json!("slow"))
        .unwrap();
    let updated = cms.update(&changed, &UpdateOptions::new()).await.unwrap();
    assert_eq!(updated.nested_str(&["data", "mode"]), Some("slow"));
    assert_ne!(updated.resource_version(), Some(rv.as_str()));

    // The stale copy loses the race: 409 Conflict.
    let err = cms.update(&got, &UpdateOptions::new()).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");

    // Creating it again: AlreadyExists.
    let err = cms
        .create(&common::configmap("settings", "x"), &CreateOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_already_exists(), "{err}");

    let answer = cms.delete("settings", &DeleteOptions::new()).await.unwrap();
    assert_eq!(answer.kind(), Some("Status"));
    let err = cms.get("settings", &GetOptions::new()).await.unwrap_err();
    assert!(err.is_not_found());
    let text = err.to_string();
    assert!(
        text.contains("configmaps.v1. \"settings\" in namespace \"default\""),
        "{text}"
    );
}

#[tokio::test]
async fn dry_run_create_persists_nothing() {
    let server = TestServer::start().await.unwrap();
    let cms = common::client(&server)
        .resource(common::configmaps())
        .namespace("default");
    cms.create(
        &common::configmap("dry", "x"),
        &CreateOptions::new().dry_run(true),
    )
    .await
    .unwrap();
    assert!(
        cms.get("dry", &GetOptions::new())
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn update_status_changes_only_status() {
    let server = TestServer::start().await.unwrap();
    let deps = common::client(&server)
        .resource(common::deployments())
        .namespace("default");
    let mut d = deps
        .create(&common::deployment("web", 2), &CreateOptions::new())
        .await
        .unwrap();
    d.set_nested_field(&["status", "replicas"], json!(2))
        .unwrap();
    d.set_nested_field(&["status", "readyReplicas"], json!(1))
        .unwrap();
    d.set_nested_field(&["spec", "replicas"], json!(9)).unwrap();
    let after = deps.update_status(&d, &UpdateOptions::new()).await.unwrap();
    assert_eq!(after.nested_i64(&["status", "readyReplicas"]), Some(1));
    assert_eq!(
        after.nested_i64(&["spec", "replicas"]),
        Some(2),
        "spec untouched"
    );
    assert_eq!(
        server.request_count(
            "PUT",
            "/apis/apps/v1/namespaces/default/deployments/web/status"
        ),
        1
    );
}

#[tokio::test]
async fn list_whole_and_streamed_agree() {
    let server = TestServer::start().await.unwrap();
    let client = common::client(&server);
    let cms = client.resource(common::configmaps()).namespace("default");
    for i in 0..25 {
        cms.create(
            &common::configmap(&format!("cm-{i:02}"), "m"),
            &CreateOptions::new(),
        )
        .await
        .unwrap();
    }
    let list = cms.list(&ListOptions::new()).await.unwrap();
    assert_eq!(list.len(), 25);
    assert_eq!(list.kind, "ConfigMapList");
    assert!(list.resource_version().is_some());
    // Items of a built-in list carry no kind on the wire; the list fills it in.
    assert!(list.items.iter().all(|i| i.kind() == Some("ConfigMap")));
    assert!(list.items.iter().all(|i| i.api_version() == Some("v1")));

    let streamed: Vec<_> = cms
        .list_stream(&ListOptions::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.len(), 25);
    assert!(streamed.iter().all(|i| i.api_version() == Some("v1")));

    // With a limit, pages are followed: 25 items in pages of 10 = 3 requests.
    server.clear_requests();
    let paged: Vec<_> = cms
        .list_stream(&ListOptions::new().limit(10))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(paged.len(), 25);
    assert_eq!(
        server.request_count("GET", "/api/v1/namespaces/default/configmaps"),
        3
    );
    let names = |v: &[kubecto_dynamic::Unstructured]| -> Vec<String> {
        v.iter().map(|u| u.name().unwrap().to_owned()).collect()
    };
    assert_eq!(names(&paged), names(&list.items));

    // Label selector, and across all namespaces (the unscoped handle).
    let none = cms
        .list(&ListOptions::new().label_selector("app=other"))
        .await
        .unwrap();
    assert!(none.is_empty());
    let everywhere = client
        .resource(common::configmaps())
        .list(&ListOptions::new())
        .await
        .unwrap();
    assert!(everywhere.len() >= 25);
}

#[tokio::test]
async fn cluster_scoped_resources() {
    let server = TestServer::start().await.unwrap();
    let namespaces = common::client(&server).resource(("", "v1", "namespaces"));
    assert_eq!(namespaces.namespace_name(), None);
    let ns = kubecto_dynamic::Unstructured::from_value(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}),
    )
    .unwrap();
    namespaces.create(&ns, &CreateOptions::new()).await.unwrap();
    let got = namespaces.get("team-a", &GetOptions::new()).await.unwrap();
    assert_eq!(got.name(), Some("team-a"));
    let all = namespaces.list(&ListOptions::new()).await.unwrap();
    assert!(all.items.iter().any(|n| n.name() == Some("kube-system")));
}

#[tokio::test]
async fn delete_with_preconditions_and_propagation() {
    let server = TestServer::start().await.unwrap();
    let cms = common::client(&server)
        .resource(common::configmaps())
        .namespace("default");
    let created = cms
        .create(&common::configmap("guarded", "x"), &CreateOptions::new())
        .await
        .unwrap();

    // Precondition on a wrong UID: 409 Conflict, nothing deleted.
    let wrong = DeleteOptions::new().preconditions(Preconditions::new().uid("not-the-uid"));
    let err = cms.delete("guarded", &wrong).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    cms.get("guarded", &GetOptions::new()).await.unwrap();

    // The right UID and resourceVersion, with a propagation policy: deleted.
    let right = DeleteOptions::new()
        .preconditions(
            Preconditions::new()
                .uid(created.uid().unwrap())
                .resource_version(created.resource_version().unwrap()),
        )
        .propagation_policy(PropagationPolicy::Background);
    cms.delete("guarded", &right).await.unwrap();
    assert!(
        cms.get("guarded", &GetOptions::new())
            .await
            .unwrap_err()
            .is_not_found()
    );

    // Foreground on a deployment: answered with the object while it goes.
    let deps = common::client(&server)
        .resource(common::deployments())
        .namespace("default");
    deps.create(&common::deployment("fg", 1), &CreateOptions::new())
        .await
        .unwrap();
    let answer = deps
        .delete(
            "fg",
            &DeleteOptions::new().propagation_policy(PropagationPolicy::Foreground),
        )
        .await
        .unwrap();
    assert!(answer.kind() == Some("Deployment") || answer.kind() == Some("Status"));
}

#[tokio::test]
async fn delete_collection_by_label() {
    let server = TestServer::start().await.unwrap();
    let cms = common::client(&server)
        .resource(common::configmaps())
        .namespace("default");
    for (name, app) in [("a", "demo"), ("b", "demo"), ("c", "keep")] {
        let mut cm = common::configmap(name, "m");
        cm.set_nested_field(&["metadata", "labels", "app"], json!(app))
            .unwrap();
        cms.create(&cm, &CreateOptions::new()).await.unwrap();
    }
    cms.delete_collection(
        &DeleteOptions::new(),
        &ListOptions::new().label_selector("app=demo"),
    )
    .await
    .unwrap();
    let left = cms.list(&ListOptions::new()).await.unwrap();
    let names: Vec<_> = left.items.iter().filter_map(|u| u.name()).collect();
    assert!(names.contains(&"c"), "{names:?}");
    assert!(!names.contains(&"a") && !names.contains(&"b"), "{names:?}");
}
