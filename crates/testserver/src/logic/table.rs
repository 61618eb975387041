//! Server-side printing: `Table` (meta.k8s.io/v1) with the default columns kubectl
//! shows for common kinds, and `PartialObjectMetadata(List)`; which one a request gets
//! is negotiated from its Accept header (`shared::media`).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::logic::openapi::field_description;
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;

/// `PartialObjectMetadata` of a stored object.
pub(crate) fn partial(obj: &Value, version: &str) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": obj["metadata"],
    })
}

/// `PartialObjectMetadataList` (an empty one has `"items": null`, as kube-apiserver writes it).
pub(crate) fn partial_list(list_meta: Value, items: &[Value], version: &str) -> Value {
    let items: Value = if items.is_empty() {
        Value::Null
    } else {
        Value::Array(items.iter().map(|o| partial(o, version)).collect())
    };
    json!({
        "kind": "PartialObjectMetadataList",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": list_meta,
        "items": items,
    })
}

/// How rows carry their object (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Include {
    None,
    Metadata,
    Object,
}

impl Include {
    /// From the `includeObject` query parameter (default `Metadata`).
    pub(crate) fn parse(v: Option<&str>) -> Result<Include, ApiError> {
        match v {
            None | Some("") | Some("Metadata") => Ok(Include::Metadata),
            Some("None") => Ok(Include::None),
            Some("Object") => Ok(Include::Object),
            Some(other) => Err(ApiError::bad_request(format!(
                "includeObject: Unsupported value: {other:?}: supported values: \"None\", \"Metadata\", \"Object\""
            ))),
        }
    }
}

/// A `Table` of objects (stored form, without kind/apiVersion).
pub(crate) fn table(
    info: &ResourceInfo,
    list_meta: Value,
    objects: &[Value],
    include: Include,
    version: &str,
) -> Value {
    let columns = columns(info);
    let now = now_secs();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut row = Map::new();
            row.insert("cells".into(), Value::Array(cells(info, o, now)));
            if let Some(c) = conditions(info, o) {
                row.insert("conditions".into(), c);
            }
            match include {
                Include::None => {}
                Include::Metadata => {
                    row.insert("object".into(), partial(o, "v1"));
                }
                Include::Object => {
                    let mut full = json!({"kind": info.kind, "apiVersion": info.api_version()});
                    if let (Some(m), Some(src)) = (full.as_object_mut(), o.as_object()) {
                        m.extend(src.clone());
                    }
                    row.insert("object".into(), full);
                }
            }
            Value::Object(row)
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": list_meta,
        "columnDefinitions": columns,
        "rows": rows,
    })
}

fn col(name: &str, ty: &str, format: &str, description: String, priority: u8) -> Value {
    json!({"name": name, "type": ty, "format": format, "description": description, "priority": priority})
}

fn meta_doc(field: &str) -> String {
    field_description(
        "",
        "v1",
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        field,
    )
}

fn core_doc(schema: &str, field: &str) -> String {
    field_description("", "v1", &format!("io.k8s.api.core.v1.{schema}"), field)
}

/// The OpenAPI description of an apps/v1 schema's field.
fn apps_doc(schema: &str, field: &str) -> String {
    field_description("apps", "v1", &format!("io.k8s.api.apps.v1.{schema}"), field)
}

fn name_col() -> Value {
    col("Name", "string", "name", meta_doc("name"), 0)
}

fn age_col() -> Value {
    col("Age", "string", "", meta_doc("creationTimestamp"), 0)
}

fn template_cols() -> [Value; 2] {
    [
        col(
            "Containers",
            "string",
            "",
            "Names of each container in the template.".into(),
            1,
        ),
        col(
            "Images",
            "string",
            "",
            "Images referenced by each container in the template.".into(),
            1,
        ),
    ]
}

/// Container names and images of a workload's pod template, comma-joined.
fn template_cells(o: &Value) -> [Value; 2] {
    let containers = o["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = containers.iter().map(|c| s(&c["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| s(&c["image"])).collect();
    [json!(names.join(",")), json!(images.join(","))]
}

