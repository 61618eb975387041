//! Whether a patch keeps an object's type, as kube-apiserver decides it: server-side apply
//! refuses a configuration of another (or no) group, version and kind in its
//! `versionCheckManager` (400), and a JSON or merge patch whose result no longer decodes as
//! the URL's kind fails in the patch handler's decoding (422 on `patch`), or, for a custom
//! resource, in `ValidateTypeMeta` (422 on `kind` or `apiVersion`).

use serde_json::{Map, Value, json};

use crate::logic::selector::go_quote;
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;

/// A group-version-kind as `schema.GroupVersionKind` prints it: `apps/v1, Kind=Deployment`.
fn gvk_string(api_version: &str, kind: &str) -> String {
    let (group, version) = match api_version.split('/').collect::<Vec<_>>()[..] {
        [version] => ("", version),
        [group, version] => (group, version),
        // ParseGroupVersion fails: an unstructured object then has no GVK at all.
        _ => return "/, Kind=".to_owned(),
    };
    format!("{group}/{version}, Kind={kind}")
}

/// Server-side apply: the applied configuration must name the URL's `apiVersion` and
/// `kind`, else 400 `invalid object type: /v1, Kind=` (the configuration's, as sent).
pub(crate) fn check_applied(info: &ResourceInfo, config: &Value) -> Result<(), ApiError> {
    let field = |k: &str| config.get(k).and_then(Value::as_str).unwrap_or_default();
    let (api_version, kind) = (field("apiVersion"), field("kind"));
    if api_version == info.api_version() && kind == info.kind {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "invalid object type: {}",
        gvk_string(api_version, kind)
    )))
}

/// The types a group-version serves, for telling a kind the scheme knows from one it
/// does not: `(apiVersion, kind)` pairs.
pub(crate) type Served<'a> = &'a dyn Fn(&str, &str) -> bool;

/// A JSON or merge patch: the patched object (with `kind` and `apiVersion`, as the patch
/// left them) must still be of the URL's kind. A missing `kind` or `apiVersion` keeps the
/// URL's (the decoder defaults them) for built-in kinds; another version of the same kind
/// converts. `served(api_version, kind)` tells whether a kind is known at a version.
pub(crate) fn check_patched(
    info: &ResourceInfo,
    name: &str,
    patched: &Value,
    served: Served<'_>,
) -> Result<(), ApiError> {
    let field = |k: &str| patched.get(k).and_then(Value::as_str).unwrap_or_default();
    let (sent_version, sent_kind) = (field("apiVersion"), field("kind"));
    if info.custom.is_some() {
        return check_custom(info, name, patched, sent_version, sent_kind);
    }
    let api_version = if sent_version.is_empty() {
        info.api_version()
    } else {
        sent_version.to_owned()
    };
    let kind = if sent_kind.is_empty() {
        info.kind.as_str()
    } else {
        sent_kind
    };
    if api_version == info.api_version() && kind == info.kind {
        return Ok(());
    }
    let group_of = |v: &str| v.rsplit_once('/').map_or("", |(g, _)| g).to_owned();
    let error = if !served(&api_version, kind) {
        format!(
            "no kind {} is registered for version {} in scheme {}",
            go_quote(kind),
            go_quote(&api_version),
            go_quote(scheme_name(&info.group))
        )
    } else if kind == info.kind && group_of(&api_version) == info.group {
        // Another served version of the same kind: the decoder converts it.
        return Ok(());
    } else {
        let version = api_version.rsplit('/').next().unwrap_or_default();
        format!(
            "converting ({version}.{kind}) to ({}.{}): unknown conversion",
            internal_package(&info.group),
            info.kind
        )
    };
    Err(patch_invalid(patched, &error))
}

/// A custom resource decodes whatever its kind, but must have one; `ValidateTypeMeta`
/// then wants the CRD's kind and the URL's group-version.
fn check_custom(
    info: &ResourceInfo,
    name: &str,
    patched: &Value,
    api_version: &str,
    kind: &str,
) -> Result<(), ApiError> {
    if kind.is_empty() {
        let data = sorted_json(patched);
        return Err(patch_invalid(
            patched,
            &format!("Object 'Kind' is missing in '{data}'"),
        ));
    }
    let mut causes = Vec::new();
    if kind != info.kind {
        causes.push((
            "kind".to_owned(),
            "FieldValueInvalid",
            format!("Invalid value: {}: must be {}", go_quote(kind), info.kind),
        ));
    }
    if api_version != info.api_version() {
        causes.push((
            "apiVersion".to_owned(),
            "FieldValueInvalid",
            format!(
                "Invalid value: {}: must be {}",
                go_quote(api_version),
                info.api_version()
            ),
        ));
    }
    if causes.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid(&info.kind, &info.group, name, &causes))
}

/// 422 as the patch handler words a patched object that does not decode:
/// ` "" is invalid: patch: Invalid value: "<patched JSON>": <decoding error>`.
fn patch_invalid(patched: &Value, error: &str) -> ApiError {
    let message = format!(
        "Invalid value: {}: {error}",
        go_quote(&sorted_json(patched))
    );
    ApiError::new(
        422,
        "Invalid",
        format!(" \"\" is invalid: patch: {message}"),
        Some(
            json!({"causes": [{"reason": "FieldValueInvalid", "message": message, "field": "patch"}]}),
        ),
    )
}

/// Compact JSON with every object's keys sorted, as Go marshals the maps a JSON or merge
/// patch is applied to.
fn sorted_json(v: &Value) -> String {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for k in keys {
                    out.insert(k.clone(), sort(&m[k]));
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(v).to_string()
}

/// The Go package of a group's internal types, as `reflect` names it (`core`, `apps`).
fn internal_package(group: &str) -> &str {
    match group {
        "" => "core",
        g => g.split('.').next().unwrap_or(g),
    }
}

/// The name of the scheme a group's types are registered in.
fn scheme_name(group: &str) -> &'static str {
    match group {
        "apiextensions.k8s.io" => "k8s.io/apiextensions-apiserver/pkg/apiserver/apiserver.go:52",
        "apiregistration.k8s.io" => "k8s.io/kube-aggregator/pkg/apiserver/scheme/scheme.go:31",
        _ => "pkg/api/legacyscheme/scheme.go:30",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_version_kinds_print_as_go_prints_them() {
        assert_eq!(gvk_string("v1", ""), "/v1, Kind=");
        assert_eq!(
            gvk_string("apps/v1", "Deployment"),
            "apps/v1, Kind=Deployment"
        );
        assert_eq!(gvk_string("", "ConfigMap"), "/, Kind=ConfigMap");
        assert_eq!(gvk_string("a/b/c", "X"), "/, Kind=");
    }

    #[test]
    fn patched_json_has_sorted_keys() {
        let v = json!({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "a", "uid": "u", "labels": {"b": "1", "a": "2"}}});
        assert_eq!(
            sorted_json(&v),
            r#"{"apiVersion":"v1","kind":"Secret","metadata":{"labels":{"a":"2","b":"1"},"name":"a","uid":"u"}}"#
        );
    }
}
