//! Fidelity: answers that must be what a real kube-apiserver v1.36 answers — status
//! codes, reasons, `Status` causes and their wording, watch event types and objects —
//! checked against the recorded answers in `k8s-reference` and against upstream's code
//! (`apiserver` handlers and cacher, `apimachinery` validation, `apiextensions-apiserver`
//! schema validation, `ValidatePodUpdate`). One test per difference that was found.

mod common;
use std::time::Duration;

use common::*;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";
const PODS: &str = "/api/v1/namespaces/default/pods";
const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const WIDGETS: &str = "/apis/example.com/v1/namespaces/default/widgets";

/// Newline-delimited watch events from a streaming response.
struct Events {
    body: Incoming,
    buf: Vec<u8>,
}

impl Events {
    fn new(res: http::Response<Incoming>) -> Events {
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        Events {
            body: res.into_body(),
            buf: Vec::new(),
        }
    }

    /// The next event, `None` at the end of the stream; fails after `wait`.
    async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        loop {
            if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return Some(serde_json::from_slice(&line).expect("event is JSON"));
            }
            let frame = tokio::time::timeout(wait, self.body.frame())
                .await
                .expect("event in time")?;
            if let Ok(data) = frame.expect("body frame").into_data() {
                self.buf.extend_from_slice(&data);
            }
        }
    }

    async fn next(&mut self) -> Option<Value> {
        self.next_within(Duration::from_secs(5)).await
    }
}

async fn watch(http: &Http, path: &str) -> Events {
    Events::new(http.start("GET", path, &[], "").await)
}

fn rv(obj: &Value) -> String {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .expect("a resourceVersion")
        .to_owned()
}

fn text(a: &Answer) -> String {
    String::from_utf8_lossy(&a.body).into_owned()
}

async fn merge_patch(http: &Http, path: &str, patch: Value) -> Answer {
    http.send(
        "PATCH",
        path,
        "application/merge-patch+json",
        patch.to_string(),
    )
    .await
}

/// The cause of a 422 for `field`, if there is one with this reason.
fn cause<'a>(status: &'a Value, field: &str, reason: &str) -> Option<&'a Value> {
    status["details"]["causes"]
        .as_array()?
        .iter()
        .find(|c| c["field"] == field && c["reason"] == reason)
}

/// Seconds since the epoch of an RFC 3339 UTC timestamp (`2026-11-27T02:41:03Z`).
fn epoch_seconds(ts: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| ts[r].parse::<i64>().expect("a timestamp");
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
    let days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + d - 719_469;
    days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}

// 1. Unknown versions of the core group are not routed at all.

#[tokio::test]
async fn an_unknown_core_version_is_a_plain_text_404() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    for path in [
        "/api/v2",
        "/api/v2/namespaces",
        "/api/v2/namespaces/default/pods",
        "/api/v2/namespaces/default/pods/web",
        "/apis/apps/v9/deployments",
        "/apis/nope.example.com/v1/things",
    ] {
        let res = http.get(path).await;
        assert_eq!(res.status, 404, "{path}");
        assert_eq!(
            res.header("content-type"),
            "text/plain; charset=utf-8",
            "{path}"
        );
        assert_eq!(res.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(text(&res), "404 page not found\n", "{path}");
    }
    // An unknown resource inside a served version is a 404 Status.
    let res = http.get("/api/v1/nothings").await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json()["reason"], "NotFound");
}

// 2. The watch window starts when the server starts.

#[tokio::test]
async fn a_watch_from_before_the_window_is_expired_on_a_young_server() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    // The resourceVersion the server started at is where its window begins.
    let start = rv(&http.get("/api/v1/namespaces").await.json());
    let created = http.post(CMS, &configmap("a")).await.json();
    let mut events = watch(&http, &format!("{CMS}?watch=true&resourceVersion=1")).await;
    let ev = events.next().await.expect("an event");
    assert_eq!(ev["type"], "ERROR");
    assert_eq!(
        ev["object"],
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("too old resource version: 1 ({start})"),
            "reason": "Expired", "code": 410})
    );
    assert!(
        events.next().await.is_none(),
        "the stream ends after the error"
    );
    // From the start of the window on, the history is there.
    let mut events = watch(&http, &format!("{CMS}?watch=true&resourceVersion={start}")).await;
    let ev = events.next().await.expect("an event");
    assert_eq!(ev["type"], "ADDED");
    assert_eq!(ev["object"]["metadata"]["uid"], created["metadata"]["uid"]);
}

// 3. An object that stops matching a selector leaves as it was.

