//! Validation of a custom resource against its CRD version's OpenAPI v3 schema, as
//! apiextensions-apiserver does it with kube-openapi's validators: one field error per
//! broken rule (type, enum, bounds, lengths, pattern, item counts, required properties),
//! worded as `kubeOpenAPIResultToFieldErrors` words them. Unknown fields are not errors
//! here: they were pruned before (`logic::validation`).

use serde_json::{Map, Value};

use crate::logic::selector::go_quote;

/// A field error: `(field, reason, message)`, as `ApiError::invalid` takes them.
pub(crate) type Cause = (String, &'static str, String);

/// The errors of `object` (without `apiVersion`, `kind` and `metadata`, which are the
/// server's to check) against the schema `root`.
pub(crate) fn validate(object: &Value, root: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    let Some(props) = root["properties"].as_object() else {
        return out;
    };
    let Some(map) = object.as_object() else {
        return out;
    };
    let top: Map<String, Value> = props
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "apiVersion" | "kind" | "metadata"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut root = root.clone();
    root["properties"] = Value::Object(top);
    if let Some(required) = root.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|r| !matches!(r.as_str(), Some("apiVersion" | "kind" | "metadata")));
    }
    let mut body = map.clone();
    for k in ["apiVersion", "kind", "metadata"] {
        body.remove(k);
    }
    check(&Value::Object(body), &root, "", &mut out);
    out
}

/// The JSON type of a value, as kube-openapi names it in messages.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Does `v` have the schema's `type`?
fn has_type(v: &Value, schema: &Value) -> bool {
    if schema["x-kubernetes-int-or-string"] == true {
        return v.is_string() || type_name(v) == "integer" || v.is_null();
    }
    let Some(want) = schema["type"].as_str() else {
        return true;
    };
    match (want, v) {
        (_, Value::Null) => schema["nullable"] == true,
        ("integer", Value::Number(n)) => n.as_f64().is_some_and(|f| f.fract() == 0.0),
        ("number", Value::Number(_)) => true,
        (want, v) => type_name(v) == want,
    }
}

/// A value as Go's `%v` prints what kube-openapi reports (strings quoted by the caller).
fn go_value(v: &Value) -> String {
    match v {
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) => go_float(f),
            _ => n.to_string(),
        },
        Value::String(s) => go_quote(s),
        other => other.to_string(),
    }
}

