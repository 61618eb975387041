//! `GET /openapi/v2`: one Swagger 2.0 document of every built-in and CRD schema, as JSON
//! or as the gnostic protobuf kubectl before 1.29 asks for, negotiated as kube-apiserver
//! negotiates it.

mod common;
use common::*;
use serde_json::{Value, json};

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
/// What client-go's `OpenAPISchema()` sends.
const PROTOBUF_AS_CLIENT_GO_ASKS: &str =
    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

fn gadget_crd() -> Value {
    let schema = json!({"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "required": ["size"], "properties": {
            "size": {"type": "integer", "minimum": 1},
            "color": {"type": "string", "enum": ["red", "blue"]},
        }},
    }}});
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": schema}]}})
}

/// The fields numbered `n` of a protobuf message (length-delimited ones only).
fn field(mut b: &[u8], n: u64) -> Vec<&[u8]> {
    fn varint(b: &mut &[u8]) -> u64 {
        let mut v = 0;
        for shift in (0..64).step_by(7) {
            let byte = b[0];
            *b = &b[1..];
            v |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                break;
            }
        }
        v
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b);
        match key & 7 {
            0 => {
                varint(&mut b);
            }
            1 => b = &b[8..],
            2 => {
                let len = varint(&mut b) as usize;
                if key >> 3 == n {
                    out.push(&b[..len]);
                }
                b = &b[len..];
            }
            w => panic!("wire type {w}"),
        }
    }
    out
}

/// Definition name -> encoded `Schema`, over every `definitions` field (a parser merges
/// them all).
fn definitions(doc: &[u8]) -> Vec<(String, &[u8])> {
    field(doc, 9)
        .into_iter()
        .flat_map(|defs| field(defs, 1))
        .map(|named| {
            let name = String::from_utf8(field(named, 1)[0].to_vec()).unwrap();
            (name, field(named, 2)[0])
        })
        .collect()
}