#[tokio::test]
async fn an_object_leaving_a_selected_watch_is_deleted_as_it_was_before() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let mut cm = configmap("a");
    cm["metadata"]["labels"] = json!({"team": "x"});
    let created = http.post(CMS, &cm).await.json();
    let mut events = watch(
        &http,
        &format!(
            "{CMS}?watch=true&resourceVersion={}&labelSelector=team%3Dx",
            rv(&created)
        ),
    )
    .await;
    let mut changed = created.clone();
    changed["metadata"]["labels"]["team"] = json!("y");
    changed["data"]["k"] = json!("changed");
    let updated = http.put(&format!("{CMS}/a"), &changed).await.json();
    let ev = events.next().await.expect("an event");
    // kube-apiserver's cacheWatcher: "a delete event with the previous object content,
    // but with the event's resource version".
    assert_eq!(ev["type"], "DELETED");
    assert_eq!(ev["object"]["kind"], "ConfigMap");
    assert_eq!(ev["object"]["metadata"]["labels"], json!({"team": "x"}));
    assert_eq!(ev["object"]["data"], json!({"k": "v"}));
    assert_eq!(ev["object"]["metadata"]["resourceVersion"], rv(&updated));
}

// 4. A patch may not change an object's type.

#[tokio::test]
async fn a_patch_that_changes_kind_or_api_version_is_invalid() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    // No data: a ConfigMap's data would not decode as a Secret's.
    let created = http
        .post(
            CMS,
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}),
        )
        .await
        .json();
    let path = format!("{CMS}/a");
    let res = merge_patch(&http, &path, json!({"kind": "Secret"})).await;
    assert_eq!(res.status, 422, "{}", text(&res));
    let status = res.json();
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(status["code"], 422);
    let c = cause(&status, "patch", "FieldValueInvalid").expect("a cause on patch");
    let message = c["message"].as_str().unwrap();
    assert!(message.starts_with("Invalid value: \"{"), "{message}");
    assert!(message.contains(r#"\"kind\":\"Secret\""#), "{message}");
    assert!(
        message.ends_with("\": converting (v1.Secret) to (core.ConfigMap): unknown conversion"),
        "{message}"
    );
    assert_eq!(
        status["message"].as_str().unwrap(),
        format!(" \"\" is invalid: patch: {message}")
    );
    assert!(status["details"].get("kind").is_none());
    assert!(status["details"].get("name").is_none());

    // A JSON patch to a version that does not exist.
    let res = http
        .send(
            "PATCH",
            &path,
            "application/json-patch+json",
            json!([{"op": "replace", "path": "/apiVersion", "value": "v7"}]).to_string(),
        )
        .await;
    assert_eq!(res.status, 422, "{}", text(&res));
    let status = res.json();
    let c = cause(&status, "patch", "FieldValueInvalid").expect("a cause on patch");
    assert!(
        c["message"].as_str().unwrap().ends_with(
            "\": no kind \"ConfigMap\" is registered for version \"v7\" in scheme \"pkg/api/legacyscheme/scheme.go:30\""
        ),
        "{c}"
    );
    // Nothing was written; leaving kind out (or null) is no change of type.
    assert_eq!(rv(&http.get(&path).await.json()), rv(&created));
    let res = merge_patch(&http, &path, json!({"kind": null, "data": {"k": "w"}})).await;
    assert_eq!(res.status, 200, "{}", text(&res));
    assert_eq!(res.json()["kind"], "ConfigMap");
}

#[tokio::test]
async fn a_patch_that_changes_the_kind_of_a_custom_resource_is_invalid() {
    let (_server, http) =
        with_widgets(json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})).await;
    let res = http.post(WIDGETS, &widget("w", json!({"size": 1}))).await;
    assert_eq!(res.status, 201, "{}", text(&res));
    let path = format!("{WIDGETS}/w");
    let res = merge_patch(&http, &path, json!({"kind": "Gadget"})).await;
    assert_eq!(res.status, 422, "{}", text(&res));
    let status = res.json();
    assert_eq!(
        status["message"],
        "Widget.example.com \"w\" is invalid: kind: Invalid value: \"Gadget\": must be Widget"
    );
    assert!(
        cause(&status, "kind", "FieldValueInvalid").is_some(),
        "{status}"
    );
    assert_eq!(http.get(&path).await.json()["kind"], "Widget");
}

// 5. Server-side apply needs the type.

