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

fn items(list: &Value) -> Vec<Value> {
    list["items"].as_array().cloned().unwrap_or_default()
}

const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/default/deployments";
const REPLICASETS: &str = "/apis/apps/v1/namespaces/default/replicasets";
const PODS: &str = "/api/v1/namespaces/default/pods";

fn deployment(name: &str, replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "nginx", "image": image}]},
            },
        },
    })
}

fn condition<'a>(obj: &'a Value, kind: &str) -> &'a Value {
    obj["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == kind))
        .unwrap_or(&Value::Null)
}

async fn merge_patch(http: &Http, path: &str, patch: &Value) -> common::Answer {
    http.send(
        "PATCH",
        path,
        "application/merge-patch+json",
        patch.to_string(),
    )
    .await
}

#[tokio::test]
async fn a_deployment_runs_ready_pods_through_a_replica_set_scales_and_rolls_out() {
    let (_server, http) = server().await;
    let created = http
        .post(DEPLOYMENTS, &deployment("web", 2, "nginx:1.27"))
        .await;
    assert_eq!(created.status, 201);
    let created = created.json();
    let web = format!("{DEPLOYMENTS}/web");

    let d = until(&http, &web, "2 ready replicas", |_, d| {
        d["status"]["readyReplicas"] == 2
            && condition(d, "Progressing")["reason"] == "NewReplicaSetAvailable"
    })
    .await;
    let status = &d["status"];
    assert_eq!(status["observedGeneration"], 1);
    assert_eq!(status["replicas"], 2);
    assert_eq!(status["updatedReplicas"], 2);
    assert_eq!(status["availableReplicas"], 2);
    assert!(status.get("unavailableReplicas").is_none(), "{status:#}");
    assert_eq!(status["terminatingReplicas"], 0);
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    let available = condition(&d, "Available");
    assert_eq!(available["status"], "True");
    assert_eq!(available["reason"], "MinimumReplicasAvailable");
    assert_eq!(available["message"], "Deployment has minimum availability.");

    let rs = items(&http.get(REPLICASETS).await.json());
    assert_eq!(rs.len(), 1);
    let rs = &rs[0];
    let rs_name = rs["metadata"]["name"].as_str().unwrap().to_owned();
    let hash = rs["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .unwrap();
    assert_eq!(rs_name, format!("web-{hash}"));
    assert_eq!(
        condition(&d, "Progressing")["message"],
        format!("ReplicaSet \"{rs_name}\" has successfully progressed.")
    );
    assert_eq!(
        rs["spec"]["selector"]["matchLabels"],
        json!({"app": "web", "pod-template-hash": hash})
    );
    assert_eq!(
        rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"],
        hash
    );
    assert_eq!(
        rs["metadata"]["annotations"],
        json!({
            "deployment.kubernetes.io/desired-replicas": "2",
            "deployment.kubernetes.io/max-replicas": "3",
            "deployment.kubernetes.io/revision": "1",
        })
    );
    assert_eq!(
        rs["metadata"]["ownerReferences"],
        json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                "uid": d["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}])
    );
    assert_eq!(rs["status"]["replicas"], 2);
    assert_eq!(rs["status"]["readyReplicas"], 2);
    assert_eq!(rs["status"]["observedGeneration"], 1);

    let pods = items(&http.get(PODS).await.json());
    assert_eq!(pods.len(), 2);
    for pod in &pods {
        assert_eq!(pod["metadata"]["generateName"], format!("{rs_name}-"));
        assert_eq!(
            pod["metadata"]["labels"],
            json!({"app": "web", "pod-template-hash": hash})
        );
        assert_eq!(pod["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
        assert_eq!(
            pod["metadata"]["ownerReferences"][0]["name"],
            rs_name.as_str()
        );
        assert_eq!(pod["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(pod["spec"]["nodeName"], "testserver-node");
        assert_eq!(pod["status"]["phase"], "Running");
        assert!(
            pod["status"]["podIP"]
                .as_str()
                .is_some_and(|ip| ip.starts_with("10.244."))
        );
        assert_eq!(condition(pod, "Ready")["status"], "True");
        assert_eq!(pod["status"]["containerStatuses"][0]["ready"], true);
        assert!(pod["status"]["containerStatuses"][0]["state"]["running"].is_object());
    }
    let node = http.get("/api/v1/nodes/testserver-node").await;
    assert_eq!(node.status, 200);
    assert_eq!(condition(&node.json(), "Ready")["status"], "True");

    // A write with the resourceVersion of the create meets the controller's writes.
    let stale = http.put(&web, &created).await;
    assert_eq!(stale.status, 409);
    assert_eq!(
        stale.json(),
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply your changes to the latest version and try again",
            "reason": "Conflict",
            "details": {"name": "web", "group": "apps", "kind": "deployments"},
            "code": 409,
        })
    );

    // Scale to 3 through the scale subresource.
    let mut scale = http.get(&format!("{web}/scale")).await.json();
    scale["spec"]["replicas"] = json!(3);
    assert_eq!(http.put(&format!("{web}/scale"), &scale).await.status, 200);
    until(&http, &web, "3 ready replicas", |_, d| {
        d["status"]["readyReplicas"] == 3 && d["status"]["observedGeneration"] == 2
    })
    .await;
    let pods = items(&http.get(PODS).await.json());
    assert_eq!(pods.len(), 3, "{pods:#?}");

    // A new image rolls out: a second ReplicaSet takes over, the first goes to 0.
    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.28"}]}}}});
    assert_eq!(merge_patch(&http, &web, &patch).await.status, 200);
    let d = until(&http, &web, "the rollout done", |_, d| {
        d["status"]["observedGeneration"] == 3
            && d["status"]["updatedReplicas"] == 3
            && d["status"]["readyReplicas"] == 3
            && d["status"]["replicas"] == 3
    })
    .await;
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    let rs = items(&http.get(REPLICASETS).await.json());
    assert_eq!(rs.len(), 2);
    let new = rs
        .iter()
        .find(|r| r["metadata"]["name"] != rs_name.as_str())
        .unwrap();
    let old = rs
        .iter()
        .find(|r| r["metadata"]["name"] == rs_name.as_str())
        .unwrap();
    assert_eq!(
        new["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    assert_eq!(new["spec"]["replicas"], 3);
    assert_eq!(old["spec"]["replicas"], 0);
    let new_hash = new["metadata"]["labels"]["pod-template-hash"].clone();
    let pods = until(&http, PODS, "only new pods", |_, l| {
        let pods = items(l);
        pods.len() == 3
            && pods
                .iter()
                .all(|p| p["metadata"]["labels"]["pod-template-hash"] == new_hash)
    })
    .await;
    for pod in items(&pods) {
        assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:1.28");
    }
}

#[tokio::test]
async fn without_a_kubelet_pods_stay_pending_as_on_the_recorded_cluster() {
    let server = TestServer::builder()
        .controllers(true)
        .kubelet(false)
        .start()
        .await
        .unwrap();
    let http = Http::new(&server);
    assert_eq!(
        http.post(DEPLOYMENTS, &deployment("web", 2, "nginx:1.27"))
            .await
            .status,
        201
    );
    let d = until(
        &http,
        &format!("{DEPLOYMENTS}/web"),
        "the controller's status",
        |_, d| {
            d["status"]["updatedReplicas"] == 2
                && condition(d, "Progressing")["reason"] == "ReplicaSetUpdated"
        },
    )
    .await;
    let rs = items(&http.get(REPLICASETS).await.json());
    let rs_name = rs[0]["metadata"]["name"].as_str().unwrap();
    let mut status = d["status"].clone();
    for c in status["conditions"].as_array_mut().unwrap() {
        let c = c.as_object_mut().unwrap();
        assert!(c.remove("lastUpdateTime").unwrap().is_string());
        assert!(c.remove("lastTransitionTime").unwrap().is_string());
    }
    assert_eq!(
        status,
        json!({
            "observedGeneration": 1, "replicas": 2, "updatedReplicas": 2,
            "unavailableReplicas": 2, "terminatingReplicas": 0,
            "conditions": [
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
                 "message": "Deployment does not have minimum availability."},
                {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                 "message": format!("ReplicaSet \"{rs_name}\" is progressing.")},
            ],
        })
    );
    assert_eq!(
        rs[0]["status"],
        json!({"replicas": 2, "fullyLabeledReplicas": 2, "terminatingReplicas": 0, "observedGeneration": 1})
    );
    let pods = items(&http.get(PODS).await.json());
    assert_eq!(pods.len(), 2);
    for pod in &pods {
        assert_eq!(pod["status"]["phase"], "Pending");
        assert!(pod["spec"].get("nodeName").is_none());
    }
    assert_eq!(http.get("/api/v1/nodes/testserver-node").await.status, 404);
}

#[tokio::test]
async fn a_replica_set_replaces_deleted_pods_and_removes_extra_ones() {
    let (_server, http) = server().await;
    let rs = json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "cache"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "cache"}},
            "template": {"metadata": {"labels": {"app": "cache"}},
                         "spec": {"containers": [{"name": "redis", "image": "redis:7"}]}},
        },
    });
    assert_eq!(http.post(REPLICASETS, &rs).await.status, 201);
    let cache = format!("{REPLICASETS}/cache");
    until(&http, &cache, "2 ready pods", |_, r| {
        r["status"]["readyReplicas"] == 2
    })
    .await;
    let pods = items(&http.get(PODS).await.json());
    assert_eq!(pods.len(), 2);
    for pod in &pods {
        assert_eq!(pod["metadata"]["generateName"], "cache-");
        assert_eq!(pod["metadata"]["labels"], json!({"app": "cache"}));
    }
    // A deleted pod (it goes at once: the kubelet stops it) is replaced.
    let victim = pods[0]["metadata"]["name"].as_str().unwrap();
    assert_eq!(http.delete(&format!("{PODS}/{victim}")).await.status, 200);
    let list = until(&http, PODS, "a replacement", |_, l| {
        let pods = items(l);
        pods.len() == 2 && pods.iter().all(|p| p["metadata"]["name"] != victim)
    })
    .await;
    assert_eq!(items(&list).len(), 2);
    // Scaled down, it deletes the extra pod.
    assert_eq!(
        merge_patch(&http, &cache, &json!({"spec": {"replicas": 1}}))
            .await
            .status,
        200
    );
    until(&http, PODS, "one pod", |_, l| items(l).len() == 1).await;
    until(&http, &cache, "status of 1", |_, r| {
        r["status"]["replicas"] == 1 && r["status"]["observedGeneration"] == 2
    })
    .await;
}

