//! A stand-in scheduler and kubelet for one node, `testserver-node`: an unscheduled pod
//! of the default scheduler is bound to the node (`spec.nodeName` and the PodScheduled
//! condition, as the binding subresource writes them), then marked Running and Ready
//! with a pod IP and container statuses; a pod whose `restartPolicy` is not `Always`
//! succeeds after it ran for a while (its containers exit 0); a deleted pod on the node
//! goes at once, as when its containers stopped. No container runs anywhere.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::controllers::client;
use crate::controllers::runner::{Key, Outcome, RETRY, Reconciler};
use crate::objects::update::Mode;
use crate::shared::meta;
use crate::shared::state::State;
use crate::shared::status::ApiError;
use crate::storage::store::{Event, EventType};

/// The node's name.
pub(crate) const NODE: &str = "testserver-node";

/// The node's address.
const NODE_IP: &str = "172.18.0.2";

/// The kubelet of `testserver-node`.
pub(crate) struct Kubelet {
    /// How long a pod that is not restarted runs before it succeeds (`None`: forever).
    pub complete_after: Option<Duration>,
    next_ip: u32,
    /// When each running pod (by UID) started, for `complete_after`.
    started: HashMap<String, Instant>,
}

impl Kubelet {
    pub(crate) fn new(complete_after: Option<Duration>) -> Kubelet {
        Kubelet {
            complete_after,
            next_ip: 0,
            started: HashMap::new(),
        }
    }

    fn pod_ip(&mut self) -> String {
        self.next_ip += 1;
        let n = self.next_ip;
        format!("10.244.{}.{}", (n / 254) % 256, n % 254 + 1)
    }
}

impl Reconciler for Kubelet {
    fn name(&self) -> &'static str {
        "kubelet"
    }

    fn keys_for(&mut self, _state: &State, event: &Event, out: &mut BTreeSet<Key>) {
        if event.collection.as_ref() != "/pods" {
            return;
        }
        if event.kind == EventType::Deleted {
            self.started.remove(&event.obj.uid);
        } else {
            out.insert(event.obj.key());
        }
    }

    fn all_keys(&mut self, state: &State) -> Vec<Key> {
        crate::controllers::replicaset::all(state, "", "v1", "pods")
    }

    fn reconcile(&mut self, state: &State, key: &Key) -> Outcome {
        let Some(info) = client::resource(state, "", "v1", "pods") else {
            return Outcome::Done;
        };
        let Some(pod) = client::get(state, &info, &key.0, &key.1) else {
            return Outcome::Done;
        };
        let node = client::str_at(&pod, &["spec", "nodeName"]);
        let res = if node.is_empty() {
            let scheduler = client::str_at(&pod, &["spec", "schedulerName"]);
            if client::terminating(&pod) || !matches!(scheduler, "" | "default-scheduler") {
                return Outcome::Done;
            }
            bind(state, &pod)
        } else if node != NODE {
            return Outcome::Done;
        } else if client::terminating(&pod) {
            let uid = client::str_at(&pod, &["metadata", "uid"]);
            client::delete(state, &info, &key.0, &key.1, uid, Some(0))
        } else {
            match pod["status"]["phase"].as_str() {
                Some("Pending") | None => {
                    let uid = client::str_at(&pod, &["metadata", "uid"]).to_owned();
                    let ip = self.pod_ip();
                    let res = write_status(state, &pod, running(&pod, &ip));
                    if res.is_ok() {
                        self.started.insert(uid, Instant::now());
                    }
                    res
                }
                Some("Running") => return self.maybe_complete(state, &pod),
                _ => return Outcome::Done,
            }
        };
        match res {
            Ok(()) => Outcome::Done,
            Err(e) if matches!(e.code, 404 | 403) => Outcome::Done,
            Err(_) => Outcome::After(RETRY),
        }
    }
}

