//! CustomResourceDefinitions as data: the defaults and validation of a CRD, the
//! resources a CRD serves (one per served version), its initial status, and the OpenAPI
//! document kube-apiserver publishes for a group-version served by CRDs. Serving them
//! is the CRD controller's part (`controllers::crd`).

use serde_json::{Map, Value, json};

use crate::logic::openapi;
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;

const GROUP: &str = "apiextensions.k8s.io";

const PLURAL: &str = "customresourcedefinitions";

const VERBS: &[&str] = &[
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
];

/// Is this the CRD resource itself?
pub(crate) fn is_crd(info: &ResourceInfo) -> bool {
    info.group == GROUP && info.plural == PLURAL
}

/// Defaults and validation of a CRD before it is stored, as the apiextensions
/// strategy applies them. `value` has no `kind`/`apiVersion`.
pub(crate) fn prepare(value: &mut Value) -> Result<(), ApiError> {
    let name = value["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut causes: Vec<(String, &str, String)> = Vec::new();
    let spec = &value["spec"];
    let group = spec["group"].as_str().unwrap_or_default();
    let plural = spec["names"]["plural"].as_str().unwrap_or_default();
    let kind = spec["names"]["kind"].as_str().unwrap_or_default();
    if group.is_empty() {
        causes.push((
            "spec.group".into(),
            "FieldValueRequired",
            "Required value".into(),
        ));
    } else if !group.contains('.') {
        causes.push((
            "spec.group".into(),
            "FieldValueInvalid",
            format!("Invalid value: {group:?}: should be a domain with at least one dot"),
        ));
    }
    if plural.is_empty() {
        causes.push((
            "spec.names.plural".into(),
            "FieldValueRequired",
            "Required value".into(),
        ));
    }
    if kind.is_empty() {
        causes.push((
            "spec.names.kind".into(),
            "FieldValueRequired",
            "Required value".into(),
        ));
    }
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        causes.push((
            "metadata.name".into(),
            "FieldValueInvalid",
            format!("Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    let scope = spec["scope"].as_str().unwrap_or_default();
    if scope != "Namespaced" && scope != "Cluster" {
        causes.push((
            "spec.scope".into(),
            "FieldValueNotSupported",
            format!("Unsupported value: {scope:?}: supported values: \"Cluster\", \"Namespaced\""),
        ));
    }
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    if versions.is_empty() {
        causes.push((
            "spec.versions".into(),
            "FieldValueInvalid",
            "Invalid value: null: must have exactly one version marked as storage version".into(),
        ));
    } else if versions.iter().filter(|v| v["storage"] == true).count() != 1 {
        causes.push((
            "spec.versions".into(),
            "FieldValueInvalid",
            format!(
                "Invalid value: {}: must have exactly one version marked as storage version",
                json!(versions)
            ),
        ));
    }
    // An update: the stored versions stay listed (apiextensions' PrepareForUpdate adds a
    // new storage version to them; ValidateCustomResourceDefinitionStoredVersions).
    let mut stored_now = None;
    if let Some(stored) = value["status"]["storedVersions"].as_array().cloned() {
        let listed = |name: &Value| versions.iter().any(|v| &v["name"] == name);
        for (i, v) in stored.iter().enumerate() {
            if !listed(v) {
                causes.push((
                    format!("status.storedVersions[{i}]"),
                    "FieldValueInvalid",
                    format!("Invalid value: {v}: must appear in spec.versions"),
                ));
            }
        }
        let storage = versions.iter().find(|v| v["storage"] == true);
        let added = storage
            .map(|v| v["name"].clone())
            .filter(|n| !stored.contains(n));
        if let Some(name) = added {
            let mut stored = stored;
            stored.push(name);
            stored_now = Some(Value::Array(stored));
        }
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(
            "CustomResourceDefinition",
            GROUP,
            &name,
            &causes,
        ));
    }
    let kind = kind.to_owned();
    if let Some(stored) = stored_now {
        value["status"]["storedVersions"] = stored;
    }
    let names = &mut value["spec"]["names"];
    if names["singular"].as_str().is_none_or(str::is_empty) {
        names["singular"] = json!(kind.to_lowercase());
    }
    if names["listKind"].as_str().is_none_or(str::is_empty) {
        names["listKind"] = json!(format!("{kind}List"));
    }
    if value["spec"]["conversion"].is_null() {
        value["spec"]["conversion"] = json!({"strategy": "None"});
    }
    Ok(())
}

/// The resources a stored CRD serves, one per served version.
pub(crate) fn resources(crd: &Value) -> (String, String, Vec<(String, ResourceInfo)>) {
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or_default().to_owned();
    let names = &spec["names"];
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let plural = s(&names["plural"]);
    let kind = s(&names["kind"]);
    let namespaced = spec["scope"] == "Namespaced";
    let mut out = Vec::new();
    for v in spec["versions"].as_array().into_iter().flatten() {
        if v["served"] != true {
            continue;
        }
        let version = s(&v["name"]);
        let response_kind = json!({"group": group, "version": version, "kind": kind});
        let mut subresources = Vec::new();
        let mut sub_names = Vec::new();
        if v["subresources"]["status"].is_object() {
            subresources.push(json!({"subresource": "status", "responseKind": response_kind, "verbs": ["get", "patch", "update"]}));
            sub_names.push("status".to_owned());
        }
        if v["subresources"]["scale"].is_object() {
            subresources.push(json!({"subresource": "scale", "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"}, "verbs": ["get", "patch", "update"]}));
            sub_names.push("scale".to_owned());
        }
        let mut entry = Map::new();
        entry.insert("resource".into(), json!(plural));
        entry.insert("responseKind".into(), response_kind);
        entry.insert(
            "scope".into(),
            json!(if namespaced { "Namespaced" } else { "Cluster" }),
        );
        entry.insert("singularResource".into(), names["singular"].clone());
        entry.insert("verbs".into(), json!(VERBS));
        for key in ["shortNames", "categories"] {
            if names[key].as_array().is_some_and(|a| !a.is_empty()) {
                entry.insert(key.into(), names[key].clone());
            }
        }
        if !subresources.is_empty() {
            entry.insert("subresources".into(), json!(subresources));
        }
        let info = ResourceInfo {
            group: group.clone(),
            version: version.clone(),
            plural: plural.clone(),
            singular: s(&names["singular"]),
            kind: kind.clone(),
            namespaced,
            verbs: VERBS.iter().map(|v| (*v).to_owned()).collect(),
            subresources: sub_names,
            aggregated: Value::Object(entry),
            custom: Some(v.clone()),
        };
        out.push((version, info));
    }
    (group, plural, out)
}

/// Is the `Established` condition true?
pub(crate) fn established(status: &Value) -> bool {
    status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Established" && c["status"] == "True")
}

/// The status a new CRD is created with (before the controllers accept its names).
pub(crate) fn initial_status(value: &Value) -> Value {
    let stored: Vec<Value> = value["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["storage"] == true)
        .map(|v| v["name"].clone())
        .collect();
    json!({"conditions": [], "acceptedNames": {"plural": "", "kind": ""}, "storedVersions": stored})
}

/// The OpenAPI v3 document kube-apiserver publishes for a group-version served by CRDs
/// (`apis/<group>/<version>`): the resources' operations (PATCH carrying
/// `fieldValidation`, which kubectl checks for) and their schemas. Built from the
/// recorded apps/v1 document's Deployment operations, renamed.
pub(crate) fn openapi_document(resources: &[std::sync::Arc<ResourceInfo>]) -> Option<Vec<u8>> {
    let first = resources.first()?;
    let apps = openapi::parsed("apps", "v1")?;
    let (group, version) = (first.group.as_str(), first.version.as_str());
    let prefix = {
        let mut parts: Vec<&str> = group.split('.').collect();
        parts.reverse();
        format!("{}.{version}", parts.join("."))
    };
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for (name, schema) in apps["components"]["schemas"].as_object()? {
        if name.starts_with("io.k8s.apimachinery.") {
            schemas.insert(name.clone(), schema.clone());
        }
    }
    for info in resources {
        let kind = &info.kind;
        let schema_name = format!("{prefix}.{kind}");
        // The kind's schema: the CRD's, with the standard type and object fields.
        let mut schema = info
            .custom
            .as_ref()
            .map(|v| v["schema"]["openAPIV3Schema"].clone())
            .filter(Value::is_object)
            .unwrap_or_else(
                || json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
            );
        if !schema["properties"].is_object() {
            schema["properties"] = json!({});
        }
        schema["properties"]["apiVersion"] = json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."});
        schema["properties"]["kind"] = json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents."});
        schema["properties"]["metadata"] = json!({"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]});
        schema["x-kubernetes-group-version-kind"] =
            json!([{"group": group, "version": version, "kind": kind}]);
        schemas.insert(schema_name.clone(), schema);
        schemas.insert(
            format!("{schema_name}List"),
            json!({
                "type": "object", "required": ["items"],
                "description": format!("{kind}List is a list of {kind}"),
                "properties": {
                    "apiVersion": {"type": "string"},
                    "items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{schema_name}")}},
                    "kind": {"type": "string"},
                    "metadata": {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"}]},
                },
                "x-kubernetes-group-version-kind": [{"group": group, "version": version, "kind": format!("{kind}List")}],
            }),
        );
        // Operations: Deployment's, renamed.
        let base = if info.namespaced {
            format!(
                "/apis/{group}/{version}/namespaces/{{namespace}}/{}",
                info.plural
            )
        } else {
            format!("/apis/{group}/{version}/{}", info.plural)
        };
        let rename = |v: &Value| -> Option<Value> {
            let text = v
                .to_string()
                .replace(
                    "io.k8s.api.apps.v1.DeploymentList",
                    &format!("{schema_name}List"),
                )
                .replace("io.k8s.api.apps.v1.Deployment", &schema_name)
                .replace("AppsV1NamespacedDeployment", kind)
                .replace("AppsV1Deployment", kind)
                .replace("Deployment", kind)
                .replace("apps_v1", &format!("{}_{version}", group.replace('.', "_")));
            serde_json::from_str(&text).ok()
        };
        for (suffix, template) in [
            ("", "/apis/apps/v1/namespaces/{namespace}/deployments"),
            (
                "/{name}",
                "/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
            ),
        ] {
            let mut item = rename(&apps["paths"][template])?;
            if let Some(ops) = item.as_object_mut() {
                for (_, op) in ops.iter_mut() {
                    if let Some(gvk) = op.get_mut("x-kubernetes-group-version-kind") {
                        *gvk = json!({"group": group, "version": version, "kind": kind});
                    }
                    if let Some(content) = op
                        .get_mut("requestBody")
                        .and_then(|b| b.get_mut("content"))
                        .and_then(Value::as_object_mut)
                    {
                        content.shift_remove("application/strategic-merge-patch+json");
                    }
                }
                if !info.namespaced
                    && let Some(params) = ops.get_mut("parameters").and_then(Value::as_array_mut)
                {
                    params.retain(|p| p["name"] != "namespace");
                }
            }
            paths.insert(format!("{base}{suffix}"), item);
        }
    }
    let doc = json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    });
    serde_json::to_vec(&doc).ok()
}
