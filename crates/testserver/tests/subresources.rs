//! Subresources: `scale` as an `autoscaling/v1` Scale over deployments and friends.

mod common;
use common::*;
use serde_json::json;

const DEPLOY: &str = "/apis/apps/v1/namespaces/default/deployments/web";

async fn with_deployment() -> (TestServer, Http) {
    let server = TestServer::start().await.unwrap();
    server
        .seed(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}}))
        .unwrap();
    let http = Http::new(&server);
    (server, http)
}

#[tokio::test]
async fn scale_reads_and_writes_replicas() {
    let (_s, http) = with_deployment().await;
    let scale = http.get(&format!("{DEPLOY}/scale")).await;
    assert_eq!(scale.status, 200);
    let scale = scale.json();
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["apiVersion"], "autoscaling/v1");
    assert_eq!(scale["metadata"]["name"], "web");
    assert_eq!(scale["spec"], json!({"replicas": 2}));
    assert_eq!(
        scale["status"],
        json!({"replicas": 0, "selector": "app=web"})
    );

    // PUT: replicas change on the deployment, generation moves.
    let mut put = scale.clone();
    put["spec"]["replicas"] = json!(5);
    let res = http.put(&format!("{DEPLOY}/scale"), &put).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["spec"]["replicas"], 5);
    let d = http.get(DEPLOY).await.json();
    assert_eq!(d["spec"]["replicas"], 5);
    assert_eq!(d["metadata"]["generation"], 2);
    // A stale resourceVersion in the Scale is a conflict.
    let res = http.put(&format!("{DEPLOY}/scale"), &put).await;
    assert_eq!(res.status, 409);

    // PATCH (merge) to zero: spec.replicas is omitted from the Scale.
    let res = http
        .send(
            "PATCH",
            &format!("{DEPLOY}/scale"),
            "application/merge-patch+json",
            r#"{"spec":{"replicas":0}}"#,
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["spec"], json!({}));
    assert_eq!(http.get(DEPLOY).await.json()["spec"]["replicas"], 0);

    // Negative replicas: 422, nothing changes.
    let res = http
        .send(
            "PATCH",
            &format!("{DEPLOY}/scale"),
            "application/merge-patch+json",
            r#"{"spec":{"replicas":-1}}"#,
        )
        .await;
    assert_eq!(res.status, 422);
    assert_eq!(http.get(DEPLOY).await.json()["spec"]["replicas"], 0);

    // Resources without a scale subresource: 404.
    let res = http
        .get("/api/v1/namespaces/default/configmaps/x/scale")
        .await;
    assert_eq!(res.status, 404);
}

#[tokio::test]
async fn scale_writes_record_a_scale_managed_fields_entry() {
    let (_s, http) = with_deployment().await;
    let res = http
        .start(
            "PATCH",
            &format!("{DEPLOY}/scale"),
            &[
                ("content-type", "application/merge-patch+json"),
                ("user-agent", "kubectl/v1.32.4 (linux/amd64) kubernetes/abc"),
            ],
            r#"{"spec":{"replicas":3}}"#,
        )
        .await;
    assert_eq!(res.status(), 200);
    let d = http.get(DEPLOY).await.json();
    let entries = d["metadata"]["managedFields"].as_array().unwrap();
    let e = entries
        .iter()
        .find(|e| e["manager"] == "kubectl")
        .expect("scale entry");
    assert_eq!(e["operation"], "Update");
    assert_eq!(e["subresource"], "scale");
    assert_eq!(e["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
}