#[tokio::test]
async fn apply_without_kind_is_a_bad_request() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let apply = |name: &str, body: &str| {
        let path = format!("{CMS}/{name}?fieldManager=me");
        let body = body.to_owned();
        let http = &http;
        async move {
            http.send("PATCH", &path, "application/apply-patch+yaml", body)
                .await
        }
    };
    // A missing object (apply would create it) and an existing one.
    http.post(CMS, &configmap("there")).await;
    for name in ["missing", "there"] {
        let res = apply(
            name,
            &format!("apiVersion: v1\nmetadata:\n  name: {name}\ndata:\n  k: v\n"),
        )
        .await;
        assert_eq!(res.status, 400, "{}", text(&res));
        let status = res.json();
        assert_eq!(status["reason"], "BadRequest");
        assert_eq!(status["message"], "invalid object type: /v1, Kind=");
        let res = apply(
            name,
            &format!("kind: ConfigMap\nmetadata:\n  name: {name}\n"),
        )
        .await;
        assert_eq!(res.status, 400, "{}", text(&res));
        assert_eq!(
            res.json()["message"],
            "invalid object type: /, Kind=ConfigMap"
        );
        let res = apply(
            name,
            &format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n"),
        )
        .await;
        assert_eq!(res.status, 400, "{}", text(&res));
        assert_eq!(
            res.json()["message"],
            "invalid object type: /v1, Kind=Secret"
        );
    }
    assert_eq!(http.get(&format!("{CMS}/missing")).await.status, 404);
}

// 6. Most of a pod's spec is immutable.

const POD_UPDATE_FORBIDDEN: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n";

#[tokio::test]
async fn changing_an_immutable_pod_field_is_forbidden() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let path = format!("{PODS}/web");
    let created = http
        .post(PODS, &pod("web", json!({"app": "web"})))
        .await
        .json();

    let mut changed = created.clone();
    changed["spec"]["restartPolicy"] = json!("Never");
    let res = http.put(&path, &changed).await;
    assert_eq!(res.status, 422, "{}", text(&res));
    let status = res.json();
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(status["details"]["kind"], "Pod");
    assert_eq!(status["details"]["name"], "web");
    let c = cause(&status, "spec", "FieldValueForbidden").expect("a cause on spec");
    let message = c["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("Forbidden: {POD_UPDATE_FORBIDDEN}")),
        "{message}"
    );
    assert!(
        message.contains("RestartPolicy"),
        "the diff names the field: {message}"
    );
    assert!(
        status["message"].as_str().unwrap().starts_with(&format!(
            "Pod \"web\" is invalid: spec: Forbidden: {POD_UPDATE_FORBIDDEN}"
        )),
        "{status}"
    );
    // The same through a patch.
    let res = merge_patch(&http, &path, json!({"spec": {"hostname": "other"}})).await;
    assert_eq!(res.status, 422, "{}", text(&res));
    assert!(cause(&res.json(), "spec", "FieldValueForbidden").is_some());
    // Containers may not come or go.
    let mut more = created.clone();
    more["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "side", "image": "busybox"}));
    let res = http.put(&path, &more).await;
    assert_eq!(res.status, 422, "{}", text(&res));
    let status = res.json();
    let c = cause(&status, "spec.containers", "FieldValueForbidden").expect("a cause");
    assert_eq!(
        c["message"],
        "Forbidden: pod updates may not add or remove containers"
    );
    assert_eq!(status["details"]["causes"].as_array().unwrap().len(), 1);

    // What may change: images, activeDeadlineSeconds, added tolerations, labels.
    let res = http
        .send(
            "PATCH",
            &path,
            "application/json-patch+json",
            json!([
                {"op": "replace", "path": "/spec/containers/0/image", "value": "nginx:1.28"},
                {"op": "add", "path": "/spec/activeDeadlineSeconds", "value": 60},
                {"op": "add", "path": "/spec/tolerations/-", "value": {"key": "k", "operator": "Exists"}},
                {"op": "add", "path": "/metadata/labels/tier", "value": "front"},
            ])
            .to_string(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", text(&res));
    let now = res.json();
    assert_eq!(now["spec"]["containers"][0]["image"], "nginx:1.28");
    assert_eq!(now["spec"]["activeDeadlineSeconds"], 60);
    // ...but an existing toleration may not be removed, nor the deadline raised.
    let mut fewer = now.clone();
    fewer["spec"]["tolerations"] = json!([]);
    let res = http.put(&path, &fewer).await;
    assert_eq!(res.status, 422, "{}", text(&res));
    let c = cause(&res.json(), "spec.tolerations", "FieldValueForbidden")
        .cloned()
        .expect("a cause on tolerations");
    assert_eq!(
        c["message"],
        "Forbidden: existing toleration can not be modified except its tolerationSeconds"
    );
    let res = merge_patch(&http, &path, json!({"spec": {"activeDeadlineSeconds": 90}})).await;
    assert_eq!(res.status, 422, "{}", text(&res));
    let c = cause(
        &res.json(),
        "spec.activeDeadlineSeconds",
        "FieldValueInvalid",
    )
    .cloned()
    .expect("a cause on activeDeadlineSeconds");
    assert_eq!(
        c["message"],
        "Invalid value: 90: must be less than or equal to previous value"
    );
}

// 7. metadata.generation follows the spec.

async fn generation_follows_the_spec(
    http: &Http,
    collection: &str,
    object: Value,
    spec_change: Value,
) {
    let name = object["metadata"]["name"].as_str().unwrap().to_owned();
    let path = format!("{collection}/{name}");
    let res = http.post(collection, &object).await;
    assert_eq!(res.status, 201, "{collection}: {}", text(&res));
    let gen_of = |a: &Answer| a.json()["metadata"]["generation"].clone();
    assert_eq!(gen_of(&res), 1, "{collection}");
    // The first spec change after create.
    let res = merge_patch(http, &path, json!({"spec": spec_change})).await;
    assert_eq!(res.status, 200, "{collection}: {}", text(&res));
    assert_eq!(gen_of(&res), 2, "{collection}: a spec change");
    // Metadata and status do not count.
    let res = merge_patch(
        http,
        &path,
        json!({"metadata": {"labels": {"touched": "yes"}, "annotations": {"a": "b"}}}),
    )
    .await;
    assert_eq!(res.status, 200, "{collection}: {}", text(&res));
    assert_eq!(gen_of(&res), 2, "{collection}: a metadata change");
    let res = merge_patch(
        http,
        &format!("{path}/status"),
        json!({"status": {"observedGeneration": 2}}),
    )
    .await;
    assert_eq!(res.status, 200, "{collection}: {}", text(&res));
    assert_eq!(gen_of(&res), 2, "{collection}: a status change");
    // A PUT of the same spec is no change either; a PUT of another is.
    let current = http.get(&path).await.json();
    let res = http.put(&path, &current).await;
    assert_eq!(gen_of(&res), 2, "{collection}: the same spec");
    let mut next = current.clone();
    next["metadata"]["labels"]["again"] = json!("1");
    for (k, v) in spec_change.as_object().unwrap() {
        // Undo the first change where it is a number: another spec change.
        if let Some(n) = v.as_i64() {
            next["spec"][k] = json!(n + 1);
        }
    }
    let res = http.put(&path, &next).await;
    assert_eq!(res.status, 200, "{collection}: {}", text(&res));
    assert_eq!(gen_of(&res), 3, "{collection}: a second spec change");
}

fn template(app: &str) -> Value {
    json!({"metadata": {"labels": {"app": app}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}})
}

#[tokio::test]
async fn generation_rises_on_every_spec_change_and_only_then() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let selector = |app: &str| json!({"matchLabels": {"app": app}});
    let apps = "/apis/apps/v1/namespaces/default";
    generation_follows_the_spec(
        &http,
        &format!("{apps}/deployments"),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": 1, "selector": selector("d"), "template": template("d")}}),
        json!({"replicas": 2}),
    )
    .await;
    generation_follows_the_spec(
        &http,
        &format!("{apps}/replicasets"),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r"},
            "spec": {"replicas": 1, "selector": selector("r"), "template": template("r")}}),
        json!({"replicas": 2}),
    )
    .await;
    generation_follows_the_spec(
        &http,
        &format!("{apps}/statefulsets"),
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
            "spec": {"replicas": 1, "serviceName": "s", "selector": selector("s"), "template": template("s")}}),
        json!({"replicas": 2}),
    )
    .await;
    generation_follows_the_spec(
        &http,
        &format!("{apps}/daemonsets"),
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ds"},
            "spec": {"selector": selector("ds"), "template": template("ds")}}),
        json!({"minReadySeconds": 5}),
    )
    .await;
    let mut job_template = template("j");
    job_template["spec"]["restartPolicy"] = json!("Never");
    generation_follows_the_spec(
        &http,
        "/apis/batch/v1/namespaces/default/jobs",
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
            "spec": {"parallelism": 1, "template": job_template}}),
        json!({"parallelism": 2}),
    )
    .await;
}

