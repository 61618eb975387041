//! Delete: preconditions, graceful deletion (pods with a node), finalizers, and the
//! garbage collector's finalizers for foreground and orphan propagation, as
//! kube-apiserver's generic delete does. What happens to dependents afterwards is the
//! garbage collector's part (`controllers::gc`).

use std::sync::Arc;

use serde_json::{Value, json};

use crate::objects::{grace, normalize};
use crate::shared::keys::{collection, key};
use crate::shared::meta;
use crate::shared::state::State;
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;
use crate::storage::store::{EventType, Obj, Update};

/// The finalizer of foreground deletion.
pub(crate) const FOREGROUND: &str = "foregroundDeletion";

/// The finalizer of orphaning deletion.
pub(crate) const ORPHAN: &str = "orphan";

/// Does the object carry this finalizer?
pub(crate) fn has_finalizer(obj: &Value, name: &str) -> bool {
    obj["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| f.iter().any(|v| v == name))
}

/// How dependents (objects whose `ownerReferences` name the deleted object) are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Propagation {
    /// The owner goes now; the garbage collector deletes dependents after it.
    Background,
    /// The owner gets the `foregroundDeletion` finalizer; dependents go first, then it.
    Foreground,
    /// The owner gets the `orphan` finalizer; dependents lose their reference to it, then it goes.
    Orphan,
}

/// `DeleteOptions` from the body and the query.
pub(crate) struct DeleteOpts {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub dry_run: bool,
    /// `None`: the resource's default (background, or orphan when the object carries
    /// the `orphan` finalizer).
    pub propagation: Option<Propagation>,
    pub grace_period: Option<i64>,
}

impl DeleteOpts {
    /// Options of a deletion the server makes itself (garbage collection).
    pub(crate) fn internal(propagation: Propagation) -> DeleteOpts {
        DeleteOpts {
            uid: None,
            resource_version: None,
            dry_run: false,
            propagation: Some(propagation),
            grace_period: None,
        }
    }
}

