//! PATCH over HTTP: the patch types, and the answers kube-apiserver gives to bad patches.

mod common;
use common::*;
use serde_json::{Value, json};

const CM: &str = "/api/v1/namespaces/default/configmaps/cfg";

async fn with_configmap() -> (TestServer, Http) {
    let server = TestServer::start().await.unwrap();
    server
        .seed(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default", "labels": {"a": "1"}}, "data": {"x": "1", "y": "2"}}))
        .unwrap();
    let http = Http::new(&server);
    (server, http)
}

async fn patch(http: &Http, ct: &str, body: Value) -> Answer {
    http.send("PATCH", CM, ct, body.to_string()).await
}

#[tokio::test]
async fn merge_patch_sets_and_removes() {
    let (_s, http) = with_configmap().await;
    let before = http.get(CM).await.json();
    let res = patch(
        &http,
        "application/merge-patch+json",
        json!({"data": {"x": null, "z": "3"}, "metadata": {"labels": {"b": "2"}}}),
    )
    .await;
    assert_eq!(res.status, 200);
    let after = res.json();
    assert_eq!(after["data"], json!({"y": "2", "z": "3"}));
    assert_eq!(after["metadata"]["labels"], json!({"a": "1", "b": "2"}));
    assert_ne!(
        after["metadata"]["resourceVersion"],
        before["metadata"]["resourceVersion"]
    );
    // A merge patch that is not an object.
    let res = http
        .send("PATCH", CM, "application/merge-patch+json", "\"nope\"")
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["message"], "Invalid JSON Patch");
}

#[tokio::test]
async fn json_patch_as_the_real_server_applies_it() {
    let (_s, http) = with_configmap().await;
    // `replace` of a missing map key adds it.
    let res = patch(
        &http,
        "application/json-patch+json",
        json!([{"op": "replace", "path": "/data/new", "value": "v"}]),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["data"]["new"], "v");
    // `remove` of a missing key is 422.
    let res = patch(
        &http,
        "application/json-patch+json",
        json!([{"op": "remove", "path": "/data/missing"}]),
    )
    .await;
    assert_eq!(res.status, 422);
    // A failed `test` is 422 and nothing is applied.
    let res = patch(
        &http,
        "application/json-patch+json",
        json!([
            {"op": "add", "path": "/data/added", "value": "1"},
            {"op": "test", "path": "/data/x", "value": "wrong"}
        ]),
    )
    .await;
    assert_eq!(res.status, 422);
    assert_eq!(res.json()["reason"], "Invalid");
    assert!(http.get(CM).await.json()["data"].get("added").is_none());
}

#[tokio::test]
async fn strategic_merge_patch_and_content_types() {
    let (_s, http) = with_configmap().await;
    let res = patch(
        &http,
        "application/strategic-merge-patch+json",
        json!({"data": {"y": "20"}}),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["data"], json!({"x": "1", "y": "20"}));
    // Plain JSON is not a patch type.
    assert_eq!(
        patch(&http, "application/json", json!({})).await.status,
        415
    );
    // A stale resourceVersion in the patch is a conflict.
    let res = patch(
        &http,
        "application/merge-patch+json",
        json!({"metadata": {"resourceVersion": "1"}, "data": {"q": "1"}}),
    )
    .await;
    assert_eq!(res.status, 409);
    // A missing object is 404.
    let res = http
        .send(
            "PATCH",
            "/api/v1/namespaces/default/configmaps/ghost",
            "application/merge-patch+json",
            "{}",
        )
        .await;
    assert_eq!(res.status, 404);
}

#[tokio::test]
async fn apply_needs_a_field_manager_and_force_needs_apply() {
    let (_s, http) = with_configmap().await;
    let cfg = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  x: applied\n";
    let res = http
        .send("PATCH", CM, "application/apply-patch+yaml", cfg)
        .await;
    assert_eq!(res.status, 422);
    let res = http
        .send(
            "PATCH",
            &format!("{CM}?force=true"),
            "application/merge-patch+json",
            "{}",
        )
        .await;
    assert_eq!(res.status, 422);
    let res = http
        .send(
            "PATCH",
            &format!("{CM}?fieldManager=test"),
            "application/apply-patch+yaml",
            cfg,
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["data"]["x"], "applied");
    // Re-applying the same configuration changes nothing, resourceVersion included.
    let rv = res.json()["metadata"]["resourceVersion"].clone();
    let again = http
        .send(
            "PATCH",
            &format!("{CM}?fieldManager=test"),
            "application/apply-patch+yaml",
            cfg,
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["metadata"]["resourceVersion"], rv);
    // Apply creates a missing object.
    let new = cfg.replace("name: cfg", "name: fresh");
    let res = http
        .send(
            "PATCH",
            "/api/v1/namespaces/default/configmaps/fresh?fieldManager=test",
            "application/apply-patch+yaml",
            new,
        )
        .await;
    assert_eq!(res.status, 201);
}

#[tokio::test]
async fn strategic_merge_patch_merges_lists_by_their_openapi_merge_keys() {
    let server = TestServer::start().await.unwrap();
    server
        .seed(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "finalizers": ["a/one"]},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [
                    {"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}]},
                    {"name": "sidecar", "image": "busybox:1.36"}]}}}}))
        .unwrap();
    let http = Http::new(&server);
    let path = "/apis/apps/v1/namespaces/default/deployments/web";
    let res = http
        .send(
            "PATCH",
            path,
            "application/strategic-merge-patch+json",
            json!({"metadata": {"finalizers": ["a/two"]}, "spec": {"template": {"spec": {"containers": [
                {"name": "nginx", "image": "nginx:1.28", "ports": [{"containerPort": 443}]}]}}}})
            .to_string(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let d = res.json();
    let cs = &d["spec"]["template"]["spec"]["containers"];
    assert_eq!(cs.as_array().unwrap().len(), 2, "{cs}");
    assert_eq!(cs[0]["name"], "nginx");
    assert_eq!(cs[0]["image"], "nginx:1.28");
    let ports: Vec<i64> = cs[0]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["containerPort"].as_i64().unwrap())
        .collect();
    assert_eq!(ports, [443, 80]);
    assert_eq!(cs[1]["name"], "sidecar");
    // finalizers merge as a set of primitives (new ones first, as apimachinery orders them).
    assert_eq!(d["metadata"]["finalizers"], json!(["a/two", "a/one"]));
    // `$patch: delete` removes an element by merge key.
    let res = http
        .send(
            "PATCH",
            path,
            "application/strategic-merge-patch+json",
            json!({"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}})
                .to_string(),
        )
        .await;
    assert_eq!(res.status, 200);
    let cs = res.json()["spec"]["template"]["spec"]["containers"].clone();
    assert_eq!(cs.as_array().unwrap().len(), 1, "{cs}");
    // A list element without its merge key: 500, and nothing changes.
    let before = http.get(path).await.json();
    let res = http
        .send(
            "PATCH",
            path,
            "application/strategic-merge-patch+json",
            json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}).to_string(),
        )
        .await;
    assert_eq!(res.status, 500);
    assert_eq!(http.get(path).await.json(), before);
}
