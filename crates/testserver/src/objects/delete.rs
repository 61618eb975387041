//! Delete: preconditions, graceful deletion (pods with a node), finalizers, and the
//! garbage collector's finalizers for foreground and orphan propagation, as
//! kube-apiserver's generic delete does. What happens to dependents afterwards is the
//! garbage collector's part (`controllers::gc`).

use std::sync::Arc;

use serde_json::{Value, json};

use crate::objects::{grace, normalize};
use crate::shared::keys::{collection, key};
use crate::shared::state::State;
use crate::shared::status::{ApiError, qualified};
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
    let (obj, kind, changed) = state.store.update(&collection(info), &k, on_missing, |cur, cur_val| {
        if let Some(uid) = &opts.uid
            && *uid != cur.uid
        {
            return Err(ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    qualified(&info.plural, &info.group),
                    cur.uid
                ),
                None,
            ));
        }
        if let Some(rv) = &opts.resource_version
            && *rv != cur.rv.to_string()
        {
            return Err(ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    qualified(&info.plural, &info.group),
                    cur.rv
                ),
                None,
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
            let list = next["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
            let mut list: Vec<Value> = list;
            list.push(json!(f));
            next["metadata"]["finalizers"] = json!(list);
            added = true;
        }
        let has_finalizers = next["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty());
        if has_finalizers && terminating && !added {
            return Ok(Update::Unchanged);
        }
        let is_pod = info.group.is_empty() && info.plural == "pods";
        // A pod waiting out its grace period: a DELETE may only shorten it (0: now).
        if is_pod && terminating && !added {
            return Ok(match grace::shorten(&mut next, opts.grace_period) {
                _ if opts.dry_run => Update::Unchanged,
                Some(0) if !has_finalizers => Update::Remove(normalize(next)),
                Some(_) => Update::Write(normalize(next)),
                None => Update::Unchanged,
            });
        }
        let graceful = has_finalizers || is_pod;
        let mut pending = false;
        if graceful && !terminating {
            // An unscheduled pod goes at once (grace 0, as kube-apiserver forces); a pod on
            // a node stays until its grace period is over.
            let grace = if is_pod { grace::pod_grace(&next, opts.grace_period) } else { 0 };
            pending = grace > 0;
            grace::mark(&mut next, grace);
            if let Some(g) = next["metadata"]["generation"].as_i64() {
                next["metadata"]["generation"] = json!(g + 1);
            }
        }
        if info.group.is_empty() && info.plural == "namespaces" {
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
        Ok(if has_finalizers || pending { Update::Write(next) } else { Update::Remove(next) })
    })?;
    if changed && kind == EventType::Modified && info.group.is_empty() && info.plural == "pods" {
        grace::schedule(state, &obj);
    }
    Ok(match preview {
        Some(v) => (Arc::new(Obj::from_value(&v, obj.rv)), EventType::Deleted),
        None => (obj, kind),
    })
}

/// Namespace deletion removes everything in the namespace (the namespace
/// controller's job in a real cluster), ignoring finalizers.
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
