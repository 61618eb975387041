//! Defaults kube-apiserver applies on create, for the common built-in kinds.
//!
//! Matched against objects a real v1.36 server returned
//! (`tests/fixtures/samples/create-*-with-server-defaults.json`).

use serde_json::{Map, Value, json};

/// Fill defaults into a new object of `kind` (`value` has no kind/apiVersion).
pub(crate) fn apply(
    group: &str,
    kind: &str,
    value: &mut Value,
    service_ip: impl FnOnce() -> String,
) {
    match (group, kind) {
        ("", "Pod") => {
            if let Some(spec) = value.get_mut("spec") {
                pod_spec(spec, true);
            }
            let qos = qos_class(&value["spec"]);
            value["status"] = json!({"phase": "Pending", "qosClass": qos});
        }
        ("", "Namespace") => {
            let name = value["metadata"]["name"].clone();
            let labels = obj(&mut value["metadata"], "labels");
            labels.insert("kubernetes.io/metadata.name".into(), name);
            let spec = obj(value, "spec");
            spec.entry("finalizers").or_insert(json!(["kubernetes"]));
            value["status"] = json!({"phase": "Active"});
        }
        ("", "Service") => {
            let spec = obj(value, "spec");
            let ty = spec.entry("type").or_insert(json!("ClusterIP")).clone();
            if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
                for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                    p.entry("protocol").or_insert(json!("TCP"));
                    if let Some(port) = p.get("port").cloned() {
                        p.entry("targetPort").or_insert(port);
                    }
                }
            }
            if ty != "ExternalName" && !spec.contains_key("clusterIP") {
                let ip = service_ip();
                spec.insert("clusterIP".into(), json!(ip));
                spec.insert("clusterIPs".into(), json!([ip]));
            }
            spec.entry("sessionAffinity").or_insert(json!("None"));
            if ty != "ExternalName" {
                spec.entry("ipFamilies").or_insert(json!(["IPv4"]));
                spec.entry("ipFamilyPolicy").or_insert(json!("SingleStack"));
                spec.entry("internalTrafficPolicy")
                    .or_insert(json!("Cluster"));
            }
            value["status"] = json!({"loadBalancer": {}});
        }
        ("", "Secret") => secret(value),
        ("apps", "Deployment") => {
            let spec = obj(value, "spec");
            spec.entry("replicas").or_insert(json!(1));
            // SetDefaults_Deployment fills in an empty strategy (`strategy: {}`, which Go
            // clients such as `kubectl create deployment` send) field by field.
            let strategy = obj_in(spec, "strategy");
            strategy.entry("type").or_insert(json!("RollingUpdate"));
            if strategy.get("type").is_some_and(|t| t == "RollingUpdate") {
                let rolling = obj_in(strategy, "rollingUpdate");
                rolling.entry("maxUnavailable").or_insert(json!("25%"));
                rolling.entry("maxSurge").or_insert(json!("25%"));
            }
            spec.entry("revisionHistoryLimit").or_insert(json!(10));
            spec.entry("progressDeadlineSeconds").or_insert(json!(600));
            template(spec);
            value["status"] = json!({});
        }
        ("apps", "ReplicaSet" | "StatefulSet" | "DaemonSet") | ("batch", "Job") => {
            let spec = obj(value, "spec");
            if kind != "DaemonSet" && kind != "Job" {
                spec.entry("replicas").or_insert(json!(1));
            }
            template(spec);
            if kind == "Job" {
                job(value);
            }
            value["status"] = json!({});
        }
        _ => {}
    }
}