fn columns(info: &ResourceInfo) -> Vec<Value> {
    if let Some(v) = &info.custom {
        let mut cols = vec![name_col()];
        let printer = v["additionalPrinterColumns"].as_array();
        match printer {
            Some(p) if !p.is_empty() => {
                for c in p {
                    cols.push(col(
                        c["name"].as_str().unwrap_or_default(),
                        c["type"].as_str().unwrap_or("string"),
                        c["format"].as_str().unwrap_or_default(),
                        c["description"]
                            .as_str()
                            .filter(|d| !d.is_empty())
                            .map(str::to_owned)
                            .unwrap_or_else(|| {
                                format!(
                                    "Custom resource definition column (in JSONPath format): {}",
                                    s(&c["jsonPath"])
                                )
                            }),
                        c["priority"].as_u64().unwrap_or(0) as u8,
                    ));
                }
            }
            _ => cols.push(col("Age", "date", "", meta_doc("creationTimestamp"), 0)),
        }
        return cols;
    }
    match (info.group.as_str(), info.plural.as_str()) {
        ("", "pods") => vec![
            name_col(),
            col(
                "Ready",
                "string",
                "",
                "The aggregate readiness state of this pod for accepting traffic.".into(),
                0,
            ),
            col(
                "Status",
                "string",
                "",
                "The aggregate status of the containers in this pod.".into(),
                0,
            ),
            col(
                "Restarts",
                "string",
                "",
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.".into(),
                0,
            ),
            age_col(),
            col("IP", "string", "", core_doc("PodStatus", "podIP"), 1),
            col("Node", "string", "", core_doc("PodSpec", "nodeName"), 1),
            col(
                "Nominated Node",
                "string",
                "",
                core_doc("PodStatus", "nominatedNodeName"),
                1,
            ),
            col(
                "Readiness Gates",
                "string",
                "",
                core_doc("PodSpec", "readinessGates"),
                1,
            ),
        ],
        ("apps", "deployments") => {
            vec![
                name_col(),
                col(
                    "Ready",
                    "string",
                    "",
                    "Number of the pod with ready state".into(),
                    0,
                ),
                col(
                    "Up-to-date",
                    "string",
                    "",
                    apps_doc("DeploymentStatus", "updatedReplicas"),
                    0,
                ),
                col(
                    "Available",
                    "string",
                    "",
                    apps_doc("DeploymentStatus", "availableReplicas"),
                    0,
                ),
                age_col(),
                col(
                    "Containers",
                    "string",
                    "",
                    "Names of each container in the template.".into(),
                    1,
                ),
                col(
                    "Images",
                    "string",
                    "",
                    "Images referenced by each container in the template.".into(),
                    1,
                ),
                col("Selector", "string", "", apps_doc("DeploymentSpec", "selector"), 1),
            ]
        }
        ("", "services") => vec![
            name_col(),
            col("Type", "string", "", core_doc("ServiceSpec", "type"), 0),
            col("Cluster-IP", "string", "", core_doc("ServiceSpec", "clusterIP"), 0),
            col(
                "External-IP",
                "string",
                "",
                core_doc("ServiceSpec", "externalIPs"),
                0,
            ),
            col("Port(s)", "string", "", core_doc("ServiceSpec", "ports"), 0),
            age_col(),
            col("Selector", "string", "", core_doc("ServiceSpec", "selector"), 1),
        ],
        ("", "configmaps") => vec![
            name_col(),
            col("Data", "string", "", core_doc("ConfigMap", "data"), 0),
            age_col(),
        ],
        ("", "events") => vec![
            col("Last Seen", "string", "", core_doc("Event", "lastTimestamp"), 0),
            col("Type", "string", "", core_doc("Event", "type"), 0),
            col("Reason", "string", "", core_doc("Event", "reason"), 0),
            col("Object", "string", "", core_doc("Event", "involvedObject"), 0),
            col("Subobject", "string", "", core_doc("ObjectReference", "fieldPath"), 1),
            col("Source", "string", "", core_doc("Event", "source"), 1),
            col("Message", "string", "", core_doc("Event", "message"), 0),
            col("First Seen", "string", "", core_doc("Event", "firstTimestamp"), 1),
            col("Count", "string", "", core_doc("Event", "count"), 1),
            col("Name", "string", "name", meta_doc("name"), 1),
        ],
        ("discovery.k8s.io", "endpointslices") => {
            let doc = |field: &str| {
                field_description(
                    "discovery.k8s.io",
                    "v1",
                    "io.k8s.api.discovery.v1.EndpointSlice",
                    field,
                )
            };
            vec![
                name_col(),
                col("AddressType", "string", "", doc("addressType"), 0),
                col("Ports", "string", "", doc("ports"), 0),
                col("Endpoints", "string", "", doc("endpoints"), 0),
                age_col(),
            ]
        }
        ("batch", "jobs") => {
            let batch = |schema: &str, field: &str| {
                field_description("batch", "v1", &format!("io.k8s.api.batch.v1.{schema}"), field)
            };
            let mut cols = vec![
                name_col(),
                col("Status", "string", "", "Status of the job.".into(), 0),
                col("Completions", "string", "", batch("JobStatus", "succeeded"), 0),
                col("Duration", "string", "", "Time required to complete the job.".into(), 0),
                age_col(),
            ];
            cols.extend(template_cols());
            cols.push(col("Selector", "string", "", batch("JobSpec", "selector"), 1));
            cols
        }
        ("", "secrets") => vec![
            name_col(),
            col("Type", "string", "", core_doc("Secret", "type"), 0),
            col("Data", "string", "", core_doc("Secret", "data"), 0),
            age_col(),
        ],
        ("", "serviceaccounts") => vec![
            name_col(),
            col("Secrets", "string", "", core_doc("ServiceAccount", "secrets"), 0),
            age_col(),
        ],
        ("apps", "replicasets") => {
            let mut cols = vec![
                name_col(),
                col("Desired", "integer", "", apps_doc("ReplicaSetSpec", "replicas"), 0),
                col("Current", "integer", "", apps_doc("ReplicaSetStatus", "replicas"), 0),
                col("Ready", "integer", "", apps_doc("ReplicaSetStatus", "readyReplicas"), 0),
                age_col(),
            ];
            cols.extend(template_cols());
            cols.push(col("Selector", "string", "", apps_doc("ReplicaSetSpec", "selector"), 1));
            cols
        }
        ("apps", "statefulsets") => {
            let mut cols = vec![
                name_col(),
                col(
                    "Ready",
                    "string",
                    "",
                    "Number of the pod with ready state".into(),
                    0,
                ),
                age_col(),
            ];
            cols.extend(template_cols());
            cols
        }
        ("apps", "daemonsets") => {
            let mut cols = vec![
                name_col(),
                col("Desired", "integer", "", apps_doc("DaemonSetStatus", "desiredNumberScheduled"), 0),
                col("Current", "integer", "", apps_doc("DaemonSetStatus", "currentNumberScheduled"), 0),
                col("Ready", "integer", "", apps_doc("DaemonSetStatus", "numberReady"), 0),
                col("Up-to-date", "integer", "", apps_doc("DaemonSetStatus", "updatedNumberScheduled"), 0),
                col("Available", "integer", "", apps_doc("DaemonSetStatus", "numberAvailable"), 0),
                col("Node Selector", "string", "", core_doc("PodSpec", "nodeSelector"), 0),
                age_col(),
            ];
            cols.extend(template_cols());
            cols.push(col("Selector", "string", "", apps_doc("DaemonSetSpec", "selector"), 1));
            cols
        }
        ("", "namespaces") => vec![
            name_col(),
            col("Status", "string", "", "The status of the namespace".into(), 0),
            age_col(),
        ],
        ("", "nodes") => vec![
            name_col(),
            col("Status", "string", "", "The status of the node".into(), 0),
            col("Roles", "string", "", "The roles of the node".into(), 0),
            age_col(),
            col(
                "Version",
                "string",
                "",
                core_doc("NodeSystemInfo", "kubeletVersion"),
                0,
            ),
            col("Internal-IP", "string", "", core_doc("NodeStatus", "addresses"), 1),
            col("External-IP", "string", "", core_doc("NodeStatus", "addresses"), 1),
            col("OS-Image", "string", "", core_doc("NodeSystemInfo", "osImage"), 1),
            col(
                "Kernel-Version",
                "string",
                "",
                core_doc("NodeSystemInfo", "kernelVersion"),
                1,
            ),
            col(
                "Container-Runtime",
                "string",
                "",
                core_doc("NodeSystemInfo", "containerRuntimeVersion"),
                1,
            ),
        ],
        _ => vec![
            name_col(),
            col("Created At", "date", "", meta_doc("creationTimestamp"), 0),
        ],
    }
}

