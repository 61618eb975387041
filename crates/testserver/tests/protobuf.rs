//! Protobuf, as kube-apiserver v1.36.2 speaks it for built-in kinds. The server's own
//! transcoder is first checked against bytes a real kube-apiserver wrote
//! (`tests/fixtures/protobuf/`, see its README): each recorded body decodes to its recorded
//! JSON twin, and encodes back to the very same bytes. Then the server is asked what the
//! recordings asked, with the same Accept and Content-Type, and its protobuf answers must
//! decode to what it answers in JSON, with the recorded statuses and content types.

mod common;
use common::*;
use kubecto_testserver::protobuf_json::{decode, decode_watch, encode, encode_watch_event};
use serde_json::{Value, json};

const PB: &str = "application/vnd.kubernetes.protobuf";

fn fixture(name: &str) -> Vec<u8> {
    let p = format!(
        "{}/tests/fixtures/protobuf/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

/// Samples recorded twice, in protobuf and in JSON.
const TWINS: &[&str] = &[
    "get-pod",
    "get-deployment",
    "get-secret",
    "get-service",
    "get-namespace",
    "get-node-list-empty",
    "list-pods",
    "list-pods-limit2",
];

/// Every recorded protobuf object body (not the watch streams).
const BODIES: &[&str] = &[
    "get-pod",
    "get-deployment",
    "get-secret",
    "get-service",
    "get-namespace",
    "get-node-list-empty",
    "list-pods",
    "list-pods-limit2",
    "create-configmap-dry-run",
    "create-configmap-with-protobuf-body",
    "create-configmap-with-protobuf-body-409",
    "custom-resource-accept-pb-only",
    "error-404-accept-pb",
    "error-404-accept-pbjson",
];

/// Where two JSON values differ, as paths.
fn diff(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let p = format!("{path}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(v), Some(w)) => diff(v, w, &p, out),
                    (v, w) => out.push(format!("{p}: {v:?} vs {w:?}")),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                diff(v, w, &format!("{path}[{i}]"), out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} vs {b}")),
        _ => {}
    }
}

fn differences(a: &Value, b: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff(a, b, "", &mut out);
    out
}

#[test]
fn recorded_protobuf_decodes_to_its_recorded_json_twin() {
    for name in TWINS {
        let decoded =
            decode(&fixture(&format!("{name}.bin"))).unwrap_or_else(|e| panic!("{name}.bin: {e}"));
        let json = fixture_json(&format!("{name}.json"));
        let rv = |v: &Value| v["metadata"]["resourceVersion"].clone();
        if rv(&decoded) == rv(&json) {
            assert_eq!(differences(&decoded, &json), Vec::<String>::new(), "{name}");
        } else {
            // The deployment controller wrote between the two requests (a revision
            // annotation, a condition): what the client wrote must still agree.
            assert_eq!(
                name, &"get-deployment",
                "{name} was recorded at two versions"
            );
            assert_eq!(
                differences(&decoded["spec"], &json["spec"]),
                Vec::<String>::new()
            );
            let first = |v: &Value| v["metadata"]["managedFields"][0].clone();
            assert_eq!(first(&decoded), first(&json));
        }
    }
}

#[test]
fn recorded_objects_encode_back_to_the_recorded_bytes() {
    for name in BODIES {
        let bytes = fixture(&format!("{name}.bin"));
        let decoded = decode(&bytes).unwrap_or_else(|e| panic!("{name}.bin: {e}"));
        let again = encode(&decoded).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            again == bytes,
            "{name}: re-encoded bytes differ from the recording"
        );
        // And from the JSON twin, where there is one: JSON -> protobuf -> JSON.
        if TWINS.contains(name) && *name != "get-deployment" {
            let json = fixture_json(&format!("{name}.json"));
            let via = encode(&json).unwrap_or_else(|e| panic!("{name}.json: {e}"));
            assert!(
                via == bytes,
                "{name}.json encodes to other bytes than recorded"
            );
            assert_eq!(decode(&via).unwrap(), json, "{name}: JSON round trip");
        }
    }
}

#[test]
fn recorded_answers_say_what_the_readme_says() {
    let secret = decode(&fixture("get-secret.bin")).unwrap();
    assert!(secret["data"].as_object().is_some_and(|d| !d.is_empty()));
    let dep = decode(&fixture("get-deployment.bin")).unwrap();
    assert_eq!(dep["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    let page = decode(&fixture("list-pods-limit2.bin")).unwrap();
    assert_eq!(page["kind"], "PodList");
    assert!(page["metadata"]["continue"].is_string());
    assert!(page["metadata"]["remainingItemCount"].is_number());
    let cm = decode(&fixture("create-configmap-dry-run.bin")).unwrap();
    assert!(cm["binaryData"].is_object(), "{cm}");
    for name in ["error-404-accept-pb", "error-404-accept-pbjson"] {
        let status = decode(&fixture(&format!("{name}.bin"))).unwrap();
        assert_eq!(
            (&status["kind"], &status["code"], &status["reason"]),
            (&json!("Status"), &json!(404), &json!("NotFound"))
        );
    }
    let conflict = decode(&fixture("create-configmap-with-protobuf-body-409.bin")).unwrap();
    assert_eq!(conflict["reason"], "AlreadyExists");
    let refused = decode(&fixture("custom-resource-accept-pb-only.bin")).unwrap();
    assert_eq!(refused["code"], 406);
}

#[test]
fn recorded_watch_streams_decode_frame_by_frame() {
    let events = decode_watch(&fixture("watch-pods-stream.bin")).unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(&types[..4], ["ADDED", "MODIFIED", "MODIFIED", "DELETED"]);
    assert!(types[4..].iter().all(|t| *t == "BOOKMARK") && types.len() > 4);
    assert_eq!(events[0]["object"]["kind"], "Pod");
    let bookmark = &events[4]["object"];
    assert!(
        bookmark["metadata"]["resourceVersion"].is_string(),
        "{bookmark}"
    );
    let old = decode_watch(&fixture("watch-too-old-resource-version.bin")).unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!(old[0]["type"], "ERROR");
    assert_eq!(old[0]["object"]["code"], 410);
    assert_eq!(old[0]["object"]["reason"], "Expired");
}

#[test]
fn recorded_watch_streams_encode_back_to_the_recorded_bytes() {
    for name in [
        "watch-pods-stream.bin",
        "watch-too-old-resource-version.bin",
    ] {
        let recorded = fixture(name);
        let mut again = Vec::new();
        for event in decode_watch(&recorded).unwrap() {
            let kind = event["type"].as_str().unwrap();
            again.extend(encode_watch_event(kind, &event["object"]).unwrap());
        }
        assert!(again == recorded, "{name}: other bytes than recorded");
    }
}

/// Every recorded body cut short, and with bytes changed (every byte of the small ones,
/// every few of the large), decodes to something or fails with an offset inside the body:
/// never a panic.
#[test]
fn damaged_recorded_bytes_fail_cleanly() {
    let mut checked = 0;
    let names = BODIES.iter().map(|n| format!("{n}.bin"));
    let streams = [
        "watch-pods-stream.bin",
        "watch-too-old-resource-version.bin",
    ];
    for name in names.chain(streams.iter().map(|s| (*s).to_owned())) {
        let good = fixture(&name);
        let stream = name.starts_with("watch");
        let try_decode = |bytes: &[u8]| {
            let offset = if stream {
                decode_watch(bytes).err()
            } else {
                decode(bytes).err()
            }
            .map(|e| e.offset.expect("a decoding error has an offset"));
            if let Some(at) = offset {
                assert!(
                    at <= bytes.len(),
                    "{name}: offset {at} past {}",
                    bytes.len()
                );
            }
        };
        let step = good.len() / 250 + 1;
        for len in (0..good.len()).step_by(step) {
            try_decode(&good[..len]);
            checked += 1;
        }
        for i in (0..good.len()).step_by(step) {
            for b in [0x00, 0x80, 0xff, good[i] ^ 0x07] {
                let mut bad = good.clone();
                bad[i] = b;
                try_decode(&bad);
                checked += 1;
            }
        }
        // A cut body of an object is always refused.
        if !stream {
            assert!(decode(&good[..good.len() - 1]).is_err(), "{name}");
        }
    }
    assert!(checked > 10_000, "{checked}");
}

// ---------------------------------------------------------------------------------------
// The server, asked what the recordings asked.

const NS: &str = "/api/v1/namespaces/pb-ltqtx";

async fn server() -> (TestServer, Http) {
    let server = TestServer::start().await.unwrap();
    server
        .seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "pb-ltqtx"}}))
        .unwrap();
    let http = Http::new(&server);
    (server, http)
}

