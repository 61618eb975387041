//! The scale subresource of deployments, replica sets, stateful sets and replication
//! controllers.

mod common;

use common::{deployment, last_request, start, typed};
use k8s_openapi::api::apps::v1::{ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::ReplicationController;
use kubecto_clientset::Patch;
use kubecto_rest_core::{CreateOptions, PatchOptions, UpdateOptions};
use serde_json::json;

#[tokio::test]
async fn deployment_scale_get_update_patch() {
    let (server, cs) = start().await;
    let deployments = cs.apps_v1().deployments("default");
    deployments
        .create(&deployment("web", 1), &CreateOptions::new())
        .await
        .expect("create");
    let path = "/apis/apps/v1/namespaces/default/deployments/web/scale";

    let mut scale = deployments.get_scale("web").await.expect("get scale");
    assert_eq!(scale.spec.as_ref().and_then(|s| s.replicas), Some(1));
    assert!(last_request(&server, "GET", path).is_some());

    scale.spec.get_or_insert_with(Default::default).replicas = Some(3);
    let updated = deployments
        .update_scale("web", &scale, &UpdateOptions::new())
        .await
        .expect("update scale");
    assert_eq!(updated.spec.and_then(|s| s.replicas), Some(3));
    assert!(last_request(&server, "PUT", path).is_some());
    let d = deployments.get("web").await.expect("get");
    assert_eq!(d.spec.and_then(|s| s.replicas), Some(3));

    let patched = deployments
        .patch_scale(
            "web",
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
            &PatchOptions::new(),
        )
        .await
        .expect("patch scale");
    assert_eq!(patched.spec.and_then(|s| s.replicas), Some(5));
    assert!(last_request(&server, "PATCH", path).is_some());

    // A stale Scale is a conflict, as a stale object is.
    let err = deployments
        .update_scale("web", &scale, &UpdateOptions::new())
        .await
        .expect_err("stale scale");
    assert!(err.is_conflict(), "{err}");
    server.shutdown().await;
}

#[tokio::test]
async fn other_workloads_scale_too() {
    let (server, cs) = start().await;
    let template = json!({
        "metadata": {"labels": {"app": "x"}},
        "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}
    });
    let rs: ReplicaSet = typed(json!({"metadata": {"name": "rs"}, "spec": {
        "replicas": 1, "selector": {"matchLabels": {"app": "x"}}, "template": template}}));
    let sts: StatefulSet = typed(json!({"metadata": {"name": "sts"}, "spec": {
        "replicas": 1, "serviceName": "x", "selector": {"matchLabels": {"app": "x"}}, "template": template}}));
    let rc: ReplicationController = typed(json!({"metadata": {"name": "rc"}, "spec": {
        "replicas": 1, "selector": {"app": "x"}, "template": template}}));

    let apps = cs.apps_v1();
    apps.replica_sets("default")
        .create(&rs, &CreateOptions::new())
        .await
        .expect("create rs");
    apps.stateful_sets("default")
        .create(&sts, &CreateOptions::new())
        .await
        .expect("create sts");
    cs.core_v1()
        .replication_controllers("default")
        .create(&rc, &CreateOptions::new())
        .await
        .expect("create rc");
    let two = Patch::Merge(json!({"spec": {"replicas": 2}}));
    let opts = PatchOptions::new();
    let rs_scale = apps
        .replica_sets("default")
        .patch_scale("rs", &two, &opts)
        .await;
    let sts_scale = apps
        .stateful_sets("default")
        .patch_scale("sts", &two, &opts)
        .await;
    let rc_scale = cs
        .core_v1()
        .replication_controllers("default")
        .patch_scale("rc", &two, &opts)
        .await;
    for (what, result) in [("rs", rs_scale), ("sts", sts_scale), ("rc", rc_scale)] {
        let scale = result.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(scale.spec.and_then(|s| s.replicas), Some(2), "{what}");
    }
    for path in [
        "/apis/apps/v1/namespaces/default/replicasets/rs/scale",
        "/apis/apps/v1/namespaces/default/statefulsets/sts/scale",
        "/api/v1/namespaces/default/replicationcontrollers/rc/scale",
    ] {
        assert!(last_request(&server, "PATCH", path).is_some(), "{path}");
    }
    let rc_scale = cs
        .core_v1()
        .replication_controllers("default")
        .get_scale("rc")
        .await
        .expect("rc scale");
    assert!(rc_scale.status.is_some());
    server.shutdown().await;
}