impl Kubelet {
    /// A running pod that is not restarted succeeds once it ran `complete_after`.
    fn maybe_complete(&mut self, state: &State, pod: &Value) -> Outcome {
        let restarts = matches!(pod["spec"]["restartPolicy"].as_str(), None | Some("Always"));
        let Some(after) = self.complete_after.filter(|_| !restarts) else {
            return Outcome::Done;
        };
        let uid = client::str_at(pod, &["metadata", "uid"]).to_owned();
        let started = *self.started.entry(uid.clone()).or_insert_with(Instant::now);
        let ran = started.elapsed();
        if ran < after {
            return Outcome::After(after - ran);
        }
        match write_status(state, pod, succeeded(pod)) {
            Ok(()) => {
                self.started.remove(&uid);
                Outcome::Done
            }
            Err(e) if matches!(e.code, 404 | 403) => Outcome::Done,
            Err(_) => Outcome::After(RETRY),
        }
    }
}

/// Bind a pod to the node, as the scheduler's binding does: `spec.nodeName` and the
/// PodScheduled condition.
fn bind(state: &State, pod: &Value) -> Result<(), ApiError> {
    let Some(info) = client::resource(state, "", "v1", "pods") else {
        return Ok(());
    };
    let mut next = pod.clone();
    client::set(&mut next, &["spec", "nodeName"], json!(NODE));
    let mut conditions = pod["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    conditions.retain(|c| c["type"] != "PodScheduled");
    conditions.push(condition("PodScheduled", "True", None));
    client::set(&mut next, &["status", "conditions"], json!(conditions));
    client::update(state, &info, pod, next, Mode::Raw).map(|_| ())
}

/// Write a pod's status as the kubelet's status manager does.
fn write_status(state: &State, pod: &Value, status: Value) -> Result<(), ApiError> {
    let Some(info) = client::resource(state, "", "v1", "pods") else {
        return Ok(());
    };
    let mut next = pod.clone();
    client::set(&mut next, &["status"], status);
    client::update(state, &info, pod, next, Mode::Status).map(|_| ())
}

fn condition(kind: &str, status: &str, reason: Option<&str>) -> Value {
    let mut c = json!({
        "type": kind, "status": status, "lastProbeTime": null,
        "lastTransitionTime": meta::now_rfc3339(),
    });
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    c
}

/// `nginx:1.27` as the container runtime reports it: `docker.io/library/nginx:1.27`.
fn full_image(image: &str) -> String {
    let (name, tag) = match image.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
        Some((n, t)) => (n, t),
        None => (image, "latest"),
    };
    let first = name.split('/').next().unwrap_or_default();
    let registry = first.contains('.') || first.contains(':') || first == "localhost";
    let name = match (registry, name.contains('/')) {
        (true, _) => name.to_owned(),
        (false, true) => format!("docker.io/{name}"),
        (false, false) => format!("docker.io/library/{name}"),
    };
    format!("{name}:{tag}")
}

fn hex_id() -> String {
    format!("{}{}", meta::new_uid(), meta::new_uid())
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(64)
        .collect()
}

fn container_status(c: &Value, state: Value, ready: bool, started: bool) -> Value {
    let image = full_image(client::str_at(c, &["image"]));
    let repo = image.rsplit_once(':').map_or(image.as_str(), |(r, _)| r);
    json!({
        "name": c["name"],
        "state": state,
        "lastState": {},
        "ready": ready,
        "restartCount": 0,
        "image": image,
        "imageID": format!("{repo}@sha256:{}", hex_id()),
        "containerID": format!("containerd://{}", hex_id()),
        "started": started,
    })
}

fn containers(pod: &Value, key: &str) -> Vec<Value> {
    pod["spec"][key].as_array().cloned().unwrap_or_default()
}

