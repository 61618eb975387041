//! The garbage collector's part of deletion, done synchronously: dependents (objects
//! whose `ownerReferences` name a deleted owner's UID) are deleted after the owner
//! (background), before it (foreground, through the `foregroundDeletion` finalizer),
//! or orphaned (the `orphan` finalizer: their references to the owner are removed).

use std::sync::Arc;

use serde_json::{Value, json};

use crate::objects::delete::{
    DeleteOpts, FOREGROUND, ORPHAN, Propagation, delete_one, has_finalizer,
};
use crate::shared::keys;
use crate::shared::state::{Controller, State};
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;
use crate::storage::store::{EventType, Obj, Update};

/// The garbage collector.
pub(crate) struct GarbageCollector;

impl Controller for GarbageCollector {
    /// After a delete request (or an update that removed a terminating object's last
    /// finalizer): run what the garbage collector would. Creations start nothing.
    fn after_write(&self, state: &State, info: &ResourceInfo, obj: &Obj, kind: EventType) {
        if kind != EventType::Added {
            after_delete_depth(state, info, obj, kind == EventType::Deleted, 0);
        }
    }
}

fn after_delete_depth(state: &State, info: &ResourceInfo, obj: &Obj, removed: bool, depth: u32) {
    // Ownership cycles cannot recurse forever.
    if depth > 32 {
        return;
    }
    let value = obj.value();
    if removed {
        collect_dependents(state, &obj.uid, depth);
        release_waiting_owners(state, &value, depth);
        return;
    }
    if has_finalizer(&value, FOREGROUND) {
        for (dep_info, dep) in dependents(state, &obj.uid) {
            delete_dependent(state, &dep_info, &dep, Propagation::Foreground, depth);
        }
        if blocking_dependents(state, &obj.uid).is_empty() {
            remove_finalizer(state, info, obj, FOREGROUND, depth);
        }
    } else if has_finalizer(&value, ORPHAN) {
        for (dep_info, dep) in dependents(state, &obj.uid) {
            let _ = update_refs(state, &dep_info, &dep, |refs| {
                refs.retain(|r| r["uid"] != obj.uid.as_str())
            });
        }
        remove_finalizer(state, info, obj, ORPHAN, depth);
    }
}

/// Background collection of a removed owner's dependents: a dependent with another owner
/// that still exists only loses the dangling reference; otherwise it is deleted.
fn collect_dependents(state: &State, owner_uid: &str, depth: u32) {
    for (dep_info, dep) in dependents(state, owner_uid) {
        let refs = dep.value()["metadata"]["ownerReferences"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let other_owner_alive = refs
            .iter()
            .filter_map(|r| r["uid"].as_str())
            .any(|uid| uid != owner_uid && uid_exists(state, uid));
        if other_owner_alive {
            let _ = update_refs(state, &dep_info, &dep, |refs| {
                refs.retain(|r| r["uid"] != owner_uid)
            });
        } else {
            delete_dependent(state, &dep_info, &dep, Propagation::Background, depth);
        }
    }
}

/// A removed dependent may be what a foreground-deleting owner was waiting for.
fn release_waiting_owners(state: &State, removed: &Value, depth: u32) {
    for r in removed["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(uid) = r["uid"].as_str() else {
            continue;
        };
        for (info, owner) in find(state, uid, |o| o.uid == uid) {
            if has_finalizer(&owner.value(), FOREGROUND)
                && blocking_dependents(state, uid).is_empty()
            {
                remove_finalizer(state, &info, &owner, FOREGROUND, depth + 1);
            }
        }
    }
}

fn delete_dependent(
    state: &State,
    info: &ResourceInfo,
    dep: &Obj,
    policy: Propagation,
    depth: u32,
) {
    let ns = (!dep.namespace.is_empty()).then_some(dep.namespace.as_str());
    let mut opts = DeleteOpts::internal(policy);
    opts.uid = Some(dep.uid.clone());
    if let Ok((obj, kind)) = delete_one(state, info, ns, &dep.name, &opts) {
        after_delete_depth(state, info, &obj, kind == EventType::Deleted, depth + 1);
    }
}