/// At most three items joined by commas, then ` + N more...`; `<unset>` for none
/// (printers.go's `listWithMoreString`).
fn first_three(items: impl Iterator<Item = String>) -> String {
    let all: Vec<String> = items.collect();
    let shown = all.iter().take(3).cloned().collect::<Vec<_>>().join(",");
    match all.len() {
        0 => "<unset>".to_owned(),
        n if n > 3 => format!("{shown} + {} more...", n - 3),
        _ => shown,
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn or_none(v: &str) -> String {
    if v.is_empty() {
        "<none>".into()
    } else {
        v.to_owned()
    }
}

fn cells(info: &ResourceInfo, o: &Value, now: u64) -> Vec<Value> {
    let name = json!(s(&o["metadata"]["name"]));
    let created = s(&o["metadata"]["creationTimestamp"]);
    let age = json!(age(created, now));
    if let Some(v) = &info.custom {
        let mut out = vec![name];
        match v["additionalPrinterColumns"].as_array() {
            Some(p) if !p.is_empty() => {
                for c in p {
                    out.push(json_path_cell(o, s(&c["jsonPath"]), s(&c["type"]), now));
                }
            }
            _ => out.push(age),
        }
        return out;
    }
    match (info.group.as_str(), info.plural.as_str()) {
        ("", "pods") => pod_cells(o, name, age),
        ("discovery.k8s.io", "endpointslices") => {
            // printers.go's formatDiscoveryPorts and formatDiscoveryEndpoints.
            let ports = o["ports"].as_array().into_iter().flatten().map(|p| {
                match (p["port"].as_i64(), p["name"].as_str()) {
                    (Some(n), _) => n.to_string(),
                    (None, Some(name)) => name.to_owned(),
                    (None, None) => "*".to_owned(),
                }
            });
            let addresses = o["endpoints"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|e| e["addresses"].as_array().into_iter().flatten())
                .map(|a| s(a).to_owned());
            vec![
                name,
                json!(s(&o["addressType"])),
                json!(first_three(ports)),
                json!(first_three(addresses)),
                age,
            ]
        }
        ("apps", "deployments") => {
            let st = &o["status"];
            let n = |v: &Value| v.as_i64().unwrap_or(0);
            let [containers, images] = template_cells(o);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    n(&st["readyReplicas"]),
                    n(&o["spec"]["replicas"])
                )),
                json!(n(&st["updatedReplicas"])),
                json!(n(&st["availableReplicas"])),
                age,
                containers,
                images,
                json!(or_none(&crate::logic::scale::selector_string(
                    &o["spec"]["selector"]
                ))),
            ]
        }
        ("", "services") => {
            let spec = &o["spec"];
            let ty = s(&spec["type"]);
            let cluster_ip = if ty == "ExternalName" {
                String::new()
            } else {
                s(&spec["clusterIP"]).to_owned()
            };
            let mut external: Vec<String> = spec["externalIPs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| s(v).to_owned())
                .collect();
            let lb: Vec<String> = o["status"]["loadBalancer"]["ingress"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| {
                    let ip = s(&i["ip"]);
                    if ip.is_empty() {
                        s(&i["hostname"]).to_owned()
                    } else {
                        ip.to_owned()
                    }
                })
                .collect();
            let external = match ty {
                "ExternalName" => s(&spec["externalName"]).to_owned(),
                "LoadBalancer" => {
                    external.extend(lb);
                    if external.is_empty() {
                        "<pending>".into()
                    } else {
                        external.join(",")
                    }
                }
                _ if external.is_empty() => "<none>".into(),
                _ => external.join(","),
            };
            let ports: Vec<String> = spec["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let port = p["port"].as_i64().unwrap_or(0);
                    let proto = s(&p["protocol"]);
                    match p["nodePort"].as_i64() {
                        Some(np) if np != 0 => format!("{port}:{np}/{proto}"),
                        _ => format!("{port}/{proto}"),
                    }
                })
                .collect();
            let selector = crate::logic::scale::selector_string(&spec["selector"]);
            vec![
                name,
                json!(ty),
                json!(or_none(&cluster_ip)),
                json!(external),
                json!(or_none(&ports.join(","))),
                age,
                json!(or_none(&selector)),
            ]
        }
        ("", "configmaps") => {
            let count = |v: &Value| v.as_object().map_or(0, Map::len);
            vec![
                name,
                json!(count(&o["data"]) + count(&o["binaryData"])),
                age,
            ]
        }
        ("", "namespaces") => vec![name, json!(s(&o["status"]["phase"])), age],
        ("", "events") => event_cells(o, now),
        ("batch", "jobs") => job_cells(o, name, age, now),
        ("", "secrets") => {
            let count = o["data"].as_object().map_or(0, Map::len);
            vec![name, json!(s(&o["type"])), json!(count), age]
        }
        ("", "serviceaccounts") => {
            let count = o["secrets"].as_array().map_or(0, Vec::len);
            vec![name, json!(count), age]
        }
        ("apps", "replicasets" | "statefulsets" | "daemonsets") => {
            let st = &o["status"];
            let n = |v: &Value| v.as_i64().unwrap_or(0);
            let selector = json!(or_none(&crate::logic::scale::selector_string(
                &o["spec"]["selector"]
            )));
            let [containers, images] = template_cells(o);
            match info.plural.as_str() {
                "replicasets" => vec![
                    name,
                    json!(n(&o["spec"]["replicas"])),
                    json!(n(&st["replicas"])),
                    json!(n(&st["readyReplicas"])),
                    age,
                    containers,
                    images,
                    selector,
                ],
                "statefulsets" => vec![
                    name,
                    json!(format!(
                        "{}/{}",
                        n(&st["readyReplicas"]),
                        n(&o["spec"]["replicas"])
                    )),
                    age,
                    containers,
                    images,
                ],
                _ => {
                    let node_selector = crate::logic::scale::selector_string(
                        &o["spec"]["template"]["spec"]["nodeSelector"],
                    );
                    vec![
                        name,
                        json!(n(&st["desiredNumberScheduled"])),
                        json!(n(&st["currentNumberScheduled"])),
                        json!(n(&st["numberReady"])),
                        json!(n(&st["updatedNumberScheduled"])),
                        json!(n(&st["numberAvailable"])),
                        json!(or_none(&node_selector)),
                        age,
                        containers,
                        images,
                        selector,
                    ]
                }
            }
        }
        ("", "nodes") => node_cells(o, name, age),
        _ => vec![name, json!(created)],
    }
}

