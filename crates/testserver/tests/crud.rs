//! Create, get, update, delete and deletecollection with kube-apiserver's semantics.

mod common;
use common::*;
use serde_json::{Value, json};

const PODS: &str = "/api/v1/namespaces/default/pods";
const CMS: &str = "/api/v1/namespaces/default/configmaps";

fn sample(name: &str) -> Value {
    let p = format!(
        "{}/tests/fixtures/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[tokio::test]
async fn create_sets_server_fields_and_defaults() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let res = http.post(PODS, &pod("web", json!({"app": "web"}))).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let p = res.json();
    assert_eq!(p["kind"], "Pod");
    assert_eq!(p["apiVersion"], "v1");
    let m = &p["metadata"];
    assert_eq!(m["namespace"], "default");
    assert_eq!(m["uid"].as_str().unwrap().len(), 36);
    assert!(
        m["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    assert_eq!(m["generation"], 1);
    assert!(m["creationTimestamp"].as_str().unwrap().ends_with('Z'));
    let want = sample("create-pod-201-with-server-defaults.json");
    assert_eq!(p["spec"]["restartPolicy"], want["spec"]["restartPolicy"]);
    assert_eq!(p["spec"]["tolerations"], want["spec"]["tolerations"]);
    assert_eq!(p["status"], want["status"]);
    // GET returns the same object.
    let got = http.get(&format!("{PODS}/web")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json(), p);
}

#[tokio::test]
async fn generate_name_and_conflicts() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let body =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "cfg-"}});
    let a = http.post(CMS, &body).await.json();
    let b = http.post(CMS, &body).await.json();
    let (na, nb) = (
        a["metadata"]["name"].as_str().unwrap(),
        b["metadata"]["name"].as_str().unwrap(),
    );
    assert!(na.starts_with("cfg-") && na.len() == 9, "{na}");
    assert_ne!(na, nb);
    assert!(
        a["metadata"].get("generation").is_none(),
        "config maps carry no generation"
    );

    assert_eq!(http.post(PODS, &pod("web", json!({}))).await.status, 201);
    let dup = http.post(PODS, &pod("web", json!({}))).await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.json(), sample("create-pod-409-already-exists.json"));
}

#[tokio::test]
async fn bad_input_gets_the_right_status() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    // Missing namespace.
    let res = http
        .post(
            "/api/v1/namespaces/does-not-exist-xyz/pods",
            &pod("web", json!({})),
        )
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json(), sample("create-in-missing-namespace-404.json"));
    // Invalid name: 422 with causes, worded like kube-apiserver.
    let res = http.post(PODS, &pod("Bad_Name", json!({}))).await;
    assert_eq!(res.status, 422);
    assert_eq!(res.json(), sample("create-pod-422-invalid-name.json"));
    // Missing name.
    let res = http
        .post(
            CMS,
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
        )
        .await;
    assert_eq!(res.status, 422);
    assert_eq!(res.json()["details"]["causes"][0]["field"], "metadata.name");
    // Not JSON.
    let res = http
        .send("POST", PODS, "application/json", "{not json")
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["reason"], "BadRequest");
    // Wrong kind / apiVersion for the URL.
    let res = http.post(PODS, &configmap("x")).await;
    assert_eq!(res.status, 400);
    let mut wrong = pod("x", json!({}));
    wrong["apiVersion"] = json!("apps/v1");
    assert_eq!(http.post(PODS, &wrong).await.status, 400);
    // Namespace in the body contradicts the URL.
    let mut other_ns = configmap("x");
    other_ns["metadata"]["namespace"] = json!("kube-system");
    let res = http.post(CMS, &other_ns).await;
    assert_eq!(res.status, 400);
    assert!(
        res.json()["message"]
            .as_str()
            .unwrap()
            .contains("does not match the namespace")
    );
    // Unsupported media type (protobuf is served: tests/protobuf.rs).
    assert_eq!(http.send("POST", CMS, "text/plain", "x").await.status, 415);
    // Nothing was stored by any of these.
    let list = http.get(CMS).await.json();
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn get_missing_is_a_not_found_status() {
    let server = TestServer::start().await.unwrap();
    let res = Http::new(&server).get(&format!("{PODS}/missing")).await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json(), sample("get-pod-404-not-found.json"));
}

