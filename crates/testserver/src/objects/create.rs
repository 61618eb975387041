//! Create: check the namespace and name, set the server-owned metadata, the defaults,
//! `generation` and managedFields, then store the object, as kube-apiserver's generic
//! create with the resource's strategy does.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::logic::{apply, crd, defaults, rules};
use crate::objects::{check_type, meta_mut, normalize, schema_of};
use crate::shared::keys::collection;
use crate::shared::meta;
use crate::shared::state::State;
use crate::shared::status::{ApiError, qualified};
use crate::storage::registry::ResourceInfo;
use crate::storage::store::{EventType, Obj};

/// The storage key of namespaces.
const NAMESPACES: &str = "/namespaces";

/// Create an object: validation, server-set fields and defaults, then the store.
pub(crate) fn create(
    state: &State,
    info: &ResourceInfo,
    url_namespace: Option<&str>,
    value: Value,
    dry_run: bool,
) -> Result<Arc<Obj>, ApiError> {
    create_managed(state, info, url_namespace, value, dry_run, Managed::None)
}

/// Who a write's managedFields entry goes to.
pub(crate) enum Managed<'a> {
    /// No entry (seeding, the server's own writes).
    None,
    /// An `Update` by this manager.
    Update(&'a str),
    /// An `Apply` of this configuration by this manager.
    Apply(&'a str, &'a Value),
}

/// [`create`], recording managedFields.
pub(crate) fn create_managed(
    state: &State,
    info: &ResourceInfo,
    url_namespace: Option<&str>,
    mut value: Value,
    dry_run: bool,
    managed: Managed<'_>,
) -> Result<Arc<Obj>, ApiError> {
    check_type(info, &mut value)?;
    let user_tolerations = value["spec"].get("tolerations").is_some();
    let unmanaged = defaults::set_after_field_management(&info.group, &info.kind, &value);
    let meta = meta_mut(&mut value)?;
    // Namespace: the URL's, which the body may repeat but not contradict.
    let body_ns = meta
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if info.namespaced {
        let url_ns = url_namespace.unwrap_or_default();
        if !body_ns.is_empty() && body_ns != url_ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        if url_ns.is_empty() {
            return Err(ApiError::bad_request(
                "a namespace is required to create this resource",
            ));
        }
        meta.insert("namespace".into(), json!(url_ns));
    } else {
        meta.remove("namespace");
    }
    // Name, possibly generated (admission sees the name as sent).
    let sent_name = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut name = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if name.is_empty()
        && let Some(prefix) = meta.get("generateName").and_then(Value::as_str)
        && !prefix.is_empty()
    {
        name = format!("{prefix}{}", meta::random_suffix());
        meta.insert("name".into(), json!(name));
    }
    if let Err((reason, message)) = meta::validate_name(&info.group, &info.plural, &name) {
        return Err(ApiError::invalid(
            &info.kind,
            &info.group,
            &name,
            &[("metadata.name".into(), reason, message)],
        ));
    }
    // Server-owned metadata.
    for k in [
        "resourceVersion",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
        "managedFields",
        "generation",
    ] {
        meta.remove(k);
    }
    meta.insert("uid".into(), json!(meta::new_uid()));
    meta.insert("creationTimestamp".into(), json!(meta::now_rfc3339()));
    if info.has_subresource("status")
        && let Some(m) = value.as_object_mut()
    {
        m.remove("status");
    }
    if crd::is_crd(info) {
        crd::prepare(&mut value)?;
        value["status"] = crd::initial_status(&value);
    }
    defaults::apply(&info.group, &info.kind, &mut value, || state.service_ip());
    rules::check_create(info, &value)?;
    match managed {
        Managed::None => {}
        Managed::Update(manager) => {
            // Admission plugins add these to pods after field management has run.
            let mut exclude: Vec<&[&str]> = Vec::new();
            if info.group.is_empty() && info.kind == "Pod" {
                exclude.extend([&["spec", "priority"][..], &["spec", "preemptionPolicy"][..]]);
                if !user_tolerations {
                    exclude.push(&["spec", "tolerations"][..]);
                }
            }
            exclude.extend(unmanaged.iter().copied());
            let schema = schema_of(info);
            apply::record_create(
                &mut value,
                manager,
                &info.api_version(),
                schema.as_ref(),
                &exclude,
            );
        }
        Managed::Apply(manager, config) => {
            let schema = schema_of(info);
            apply::record_apply_create(
                &mut value,
                config,
                manager,
                &info.api_version(),
                schema.as_ref(),
            );
        }
    }
    if (info.custom.is_some() || defaults::has_generation(&info.group, &info.kind, &value))
        && let Ok(meta) = meta_mut(&mut value)
    {
        meta.insert("generation".into(), json!(1));
    }
    let value = normalize(value);
    // The namespace must exist (and not be terminating).
    if info.namespaced {
        let ns = url_namespace.unwrap_or_default();
        let Some(namespace) = state.store.get(NAMESPACES, &(String::new(), ns.to_owned())) else {
            return Err(ApiError::not_found("namespaces", "", ns));
        };
        if namespace.value()["metadata"]
            .get("deletionTimestamp")
            .is_some()
        {
            return Err(terminating_namespace(info, ns, &sent_name));
        }
    }
    if dry_run {
        return Ok(Arc::new(Obj::from_value(&value, state.store.current_rv())));
    }
    let obj = state.store.create(&collection(info), value, || {
        ApiError::already_exists(&info.plural, &info.group, &name)
    })?;
    state.after_write(info, &obj, EventType::Added);
    Ok(obj)
}

/// 403 for a create in a Terminating namespace, as the NamespaceLifecycle admission
/// plugin words it.
fn terminating_namespace(info: &ResourceInfo, namespace: &str, name: &str) -> ApiError {
    let resource = qualified(&info.plural, &info.group);
    let mut details = json!({"name": name});
    if !info.group.is_empty() {
        details["group"] = json!(info.group);
    }
    details["kind"] = json!(info.plural);
    details["causes"] = json!([{
        "reason": "NamespaceTerminating",
        "message": format!("namespace {namespace} is being terminated"),
        "field": "metadata.namespace",
    }]);
    ApiError::new(
        403,
        "Forbidden",
        format!(
            "{resource} \"{name}\" is forbidden: unable to create new content in namespace {namespace} because it is being terminated"
        ),
        Some(details),
    )
}