/// The status of a pod whose containers all started and are ready.
fn running(pod: &Value, ip: &str) -> Value {
    let now = meta::now_rfc3339();
    let init: Vec<Value> = containers(pod, "initContainers")
        .iter()
        .map(|c| {
            let done = json!({"terminated": {"exitCode": 0, "reason": "Completed",
                "startedAt": now, "finishedAt": now}});
            container_status(c, done, true, false)
        })
        .collect();
    let main: Vec<Value> = containers(pod, "containers")
        .iter()
        .map(|c| container_status(c, json!({"running": {"startedAt": now}}), true, true))
        .collect();
    let mut status = json!({
        "phase": "Running",
        "conditions": [
            condition("PodReadyToStartContainers", "True", None),
            condition("Initialized", "True", None),
            condition("Ready", "True", None),
            condition("ContainersReady", "True", None),
            scheduled(pod),
        ],
        "hostIP": NODE_IP,
        "hostIPs": [{"ip": NODE_IP}],
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": now,
    });
    if !init.is_empty() {
        status["initContainerStatuses"] = json!(init);
    }
    status["containerStatuses"] = json!(main);
    if let Some(q) = pod["status"].get("qosClass") {
        status["qosClass"] = q.clone();
    }
    status
}

/// The PodScheduled condition the pod has (the binding's), or a new one.
fn scheduled(pod: &Value) -> Value {
    pod["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "PodScheduled"))
        .cloned()
        .unwrap_or_else(|| condition("PodScheduled", "True", None))
}

/// The status of a pod whose containers all exited 0.
fn succeeded(pod: &Value) -> Value {
    let now = meta::now_rfc3339();
    let mut status = pod["status"].clone();
    let started = |name: &Value| -> Value {
        pod["status"]["containerStatuses"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == *name))
            .map(|s| s["state"]["running"]["startedAt"].clone())
            .unwrap_or_else(|| json!(now))
    };
    let main: Vec<Value> = containers(pod, "containers")
        .iter()
        .map(|c| {
            let done = json!({"terminated": {"exitCode": 0, "reason": "Completed",
                "startedAt": started(&c["name"]), "finishedAt": now}});
            container_status(c, done, false, false)
        })
        .collect();
    client::set(&mut status, &["phase"], json!("Succeeded"));
    client::set(
        &mut status,
        &["conditions"],
        json!([
            condition("PodReadyToStartContainers", "False", None),
            condition("Initialized", "True", Some("PodCompleted")),
            condition("Ready", "False", Some("PodCompleted")),
            condition("ContainersReady", "False", Some("PodCompleted")),
            scheduled(pod),
        ]),
    );
    client::set(&mut status, &["containerStatuses"], json!(main));
    status
}

/// The Node the kubelet registers at start, Ready.
pub(crate) fn register_node(state: &State) -> Result<(), ApiError> {
    let Some(info) = client::resource(state, "", "v1", "nodes") else {
        return Ok(());
    };
    let node = json!({
        "metadata": {
            "name": NODE,
            "labels": {
                "beta.kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": NODE,
                "kubernetes.io/os": "linux",
            },
        },
        "spec": {"podCIDR": "10.244.0.0/16", "podCIDRs": ["10.244.0.0/16"]},
    });
    let created = match client::create(state, &info, "", node, Some("kubelet")) {
        Ok(obj) => obj.value(),
        Err(e) if e.code == 409 => return Ok(()),
        Err(e) => return Err(e),
    };
    let now = meta::now_rfc3339();
    let cond = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": status, "lastHeartbeatTime": now,
               "lastTransitionTime": now, "reason": reason, "message": message})
    };
    let resources =
        json!({"cpu": "8", "ephemeral-storage": "100Gi", "memory": "16Gi", "pods": "110"});
    let mut next = created.clone();
    client::set(
        &mut next,
        &["status"],
        json!({
            "capacity": resources,
            "allocatable": resources,
            "conditions": [
                cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [
                {"type": "InternalIP", "address": NODE_IP},
                {"type": "Hostname", "address": NODE},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": "", "systemUUID": "", "bootID": "",
                "kernelVersion": "6.8.0", "osImage": "kubecto-testserver",
                "containerRuntimeVersion": "containerd://2.1.0",
                "kubeletVersion": "v1.36.2", "kubeProxyVersion": "",
                "operatingSystem": "linux", "architecture": "amd64",
            },
        }),
    );
    client::update(state, &info, &created, next, Mode::Status).map(|_| ())
}