#[tokio::test]
async fn generation_of_a_custom_resource_with_a_status_subresource_follows_its_spec() {
    let (_server, http) =
        with_widgets(json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})).await;
    generation_follows_the_spec(
        &http,
        WIDGETS,
        widget("w", json!({"size": 1})),
        json!({"size": 2}),
    )
    .await;
}

// 8. Graceful deletion of pods on a node.

#[tokio::test]
async fn deleting_a_bound_pod_waits_out_its_grace_period() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let mut p = pod("bound", json!({}));
    p["spec"]["nodeName"] = json!("node-1");
    p["spec"]["terminationGracePeriodSeconds"] = json!(1);
    let created = http.post(PODS, &p).await.json();
    assert_eq!(created["metadata"]["generation"], 1);
    let mut events = watch(
        &http,
        &format!("{PODS}?watch=true&resourceVersion={}", rv(&created)),
    )
    .await;

    let res = http.delete(&format!("{PODS}/bound")).await;
    assert_eq!(res.status, 200, "{}", text(&res));
    let deleting = res.json();
    assert_eq!(deleting["kind"], "Pod");
    assert_eq!(deleting["metadata"]["deletionGracePeriodSeconds"], 1);
    assert_eq!(deleting["metadata"]["generation"], 2);
    // deletionTimestamp is when the grace period ends.
    let deadline = epoch_seconds(deleting["metadata"]["deletionTimestamp"].as_str().unwrap());
    let created_at = epoch_seconds(created["metadata"]["creationTimestamp"].as_str().unwrap());
    assert!(
        (created_at + 1..created_at + 4).contains(&deadline),
        "{deleting}"
    );
    // It is still there, terminating.
    let got = http.get(&format!("{PODS}/bound")).await;
    assert_eq!(got.status, 200);
    assert_eq!(
        got.json()["metadata"]["deletionTimestamp"],
        deleting["metadata"]["deletionTimestamp"]
    );

    let ev = events.next().await.expect("an event");
    assert_eq!(ev["type"], "MODIFIED");
    assert_eq!(ev["object"]["metadata"]["deletionGracePeriodSeconds"], 1);
    assert_eq!(ev["object"]["metadata"]["resourceVersion"], rv(&deleting));
    // Then, once the grace period is over, it goes.
    let ev = events
        .next_within(Duration::from_secs(10))
        .await
        .expect("an event");
    assert_eq!(ev["type"], "DELETED");
    assert_eq!(ev["object"]["metadata"]["name"], "bound");
    assert!(ev["object"]["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(http.get(&format!("{PODS}/bound")).await.status, 404);
}

#[tokio::test]
async fn grace_periods_come_from_the_request_the_pod_or_the_default() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let bound = |name: &str| {
        let mut p = pod(name, json!({}));
        p["spec"]["nodeName"] = json!("node-1");
        p
    };
    // The default: the pod's terminationGracePeriodSeconds, defaulted to 30.
    http.post(PODS, &bound("default")).await;
    let res = http.delete(&format!("{PODS}/default")).await;
    assert_eq!(res.json()["metadata"]["deletionGracePeriodSeconds"], 30);
    // The request's.
    let mut p = bound("asked");
    p["spec"]["terminationGracePeriodSeconds"] = json!(100);
    http.post(PODS, &p).await;
    let res = http
        .delete(&format!("{PODS}/asked?gracePeriodSeconds=20"))
        .await;
    assert_eq!(res.json()["metadata"]["deletionGracePeriodSeconds"], 20);
    // A shorter grace period shortens a pending one; 0 removes the pod at once.
    let res = http
        .delete(&format!("{PODS}/asked?gracePeriodSeconds=10"))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["metadata"]["deletionGracePeriodSeconds"], 10);
    let res = http
        .delete(&format!("{PODS}/asked?gracePeriodSeconds=0"))
        .await;
    assert_eq!(res.status, 200, "{}", text(&res));
    assert_eq!(http.get(&format!("{PODS}/asked")).await.status, 404);
    // An unbound pod goes at once, whatever the grace period.
    http.post(PODS, &pod("unbound", json!({}))).await;
    let res = http
        .delete(&format!("{PODS}/unbound?gracePeriodSeconds=20"))
        .await;
    assert_eq!(res.json()["metadata"]["deletionGracePeriodSeconds"], 0);
    assert_eq!(http.get(&format!("{PODS}/unbound")).await.status, 404);
    // Still pending: the one deleted with the default.
    assert_eq!(http.get(&format!("{PODS}/default")).await.status, 200);
}

