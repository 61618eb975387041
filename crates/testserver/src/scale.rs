//! The `scale` subresource (deployments, replicasets, statefulsets,
//! replicationcontrollers): an `autoscaling/v1` `Scale` view of `spec.replicas`,
//! `status.replicas` and the selector, as kube-apiserver's registries build it.

use http::{Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::api::{self, Mode, Req, State};
use crate::body::ResBody;
use crate::openapi;
use crate::registry::ResourceInfo;
use crate::status::ApiError;

const SCALE_API_VERSION: &str = "autoscaling/v1";

/// `GET .../{name}/scale`.
pub(crate) fn get(
    state: &State,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
) -> Result<Response<ResBody>, ApiError> {
    let obj = api::get(state, info, namespace, name)?;
    Ok(api::json_value(StatusCode::OK, &to_scale(&obj.value())))
}

/// `PUT .../{name}/scale` with a `Scale` body.
pub(crate) fn put(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
) -> Result<Response<ResBody>, ApiError> {
    let sent = api::decode_body(req, info)?;
    check_scale_type(&sent)?;
    let sent_name = sent["metadata"]["name"].as_str().unwrap_or_default();
    if sent_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({sent_name}) does not match the name on the URL ({name})"
        )));
    }
    let dry = api::dry_run(req)?;
    write_scale(state, info, namespace, name, dry, |_| Ok(sent))
}

/// `PATCH .../{name}/scale`: the patch applies to the `Scale`, whose replicas are written back.
pub(crate) fn patch(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
) -> Result<Response<ResBody>, ApiError> {
    let p = api::parse_patch(req)?;
    let schema = openapi::kind_schema("autoscaling", "v1", "Scale");
    write_scale(state, info, namespace, name, p.dry, |scale| {
        api::apply_patch_doc(&p, scale, schema)
    })
}

fn check_scale_type(v: &Value) -> Result<(), ApiError> {
    if let Some(k) = v["kind"]
        .as_str()
        .filter(|k| !k.is_empty() && *k != "Scale")
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({k}) does not match the expected kind (Scale)"
        )));
    }
    Ok(())
}

/// Read-modify-write the object through its `Scale`: `make` gets the current `Scale`
/// and answers the new one; its `spec.replicas` (and `resourceVersion` precondition) apply.
fn write_scale(
    state: &State,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    dry: bool,
    make: impl FnOnce(Value) -> Result<Value, ApiError>,
) -> Result<Response<ResBody>, ApiError> {
    let obj = api::write_update(
        state,
        info,
        namespace,
        name,
        dry,
        |_, cur| {
            let scale = make(to_scale(cur))?;
            check_scale_type(&scale)?;
            let replicas = match &scale["spec"]["replicas"] {
                Value::Null => 0,
                v => v.as_i64().ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "Scale in version \"v1\" cannot be handled as a Scale: json: cannot unmarshal {v} into Go struct field ScaleSpec.spec.replicas of type int32"
                    ))
                })?,
            };
            if replicas < 0 {
                return Err(ApiError::invalid(
                    "Scale",
                    "autoscaling",
                    name,
                    &[(
                        "spec.replicas".into(),
                        "FieldValueInvalid",
                        format!("Invalid value: {replicas}: must be greater than or equal to 0"),
                    )],
                ));
            }
            let mut next = cur.clone();
            next["spec"]["replicas"] = json!(replicas);
            if let Some(rv) = scale["metadata"]["resourceVersion"]
                .as_str()
                .filter(|r| !r.is_empty())
            {
                next["metadata"]["resourceVersion"] = json!(rv);
            }
            Ok(next)
        },
        Mode::Main,
    )?;
    Ok(api::json_value(StatusCode::OK, &to_scale(&obj.value())))
}

/// The `Scale` of a stored object (no `kind`/`apiVersion` in `obj`).
pub(crate) fn to_scale(obj: &Value) -> Value {
    let meta = &obj["metadata"];
    let mut m = Map::new();
    for k in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = meta.get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    let mut spec = Map::new();
    if let Some(r) = obj["spec"]["replicas"].as_i64().filter(|r| *r != 0) {
        spec.insert("replicas".into(), json!(r));
    }
    let mut status = Map::new();
    status.insert(
        "replicas".into(),
        json!(obj["status"]["replicas"].as_i64().unwrap_or(0)),
    );
    let selector = selector_string(&obj["spec"]["selector"]);
    if !selector.is_empty() {
        status.insert("selector".into(), json!(selector));
    }
    json!({
        "kind": "Scale",
        "apiVersion": SCALE_API_VERSION,
        "metadata": m,
        "spec": spec,
        "status": status,
    })
}

/// A selector as `labels.Selector.String()` writes it: requirements sorted by key,
/// `k=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`. Accepts a `LabelSelector`
/// (`matchLabels`/`matchExpressions`) or a plain map (replication controllers).
pub(crate) fn selector_string(sel: &Value) -> String {
    let Some(map) = sel.as_object() else {
        return String::new();
    };
    let structured = map.contains_key("matchLabels") || map.contains_key("matchExpressions");
    let mut reqs: Vec<(String, String)> = Vec::new();
    let labels = if structured {
        sel["matchLabels"].as_object()
    } else {
        Some(map)
    };
    for (k, v) in labels.into_iter().flatten() {
        reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or_default())));
    }
    for e in sel["matchExpressions"].as_array().into_iter().flatten() {
        let k = e["key"].as_str().unwrap_or_default();
        let mut vals: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        vals.sort_unstable();
        let text = match e["operator"].as_str().unwrap_or_default() {
            "In" => format!("{k} in ({})", vals.join(",")),
            "NotIn" => format!("{k} notin ({})", vals.join(",")),
            "Exists" => k.to_owned(),
            "DoesNotExist" => format!("!{k}"),
            _ => continue,
        };
        reqs.push((k.to_owned(), text));
    }
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    reqs.into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_print_like_labels_selector_string() {
        assert_eq!(
            selector_string(&json!({"matchLabels": {"b": "2", "a": "1"},
                "matchExpressions": [{"key": "c", "operator": "In", "values": ["y", "x"]},
                                     {"key": "d", "operator": "DoesNotExist"}]})),
            "a=1,b=2,c in (x,y),!d"
        );
        assert_eq!(selector_string(&json!({"app": "web"})), "app=web");
        assert_eq!(selector_string(&Value::Null), "");
    }

    #[test]
    fn zero_replicas_omit_spec_replicas() {
        let s = to_scale(&json!({"metadata": {"name": "a"}, "spec": {"replicas": 0}}));
        assert_eq!(s["spec"], json!({}));
        assert_eq!(s["status"], json!({"replicas": 0}));
    }
}
