//! Bad input never panics the server and never half-applies a change: every request
//! gets a kube-apiserver status code, and the object is unchanged after a refused write.

mod common;
use common::*;
use serde_json::json;

const CM: &str = "/api/v1/namespaces/default/configmaps/cfg";
const DEPLOY: &str = "/apis/apps/v1/namespaces/default/deployments/web";
const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

#[tokio::test]
async fn malformed_requests_get_status_codes_not_panics() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let mut cm = configmap("cfg");
    cm["metadata"]["namespace"] = json!("default");
    server.seed(cm).unwrap();
    server
        .seed(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}))
        .unwrap();
    let before_cm = http.get(CM).await.json();
    let before_deploy = http.get(DEPLOY).await.json();

    let cases: &[(&str, String, &str, &str, u16)] = &[
        (
            "PATCH",
            CM.into(),
            "application/json-patch+json",
            r#"[{"op":"add","path":"nope","value":1}]"#,
            422,
        ),
        (
            "PATCH",
            CM.into(),
            "application/json-patch+json",
            r#"[{"op":"bogus","path":"/data/x"}]"#,
            422,
        ),
        (
            "PATCH",
            CM.into(),
            "application/json-patch+json",
            r#"{"op":"add"}"#,
            400,
        ),
        (
            "PATCH",
            CM.into(),
            "application/json-patch+json",
            "not json",
            400,
        ),
        (
            "PATCH",
            CM.into(),
            "application/merge-patch+json",
            "[1,2]",
            400,
        ),
        (
            "PATCH",
            CM.into(),
            "application/strategic-merge-patch+json",
            r#"{"data":{"$patch":"explode"}}"#,
            500,
        ),
        (
            "PATCH",
            CM.into(),
            "application/apply-patch+yaml",
            "- a\n- b\n",
            422,
        ),
        (
            "PATCH",
            format!("{CM}?fieldManager=m"),
            "application/apply-patch+yaml",
            "- a\n- b\n",
            400,
        ),
        (
            "PATCH",
            format!("{CM}?fieldManager=m"),
            "application/apply-patch+yaml",
            "kind: Secret\napiVersion: v1\n",
            400,
        ),
        (
            "PATCH",
            format!("{CM}?fieldManager=m"),
            "application/apply-patch+yaml",
            ": : :\n",
            400,
        ),
        ("PATCH", CM.into(), "text/plain", "{}", 415),
        (
            "PATCH",
            format!("{DEPLOY}/scale"),
            "application/merge-patch+json",
            r#"{"spec":{"replicas":"many"}}"#,
            400,
        ),
        (
            "PATCH",
            format!("{DEPLOY}/scale"),
            "application/json-patch+json",
            r#"[{"op":"remove","path":"/spec/nothing"}]"#,
            422,
        ),
        (
            "PUT",
            format!("{DEPLOY}/scale"),
            "application/json",
            r#"{"kind":"Scale","metadata":{"name":"other"}}"#,
            400,
        ),
        (
            "PUT",
            format!("{DEPLOY}/scale"),
            "application/json",
            "[]",
            400,
        ),
        (
            "PATCH",
            DEPLOY.into(),
            "application/strategic-merge-patch+json",
            r#"{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}"#,
            500,
        ),
        (
            "DELETE",
            format!("{DEPLOY}?propagationPolicy=Nope"),
            "application/json",
            "",
            422,
        ),
        (
            "DELETE",
            DEPLOY.into(),
            "application/json",
            r#"{"propagationPolicy":"Orphan","orphanDependents":true}"#,
            422,
        ),
        (
            "DELETE",
            DEPLOY.into(),
            "application/json",
            "{not json",
            400,
        ),
        (
            "DELETE",
            format!("{DEPLOY}?gracePeriodSeconds=soon"),
            "application/json",
            "",
            400,
        ),
        (
            "POST",
            CRDS.into(),
            "application/json",
            r#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"x.y.z"},"spec":"nope"}"#,
            422,
        ),
        (
            "POST",
            CRDS.into(),
            "application/json",
            r#"{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"as.b.c"},"spec":{"group":"b.c","scope":"Namespaced","names":{"plural":"as","kind":"A"},"versions":"v1"}}"#,
            422,
        ),
        (
            "GET",
            "/api/v1/namespaces/default/pods?includeObject=Everything".into(),
            "application/json",
            "",
            200,
        ),
    ];
    for (method, path, ct, body, want) in cases {
        let res = http.send(method, path, ct, body.to_string()).await;
        assert_eq!(
            res.status,
            *want,
            "{method} {path} {body}: {}",
            String::from_utf8_lossy(&res.body)
        );
    }
    // Nothing was half-applied.
    assert_eq!(http.get(CM).await.json(), before_cm);
    assert_eq!(http.get(DEPLOY).await.json(), before_deploy);
    // A bad includeObject with a Table is 400.
    let res = http
        .get_accept(
            "/api/v1/namespaces/default/pods?includeObject=Everything",
            "application/json;as=Table;v=v1;g=meta.k8s.io",
        )
        .await;
    assert_eq!(res.status, 400);
}
