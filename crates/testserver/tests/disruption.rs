//! PodDisruptionBudgets on eviction: `POST pods/{name}/eviction` deletes the pod unless
//! the budget that selects it allows no disruption, computed as the disruption
//! controller would from the pods that are Ready and their controllers' replicas; then
//! it answers kube-apiserver's 429 with a `DisruptionBudget` cause.

mod common;
use common::*;
use serde_json::{Value, json};

const PODS: &str = "/api/v1/namespaces/default/pods";
const PDBS: &str = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";

/// A Running pod labelled `app: web`, Ready or not, with optional owner references.
fn pod(name: &str, ready: bool, owners: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"},
            "ownerReferences": owners},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
        "status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}})
}

async fn pdb(http: &Http, name: &str, spec: Value) {
    let mut spec = spec;
    spec["selector"] = json!({"matchLabels": {"app": "web"}});
    let body = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": name}, "spec": spec});
    let res = http.post(PDBS, &body).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
}

async fn evict(http: &Http, name: &str) -> Answer {
    http.post(
        &format!("{PODS}/{name}/eviction"),
        &json!({"apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": name, "namespace": "default"}}),
    )
    .await
}

async fn exists(http: &Http, name: &str) -> bool {
    http.get(&format!("{PODS}/{name}")).await.status == 200
}

fn refused(needs: i64, has: i64) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Cannot evict pod as it would violate the pod's disruption budget.",
        "reason": "TooManyRequests",
        "details": {"causes": [{"reason": "DisruptionBudget",
            "message": format!("The disruption budget web needs {needs} healthy pods and has {has} currently")}]},
        "code": 429})
}

#[tokio::test]
async fn min_available_refuses_the_eviction_that_would_break_it() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    for name in ["a", "b", "c"] {
        server.seed(pod(name, true, json!([]))).unwrap();
    }
    pdb(&http, "web", json!({"minAvailable": 2})).await;
    // Three healthy, two needed: one may go.
    let res = evict(&http, "a").await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(
        res.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
    );
    assert!(!exists(&http, "a").await);
    // Two healthy, two needed: refused, and the pod stays.
    let res = evict(&http, "b").await;
    assert_eq!(res.status, 429);
    assert_eq!(res.header("retry-after"), "", "no Retry-After, as upstream");
    assert_eq!(res.json(), refused(2, 2));
    assert!(exists(&http, "b").await);
    // A pod the budget does not select is not held by it.
    let mut other = pod("other", true, json!([]));
    other["metadata"]["labels"] = json!({"app": "db"});
    server.seed(other).unwrap();
    assert_eq!(evict(&http, "other").await.status, 201);
}

#[tokio::test]
async fn unready_and_pending_pods_go_while_the_budget_holds() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    server.seed(pod("ready", true, json!([]))).unwrap();
    server.seed(pod("unready", false, json!([]))).unwrap();
    let mut pending = pod("pending", false, json!([]));
    pending["status"] = json!({"phase": "Pending"});
    server.seed(pending).unwrap();
    pdb(&http, "web", json!({"minAvailable": 1})).await;
    // The only healthy pod is needed.
    assert_eq!(evict(&http, "ready").await.json(), refused(1, 1));
    // An unready pod does not count: the budget is met without it (IfHealthyBudget).
    assert_eq!(evict(&http, "unready").await.status, 201);
    // A Pending pod is never held.
    assert_eq!(evict(&http, "pending").await.status, 201);
    assert!(exists(&http, "ready").await);
}

#[tokio::test]
async fn an_unhealthy_budget_holds_unready_pods_unless_always_allowed() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    server.seed(pod("u1", false, json!([]))).unwrap();
    server.seed(pod("u2", false, json!([]))).unwrap();
    pdb(&http, "web", json!({"minAvailable": 1})).await;
    // No healthy pod, one needed: even an unready pod is held.
    assert_eq!(evict(&http, "u1").await.json(), refused(1, 0));
    let res = http
        .send(
            "PATCH",
            &format!("{PDBS}/web"),
            "application/merge-patch+json",
            json!({"spec": {"unhealthyPodEvictionPolicy": "AlwaysAllow"}}).to_string(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(evict(&http, "u1").await.status, 201);
}

#[tokio::test]
async fn max_unavailable_counts_the_deployments_replicas() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let deployment = server
        .seed(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}}))
        .unwrap();
    let rs = server
        .seed(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-1", "namespace": "default",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                    "uid": deployment["metadata"]["uid"], "controller": true}]},
            "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}}))
        .unwrap();
    let owner = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1",
        "uid": rs["metadata"]["uid"], "controller": true}]);
    // Four replicas wanted, four running: one may be unavailable.
    for name in ["a", "b", "c", "d"] {
        server.seed(pod(name, true, owner.clone())).unwrap();
    }
    pdb(&http, "web", json!({"maxUnavailable": 1})).await;
    assert_eq!(evict(&http, "a").await.status, 201);
    assert_eq!(evict(&http, "b").await.json(), refused(3, 3));
    // As a percentage of the replicas (50% of 4, rounded up: 2 may be unavailable).
    http.delete(&format!("{PDBS}/web")).await;
    pdb(&http, "web", json!({"maxUnavailable": "50%"})).await;
    assert_eq!(evict(&http, "b").await.status, 201);
    assert_eq!(evict(&http, "c").await.json(), refused(2, 2));
}

#[tokio::test]
async fn a_percentage_without_a_controller_allows_nothing() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    for name in ["a", "b"] {
        server.seed(pod(name, true, json!([]))).unwrap();
    }
    // The controller cannot know the expected count of pods nobody owns: fail-safe.
    pdb(&http, "web", json!({"minAvailable": "10%"})).await;
    let res = evict(&http, "a").await;
    assert_eq!(res.status, 429);
    assert_eq!(
        res.json()["details"]["causes"][0]["reason"],
        "DisruptionBudget"
    );
}

#[tokio::test]
async fn two_budgets_for_one_pod_are_an_error() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    server.seed(pod("a", true, json!([]))).unwrap();
    pdb(&http, "one", json!({"minAvailable": 0})).await;
    pdb(&http, "two", json!({"minAvailable": 0})).await;
    let res = evict(&http, "a").await;
    assert_eq!(res.status, 500);
    assert_eq!(
        res.json()["message"],
        "Internal error occurred: This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
    );
    assert!(exists(&http, "a").await);
}
