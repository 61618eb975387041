//! Server-side apply and managedFields: ownership, removal of fields no longer applied,
//! conflicts between managers, force, and `Update` entries named after the User-Agent.

mod common;
use common::*;
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

async fn apply(http: &Http, path: &str, manager: &str, force: bool, config: &str) -> Answer {
    let force = if force { "&force=true" } else { "" };
    http.send(
        "PATCH",
        &format!("{path}?fieldManager={manager}{force}"),
        "application/apply-patch+yaml",
        config.to_owned(),
    )
    .await
}

fn entry<'a>(obj: &'a Value, manager: &str) -> Option<&'a Value> {
    obj["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager)
}

const CFG: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  labels: {app: a}\ndata:\n  x: \"1\"\n  y: \"2\"\n";

#[tokio::test]
async fn apply_owns_fields_and_removes_what_it_stops_applying() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let res = apply(&http, &format!("{CMS}/cfg"), "alice", false, CFG).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let obj = res.json();
    let e = entry(&obj, "alice").expect("alice's entry");
    assert_eq!(e["operation"], "Apply");
    assert_eq!(e["apiVersion"], "v1");
    assert_eq!(e["fieldsType"], "FieldsV1");
    assert_eq!(
        e["fieldsV1"],
        json!({"f:data": {"f:x": {}, "f:y": {}}, "f:metadata": {"f:labels": {"f:app": {}}}})
    );
    // The same configuration again: nothing changes, resourceVersion included.
    let rv = obj["metadata"]["resourceVersion"].clone();
    let again = apply(&http, &format!("{CMS}/cfg"), "alice", false, CFG).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["metadata"]["resourceVersion"], rv);
    // Dropping y from the configuration removes it from the object.
    let less = CFG.replace("  y: \"2\"\n", "");
    let res = apply(&http, &format!("{CMS}/cfg"), "alice", false, &less).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["data"], json!({"x": "1"}));
}

#[tokio::test]
async fn conflicts_between_managers_and_force() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    assert_eq!(
        apply(&http, &format!("{CMS}/cfg"), "alice", false, CFG)
            .await
            .status,
        201
    );
    let bob = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  y: \"20\"\n";
    let res = apply(&http, &format!("{CMS}/cfg"), "bob", false, bob).await;
    assert_eq!(res.status, 409);
    let status = res.json();
    assert_eq!(status["reason"], "Conflict");
    assert_eq!(
        status["message"],
        "Apply failed with 1 conflict: conflict with \"alice\": .data.y"
    );
    assert_eq!(status["details"]["causes"][0]["field"], ".data.y");
    assert_eq!(
        status["details"]["causes"][0]["reason"],
        "FieldManagerConflict"
    );
    assert_eq!(
        http.get(&format!("{CMS}/cfg")).await.json()["data"]["y"],
        "2"
    );
    // The same value is shared, not a conflict.
    let same = bob.replace("\"20\"", "\"2\"");
    assert_eq!(
        apply(&http, &format!("{CMS}/cfg"), "bob", false, &same)
            .await
            .status,
        200
    );
    // force takes the field over.
    let res = apply(&http, &format!("{CMS}/cfg"), "bob", true, bob).await;
    assert_eq!(res.status, 200);
    let obj = res.json();
    assert_eq!(obj["data"]["y"], "20");
    assert_eq!(
        entry(&obj, "alice").unwrap()["fieldsV1"]["f:data"],
        json!({"f:x": {}})
    );
    // alice no longer owns y, so dropping it from her configuration keeps it.
    let less = CFG.replace("  y: \"2\"\n", "");
    let res = apply(&http, &format!("{CMS}/cfg"), "alice", false, &less).await;
    assert_eq!(res.json()["data"], json!({"x": "1", "y": "20"}));
}

#[tokio::test]
async fn lists_merge_by_key_and_keyed_items_are_owned() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let path = "/apis/apps/v1/namespaces/default/deployments/web";
    let two = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - {name: a, image: \"nginx:1.27\"}\n      - {name: b, image: \"busybox:1.36\"}\n";
    let res = apply(&http, path, "ci", false, two).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let fields = entry(&res.json(), "ci").unwrap()["fieldsV1"].clone();
    let containers = &fields["f:spec"]["f:template"]["f:spec"]["f:containers"];
    assert_eq!(
        containers["k:{\"name\":\"a\"}"],
        json!({".": {}, "f:image": {}, "f:name": {}})
    );
    assert_eq!(fields["f:spec"]["f:selector"], json!({}));
    // Server defaults are kept, and dropping container b removes it.
    let one = two.replace("      - {name: b, image: \"busybox:1.36\"}\n", "");
    let res = apply(&http, path, "ci", false, &one).await;
    assert_eq!(res.status, 200);
    let d = res.json();
    let cs = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(cs.len(), 1);
    assert_eq!(cs[0]["name"], "a");
    assert_eq!(cs[0]["terminationMessagePolicy"], "File");
    assert_eq!(d["spec"]["replicas"], 1);
}

