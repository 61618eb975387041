//! The namespace controller (kube-controller-manager's `namespace` controller): a
//! Terminating namespace is emptied — every object in it deleted as a DELETE with
//! background propagation would, so pods on a node wait for their kubelet and objects
//! with finalizers wait for them — its status conditions say what remains, worded as
//! `namespace_condition_utils.go` words them, and once nothing remains its `kubernetes`
//! finalizer is removed (the `finalize` subresource's write), which lets it go.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};

use crate::controllers::client::{self, MANAGER};
use crate::controllers::runner::{Key, Outcome, RETRY, Reconciler};
use crate::objects::update::{How, Mode, write_update};
use crate::shared::meta;
use crate::shared::state::State;
use crate::storage::store::Event;

/// How often a namespace whose content waits (on finalizers, on a kubelet) is looked at
/// again even when no event says so.
const RECHECK: Duration = Duration::from_secs(1);

/// The namespace controller; remembers which namespaces are Terminating, so events
/// inside them wake it.
#[derive(Default)]
pub(crate) struct Namespaces {
    terminating: BTreeSet<String>,
}

impl Reconciler for Namespaces {
    fn name(&self) -> &'static str {
        "namespace"
    }

    fn keys_for(&mut self, _state: &State, event: &Event, out: &mut BTreeSet<Key>) {
        let obj = &event.obj;
        if event.collection.as_ref() == "/namespaces" {
            out.insert((String::new(), obj.name.clone()));
        } else if !obj.namespace.is_empty() && self.terminating.contains(&obj.namespace) {
            out.insert((String::new(), obj.namespace.clone()));
        }
    }

    fn all_keys(&mut self, state: &State) -> Vec<Key> {
        let Some(info) = client::resource(state, "", "v1", "namespaces") else {
            return Vec::new();
        };
        client::list(state, &info, None)
            .iter()
            .map(|ns| {
                (
                    String::new(),
                    client::str_at(ns, &["metadata", "name"]).to_owned(),
                )
            })
            .collect()
    }

    fn reconcile(&mut self, state: &State, key: &Key) -> Outcome {
        let name = key.1.as_str();
        let Some(info) = client::resource(state, "", "v1", "namespaces") else {
            return Outcome::Done;
        };
        let Some(ns) = client::get(state, &info, "", name) else {
            self.terminating.remove(name);
            return Outcome::Done;
        };
        if !client::terminating(&ns) {
            self.terminating.remove(name);
            return Outcome::Done;
        }
        self.terminating.insert(name.to_owned());
        let ours = ns["spec"]["finalizers"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f == "kubernetes"));
        if !ours {
            return Outcome::Done;
        }
        delete_content(state, name);
        let remaining = Remaining::count(state, name);
        if write_conditions(state, &ns, &remaining).is_err() {
            return Outcome::After(RETRY);
        }
        if !remaining.is_empty() {
            return Outcome::After(RECHECK);
        }
        match finalize(state, name) {
            Ok(()) => Outcome::Done,
            Err(()) => Outcome::After(RETRY),
        }
    }
}

/// Delete every object in the namespace that is not being deleted yet.
fn delete_content(state: &State, namespace: &str) {
    for (collection, keys) in state.store.collections_with_namespace(namespace) {
        let info = state
            .registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .by_storage_key(&collection);
        let Some(info) = info else {
            continue;
        };
        for key in keys {
            let Some(obj) = state.store.get(&collection, &key) else {
                continue;
            };
            let value = obj.value();
            if client::terminating(&value) {
                continue;
            }
            let _ = client::delete(state, &info, namespace, &obj.name, &obj.uid, None);
        }
    }
}

/// What is left in a namespace: instances per resource, and per finalizer.
#[derive(Default)]
struct Remaining {
    resources: BTreeMap<String, usize>,
    finalizers: BTreeMap<String, usize>,
}