/// A recorded object as something to create: its content without what the server sets.
fn as_sent(recorded: &Value) -> Value {
    let mut v = recorded.clone();
    let meta = v["metadata"].as_object_mut().unwrap();
    for k in [
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "managedFields",
        "generation",
    ] {
        meta.remove(k);
    }
    v
}

/// GET with an Accept header; checks the protobuf answer against the JSON one.
async fn get_both(http: &Http, path: &str) -> (Answer, Value) {
    let pb = http.get_accept(path, PB).await;
    let json = http.get_accept(path, "application/json").await;
    assert_eq!(pb.status, json.status, "{path}");
    assert_eq!(pb.header("content-type"), PB, "{path}");
    let decoded = decode(&pb.body).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(
        differences(&decoded, &json.json()),
        Vec::<String>::new(),
        "{path}"
    );
    (pb, decoded)
}

#[tokio::test]
async fn objects_are_served_in_protobuf_as_they_are_in_json() {
    let (server, http) = server().await;
    for (name, path) in [
        ("get-pod", format!("{NS}/pods/web")),
        ("get-service", format!("{NS}/services/web")),
        ("get-secret", format!("{NS}/secrets/s")),
        (
            "get-deployment",
            "/apis/apps/v1/namespaces/pb-ltqtx/deployments/web".to_owned(),
        ),
    ] {
        let recorded = decode(&fixture(&format!("{name}.bin"))).unwrap();
        server.seed(as_sent(&recorded)).unwrap();
        let (_, decoded) = get_both(&http, &path).await;
        // What was sent comes back in the fields the recording has.
        let sent = as_sent(&recorded);
        for key in ["data", "type"] {
            assert_eq!(decoded[key], sent[key], "{name}: {key}");
        }
        if name != "get-secret" {
            let spec = &decoded["spec"];
            assert_eq!(spec["selector"], sent["spec"]["selector"], "{name}");
        }
    }
    let (_, ns) = get_both(&http, NS).await;
    assert_eq!(ns["kind"], "Namespace");
    // An empty list, as recorded: `items: []`.
    let (_, nodes) = get_both(&http, "/api/v1/nodes").await;
    let recorded = decode(&fixture("get-node-list-empty.bin")).unwrap();
    assert_eq!(
        (&nodes["kind"], &nodes["items"]),
        (&recorded["kind"], &json!([]))
    );
}