#[tokio::test]
async fn writes_record_update_entries_named_after_the_client() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let res = http
        .start(
            "POST",
            CMS,
            &[
                ("content-type", "application/json"),
                (
                    "user-agent",
                    "kubectl-create/v1.32.4 (linux/amd64) kubernetes/abc",
                ),
            ],
            configmap("cfg").to_string(),
        )
        .await;
    assert_eq!(res.status(), 201);
    let obj = http.get(&format!("{CMS}/cfg")).await.json();
    let e = entry(&obj, "kubectl-create").expect("create entry");
    assert_eq!(e["operation"], "Update");
    assert_eq!(e["fieldsV1"], json!({"f:data": {".": {}, "f:k": {}}}));
    // A patch by another client moves the field it changed to that client.
    let res = http
        .start(
            "PATCH",
            &format!("{CMS}/cfg"),
            &[
                ("content-type", "application/merge-patch+json"),
                ("user-agent", "Python-urllib/3.12"),
            ],
            r#"{"data":{"k":"changed","n":"new"}}"#,
        )
        .await;
    assert_eq!(res.status(), 200);
    let obj = http.get(&format!("{CMS}/cfg")).await.json();
    let py = entry(&obj, "Python-urllib").expect("patch entry");
    assert_eq!(py["fieldsV1"], json!({"f:data": {"f:k": {}, "f:n": {}}}));
    let create = entry(&obj, "kubectl-create").expect("create entry");
    assert_eq!(create["fieldsV1"], json!({"f:data": {}}));
    // fieldManager overrides the User-Agent.
    let res = http
        .send(
            "PATCH",
            &format!("{CMS}/cfg?fieldManager=tool"),
            "application/merge-patch+json",
            r#"{"data":{"t":"1"}}"#,
        )
        .await;
    assert_eq!(res.status, 200);
    assert!(entry(&res.json(), "tool").is_some());
}

#[tokio::test]
async fn managed_fields_can_be_edited_directly() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    assert_eq!(
        apply(&http, &format!("{CMS}/cfg"), "alice", false, CFG)
            .await
            .status,
        201
    );
    // Rename the manager with a JSON patch, as kubectl's client-side to server-side
    // apply migration does.
    let res = http
        .send(
            "PATCH",
            &format!("{CMS}/cfg?fieldManager=migrator"),
            "application/json-patch+json",
            r#"[{"op":"replace","path":"/metadata/managedFields/0/manager","value":"carol"}]"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let obj = res.json();
    assert!(entry(&obj, "alice").is_none(), "{obj}");
    assert_eq!(entry(&obj, "carol").unwrap()["operation"], "Apply");
    assert!(entry(&obj, "migrator").is_none());
}

#[tokio::test]
async fn custom_resources_merge_map_lists_by_their_keys() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let conditions = json!({"type": "array", "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
        "items": {"type": "object", "properties": {"type": {"type": "string"}, "status": {"type": "string"}}}});
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "jobs.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "jobs", "kind": "Job"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
                    "status": {"type": "object", "properties": {"conditions": conditions}}}}}}]}});
    assert_eq!(
        http.post(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            &crd
        )
        .await
        .status,
        201
    );
    let path = "/apis/example.com/v1/namespaces/default/jobs/j";
    let res = apply(
        &http,
        path,
        "owner",
        false,
        "apiVersion: example.com/v1\nkind: Job\nmetadata: {name: j}\nspec: {size: 1}\n",
    )
    .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    // Two controllers each apply their own condition to status.
    for (manager, ty) in [("a", "Ready"), ("b", "Synced")] {
        let cfg = format!(
            "apiVersion: example.com/v1\nkind: Job\nmetadata: {{name: j}}\nstatus:\n  conditions:\n  - {{type: {ty}, status: \"True\"}}\n"
        );
        let res = apply(&http, &format!("{path}/status"), manager, false, &cfg).await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    }
    let job = http.get(path).await.json();
    let types: Vec<&str> = job["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.len(), 2, "{job}");
    assert!(types.contains(&"Ready") && types.contains(&"Synced"));
    let a = entry(&job, "a").unwrap();
    assert_eq!(a["subresource"], "status");
    assert_eq!(
        a["fieldsV1"],
        json!({"f:status": {"f:conditions": {"k:{\"type\":\"Ready\"}": {".": {}, "f:status": {}, "f:type": {}}}}})
    );
    // b setting a's condition to another value conflicts with a.
    let cfg = "apiVersion: example.com/v1\nkind: Job\nmetadata: {name: j}\nstatus:\n  conditions:\n  - {type: Ready, status: \"False\"}\n";
    let res = apply(&http, &format!("{path}/status"), "b", false, cfg).await;
    assert_eq!(res.status, 409);
    assert!(
        res.json()["message"]
            .as_str()
            .unwrap()
            .contains(".status.conditions[type=\"Ready\"].status"),
        "{}",
        String::from_utf8_lossy(&res.body)
    );
    // Finalizers of a custom resource merge as a set, as ObjectMeta declares them.
    for (manager, f) in [("a", "example.com/a"), ("b", "example.com/b")] {
        let cfg = format!(
            "apiVersion: example.com/v1\nkind: Job\nmetadata:\n  name: j\n  finalizers: [{f}]\n"
        );
        let res = apply(&http, path, manager, false, &cfg).await;
        assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    }
    let job = http.get(path).await.json();
    assert_eq!(
        job["metadata"]["finalizers"].as_array().unwrap().len(),
        2,
        "{job}"
    );
    let b = job["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["manager"] == "b" && e["operation"] == "Apply" && e.get("subresource").is_none()
        })
        .unwrap();
    assert_eq!(
        b["fieldsV1"],
        json!({"f:metadata": {"f:finalizers": {"v:\"example.com/b\"": {}}}})
    );
    // Strategic merge patch stays unsupported for custom resources.
    let res = http
        .send(
            "PATCH",
            path,
            "application/strategic-merge-patch+json",
            "{}",
        )
        .await;
    assert_eq!(res.status, 415);
}