fn pod_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let spec = &o["spec"];
    let st = &o["status"];
    let total = spec["containers"].as_array().map_or(0, Vec::len);
    let statuses = st["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ready = statuses.iter().filter(|c| c["ready"] == true).count();
    let restarts: i64 = statuses
        .iter()
        .map(|c| c["restartCount"].as_i64().unwrap_or(0))
        .sum();
    let mut reason = s(&st["phase"]).to_owned();
    if !s(&st["reason"]).is_empty() {
        reason = s(&st["reason"]).to_owned();
    }
    for c in statuses.iter().rev() {
        let waiting = s(&c["state"]["waiting"]["reason"]);
        let terminated = &c["state"]["terminated"];
        if !waiting.is_empty() {
            reason = waiting.to_owned();
        } else if terminated.is_object() {
            reason = if !s(&terminated["reason"]).is_empty() {
                s(&terminated["reason"]).to_owned()
            } else if terminated["signal"].as_i64().unwrap_or(0) != 0 {
                format!("Signal:{}", terminated["signal"])
            } else {
                format!("ExitCode:{}", terminated["exitCode"].as_i64().unwrap_or(0))
            };
        }
    }
    if o["metadata"].get("deletionTimestamp").is_some() && reason != "NodeLost" {
        reason = "Terminating".into();
    }
    let gates = spec["readinessGates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let gates = if gates.is_empty() {
        "<none>".to_owned()
    } else {
        let conds = st["conditions"].as_array().cloned().unwrap_or_default();
        let ok = gates
            .iter()
            .filter(|g| {
                conds
                    .iter()
                    .any(|c| c["type"] == g["conditionType"] && c["status"] == "True")
            })
            .count();
        format!("{ok}/{}", gates.len())
    };
    vec![
        name,
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts.to_string()),
        age,
        json!(or_none(s(&st["podIP"]))),
        json!(or_none(s(&spec["nodeName"]))),
        json!(or_none(s(&st["nominatedNodeName"]))),
        json!(gates),
    ]
}