// 9. Finalizers may only go once deletion started.

#[tokio::test]
async fn a_new_finalizer_on_an_object_being_deleted_is_forbidden() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let mut cm = configmap("held");
    cm["metadata"]["finalizers"] = json!(["example.com/keep"]);
    http.post(CMS, &cm).await;
    let path = format!("{CMS}/held");
    let res = http.delete(&path).await;
    assert_eq!(res.status, 200);
    let res = merge_patch(
        &http,
        &path,
        json!({"metadata": {"finalizers": ["example.com/keep", "example.com/more"]}}),
    )
    .await;
    assert_eq!(res.status, 422, "{}", text(&res));
    let status = res.json();
    assert_eq!(
        status["message"],
        "ConfigMap \"held\" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"example.com/more\"}"
    );
    assert!(cause(&status, "metadata.finalizers", "FieldValueForbidden").is_some());
    // Removing the last one lets the deletion finish.
    let res = merge_patch(&http, &path, json!({"metadata": {"finalizers": null}})).await;
    assert_eq!(res.status, 200, "{}", text(&res));
    assert_eq!(http.get(&path).await.status, 404);
}

// 10. Custom resources are validated against their CRD's schema.

fn widget(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec})
}

async fn with_widgets(spec_schema: Value) -> (TestServer, Http) {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let schema = json!({"openAPIV3Schema": {"type": "object", "properties": {
        "spec": spec_schema,
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}});
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": schema,
                "subresources": {"status": {}}}]}});
    let res = http.post(CRDS, &crd).await;
    assert_eq!(res.status, 201, "{}", text(&res));
    (server, http)
}