#[tokio::test]
async fn lists_and_their_pages_are_served_in_protobuf() {
    let (server, http) = server().await;
    let recorded = fixture_json("list-pods.json");
    for item in recorded["items"].as_array().unwrap() {
        let mut pod = as_sent(item);
        pod["kind"] = json!("Pod");
        pod["apiVersion"] = json!("v1");
        server.seed(pod).unwrap();
    }
    let (_, list) = get_both(&http, &format!("{NS}/pods")).await;
    assert_eq!(list["kind"], "PodList");
    assert_eq!(list["items"].as_array().unwrap().len(), 4);
    let (_, page) = get_both(&http, &format!("{NS}/pods?limit=2")).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["metadata"]["remainingItemCount"], 2);
    assert!(page["metadata"]["continue"].is_string());
}

#[tokio::test]
async fn errors_are_protobuf_statuses_byte_for_byte() {
    let (_server, http) = server().await;
    for (accept, name) in [
        (PB.to_owned(), "error-404-accept-pb"),
        (format!("{PB},application/json"), "error-404-accept-pbjson"),
    ] {
        let res = http
            .get_accept(&format!("{NS}/pods/missing"), &accept)
            .await;
        assert_eq!(res.status, 404);
        assert_eq!(res.header("content-type"), PB);
        let recorded = fixture(&format!("{name}.bin"));
        assert_eq!(decode(&res.body).unwrap(), decode(&recorded).unwrap());
        assert!(
            res.body == recorded,
            "{name}: other bytes than kube-apiserver's"
        );
    }
}

async fn post_pb(http: &Http, path: &str, body: Vec<u8>) -> Answer {
    post_pb_accept(http, path, body, PB).await
}

async fn post_pb_accept(http: &Http, path: &str, body: Vec<u8>, accept: &str) -> Answer {
    let res = http
        .start(
            "POST",
            path,
            &[("content-type", PB), ("accept", accept)],
            body,
        )
        .await;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn a_protobuf_body_creates_and_conflicts_as_recorded() {
    let (_server, http) = server().await;
    let body = fixture("create-configmap-dry-run.bin");
    let sent = decode(&body).unwrap();
    let created = post_pb(&http, &format!("{NS}/configmaps"), body.clone()).await;
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(created.header("content-type"), PB);
    let cm = decode(&created.body).unwrap();
    let recorded = decode(&fixture("create-configmap-with-protobuf-body.bin")).unwrap();
    for key in ["kind", "apiVersion", "data", "binaryData"] {
        assert_eq!(cm[key], recorded[key], "{key}");
    }
    assert_eq!(cm["metadata"]["name"], sent["metadata"]["name"]);
    let json = http
        .get(&format!(
            "{NS}/configmaps/{}",
            sent["metadata"]["name"].as_str().unwrap()
        ))
        .await
        .json();
    assert_eq!(differences(&cm, &json), Vec::<String>::new());
    // The same body again: AlreadyExists, a protobuf Status like the recorded one.
    let again = post_pb(&http, &format!("{NS}/configmaps"), body).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.header("content-type"), PB);
    let recorded = fixture("create-configmap-with-protobuf-body-409.bin");
    assert_eq!(decode(&again.body).unwrap(), decode(&recorded).unwrap());
    assert!(again.body == recorded, "other bytes than kube-apiserver's");
}

