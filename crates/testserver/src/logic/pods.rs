//! What an update may change in a pod's spec, after `ValidatePodUpdate`
//! (`pkg/apis/core/validation`): container images, `activeDeadlineSeconds` (set, or
//! lowered), tolerations (only added), scheduling gates (only removed), and
//! `terminationGracePeriodSeconds` from a negative value to 1. Anything else is refused
//! with one `Forbidden` cause on `spec` that lists what may change, followed by a diff.
//! And which container a pod subresource (log, exec, attach) is for.

use serde_json::{Value, json};

use crate::logic::defaults;
use crate::shared::status::ApiError;

/// A field error: `(field, reason, message)`, as `ApiError::invalid` takes them.
pub(crate) type Cause = (String, &'static str, String);

/// The fields a pod update may change, as kube-apiserver lists them.
const UPDATABLE: &str = "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/// The container a pod subresource (log, exec, attach) is for: the one `requested`, which
/// must be one of the pod's containers, init containers or ephemeral containers, else its
/// only container; 400 worded as kube-apiserver's `streamLocation` words it otherwise.
pub(crate) fn container(
    pod: &Value,
    pod_name: &str,
    requested: Option<&str>,
) -> Result<String, ApiError> {
    let names = |list: &str| -> Vec<String> {
        pod["spec"][list]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let containers = names("containers");
    let inits = names("initContainers");
    let ephemeral = names("ephemeralContainers");
    match requested.filter(|c| !c.is_empty()) {
        Some(c) => {
            if containers
                .iter()
                .chain(&inits)
                .chain(&ephemeral)
                .any(|n| n == c)
            {
                Ok(c.to_owned())
            } else {
                Err(ApiError::bad_request(format!(
                    "container {c} is not valid for pod {pod_name}"
                )))
            }
        }
        None if containers.len() == 1 => Ok(containers[0].clone()),
        None => {
            let mut msg = format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                containers.join(" ")
            );
            if !inits.is_empty() {
                msg.push_str(&format!(
                    " or one of the init containers: [{}]",
                    inits.join(" ")
                ));
            }
            if !ephemeral.is_empty() {
                msg.push_str(&format!(
                    " or one of the ephemeral containers: [{}]",
                    ephemeral.join(" ")
                ));
            }
            Err(ApiError::bad_request(msg))
        }
    }
}

/// Default the spec of an updated pod as kube-apiserver's decoder and admission do, so
/// that a replacement that leaves the defaults out changes nothing.
pub(crate) fn default_update(new: &mut Value) {
    if let Some(spec) = new.get_mut("spec").filter(|s| s.is_object()) {
        defaults::pod_spec_update(spec);
    }
}

/// The errors of an update of `old` into `new` (both with their spec defaulted).
pub(crate) fn validate_update(new: &Value, old: &Value) -> Vec<Cause> {
    let (new, old) = (&new["spec"], &old["spec"]);
    let mut errs = Vec::new();
    for list in ["containers", "initContainers"] {
        let (n, o) = (items(&new[list]), items(&old[list]));
        if n.len() != o.len() {
            errs.push((
                format!("spec.{list}"),
                "FieldValueForbidden",
                "Forbidden: pod updates may not add or remove containers".to_owned(),
            ));
            return errs;
        }
        for (i, c) in n.iter().enumerate() {
            let image = c["image"].as_str().unwrap_or_default();
            let field = format!("spec.{list}[{i}].image");
            if image.is_empty() {
                errs.push((field, "FieldValueRequired", "Required value".to_owned()));
            } else if image.trim() != image {
                errs.push((
                    field,
                    "FieldValueInvalid",
                    format!(
                        "Invalid value: {}: must not have leading or trailing whitespace",
                        json!(image)
                    ),
                ));
            }
        }
    }
    // activeDeadlineSeconds may be set, or lowered, never raised or unset.
    let deadline = "spec.activeDeadlineSeconds".to_owned();
    match (
        new["activeDeadlineSeconds"].as_i64(),
        old["activeDeadlineSeconds"].as_i64(),
    ) {
        (Some(n), _) if !(0..=i64::from(i32::MAX)).contains(&n) => {
            errs.push((
                deadline,
                "FieldValueInvalid",
                format!("Invalid value: {n}: must be between 0 and 2147483647, inclusive"),
            ));
            return errs;
        }
        (Some(n), Some(o)) if o < n => {
            errs.push((
                deadline,
                "FieldValueInvalid",
                format!("Invalid value: {n}: must be less than or equal to previous value"),
            ));
            return errs;
        }
        (None, Some(_)) => errs.push((
            deadline,
            "FieldValueInvalid",
            "Invalid value: \"null\": must not update from a positive integer to nil value"
                .to_owned(),
        )),
        _ => {}
    }
    // Tolerations: each existing one stays (its tolerationSeconds may change).
    let new_tolerations = items(&new["tolerations"]);
    for old_t in items(&old["tolerations"]) {
        let kept = new_tolerations.iter().any(|t| {
            let mut o = old_t.clone();
            match t.get("tolerationSeconds") {
                Some(s) => o["tolerationSeconds"] = s.clone(),
                None => {
                    if let Some(m) = o.as_object_mut() {
                        m.remove("tolerationSeconds");
                    }
                }
            }
            o == **t
        });
        if !kept {
            errs.push((
                "spec.tolerations".to_owned(),
                "FieldValueForbidden",
                "Forbidden: existing toleration can not be modified except its tolerationSeconds"
                    .to_owned(),
            ));
            break;
        }
    }
    // Scheduling gates may only go.
    let old_gates = items(&old["schedulingGates"]);
    for gate in items(&new["schedulingGates"]) {
        if !old_gates.iter().any(|g| g["name"] == gate["name"]) {
            errs.push((
                "spec.schedulingGates".to_owned(),
                "FieldValueForbidden",
                format!(
                    "Forbidden: only deletion is allowed, but found new scheduling gate '{}'",
                    gate["name"].as_str().unwrap_or_default()
                ),
            ));
        }
    }
    if new == old {
        return errs;
    }
    // Everything else must be as it was: munge what may change, then compare.
    let mut munged = new.clone();
    for list in ["containers", "initContainers"] {
        if let Some(cs) = munged.get_mut(list).and_then(Value::as_array_mut) {
            for (c, o) in cs.iter_mut().zip(items(&old[list])) {
                c["image"] = o["image"].clone();
            }
        }
    }
    for k in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
        set_like(&mut munged, old, k);
    }
    if old["terminationGracePeriodSeconds"]
        .as_i64()
        .is_some_and(|g| g < 0)
        && munged["terminationGracePeriodSeconds"] == 1
    {
        set_like(&mut munged, old, "terminationGracePeriodSeconds");
    }
    if munged != *old {
        errs.push((
            "spec".to_owned(),
            "FieldValueForbidden",
            format!(
                "Forbidden: pod updates may not change fields other than {UPDATABLE}\n{}",
                diff(old, &munged)
            ),
        ));
    }
    errs
}

