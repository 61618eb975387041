//! CustomResourceDefinitions: served at every served version, in discovery, with
//! their declared subresources, and gone with their objects when the CRD is deleted.

mod common;
use common::*;
use serde_json::{Value, json};

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const WIDGETS: &str = "/apis/example.com/v1/namespaces/default/widgets";

fn widget_crd() -> Value {
    let schema = json!({"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}});
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [
                {"name": "v1beta1", "served": true, "storage": false, "schema": schema},
                {"name": "v1", "served": true, "storage": true, "schema": schema,
                 "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.size",
                    "statusReplicasPath": ".status.size", "labelSelectorPath": ".status.selector"}},
                 "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}]}]}})
}

async fn with_crd() -> (TestServer, Http) {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let res = http.post(CRDS, &widget_crd()).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    (server, http)
}

fn widget(name: &str, size: i64) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": {"size": size}})
}

#[tokio::test]
async fn a_crd_is_established_and_discoverable() {
    let (_s, http) = with_crd().await;
    let crd = http
        .get(&format!("{CRDS}/widgets.example.com"))
        .await
        .json();
    let conditions = crd["status"]["conditions"].as_array().unwrap();
    assert!(
        conditions
            .iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True")
    );
    assert!(
        conditions
            .iter()
            .any(|c| c["type"] == "NamesAccepted" && c["status"] == "True")
    );
    assert_eq!(crd["status"]["acceptedNames"]["kind"], "Widget");
    assert_eq!(crd["status"]["acceptedNames"]["listKind"], "WidgetList");
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));

    let group = http.get("/apis/example.com").await.json();
    assert_eq!(group["preferredVersion"]["version"], "v1");
    let list = http.get("/apis/example.com/v1").await.json();
    let names: Vec<&str> = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["widgets", "widgets/status", "widgets/scale"]);
    assert_eq!(list["resources"][0]["shortNames"], json!(["wd"]));
    let agg = http
        .get_accept(
            "/apis",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
        )
        .await
        .json();
    let g = agg["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["metadata"]["name"] == "example.com")
        .expect("group in aggregated discovery");
    assert_eq!(g["versions"][0]["version"], "v1");
    assert_eq!(g["versions"][1]["version"], "v1beta1");
}

#[tokio::test]
async fn custom_objects_are_served_at_every_version() {
    let (_s, http) = with_crd().await;
    let res = http.post(WIDGETS, &widget("w1", 3)).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let w = res.json();
    assert_eq!(w["metadata"]["generation"], 1);
    let old = http
        .get("/apis/example.com/v1beta1/namespaces/default/widgets/w1")
        .await
        .json();
    assert_eq!(old["apiVersion"], "example.com/v1beta1");
    assert_eq!(old["spec"]["size"], 3);
    let list = http.get("/apis/example.com/v1/widgets").await.json();
    assert_eq!(list["kind"], "WidgetList");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // Status is a subresource: the main resource ignores it.
    let mut w = http.get(&format!("{WIDGETS}/w1")).await.json();
    w["status"] = json!({"size": 3, "selector": "app=w"});
    let res = http.put(&format!("{WIDGETS}/w1"), &w).await;
    assert_eq!(res.status, 200);
    assert!(res.json().get("status").is_none());
    let res = http.put(&format!("{WIDGETS}/w1/status"), &w).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["status"]["size"], 3);

    // Scale through the declared paths.
    let scale = http.get(&format!("{WIDGETS}/w1/scale")).await.json();
    assert_eq!(scale["spec"]["replicas"], 3);
    assert_eq!(scale["status"], json!({"replicas": 3, "selector": "app=w"}));
    let res = http
        .send(
            "PATCH",
            &format!("{WIDGETS}/w1/scale"),
            "application/merge-patch+json",
            r#"{"spec":{"replicas":7}}"#,
        )
        .await;
    assert_eq!(res.status, 200);
    let w = http.get(&format!("{WIDGETS}/w1")).await.json();
    assert_eq!(w["spec"]["size"], 7);
    assert_eq!(w["metadata"]["generation"], 2);

    // Strategic merge patch needs a Go type: 415 for custom resources.
    let res = http
        .send(
            "PATCH",
            &format!("{WIDGETS}/w1"),
            "application/strategic-merge-patch+json",
            r#"{"spec":{"size":1}}"#,
        )
        .await;
    assert_eq!(res.status, 415);
    assert_eq!(res.json()["reason"], "UnsupportedMediaType");
    let res = http
        .send(
            "PATCH",
            &format!("{WIDGETS}/w1"),
            "application/merge-patch+json",
            r#"{"spec":{"size":1}}"#,
        )
        .await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn deleting_the_crd_removes_the_resource_and_its_objects() {
    let (_s, http) = with_crd().await;
    assert_eq!(http.post(WIDGETS, &widget("w1", 1)).await.status, 201);
    let res = http.delete(&format!("{CRDS}/widgets.example.com")).await;
    assert_eq!(res.status, 200);
    assert_eq!(http.get(WIDGETS).await.status, 404);
    assert_eq!(http.get("/apis/example.com/v1").await.status, 404);
    // Defined again, it starts empty.
    assert_eq!(http.post(CRDS, &widget_crd()).await.status, 201);
    let list = http.get(WIDGETS).await.json();
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn cluster_scoped_crds_and_invalid_ones() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let mut crd = widget_crd();
    crd["metadata"]["name"] = json!("gadgets.example.com");
    crd["spec"]["scope"] = json!("Cluster");
    crd["spec"]["names"] = json!({"plural": "gadgets", "kind": "Gadget"});
    let res = http.post(CRDS, &crd).await;
    assert_eq!(res.status, 201);
    assert_eq!(res.json()["spec"]["names"]["singular"], "gadget");
    let g = json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}});
    assert_eq!(
        http.post("/apis/example.com/v1/gadgets", &g).await.status,
        201
    );
    assert_eq!(
        http.get("/apis/example.com/v1/namespaces/default/gadgets/g")
            .await
            .status,
        404
    );
    // The name must be <plural>.<group>.
    let mut bad = widget_crd();
    bad["metadata"]["name"] = json!("wrong.example.com");
    let res = http.post(CRDS, &bad).await;
    assert_eq!(res.status, 422);
    assert_eq!(res.json()["reason"], "Invalid");
    // Seeding a CRD works as well, and so does seeding its objects after it.
    server.seed(widget_crd()).unwrap();
    let mut w = widget("seeded", 2);
    w["metadata"]["namespace"] = json!("default");
    server.seed(w).unwrap();
}