#[tokio::test]
async fn update_uses_optimistic_concurrency() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let created = http.post(CMS, &configmap("cfg")).await.json();
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut changed = created.clone();
    changed["data"]["k"] = json!("v2");
    let res = http.put(&format!("{CMS}/cfg"), &changed).await;
    assert_eq!(res.status, 200);
    let updated = res.json();
    assert_ne!(updated["metadata"]["resourceVersion"], json!(rv));
    assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);

    // The same stale resourceVersion again: 409 Conflict, nothing changes.
    changed["data"]["k"] = json!("v3");
    let res = http.put(&format!("{CMS}/cfg"), &changed).await;
    assert_eq!(res.status, 409);
    let want = sample("update-configmap-409-conflict.json");
    assert_eq!(res.json()["reason"], want["reason"]);
    assert_eq!(res.json()["message"], want["message"]);
    assert_eq!(
        http.get(&format!("{CMS}/cfg")).await.json()["data"]["k"],
        "v2"
    );

    // An update that changes nothing keeps the resourceVersion.
    let same = http.put(&format!("{CMS}/cfg"), &updated).await.json();
    assert_eq!(
        same["metadata"]["resourceVersion"],
        updated["metadata"]["resourceVersion"]
    );

    // Name in the body must match the URL; a missing object is 404.
    assert_eq!(
        http.put(&format!("{CMS}/other"), &updated).await.status,
        400
    );
    let mut ghost = updated.clone();
    ghost["metadata"]["name"] = json!("ghost");
    assert_eq!(http.put(&format!("{CMS}/ghost"), &ghost).await.status, 404);
}

#[tokio::test]
async fn status_subresource_and_generation() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let p = http
        .post(PODS, &pod("web", json!({"app": "web"})))
        .await
        .json();
    // A status change through the main resource is ignored.
    let mut main = p.clone();
    main["status"]["phase"] = json!("Running");
    let after = http.put(&format!("{PODS}/web"), &main).await.json();
    assert_eq!(after["status"]["phase"], "Pending");
    // Through /status it applies, and spec changes there are ignored.
    let mut st = after.clone();
    st["status"]["phase"] = json!("Running");
    st["spec"]["restartPolicy"] = json!("Never");
    st["metadata"]["labels"]["extra"] = json!("yes");
    let res = http.put(&format!("{PODS}/web/status"), &st).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let s = res.json();
    assert_eq!(s["status"]["phase"], "Running");
    assert_eq!(s["spec"]["restartPolicy"], "Always");
    assert_eq!(s["metadata"]["labels"]["extra"], "yes");
    assert_eq!(
        s["metadata"]["generation"], 1,
        "status changes do not bump generation"
    );
    // A spec change bumps generation.
    let mut spec = s.clone();
    spec["spec"]["activeDeadlineSeconds"] = json!(60);
    let g = http.put(&format!("{PODS}/web"), &spec).await.json();
    assert_eq!(g["metadata"]["generation"], 2);
}

