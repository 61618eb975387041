//! Server-side printing: Table and PartialObjectMetadata(List), chosen by Accept.

mod common;
use common::*;
use serde_json::json;

const KUBECTL_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
const PODS: &str = "/api/v1/namespaces/default/pods";

fn sample(name: &str) -> serde_json::Value {
    let p = format!(
        "{}/tests/fixtures/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}")))
        .unwrap()
}

#[tokio::test]
async fn pods_print_as_the_real_table() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let mut p = pod("web", json!({"app": "web"}));
    p["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80}]);
    assert_eq!(http.post(PODS, &p).await.status, 201);
    let t = http.get_accept(PODS, KUBECTL_ACCEPT).await;
    assert_eq!(t.status, 200);
    let t = t.json();
    let want = sample("table-pods.json");
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(t["columnDefinitions"], want["columnDefinitions"]);
    let row = &t["rows"][0];
    // Every cell as recorded but the age, which depends on the clock.
    let mut cells = row["cells"].clone();
    cells[4] = want["rows"][0]["cells"][4].clone();
    assert_eq!(cells, want["rows"][0]["cells"]);
    assert!(row["cells"][4].as_str().unwrap().ends_with('s'));
    assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(row["object"]["metadata"]["name"], "web");
    assert!(row["object"].get("spec").is_none());
    // includeObject=Object embeds the whole pod; None leaves it out.
    let t = http
        .get_accept(&format!("{PODS}?includeObject=Object"), KUBECTL_ACCEPT)
        .await
        .json();
    assert_eq!(t["rows"][0]["object"]["kind"], "Pod");
    assert!(t["rows"][0]["object"]["spec"].is_object());
    let t = http
        .get_accept(&format!("{PODS}?includeObject=None"), KUBECTL_ACCEPT)
        .await
        .json();
    assert!(t["rows"][0].get("object").is_none());
    // One object prints as a one-row table.
    let t = http
        .get_accept(&format!("{PODS}/web"), KUBECTL_ACCEPT)
        .await
        .json();
    assert_eq!(t["rows"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn partial_object_metadata() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let list_accept = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io";
    let empty = http.get_accept(PODS, list_accept).await.json();
    assert_eq!(empty["kind"], "PartialObjectMetadataList");
    assert_eq!(empty["items"], serde_json::Value::Null);
    http.post(PODS, &pod("web", json!({"app": "web"}))).await;
    let list = http.get_accept(PODS, list_accept).await.json();
    let want = sample("partial-metadata-list-pods.json");
    assert_eq!(list["apiVersion"], want["apiVersion"]);
    assert_eq!(list["items"][0]["kind"], "PartialObjectMetadata");
    assert_eq!(list["items"][0]["metadata"]["name"], "web");
    let one = http
        .get_accept(
            &format!("{PODS}/web"),
            "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io",
        )
        .await
        .json();
    assert_eq!(one["kind"], "PartialObjectMetadata");
    assert_eq!(one["metadata"]["labels"], json!({"app": "web"}));
    // Nothing acceptable: 406.
    let res = http
        .get_accept(
            PODS,
            "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io",
        )
        .await;
    assert_eq!(res.status, 406);
}

#[tokio::test]
async fn common_kinds_have_their_columns() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    server
        .seed(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}}))
        .unwrap();
    server
        .seed(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}}))
        .unwrap();
    let mut cm = configmap("cfg");
    cm["metadata"]["namespace"] = json!("default");
    server.seed(cm).unwrap();
    let header = |t: &serde_json::Value| -> Vec<String> {
        t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let d = http
        .get_accept(
            "/apis/apps/v1/namespaces/default/deployments",
            KUBECTL_ACCEPT,
        )
        .await
        .json();
    assert_eq!(
        header(&d),
        [
            "Name",
            "Ready",
            "Up-to-date",
            "Available",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ]
    );
    assert_eq!(d["rows"][0]["cells"][1], "0/2");
    assert_eq!(d["rows"][0]["cells"][7], "app=web");
    let s = http
        .get_accept("/api/v1/namespaces/default/services", KUBECTL_ACCEPT)
        .await
        .json();
    assert_eq!(s["rows"][0]["cells"][1], "ClusterIP");
    assert_eq!(s["rows"][0]["cells"][3], "<none>");
    assert_eq!(s["rows"][0]["cells"][4], "80/TCP");
    let c = http
        .get_accept("/api/v1/namespaces/default/configmaps", KUBECTL_ACCEPT)
        .await
        .json();
    assert_eq!(header(&c), ["Name", "Data", "Age"]);
    assert_eq!(c["rows"][0]["cells"][1], 1);
    let n = http
        .get_accept("/api/v1/namespaces", KUBECTL_ACCEPT)
        .await
        .json();
    assert_eq!(header(&n), ["Name", "Status", "Age"]);
    // Kinds without a printer: Name and Created At.
    let r = http
        .get_accept(
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            KUBECTL_ACCEPT,
        )
        .await
        .json();
    assert_eq!(header(&r), ["Name", "Created At"]);
}