/// Job defaults and the selector the Job strategy generates: completions and
/// parallelism 1, backoffLimit 6, NonIndexed, not suspended, pods replaced once
/// terminating or failed; unless `manualSelector`, a selector on the job's UID with the
/// matching labels on the template and (when it has none) on the job.
fn job(value: &mut Value) {
    let uid = value["metadata"]["uid"].clone();
    let name = value["metadata"]["name"].clone();
    let spec = obj(value, "spec");
    if spec.get("completions").is_none() && spec.get("parallelism").is_none() {
        spec.insert("completions".into(), json!(1));
    }
    spec.entry("parallelism").or_insert(json!(1));
    if spec.get("backoffLimitPerIndex").is_none() {
        spec.entry("backoffLimit").or_insert(json!(6));
    }
    spec.entry("completionMode").or_insert(json!("NonIndexed"));
    spec.entry("suspend").or_insert(json!(false));
    let replacement = if spec.get("podFailurePolicy").is_some() {
        "Failed"
    } else {
        "TerminatingOrFailed"
    };
    spec.entry("podReplacementPolicy")
        .or_insert(json!(replacement));
    if spec.get("manualSelector") == Some(&json!(true)) || spec.get("selector").is_some() {
        return;
    }
    let generated = [
        ("batch.kubernetes.io/controller-uid", uid.clone()),
        ("batch.kubernetes.io/job-name", name.clone()),
        ("controller-uid", uid.clone()),
        ("job-name", name),
    ];
    spec.insert(
        "selector".into(),
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
    );
    let template = spec.entry("template").or_insert_with(|| json!({}));
    if !template.is_object() {
        *template = json!({});
    }
    let labels = obj(obj_value(template, "metadata"), "labels");
    for (k, v) in &generated {
        labels.insert((*k).to_owned(), v.clone());
    }
    let template_labels = Value::Object(labels.clone());
    let meta = obj(value, "metadata");
    if meta
        .get("labels")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty)
    {
        meta.insert("labels".into(), template_labels);
    }
}

/// `v[key]` as an object value (made one when it is not).
fn obj_value<'a>(v: &'a mut Value, key: &str) -> &'a mut Value {
    if !v[key].is_object() {
        v[key] = json!({});
    }
    &mut v[key]
}

/// A Secret's `stringData` is folded into `data` (base64) and `type` defaults to
/// `Opaque`, on create and on update, as kube-apiserver does.
pub(crate) fn secret(value: &mut Value) {
    use base64::Engine as _;
    let Some(m) = value.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(strings)) = m.remove("stringData") {
        let data = m.entry("data").or_insert_with(|| json!({}));
        if !data.is_object() {
            *data = json!({});
        }
        for (k, v) in strings {
            let text = v.as_str().unwrap_or_default();
            data[k.as_str()] = json!(base64::engine::general_purpose::STANDARD.encode(text));
        }
    }
    m.entry("type").or_insert(json!("Opaque"));
}

fn template(spec: &mut Map<String, Value>) {
    if let Some(pod) = spec.get_mut("template").and_then(|t| t.get_mut("spec")) {
        pod_spec(pod, false);
    }
}

/// The object at `key` of a map (made an empty one if it is anything else).
fn obj_in<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let v = m.entry(key).or_insert_with(|| json!({}));
    if !v.is_object() {
        *v = json!({});
    }
    v.as_object_mut().expect("just made an object")
}

fn obj<'a>(v: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !v[key].is_object() {
        v[key] = json!({});
    }
    v[key].as_object_mut().expect("just made an object")
}

/// Pod spec defaults; `admission` adds what admission plugins add to real pods (not templates).
/// The defaults an update of a workload gets again, as decoding defaults every body: a
/// replacement that leaves them out changes nothing (its `generation` stays). What only
/// create does (the initial status) is not redone.
pub(crate) fn apply_update(group: &str, kind: &str, value: &mut Value) {
    if (group, kind) == ("", "Pod") {
        if let Some(spec) = value.get_mut("spec").filter(|s| s.is_object()) {
            pod_spec_update(spec);
        }
        return;
    }
    if !matches!(
        (group, kind),
        (
            "apps",
            "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet"
        ) | ("batch", "Job")
    ) {
        return;
    }
    let status = value.get("status").cloned();
    apply(group, kind, value, String::new);
    match (status, value.as_object_mut()) {
        (Some(s), Some(m)) => {
            m.insert("status".into(), s);
        }
        (None, Some(m)) => {
            m.remove("status");
        }
        _ => {}
    }
}

/// The defaults a pod's spec gets again on update: decoding defaults every body, and the
/// admission plugins that set tolerations and priority run on updates too.
pub(crate) fn pod_spec_update(spec: &mut Value) {
    pod_spec(spec, true);
}