#[tokio::test]
async fn the_json_document_has_the_builtin_kinds_with_paths() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let res = http.get_accept("/openapi/v2", "application/json").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), "application/json");
    assert_eq!(res.header("vary"), "Accept");
    let etag = res.header("etag");
    assert_eq!(etag.len(), 130, "a quoted SHA-512: {etag}");
    let doc = res.json();
    assert_eq!(doc["swagger"], "2.0");
    assert_eq!(doc["info"]["title"], "Kubernetes");
    let pod = &doc["definitions"]["io.k8s.api.core.v1.Pod"];
    assert_eq!(pod["type"], "object");
    assert_eq!(
        pod["x-kubernetes-group-version-kind"],
        json!([{"group": "", "kind": "Pod", "version": "v1"}])
    );
    assert_eq!(
        pod["properties"]["metadata"]["$ref"],
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    let containers = &doc["definitions"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
    assert_eq!(
        containers["items"]["$ref"],
        "#/definitions/io.k8s.api.core.v1.Container"
    );
    // v2 has no oneOf: IntOrString is a string of format int-or-string.
    assert_eq!(
        doc["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["type"],
        "string"
    );
    let deployments = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"];
    let post = &deployments["post"];
    assert_eq!(
        post["x-kubernetes-group-version-kind"],
        json!({"group": "apps", "version": "v1", "kind": "Deployment"})
    );
    let body = post["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["in"] == "body")
        .expect("a body parameter");
    assert_eq!(
        body["schema"]["$ref"],
        "#/definitions/io.k8s.api.apps.v1.Deployment"
    );
    assert_eq!(
        post["responses"]["201"]["schema"]["$ref"],
        "#/definitions/io.k8s.api.apps.v1.Deployment"
    );
    // Asked again: the same document, the same ETag.
    let again = http.get("/openapi/v2").await;
    assert_eq!(again.header("content-type"), "application/json");
    assert_eq!(again.header("etag"), etag);
}

#[tokio::test]
async fn a_crd_schema_is_a_definition_until_the_crd_goes() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let before = http.get("/openapi/v2").await.header("etag").to_owned();
    let res = http.post(CRDS, &gadget_crd()).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let res = http.get("/openapi/v2").await;
    assert_ne!(res.header("etag"), before, "a new document, a new ETag");
    let doc = res.json();
    let gadget = &doc["definitions"]["com.example.v1.Gadget"];
    assert_eq!(
        gadget["x-kubernetes-group-version-kind"],
        json!([{"group": "example.com", "version": "v1", "kind": "Gadget"}])
    );
    let spec = &gadget["properties"]["spec"];
    assert_eq!(spec["required"], json!(["size"]));
    assert_eq!(
        spec["properties"]["size"],
        json!({"minimum": 1, "type": "integer"})
    );
    assert_eq!(
        gadget["properties"]["metadata"]["$ref"],
        "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    assert!(doc["definitions"]["com.example.v1.GadgetList"].is_object());
    let patch =
        &doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/gadgets/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        json!({"group": "example.com", "version": "v1", "kind": "Gadget"})
    );
    // The built-in definitions are still there once.
    assert!(doc["definitions"]["io.k8s.api.core.v1.Pod"].is_object());

    http.delete(&format!("{CRDS}/gadgets.example.com")).await;
    let res = http.get("/openapi/v2").await;
    assert_eq!(res.header("etag"), before);
    assert!(
        res.json()["definitions"]
            .get("com.example.v1.Gadget")
            .is_none()
    );
}

#[tokio::test]
async fn client_go_gets_protobuf_with_builtin_and_crd_definitions() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let res = http.post(CRDS, &gadget_crd()).await;
    assert_eq!(res.status, 201);
    let json_etag = http.get("/openapi/v2").await.header("etag").to_owned();
    let res = http
        .get_accept("/openapi/v2", PROTOBUF_AS_CLIENT_GO_ASKS)
        .await;
    assert_eq!(res.status, 200);
    // kube-openapi answers the deprecated name with the current one.
    assert_eq!(res.header("content-type"), PROTOBUF);
    assert_eq!(res.header("etag"), json_etag, "the ETag is the JSON's");
    let doc = &res.body[..];
    assert_eq!(field(doc, 1), [b"2.0"]);
    let defs = definitions(doc);
    let pod = defs
        .iter()
        .find(|(n, _)| n == "io.k8s.api.core.v1.Pod")
        .expect("Pod")
        .1;
    // vendor_extension (31): x-kubernetes-group-version-kind, its value as YAML.
    let gvk = field(pod, 31)
        .into_iter()
        .find(|ext| field(ext, 1) == [b"x-kubernetes-group-version-kind"])
        .expect("the Pod's kind");
    let yaml = field(field(gvk, 2)[0], 2)[0];
    assert_eq!(
        serde_json::from_slice::<Value>(yaml).unwrap(),
        json!([{"group": "", "kind": "Pod", "version": "v1"}])
    );
    let gadget = defs
        .iter()
        .find(|(n, _)| n == "com.example.v1.Gadget")
        .expect("the CRD's definition")
        .1;
    // type (22) is a TypeItem holding "object".
    assert_eq!(field(field(gadget, 22)[0], 1), [b"object"]);
    // No definition twice (the CRD document repeats the apimachinery ones).
    let mut names: Vec<&str> = defs.iter().map(|(n, _)| n.as_str()).collect();
    let all = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), all);
    // Paths (8) hold the CRD's too.
    let paths: Vec<&[u8]> = field(doc, 8)
        .into_iter()
        .flat_map(|p| field(p, 2))
        .map(|named| field(named, 1)[0])
        .collect();
    assert!(paths.contains(&&b"/apis/example.com/v1/namespaces/{namespace}/gadgets"[..]));
    assert!(paths.contains(&&b"/api/v1/namespaces/{namespace}/pods"[..]));
}

#[tokio::test]
async fn the_media_type_is_negotiated_as_kube_openapi_does() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let type_for = async |accept: &str| {
        let res = http.get_accept("/openapi/v2", accept).await;
        (
            res.status,
            res.header("content-type").to_owned(),
            res.body.len(),
        )
    };
    // Highest quality first; JSON for */*.
    assert_eq!(
        type_for(&format!("application/json;q=0.5, {PROTOBUF}"))
            .await
            .1,
        PROTOBUF
    );
    assert_eq!(type_for("*/*").await.1, "application/json");
    assert_eq!(type_for("application/*").await.1, "application/json");
    assert_eq!(
        type_for(&format!("text/html, {PROTOBUF};q=0.9")).await.1,
        PROTOBUF
    );
    // Nothing acceptable: 406 with an empty body.
    let (status, _, len) = type_for("text/html").await;
    assert_eq!((status, len), (406, 0));
    let (status, _, _) = type_for("application/yaml").await;
    assert_eq!(status, 406);
}
