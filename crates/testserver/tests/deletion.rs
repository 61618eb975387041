//! Deletion as Kubernetes does it: propagation policies over ownerReferences,
//! finalizers, preconditions and grace periods.

mod common;
use common::*;
use serde_json::{Value, json};

const RS: &str = "/apis/apps/v1/namespaces/default/replicasets";
const PODS: &str = "/api/v1/namespaces/default/pods";
const CMS: &str = "/api/v1/namespaces/default/configmaps";

/// A replicaset owning two pods and a configmap owned by one of the pods.
async fn family(server: &TestServer) -> (String, String) {
    let rs = server
        .seed(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "rs", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": {
                "metadata": {"labels": {"app": "a"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}))
        .unwrap();
    let rs_uid = rs["metadata"]["uid"].as_str().unwrap().to_owned();
    let owner = |kind: &str, name: &str, uid: &str| {
        json!([{"apiVersion": if kind == "Pod" {"v1"} else {"apps/v1"}, "kind": kind, "name": name, "uid": uid,
                "controller": true, "blockOwnerDeletion": true}])
    };
    let mut pod_uid = String::new();
    for name in ["p1", "p2"] {
        let mut p = pod(name, json!({"app": "a"}));
        p["metadata"]["namespace"] = json!("default");
        p["metadata"]["ownerReferences"] = owner("ReplicaSet", "rs", &rs_uid);
        let made = server.seed(p).unwrap();
        pod_uid = made["metadata"]["uid"].as_str().unwrap().to_owned();
    }
    let mut cm = configmap("cm");
    cm["metadata"]["namespace"] = json!("default");
    cm["metadata"]["ownerReferences"] = owner("Pod", "p2", &pod_uid);
    server.seed(cm).unwrap();
    (rs_uid, pod_uid)
}

async fn names(http: &Http, path: &str) -> Vec<String> {
    http.get(path).await.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn delete_with(http: &Http, path: &str, opts: Value) -> Answer {
    http.send("DELETE", path, "application/json", opts.to_string())
        .await
}

#[tokio::test]
async fn background_deletes_dependents_after_the_owner() {
    let server = TestServer::start().await.unwrap();
    family(&server).await;
    let http = Http::new(&server);
    let res = http.delete(&format!("{RS}/rs")).await;
    assert_eq!(res.status, 200);
    assert!(names(&http, RS).await.is_empty());
    assert!(names(&http, PODS).await.is_empty());
    // Transitively: the pod's configmap too.
    assert!(names(&http, CMS).await.is_empty());
}

#[tokio::test]
async fn foreground_marks_the_owner_then_removes_everything() {
    let server = TestServer::start().await.unwrap();
    family(&server).await;
    let http = Http::new(&server);
    let res = delete_with(
        &http,
        &format!("{RS}/rs"),
        json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"}),
    )
    .await;
    assert_eq!(res.status, 200);
    let body = res.json();
    assert_eq!(body["kind"], "ReplicaSet");
    assert_eq!(
        body["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );
    assert!(body["metadata"]["deletionTimestamp"].is_string());
    assert!(names(&http, RS).await.is_empty());
    assert!(names(&http, PODS).await.is_empty());
    assert!(names(&http, CMS).await.is_empty());
}

#[tokio::test]
async fn foreground_waits_for_a_dependent_with_a_finalizer() {
    let server = TestServer::start().await.unwrap();
    family(&server).await;
    let http = Http::new(&server);
    let res = http
        .send(
            "PATCH",
            &format!("{PODS}/p1"),
            "application/merge-patch+json",
            r#"{"metadata":{"finalizers":["example.com/hold"]}}"#,
        )
        .await;
    assert_eq!(res.status, 200);
    let res = http
        .delete(&format!("{RS}/rs?propagationPolicy=Foreground"))
        .await;
    assert_eq!(res.status, 200);
    // p1 is held by its finalizer, so the owner stays, terminating.
    assert_eq!(names(&http, PODS).await, ["p1"]);
    let rs = http.get(&format!("{RS}/rs")).await.json();
    assert_eq!(rs["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    // Releasing p1 lets everything go.
    let res = http
        .send(
            "PATCH",
            &format!("{PODS}/p1"),
            "application/merge-patch+json",
            r#"{"metadata":{"finalizers":null}}"#,
        )
        .await;
    assert_eq!(res.status, 200);
    assert!(names(&http, PODS).await.is_empty());
    assert_eq!(http.get(&format!("{RS}/rs")).await.status, 404);
}

#[tokio::test]
async fn orphan_keeps_dependents_without_the_reference() {
    let server = TestServer::start().await.unwrap();
    family(&server).await;
    let http = Http::new(&server);
    let res = delete_with(
        &http,
        &format!("{RS}/rs"),
        json!({"propagationPolicy": "Orphan"}),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["metadata"]["finalizers"], json!(["orphan"]));
    assert!(names(&http, RS).await.is_empty());
    assert_eq!(names(&http, PODS).await, ["p1", "p2"]);
    let p1 = http.get(&format!("{PODS}/p1")).await.json();
    assert!(p1["metadata"].get("ownerReferences").is_none(), "{p1}");
    // The configmap still belongs to p2.
    let cm = http.get(&format!("{CMS}/cm")).await.json();
    assert_eq!(cm["metadata"]["ownerReferences"][0]["name"], "p2");
    // orphanDependents=true is the old spelling.
    let res = http
        .delete(&format!("{PODS}/p2?orphanDependents=true"))
        .await;
    assert_eq!(res.status, 200);
    assert!(
        http.get(&format!("{CMS}/cm")).await.json()["metadata"]
            .get("ownerReferences")
            .is_none()
    );
}

#[tokio::test]
async fn bad_delete_options() {
    let server = TestServer::start().await.unwrap();
    family(&server).await;
    let http = Http::new(&server);
    let res = http
        .delete(&format!("{RS}/rs?propagationPolicy=Bogus"))
        .await;
    assert_eq!(res.status, 422);
    assert_eq!(res.json()["reason"], "Invalid");
    let res = delete_with(
        &http,
        &format!("{RS}/rs"),
        json!({"preconditions": {"uid": "nope"}}),
    )
    .await;
    assert_eq!(res.status, 409);
    assert_eq!(names(&http, PODS).await, ["p1", "p2"]);
    // A scheduled pod reports the grace period it was deleted with.
    let mut p = pod("scheduled", json!({}));
    p["metadata"]["namespace"] = json!("default");
    p["spec"]["nodeName"] = json!("node-1");
    server.seed(p).unwrap();
    let res = http
        .delete(&format!("{PODS}/scheduled?gracePeriodSeconds=5"))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["metadata"]["deletionGracePeriodSeconds"], 5);
}

#[tokio::test]
async fn foreground_does_not_wait_for_non_blocking_dependents() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let mut owner = configmap("owner");
    owner["metadata"]["namespace"] = json!("default");
    let uid = server.seed(owner).unwrap()["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut dep = configmap("held");
    dep["metadata"]["namespace"] = json!("default");
    dep["metadata"]["finalizers"] = json!(["example.com/hold"]);
    dep["metadata"]["ownerReferences"] =
        json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}]);
    server.seed(dep).unwrap();
    let res = http
        .delete(&format!("{CMS}/owner?propagationPolicy=Foreground"))
        .await;
    assert_eq!(res.status, 200);
    // The owner is gone; the dependent is terminating, held by its own finalizer.
    assert_eq!(http.get(&format!("{CMS}/owner")).await.status, 404);
    let held = http.get(&format!("{CMS}/held")).await.json();
    assert!(held["metadata"]["deletionTimestamp"].is_string(), "{held}");
}