#[tokio::test]
async fn a_dry_run_create_answers_in_protobuf() {
    let (_server, http) = server().await;
    let recorded = decode(&fixture("create-configmap-dry-run.bin")).unwrap();
    let res = http
        .start(
            "POST",
            &format!("{NS}/configmaps?dryRun=All"),
            &[("content-type", "application/json"), ("accept", PB)],
            as_sent(&recorded).to_string(),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["content-type"], PB);
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let cm = decode(&body).unwrap();
    assert_eq!(cm["binaryData"], recorded["binaryData"]);
    assert_eq!(cm["data"], recorded["data"]);
    let name = recorded["metadata"]["name"].as_str().unwrap();
    assert_eq!(
        http.get(&format!("{NS}/configmaps/{name}")).await.status,
        404
    );
}

#[tokio::test]
async fn a_watch_streams_protobuf_frames() {
    let (_server, http) = server().await;
    let rv = http.get(&format!("{NS}/pods")).await.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "w"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    assert_eq!(http.post(&format!("{NS}/pods"), &pod).await.status, 201);
    let label = json!({"metadata": {"labels": {"x": "y"}}});
    let patched = http
        .send(
            "PATCH",
            &format!("{NS}/pods/w"),
            "application/merge-patch+json",
            label.to_string(),
        )
        .await;
    assert_eq!(patched.status, 200);
    let gone = http
        .send(
            "DELETE",
            &format!("{NS}/pods/w?gracePeriodSeconds=0"),
            "application/json",
            "",
        )
        .await;
    assert_eq!(gone.status, 200);
    let path = format!("{NS}/pods?watch=1&resourceVersion={rv}&timeoutSeconds=1");
    let pb = http.get_accept(&path, PB).await;
    assert_eq!(pb.status, 200);
    assert_eq!(
        pb.header("content-type"),
        "application/vnd.kubernetes.protobuf;stream=watch"
    );
    let events = decode_watch(&pb.body).unwrap();
    let json = http.get_accept(&path, "application/json").await;
    let lines: Vec<Value> = json
        .body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(events.len(), lines.len());
    assert!(events.len() >= 3, "{events:?}");
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events.last().unwrap()["type"], "DELETED");
    for (e, l) in events.iter().zip(&lines) {
        assert_eq!(differences(e, l), Vec::<String>::new());
    }
    // The recorded stream is framed the same way: its frames decode with the same code.
    assert!(
        !decode_watch(&fixture("watch-pods-stream.bin"))
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_too_old_watch_is_one_protobuf_error_frame() {
    let (_server, http) = server().await;
    let res = http
        .get_accept(&format!("{NS}/pods?watch=1&resourceVersion=1"), PB)
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("content-type"),
        "application/vnd.kubernetes.protobuf;stream=watch"
    );
    let events = decode_watch(&res.body).unwrap();
    let recorded = decode_watch(&fixture("watch-too-old-resource-version.bin")).unwrap();
    assert_eq!(events.len(), 1);
    for key in ["kind", "apiVersion", "status", "reason", "code"] {
        assert_eq!(
            events[0]["object"][key], recorded[0]["object"][key],
            "{key}"
        );
    }
    assert_eq!(events[0]["type"], "ERROR");
}

