//! Every patch type through the dynamic client: JSON patch, merge patch, strategic merge
//! patch, server-side apply (field manager, force) and apply_status.

mod common;

use kubecto_dynamic::{ApplyOptions, CreateOptions, Patch, PatchOptions, Unstructured};
use kubecto_testserver::TestServer;
use serde_json::json;

#[tokio::test]
async fn json_merge_and_strategic_patches() {
    let server = TestServer::start().await.unwrap();
    let client = common::client(&server);
    let cms = client.resource(common::configmaps()).namespace("default");
    cms.create(&common::configmap("p", "fast"), &CreateOptions::new())
        .await
        .unwrap();

    let json_patch = Patch::Json(json!([
        {"op": "replace", "path": "/data/mode", "value": "slow"},
        {"op": "add", "path": "/data/extra", "value": "1"}
    ]));
    let out = cms
        .patch("p", &json_patch, &PatchOptions::new())
        .await
        .unwrap();
    assert_eq!(out.nested_str(&["data", "mode"]), Some("slow"));
    assert_eq!(out.nested_str(&["data", "extra"]), Some("1"));

    let merge = Patch::Merge(json!({"data": {"extra": null, "other": "2"}}));
    let out = cms.patch("p", &merge, &PatchOptions::new()).await.unwrap();
    assert_eq!(out.nested_str(&["data", "extra"]), None);
    assert_eq!(out.nested_str(&["data", "other"]), Some("2"));

    // A failed JSON patch test is 422 Invalid and names the object.
    let failing = Patch::Json(json!([{"op": "test", "path": "/data/mode", "value": "nope"}]));
    let err = cms
        .patch("p", &failing, &PatchOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err}");

    // Strategic merge: containers merge by name instead of being replaced.
    let deps = client.resource(common::deployments()).namespace("default");
    deps.create(&common::deployment("web", 1), &CreateOptions::new())
        .await
        .unwrap();
    let strategic = Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "image": "busybox"}
    ]}}}}));
    let out = deps
        .patch("web", &strategic, &PatchOptions::new())
        .await
        .unwrap();
    let containers = out
        .nested_slice(&["spec", "template", "spec", "containers"])
        .unwrap();
    assert_eq!(containers.len(), 2, "{containers:?}");
}

#[tokio::test]
async fn server_side_apply_with_field_manager_and_force() {
    let server = TestServer::start().await.unwrap();
    let cms = common::client(&server)
        .resource(common::configmaps())
        .namespace("default");
    let mut desired = Unstructured::new("v1", "ConfigMap");
    desired.set_name("applied");
    desired
        .set_nested_field(&["data", "mode"], json!("fast"))
        .unwrap();

    // Apply creates what does not exist yet.
    let out = cms
        .apply(&desired, &ApplyOptions::new("kubecto-test"))
        .await
        .unwrap();
    assert_eq!(out.nested_str(&["data", "mode"]), Some("fast"));

    desired
        .set_nested_field(&["data", "mode"], json!("slow"))
        .unwrap();
    let out = cms
        .apply(&desired, &ApplyOptions::new("kubecto-test").force(true))
        .await
        .unwrap();
    assert_eq!(out.nested_str(&["data", "mode"]), Some("slow"));
    let sent = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.query)
        .collect::<Vec<_>>();
    assert!(
        sent.iter().all(|q| q.contains("fieldManager=kubecto-test")),
        "{sent:?}"
    );
    assert!(sent[1].contains("force=true"), "{sent:?}");

    // Without a field manager the server refuses an apply patch (422).
    let bare = Patch::Apply(desired.clone().into_value());
    let err = cms
        .patch("applied", &bare, &PatchOptions::new())
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err}");

    // Without a name there is nothing to address.
    let err = cms
        .apply(
            &Unstructured::new("v1", "ConfigMap"),
            &ApplyOptions::new("m"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, kubecto_dynamic::Error::InvalidObject { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn apply_status_and_patch_status() {
    let server = TestServer::start().await.unwrap();
    let deps = common::client(&server)
        .resource(common::deployments())
        .namespace("default");
    deps.create(&common::deployment("s", 3), &CreateOptions::new())
        .await
        .unwrap();
    let mut status = Unstructured::new("apps/v1", "Deployment");
    status.set_name("s");
    status
        .set_nested_field(&["status", "availableReplicas"], json!(2))
        .unwrap();
    let out = deps
        .apply_status(&status, &ApplyOptions::new("controller").force(true))
        .await
        .unwrap();
    assert_eq!(out.nested_i64(&["status", "availableReplicas"]), Some(2));
    assert_eq!(
        server.request_count(
            "PATCH",
            "/apis/apps/v1/namespaces/default/deployments/s/status"
        ),
        1
    );

    let merge = Patch::Merge(json!({"status": {"availableReplicas": 3}}));
    let out = deps
        .patch_status("s", &merge, &PatchOptions::new())
        .await
        .unwrap();
    assert_eq!(out.nested_i64(&["status", "availableReplicas"]), Some(3));
}