fn event_cells(o: &Value, now: u64) -> Vec<Value> {
    let first = match o["firstTimestamp"].as_str() {
        Some(t) if !t.is_empty() => age(t, now),
        _ => age(s(&o["eventTime"]), now),
    };
    let last = match o["lastTimestamp"].as_str() {
        Some(t) if !t.is_empty() => age(t, now),
        _ => first.clone(),
    };
    let involved = &o["involvedObject"];
    let kind = s(&involved["kind"]).to_lowercase();
    let target = if s(&involved["name"]).is_empty() {
        kind
    } else {
        format!("{kind}/{}", s(&involved["name"]))
    };
    let component = [s(&o["source"]["component"]), s(&o["reportingComponent"])]
        .into_iter()
        .find(|c| !c.is_empty())
        .unwrap_or_default();
    let instance = [s(&o["source"]["host"]), s(&o["reportingInstance"])]
        .into_iter()
        .find(|c| !c.is_empty())
        .unwrap_or_default();
    let source = match (component.is_empty(), instance.is_empty()) {
        (true, _) => String::new(),
        (false, true) => component.to_owned(),
        (false, false) => format!("{component}, {instance}"),
    };
    vec![
        json!(last),
        json!(s(&o["type"])),
        json!(s(&o["reason"])),
        json!(target),
        json!(s(&involved["fieldPath"])),
        json!(source),
        json!(s(&o["message"]).trim()),
        json!(first),
        json!(o["count"].as_i64().unwrap_or(0)),
        json!(s(&o["metadata"]["name"])),
    ]
}

