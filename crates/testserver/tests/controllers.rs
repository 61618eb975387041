//! The opt-in built-in controllers (`TestServer::builder().controllers(true)`), each
//! checked by what a client sees over HTTP, waiting with a deadline for what they do
//! asynchronously. Field names, reasons and messages are those a real
//! kube-controller-manager v1.36 wrote (`/work/shared/k8s-reference/controllers/`).

mod common;

use std::time::{Duration, Instant};

use common::{Http, TestServer, configmap};
use serde_json::{Value, json};

/// How long anything a controller does may take, even on a loaded machine.
const DEADLINE: Duration = Duration::from_secs(10);

async fn server() -> (TestServer, Http) {
    let server = TestServer::builder()
        .controllers(true)
        .start()
        .await
        .unwrap();
    let http = Http::new(&server);
    (server, http)
}

/// Poll `path` until `done` holds for its answer (status, body); the last answer when it
/// does, a failure naming `what` and the last answer at the deadline.
async fn until(http: &Http, path: &str, what: &str, done: impl Fn(u16, &Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let res = http.get(path).await;
        let body = serde_json::from_slice(&res.body).unwrap_or(Value::Null);
        if done(res.status, &body) {
            return body;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{what}: not within {DEADLINE:?}; last answer {} {body:#}",
            res.status
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The first `n` events of a watch, or a failure at the deadline.
async fn read_events(res: http::Response<hyper::body::Incoming>, n: usize) -> Vec<Value> {
    use http_body_util::BodyExt as _;
    let mut body = res.into_body();
    let mut buf = Vec::new();
    let mut events = Vec::new();
    let start = Instant::now();
    while events.len() < n {
        let left = DEADLINE.saturating_sub(start.elapsed());
        let frame = tokio::time::timeout(left, body.frame())
            .await
            .unwrap_or_else(|_| panic!("{n} events not within {DEADLINE:?}: {events:#?}"))
            .expect("the watch ended")
            .expect("a body frame");
        if let Ok(data) = frame.into_data() {
            buf.extend_from_slice(&data);
        }
        while let Some(i) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=i).collect();
            events.push(serde_json::from_slice(&line).expect("an event"));
        }
    }
    events
}

async fn namespace(http: &Http, name: &str) {
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    assert_eq!(http.post("/api/v1/namespaces", &ns).await.status, 201);
}

#[tokio::test]
async fn every_namespace_gets_a_default_service_account_and_the_root_ca() {
    let (_server, http) = server().await;
    namespace(&http, "team").await;
    let sa = until(
        &http,
        "/api/v1/namespaces/team/serviceaccounts/default",
        "the default ServiceAccount",
        |s, _| s == 200,
    )
    .await;
    assert_eq!(sa["metadata"]["namespace"], "team");
    let cm = until(
        &http,
        "/api/v1/namespaces/team/configmaps/kube-root-ca.crt",
        "the kube-root-ca.crt ConfigMap",
        |s, _| s == 200,
    )
    .await;
    assert!(
        cm["data"]["ca.crt"]
            .as_str()
            .is_some_and(|c| c.starts_with("-----BEGIN CERTIFICATE-----")),
        "{cm:#}"
    );
    assert!(
        cm["metadata"]["annotations"]["kubernetes.io/description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Contains a CA bundle")),
    );
    assert_eq!(
        cm["metadata"]["managedFields"][0]["manager"],
        "kube-controller-manager"
    );
    // The namespaces there at start have them too, and a deleted one comes back.
    until(
        &http,
        "/api/v1/namespaces/kube-system/serviceaccounts/default",
        "kube-system's default ServiceAccount",
        |s, _| s == 200,
    )
    .await;
    let uid = sa["metadata"]["uid"].clone();
    assert_eq!(
        http.delete("/api/v1/namespaces/team/serviceaccounts/default")
            .await
            .status,
        200
    );
    until(
        &http,
        "/api/v1/namespaces/team/serviceaccounts/default",
        "a new default ServiceAccount",
        |s, b| s == 200 && b["metadata"]["uid"] != uid,
    )
    .await;

    // The kubernetes Service, with the first ClusterIP.
    let svc = http
        .get("/api/v1/namespaces/default/services/kubernetes")
        .await;
    assert_eq!(svc.status, 200);
    let svc = svc.json();
    assert_eq!(svc["spec"]["clusterIP"], "10.96.0.1");
    assert_eq!(svc["spec"]["clusterIPs"], json!(["10.96.0.1"]));
    assert_eq!(svc["spec"]["ports"][0]["name"], "https");
    assert_eq!(svc["spec"]["ports"][0]["port"], 443);
    assert_eq!(
        svc["metadata"]["labels"],
        json!({"component": "apiserver", "provider": "kubernetes"})
    );
}

#[tokio::test]
async fn a_deleted_namespace_terminates_while_its_content_goes_then_is_gone() {
    let (_server, http) = server().await;
    namespace(&http, "doomed").await;
    let cms = "/api/v1/namespaces/doomed/configmaps";
    assert_eq!(http.post(cms, &configmap("x")).await.status, 201);
    // A finalizer holds one object, so the namespace stays Terminating until it goes.
    let mut held = configmap("held");
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    assert_eq!(http.post(cms, &held).await.status, 201);

    let res = http.delete("/api/v1/namespaces/doomed").await;
    assert_eq!(res.status, 200);
    let ns = res.json();
    assert_eq!(ns["kind"], "Namespace");
    assert_eq!(ns["status"]["phase"], "Terminating");
    assert!(ns["metadata"]["deletionTimestamp"].is_string(), "{ns:#}");
    assert!(ns["metadata"].get("deletionGracePeriodSeconds").is_none());
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));

    // Creating inside is refused as the NamespaceLifecycle admission plugin refuses it.
    let res = http.post(cms, &configmap("late")).await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "configmaps \"late\" is forbidden: unable to create new content in namespace doomed because it is being terminated",
            "reason": "Forbidden",
            "details": {"name": "late", "kind": "configmaps", "causes": [{
                "reason": "NamespaceTerminating",
                "message": "namespace doomed is being terminated",
                "field": "metadata.namespace"}]},
            "code": 403,
        })
    );

    // The controller deletes the content and says what remains.
    let ns = until(
        &http,
        "/api/v1/namespaces/doomed",
        "conditions naming the remaining finalizer",
        |_, b| {
            b["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["reason"] == "SomeFinalizersRemain"))
        },
    )
    .await;
    assert_eq!(http.get(&format!("{cms}/x")).await.status, 404);
    let conditions = ns["status"]["conditions"].as_array().unwrap();
    let types: Vec<&str> = conditions
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "NamespaceDeletionDiscoveryFailure",
            "NamespaceDeletionGroupVersionParsingFailure",
            "NamespaceDeletionContentFailure",
            "NamespaceContentRemaining",
            "NamespaceFinalizersRemaining",
        ]
    );
    let remaining = &conditions[3];
    assert_eq!(remaining["status"], "True");
    assert_eq!(remaining["reason"], "SomeResourcesRemain");
    assert_eq!(
        remaining["message"],
        "Some resources are remaining: configmaps. has 1 resource instances"
    );
    assert_eq!(
        conditions[4]["message"],
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
    );
    assert_eq!(conditions[0]["status"], "False");
    assert_eq!(conditions[0]["reason"], "ResourcesDiscovered");
    assert_eq!(ns["status"]["phase"], "Terminating");

    // Releasing the finalizer lets the namespace go.
    let mut release = http.get(&format!("{cms}/held")).await.json();
    release["metadata"]["finalizers"] = json!([]);
    assert_eq!(http.put(&format!("{cms}/held"), &release).await.status, 200);
    let gone = until(
        &http,
        "/api/v1/namespaces/doomed",
        "the namespace gone",
        |s, _| s == 404,
    )
    .await;
    assert_eq!(gone["reason"], "NotFound");
    assert_eq!(gone["message"], "namespaces \"doomed\" not found");
}

#[tokio::test]
async fn without_controllers_a_namespace_passes_terminating_and_goes_at_once() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    namespace(&http, "quick").await;
    assert_eq!(
        http.post("/api/v1/namespaces/quick/configmaps", &configmap("x"))
            .await
            .status,
        201
    );
    // Nothing is made in namespaces without controllers.
    assert_eq!(
        http.get("/api/v1/namespaces/quick/serviceaccounts/default")
            .await
            .status,
        404
    );
    let watch = http
        .start(
            "GET",
            "/api/v1/namespaces?watch=true&fieldSelector=metadata.name%3Dquick&resourceVersion=0",
            &[],
            "",
        )
        .await;
    let res = http.delete("/api/v1/namespaces/quick").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["status"]["phase"], "Terminating");
    assert!(res.json()["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(http.get("/api/v1/namespaces/quick").await.status, 404);
    assert_eq!(
        http.get("/api/v1/namespaces/quick/configmaps/x")
            .await
            .status,
        404
    );
    // Watchers see it Terminating, then gone.
    let events = read_events(watch, 3).await;
    let seen: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default(),
                e["object"]["status"]["phase"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("ADDED", "Active"),
            ("MODIFIED", "Terminating"),
            ("DELETED", "Terminating")
        ]
    );
}
