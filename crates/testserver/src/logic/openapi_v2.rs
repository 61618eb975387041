//! OpenAPI v2 (Swagger 2.0): the one document kube-apiserver serves at `/openapi/v2`,
//! built here from the same schemas as the v3 documents (the recorded ones and one per
//! CRD group-version), the way kube-openapi and the apiextensions server write v2.
//!
//! Definitions keep their v3 names (`io.k8s.api.core.v1.Pod`) and
//! `x-kubernetes-group-version-kind` (the kinds of a schema several documents share are
//! merged); `$ref`s point into `#/definitions/`. What v2 cannot say is left out, as
//! kube-apiserver leaves it out: `oneOf`/`anyOf`/`allOf`/`not` (a one-element `allOf`
//! around a `$ref` becomes the `$ref`; `IntOrString` and `Quantity` become strings, as
//! their v2 type says), `nullable` (which also drops the type, items and properties, as
//! for `x-kubernetes-preserve-unknown-fields`, the way kubectl copes with them). Paths keep
//! their operations, with parameters, a `body` parameter for the request body, and
//! responses with their schema.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::logic::{gnostic, openapi};

/// The title and version the document's `info` carries.
const TITLE: &str = "Kubernetes";

fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let v: Value = serde_json::from_str(include_str!("../../data/discovery/version.json"))
            .unwrap_or_default();
        v["gitVersion"].as_str().unwrap_or("v1.36.0").to_owned()
    })
}

/// Paths and definitions of a v2 document.
#[derive(Default)]
struct Parts {
    paths: Map<String, Value>,
    definitions: Map<String, Value>,
}

impl Parts {
    /// Add a v3 document's paths and schemas (a schema already present only gains the
    /// kinds it names).
    fn add(&mut self, doc: &Value) {
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            self.paths
                .entry(path.clone())
                .or_insert_with(|| path_item(item));
        }
        for (name, s) in doc["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let converted = schema(s);
            match self.definitions.get_mut(name) {
                None => {
                    self.definitions.insert(name.clone(), converted);
                }
                Some(existing) => merge_kinds(existing, &converted),
            }
        }
    }
}

/// Union of `x-kubernetes-group-version-kind`, in the order first seen.
fn merge_kinds(into: &mut Value, from: &Value) {
    const GVK: &str = "x-kubernetes-group-version-kind";
    let Some(more) = from[GVK].as_array() else {
        return;
    };
    let Some(obj) = into.as_object_mut() else {
        return;
    };
    let list = obj.entry(GVK).or_insert_with(|| json!([]));
    if let Some(list) = list.as_array_mut() {
        for gvk in more {
            if !list.contains(gvk) {
                list.push(gvk.clone());
            }
        }
    }
}

/// The built-in part, converted once: its paths and definitions as JSON object members
/// (without braces, to splice CRDs' in) and as protobuf.
struct Builtin {
    paths_json: String,
    definitions_json: String,
    protobuf: Vec<u8>,
    /// Definition names (a CRD document repeats the `io.k8s.apimachinery` ones).
    names: std::collections::HashSet<String>,
}

fn builtin() -> &'static Builtin {
    static BUILTIN: OnceLock<Builtin> = OnceLock::new();
    BUILTIN.get_or_init(|| {
        let mut parts = Parts::default();
        // Parsed one at a time and dropped: only the v2 result stays.
        for bytes in openapi::documents() {
            if let Ok(doc) = serde_json::from_slice::<Value>(bytes) {
                parts.add(&doc);
            }
        }
        Builtin {
            paths_json: members(&parts.paths),
            definitions_json: members(&parts.definitions),
            protobuf: gnostic::document(Some((TITLE, version())), &parts.paths, &parts.definitions),
            names: parts.definitions.keys().cloned().collect(),
        }
    })
}

/// `"k":v,"k2":v2`: an object's members without the braces.
fn members(m: &Map<String, Value>) -> String {
    let text = serde_json::to_string(m).unwrap_or_else(|_| "{}".to_owned());
    text[1..text.len() - 1].to_owned()
}

/// What CRD documents (v3, as `crd::openapi_document` writes them) add to the built-in
/// part: their paths, and the definitions the built-in part lacks.
fn custom_parts(crd_docs: &[Value]) -> Parts {
    let mut parts = Parts::default();
    for doc in crd_docs {
        parts.add(doc);
    }
    let known = &builtin().names;
    parts.definitions.retain(|name, _| !known.contains(name));
    parts
}

/// The whole document as JSON.
pub(crate) fn document_json(crd_docs: &[Value]) -> Vec<u8> {
    let b = builtin();
    let custom = custom_parts(crd_docs);
    let join = |base: &str, extra: &Map<String, Value>| {
        let extra = members(extra);
        match (base.is_empty(), extra.is_empty()) {
            (_, true) => base.to_owned(),
            (true, false) => extra,
            (false, false) => format!("{base},{extra}"),
        }
    };
    let info = json!({"title": TITLE, "version": version()});
    format!(
        "{{\"swagger\":\"2.0\",\"info\":{info},\"paths\":{{{}}},\"definitions\":{{{}}}}}",
        join(&b.paths_json, &custom.paths),
        join(&b.definitions_json, &custom.definitions)
    )
    .into_bytes()
}

