//! Which addresses serve a Service, as the endpoints controllers compute them: its pod
//! selector, the pods it selects, their readiness, the ports they resolve, and the
//! Endpoints subsets made of them. Shared by the controllers (which write Endpoints and
//! EndpointSlices) and the services proxy (which picks a backend the same way).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::shared::meta::{str_at, terminating};
use crate::shared::state::State;

/// A Service's pod selector, when it has a non-empty one.
pub(crate) fn selector(svc: &Value) -> Option<&Map<String, Value>> {
    svc["spec"]["selector"]
        .as_object()
        .filter(|s| !s.is_empty())
}

/// Does the selector select these labels?
pub(crate) fn selects(selector: &Map<String, Value>, labels: Option<&Map<String, Value>>) -> bool {
    labels.is_some_and(|l| selector.iter().all(|(k, v)| l.get(k) == Some(v)))
}

/// The pods of a namespace a selector selects, by name, without the finished ones (a
/// terminal pod serves nothing).
pub(crate) fn selected_pods(
    state: &State,
    namespace: &str,
    selector: &Map<String, Value>,
) -> Vec<Value> {
    let Some(info) = state.resource("", "v1", "pods") else {
        return Vec::new();
    };
    let mut pods: Vec<Value> = state
        .store
        .list(&info.storage_key(), Some(namespace), None)
        .map(|(_, items)| items.iter().map(|o| o.value()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| selects(selector, p["metadata"]["labels"].as_object()) && !finished(p))
        .collect();
    pods.sort_by(|a, b| {
        a["metadata"]["name"]
            .as_str()
            .cmp(&b["metadata"]["name"].as_str())
    });
    pods
}

/// Does the pod have an IP to serve at?
pub(crate) fn has_ip(pod: &Value) -> bool {
    !str_at(pod, &["status", "podIP"]).is_empty()
}

/// The Service's port `port` resolved against the pod: a number, or the named container
/// port (`None` when the pod has no port of that name).
pub(crate) fn target_port(port: &Value, pod: &Value) -> Option<i64> {
    match &port["targetPort"] {
        Value::Number(n) => n.as_i64(),
        Value::String(name) => {
            let protocol = port["protocol"].as_str().unwrap_or("TCP");
            pod["spec"]["containers"]
                .as_array()?
                .iter()
                .flat_map(|c| c["ports"].as_array().into_iter().flatten())
                .find(|p| {
                    p["name"] == name.as_str()
                        && p["protocol"].as_str().unwrap_or("TCP") == protocol
                })
                .and_then(|p| p["containerPort"].as_i64())
        }
        _ => port["port"].as_i64(),
    }
}

/// A reference to a pod, as endpoints write it.
pub(crate) fn target_ref(pod: &Value) -> Value {
    json!({
        "kind": "Pod",
        "namespace": str_at(pod, &["metadata", "namespace"]),
        "name": str_at(pod, &["metadata", "name"]),
        "uid": str_at(pod, &["metadata", "uid"]),
    })
}

/// The subsets of a Service's pods (`null` when there are none): addresses grouped by
/// the ports they serve, addresses sorted by IP, as `RepackSubsets` leaves them.
pub(crate) fn subsets(svc: &Value, pods: &[Value]) -> Value {
    let publish = svc["spec"]["publishNotReadyAddresses"] == true;
    let service_ports: Vec<Value> = svc["spec"]["ports"].as_array().cloned().unwrap_or_default();
    // ports (as JSON) -> (ports, ready addresses, not-ready addresses)
    let mut groups: BTreeMap<String, (Value, Vec<Value>, Vec<Value>)> = BTreeMap::new();
    for pod in pods.iter().filter(|p| has_ip(p)) {
        if terminating(pod) && !publish {
            continue;
        }
        let mut address = json!({"ip": str_at(pod, &["status", "podIP"])});
        let node = str_at(pod, &["spec", "nodeName"]);
        if !node.is_empty() {
            address["nodeName"] = json!(node);
        }
        address["targetRef"] = target_ref(pod);
        let ports: Vec<Value> = service_ports
            .iter()
            .filter_map(|p| {
                let mut out = serde_json::Map::new();
                if let Some(name) = p["name"].as_str().filter(|n| !n.is_empty()) {
                    out.insert("name".into(), json!(name));
                }
                out.insert("port".into(), json!(target_port(p, pod)?));
                out.insert(
                    "protocol".into(),
                    json!(p["protocol"].as_str().unwrap_or("TCP")),
                );
                if let Some(a) = p.get("appProtocol") {
                    out.insert("appProtocol".into(), a.clone());
                }
                Some(Value::Object(out))
            })
            .collect();
        if !service_ports.is_empty() && ports.is_empty() {
            continue;
        }
        let ports = json!(ports);
        let group = groups
            .entry(ports.to_string())
            .or_insert_with(|| (ports, Vec::new(), Vec::new()));
        if publish || ready(pod) {
            group.1.push(address);
        } else {
            group.2.push(address);
        }
    }
    if groups.is_empty() {
        return Value::Null;
    }
    let by_ip = |a: &Value, b: &Value| {
        let key = |v: &Value| {
            (
                v["ip"].as_str().map(str::to_owned),
                v["targetRef"]["uid"].as_str().map(str::to_owned),
            )
        };
        key(a).cmp(&key(b))
    };
    let subsets: Vec<Value> = groups
        .into_values()
        .map(|(ports, mut ready, mut not_ready)| {
            ready.sort_by(by_ip);
            not_ready.sort_by(by_ip);
            let mut s = serde_json::Map::new();
            if !ready.is_empty() {
                s.insert("addresses".into(), json!(ready));
            }
            if !not_ready.is_empty() {
                s.insert("notReadyAddresses".into(), json!(not_ready));
            }
            if ports.as_array().is_some_and(|p| !p.is_empty()) {
                s.insert("ports".into(), ports);
            }
            Value::Object(s)
        })
        .collect();
    json!(subsets)
}

/// Has the pod ended (Succeeded or Failed)?
pub(crate) fn finished(pod: &Value) -> bool {
    matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    )
}

/// Is the pod's `Ready` condition true?
pub(crate) fn ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}
