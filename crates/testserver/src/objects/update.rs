//! Update: the read-modify-write under the store lock that PUT, PATCH and the
//! subresources share. The current object and the sent one are merged as the write's
//! part (`Mode`) allows; `resourceVersion` preconditions, `generation`, managedFields
//! and finalizers are kept as kube-apiserver keeps them.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::logic::{apply, crd, defaults, rules};
use crate::objects::delete::has_spec_finalizers;
use crate::objects::{check_type, meta_mut, normalize, schema_of, str_field};
use crate::shared::keys::{collection, key};
use crate::shared::state::State;
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;
use crate::storage::store::{Obj, Update};

/// Which part of an object a write may change.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Mode {
    /// Everything but `status` (when the resource has a status subresource).
    Main,
    /// Only `status` (and user metadata): writes through `/status`.
    Status,
    /// A server-internal write of the whole object, as kube-apiserver's storage-level
    /// updates make them (pods/binding): no strategy, so `generation` does not move.
    Raw,
}

/// How an update writes: which part, for real or not, recorded for which manager.
#[derive(Clone, Copy)]
pub(crate) struct How<'a> {
    pub mode: Mode,
    pub dry_run: bool,
    pub manager: Option<&'a str>,
    /// The subresource written through, for managedFields (`status` follows from `mode`).
    pub subresource: &'a str,
}

/// Build the object an update writes from the current object and the sent one.
fn merge_update(info: &ResourceInfo, current: &Value, mut sent: Value, mode: Mode) -> Value {
    let has_status = info.has_subresource("status");
    if let Some(meta) = sent.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "namespace",
            "name",
        ] {
            match current["metadata"].get(k) {
                Some(v) => meta.insert(k.to_owned(), v.clone()),
                None => meta.remove(k),
            };
        }
    }
    // managedFields: the current ones, unless the writer sent a list (apply computes it;
    // a client may also replace them, as with kube-apiserver).
    if let Some(meta) = sent.get_mut("metadata").and_then(Value::as_object_mut)
        && !meta.get("managedFields").is_some_and(Value::is_array)
    {
        match current["metadata"].get("managedFields") {
            Some(v) => meta.insert("managedFields".into(), v.clone()),
            None => meta.remove("managedFields"),
        };
    }
    let Some(map) = sent.as_object_mut() else {
        return current.clone();
    };
    if mode == Mode::Raw {
        return normalize(sent);
    }
    match mode {
        Mode::Main if has_status => match current.get("status") {
            Some(s) => {
                map.insert("status".into(), s.clone());
            }
            None => {
                map.remove("status");
            }
        },
        Mode::Main | Mode::Raw => {}
        Mode::Status => {
            // Only status (and user metadata) change through /status.
            let status = map.remove("status");
            let metadata = map.remove("metadata");
            map.clear();
            if let Some(cur) = current.as_object() {
                for (k, v) in cur {
                    map.insert(k.clone(), v.clone());
                }
            }
            if let Some(m) = metadata {
                map.insert("metadata".into(), m);
            }
            match status {
                Some(s) => map.insert("status".into(), s),
                None => map.remove("status"),
            };
        }
    }
    // Generation moves when anything but metadata and status changes (for a custom
    // resource without a status subresource, status changes count too).
    if current["metadata"].get("generation").is_some() {
        let status_counts = info.custom.is_some() && !has_status;
        let strip = |v: &Value| {
            let mut v = v.clone();
            if let Some(m) = v.as_object_mut() {
                m.remove("metadata");
                if !status_counts {
                    m.remove("status");
                }
            }
            v
        };
        if strip(&sent) != strip(current) {
            let g = current["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            sent["metadata"]["generation"] = json!(g);
        }
    }
    normalize(sent)
}

/// Compare two objects ignoring `metadata.resourceVersion`.
fn same_object(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        v
    };
    strip(a) == strip(b)
}