#[tokio::test]
async fn secrets_and_workloads_have_their_columns() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let res = http
        .post(
            "/api/v1/namespaces/default/secrets",
            &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"a": "b"}}),
        )
        .await;
    assert_eq!(res.status, 201);
    // stringData is folded into data, and the type defaults to Opaque.
    let secret = res.json();
    assert_eq!(secret["data"], json!({"a": "Yg=="}));
    assert_eq!(secret["type"], "Opaque");
    assert!(secret.get("stringData").is_none());
    let t = http
        .get_accept("/api/v1/namespaces/default/secrets", KUBECTL_ACCEPT)
        .await
        .json();
    assert_eq!(
        t["rows"][0]["cells"],
        json!(["s", "Opaque", 1, t["rows"][0]["cells"][3]])
    );
    server
        .seed(json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "default"},
            "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                "template": {"metadata": {"labels": {"app": "db"}},
                    "spec": {"containers": [{"name": "pg", "image": "postgres:16"}]}}}}))
        .unwrap();
    let t = http
        .get_accept(
            "/apis/apps/v1/namespaces/default/statefulsets",
            KUBECTL_ACCEPT,
        )
        .await
        .json();
    let cells = &t["rows"][0]["cells"];
    assert_eq!(cells[0], "db");
    assert_eq!(cells[1], "0/2");
    assert_eq!(cells[3], "pg");
    assert_eq!(cells[4], "postgres:16");
}

#[tokio::test]
async fn events_and_jobs_have_their_columns() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    server
        .seed(json!({"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "web.1", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{nginx}"},
            "reason": "Pulled", "message": "pulled ", "type": "Normal",
            "source": {"component": "kubelet", "host": "node-1"}, "count": 3,
            "firstTimestamp": "2020-01-01T00:00:00Z", "lastTimestamp": "2020-01-01T00:00:00Z"}))
        .unwrap();
    let t = http
        .get_accept("/api/v1/namespaces/default/events", KUBECTL_ACCEPT)
        .await
        .json();
    let cells = &t["rows"][0]["cells"];
    assert_eq!(cells[1], "Normal");
    assert_eq!(cells[3], "pod/web");
    assert_eq!(cells[4], "spec.containers{nginx}");
    assert_eq!(cells[5], "kubelet, node-1");
    assert_eq!(cells[6], "pulled");
    assert_eq!(cells[8], 3);
    assert_eq!(cells[9], "web.1");
    server
        .seed(json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "pi", "namespace": "default"},
            "spec": {"completions": 2, "template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "pi", "image": "perl:5.34"}]}}}}))
        .unwrap();
    let t = http
        .get_accept("/apis/batch/v1/namespaces/default/jobs", KUBECTL_ACCEPT)
        .await
        .json();
    let cells = &t["rows"][0]["cells"];
    assert_eq!(cells[1], "Running");
    assert_eq!(cells[2], "0/2");
    assert_eq!(cells[5], "pi");
    // The Job got its defaults and a generated selector on its UID.
    let job = http
        .get("/apis/batch/v1/namespaces/default/jobs/pi")
        .await
        .json();
    let uid = job["metadata"]["uid"].as_str().unwrap();
    assert_eq!(
        cells[7],
        format!("batch.kubernetes.io/controller-uid={uid}")
    );
    assert_eq!(job["spec"]["parallelism"], 1);
    assert_eq!(job["spec"]["backoffLimit"], 6);
    assert_eq!(job["spec"]["completionMode"], "NonIndexed");
    assert_eq!(
        job["spec"]["template"]["metadata"]["labels"]["job-name"],
        "pi"
    );
    assert_eq!(
        job["metadata"]["labels"]["batch.kubernetes.io/job-name"],
        "pi"
    );
}
