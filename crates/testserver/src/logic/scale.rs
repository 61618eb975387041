//! The `Scale` view of an object (`autoscaling/v1`): `spec.replicas`, `status.replicas`
//! and the selector of deployments, replicasets, statefulsets, replicationcontrollers,
//! and of custom resources through their CRD's scale paths, as kube-apiserver's registries
//! build it.

use serde_json::{Map, Value, json};

use crate::storage::registry::ResourceInfo;

const SCALE_API_VERSION: &str = "autoscaling/v1";

/// Where a resource keeps what its `Scale` shows.
struct Paths {
    spec_replicas: Vec<String>,
    status_replicas: Vec<String>,
    /// A `LabelSelector` (or a plain map) to print, for built-in kinds.
    selector: Option<Vec<String>>,
    /// A path holding the selector already as a string (`labelSelectorPath` of a CRD).
    selector_string: Option<Vec<String>>,
}

fn path(p: &str) -> Vec<String> {
    p.trim_start_matches('.')
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Paths {
    fn of(info: &ResourceInfo) -> Paths {
        match &info.custom {
            Some(v) => {
                let scale = &v["subresources"]["scale"];
                Paths {
                    spec_replicas: path(
                        scale["specReplicasPath"]
                            .as_str()
                            .unwrap_or(".spec.replicas"),
                    ),
                    status_replicas: path(
                        scale["statusReplicasPath"]
                            .as_str()
                            .unwrap_or(".status.replicas"),
                    ),
                    selector: None,
                    selector_string: scale["labelSelectorPath"].as_str().map(path),
                }
            }
            None => Paths {
                spec_replicas: path("spec.replicas"),
                status_replicas: path("status.replicas"),
                selector: Some(path("spec.selector")),
                selector_string: None,
            },
        }
    }
}

fn get_path<'a>(v: &'a Value, p: &[String]) -> &'a Value {
    p.iter().fold(v, |v, k| &v[k.as_str()])
}

fn set_path(v: &mut Value, p: &[String], new: Value) {
    let mut cur = v;
    for k in p {
        if !cur.is_object() {
            *cur = json!({});
        }
        cur = &mut cur[k.as_str()];
    }
    *cur = new;
}

/// Write `replicas` where the resource keeps its spec's replica count.
pub(crate) fn set_replicas(info: &ResourceInfo, obj: &mut Value, replicas: i64) {
    set_path(obj, &Paths::of(info).spec_replicas, json!(replicas));
}

/// The `Scale` of a stored object (no `kind`/`apiVersion` in `obj`).
pub(crate) fn to_scale(info: &ResourceInfo, obj: &Value) -> Value {
    let paths = Paths::of(info);
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
    if let Some(r) = get_path(obj, &paths.spec_replicas)
        .as_i64()
        .filter(|r| *r != 0)
    {
        spec.insert("replicas".into(), json!(r));
    }
    let mut status = Map::new();
    status.insert(
        "replicas".into(),
        json!(get_path(obj, &paths.status_replicas).as_i64().unwrap_or(0)),
    );
    let selector = match (&paths.selector, &paths.selector_string) {
        (Some(p), _) => selector_string(get_path(obj, p)),
        (None, Some(p)) => get_path(obj, p).as_str().unwrap_or_default().to_owned(),
        (None, None) => String::new(),
    };
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
        let info = crate::storage::registry::Registry::builtin()
            .resource("apps", "v1", "deployments")
            .unwrap();
        let s = to_scale(
            &info,
            &json!({"metadata": {"name": "a"}, "spec": {"replicas": 0}}),
        );
        assert_eq!(s["spec"], json!({}));
        assert_eq!(s["status"], json!({"replicas": 0}));
    }
}
