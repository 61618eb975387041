//! Subresources: `scale` as an `autoscaling/v1` Scale over deployments and friends.

mod common;
use common::*;
use serde_json::json;

const DEPLOY: &str = "/apis/apps/v1/namespaces/default/deployments/web";

async fn with_deployment() -> (TestServer, Http) {
    let server = TestServer::start().await.unwrap();
    server
        .seed(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}}))
        .unwrap();
    let http = Http::new(&server);
    (server, http)
}

#[tokio::test]
async fn scale_reads_and_writes_replicas() {
    let (_s, http) = with_deployment().await;
    let scale = http.get(&format!("{DEPLOY}/scale")).await;
    assert_eq!(scale.status, 200);
    let scale = scale.json();
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["apiVersion"], "autoscaling/v1");
    assert_eq!(scale["metadata"]["name"], "web");
    assert_eq!(scale["spec"], json!({"replicas": 2}));
    assert_eq!(
        scale["status"],
        json!({"replicas": 0, "selector": "app=web"})
    );

    // PUT: replicas change on the deployment, generation moves.
    let mut put = scale.clone();
    put["spec"]["replicas"] = json!(5);
    let res = http.put(&format!("{DEPLOY}/scale"), &put).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["spec"]["replicas"], 5);
    let d = http.get(DEPLOY).await.json();
    assert_eq!(d["spec"]["replicas"], 5);
    assert_eq!(d["metadata"]["generation"], 2);
    // A stale resourceVersion in the Scale is a conflict.
    let res = http.put(&format!("{DEPLOY}/scale"), &put).await;
    assert_eq!(res.status, 409);

    // PATCH (merge) to zero: spec.replicas is omitted from the Scale.
    let res = http
        .send(
            "PATCH",
            &format!("{DEPLOY}/scale"),
            "application/merge-patch+json",
            r#"{"spec":{"replicas":0}}"#,
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["spec"], json!({}));
    assert_eq!(http.get(DEPLOY).await.json()["spec"]["replicas"], 0);

    // Negative replicas: 422, nothing changes.
    let res = http
        .send(
            "PATCH",
            &format!("{DEPLOY}/scale"),
            "application/merge-patch+json",
            r#"{"spec":{"replicas":-1}}"#,
        )
        .await;
    assert_eq!(res.status, 422);
    assert_eq!(http.get(DEPLOY).await.json()["spec"]["replicas"], 0);

    // Resources without a scale subresource: 404.
    let res = http
        .get("/api/v1/namespaces/default/configmaps/x/scale")
        .await;
    assert_eq!(res.status, 404);
}

#[tokio::test]
async fn scale_writes_record_a_scale_managed_fields_entry() {
    let (_s, http) = with_deployment().await;
    let res = http
        .start(
            "PATCH",
            &format!("{DEPLOY}/scale"),
            &[
                ("content-type", "application/merge-patch+json"),
                ("user-agent", "kubectl/v1.32.4 (linux/amd64) kubernetes/abc"),
            ],
            r#"{"spec":{"replicas":3}}"#,
        )
        .await;
    assert_eq!(res.status(), 200);
    let d = http.get(DEPLOY).await.json();
    let entries = d["metadata"]["managedFields"].as_array().unwrap();
    let e = entries
        .iter()
        .find(|e| e["manager"] == "kubectl")
        .expect("scale entry");
    assert_eq!(e["operation"], "Update");
    assert_eq!(e["subresource"], "scale");
    assert_eq!(e["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
}

// ---- pods/eviction, pods/binding, pods/ephemeralcontainers, namespaces/finalize,
// ---- certificatesigningrequests/approval, serviceaccounts/token

const PODS: &str = "/api/v1/namespaces/default/pods";

async fn with_pod(name: &str) -> (TestServer, Http) {
    let server = TestServer::start().await.unwrap();
    server
        .seed(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}))
        .unwrap();
    let http = Http::new(&server);
    (server, http)
}

/// The object without `metadata.resourceVersion` and `metadata.managedFields`.
fn strip(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(m) = v["metadata"].as_object_mut() {
        m.remove("resourceVersion");
        m.remove("managedFields");
    }
    v
}

