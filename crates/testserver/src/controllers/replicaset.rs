//! The replicaset controller (kube-controller-manager's): a ReplicaSet keeps
//! `spec.replicas` pods that it controls — made from its template with the generated
//! name `<replicaset>-`, its labels and a controller ownerReference, deleted unscheduled
//! and not ready ones first when there are too many — and reports them in its status
//! (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas,
//! terminatingReplicas, observedGeneration).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::controllers::client::{self, MANAGER};
use crate::controllers::runner::{Key, Outcome, RETRY, Reconciler};
use crate::logic::endpoints::{finished, ready};
use crate::objects::update::Mode;
use crate::shared::state::State;
use crate::storage::registry::ResourceInfo;
use crate::storage::store::Event;

/// The replicaset controller.
pub(crate) struct ReplicaSets;

impl Reconciler for ReplicaSets {
    fn name(&self) -> &'static str {
        "replicaset"
    }

    fn keys_for(&mut self, _state: &State, event: &Event, out: &mut BTreeSet<Key>) {
        match event.collection.as_ref() {
            "apps/replicasets" => {
                out.insert(event.obj.key());
            }
            "/pods" => owner_keys(event, "ReplicaSet", out),
            _ => {}
        }
    }

    fn all_keys(&mut self, state: &State) -> Vec<Key> {
        all(state, "apps", "v1", "replicasets")
    }

    fn reconcile(&mut self, state: &State, key: &Key) -> Outcome {
        let Some(info) = client::resource(state, "apps", "v1", "replicasets") else {
            return Outcome::Done;
        };
        let Some(rs) = client::get(state, &info, &key.0, &key.1) else {
            return Outcome::Done;
        };
        let want = rs["spec"]["replicas"].as_i64().unwrap_or(1).max(0);
        sync_pods(state, &info, &rs, want, &rs["spec"]["template"])
    }
}

/// The keys of the owners of kind `kind` that control the event's object (before and
/// after the write).
pub(crate) fn owner_keys(event: &Event, kind: &str, out: &mut BTreeSet<Key>) {
    let objs = std::iter::once(&event.obj).chain(event.prev.iter());
    for obj in objs {
        let value = obj.value();
        if let Some(owner) = client::controller_ref(&value)
            && owner["kind"] == kind
            && let Some(name) = owner["name"].as_str()
        {
            out.insert((obj.namespace.clone(), name.to_owned()));
        }
    }
}

/// Every object of a resource, as keys.
pub(crate) fn all(state: &State, group: &str, version: &str, plural: &str) -> Vec<Key> {
    let Some(info) = client::resource(state, group, version, plural) else {
        return Vec::new();
    };
    client::list(state, &info, None)
        .iter()
        .map(|o| {
            (
                client::str_at(o, &["metadata", "namespace"]).to_owned(),
                client::str_at(o, &["metadata", "name"]).to_owned(),
            )
        })
        .collect()
}

/// The pods `owner` controls.
pub(crate) fn owned_pods(state: &State, owner: &Value) -> Vec<Value> {
    let Some(pods) = client::resource(state, "", "v1", "pods") else {
        return Vec::new();
    };
    let ns = client::str_at(owner, &["metadata", "namespace"]);
    let uid = client::str_at(owner, &["metadata", "uid"]);
    client::list(state, &pods, Some(ns))
        .into_iter()
        .filter(|p| client::controlled_by(p, uid))
        .collect()
}

/// A pod for `owner` (of `info`) from `template`, as `GetPodFromTemplate` makes it.
pub(crate) fn pod_from_template(info: &ResourceInfo, owner: &Value, template: &Value) -> Value {
    let name = client::str_at(owner, &["metadata", "name"]);
    let mut meta = Map::new();
    meta.insert("generateName".into(), json!(format!("{name}-")));
    for k in ["labels", "annotations", "finalizers"] {
        if let Some(v) = template["metadata"].get(k).filter(|v| !v.is_null()) {
            meta.insert(k.into(), v.clone());
        }
    }
    meta.insert(
        "ownerReferences".into(),
        json!([client::owner_ref(info, owner)]),
    );
    json!({"metadata": meta, "spec": template["spec"].clone()})
}