fn strict_schema() -> Value {
    json!({"type": "object", "required": ["size"], "properties": {
        "size": {"type": "integer", "minimum": 1, "maximum": 10},
        "color": {"type": "string", "enum": ["red", "blue"]},
        "name": {"type": "string", "maxLength": 5, "pattern": "^[a-z]+$"},
        "tags": {"type": "array", "items": {"type": "string"}},
    }})
}

#[tokio::test]
async fn a_custom_resource_that_breaks_its_schema_is_invalid() {
    let (_server, http) = with_widgets(strict_schema()).await;
    let res = http
        .post(
            WIDGETS,
            &widget(
                "w",
                json!({"size": "big", "color": "green", "name": "ABCDEFG", "tags": ["a", 1]}),
            ),
        )
        .await;
    assert_eq!(res.status, 422, "{}", text(&res));
    let status = res.json();
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(status["details"]["group"], "example.com");
    assert_eq!(status["details"]["kind"], "Widget");
    assert_eq!(status["details"]["name"], "w");
    let expect = [
        (
            "spec.size",
            "FieldValueTypeInvalid",
            "Invalid value: \"string\": spec.size in body must be of type integer: \"string\"",
        ),
        (
            "spec.color",
            "FieldValueNotSupported",
            "Unsupported value: \"green\": supported values: \"red\", \"blue\"",
        ),
        (
            "spec.name",
            "FieldValueTooLong",
            "Too long: may not be more than 5 bytes",
        ),
        (
            "spec.name",
            "FieldValueInvalid",
            "Invalid value: \"ABCDEFG\": spec.name in body should match '^[a-z]+$'",
        ),
        (
            // kube-openapi names array items with a dot.
            "spec.tags.1",
            "FieldValueTypeInvalid",
            "Invalid value: \"integer\": spec.tags.1 in body must be of type string: \"integer\"",
        ),
    ];
    for (field, reason, message) in expect {
        let c = cause(&status, field, reason)
            .unwrap_or_else(|| panic!("no {reason} on {field}: {status}"));
        assert_eq!(c["message"], message, "{field}");
        assert!(
            status["message"]
                .as_str()
                .unwrap()
                .contains(&format!("{field}: {message}")),
            "{status}"
        );
    }
    assert_eq!(
        status["details"]["causes"].as_array().unwrap().len(),
        expect.len()
    );
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .starts_with("Widget.example.com \"w\" is invalid: [spec."),
        "{status}"
    );
}

#[tokio::test]
async fn schema_bounds_and_required_fields_of_a_custom_resource() {
    let (_server, http) = with_widgets(strict_schema()).await;
    let one = |spec: Value| {
        let http = &http;
        async move {
            let res = http.post(WIDGETS, &widget("w", spec)).await;
            assert_eq!(res.status, 422, "{}", text(&res));
            let status = res.json();
            let causes = status["details"]["causes"].as_array().unwrap().clone();
            assert_eq!(causes.len(), 1, "{status}");
            (status, causes[0].clone())
        }
    };
    let (status, c) = one(json!({"size": 0})).await;
    assert_eq!(
        c,
        json!({"reason": "FieldValueInvalid", "message": "Invalid value: 0: spec.size in body should be greater than or equal to 1", "field": "spec.size"})
    );
    assert_eq!(
        status["message"],
        "Widget.example.com \"w\" is invalid: spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"
    );
    let (_, c) = one(json!({"size": 11})).await;
    assert_eq!(
        c["message"],
        "Invalid value: 11: spec.size in body should be less than or equal to 10"
    );
    let (_, c) = one(json!({"color": "red"})).await;
    assert_eq!(
        c,
        json!({"reason": "FieldValueRequired", "message": "Required value", "field": "spec.size"})
    );
    // The same rules hold for updates; unknown fields are still pruned.
    let res = http
        .post(WIDGETS, &widget("w", json!({"size": 3, "extra": true})))
        .await;
    assert_eq!(res.status, 201, "{}", text(&res));
    assert_eq!(res.json()["spec"], json!({"size": 3}));
    let res = merge_patch(
        &http,
        &format!("{WIDGETS}/w"),
        json!({"spec": {"size": 20}}),
    )
    .await;
    assert_eq!(res.status, 422, "{}", text(&res));
    assert!(cause(&res.json(), "spec.size", "FieldValueInvalid").is_some());
    let res = merge_patch(&http, &format!("{WIDGETS}/w"), json!({"spec": {"size": 4}})).await;
    assert_eq!(res.status, 200, "{}", text(&res));
}

// 11. Found in the recorded answers (`k8s-reference/samples`).

/// The recorded sample `name`, parsed.
fn sample(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("the sample")).expect("JSON")
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().expect("an object").keys().cloned().collect()
}