#[tokio::test]
async fn delete_answers_as_kube_apiserver_does() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let cm = http.post(CMS, &configmap("cfg")).await.json();
    let res = http.delete(&format!("{CMS}/cfg")).await;
    assert_eq!(res.status, 200);
    let status = res.json();
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["status"], "Success");
    assert_eq!(status["details"]["uid"], cm["metadata"]["uid"]);
    assert_eq!(http.get(&format!("{CMS}/cfg")).await.status, 404);
    assert_eq!(http.delete(&format!("{CMS}/cfg")).await.status, 404);

    // A pod delete returns the object, marked for deletion.
    http.post(PODS, &pod("web", json!({}))).await;
    let res = http.delete(&format!("{PODS}/web")).await;
    assert_eq!(res.status, 200);
    let p = res.json();
    assert_eq!(p["kind"], "Pod");
    assert!(p["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 0);

    // Preconditions.
    http.post(CMS, &configmap("pre")).await;
    let body = json!({"preconditions": {"uid": "not-the-uid"}}).to_string();
    let res = http
        .send("DELETE", &format!("{CMS}/pre"), "application/json", body)
        .await;
    assert_eq!(res.status, 409);
    assert_eq!(http.get(&format!("{CMS}/pre")).await.status, 200);
}

#[tokio::test]
async fn finalizers_hold_an_object_until_removed() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let mut cm = configmap("held");
    cm["metadata"]["finalizers"] = json!(["example.com/hold"]);
    http.post(CMS, &cm).await;
    let res = http.delete(&format!("{CMS}/held")).await;
    assert_eq!(res.status, 200);
    let held = http.get(&format!("{CMS}/held")).await.json();
    assert!(held["metadata"]["deletionTimestamp"].is_string());
    let mut release = held.clone();
    release["metadata"]["finalizers"] = json!([]);
    assert_eq!(http.put(&format!("{CMS}/held"), &release).await.status, 200);
    assert_eq!(http.get(&format!("{CMS}/held")).await.status, 404);
}

#[tokio::test]
async fn deletecollection_and_namespace_deletion() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    for (name, tier) in [("a", "web"), ("b", "web"), ("c", "db")] {
        http.post(PODS, &pod(name, json!({"tier": tier}))).await;
    }
    let res = http
        .delete(&format!("{PODS}?labelSelector=tier%3Dweb"))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["kind"], "PodList");
    assert_eq!(res.json()["items"].as_array().unwrap().len(), 2);
    let left = http.get(PODS).await.json();
    assert_eq!(left["items"].as_array().unwrap().len(), 1);
    assert_eq!(left["items"][0]["metadata"]["name"], "c");

    // Deleting a namespace removes what is in it.
    http.post(
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}),
    )
    .await;
    http.post("/api/v1/namespaces/team/configmaps", &configmap("x"))
        .await;
    let res = http.delete("/api/v1/namespaces/team").await;
    assert_eq!(res.status, 200);
    assert_eq!(
        http.get("/api/v1/namespaces/team/configmaps/x")
            .await
            .status,
        404
    );
    assert_eq!(http.get("/api/v1/namespaces/team").await.status, 404);
}

#[tokio::test]
async fn cluster_scoped_resources_and_starting_namespaces() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let ns = http.get("/api/v1/namespaces").await.json();
    let names: Vec<&str> = ns["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["default", "kube-node-lease", "kube-public", "kube-system"]
    );
    assert_eq!(ns["items"][0]["status"]["phase"], "Active");
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}});
    let res = http.post("/api/v1/nodes", &node).await;
    assert_eq!(res.status, 201);
    assert!(res.json()["metadata"].get("namespace").is_none());
    // A cluster-scoped resource under a namespace path does not exist.
    assert_eq!(
        http.get("/api/v1/namespaces/default/nodes").await.status,
        404
    );
    let crb = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "reader"}, "rules": []});
    assert_eq!(
        http.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", &crb)
            .await
            .status,
        201
    );
    // A verb the resource does not have.
    assert_eq!(
        http.post(
            "/api/v1/componentstatuses",
            &json!({"apiVersion": "v1", "kind": "ComponentStatus", "metadata": {"name": "x"}})
        )
        .await
        .status,
        405
    );
}

#[tokio::test]
async fn kind_and_api_version_default_to_the_url() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let res = http
        .post(
            CMS,
            &json!({"metadata": {"name": "bare"}, "data": {"a": "1"}}),
        )
        .await;
    assert_eq!(res.status, 201);
    assert_eq!(res.json()["kind"], "ConfigMap");
    assert_eq!(res.json()["apiVersion"], "v1");
}