fn job_cells(o: &Value, name: Value, age: Value, now: u64) -> Vec<Value> {
    let spec = &o["spec"];
    let st = &o["status"];
    let succeeded = st["succeeded"].as_i64().unwrap_or(0);
    let completions = match spec["completions"].as_i64() {
        Some(c) => format!("{succeeded}/{c}"),
        None => match spec["parallelism"].as_i64().unwrap_or(0) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let start = st["startTime"].as_str().and_then(parse_rfc3339);
    let end = st["completionTime"].as_str().and_then(parse_rfc3339);
    let duration = match (start, end) {
        (None, _) => String::new(),
        (Some(s), None) => human_duration(now as i64 - s),
        (Some(s), Some(e)) => human_duration(e - s),
    };
    let has = |ty: &str| {
        st["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == ty && c["status"] == "True")
    };
    let status = if has("Complete") {
        "Complete"
    } else if has("Failed") {
        "Failed"
    } else if o["metadata"].get("deletionTimestamp").is_some() {
        "Terminating"
    } else if has("Suspended") {
        "Suspended"
    } else if has("FailureTarget") {
        "FailureTarget"
    } else if has("SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else {
        "Running"
    };
    let [containers, images] = template_cells(o);
    vec![
        name,
        json!(status),
        json!(completions),
        json!(duration),
        age,
        containers,
        images,
        json!(or_none(&crate::logic::scale::selector_string(
            &spec["selector"]
        ))),
    ]
}

fn node_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let st = &o["status"];
    let ready = st["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready");
    let mut status = match ready.map(|c| s(&c["status"])) {
        Some("True") => "Ready".to_owned(),
        Some("False") => "NotReady".to_owned(),
        _ => "Unknown".to_owned(),
    };
    if o["spec"]["unschedulable"] == true {
        status.push_str(",SchedulingDisabled");
    }
    let mut roles: Vec<String> = o["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            if let Some(r) = k.strip_prefix("node-role.kubernetes.io/") {
                Some(r.to_owned())
            } else if k == "kubernetes.io/role" {
                Some(s(v).to_owned())
            } else {
                None
            }
        })
        .filter(|r| !r.is_empty())
        .collect();
    roles.sort();
    let address = |ty: &str| {
        st["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["type"] == ty)
            .map(|a| s(&a["address"]).to_owned())
            .unwrap_or_else(|| "<none>".into())
    };
    let info = &st["nodeInfo"];
    let unknown = |v: &Value| {
        let v = s(v);
        if v.is_empty() {
            "<unknown>".to_owned()
        } else {
            v.to_owned()
        }
    };
    vec![
        name,
        json!(status),
        json!(if roles.is_empty() {
            "<none>".to_owned()
        } else {
            roles.join(",")
        }),
        age,
        json!(s(&info["kubeletVersion"])),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        json!(unknown(&info["osImage"])),
        json!(unknown(&info["kernelVersion"])),
        json!(unknown(&info["containerRuntimeVersion"])),
    ]
}