fn items(v: &Value) -> Vec<&Value> {
    v.as_array().map(|a| a.iter().collect()).unwrap_or_default()
}

/// Give `to[key]` the value `from[key]` has, or none when it has none.
fn set_like(to: &mut Value, from: &Value, key: &str) {
    let Some(m) = to.as_object_mut() else {
        return;
    };
    match from.get(key) {
        Some(v) => m.insert(key.to_owned(), v.clone()),
        None => m.shift_remove(key),
    };
}

/// The changed fields, one `-`/`+` pair each, in the spirit of the `cmp.Diff` of
/// `core.PodSpec` kube-apiserver appends (field names in Go's capitalisation).
fn diff(old: &Value, new: &Value) -> String {
    let mut lines = Vec::new();
    walk(old, new, "core.PodSpec", &mut lines);
    format!("  core.PodSpec{{\n{}\n  }}\n", lines.join("\n"))
}

fn walk(old: &Value, new: &Value, path: &str, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for k in o.keys().chain(n.keys().filter(|k| !o.contains_key(*k))) {
                let (a, b) = (
                    o.get(k).unwrap_or(&Value::Null),
                    n.get(k).unwrap_or(&Value::Null),
                );
                if a != b {
                    walk(a, b, &format!("{path}.{}", go_name(k)), out);
                }
            }
        }
        (Value::Array(o), Value::Array(n)) if o.len() == n.len() => {
            for (i, (a, b)) in o.iter().zip(n).enumerate() {
                if a != b {
                    walk(a, b, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {
            let field = path.split_once('.').map_or(path, |(_, f)| f);
            out.push(format!("- \t{field}: {old},"));
            out.push(format!("+ \t{field}: {new},"));
        }
    }
}

/// `restartPolicy` -> `RestartPolicy`, as Go names struct fields.
fn go_name(json_name: &str) -> String {
    let mut c = json_name.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(spec: Value) -> Value {
        let mut p = json!({"metadata": {"name": "p"}, "spec": spec});
        default_update(&mut p);
        p
    }

    #[test]
    fn only_the_updatable_fields_may_change() {
        let old = pod(json!({"containers": [{"name": "c", "image": "a"}]}));
        let new =
            pod(json!({"containers": [{"name": "c", "image": "b"}], "activeDeadlineSeconds": 5}));
        assert!(validate_update(&new, &old).is_empty());
        let new = pod(json!({"containers": [{"name": "c", "image": "a"}], "hostname": "h"}));
        let errs = validate_update(&new, &old);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].0, "spec");
        assert!(errs[0].2.contains("Hostname: null"), "{}", errs[0].2);
        assert!(errs[0].2.contains("Hostname: \"h\""), "{}", errs[0].2);
    }

    #[test]
    fn a_negative_grace_period_may_become_one() {
        let old = pod(
            json!({"containers": [{"name": "c", "image": "a"}], "terminationGracePeriodSeconds": -1}),
        );
        let new = pod(
            json!({"containers": [{"name": "c", "image": "a"}], "terminationGracePeriodSeconds": 1}),
        );
        assert!(validate_update(&new, &old).is_empty());
        let new = pod(
            json!({"containers": [{"name": "c", "image": "a"}], "terminationGracePeriodSeconds": 2}),
        );
        assert_eq!(validate_update(&new, &old).len(), 1);
    }
}
