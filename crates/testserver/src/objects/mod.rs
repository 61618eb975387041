//! What every write does, whatever verb or subresource it came through: the generic
//! storage of kube-apiserver (`k8s.io/apiserver/pkg/registry/generic/registry`) with the
//! resources' strategies. Create, update and delete check and complete an object
//! (server-owned metadata, defaults, generation, managedFields, finalizers), write it
//! to the store, and tell the controllers (`State::after_write`).
//!
//! - [`create`]: a new object (POST, apply to a missing object, seeding).
//! - [`update`]: read-modify-write of an existing object (PUT, PATCH, subresources).
//! - [`delete`]: deletion with preconditions, grace, finalizers and propagation.
//! - [`disruption`]: whether an eviction may delete a pod (PodDisruptionBudgets).
//! - [`grace`]: graceful deletion of pods, and its end when the grace period is over.
//!
//! Handlers call in here; this imports `logic`, `shared` and `storage`, never handlers
//! or controllers.

pub(crate) mod create;
pub(crate) mod delete;
pub(crate) mod disruption;
pub(crate) mod grace;
pub(crate) mod update;

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::logic::openapi;
use crate::shared::keys;
use crate::shared::state::State;
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;
use crate::storage::store::Obj;

/// The stored object, or 404.
pub(crate) fn get(
    state: &State,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
) -> Result<Arc<Obj>, ApiError> {
    state
        .store
        .get(&info.storage_key(), &keys::key(info, namespace, name))
        .ok_or_else(|| ApiError::not_found(&info.plural, &info.group, name))
}

/// The OpenAPI schema of a resource's kind: the recorded one, or a CRD version's.
pub(crate) fn schema_of(info: &ResourceInfo) -> Option<openapi::KindSchema<'_>> {
    match &info.custom {
        Some(version) => {
            let root = &version["schema"]["openAPIV3Schema"];
            root.is_object().then(|| openapi::custom_schema(root))
        }
        None => openapi::kind_schema(&info.group, &info.version, &info.kind),
    }
}

/// Check `kind`/`apiVersion` in a request body against the URL's resource, then
/// drop them. Missing ones default to the URL's, as kube-apiserver's decoder does.
pub(crate) fn check_type(info: &ResourceInfo, value: &mut Value) -> Result<(), ApiError> {
    let Some(map) = value.as_object_mut() else {
        return Err(ApiError::bad_request("the body is not a JSON object"));
    };
    let kind = map.remove("kind");
    let api_version = map.remove("apiVersion");
    if let Some(k) = kind
        .as_ref()
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        && k != info.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            info.kind
        )));
    }
    if let Some(v) = api_version
        .as_ref()
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        && v != info.api_version()
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({v}) does not match the expected API version ({})",
            info.api_version()
        )));
    }
    Ok(())
}

/// `metadata` of an object, made an empty map when missing; 400 when not a map.
pub(crate) fn meta_mut(value: &mut Value) -> Result<&mut Map<String, Value>, ApiError> {
    if value.get("metadata").is_none() || value["metadata"].is_null() {
        value["metadata"] = json!({});
    }
    value["metadata"]
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("metadata must be an object"))
}

/// The string at a path of fields, if there is one.
pub(crate) fn str_field<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
}

/// `value` with `kind` and `apiVersion` in front.
pub(crate) fn with_type(value: &Value, kind: &str, api_version: &str) -> Value {
    let mut full = json!({"kind": kind, "apiVersion": api_version});
    if let (Some(m), Some(c)) = (full.as_object_mut(), value.as_object()) {
        m.extend(c.clone());
    }
    full
}

/// Order an object's keys as kube-apiserver writes them: metadata first, its
/// fields in Go struct order, the rest as given.
pub(crate) fn normalize(value: Value) -> Value {
    const META_ORDER: &[&str] = &[
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    ];
    let Value::Object(mut map) = value else {
        return value;
    };
    let mut out = Map::new();
    if let Some(Value::Object(mut meta)) = map.remove("metadata") {
        let mut m = Map::new();
        for k in META_ORDER {
            if let Some(v) = meta.remove(*k) {
                m.insert((*k).to_owned(), v);
            }
        }
        m.extend(meta);
        out.insert("metadata".into(), Value::Object(m));
    }
    let status = map.remove("status");
    out.extend(map);
    if let Some(s) = status {
        out.insert("status".into(), s);
    }
    Value::Object(out)
}