#[tokio::test]
async fn eviction_deletes_the_pod_and_answers_a_success_status() {
    let (_s, http) = with_pod("web").await;
    let url = format!("{PODS}/web/eviction");
    // Name mismatch: 400, the pod stays.
    let res = http
        .post(
            &url,
            &json!({"apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": "other", "namespace": "default"}}),
        )
        .await;
    assert_eq!(res.status, 400, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(
        res.json()["message"],
        "name in URL does not match name in Eviction object"
    );
    // dryRun in the delete options: nothing happens.
    let res = http
        .post(
            &url,
            &json!({"apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": "web", "namespace": "default"},
            "deleteOptions": {"dryRun": ["All"]}}),
        )
        .await;
    assert_eq!(res.status, 201);
    assert_eq!(http.get(&format!("{PODS}/web")).await.status, 200);
    // A failed precondition in the delete options: 409, the pod stays.
    let res = http
        .post(
            &url,
            &json!({"apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": "web", "namespace": "default"},
            "deleteOptions": {"preconditions": {"uid": "not-the-uid"}}}),
        )
        .await;
    assert_eq!(res.status, 409);
    assert_eq!(http.get(&format!("{PODS}/web")).await.status, 200);

    let res = http
        .post(
            &url,
            &json!({"apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": "web", "namespace": "default"}}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(
        res.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
    );
    assert_eq!(http.get(&format!("{PODS}/web")).await.status, 404);

    // A missing pod: 404.
    let res = http
        .post(
            &url,
            &json!({"apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": "web", "namespace": "default"}}),
        )
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json()["message"], "pods \"web\" not found");
}

#[tokio::test]
async fn binding_sets_node_name_once() {
    let (_s, http) = with_pod("web").await;
    let before = http.get(&format!("{PODS}/web")).await.json();
    let url = format!("{PODS}/web/binding");
    let binding = |node: &str| {
        json!({"apiVersion": "v1", "kind": "Binding",
            "metadata": {"name": "web", "annotations": {"scheduler": "test"}},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node}})
    };
    let res = http.post(&url, &binding("node-1")).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(
        res.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
    );
    let after = http.get(&format!("{PODS}/web")).await.json();
    assert_eq!(after["spec"]["nodeName"], "node-1");
    // Like kube-apiserver's storage-level binding: nodeName, PodScheduled=True, the
    // binding's annotations; generation does not move.
    let mut expected = strip(before);
    expected["spec"]["nodeName"] = json!("node-1");
    expected["metadata"]["annotations"] = json!({"scheduler": "test"});
    let cond = &after["status"]["conditions"][0];
    assert_eq!(cond["type"], "PodScheduled");
    assert_eq!(cond["status"], "True");
    expected["status"]["conditions"] = after["status"]["conditions"].clone();
    assert_eq!(strip(after.clone()), expected);

    // Already bound: 409, nothing changes.
    let res = http.post(&url, &binding("node-2")).await;
    assert_eq!(res.status, 409);
    let body = res.json();
    assert_eq!(body["reason"], "Conflict");
    assert_eq!(
        body["message"],
        "Operation cannot be fulfilled on pods/binding \"web\": pod web is already assigned to node \"node-1\""
    );
    assert_eq!(http.get(&format!("{PODS}/web")).await.json(), after);

    // Missing pod: 404; wrong target kind: 422.
    let res = http
        .post(
            &format!("{PODS}/nope/binding"),
            &json!({"kind": "Binding",
            "metadata": {"name": "nope"}, "target": {"kind": "Node", "name": "n"}}),
        )
        .await;
    assert_eq!(res.status, 404);
    let res = http
        .post(
            &url,
            &json!({"kind": "Binding", "metadata": {"name": "web"},
            "target": {"kind": "Pod", "name": "n"}}),
        )
        .await;
    assert_eq!(res.status, 422);
}

