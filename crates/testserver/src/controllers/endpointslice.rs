//! The endpointslice controller (kube-controller-manager's): a Service with a selector
//! gets `discovery.k8s.io/v1` EndpointSlices (generated name `<service>-`, the
//! `kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by` labels, a
//! controller ownerReference to the Service) listing the selected pods that have an IP,
//! with their ready/serving/terminating conditions, and the Service's ports resolved
//! against each pod's named container ports — one slice per distinct set of ports, or
//! one empty placeholder slice when no pod qualifies.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::controllers::client::{self, MANAGER};
use crate::controllers::replicaset::all;
use crate::controllers::runner::{Key, Outcome, RETRY, Reconciler};
use crate::logic::endpoints::{
    has_ip, ready, selected_pods, selector, selects, target_port, target_ref,
};
use crate::objects::update::Mode;
use crate::shared::state::State;
use crate::storage::store::Event;

/// The label naming a slice's Service.
pub(crate) const SERVICE_NAME: &str = "kubernetes.io/service-name";
const MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
const CONTROLLER: &str = "endpointslice-controller.k8s.io";
/// When the change that the endpoints reflect happened.
pub(crate) const TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";

/// The endpointslice controller.
pub(crate) struct EndpointSlices;

impl Reconciler for EndpointSlices {
    fn name(&self) -> &'static str {
        "endpointslice"
    }

    fn keys_for(&mut self, state: &State, event: &Event, out: &mut BTreeSet<Key>) {
        match event.collection.as_ref() {
            "/services" => {
                out.insert(event.obj.key());
            }
            "/pods" => services_of_pod(state, event, out),
            "discovery.k8s.io/endpointslices" => {
                let labels = event.obj.labels.as_ref();
                if let Some(svc) = labels.and_then(|l| l.get(SERVICE_NAME)?.as_str())
                    && labels.and_then(|l| l.get(MANAGED_BY)) == Some(&json!(CONTROLLER))
                {
                    out.insert((event.obj.namespace.clone(), svc.to_owned()));
                }
            }
            _ => {}
        }
    }

    fn all_keys(&mut self, state: &State) -> Vec<Key> {
        all(state, "", "v1", "services")
    }

    fn reconcile(&mut self, state: &State, key: &Key) -> Outcome {
        let (Some(services), Some(slices)) = (
            client::resource(state, "", "v1", "services"),
            client::resource(state, "discovery.k8s.io", "v1", "endpointslices"),
        ) else {
            return Outcome::Done;
        };
        // A deleted Service's slices go with it (the garbage collector follows their
        // ownerReferences).
        let Some(svc) = client::get(state, &services, &key.0, &key.1) else {
            return Outcome::Done;
        };
        let ours: Vec<Value> = client::list(state, &slices, Some(&key.0))
            .into_iter()
            .filter(|s| {
                s["metadata"]["labels"][SERVICE_NAME] == key.1.as_str()
                    && s["metadata"]["labels"][MANAGED_BY] == CONTROLLER
            })
            .collect();
        let mut retry = false;
        let Some(selector) = selector(&svc).filter(|_| !client::terminating(&svc)) else {
            for s in &ours {
                retry |= delete(state, &slices, s);
            }
            return outcome(retry);
        };
        let pods = selected_pods(state, &key.0, selector);
        // Endpoints grouped by the ports they serve.
        let mut groups: BTreeMap<String, (Value, Vec<Value>)> = BTreeMap::new();
        for pod in pods.iter().filter(|p| has_ip(p)) {
            let ports = slice_ports(&svc, pod);
            let group = groups
                .entry(ports.to_string())
                .or_insert_with(|| (ports, Vec::new()));
            group.1.push(endpoint(&svc, pod));
        }
        if groups.is_empty() {
            groups.insert(String::new(), (Value::Null, Vec::new()));
        }
        let mut labels = svc["metadata"]["labels"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        labels.insert(MANAGED_BY.into(), json!(CONTROLLER));
        labels.insert(SERVICE_NAME.into(), json!(key.1));
        if svc["spec"]["clusterIP"] == "None" {
            labels.insert("service.kubernetes.io/headless".into(), json!(""));
        }
        let trigger = trigger_time(&svc, &pods);
        let mut unused: Vec<&Value> = ours.iter().collect();
        for (ports, endpoints) in groups.into_values() {
            let endpoints = if endpoints.is_empty() {
                Value::Null
            } else {
                json!(endpoints)
            };
            let at = unused
                .iter()
                .position(|s| s["ports"] == ports)
                .or_else(|| (!unused.is_empty()).then_some(0));
            let mut slice = match at {
                Some(i) => unused.remove(i).clone(),
                None => {
                    let svc_name = client::str_at(&svc, &["metadata", "name"]);
                    json!({"metadata": {
                        "generateName": format!("{svc_name}-"),
                        "ownerReferences": [client::owner_ref(&services, &svc)],
                    }})
                }
            };
            let before = slice.clone();
            let meta = &mut slice["metadata"];
            client::set(meta, &["labels"], Value::Object(labels.clone()));
            if slice["endpoints"] != endpoints || slice["ports"] != ports || at.is_none() {
                client::set(
                    &mut slice,
                    &["metadata", "annotations", TRIGGER_TIME],
                    json!(trigger),
                );
            }
            client::set(&mut slice, &["addressType"], json!("IPv4"));
            client::set(&mut slice, &["endpoints"], endpoints);
            client::set(&mut slice, &["ports"], ports);
            let res = match at {
                None => client::create(state, &slices, &key.0, slice, Some(MANAGER)).map(|_| ()),
                Some(_) if slice == before => Ok(()),
                Some(_) => client::update(state, &slices, &before, slice, Mode::Main).map(|_| ()),
            };
            match res {
                Ok(()) => {}
                Err(e) if matches!(e.code, 403 | 404) => {}
                Err(_) => retry = true,
            }
        }
        for s in unused {
            retry |= delete(state, &slices, s);
        }
        outcome(retry)
    }
}