/// Make or delete pods until `owner` (a ReplicaSet) controls `want` active ones, then
/// write its status.
fn sync_pods(
    state: &State,
    info: &ResourceInfo,
    owner: &Value,
    want: i64,
    template: &Value,
) -> Outcome {
    let Some(pod_info) = client::resource(state, "", "v1", "pods") else {
        return Outcome::Done;
    };
    let ns = client::str_at(owner, &["metadata", "namespace"]).to_owned();
    let mut active: Vec<Value> = owned_pods(state, owner)
        .into_iter()
        .filter(|p| !client::terminating(p) && !finished(p))
        .collect();
    let have = active.len() as i64;
    let mut retry = false;
    if !client::terminating(owner) {
        if have < want {
            for _ in have..want {
                let pod = pod_from_template(info, owner, template);
                match client::create(state, &pod_info, &ns, pod, Some(MANAGER)) {
                    Ok(_) => {}
                    Err(e) if matches!(e.code, 403 | 404) => return Outcome::Done,
                    Err(_) => retry = true,
                }
            }
        } else if have > want {
            // Unscheduled first, then pending, then not ready, then the newest.
            active.sort_by_key(|p| {
                let scheduled = !client::str_at(p, &["spec", "nodeName"]).is_empty();
                let running = p["status"]["phase"] == "Running";
                let created = client::str_at(p, &["metadata", "creationTimestamp"]).to_owned();
                (scheduled, running, ready(p), std::cmp::Reverse(created))
            });
            for pod in active.iter().take((have - want) as usize) {
                let name = client::str_at(pod, &["metadata", "name"]);
                let uid = client::str_at(pod, &["metadata", "uid"]);
                if let Err(e) = client::delete(state, &pod_info, &ns, name, uid, None)
                    && e.code != 404
                {
                    retry = true;
                }
            }
        }
    }
    if write_status(state, info, owner, template).is_err() {
        retry = true;
    }
    if retry {
        Outcome::After(RETRY)
    } else {
        Outcome::Done
    }
}

/// The status of a ReplicaSet from the pods it controls now, written when it changed.
fn write_status(
    state: &State,
    info: &ResourceInfo,
    rs: &Value,
    template: &Value,
) -> Result<(), ()> {
    let pods = owned_pods(state, rs);
    let labels = template["metadata"]["labels"].as_object();
    let active: Vec<&Value> = pods
        .iter()
        .filter(|p| !client::terminating(p) && !finished(p))
        .collect();
    let fully_labeled = active
        .iter()
        .filter(|p| {
            labels.is_none_or(|want| {
                want.iter()
                    .all(|(k, v)| p["metadata"]["labels"].get(k) == Some(v))
            })
        })
        .count();
    let ready_n = active.iter().filter(|p| ready(p)).count();
    let terminating = pods
        .iter()
        .filter(|p| client::terminating(p) && !finished(p))
        .count();
    let mut status = Map::new();
    status.insert("replicas".into(), json!(active.len()));
    if fully_labeled > 0 {
        status.insert("fullyLabeledReplicas".into(), json!(fully_labeled));
    }
    if ready_n > 0 {
        status.insert("readyReplicas".into(), json!(ready_n));
        status.insert("availableReplicas".into(), json!(ready_n));
    }
    status.insert("terminatingReplicas".into(), json!(terminating));
    if let Some(g) = rs["metadata"]["generation"].as_i64() {
        status.insert("observedGeneration".into(), json!(g));
    }
    if let Some(c) = rs["status"].get("conditions") {
        status.insert("conditions".into(), c.clone());
    }
    let status = Value::Object(status);
    if rs["status"] == status {
        return Ok(());
    }
    let mut next = rs.clone();
    client::set(&mut next, &["status"], status);
    match client::update(state, info, rs, next, Mode::Status) {
        Ok(_) => Ok(()),
        Err(e) if e.code == 404 => Ok(()),
        Err(_) => Err(()),
    }
}