fn pod_spec(spec: &mut Value, admission: bool) {
    let Some(spec) = spec.as_object_mut() else {
        return;
    };
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        if let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                container(c);
            }
        }
    }
    spec.entry("restartPolicy").or_insert(json!("Always"));
    spec.entry("terminationGracePeriodSeconds")
        .or_insert(json!(30));
    spec.entry("dnsPolicy").or_insert(json!("ClusterFirst"));
    spec.entry("securityContext").or_insert(json!({}));
    spec.entry("schedulerName")
        .or_insert(json!("default-scheduler"));
    if admission {
        let tolerations = spec.entry("tolerations").or_insert(json!([]));
        if let Some(list) = tolerations.as_array_mut() {
            for key in [
                "node.kubernetes.io/not-ready",
                "node.kubernetes.io/unreachable",
            ] {
                if !list.iter().any(|t| t["key"] == key) {
                    list.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
                }
            }
        }
        spec.entry("priority").or_insert(json!(0));
        spec.entry("enableServiceLinks").or_insert(json!(true));
        spec.entry("preemptionPolicy")
            .or_insert(json!("PreemptLowerPriority"));
    }
}

pub(crate) fn container(c: &mut Map<String, Value>) {
    if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            p.entry("protocol").or_insert(json!("TCP"));
        }
    }
    c.entry("resources").or_insert(json!({}));
    c.entry("terminationMessagePath")
        .or_insert(json!("/dev/termination-log"));
    c.entry("terminationMessagePolicy").or_insert(json!("File"));
    let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
    let tag = image.rsplit('/').next().unwrap_or_default();
    let latest = !image.contains('@') && (!tag.contains(':') || tag.ends_with(":latest"));
    c.entry("imagePullPolicy")
        .or_insert(json!(if latest { "Always" } else { "IfNotPresent" }));
}

fn qos_class(spec: &Value) -> &'static str {
    let containers: Vec<&Value> = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let mut any = false;
    let mut guaranteed = !containers.is_empty();
    for c in &containers {
        let (req, lim) = (&c["resources"]["requests"], &c["resources"]["limits"]);
        let has = |v: &Value| v.as_object().is_some_and(|m| !m.is_empty());
        any |= has(req) || has(lim);
        let full = ["cpu", "memory"]
            .iter()
            .all(|r| !lim[r].is_null() && (req[r].is_null() || req[r] == lim[r]));
        guaranteed &= full;
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// Fields the registry sets on create after field management has run (the Service IP
/// allocator, the Namespace strategy), so no manager owns them unless it sent them:
/// kube-apiserver's managedFields of a new Service have no `clusterIP`, `clusterIPs`,
/// `ipFamilies` or `ipFamilyPolicy`, a new Namespace's no `spec.finalizers`.
pub(crate) fn set_after_field_management(
    group: &str,
    kind: &str,
    sent: &Value,
) -> Vec<&'static [&'static str]> {
    let fields: &[&'static [&'static str]] = match (group, kind) {
        ("", "Service") => &[
            &["spec", "clusterIP"],
            &["spec", "clusterIPs"],
            &["spec", "ipFamilies"],
            &["spec", "ipFamilyPolicy"],
        ],
        ("", "Namespace") => &[&["spec", "finalizers"]],
        _ => &[],
    };
    fields
        .iter()
        .copied()
        .filter(|path| path.iter().try_fold(sent, |v, k| v.get(*k)).is_none())
        .collect()
}

/// Does this kind carry `metadata.generation`?
pub(crate) fn has_generation(group: &str, kind: &str, value: &Value) -> bool {
    match (group, kind) {
        ("", "Pod") | ("discovery.k8s.io", "EndpointSlice") => true,
        ("", "Service" | "Namespace" | "Node" | "ConfigMap" | "Secret" | "Endpoints" | "Event") => {
            false
        }
        _ => value.get("spec").is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_defaults_match_the_recorded_sample() {
        let sample: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/samples/create-pod-201-with-server-defaults.json"
        ))
        .unwrap();
        let mut pod = json!({"metadata": {"name": "web"}, "spec": {"containers": [
            {"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}});
        apply("", "Pod", &mut pod, || unreachable!());
        assert_eq!(pod["spec"], sample["spec"]);
        assert_eq!(pod["status"], sample["status"]);
    }

    #[test]
    fn deployment_and_service_defaults_match() {
        let sample: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/samples/create-deployment-201-with-server-defaults.json"
        ))
        .unwrap();
        let mut d = json!({"spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}});
        apply("apps", "Deployment", &mut d, || unreachable!());
        assert_eq!(d["spec"], sample["spec"]);
        let sample: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/samples/create-service-201-with-server-defaults.json"
        ))
        .unwrap();
        let mut s = json!({"spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}});
        apply("", "Service", &mut s, || "10.0.0.228".into());
        assert_eq!(s["spec"], sample["spec"]);
        assert_eq!(s["status"], sample["status"]);
    }
}