#[tokio::test]
async fn a_new_object_has_its_resource_version_where_go_writes_it() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let created = http
        .send(
            "POST",
            CMS,
            "application/json",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}})
                .to_string(),
        )
        .await;
    // The sample's request carried a User-Agent, which makes a managedFields entry.
    let res = http
        .start(
            "POST",
            CMS,
            &[("content-type", "application/json"), ("user-agent", "Python-urllib/3.12")],
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg2"}, "data": {"a": "1"}})
                .to_string(),
        )
        .await;
    assert_eq!(res.status(), 201);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let with_manager: Value = serde_json::from_slice(&body).unwrap();
    let want = sample("create-configmap-201.json");
    assert_eq!(keys(&with_manager["metadata"]), keys(&want["metadata"]));
    assert_eq!(
        keys(&created.json()["metadata"]),
        [
            "name",
            "namespace",
            "uid",
            "resourceVersion",
            "creationTimestamp"
        ]
    );
}

#[tokio::test]
async fn fields_the_registry_sets_after_field_management_have_no_manager() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let post = |path: &'static str, body: Value| {
        let http = &http;
        async move {
            let res = http
                .start(
                    "POST",
                    path,
                    &[
                        ("content-type", "application/json"),
                        ("user-agent", "Python-urllib/3.12"),
                    ],
                    body.to_string(),
                )
                .await;
            assert_eq!(res.status(), 201);
            let body = res.into_body().collect().await.unwrap().to_bytes();
            serde_json::from_slice::<Value>(&body).unwrap()
        }
    };
    let svc = post(
        "/api/v1/namespaces/default/services",
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
    )
    .await;
    let want = sample("create-service-201-with-server-defaults.json");
    assert_eq!(
        svc["metadata"]["managedFields"][0]["fieldsV1"],
        want["metadata"]["managedFields"][0]["fieldsV1"]
    );
    assert!(svc["spec"]["clusterIP"].is_string());
    let ns = post(
        "/api/v1/namespaces",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ref"}}),
    )
    .await;
    let want = sample("create-namespace.json");
    assert_eq!(
        ns["metadata"]["managedFields"][0]["fieldsV1"],
        want["metadata"]["managedFields"][0]["fieldsV1"]
    );
    assert_eq!(ns["spec"], want["spec"]);
    assert_eq!(keys(&ns["metadata"]), keys(&want["metadata"]));
}

#[tokio::test]
async fn a_body_that_is_not_json_is_reported_in_go_words() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let res = http
        .send("POST", PODS, "application/json", "{not json")
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json(), sample("create-pod-400-bad-json.json"));
    let res = http.send("POST", PODS, "application/json", "[1, 2]").await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["message"],
        "the object provided is unrecognized (must be of type Pod): couldn't get version/kind; json parse error: json: cannot unmarshal array into Go value of type struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" } (5b312c20325d)"
    );
    let res = http
        .send(
            "POST",
            PODS,
            "application/json",
            r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": }}"#,
        )
        .await;
    assert_eq!(
        res.json()["message"],
        "the object provided is unrecognized (must be of type Pod): couldn't get version/kind; json parse error: invalid character '}' looking for beginning of value ({\"apiVersion\": \"v1\", \"kind\": \" ...)"
    );
}

#[tokio::test]
async fn a_watch_from_a_resource_version_not_reached_yet_waits_then_times_out() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let now: u64 = rv(&http.get(CMS).await.json()).parse().unwrap();
    // One write away: the watch waits for it, then streams from there.
    let mut soon = watch(
        &http,
        &format!("{CMS}?watch=true&resourceVersion={}", now + 1),
    )
    .await;
    http.post(CMS, &configmap("a")).await;
    http.post(CMS, &configmap("b")).await;
    let ev = soon.next().await.expect("an event");
    assert_eq!(ev["type"], "ADDED");
    assert_eq!(ev["object"]["metadata"]["name"], "b");
    // Far ahead: after the watch cache's 3 s, one ERROR event, 504 Timeout.
    let far = now + 100;
    let started = std::time::Instant::now();
    let mut events = watch(&http, &format!("{CMS}?watch=true&resourceVersion={far}")).await;
    let ev = events
        .next_within(Duration::from_secs(10))
        .await
        .expect("an event");
    assert!(
        started.elapsed() >= Duration::from_millis(2900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(ev["type"], "ERROR");
    assert_eq!(
        ev["object"],
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("Timeout: Too large resource version: {far}, current: {}", now + 2),
            "reason": "Timeout",
            "details": {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1},
            "code": 504})
    );
    assert!(
        events.next().await.is_none(),
        "the stream ends after the error"
    );
}