fn outcome(retry: bool) -> Outcome {
    if retry {
        Outcome::After(RETRY)
    } else {
        Outcome::Done
    }
}

/// Delete a slice; true when it should be tried again.
fn delete(state: &State, info: &crate::storage::registry::ResourceInfo, s: &Value) -> bool {
    let ns = client::str_at(s, &["metadata", "namespace"]);
    let name = client::str_at(s, &["metadata", "name"]);
    let uid = client::str_at(s, &["metadata", "uid"]);
    client::delete(state, info, ns, name, uid, None).is_err_and(|e| e.code != 404)
}

/// The keys of the Services of the pod's namespace that select it (before or after the
/// write).
pub(crate) fn services_of_pod(state: &State, event: &Event, out: &mut BTreeSet<Key>) {
    let Some(info) = client::resource(state, "", "v1", "services") else {
        return;
    };
    let ns = &event.obj.namespace;
    let objs: Vec<_> = std::iter::once(&event.obj)
        .chain(event.prev.iter())
        .collect();
    for svc in client::list(state, &info, Some(ns)) {
        let Some(sel) = selector(&svc) else {
            continue;
        };
        if objs.iter().any(|o| selects(sel, o.labels.as_ref())) {
            let name = client::str_at(&svc, &["metadata", "name"]);
            out.insert((ns.clone(), name.to_owned()));
        }
    }
}

/// The latest change among the Service and its pods that the endpoints reflect (their
/// creation, Ready transitions, deletion), as the controller's trigger-time tracker sees it.
pub(crate) fn trigger_time(svc: &Value, pods: &[Value]) -> String {
    let mut at = client::str_at(svc, &["metadata", "creationTimestamp"]).to_owned();
    for pod in pods {
        let ready_at = pod["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
            .and_then(|c| c["lastTransitionTime"].as_str());
        let times = [
            Some(client::str_at(pod, &["metadata", "creationTimestamp"])),
            ready_at,
            pod["metadata"]["deletionTimestamp"].as_str(),
        ];
        for t in times.into_iter().flatten() {
            if t > at.as_str() {
                t.clone_into(&mut at);
            }
        }
    }
    at
}

/// The slice ports of a pod: the Service's ports it resolves.
fn slice_ports(svc: &Value, pod: &Value) -> Value {
    let ports: Vec<Value> = svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let mut out = json!({
                "name": client::str_at(p, &["name"]),
                "protocol": p["protocol"].as_str().unwrap_or("TCP"),
                "port": target_port(p, pod)?,
            });
            if let Some(a) = p.get("appProtocol") {
                out["appProtocol"] = a.clone();
            }
            Some(out)
        })
        .collect();
    json!(ports)
}

/// A pod as a slice's endpoint.
fn endpoint(svc: &Value, pod: &Value) -> Value {
    let publish = svc["spec"]["publishNotReadyAddresses"] == true;
    let terminating = client::terminating(pod);
    let mut e = json!({
        "addresses": [client::str_at(pod, &["status", "podIP"])],
        "conditions": {
            "ready": publish || (ready(pod) && !terminating),
            "serving": publish || ready(pod),
            "terminating": terminating,
        },
        "targetRef": target_ref(pod),
    });
    let node = client::str_at(pod, &["spec", "nodeName"]);
    if !node.is_empty() {
        e["nodeName"] = json!(node);
    }
    e
}
