//! Field validation: undeclared fields are dropped with a warning, or refused under Strict.

mod common;
use common::*;
use serde_json::json;

const PODS: &str = "/api/v1/namespaces/default/pods";

fn with_typo() -> serde_json::Value {
    let mut p = pod("web", json!({}));
    p["spec"]["containers"][0]["imagePolicy"] = json!("Always");
    p
}

#[tokio::test]
async fn unknown_fields_warn_by_default_and_are_dropped() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let res = http.post(PODS, &with_typo()).await;
    assert_eq!(res.status, 201);
    assert_eq!(
        res.header("warning"),
        r#"299 - "unknown field \"spec.containers[0].imagePolicy\"""#
    );
    assert!(
        res.json()["spec"]["containers"][0]
            .get("imagePolicy")
            .is_none()
    );
    // Ignore: dropped silently.
    let mut p = with_typo();
    p["metadata"]["name"] = json!("quiet");
    let res = http
        .post(&format!("{PODS}?fieldValidation=Ignore"), &p)
        .await;
    assert_eq!(res.status, 201);
    assert_eq!(res.header("warning"), "");
}

#[tokio::test]
async fn strict_refuses_unknown_fields_in_every_write() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let res = http
        .post(&format!("{PODS}?fieldValidation=Strict"), &with_typo())
        .await;
    assert_eq!(res.status, 400);
    let status = res.json();
    assert_eq!(status["reason"], "BadRequest");
    assert_eq!(
        status["message"],
        "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"spec.containers[0].imagePolicy\""
    );
    assert_eq!(http.post(PODS, &pod("web", json!({}))).await.status, 201);
    let res = http
        .send(
            "PATCH",
            &format!("{PODS}/web?fieldValidation=Strict"),
            "application/merge-patch+json",
            r#"{"spec":{"bogus":1}}"#,
        )
        .await;
    assert_eq!(res.status, 400);
    let res = http
        .send(
            "PATCH",
            &format!("{PODS}/web?fieldValidation=Strict&fieldManager=m"),
            "application/apply-patch+yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {bogus: 1}\n",
        )
        .await;
    assert_eq!(res.status, 400);
    let res = http
        .send(
            "POST",
            &format!("{PODS}?fieldValidation=Sometimes"),
            "application/json",
            pod("x", json!({})).to_string(),
        )
        .await;
    assert_eq!(res.status, 400);
}

#[tokio::test]
async fn custom_resources_are_pruned_by_their_schema() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "things", "kind": "Thing"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                "type": "object", "properties": {"spec": {"type": "object", "properties": {
                    "size": {"type": "integer"},
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}}}]}});
    assert_eq!(
        http.post(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            &crd
        )
        .await
        .status,
        201
    );
    let thing = json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"},
        "spec": {"size": 1, "color": "red", "free": {"anything": {"goes": true}}}});
    let res = http
        .post("/apis/example.com/v1/namespaces/default/things", &thing)
        .await;
    assert_eq!(res.status, 201);
    assert_eq!(
        res.header("warning"),
        r#"299 - "unknown field \"spec.color\"""#
    );
    let t = res.json();
    assert_eq!(
        t["spec"],
        json!({"size": 1, "free": {"anything": {"goes": true}}})
    );
    assert_eq!(t["metadata"]["name"], "t");
}