#[tokio::test]
async fn a_replacement_of_an_object_that_was_recreated_is_a_conflict() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let old = http.post(CMS, &configmap("cfg")).await.json();
    http.delete(&format!("{CMS}/cfg")).await;
    let new = http.post(CMS, &configmap("cfg")).await.json();
    // The uid the client read is a precondition of its PUT.
    let mut stale = old.clone();
    stale["metadata"]["resourceVersion"] = new["metadata"]["resourceVersion"].clone();
    stale["data"]["k"] = json!("overwritten");
    let res = http.put(&format!("{CMS}/cfg"), &stale).await;
    assert_eq!(res.status, 409, "{}", text(&res));
    assert_eq!(
        res.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!(
                "Operation cannot be fulfilled on configmaps \"cfg\": Precondition failed: UID in precondition: {}, UID in object meta: {}",
                old["metadata"]["uid"].as_str().unwrap(),
                new["metadata"]["uid"].as_str().unwrap()
            ),
            "reason": "Conflict", "details": {"name": "cfg", "kind": "configmaps"}, "code": 409})
    );
    assert_eq!(
        http.get(&format!("{CMS}/cfg")).await.json()["data"]["k"],
        "v"
    );
    // A DELETE's preconditions fail the same way, details included.
    let body = json!({"preconditions": {"uid": old["metadata"]["uid"]}}).to_string();
    let res = http
        .send("DELETE", &format!("{CMS}/cfg"), "application/json", body)
        .await;
    assert_eq!(res.status, 409);
    assert_eq!(
        res.json()["details"],
        json!({"name": "cfg", "kind": "configmaps"})
    );
}

#[tokio::test]
async fn a_patch_may_not_rename_move_or_change_the_uid_of_an_object() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let created = http.post(CMS, &configmap("cfg")).await.json();
    let path = format!("{CMS}/cfg");
    let res = merge_patch(&http, &path, json!({"metadata": {"name": "other"}})).await;
    assert_eq!(res.status, 400, "{}", text(&res));
    assert_eq!(
        res.json()["message"],
        "the name of the object (other) does not match the name on the URL (cfg)"
    );
    let res = merge_patch(
        &http,
        &path,
        json!({"metadata": {"namespace": "kube-system"}}),
    )
    .await;
    assert_eq!(res.status, 400, "{}", text(&res));
    assert_eq!(
        res.json()["message"],
        "the namespace of the provided object does not match the namespace sent on the request"
    );
    let res = merge_patch(&http, &path, json!({"metadata": {"uid": "not-the-uid"}})).await;
    assert_eq!(res.status, 422, "{}", text(&res));
    assert_eq!(
        res.json()["message"],
        "ConfigMap \"cfg\" is invalid: metadata.uid: Invalid value: \"not-the-uid\": field is immutable"
    );
    assert_eq!(rv(&http.get(&path).await.json()), rv(&created));
}

#[tokio::test]
async fn a_replacement_without_the_defaults_changes_nothing() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let deployments = "/apis/apps/v1/namespaces/default/deployments";
    let manifest = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}}, "template": template("d")}});
    let created = http.post(deployments, &manifest).await.json();
    // `kubectl replace -f` sends the manifest again, without the server's defaults.
    let res = http.put(&format!("{deployments}/d"), &manifest).await;
    assert_eq!(res.status, 200, "{}", text(&res));
    let replaced = res.json();
    assert_eq!(replaced["metadata"]["generation"], 1);
    assert_eq!(replaced["spec"], created["spec"]);
    assert_eq!(
        rv(&replaced),
        rv(&created),
        "nothing changed, nothing written"
    );
    // The same for a pod.
    let created = http.post(PODS, &pod("web", json!({}))).await.json();
    let res = http
        .put(&format!("{PODS}/web"), &pod("web", json!({})))
        .await;
    assert_eq!(res.status, 200, "{}", text(&res));
    assert_eq!(res.json()["spec"], created["spec"]);
    assert_eq!(res.json()["metadata"]["generation"], 1);
}

#[tokio::test]
async fn a_list_from_a_resource_version_not_reached_yet_waits_then_times_out() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let now: u64 = rv(&http.get(CMS).await.json()).parse().unwrap();
    let far = now + 100;
    let started = std::time::Instant::now();
    let res = http.get(&format!("{CMS}?resourceVersion={far}")).await;
    assert!(
        started.elapsed() >= Duration::from_millis(2900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(res.status, 504, "{}", text(&res));
    assert_eq!(
        res.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("Timeout: Too large resource version: {far}, current: {now}"),
            "reason": "Timeout",
            "details": {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1},
            "code": 504})
    );
    // A resourceVersion reached while the LIST waits answers with the list.
    let waiting = {
        let path = format!("{CMS}?resourceVersion={}", now + 1);
        let http = Http::new(&server);
        tokio::spawn(async move { http.get(&path).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    http.post(CMS, &configmap("a")).await;
    let res = waiting.await.unwrap();
    assert_eq!(res.status, 200, "{}", text(&res));
    assert_eq!(res.json()["items"][0]["metadata"]["name"], "a");
}