/// The whole document as gnostic's `openapi.v2.Document` protobuf.
pub(crate) fn document_protobuf(crd_docs: &[Value]) -> Vec<u8> {
    let b = builtin();
    let custom = custom_parts(crd_docs);
    let mut out = b.protobuf.clone();
    // Concatenated messages merge: the CRDs' paths and definitions join the built-in ones.
    out.extend(gnostic::document(None, &custom.paths, &custom.definitions));
    out
}

/// `#/components/schemas/X` -> `#/definitions/X`.
fn reference(r: &str) -> String {
    match r.strip_prefix("#/components/schemas/") {
        Some(name) => format!("#/definitions/{name}"),
        None => r.to_owned(),
    }
}

/// Keys a v2 schema shares with v3 and keeps as they are.
const PLAIN: &[&str] = &[
    "description",
    "title",
    "format",
    "default",
    "required",
    "enum",
    "maximum",
    "minimum",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxProperties",
    "minProperties",
    "multipleOf",
    "readOnly",
    "example",
];

/// One v3 schema as v2.
fn schema(v: &Value) -> Value {
    let Some(s) = v.as_object() else {
        return json!({});
    };
    let mut out = Map::new();
    // A `$ref`, bare or in a one-element `allOf`, keeps only what v2 allows beside it.
    let one_ref = v["allOf"]
        .as_array()
        .filter(|a| a.len() == 1)
        .and_then(|a| a[0]["$ref"].as_str());
    if let Some(r) = s.get("$ref").and_then(Value::as_str).or(one_ref) {
        out.insert("$ref".into(), json!(reference(r)));
        for key in ["description", "default"] {
            if let Some(x) = s.get(key) {
                out.insert(key.into(), x.clone());
            }
        }
        extensions(s, &mut out);
        return Value::Object(out);
    }
    for key in PLAIN {
        if let Some(x) = s.get(*key) {
            out.insert((*key).into(), x.clone());
        }
    }
    // kube-openapi's v2 type of the v3 one-of types: string when one of them is.
    let one_of_type = v["oneOf"].as_array().and_then(|types| {
        let names: Vec<&str> = types.iter().filter_map(|t| t["type"].as_str()).collect();
        names
            .contains(&"string")
            .then_some("string")
            .or(names.first().copied())
    });
    if let Some(t) = s.get("type").cloned().or(one_of_type.map(|t| json!(t))) {
        out.insert("type".into(), t);
    }
    if let Some(items) = s.get("items") {
        out.insert("items".into(), schema(items));
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        let converted: Map<String, Value> =
            props.iter().map(|(k, p)| (k.clone(), schema(p))).collect();
        out.insert("properties".into(), Value::Object(converted));
        // A nullable field is not required in v2 (a null would fail the check).
        let nullable: Vec<&String> = props
            .iter()
            .filter(|(_, p)| p["nullable"] == true)
            .map(|(k, _)| k)
            .collect();
        if let Some(req) = out.get_mut("required").and_then(Value::as_array_mut) {
            req.retain(|r| !nullable.iter().any(|n| r == n.as_str()));
        }
    }
    match s.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            out.insert("additionalProperties".into(), json!(b));
        }
        Some(sub @ Value::Object(_)) => {
            out.insert("additionalProperties".into(), schema(sub));
        }
        _ => {}
    }
    extensions(s, &mut out);
    // What kubectl cannot cope with, removed as the apiextensions server removes it
    // (`ToStructuralOpenAPIV2`).
    if s.get("nullable") == Some(&Value::Bool(true)) {
        for key in ["type", "items", "properties"] {
            out.remove(key);
        }
    }
    if s.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        out.remove("items");
        out.remove("properties");
    }
    if out.get("type") == Some(&json!("array")) && !out.contains_key("items") {
        out.remove("type");
    }
    Value::Object(out)
}

fn extensions(from: &Map<String, Value>, to: &mut Map<String, Value>) {
    for (k, v) in from.iter().filter(|(k, _)| k.starts_with("x-")) {
        to.insert(k.clone(), v.clone());
    }
}