const SLICES: &str = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices";
const ENDPOINTS: &str = "/api/v1/namespaces/default/endpoints";

fn service(name: &str, target_port: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name},
                 "ports": [{"name": "web", "port": 80, "targetPort": target_port}]},
    })
}

fn slices_of(list: &Value, service: &str) -> Vec<Value> {
    items(list)
        .into_iter()
        .filter(|s| s["metadata"]["labels"]["kubernetes.io/service-name"] == service)
        .collect()
}

#[tokio::test]
async fn a_service_gets_endpoint_slices_and_endpoints_of_its_ready_pods() {
    let (_server, http) = server().await;
    let mut d = deployment("web", 2, "nginx:1.27");
    d["spec"]["template"]["spec"]["containers"][0]["ports"] =
        json!([{"name": "http", "containerPort": 8080}]);
    assert_eq!(http.post(DEPLOYMENTS, &d).await.status, 201);
    let created = http
        .post(
            "/api/v1/namespaces/default/services",
            &service("web", json!("http")),
        )
        .await;
    assert_eq!(created.status, 201);
    let svc = created.json();

    let list = until(&http, SLICES, "a slice of 2 ready endpoints", |_, l| {
        slices_of(l, "web").first().is_some_and(|s| {
            s["endpoints"]
                .as_array()
                .is_some_and(|e| e.len() == 2 && e.iter().all(|e| e["conditions"]["ready"] == true))
        })
    })
    .await;
    let slices = slices_of(&list, "web");
    assert_eq!(slices.len(), 1, "{slices:#?}");
    let slice = &slices[0];
    assert_eq!(slice["metadata"]["generateName"], "web-");
    assert!(
        slice["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("web-")
    );
    assert_eq!(
        slice["metadata"]["labels"],
        json!({"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
               "kubernetes.io/service-name": "web"})
    );
    assert!(
        slice["metadata"]["annotations"]["endpoints.kubernetes.io/last-change-trigger-time"]
            .is_string()
    );
    assert_eq!(
        slice["metadata"]["ownerReferences"],
        json!([{"apiVersion": "v1", "kind": "Service", "name": "web",
                "uid": svc["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}])
    );
    assert_eq!(
        slice["metadata"]["managedFields"][0]["manager"],
        "kube-controller-manager"
    );
    assert_eq!(slice["addressType"], "IPv4");
    // The named target port resolves to the pods' container port.
    assert_eq!(
        slice["ports"],
        json!([{"name": "web", "protocol": "TCP", "port": 8080}])
    );
    let pods = items(&http.get(PODS).await.json());
    for e in slice["endpoints"].as_array().unwrap() {
        let pod = pods
            .iter()
            .find(|p| p["metadata"]["name"] == e["targetRef"]["name"])
            .expect("a pod of the slice");
        assert_eq!(e["addresses"], json!([pod["status"]["podIP"]]));
        assert_eq!(
            e["conditions"],
            json!({"ready": true, "serving": true, "terminating": false})
        );
        assert_eq!(
            e["targetRef"],
            json!({"kind": "Pod", "namespace": "default", "name": pod["metadata"]["name"],
                   "uid": pod["metadata"]["uid"]})
        );
        assert_eq!(e["nodeName"], "testserver-node");
    }

    let ep = until(
        &http,
        &format!("{ENDPOINTS}/web"),
        "Endpoints of 2 addresses",
        |_, e| {
            e["subsets"][0]["addresses"]
                .as_array()
                .is_some_and(|a| a.len() == 2)
        },
    )
    .await;
    assert_eq!(
        ep["metadata"]["labels"],
        json!({"endpoints.kubernetes.io/managed-by": "endpoint-controller"})
    );
    assert!(
        ep["metadata"]["annotations"]["endpoints.kubernetes.io/last-change-trigger-time"]
            .is_string()
    );
    let subset = &ep["subsets"][0];
    assert_eq!(
        subset["ports"],
        json!([{"name": "web", "port": 8080, "protocol": "TCP"}])
    );
    let ips: Vec<&str> = subset["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["ip"].as_str().unwrap())
        .collect();
    let mut sorted = ips.clone();
    sorted.sort_unstable();
    assert_eq!(ips, sorted);
    assert_eq!(subset["addresses"][0]["nodeName"], "testserver-node");
    assert_eq!(subset["addresses"][0]["targetRef"]["kind"], "Pod");
    assert!(subset.get("notReadyAddresses").is_none());

    // Scaled to 1, the endpoints follow.
    let web = format!("{DEPLOYMENTS}/web");
    assert_eq!(
        merge_patch(&http, &web, &json!({"spec": {"replicas": 1}}))
            .await
            .status,
        200
    );
    until(&http, SLICES, "a slice of 1 endpoint", |_, l| {
        slices_of(l, "web")
            .first()
            .is_some_and(|s| s["endpoints"].as_array().is_some_and(|e| e.len() == 1))
    })
    .await;
    until(
        &http,
        &format!("{ENDPOINTS}/web"),
        "Endpoints of 1 address",
        |_, e| {
            e["subsets"][0]["addresses"]
                .as_array()
                .is_some_and(|a| a.len() == 1)
        },
    )
    .await;

    // Deleted, the Service takes them along.
    assert_eq!(
        http.delete("/api/v1/namespaces/default/services/web")
            .await
            .status,
        200
    );
    until(&http, SLICES, "no slice of web", |_, l| {
        slices_of(l, "web").is_empty()
    })
    .await;
    until(
        &http,
        &format!("{ENDPOINTS}/web"),
        "no Endpoints of web",
        |s, _| s == 404,
    )
    .await;
}

#[tokio::test]
async fn without_a_kubelet_a_service_has_empty_endpoints_as_on_the_recorded_cluster() {
    let server = TestServer::builder()
        .controllers(true)
        .kubelet(false)
        .start()
        .await
        .unwrap();
    let http = Http::new(&server);
    assert_eq!(
        http.post(DEPLOYMENTS, &deployment("web", 2, "nginx:1.27"))
            .await
            .status,
        201
    );
    let mut svc = service("web", json!(80));
    svc["spec"]["ports"] = json!([{"port": 80, "targetPort": 80}]);
    let svc = http
        .post("/api/v1/namespaces/default/services", &svc)
        .await
        .json();
    let created = svc["metadata"]["creationTimestamp"].clone();
    let list = until(&http, SLICES, "the placeholder slice", |_, l| {
        !slices_of(l, "web").is_empty()
    })
    .await;
    until(&http, PODS, "2 pending pods", |_, l| items(l).len() == 2).await;
    let mut slice = slices_of(&list, "web").remove(0);
    // The controller owns what it set; the null endpoints and ports are no fields.
    let fields = &slice["metadata"]["managedFields"][0]["fieldsV1"];
    let owned: Vec<&String> = fields.as_object().unwrap().keys().collect();
    assert_eq!(owned, ["f:addressType", "f:metadata"], "{fields:#}");
    let meta = slice["metadata"].as_object_mut().unwrap();
    for k in [
        "name",
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "managedFields",
    ] {
        assert!(meta.remove(k).is_some(), "{k}");
    }
    assert_eq!(
        slice,
        json!({
            "metadata": {
                "generateName": "web-", "namespace": "default", "generation": 1,
                "labels": {"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                           "kubernetes.io/service-name": "web"},
                "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": created},
                "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "web",
                    "uid": svc["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}],
            },
            "addressType": "IPv4", "endpoints": null, "ports": null,
        })
    );
    let mut ep = until(
        &http,
        &format!("{ENDPOINTS}/web"),
        "the Endpoints",
        |s, _| s == 200,
    )
    .await;
    let meta = ep["metadata"].as_object_mut().unwrap();
    for k in [
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "managedFields",
    ] {
        assert!(meta.remove(k).is_some(), "{k}");
    }
    assert_eq!(
        ep,
        json!({
            "kind": "Endpoints", "apiVersion": "v1",
            "metadata": {
                "name": "web", "namespace": "default",
                "labels": {"endpoints.kubernetes.io/managed-by": "endpoint-controller"},
                "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": created},
            },
        })
    );
}

#[tokio::test]
async fn the_kubernetes_service_has_endpoints_at_the_test_server() {
    let (server, http) = server().await;
    let port = server
        .url()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse::<u16>()
        .unwrap();
    let ep = http.get(&format!("{ENDPOINTS}/kubernetes")).await.json();
    assert_eq!(
        ep["subsets"],
        json!([{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}])
    );
    let slice = http.get(&format!("{SLICES}/kubernetes")).await.json();
    assert_eq!(
        slice["metadata"]["labels"],
        json!({"kubernetes.io/service-name": "kubernetes"})
    );
    assert_eq!(
        slice["endpoints"],
        json!([{"addresses": ["127.0.0.1"], "conditions": {"ready": true}}])
    );
    assert_eq!(
        slice["ports"],
        json!([{"name": "https", "port": port, "protocol": "TCP"}])
    );
}

const JOBS: &str = "/apis/batch/v1/namespaces/default/jobs";

fn job(name: &str, completions: i64, parallelism: i64) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "completions": completions, "parallelism": parallelism,
            "template": {"spec": {"restartPolicy": "Never",
                                  "containers": [{"name": "c", "image": "busybox"}]}},
        },
    })
}

fn job_labels(job: &Value) -> Value {
    let uid = &job["metadata"]["uid"];
    let name = &job["metadata"]["name"];
    json!({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
           "controller-uid": uid, "job-name": name})
}

#[tokio::test]
async fn a_job_runs_pods_until_its_completions_succeeded_then_completes() {
    let (_server, http) = server().await;
    let created = http.post(JOBS, &job("once", 2, 1)).await;
    assert_eq!(created.status, 201);
    let created = created.json();
    let path = format!("{JOBS}/once");

    // One pod at a time (parallelism 1), with the job's labels and finalizer.
    let running = until(&http, &path, "one active pod", |_, j| {
        j["status"]["active"] == 1
    })
    .await;
    assert!(running["status"]["startTime"].is_string());
    let pods = items(&http.get(PODS).await.json());
    assert_eq!(pods.len(), 1, "{pods:#?}");
    let pod = &pods[0];
    assert_eq!(pod["metadata"]["generateName"], "once-");
    assert_eq!(pod["metadata"]["labels"], job_labels(&created));
    assert_eq!(
        pod["metadata"]["ownerReferences"],
        json!([{"apiVersion": "batch/v1", "kind": "Job", "name": "once",
                "uid": created["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}])
    );

    let done = until(&http, &path, "the Job complete", |_, j| {
        condition(j, "Complete")["status"] == "True"
    })
    .await;
    let mut status = done["status"].clone();
    let start = status["startTime"].as_str().unwrap().to_owned();
    let end = status["completionTime"].as_str().unwrap().to_owned();
    assert!(start <= end);
    for c in status["conditions"].as_array_mut().unwrap() {
        let c = c.as_object_mut().unwrap();
        assert!(c.remove("lastProbeTime").unwrap().is_string());
        assert!(c.remove("lastTransitionTime").unwrap().is_string());
    }
    assert_eq!(
        status,
        json!({
            "conditions": [
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods"},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods"},
            ],
            "startTime": start, "completionTime": end, "succeeded": 2, "terminating": 0,
            "uncountedTerminatedPods": {}, "ready": 0,
        })
    );
    // Its pods stay, Succeeded and released.
    let pods = items(&http.get(PODS).await.json());
    assert_eq!(pods.len(), 2, "{pods:#?}");
    for pod in &pods {
        assert_eq!(pod["status"]["phase"], "Succeeded");
        assert!(
            pod["metadata"]
                .get("finalizers")
                .is_none_or(|f| f == &json!([])),
            "{pod:#}"
        );
    }
    // Deleted, the Job takes its pods along.
    assert_eq!(http.delete(&path).await.status, 200);
    until(&http, PODS, "no pod", |_, l| items(l).is_empty()).await;
}

#[tokio::test]
async fn without_a_kubelet_a_job_waits_on_a_pending_pod_as_on_the_recorded_cluster() {
    let server = TestServer::builder()
        .controllers(true)
        .kubelet(false)
        .start()
        .await
        .unwrap();
    let http = Http::new(&server);
    let created = http.post(JOBS, &job("once", 2, 1)).await.json();
    let j = until(
        &http,
        &format!("{JOBS}/once"),
        "the controller's status",
        |_, j| j["status"]["active"] == 1,
    )
    .await;
    let mut status = j["status"].clone();
    assert!(
        status
            .as_object_mut()
            .unwrap()
            .shift_remove("startTime")
            .unwrap()
            .is_string()
    );
    assert_eq!(
        status.to_string(),
        json!({"active": 1, "terminating": 0, "uncountedTerminatedPods": {}, "ready": 0})
            .to_string()
    );
    let managed = j["metadata"]["managedFields"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["manager"] == "kube-controller-manager"))
        .expect("the controller's managedFields entry");
    assert_eq!(managed["subresource"], "status");
    let pods = items(&http.get(PODS).await.json());
    assert_eq!(pods.len(), 1);
    let meta = &pods[0]["metadata"];
    assert_eq!(meta["labels"], job_labels(&created));
    assert_eq!(
        meta["finalizers"],
        json!(["batch.kubernetes.io/job-tracking"])
    );
    assert_eq!(meta["ownerReferences"][0]["kind"], "Job");
    assert_eq!(pods[0]["status"]["phase"], "Pending");
    // Deleted, the Job lets its pending pod go.
    assert_eq!(http.delete(&format!("{JOBS}/once")).await.status, 200);
    until(&http, PODS, "no pod", |_, l| items(l).is_empty()).await;
}

#[tokio::test]
async fn a_job_whose_pods_fail_beyond_its_backoff_limit_fails() {
    let server = TestServer::builder()
        .controllers(true)
        .kubelet(false)
        .start()
        .await
        .unwrap();
    let http = Http::new(&server);
    let mut j = job("flaky", 1, 1);
    j["spec"]["backoffLimit"] = json!(0);
    assert_eq!(http.post(JOBS, &j).await.status, 201);
    let list = until(&http, PODS, "a pod", |_, l| items(l).len() == 1).await;
    // The pod's containers exit 1, as a kubelet would report it.
    let mut pod = items(&list).remove(0);
    let name = pod["metadata"]["name"].as_str().unwrap().to_owned();
    pod["status"]["phase"] = json!("Failed");
    assert_eq!(
        http.put(&format!("{PODS}/{name}/status"), &pod)
            .await
            .status,
        200
    );
    let failed = until(&http, &format!("{JOBS}/flaky"), "the Job failed", |_, j| {
        condition(j, "Failed")["status"] == "True"
    })
    .await;
    let status = &failed["status"];
    let types: Vec<&str> = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["FailureTarget", "Failed"]);
    for c in status["conditions"].as_array().unwrap() {
        assert_eq!(c["reason"], "BackoffLimitExceeded");
        assert_eq!(c["message"], "Job has reached the specified backoff limit");
    }
    assert_eq!(status["failed"], 1);
    assert!(status.get("active").is_none(), "{status:#}");
    assert!(status.get("completionTime").is_none(), "{status:#}");
    // No new pod, and the failed one is released.
    let pods = items(&http.get(PODS).await.json());
    assert_eq!(pods.len(), 1);
    assert!(
        pods[0]["metadata"]
            .get("finalizers")
            .is_none_or(|f| f == &json!([]))
    );
}