/// `PUT`: replace an object (its name and namespace must be the URL's).
pub(crate) fn update(
    state: &State,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    mut value: Value,
    how: How<'_>,
) -> Result<Arc<Obj>, ApiError> {
    check_type(info, &mut value)?;
    let meta = meta_mut(&mut value)?;
    let sent_name = meta.get("name").and_then(Value::as_str).unwrap_or_default();
    if sent_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({sent_name}) does not match the name on the URL ({name})"
        )));
    }
    if info.namespaced {
        let sent_ns = meta
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !sent_ns.is_empty() && Some(sent_ns) != namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    // A uid in the object is a precondition (rest.DefaultUpdatedObjectInfo): an object
    // deleted and created again under the same name is not the one the client read.
    let sent_uid = str_field(&value, &["metadata", "uid"])
        .unwrap_or_default()
        .to_owned();
    write_update(state, info, namespace, name, how, move |cur, _| {
        if !sent_uid.is_empty() && sent_uid != cur.uid {
            return Err(ApiError::precondition_failed(
                &info.plural,
                &info.group,
                name,
                &format!(
                    "UID in precondition: {sent_uid}, UID in object meta: {}",
                    cur.uid
                ),
            ));
        }
        Ok(value)
    })
}

/// Give an object the status a seed manifest shows, as a `PUT .../status` would: a seed
/// is a fixture, so a pod seeded as Running stays Running.
pub(crate) fn seed_status(
    state: &State,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    status: Value,
) -> Result<Arc<Obj>, ApiError> {
    let how = How {
        mode: Mode::Status,
        dry_run: false,
        manager: None,
        subresource: "status",
    };
    write_update(state, info, namespace, name, how, move |_, cur| {
        let mut next = cur.clone();
        next["status"] = status;
        Ok(next)
    })
}

/// The shared read-modify-write of update and patch.
pub(crate) fn write_update(
    state: &State,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    how: How<'_>,
    make: impl FnOnce(&Obj, &Value) -> Result<Value, ApiError>,
) -> Result<Arc<Obj>, ApiError> {
    let How {
        mode,
        dry_run,
        manager,
        subresource,
    } = how;
    let k = key(info, namespace, name);
    let on_missing = || ApiError::not_found(&info.plural, &info.group, name);
    let mut preview = None;
    let (obj, kind, changed) =
        state
            .store
            .update(&collection(info), &k, on_missing, |cur, cur_val| {
                let mut sent = make(cur, &cur_val)?;
                if let Some(rv) = str_field(&sent, &["metadata", "resourceVersion"])
                    && !rv.is_empty()
                    && rv != cur.rv.to_string()
                {
                    return Err(ApiError::conflict(&info.plural, &info.group, name));
                }
                // Decoding defaults every body: what a replacement leaves out is no change.
                if mode == Mode::Main && subresource.is_empty() {
                    defaults::apply_update(&info.group, &info.kind, &mut sent);
                }
                let mut next = merge_update(info, &cur_val, sent, mode);
                if mode != Mode::Raw {
                    // The spec rules are the main resource's (not /status, /ephemeralcontainers).
                    let spec = mode == Mode::Main && subresource.is_empty();
                    rules::check_update(info, &cur_val, &mut next, spec)?;
                }
                if info.group.is_empty() && info.kind == "Secret" {
                    defaults::secret(&mut next);
                }
                if crd::is_crd(info) && mode == Mode::Main {
                    crd::prepare(&mut next)?;
                }
                if let Some(m) = manager {
                    let sub = if mode == Mode::Status {
                        "status"
                    } else {
                        subresource
                    };
                    let schema = schema_of(info);
                    apply::record_update(
                        &cur_val,
                        &mut next,
                        m,
                        &info.api_version(),
                        sub,
                        schema.as_ref(),
                    );
                }
                if same_object(&next, &cur_val) {
                    return Ok(Update::Unchanged);
                }
                if dry_run {
                    preview = Some(next);
                    return Ok(Update::Unchanged);
                }
                let terminating = next["metadata"].get("deletionTimestamp").is_some();
                let no_finalizers = next["metadata"]["finalizers"]
                    .as_array()
                    .is_none_or(|f| f.is_empty())
                    && !(info.group.is_empty()
                        && info.plural == "namespaces"
                        && has_spec_finalizers(&next));
                Ok(if terminating && no_finalizers {
                    Update::Remove(next)
                } else {
                    Update::Write(next)
                })
            })?;
    if preview.is_none() && changed {
        state.after_write(info, &obj, kind);
    }
    Ok(match preview {
        Some(v) => Arc::new(Obj::from_value(&v, obj.rv)),
        None => obj,
    })
}