#[tokio::test]
async fn ephemeral_containers_are_added_but_never_changed_or_removed() {
    let (_s, http) = with_pod("web").await;
    let url = format!("{PODS}/web/ephemeralcontainers");
    let res = http.get(&url).await;
    assert_eq!(res.status, 200);
    let pod = res.json();
    assert_eq!(pod["kind"], "Pod");

    // PUT: a new ephemeral container (defaulted); other spec changes are ignored.
    let mut put = pod.clone();
    put["spec"]["ephemeralContainers"] =
        json!([{"name": "debug", "image": "busybox:1.36", "targetContainerName": "app"}]);
    put["spec"]["containers"][0]["image"] = json!("nginx:9");
    put["metadata"]["labels"] = json!({"changed": "yes"});
    let res = http.put(&url, &put).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let after = res.json();
    let ec = &after["spec"]["ephemeralContainers"][0];
    assert_eq!(ec["name"], "debug");
    assert_eq!(ec["imagePullPolicy"], "IfNotPresent");
    assert_eq!(ec["terminationMessagePath"], "/dev/termination-log");
    let mut expected = strip(pod.clone());
    expected["spec"]["ephemeralContainers"] = after["spec"]["ephemeralContainers"].clone();
    expected["metadata"]["generation"] = json!(2);
    assert_eq!(strip(after.clone()), expected);
    assert_eq!(
        strip(http.get(&format!("{PODS}/web")).await.json()),
        expected
    );

    // Changing or removing an existing one: 422, nothing changes.
    let current = http.get(&format!("{PODS}/web")).await.json();
    let mut changed = current.clone();
    changed["spec"]["ephemeralContainers"][0]["image"] = json!("busybox:2");
    let res = http.put(&url, &changed).await;
    assert_eq!(res.status, 422);
    assert_eq!(res.json()["reason"], "Invalid");
    let mut removed = current.clone();
    removed["spec"]["ephemeralContainers"] = json!([]);
    let res = http.put(&url, &removed).await;
    assert_eq!(res.status, 422);
    assert!(
        res.json()["message"]
            .as_str()
            .unwrap()
            .contains("may not be removed")
    );
    assert_eq!(http.get(&format!("{PODS}/web")).await.json(), current);

    // PATCH (strategic merge) adds a second one.
    let res = http
        .send(
            "PATCH",
            &url,
            "application/strategic-merge-patch+json",
            r#"{"spec":{"ephemeralContainers":[{"name":"debug2","image":"busybox:1.36"}]}}"#,
        )
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let mut names: Vec<_> = res.json()["spec"]["ephemeralContainers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["debug", "debug2"]);
    // A name that a container already has: 422.
    let res = http
        .send(
            "PATCH",
            &url,
            "application/strategic-merge-patch+json",
            r#"{"spec":{"ephemeralContainers":[{"name":"app","image":"busybox:1.36"}]}}"#,
        )
        .await;
    assert_eq!(res.status, 422);
}

#[tokio::test]
async fn namespace_finalize_changes_only_spec_finalizers() {
    let server = TestServer::start().await.unwrap();
    server
        .seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}))
        .unwrap();
    let http = Http::new(&server);
    let ns = http.get("/api/v1/namespaces/team").await.json();
    let mut put = ns.clone();
    put["spec"] = json!({"finalizers": ["kubernetes", "example.com/x"]});
    put["metadata"]["labels"] = json!({"ignored": "yes"});
    put["status"] = json!({"phase": "Terminating"});
    let res = http.put("/api/v1/namespaces/team/finalize", &put).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let after = res.json();
    assert_eq!(after["kind"], "Namespace");
    let mut expected = strip(ns.clone());
    expected["spec"] = json!({"finalizers": ["kubernetes", "example.com/x"]});
    assert_eq!(strip(after), expected);
    assert_eq!(
        strip(http.get("/api/v1/namespaces/team").await.json()),
        expected
    );

    // Empty finalizers.
    put["spec"] = json!({"finalizers": []});
    put["metadata"]["resourceVersion"] = json!(null);
    let res = http.put("/api/v1/namespaces/team/finalize", &put).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["spec"]["finalizers"], json!([]));
    // Missing namespace: 404; name mismatch: 400.
    let res = http.put("/api/v1/namespaces/gone/finalize", &put).await;
    assert_eq!(res.status, 400);
    let mut gone = put.clone();
    gone["metadata"]["name"] = json!("gone");
    let res = http.put("/api/v1/namespaces/gone/finalize", &gone).await;
    assert_eq!(res.status, 404);
    // Only PUT.
    let res = http.get("/api/v1/namespaces/team/finalize").await;
    assert_eq!(res.status, 405);
}

const CSR: &str = "/apis/certificates.k8s.io/v1/certificatesigningrequests/alice";