/// Remove a garbage-collector finalizer; the object goes when it was the last one.
fn remove_finalizer(state: &State, info: &ResourceInfo, obj: &Obj, name: &str, depth: u32) {
    let key = (obj.namespace.clone(), obj.name.clone());
    let res = state.store.update(
        &keys::collection(info),
        &key,
        || ApiError::internal("gone"),
        |cur, v| {
            if cur.uid != obj.uid {
                return Ok(Update::Unchanged);
            }
            let mut next = v;
            let list: Vec<Value> = next["metadata"]["finalizers"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|f| f != name)
                .collect();
            let empty = list.is_empty();
            if empty {
                if let Some(m) = next["metadata"].as_object_mut() {
                    m.remove("finalizers");
                }
            } else {
                next["metadata"]["finalizers"] = json!(list);
            }
            let terminating = next["metadata"].get("deletionTimestamp").is_some();
            Ok(if empty && terminating {
                Update::Remove(next)
            } else {
                Update::Write(next)
            })
        },
    );
    if let Ok((obj, EventType::Deleted, true)) = res {
        after_delete_depth(state, info, &obj, true, depth + 1);
    }
}

/// Rewrite a dependent's `ownerReferences` (dropping the field when none are left).
fn update_refs(
    state: &State,
    info: &ResourceInfo,
    dep: &Obj,
    edit: impl FnOnce(&mut Vec<Value>),
) -> Result<(), ApiError> {
    let key = (dep.namespace.clone(), dep.name.clone());
    state.store.update(
        &keys::collection(info),
        &key,
        || ApiError::internal("gone"),
        |cur, v| {
            if cur.uid != dep.uid {
                return Ok(Update::Unchanged);
            }
            let mut next = v;
            let mut refs = next["metadata"]["ownerReferences"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let before = refs.len();
            edit(&mut refs);
            if refs.len() == before {
                return Ok(Update::Unchanged);
            }
            if refs.is_empty() {
                if let Some(m) = next["metadata"].as_object_mut() {
                    m.remove("ownerReferences");
                }
            } else {
                next["metadata"]["ownerReferences"] = json!(refs);
            }
            Ok(Update::Write(next))
        },
    )?;
    Ok(())
}

/// Objects whose `ownerReferences` name this UID.
fn dependents(state: &State, owner_uid: &str) -> Vec<(Arc<ResourceInfo>, Arc<Obj>)> {
    find(state, owner_uid, |o| {
        o.value()["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|refs| refs.iter().any(|r| r["uid"] == owner_uid))
    })
}

/// Dependents a foreground deletion waits for: those whose reference to the owner sets
/// `blockOwnerDeletion`.
fn blocking_dependents(state: &State, owner_uid: &str) -> Vec<(Arc<ResourceInfo>, Arc<Obj>)> {
    find(state, owner_uid, |o| {
        o.value()["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|refs| {
                refs.iter()
                    .any(|r| r["uid"] == owner_uid && r["blockOwnerDeletion"] == true)
            })
    })
}

fn uid_exists(state: &State, uid: &str) -> bool {
    !find(state, uid, |o| o.uid == uid).is_empty()
}

fn find(
    state: &State,
    needle: &str,
    keep: impl Fn(&Obj) -> bool,
) -> Vec<(Arc<ResourceInfo>, Arc<Obj>)> {
    if needle.is_empty() {
        return Vec::new();
    }
    let candidates = state.store.containing(needle);
    let reg = state.registry.read().unwrap_or_else(|p| p.into_inner());
    candidates
        .into_iter()
        .filter(|(_, o)| keep(o))
        .filter_map(|(col, o)| reg.by_storage_key(&col).map(|info| (info, o)))
        .collect()
}