pub(crate) fn delete_one(
    state: &State,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    opts: &DeleteOpts,
) -> Result<(Arc<Obj>, EventType), ApiError> {
    let k = key(info, namespace, name);
    let on_missing = || ApiError::not_found(&info.plural, &info.group, name);
    let mut preview = None;
    let (obj, kind, changed) = state.store.update(
        &collection(info),
        &k,
        on_missing,
        |cur, cur_val| {
            if let Some(uid) = &opts.uid
                && *uid != cur.uid
            {
                return Err(ApiError::precondition_failed(
                    &info.plural,
                    &info.group,
                    name,
                    &format!(
                        "UID in precondition: {uid}, UID in object meta: {}",
                        cur.uid
                    ),
                ));
            }
            if let Some(rv) = &opts.resource_version
                && *rv != cur.rv.to_string()
            {
                return Err(ApiError::precondition_failed(
                    &info.plural,
                    &info.group,
                    name,
                    &format!(
                        "ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                        cur.rv
                    ),
                ));
            }
            let mut next = cur_val.clone();
            let terminating = next["metadata"].get("deletionTimestamp").is_some();
            // Foreground and orphan deletion hand the object to the garbage collector through
            // a finalizer; an `orphan` finalizer already there makes orphaning the default.
            let has_orphan = has_finalizer(&next, ORPHAN);
            let policy = opts.propagation.unwrap_or(if has_orphan {
                Propagation::Orphan
            } else {
                Propagation::Background
            });
            let gc_finalizer = match policy {
                Propagation::Foreground => Some(FOREGROUND),
                Propagation::Orphan => Some(ORPHAN),
                Propagation::Background => None,
            };
            let mut added = false;
            if let Some(f) = gc_finalizer
                && !has_finalizer(&next, f)
            {
                let list = next["metadata"]["finalizers"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let mut list: Vec<Value> = list;
                list.push(json!(f));
                next["metadata"]["finalizers"] = json!(list);
                added = true;
            }
            let has_finalizers = next["metadata"]["finalizers"]
                .as_array()
                .is_some_and(|f| !f.is_empty());
            // A namespace's own finalizers (`spec.finalizers`, `kubernetes` by default) keep it
            // Terminating until the namespace controller has emptied it.
            let is_namespace = info.group.is_empty() && info.plural == "namespaces";
            let stays = has_finalizers || (is_namespace && has_spec_finalizers(&next));
            if stays && terminating && !added {
                return Ok(Update::Unchanged);
            }
            let is_pod = info.group.is_empty() && info.plural == "pods";
            // A pod waiting out its grace period: a DELETE may only shorten it (0: now).
            if is_pod && terminating && !added {
                return Ok(match grace::shorten(&mut next, opts.grace_period) {
                    _ if opts.dry_run => Update::Unchanged,
                    Some(0) if !stays => Update::Remove(normalize(next)),
                    Some(_) => Update::Write(normalize(next)),
                    None => Update::Unchanged,
                });
            }
            let graceful = stays || is_pod;
            let mut pending = false;
            if is_namespace && !terminating {
                next["metadata"]["deletionTimestamp"] = json!(meta::now_rfc3339());
            } else if graceful && !terminating {
                // An unscheduled pod goes at once (grace 0, as kube-apiserver forces); a pod on
                // a node stays until its grace period is over.
                let grace = if is_pod {
                    grace::pod_grace(&next, opts.grace_period)
                } else {
                    0
                };
                pending = grace > 0;
                grace::mark(&mut next, grace);
                if let Some(g) = next["metadata"]["generation"].as_i64() {
                    next["metadata"]["generation"] = json!(g + 1);
                }
            }
            if is_namespace {
                if !next["status"].is_object() {
                    next["status"] = json!({});
                }
                next["status"]["phase"] = json!("Terminating");
            }
            let next = normalize(next);
            if opts.dry_run {
                preview = Some(next);
                return Ok(Update::Unchanged);
            }
            Ok(if stays || pending {
                Update::Write(next)
            } else {
                Update::Remove(next)
            })
        },
    )?;
    if changed && kind == EventType::Modified && info.group.is_empty() && info.plural == "pods" {
        grace::schedule(state, &obj);
    }
    Ok(match preview {
        Some(v) => (Arc::new(Obj::from_value(&v, obj.rv)), EventType::Deleted),
        None => (obj, kind),
    })
}

/// Does a namespace still carry finalizers of its own (`spec.finalizers`)?
pub(crate) fn has_spec_finalizers(namespace: &Value) -> bool {
    namespace["spec"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty())
}

/// The namespace controller's work done at once, for a server that runs no controllers:
/// everything in a Terminating namespace is removed (finalizers ignored), then its
/// `kubernetes` finalizer, and the namespace goes unless other finalizers hold it.
pub(crate) fn finish_namespace(state: &State, info: &ResourceInfo, name: &str) {
    delete_namespace_contents(state, name);
    let res = state.store.update(
        &collection(info),
        &key(info, None, name),
        || ApiError::internal("gone"),
        |_, mut next| {
            if next["metadata"].get("deletionTimestamp").is_none() {
                return Ok(Update::Unchanged);
            }
            let Some(list) = next["spec"]["finalizers"].as_array_mut() else {
                return Ok(Update::Unchanged);
            };
            let before = list.len();
            list.retain(|f| f != "kubernetes");
            if list.len() == before {
                return Ok(Update::Unchanged);
            }
            let held = has_finalizer_list(&next) || has_spec_finalizers(&next);
            Ok(if held {
                Update::Write(next)
            } else {
                Update::Remove(next)
            })
        },
    );
    if let Ok((obj, kind, true)) = res {
        state.after_write(info, &obj, kind);
    }
}

fn has_finalizer_list(obj: &Value) -> bool {
    obj["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty())
}

/// Remove everything in a namespace at once, ignoring finalizers (the namespace
/// controller's job, done by [`finish_namespace`] when no controllers run).
pub(crate) fn delete_namespace_contents(state: &State, namespace: &str) {
    for (col, keys) in state.store.collections_with_namespace(namespace) {
        for k in keys {
            let _ = state.store.update(
                &col,
                &k,
                || ApiError::internal("gone"),
                |_, v| Ok(Update::Remove(v)),
            );
        }
    }
}