async fn with_csr() -> (TestServer, Http) {
    let server = TestServer::start().await.unwrap();
    server
        .seed(
            json!({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": "alice"},
            "spec": {"request": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K",
                     "signerName": "kubernetes.io/kube-apiserver-client",
                     "usages": ["client auth"]}}),
        )
        .unwrap();
    let http = Http::new(&server);
    (server, http)
}

#[tokio::test]
async fn csr_approval_changes_only_conditions() {
    let (_s, http) = with_csr().await;
    let csr = http.get(CSR).await.json();
    let res = http.get(&format!("{CSR}/approval")).await;
    assert_eq!(res.status, 200);
    let mut put = csr.clone();
    put["status"] = json!({"conditions": [{"type": "Approved", "status": "True",
        "reason": "KubectlApprove", "message": "ok"}], "certificate": "ignored"});
    put["spec"]["usages"] = json!(["server auth"]);
    let res = http.put(&format!("{CSR}/approval"), &put).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let after = res.json();
    assert_eq!(after["kind"], "CertificateSigningRequest");
    let c = &after["status"]["conditions"][0];
    assert_eq!(c["type"], "Approved");
    assert_eq!(c["reason"], "KubectlApprove");
    assert!(c["lastUpdateTime"].is_string());
    let mut expected = strip(csr.clone());
    expected["status"] = json!({"conditions": after["status"]["conditions"].clone()});
    assert_eq!(strip(after.clone()), expected);
    assert_eq!(strip(http.get(CSR).await.json()), expected);

    // Approved and Denied at once: 422, nothing changes.
    let current = http.get(CSR).await.json();
    let res = http
        .send(
            "PATCH",
            &format!("{CSR}/approval"),
            "application/json-patch+json",
            r#"[{"op":"add","path":"/status/conditions/-","value":{"type":"Denied","status":"True"}}]"#,
        )
        .await;
    assert_eq!(res.status, 422, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(http.get(CSR).await.json(), current);

    // A merge patch replaces the conditions.
    let res = http
        .send(
            "PATCH",
            &format!("{CSR}/approval"),
            "application/merge-patch+json",
            r#"{"status":{"conditions":[{"type":"Denied","status":"True","reason":"No"}]}}"#,
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["status"]["conditions"][0]["type"], "Denied");
    assert_eq!(res.json()["spec"], csr["spec"]);
}

#[tokio::test]
async fn service_account_token_request() {
    let server = TestServer::start().await.unwrap();
    server
        .seed(json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "bot", "namespace": "default"}}))
        .unwrap();
    let http = Http::new(&server);
    let sa = http
        .get("/api/v1/namespaces/default/serviceaccounts/bot")
        .await
        .json();
    let url = "/api/v1/namespaces/default/serviceaccounts/bot/token";
    let res = http
        .post(
            url,
            &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"audiences": ["api"]}}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let tr = res.json();
    assert_eq!(tr["kind"], "TokenRequest");
    assert_eq!(tr["apiVersion"], "authentication.k8s.io/v1");
    assert_eq!(tr["metadata"]["name"], "bot");
    assert_eq!(tr["spec"]["expirationSeconds"], 3600);
    assert_eq!(tr["spec"]["audiences"], json!(["api"]));
    let token = tr["status"]["token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3);
    assert!(token.starts_with("eyJ"));
    let exp = tr["status"]["expirationTimestamp"].as_str().unwrap();
    assert!(exp.ends_with('Z') && exp.len() == 20, "{exp}");

    let res = http
        .post(
            url,
            &json!({"kind": "TokenRequest", "spec": {"expirationSeconds": 7200}}),
        )
        .await;
    assert_eq!(res.status, 201);
    assert_eq!(res.json()["spec"]["expirationSeconds"], 7200);
    let res = http
        .post(
            url,
            &json!({"kind": "TokenRequest", "spec": {"expirationSeconds": 60}}),
        )
        .await;
    assert_eq!(res.status, 422);
    // The service account did not change.
    assert_eq!(
        http.get("/api/v1/namespaces/default/serviceaccounts/bot")
            .await
            .json(),
        sa
    );
    // A missing service account: 404.
    let res = http
        .post(
            "/api/v1/namespaces/default/serviceaccounts/nobody/token",
            &json!({"kind": "TokenRequest", "spec": {}}),
        )
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(
        res.json()["message"],
        "serviceaccounts \"nobody\" not found"
    );
}