#[tokio::test]
async fn crd_group_versions_are_in_openapi_v3() {
    let (_s, http) = with_crd().await;
    let index = http.get("/openapi/v3").await.json();
    let url = index["paths"]["apis/example.com/v1"]["serverRelativeURL"]
        .as_str()
        .expect("CRD group-version in the index")
        .to_owned();
    assert!(index["paths"]["apis/apps/v1"].is_object());
    let doc = http.get(&url).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.header("cache-control"), "public, immutable");
    let doc = doc.json();
    let schema = &doc["components"]["schemas"]["com.example.v1.Widget"];
    assert_eq!(
        schema["x-kubernetes-group-version-kind"],
        json!([{"group": "example.com", "version": "v1", "kind": "Widget"}])
    );
    let patch =
        &doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        json!({"group": "example.com", "version": "v1", "kind": "Widget"})
    );
    assert!(
        patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation")
    );
    assert!(
        patch["requestBody"]["content"]
            .get("application/strategic-merge-patch+json")
            .is_none()
    );
    // Gone with the CRD.
    http.delete(&format!("{CRDS}/widgets.example.com")).await;
    let index = http.get("/openapi/v3").await.json();
    assert!(index["paths"].get("apis/example.com/v1").is_none());
}

#[tokio::test]
async fn without_a_status_subresource_status_is_ordinary_data() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let mut crd = widget_crd();
    crd["spec"]["versions"] = json!([{"name": "v1", "served": true, "storage": true,
        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]);
    assert_eq!(http.post(CRDS, &crd).await.status, 201);
    assert_eq!(http.post(WIDGETS, &widget("w1", 1)).await.status, 201);
    let mut w = http.get(&format!("{WIDGETS}/w1")).await.json();
    w["status"] = json!({"ok": true});
    let res = http.put(&format!("{WIDGETS}/w1"), &w).await;
    assert_eq!(res.status, 200);
    let w = res.json();
    assert_eq!(w["status"], json!({"ok": true}));
    assert_eq!(w["metadata"]["generation"], 2);
    assert_eq!(http.get(&format!("{WIDGETS}/w1/status")).await.status, 404);
}

#[tokio::test]
async fn watches_of_a_deleted_crd_resource_end() {
    use http_body_util::BodyExt as _;
    let (_s, http) = with_crd().await;
    assert_eq!(http.post(WIDGETS, &widget("w1", 1)).await.status, 201);
    let res = http
        .start("GET", &format!("{WIDGETS}?watch=true"), &[], "")
        .await;
    assert_eq!(res.status(), 200);
    http.delete(&format!("{CRDS}/widgets.example.com")).await;
    // The stream reports the objects' deletion and then ends.
    let body = tokio::time::timeout(std::time::Duration::from_secs(5), res.into_body().collect())
        .await
        .expect("the watch ends")
        .expect("body")
        .to_bytes();
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("\"type\":\"ADDED\""), "{text}");
    assert!(text.contains("\"type\":\"DELETED\""), "{text}");
}

#[tokio::test]
async fn a_new_storage_version_is_added_to_stored_versions_which_must_stay_listed() {
    let (_s, http) = with_crd().await;
    let url = format!("{CRDS}/widgets.example.com");
    let crd = http.get(&url).await.json();
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));
    // Objects written at v1 are read at v1beta1 as they are (conversion strategy None).
    assert_eq!(http.post(WIDGETS, &widget("w1", 3)).await.status, 201);

    // v1beta1 becomes the storage version: it joins v1 in storedVersions.
    let mut crd = http.get(&url).await.json();
    crd["spec"]["versions"][0]["storage"] = json!(true);
    crd["spec"]["versions"][1]["storage"] = json!(false);
    let res = http.put(&url, &crd).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(
        res.json()["status"]["storedVersions"],
        json!(["v1", "v1beta1"])
    );
    let w = http
        .get("/apis/example.com/v1beta1/namespaces/default/widgets/w1")
        .await
        .json();
    assert_eq!(
        (w["apiVersion"].as_str(), w["spec"]["size"].as_i64()),
        (Some("example.com/v1beta1"), Some(3))
    );

    // v1 may not leave spec.versions while objects may be stored at it.
    let mut crd = res.json();
    let v1beta1 = crd["spec"]["versions"][0].clone();
    crd["spec"]["versions"] = json!([v1beta1]);
    let res = http.put(&url, &crd).await;
    assert_eq!(res.status, 422, "{}", String::from_utf8_lossy(&res.body));
    let status = res.json();
    assert_eq!(
        status["details"]["causes"][0]["field"],
        "status.storedVersions[0]"
    );
    assert_eq!(
        status["details"]["causes"][0]["message"],
        "Invalid value: \"v1\": must appear in spec.versions"
    );
}