#[tokio::test]
async fn custom_resources_have_no_protobuf() {
    let (server, http) = server().await;
    let schema = json!({"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}});
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.pb.example.com"},
        "spec": {"group": "pb.example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": schema}]}});
    let res = http
        .post(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            &crd,
        )
        .await;
    assert_eq!(res.status, 201);
    // The CRD itself is a built-in kind: it has a protobuf form.
    get_both(
        &http,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.pb.example.com",
    )
    .await;
    let widgets = "/apis/pb.example.com/v1/namespaces/pb-ltqtx/widgets";
    let w = fixture_json("custom-resource-accept-pb-then-json.json");
    server.seed(as_sent(&w)).unwrap();
    let only = http.get_accept(&format!("{widgets}/w"), PB).await;
    assert_eq!(only.status, 406);
    assert_eq!(only.header("content-type"), PB);
    let recorded = fixture("custom-resource-accept-pb-only.bin");
    assert_eq!(decode(&only.body).unwrap(), decode(&recorded).unwrap());
    assert!(only.body == recorded, "other bytes than kube-apiserver's");
    let then_json = http
        .get_accept(&format!("{widgets}/w"), &format!("{PB},application/json"))
        .await;
    assert_eq!(then_json.status, 200);
    assert_eq!(then_json.header("content-type"), "application/json");
    assert_eq!(then_json.json()["spec"], w["spec"]);
    // So is a watch of them: a JSON stream.
    let watch = http
        .get_accept(
            &format!("{widgets}?watch=1&timeoutSeconds=1"),
            &format!("{PB},application/json"),
        )
        .await;
    assert_eq!(watch.status, 200);
    assert_eq!(watch.header("content-type"), "application/json");
    let event: Value = serde_json::from_slice(watch.body.split(|b| *b == b'\n').next().unwrap())
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&watch.body)));
    assert_eq!(
        (&event["type"], &event["object"]["kind"]),
        (&json!("ADDED"), &json!("Widget"))
    );
    // A protobuf body for a custom resource is refused: 415 when JSON may answer, and
    // 406 before the body is read when only protobuf may.
    let body = fixture("create-configmap-dry-run.bin");
    let res = post_pb_accept(&http, widgets, body.clone(), "application/json").await;
    assert_eq!(res.status, 415);
    assert_eq!(res.json()["reason"], "UnsupportedMediaType");
    assert_eq!(post_pb(&http, widgets, body).await.status, 406);
}

#[tokio::test]
async fn a_table_asked_for_in_protobuf_first_is_json() {
    let (_server, http) = server().await;
    let accept = format!(
        "{PB};as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    );
    let res = http.get_accept(&format!("{NS}/pods"), &accept).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), "application/json");
    assert_eq!(res.json()["kind"], "Table");
    let recorded = fixture_json("table-pods-protobuf-first.json");
    assert_eq!(recorded["kind"], "Table");
}

#[tokio::test]
async fn hostile_protobuf_bodies_are_400s_naming_the_byte() {
    let (_server, http) = server().await;
    let good = fixture("create-configmap-dry-run.bin");
    let mut bad_magic = good.clone();
    bad_magic[0] = b'j';
    // Field 1 of runtime.Unknown (typeMeta) sent as a varint: the wrong wire type.
    let wrong_wire = [&good[..4], &[0x08, 0x01]].concat();
    // typeMeta claims 200 bytes where 3 follow: the length, at byte 5, is refused.
    let past_end = [&good[..4], &[0x0a, 0xc8, 0x01, 0x0a, 0x01, b'v']].concat();
    for (what, body, offset) in [
        ("truncated", good[..good.len() - 7].to_vec(), None),
        ("bad magic", bad_magic, Some(0)),
        ("length past the end", past_end, Some(5)),
        ("wrong wire type", wrong_wire, Some(4)),
        ("empty", Vec::new(), Some(0)),
    ] {
        let res = post_pb(&http, &format!("{NS}/configmaps"), body).await;
        assert_eq!(res.status, 400, "{what}");
        let status = decode(&res.body).unwrap();
        assert_eq!(status["reason"], "BadRequest", "{what}");
        let message = status["message"].as_str().unwrap();
        let at = message
            .rsplit_once(" at byte ")
            .map(|(_, n)| n.parse::<usize>().unwrap())
            .unwrap_or_else(|| panic!("{what}: no byte offset in {message:?}"));
        if let Some(offset) = offset {
            assert_eq!(at, offset, "{what}: {message}");
        }
    }
    // The server is still there.
    assert_eq!(http.get(NS).await.status, 200);
}

#[tokio::test]
async fn an_unauthenticated_request_is_refused_in_protobuf() {
    let server = TestServer::builder()
        .require_token("secret")
        .start()
        .await
        .unwrap();
    let http = Http::new(&server);
    let res = http.get_accept("/api/v1/namespaces/default/pods", PB).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.header("content-type"), PB);
    let status = decode(&res.body).unwrap();
    assert_eq!(
        (&status["reason"], &status["code"]),
        (&json!("Unauthorized"), &json!(401))
    );
    let json = http.get("/api/v1/namespaces/default/pods").await;
    assert_eq!(json.header("content-type"), "application/json");
    assert_eq!(decode(&res.body).unwrap(), json.json());
}
