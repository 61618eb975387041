//! The CRD controllers (apiextensions-apiserver's establishing and naming
//! controllers, and its finalizer): creating an `apiextensions.k8s.io/v1` CRD serves
//! its resource at every served version (with the status and scale subresources it
//! declares) in both discovery forms, and gives the CRD the `NamesAccepted` and
//! `Established` conditions; deleting it stops serving the resource and removes its
//! objects.

use serde_json::json;

use crate::logic::crd::{established, is_crd, resources};
use crate::shared::keys;
use crate::shared::meta;
use crate::shared::state::{Controller, State};
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;
use crate::storage::store::{EventType, Obj, Update};

/// Serves the resources of CRDs and marks the CRDs established.
pub(crate) struct Crds;

impl Controller for Crds {
    fn after_write(&self, state: &State, info: &ResourceInfo, obj: &Obj, kind: EventType) {
        if !is_crd(info) {
            return;
        }
        if kind == EventType::Deleted {
            removed(state, obj);
        } else {
            sync(state, info, obj);
        }
    }
}

/// After a CRD was created or changed: serve what it declares now and record the
/// conditions and accepted names the apiextensions controllers would.
fn sync(state: &State, info: &ResourceInfo, obj: &Obj) {
    let crd = obj.value();
    if crd["metadata"].get("deletionTimestamp").is_some() {
        return;
    }
    let (group, plural, versions) = resources(&crd);
    state
        .registry
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .add_custom(&group, &plural, versions);
    let names = crd["spec"]["names"].clone();
    let _ = state.store.update(
        &keys::collection(info),
        &(String::new(), obj.name.clone()),
        || ApiError::internal("gone"),
        |cur, v| {
            if cur.uid != obj.uid {
                return Ok(Update::Unchanged);
            }
            let mut next = v;
            if !next["status"].is_object() {
                next["status"] = json!({});
            }
            let status = &mut next["status"];
            if status["acceptedNames"] == names && established(status) {
                return Ok(Update::Unchanged);
            }
            let now = meta::now_rfc3339();
            status["acceptedNames"] = names.clone();
            status["conditions"] = json!([
                {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now,
                 "reason": "NoConflicts", "message": "no conflicts found"},
                {"type": "Established", "status": "True", "lastTransitionTime": now,
                 "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
            ]);
            Ok(Update::Write(next))
        },
    );
}

/// After a CRD was removed: stop serving its resource and delete every object of it.
fn removed(state: &State, obj: &Obj) {
    let crd = obj.value();
    let (group, plural, _) = resources(&crd);
    state
        .registry
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .remove_custom(&group, &plural);
    state.store.drop_collection(&format!("{group}/{plural}"));
}