/// Row conditions: pods that ran to completion are marked `Completed`.
fn conditions(info: &ResourceInfo, o: &Value) -> Option<Value> {
    if info.group.is_empty()
        && info.plural == "pods"
        && matches!(s(&o["status"]["phase"]), "Succeeded" | "Failed")
    {
        return Some(json!([{"type": "Completed", "status": "True"}]));
    }
    None
}

/// A CRD printer column: a simple JSONPath (`.spec.size`, `.items[0].name`) into the object.
fn json_path_cell(o: &Value, path: &str, ty: &str, now: u64) -> Value {
    let mut cur = o;
    for seg in path
        .trim_start_matches('.')
        .split('.')
        .filter(|s| !s.is_empty())
    {
        let (field, index) = match seg.split_once('[') {
            Some((f, rest)) => (f, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (seg, None),
        };
        if !field.is_empty() {
            cur = &cur[field];
        }
        if let Some(i) = index {
            cur = &cur[i];
        }
    }
    match (cur, ty) {
        (Value::Null, _) => Value::Null,
        (Value::String(t), "date") => json!(match parse_rfc3339(t) {
            Some(t) => human_duration(now as i64 - t),
            None => "<invalid>".into(),
        }),
        (Value::String(_) | Value::Number(_) | Value::Bool(_), _) => cur.clone(),
        (other, _) => json!(other.to_string()),
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `translateTimestampSince`: `<unknown>` for no timestamp, else a human duration.
fn age(created: &str, now: u64) -> String {
    match parse_rfc3339(created) {
        Some(t) => human_duration(now as i64 - t),
        None => "<unknown>".into(),
    }
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SSZ` (fractions and offsets tolerated).
pub(crate) fn parse_rfc3339(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Howard Hinnant's days-from-civil.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + s)
}

/// `3m`, or `3m5s` when the smaller unit is not zero.
fn two_units(big: i64, big_unit: &str, small: i64, small_unit: &str) -> String {
    if small == 0 {
        format!("{big}{big_unit}")
    } else {
        format!("{big}{big_unit}{small}{small_unit}")
    }
}

/// apimachinery's `duration.HumanDuration`.
pub(crate) fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        return two_units(minutes, "m", secs % 60, "s");
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        return two_units(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return two_units(hours / 24, "d", hours % 24, "h");
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        return two_units(hours / 24 / 365, "y", (hours / 24) % 365, "d");
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_kubectl() {
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 5 * 60), "3h5m");
        assert_eq!(human_duration(50 * 3600), "2d2h");
        assert_eq!(parse_rfc3339("1970-01-02T00:00:01Z"), Some(86_401));
        assert_eq!(
            parse_rfc3339(&crate::shared::meta::rfc3339(1_795_747_663)),
            Some(1_795_747_663)
        );
    }
}
