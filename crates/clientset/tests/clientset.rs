//! The clientset as a whole: accessors across groups sharing one client and one rate
//! limiter, and the generic `Api<K>` over a user's own custom resource.

mod common;

use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{ListableResource, Metadata, NamespaceResourceScope, Resource};
use kubecto_clientset::{Api, ApplyOptions, Clientset, HasScale, HasStatus, Patch};
use kubecto_rest_core::{
    Config, CreateOptions, DeleteOptions, GroupVersion, ListOptions, PatchOptions, RestClient,
    UpdateOptions,
};
use kubecto_testserver::TestServer;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[tokio::test]
async fn one_rate_limiter_for_every_group() {
    let server = TestServer::start().await.expect("test server");
    // 10 requests a second, burst 1: six requests need at least half a second if, and
    // only if, the core and apps clients share the limiter.
    let cs = Clientset::new(Config::new(server.url()).with_rate_limit(10.0, 1)).expect("cs");
    let core = cs.core_v1();
    let apps = cs.apps_v1();
    let start = Instant::now();
    for _ in 0..3 {
        core.pods("default")
            .list(&ListOptions::new())
            .await
            .expect("pods");
        apps.deployments("default")
            .list(&ListOptions::new())
            .await
            .expect("deployments");
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(450),
        "{elapsed:?}: limiter not shared"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn any_config_group_version_and_an_existing_client() {
    let server = TestServer::start().await.expect("test server");
    // A config aimed at apps/v1 still reaches /api/v1 for pods: every request names its
    // own group-version path.
    let config = Config::new(server.url())
        .with_api_path("apis")
        .with_group_version(GroupVersion::new("apps", "v1"));
    let client = RestClient::new(config).expect("client");
    let cs = Clientset::from_client(client);
    cs.core_v1()
        .pods("default")
        .list(&ListOptions::new())
        .await
        .expect("pods");
    assert_eq!(
        server.request_count("GET", "/api/v1/namespaces/default/pods"),
        1
    );
    // Accessors across groups, named by client-go's rule.
    cs.rbac_v1()
        .cluster_roles()
        .list(&ListOptions::new())
        .await
        .expect("clusterroles");
    cs.networking_v1()
        .network_policies("default")
        .list(&ListOptions::new())
        .await
        .expect("networkpolicies");
    cs.storage_v1()
        .csi_drivers()
        .list(&ListOptions::new())
        .await
        .expect("csidrivers");
    cs.batch_v1()
        .cron_jobs_all_namespaces()
        .list(&ListOptions::new())
        .await
        .expect("cronjobs");
    for path in [
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies",
        "/apis/storage.k8s.io/v1/csidrivers",
        "/apis/batch/v1/cronjobs",
    ] {
        assert_eq!(server.request_count("GET", path), 1, "{path}");
    }
    server.shutdown().await;
}

/// A user's own custom resource: serde plus four small trait impls.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Widget {
    #[serde(default = "Widget::api_version_default")]
    api_version: String,
    #[serde(default = "Widget::kind_default")]
    kind: String,
    metadata: ObjectMeta,
    spec: WidgetSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<WidgetStatus>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct WidgetSpec {
    size: i32,
    #[serde(default)]
    replicas: i32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct WidgetStatus {
    ready: bool,
}

impl Widget {
    fn api_version_default() -> String {
        <Self as Resource>::API_VERSION.to_owned()
    }
    fn kind_default() -> String {
        <Self as Resource>::KIND.to_owned()
    }
    fn new(name: &str, size: i32) -> Self {
        Self {
            api_version: Self::api_version_default(),
            kind: Self::kind_default(),
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                ..Default::default()
            },
            spec: WidgetSpec { size, replicas: 1 },
            status: None,
        }
    }
}

impl Resource for Widget {
    const API_VERSION: &'static str = "example.com/v1";
    const GROUP: &'static str = "example.com";
    const KIND: &'static str = "Widget";
    const VERSION: &'static str = "v1";
    const URL_PATH_SEGMENT: &'static str = "widgets";
    type Scope = NamespaceResourceScope;
}

impl ListableResource for Widget {
    const LIST_KIND: &'static str = "WidgetList";
}

impl Metadata for Widget {
    type Ty = ObjectMeta;
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl HasStatus for Widget {}
impl HasScale for Widget {}

async fn install_widget_crd(cs: &Clientset) {
    let crd = common::typed(json!({
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {
                    "status": {},
                    "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}
                }
            }]
        }
    }));
    cs.apiextensions_v1()
        .custom_resource_definitions()
        .create(&crd, &CreateOptions::new())
        .await
        .expect("create the CRD");
}

#[tokio::test]
async fn a_custom_resource_through_api() {
    let (server, cs) = common::start().await;
    install_widget_crd(&cs).await;
    let widgets: Api<Widget> = cs.namespaced("default");

    let created = widgets
        .create(&Widget::new("w1", 3), &CreateOptions::new())
        .await
        .expect("create widget");
    assert_eq!(created.spec.size, 3);
    assert!(
        common::last_request(
            &server,
            "POST",
            "/apis/example.com/v1/namespaces/default/widgets"
        )
        .is_some()
    );

    let mut got = widgets.get("w1").await.expect("get");
    got.spec.size = 4;
    let updated = widgets
        .update(&got, &UpdateOptions::new())
        .await
        .expect("update");
    assert_eq!(updated.spec.size, 4);

    let merged = widgets
        .patch(
            "w1",
            &Patch::Merge(json!({"spec": {"size": 5}})),
            &PatchOptions::new(),
        )
        .await
        .expect("merge patch");
    assert_eq!(merged.spec.size, 5);
    // Custom resources have no strategic merge patch: the server says 415.
    let err = widgets
        .patch(
            "w1",
            &Patch::Strategic(json!({"spec": {"size": 6}})),
            &PatchOptions::new(),
        )
        .await
        .expect_err("strategic on a CR");
    assert_eq!(err.code(), Some(415), "{err}");

    let mut with_status = merged.clone();
    with_status.status = Some(WidgetStatus { ready: true });
    let status = widgets
        .update_status(&with_status, &UpdateOptions::new())
        .await
        .expect("update status");
    assert_eq!(status.status, Some(WidgetStatus { ready: true }));
    assert!(
        common::last_request(
            &server,
            "PUT",
            "/apis/example.com/v1/namespaces/default/widgets/w1/status"
        )
        .is_some()
    );

    let scale = widgets
        .patch_scale(
            "w1",
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
            &PatchOptions::new(),
        )
        .await
        .expect("scale a widget");
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(4));
    assert_eq!(widgets.get("w1").await.expect("get").spec.replicas, 4);

    let applied = widgets
        .apply(&Widget::new("w2", 9), &ApplyOptions::new("tests"))
        .await
        .expect("apply creates");
    assert_eq!(applied.spec.size, 9);

    let list = widgets.list(&ListOptions::new()).await.expect("list");
    let names: Vec<_> = list
        .items
        .iter()
        .filter_map(|w| w.metadata.name.clone())
        .collect();
    assert_eq!(names, ["w1", "w2"]);

    widgets
        .delete("w1", &DeleteOptions::new())
        .await
        .expect("delete");
    widgets
        .delete_collection(&DeleteOptions::new(), &ListOptions::new())
        .await
        .expect("delete collection");
    assert!(
        widgets
            .list(&ListOptions::new())
            .await
            .expect("list")
            .items
            .is_empty()
    );
    server.shutdown().await;
}