/// One v3 path item as v2.
fn path_item(v: &Value) -> Value {
    let Some(item) = v.as_object() else {
        return json!({});
    };
    let mut out = Map::new();
    for (key, value) in item {
        match key.as_str() {
            "get" | "put" | "post" | "delete" | "options" | "head" | "patch" => {
                out.insert(key.clone(), operation(value));
            }
            "parameters" => {
                let params: Vec<Value> = value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(parameter)
                    .collect();
                out.insert(key.clone(), Value::Array(params));
            }
            k if k.starts_with("x-") => {
                out.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
    Value::Object(out)
}

/// A v3 parameter (`schema` holds its type) as v2 (the type on the parameter).
fn parameter(p: &Value) -> Value {
    let mut out = Map::new();
    for key in ["name", "in", "description", "required"] {
        if let Some(x) = p.get(key) {
            out.insert(key.into(), x.clone());
        }
    }
    if let Some(s) = p["schema"].as_object() {
        for key in ["type", "format", "uniqueItems", "default", "enum"] {
            if let Some(x) = s.get(key) {
                out.insert(key.into(), x.clone());
            }
        }
    }
    Value::Object(out)
}

/// A v3 operation as v2: `requestBody` becomes a `body` parameter and `consumes`,
/// response contents become `produces` and each response's `schema`.
fn operation(v: &Value) -> Value {
    let Some(op) = v.as_object() else {
        return json!({});
    };
    let mut out = Map::new();
    for key in [
        "tags",
        "summary",
        "description",
        "operationId",
        "deprecated",
    ] {
        if let Some(x) = op.get(key) {
            out.insert(key.into(), x.clone());
        }
    }
    let mut params: Vec<Value> = v["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(parameter)
        .collect();
    if let Some(content) = v["requestBody"]["content"].as_object() {
        out.insert("consumes".into(), json!(content.keys().collect::<Vec<_>>()));
        if let Some(s) = content.values().next().map(|c| &c["schema"]) {
            params.push(json!({
                "name": "body", "in": "body",
                "required": v["requestBody"]["required"] == true,
                "schema": schema(s),
            }));
        }
    }
    let mut produces: Vec<String> = Vec::new();
    let mut responses = Map::new();
    for (code, r) in v["responses"].as_object().into_iter().flatten() {
        let mut resp = Map::new();
        resp.insert(
            "description".into(),
            r.get("description").cloned().unwrap_or(json!("")),
        );
        if let Some(content) = r["content"].as_object() {
            for ct in content.keys() {
                if !produces.contains(ct) {
                    produces.push(ct.clone());
                }
            }
            if let Some(s) = content.values().next().map(|c| &c["schema"]) {
                resp.insert("schema".into(), schema(s));
            }
        }
        responses.insert(code.clone(), Value::Object(resp));
    }
    if !produces.is_empty() {
        out.insert("produces".into(), json!(produces));
    }
    if !params.is_empty() {
        out.insert("parameters".into(), Value::Array(params));
    }
    out.insert("responses".into(), Value::Object(responses));
    out.insert("schemes".into(), json!(["https"]));
    extensions(op, &mut out);
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_in_all_of_become_plain_refs_with_their_description() {
        let v3 = json!({"description": "Standard object's metadata.", "default": {},
            "allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]});
        assert_eq!(
            schema(&v3),
            json!({"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                "description": "Standard object's metadata.", "default": {}})
        );
    }

    #[test]
    fn one_of_types_become_the_v2_string_type() {
        let v3 =
            json!({"format": "int-or-string", "oneOf": [{"type": "integer"}, {"type": "string"}]});
        assert_eq!(
            schema(&v3),
            json!({"format": "int-or-string", "type": "string"})
        );
    }

    #[test]
    fn nullable_and_unknown_fields_lose_what_kubectl_cannot_read() {
        let v3 = json!({"type": "object", "required": ["a", "b"], "properties": {
            "a": {"type": "object", "nullable": true, "properties": {"x": {"type": "string"}}},
            "b": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                "properties": {"y": {"type": "string"}}},
            "c": {"type": "array", "x-kubernetes-preserve-unknown-fields": true, "items": {"type": "string"}},
            "d": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
        }});
        assert_eq!(
            schema(&v3),
            json!({"required": ["b"], "type": "object", "properties": {
                "a": {},
                "b": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "c": {"x-kubernetes-preserve-unknown-fields": true},
                "d": {"x-kubernetes-int-or-string": true},
            }})
        );
    }

    #[test]
    fn the_builtin_document_has_pod_with_its_kind_and_paths() {
        let doc: Value = serde_json::from_slice(&document_json(&[])).unwrap();
        assert_eq!(doc["swagger"], "2.0");
        let pod = &doc["definitions"]["io.k8s.api.core.v1.Pod"];
        assert_eq!(
            pod["x-kubernetes-group-version-kind"],
            json!([{"group": "", "kind": "Pod", "version": "v1"}])
        );
        assert_eq!(
            pod["properties"]["spec"]["$ref"],
            "#/definitions/io.k8s.api.core.v1.PodSpec"
        );
        // Shared schemas name the kinds of every group that uses them.
        let kinds = doc["definitions"]["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"]
            ["x-kubernetes-group-version-kind"]
            .as_array()
            .unwrap()
            .len();
        assert!(kinds > 10, "{kinds}");
        // Every reference resolves.
        let text = doc.to_string();
        for r in text.split("\"$ref\":\"#/definitions/").skip(1) {
            let name = &r[..r.find('"').unwrap()];
            assert!(doc["definitions"].get(name).is_some(), "dangling {name}");
        }
        let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
        assert!(
            patch["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
        );
        assert_eq!(
            patch["x-kubernetes-group-version-kind"],
            json!({"group": "", "kind": "Pod", "version": "v1"})
        );
    }
}