/// A float as Go's `%v` prints it: shortest digits, an exponent from 1e21 or below 1e-4.
fn go_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e21).contains(&abs) {
        let s = format!("{f:e}");
        return match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
                format!("{m}e{sign}{digits:0>2}")
            }
            None => s,
        };
    }
    if f.fract() == 0.0 {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn check(v: &Value, s: &Value, path: &str, out: &mut Vec<Cause>) {
    if !s.is_object() {
        return;
    }
    if v.is_null() && (s["nullable"] == true || s.get("type").is_none()) {
        return;
    }
    if !has_type(v, s) {
        let want = s["type"].as_str().unwrap_or("integer,string");
        let got = type_name(v);
        out.push((
            path.to_owned(),
            "FieldValueTypeInvalid",
            format!("Invalid value: \"{got}\": {path} in body must be of type {want}: \"{got}\""),
        ));
        return;
    }
    let invalid = |out: &mut Vec<Cause>, detail: String| {
        out.push((
            path.to_owned(),
            "FieldValueInvalid",
            format!("Invalid value: {}: {path} in body {detail}", go_value(v)),
        ));
    };
    match v {
        Value::String(text) => {
            let chars = text.chars().count() as u64;
            if let Some(max) = s["maxLength"].as_u64()
                && chars > max
            {
                out.push((
                    path.to_owned(),
                    "FieldValueTooLong",
                    format!(
                        "Too long: may not be more than {max} {}",
                        if max == 1 { "byte" } else { "bytes" }
                    ),
                ));
            }
            if let Some(min) = s["minLength"].as_u64()
                && chars < min
            {
                invalid(out, format!("should be at least {min} chars long"));
            }
            if let Some(pattern) = s["pattern"].as_str()
                && regex::Regex::new(pattern).is_ok_and(|re| !re.is_match(text))
            {
                invalid(out, format!("should match '{pattern}'"));
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or_default();
            if let Some(m) = s["multipleOf"].as_f64()
                && m > 0.0
                && (x / m).fract() != 0.0
            {
                invalid(out, format!("should be a multiple of {}", go_float(m)));
            }
            if let Some(max) = s["maximum"].as_f64() {
                let exclusive = s["exclusiveMaximum"] == true;
                if x > max || (exclusive && x == max) {
                    let how = if exclusive {
                        "less than"
                    } else {
                        "less than or equal to"
                    };
                    invalid(out, format!("should be {how} {}", go_float(max)));
                }
            }
            if let Some(min) = s["minimum"].as_f64() {
                let exclusive = s["exclusiveMinimum"] == true;
                if x < min || (exclusive && x == min) {
                    let how = if exclusive {
                        "greater than"
                    } else {
                        "greater than or equal to"
                    };
                    invalid(out, format!("should be {how} {}", go_float(min)));
                }
            }
        }
        Value::Array(items) => {
            let n = items.len() as u64;
            if let Some(max) = s["maxItems"].as_u64()
                && n > max
            {
                out.push((
                    path.to_owned(),
                    "FieldValueTooMany",
                    format!("Too many: {n}: must have at most {max} items"),
                ));
            }
            if let Some(min) = s["minItems"].as_u64()
                && n < min
            {
                out.push((
                    path.to_owned(),
                    "FieldValueInvalid",
                    format!("Invalid value: {n}: {path} in body should have at least {min} items"),
                ));
            }
            if s["uniqueItems"] == true
                && items
                    .iter()
                    .enumerate()
                    .any(|(i, a)| items[..i].contains(a))
            {
                out.push((
                    path.to_owned(),
                    "FieldValueDuplicate",
                    "Duplicate value: ".to_owned() + &Value::Array(items.clone()).to_string(),
                ));
            }
        }
        _ => {}
    }
    if let Some(values) = s["enum"].as_array()
        && !values.contains(v)
    {
        let supported: Vec<String> = values
            .iter()
            .map(|e| match e {
                Value::String(s) => go_quote(s),
                other => go_quote(&other.to_string()),
            })
            .collect();
        out.push((
            path.to_owned(),
            "FieldValueNotSupported",
            format!(
                "Unsupported value: {}: supported values: {}",
                go_value(v),
                supported.join(", ")
            ),
        ));
    }
    match v {
        Value::Object(map) => {
            for r in s["required"].as_array().into_iter().flatten() {
                if let Some(name) = r.as_str()
                    && !map.contains_key(name)
                {
                    out.push((
                        child(path, name),
                        "FieldValueRequired",
                        "Required value".to_owned(),
                    ));
                }
            }
            if let Some(props) = s["properties"].as_object() {
                for (k, ps) in props {
                    if let Some(child_value) = map.get(k) {
                        check(child_value, ps, &child(path, k), out);
                    }
                }
            } else if let Some(ap) = s.get("additionalProperties").filter(|a| a.is_object()) {
                for (k, child_value) in map {
                    check(child_value, ap, &child(path, k), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check(item, &s["items"], &format!("{path}.{i}"), out);
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
    fn floats_print_as_go_prints_them() {
        assert_eq!(go_float(1.0), "1");
        assert_eq!(go_float(1.5), "1.5");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(0.00001), "1e-05");
    }

    #[test]
    fn nested_objects_and_arrays_are_checked_with_their_paths() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "ports": {"type": "array", "maxItems": 1, "items": {"type": "object", "required": ["port"],
                "properties": {"port": {"type": "integer", "minimum": 1}}}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "ratio": {"type": "number", "maximum": 1.5, "exclusiveMaximum": true}}}}});
        let obj = json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": 3},
            "spec": {"ports": [{"port": 0}, {}], "labels": {"a": 1}, "ratio": 1.5}});
        let errs = validate(&obj, &schema);
        let fields: Vec<(&str, &str)> = errs.iter().map(|(f, r, _)| (f.as_str(), *r)).collect();
        assert_eq!(
            fields,
            [
                ("spec.ports", "FieldValueTooMany"),
                ("spec.ports.0.port", "FieldValueInvalid"),
                ("spec.ports.1.port", "FieldValueRequired"),
                ("spec.labels.a", "FieldValueTypeInvalid"),
                ("spec.ratio", "FieldValueInvalid"),
            ]
        );
        assert_eq!(
            errs[4].2,
            "Invalid value: 1.5: spec.ratio in body should be less than 1.5"
        );
    }
}
