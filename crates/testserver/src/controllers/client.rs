//! How the asynchronous controllers read and write: through the same `objects` code path
//! as the API's requests (validation, defaults, managedFields, resourceVersion
//! preconditions, the synchronous controllers after each write), so a client that wrote
//! with a stale resourceVersion meets a 409 Conflict as on a real cluster, and the
//! controllers meet the client's writes the same way.

pub(crate) use crate::shared::meta::{str_at, terminating};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::objects::create::{Managed, create_managed};
use crate::objects::delete::{DeleteOpts, Propagation, delete_one};
use crate::objects::update::{How, Mode, write_update};
use crate::shared::keys;
use crate::shared::state::State;
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;
use crate::storage::store::Obj;

/// The field manager of kube-controller-manager's writes.
pub(crate) const MANAGER: &str = "kube-controller-manager";

/// The served resource `group/version/plural` (`None` if it is not served).
pub(crate) fn resource(
    state: &State,
    group: &str,
    version: &str,
    plural: &str,
) -> Option<Arc<ResourceInfo>> {
    state.resource(group, version, plural)
}

/// Every object of a resource, in one namespace or all.
pub(crate) fn list(state: &State, info: &ResourceInfo, namespace: Option<&str>) -> Vec<Value> {
    state
        .store
        .list(&info.storage_key(), namespace, None)
        .map(|(_, items)| items.iter().map(|o| o.value()).collect())
        .unwrap_or_default()
}

/// One object, if it exists.
pub(crate) fn get(
    state: &State,
    info: &ResourceInfo,
    namespace: &str,
    name: &str,
) -> Option<Value> {
    state
        .store
        .get(
            &keys::collection(info),
            &keys::key(info, Some(namespace), name),
        )
        .map(|o| o.value())
}

/// Create an object as a POST by `manager` would (`None`: no managedFields entry).
pub(crate) fn create(
    state: &State,
    info: &ResourceInfo,
    namespace: &str,
    mut value: Value,
    manager: Option<&str>,
) -> Result<Arc<Obj>, ApiError> {
    if let Some(m) = value.as_object_mut() {
        m.insert("apiVersion".into(), json!(info.api_version()));
        m.insert("kind".into(), json!(info.kind));
    }
    let ns = info.namespaced.then_some(namespace);
    let managed = match manager {
        Some(m) => Managed::Update(m),
        None => Managed::None,
    };
    create_managed(state, info, ns, value, false, managed)
}

/// Write `next` (an edited copy of `read`) through `mode`, as a PUT by
/// kube-controller-manager with `read`'s resourceVersion as precondition: 409 Conflict
/// when the object changed since it was read. Nothing is written when nothing changed.
pub(crate) fn update(
    state: &State,
    info: &ResourceInfo,
    read: &Value,
    mut next: Value,
    mode: Mode,
) -> Result<Arc<Obj>, ApiError> {
    let namespace = str_at(read, &["metadata", "namespace"]).to_owned();
    let name = str_at(read, &["metadata", "name"]).to_owned();
    let rv = read["metadata"]["resourceVersion"].clone();
    if let Some(meta) = next.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), rv);
    }
    let how = How {
        mode,
        dry_run: false,
        manager: Some(MANAGER),
        subresource: if mode == Mode::Status { "status" } else { "" },
    };
    let ns = info.namespaced.then_some(namespace.as_str());
    write_update(state, info, ns, &name, how, move |_, _| Ok(next))
}

/// Delete an object (the one with this UID) as a DELETE with background propagation
/// would, and tell the synchronous controllers (the garbage collector).
pub(crate) fn delete(
    state: &State,
    info: &ResourceInfo,
    namespace: &str,
    name: &str,
    uid: &str,
    grace_period: Option<i64>,
) -> Result<(), ApiError> {
    let mut opts = DeleteOpts::internal(Propagation::Background);
    opts.uid = Some(uid.to_owned());
    opts.grace_period = grace_period;
    let ns = info.namespaced.then_some(namespace);
    let (obj, kind) = delete_one(state, info, ns, name, &opts)?;
    state.after_write(info, &obj, kind);
    Ok(())
}

/// Set the field at `path` (at least one key), making maps on the way where there are
/// none. Never panics, unlike `v[key] = ...` on a value that is not an object.
pub(crate) fn set(v: &mut Value, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = v;
    for k in parents {
        if !cur.is_object() {
            *cur = json!({});
        }
        cur = &mut cur[*k];
    }
    if !cur.is_object() {
        *cur = json!({});
    }
    cur[*last] = value;
}

/// Is `owner_uid` the controller among the object's ownerReferences?
pub(crate) fn controlled_by(v: &Value, owner_uid: &str) -> bool {
    v["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| {
            refs.iter()
                .any(|r| r["uid"] == owner_uid && r["controller"] == true)
        })
}

/// The controller ownerReference of an object, if any.
pub(crate) fn controller_ref(v: &Value) -> Option<&Value> {
    v["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"] == true)
}

/// An ownerReference to `owner` (a stored object of `info`) as controllers write them.
pub(crate) fn owner_ref(info: &ResourceInfo, owner: &Value) -> Value {
    json!({
        "apiVersion": info.api_version(),
        "kind": info.kind,
        "name": str_at(owner, &["metadata", "name"]),
        "uid": str_at(owner, &["metadata", "uid"]),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}
