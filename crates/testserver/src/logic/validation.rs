//! Server-side field validation (`fieldValidation=Ignore|Warn|Strict`, default Warn):
//! fields the kind's schema does not declare are dropped, as decoding into Go types (or
//! pruning with a CRD's structural schema) drops them, and are reported as `Warning`
//! headers or, under Strict, refused with 400.

use serde_json::Value;

use crate::logic::openapi::{self, KindSchema};
use crate::shared::request::Req;
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;

/// The `fieldValidation` directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

/// Read `fieldValidation` (default Warn, as kube-apiserver).
pub(crate) fn directive(req: &Req) -> Result<FieldValidation, ApiError> {
    match req.param("fieldValidation") {
        None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
        Some("Ignore") => Ok(FieldValidation::Ignore),
        Some("Strict") => Ok(FieldValidation::Strict),
        Some(other) => Err(ApiError::bad_request(format!(
            "invalid fieldValidation directive: {other:?}, must be one of \"Ignore\", \"Warn\" or \"Strict\""
        ))),
    }
}

/// Drop the fields `value` (with or without `kind`/`apiVersion`) has that its kind does not
/// declare. Returns the warnings to send (`unknown field "spec.foo"`), or 400 under Strict.
pub(crate) fn prune(
    info: &ResourceInfo,
    value: &mut Value,
    mode: FieldValidation,
) -> Result<Vec<String>, ApiError> {
    let mut unknown = Vec::new();
    match &info.custom {
        Some(version) => {
            let schema = &version["schema"]["openAPIV3Schema"];
            let Some(m) = value.as_object_mut().filter(|_| schema.is_object()) else {
                return Ok(Vec::new());
            };
            // apiVersion, kind and metadata are the server's to check, not the schema's.
            let mut fixed = Vec::new();
            for k in ["apiVersion", "kind", "metadata"] {
                if let Some(v) = m.shift_remove(k) {
                    fixed.push((k, v));
                }
            }
            walk(value, schema, &|s| s, "", &mut unknown);
            if let Some(m) = value.as_object_mut() {
                for (i, (k, v)) in fixed.into_iter().enumerate() {
                    m.shift_insert(i, k.to_owned(), v);
                }
            }
        }
        None => {
            let Some(schema) = openapi::kind_schema(&info.group, &info.version, &info.kind) else {
                return Ok(Vec::new());
            };
            let root = schema.root();
            walk_top(value, root, &schema, &mut unknown);
        }
    }
    if unknown.is_empty() || mode == FieldValidation::Ignore {
        return Ok(Vec::new());
    }
    let listed: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field {f:?}"))
        .collect();
    if mode == FieldValidation::Strict {
        return Err(ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: strict decoding error: {}",
            listed.join(", "),
            kind = info.kind,
            version = info.version,
        )));
    }
    Ok(listed)
}

fn walk_top(
    value: &mut Value,
    root: &'static Value,
    schema: &KindSchema<'static>,
    out: &mut Vec<String>,
) {
    let resolve = |s: &'static Value| schema.resolve_node(s);
    walk(value, root, &resolve, "", out);
}

/// Walk `v` along schema `s`, dropping undeclared object fields; `path` is the JSON path
/// so far (`spec.containers[0]`).
fn walk<'a>(
    v: &mut Value,
    s: &'a Value,
    resolve: &dyn Fn(&'a Value) -> &'a Value,
    path: &str,
    out: &mut Vec<String>,
) {
    let s = resolve(s);
    if s["x-kubernetes-preserve-unknown-fields"] == true {
        return;
    }
    let join = |k: &str| {
        if path.is_empty() {
            k.to_owned()
        } else {
            format!("{path}.{k}")
        }
    };
    match v {
        Value::Object(m) => {
            if let Some(props) = s["properties"].as_object() {
                // In document order, as a decoder meets them.
                let keys: Vec<String> = m.keys().cloned().collect();
                for k in keys {
                    match props.get(&k) {
                        Some(cs) => {
                            if let Some(child) = m.get_mut(&k) {
                                walk(child, cs, resolve, &join(&k), out);
                            }
                        }
                        None => {
                            m.shift_remove(&k);
                            out.push(join(&k));
                        }
                    }
                }
            } else if let Some(ap) = s.get("additionalProperties").filter(|a| a.is_object()) {
                for (k, child) in m.iter_mut() {
                    walk(child, ap, resolve, &join(k), out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = s.get("items").filter(|i| i.is_object()) {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(item, is, resolve, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_dropped_and_named() {
        let reg = crate::storage::registry::Registry::builtin();
        let pods = reg.resource("", "v1", "pods").unwrap();
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "bogus": 1},
            "spec": {"containers": [{"name": "c", "image": "x", "imagePolicy": "Always"}], "nodeSelector": {"k": "v"}},
            "extra": true});
        let warnings = prune(&pods, &mut pod, FieldValidation::Warn).unwrap();
        assert_eq!(
            warnings,
            [
                "unknown field \"metadata.bogus\"",
                "unknown field \"spec.containers[0].imagePolicy\"",
                "unknown field \"extra\""
            ]
        );
        assert!(pod.get("extra").is_none());
        assert!(pod["spec"]["containers"][0].get("imagePolicy").is_none());
        assert_eq!(pod["spec"]["nodeSelector"], json!({"k": "v"}));
        let mut again = json!({"spec": {"containers": [{"name": "c", "bad": 1}]}});
        let e = prune(&pods, &mut again, FieldValidation::Strict).unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(
            e.body["message"],
            "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"spec.containers[0].bad\""
        );
    }
}