impl Remaining {
    fn count(state: &State, namespace: &str) -> Remaining {
        let mut out = Remaining::default();
        for (collection, keys) in state.store.collections_with_namespace(namespace) {
            // `group/plural` -> `plural.group`, as the controller names a GroupResource.
            let (group, plural) = collection.split_once('/').unwrap_or(("", &collection));
            *out.resources
                .entry(format!("{plural}.{group}"))
                .or_default() += keys.len();
            for key in keys {
                let Some(obj) = state.store.get(&collection, &key) else {
                    continue;
                };
                for f in obj.value()["metadata"]["finalizers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    *out.finalizers.entry(f.to_owned()).or_default() += 1;
                }
            }
        }
        out
    }

    fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }
}

/// The conditions the controller maintains, in its order, with the reason and message
/// of their "nothing wrong" form (status False).
const CONDITIONS: &[(&str, &str, &str)] = &[
    (
        "NamespaceDeletionDiscoveryFailure",
        "ResourcesDiscovered",
        "All resources successfully discovered",
    ),
    (
        "NamespaceDeletionGroupVersionParsingFailure",
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed",
    ),
    (
        "NamespaceDeletionContentFailure",
        "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
    ),
    (
        "NamespaceContentRemaining",
        "ContentRemoved",
        "All content successfully removed",
    ),
    (
        "NamespaceFinalizersRemaining",
        "ContentHasNoFinalizers",
        "All content-preserving finalizers finished",
    ),
];

/// Update the namespace's conditions (only those that changed, keeping the others'
/// times), as `namespaceConditionUpdater.Update` does.
fn write_conditions(state: &State, ns: &Value, remaining: &Remaining) -> Result<(), ()> {
    let Some(info) = client::resource(state, "", "v1", "namespaces") else {
        return Ok(());
    };
    let now = meta::now_rfc3339();
    let mut conditions: Vec<Value> = ns["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut changed = false;
    for (kind, ok_reason, ok_message) in CONDITIONS {
        let (status, reason, message) = match *kind {
            "NamespaceContentRemaining" if !remaining.resources.is_empty() => {
                let list: Vec<String> = remaining
                    .resources
                    .iter()
                    .map(|(r, n)| format!("{r} has {n} resource instances"))
                    .collect();
                (
                    "True",
                    "SomeResourcesRemain".to_owned(),
                    format!("Some resources are remaining: {}", list.join(", ")),
                )
            }
            "NamespaceFinalizersRemaining" if !remaining.finalizers.is_empty() => {
                let list: Vec<String> = remaining
                    .finalizers
                    .iter()
                    .map(|(f, n)| format!("{f} in {n} resource instances"))
                    .collect();
                (
                    "True",
                    "SomeFinalizersRemain".to_owned(),
                    format!(
                        "Some content in the namespace has finalizers remaining: {}",
                        list.join(", ")
                    ),
                )
            }
            _ => ("False", (*ok_reason).to_owned(), (*ok_message).to_owned()),
        };
        let new = json!({
            "type": kind, "status": status, "lastTransitionTime": now,
            "reason": reason, "message": message,
        });
        match conditions.iter_mut().find(|c| c["type"] == *kind) {
            None => {
                conditions.push(new);
                changed = true;
            }
            Some(old) => {
                if old["status"] != status || old["reason"] != reason || old["message"] != message {
                    *old = new;
                    changed = true;
                }
            }
        }
    }
    if !changed {
        return Ok(());
    }
    let mut next = ns.clone();
    client::set(&mut next, &["status", "conditions"], json!(conditions));
    client::update(state, &info, ns, next, Mode::Status)
        .map(|_| ())
        .map_err(|_| ())
}

/// Remove the `kubernetes` finalizer through the namespace's `finalize` subresource;
/// the namespace goes when no other finalizer holds it.
fn finalize(state: &State, name: &str) -> Result<(), ()> {
    let Some(info) = client::resource(state, "", "v1", "namespaces") else {
        return Ok(());
    };
    let how = How {
        mode: Mode::Raw,
        dry_run: false,
        manager: Some(MANAGER),
        subresource: "finalize",
    };
    let res = write_update(state, &info, None, name, how, |_, cur| {
        let mut next = cur.clone();
        if let Some(list) = next["spec"]["finalizers"].as_array_mut() {
            list.retain(|f| f != "kubernetes");
        }
        Ok(next)
    });
    match res {
        Ok(_) => Ok(()),
        Err(e) if e.code == 404 => Ok(()),
        Err(_) => Err(()),
    }
}