// ---- pods/log (text set through the library)

#[tokio::test]
async fn pod_log_serves_the_text_set_by_the_library() {
    let server = TestServer::start().await.unwrap();
    server
        .seed(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "one", "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}))
        .unwrap();
    server
        .seed(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "two", "namespace": "default"},
            "spec": {"containers": [{"name": "a", "image": "nginx:1.27"},
                                    {"name": "b", "image": "nginx:1.27"}]}}))
        .unwrap();
    let http = Http::new(&server);
    let before = http.get(&format!("{PODS}/one")).await.json();
    server.set_pod_log("default", "one", "app", "l1\nl2\nl3\n");
    server.set_pod_log("default", "two", "b", "from b\n");

    let res = http.get(&format!("{PODS}/one/log")).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), "text/plain");
    assert_eq!(&res.body[..], b"l1\nl2\nl3\n");
    let res = http
        .get(&format!("{PODS}/one/log?container=app&tailLines=2"))
        .await;
    assert_eq!(&res.body[..], b"l2\nl3\n");
    let res = http.get(&format!("{PODS}/one/log?limitBytes=4")).await;
    assert_eq!(&res.body[..], b"l1\nl");
    let res = http.get(&format!("{PODS}/one/log?tailLines=0")).await;
    assert_eq!(&res.body[..], b"");
    let res = http.get(&format!("{PODS}/one/log?timestamps=true")).await;
    let text = String::from_utf8(res.body.to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    let (ts, line) = lines[0].split_once(' ').unwrap();
    assert_eq!(line, "l1");
    assert!(ts.len() == 30 && ts.ends_with('Z'), "{ts}");

    let res = http.get(&format!("{PODS}/two/log?container=b")).await;
    assert_eq!(&res.body[..], b"from b\n");
    let res = http.get(&format!("{PODS}/two/log?container=a")).await;
    assert_eq!(res.status, 200);
    assert_eq!(&res.body[..], b"");

    // Errors.
    let res = http.get(&format!("{PODS}/two/log")).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["message"],
        "a container name must be specified for pod two, choose one of: [a b]"
    );
    let res = http.get(&format!("{PODS}/one/log?container=nope")).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["message"],
        "container nope is not valid for pod one"
    );
    let res = http.get(&format!("{PODS}/missing/log")).await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json()["message"], "pods \"missing\" not found");
    let res = http.get(&format!("{PODS}/one/log?previous=true")).await;
    assert_eq!(res.status, 400);
    let res = http.get(&format!("{PODS}/one/log?tailLines=-1")).await;
    assert_eq!(res.status, 422);
    server.set_previous_pod_log("default", "one", "app", "before restart\n");
    let res = http.get(&format!("{PODS}/one/log?previous=true")).await;
    assert_eq!(res.status, 200);
    assert_eq!(&res.body[..], b"before restart\n");

    // Reading logs changes nothing.
    assert_eq!(http.get(&format!("{PODS}/one")).await.json(), before);
}

#[tokio::test]
async fn pod_log_follow_streams_appended_text_until_the_pod_goes() {
    use http_body_util::BodyExt as _;
    let (server, http) = with_pod("web").await;
    server.set_pod_log("default", "web", "app", "first\n");
    let res = http
        .start("GET", &format!("{PODS}/web/log?follow=true"), &[], "")
        .await;
    assert_eq!(res.status(), 200);
    let mut body = res.into_body();
    let mut got = Vec::new();
    let mut next = async |got: &mut Vec<u8>| {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame())
            .await
            .expect("a frame in time");
        match frame {
            Some(f) => {
                if let Ok(d) = f.expect("frame").into_data() {
                    got.extend_from_slice(&d);
                }
                true
            }
            None => false,
        }
    };
    assert!(next(&mut got).await);
    assert_eq!(got, b"first\n");
    server.append_pod_log("default", "web", "app", "second\n");
    assert!(next(&mut got).await);
    assert_eq!(got, b"first\nsecond\n");
    // Deleting the pod ends the stream.
    assert_eq!(http.delete(&format!("{PODS}/web")).await.status, 200);
    while next(&mut got).await {}
    assert_eq!(got, b"first\nsecond\n");
}
