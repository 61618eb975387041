//! The validation a write gets after its object is complete, whatever verb brought it,
//! as the resources' strategies run it: `ValidateObjectMetaUpdate`'s rule that no
//! finalizer may be added to an object being deleted, `ValidatePodUpdate` (`pods`), and a
//! custom resource's CRD schema (`schema`). All of a write's errors come back as one 422.

use serde_json::Value;

use crate::logic::{pods, schema};
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;

type Cause = (String, &'static str, String);

/// Check a new object (without `kind`/`apiVersion`).
pub(crate) fn check_create(info: &ResourceInfo, new: &Value) -> Result<(), ApiError> {
    finish(info, new, custom_schema(info, new))
}

/// Check an update of `old` into `new` (both without `kind`/`apiVersion`). `spec` tells
/// whether the write may change the spec (not a `/status` write); a pod's spec is
/// defaulted first, as decoding defaults every body.
pub(crate) fn check_update(
    info: &ResourceInfo,
    old: &Value,
    new: &mut Value,
    spec: bool,
) -> Result<(), ApiError> {
    let mut causes = no_new_finalizers(old, new);
    if spec && info.group.is_empty() && info.kind == "Pod" {
        pods::default_update(new);
        causes.extend(pods::validate_update(new, old));
    }
    causes.extend(custom_schema(info, new));
    finish(info, new, causes)
}

/// A patched object must stay the object of the URL: its name and namespace are the URL's
/// (400, as the patch handler's `checkName` and namespace check answer) and its uid is
/// immutable (422, `ValidateObjectMetaUpdate`). Missing ones are the current object's.
pub(crate) fn check_patched_identity(
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    current_uid: &str,
    patched: &Value,
) -> Result<(), ApiError> {
    let meta = &patched["metadata"];
    let field = |k: &str| meta.get(k).map(|v| v.as_str().unwrap_or_default());
    if let (Some(ns), Some(sent)) = (namespace, field("namespace"))
        && !sent.is_empty()
        && sent != ns
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    let sent_name = field("name").unwrap_or_default();
    if sent_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({sent_name}) does not match the name on the URL ({name})"
        )));
    }
    if let Some(uid) = field("uid")
        && !uid.is_empty()
        && uid != current_uid
    {
        return Err(ApiError::invalid(
            &info.kind,
            &info.group,
            name,
            &[(
                "metadata.uid".to_owned(),
                "FieldValueInvalid",
                format!(
                    "Invalid value: {}: field is immutable",
                    crate::logic::selector::go_quote(uid)
                ),
            )],
        ));
    }
    Ok(())
}

fn finish(info: &ResourceInfo, obj: &Value, causes: Vec<Cause>) -> Result<(), ApiError> {
    if causes.is_empty() {
        return Ok(());
    }
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    Err(ApiError::invalid(&info.kind, &info.group, name, &causes))
}

/// Finalizers may be removed from an object being deleted, not added.
fn no_new_finalizers(old: &Value, new: &Value) -> Vec<Cause> {
    if old["metadata"].get("deletionTimestamp").is_none() {
        return Vec::new();
    }
    let list = |v: &Value| -> Vec<String> {
        v["metadata"]["finalizers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(str::to_owned))
            .collect()
    };
    let before = list(old);
    let mut extra: Vec<String> = list(new)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    if extra.is_empty() {
        return Vec::new();
    }
    extra.sort();
    extra.dedup();
    // Go's %#v of a []string.
    let quoted: Vec<String> = extra
        .iter()
        .map(|f| crate::logic::selector::go_quote(f))
        .collect();
    vec![(
        "metadata.finalizers".to_owned(),
        "FieldValueForbidden",
        format!(
            "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
            quoted.join(", ")
        ),
    )]
}

fn custom_schema(info: &ResourceInfo, obj: &Value) -> Vec<Cause> {
    match &info.custom {
        Some(version) => {
            let root = &version["schema"]["openAPIV3Schema"];
            if root.is_object() {
                schema::validate(obj, root)
            } else {
                Vec::new()
            }
        }
        None => Vec::new(),
    }
}
