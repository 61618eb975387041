//! JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch.
//!
//! Semantics follow what kube-apiserver v1.36 runs: gopkg.in/evanphx/json-patch.v4 for JSON
//! patch and merge patch, k8s.io/apimachinery/pkg/util/strategicpatch for strategic merge patch,
//! including their quirks and the HTTP status each failure gets.

use serde_json::{Map, Value, json};

use crate::shared::status::ApiError;

/// What kube-apiserver says (HTTP 422, reason `Invalid`, `details: {}`) when a JSON patch cannot
/// be applied, whatever the underlying json-patch error was.
pub(crate) const JSON_PATCH_REJECTED: &str =
    "the server rejected our request due to an error in our request";

/// Why a patch could not be applied; each variant carries the exact `Status.message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatchError {
    /// HTTP 422, reason `Invalid`. From JSON patch and strategic merge patch this is
    /// `NewGenericServerResponse(422)`: message [`JSON_PATCH_REJECTED`], `"details": {}`.
    Invalid(String),
    /// HTTP 400, reason `BadRequest`, no details.
    BadRequest(String),
    /// HTTP 409, reason `Conflict` (not produced by this module; kept for callers).
    #[allow(dead_code)]
    Conflict(String),
    /// HTTP 500. kube-apiserver answers these errors as a plain error: a `Status` with code 500,
    /// the message as is, and *no* `reason` and no `details` (e.g. a strategic merge patch list
    /// element without its merge key).
    Internal(String),
}

/// Patch failures as kube-apiserver answers them.
pub(crate) fn patch_error(e: PatchError) -> ApiError {
    match e {
        PatchError::Invalid(m) => ApiError::new(422, "Invalid", m, Some(json!({}))),
        PatchError::BadRequest(m) => ApiError::bad_request(m),
        PatchError::Conflict(m) => ApiError::new(409, "Conflict", m, None),
        // kube-apiserver sends these 500s with no reason and the bare message.
        PatchError::Internal(m) => {
            let mut e = ApiError::new(500, "", m, None);
            if let Some(body) = e.body.as_object_mut() {
                body.remove("reason");
            }
            e
        }
    }
}

/// 415 for a strategic merge patch of a kind without a Go type (custom resources).
pub(crate) fn strategic_unsupported() -> ApiError {
    ApiError::new(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/apply-patch+cbor",
        None,
    )
}

/// A field's `x-kubernetes-patch-strategy` as strategic merge patch uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strategy {
    /// No strategy (or only `retainKeys`): lists are replaced, maps merged.
    Default,
    /// `merge` (also `merge,retainKeys`): lists merge by merge key, primitive lists are unioned.
    Merge,
    /// `replace`: the patch value replaces the field (maps too).
    Replace,
}

impl Strategy {
    /// Parse an `x-kubernetes-patch-strategy` value such as `merge`, `retainKeys` or
    /// `merge,retainKeys`.
    pub(crate) fn from_extension(s: &str) -> Strategy {
        let mut out = Strategy::Default;
        for part in s.split(',').map(str::trim) {
            match part {
                "merge" => out = Strategy::Merge,
                "replace" => out = Strategy::Replace,
                _ => {}
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Go-compatible rendering for error messages
// ---------------------------------------------------------------------------

/// Go's `%v` of a decoded JSON value (`map[a:1 b:[x y]]`, `<nil>`...).
fn go_v(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.to_string()
            } else if let Some(u) = n.as_u64() {
                u.to_string()
            } else {
                go_float(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_v).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => go_map(m),
    }
}

fn go_map(m: &Map<String, Value>) -> String {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    let parts: Vec<String> = keys
        .into_iter()
        .map(|k| format!("{k}:{}", m.get(k).map(go_v).unwrap_or_default()))
        .collect();
    format!("map[{}]", parts.join(" "))
}

/// Go's `%v` of a float64 (`%g` with the shortest representation).
fn go_float(f: f64) -> String {
    if f == 0.0 || !f.is_finite() {
        return if f == 0.0 {
            "0".to_string()
        } else {
            f.to_string()
        };
    }
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mant}e{esign}{:02}", exp.abs())
    } else {
        f.to_string()
    }
}

/// Go's `reflect.TypeOf(v).String()` of a decoded JSON value.
fn go_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "%!s(<nil>)",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// The JSON type name encoding/json uses in "cannot unmarshal X into ...".
fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

// ---------------------------------------------------------------------------
// JSON merge patch (RFC 7386, as evanphx/json-patch MergePatch)
// ---------------------------------------------------------------------------

/// RFC 7386 merge patch, as evanphx/json-patch v4 `MergePatch` applies it: `null` deletes,
/// objects merge recursively, anything else replaces; values added where nothing (or a
/// non-object) was have their `null` members and `null` array items pruned. The caller must reject a patch that is not a JSON object
/// first: kube-apiserver answers 400 BadRequest `Invalid JSON Patch` for `null`, strings,
/// numbers and booleans (an array patch replaces the whole document and then fails to decode).
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if let Value::Object(doc) = target {
                merge_docs(doc, p);
            } else {
                let mut v = patch.clone();
                prune_nulls(&mut v);
                *target = v;
            }
        }
        Value::Array(_) => {
            let mut v = patch.clone();
            prune_nulls(&mut v);
            *target = v;
        }
        _ => {}
    }
}

fn merge_docs(doc: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (k, v) in patch {
        if v.is_null() {
            doc.shift_remove(k);
            continue;
        }
        match doc.get_mut(k) {
            Some(cur) if !cur.is_null() => match (cur, v) {
                (Value::Object(c), Value::Object(p)) => merge_docs(c, p),
                (cur @ Value::Object(_), v) => *cur = v.clone(),
                (cur, v) => {
                    let mut v = v.clone();
                    prune_nulls(&mut v);
                    *cur = v;
                }
            },
            _ => {
                let mut v = v.clone();
                prune_nulls(&mut v);
                doc.insert(k.clone(), v);
            }
        }
    }
}

/// evanphx v4 `pruneNulls`: drop null object members and null array items, recursively.
fn prune_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(prune_nulls);
        }
        Value::Array(a) => {
            a.retain(|x| !x.is_null());
            a.iter_mut().for_each(prune_nulls);
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// JSON patch (RFC 6902, as evanphx/json-patch v4)
// ---------------------------------------------------------------------------

/// RFC 6902 JSON patch as kube-apiserver applies it (evanphx/json-patch v4): add, remove, replace,
/// move, copy, test; JSON pointers with `~0`/`~1` escapes, `-` to append and negative indices.
/// Quirks kept: `replace` on a missing object key adds it, `copy` from a missing key copies
/// `null`, a missing `value` is `null`. Works on a copy: on any failure nothing is applied.
/// A patch that is not an array (or whose items are not objects) is 400 BadRequest; every
/// application failure is 422 with [`JSON_PATCH_REJECTED`]; a `null` patch changes nothing.
pub(crate) fn json_patch(target: &Value, patch: &Value) -> Result<Value, PatchError> {
    let ops = match patch {
        Value::Null => return Ok(target.clone()),
        Value::Array(ops) => ops,
        other => {
            return Err(PatchError::BadRequest(format!(
                "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
                json_type_name(other)
            )));
        }
    };
    if let Some(bad) = ops.iter().find(|op| !op.is_object() && !op.is_null()) {
        return Err(PatchError::BadRequest(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
            json_type_name(bad)
        )));
    }
    apply_json_patch(target, ops).map_err(|_| PatchError::Invalid(JSON_PATCH_REJECTED.to_string()))
}

/// Apply the operations, returning json-patch's own error text on failure.
fn apply_json_patch(target: &Value, ops: &[Value]) -> Result<Value, String> {
    let mut doc = target.clone();
    if !doc.is_object() && !doc.is_array() {
        return Err("invalid JSON Document".to_string());
    }
    for op in ops {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or("unknown");
        match kind {
            "add" => {
                let path = op_path(op, "path")?;
                let value = op_value(op).unwrap_or(Value::Null);
                let (con, key) = find_object(&mut doc, &path).ok_or_else(|| {
                    format!("add operation does not apply: doc is missing path: \"{path}\"")
                })?;
                con_add(con, &key, value)?;
            }
            "remove" => {
                let path = op_path(op, "path")?;
                let (con, key) = find_object(&mut doc, &path).ok_or_else(|| {
                    format!("remove operation does not apply: doc is missing path: \"{path}\"")
                })?;
                con_remove(con, &key)?;
            }
            "replace" => {
                let path = op_path(op, "path")?;
                let value = op_value(op).unwrap_or(Value::Null);
                if path.is_empty() {
                    if !value.is_object() && !value.is_array() {
                        return Err("replace operation value must be object or array".to_string());
                    }
                    doc = value;
                    continue;
                }
                let (con, key) = find_object(&mut doc, &path).ok_or_else(|| {
                    format!("replace operation does not apply: doc is missing path: {path}")
                })?;
                con_get(con, &key).map_err(|e| {
                    format!("replace operation does not apply: doc is missing key: {path}: {e}")
                })?;
                con_set(con, &key, value)?;
            }
            "move" => {
                let from = op_path(op, "from")?;
                let (con, key) = find_object(&mut doc, &from).ok_or_else(|| {
                    format!("move operation does not apply: doc is missing from path: {from}")
                })?;
                let val = con_get(con, &key)?.cloned().unwrap_or(Value::Null);
                con_remove(con, &key)?;
                let path = op_path(op, "path")?;
                let (con, key) = find_object(&mut doc, &path).ok_or_else(|| {
                    format!(
                        "move operation does not apply: doc is missing destination path: {path}"
                    )
                })?;
                con_add(con, &key, val)?;
            }
            "copy" => {
                let from = op_path(op, "from")?;
                let (con, key) = find_object(&mut doc, &from).ok_or_else(|| {
                    format!("copy operation does not apply: doc is missing from path: {from}")
                })?;
                let val = con_get(con, &key)?.cloned().unwrap_or(Value::Null);
                let path = op_path(op, "path")?;
                let (con, key) = find_object(&mut doc, &path).ok_or_else(|| {
                    format!(
                        "copy operation does not apply: doc is missing destination path: {path}"
                    )
                })?;
                con_add(con, &key, val)?;
            }
            "test" => {
                let path = op_path(op, "path")?;
                let want = op_value(op);
                let failed = || format!("testing value {path} failed: test failed");
                if path.is_empty() {
                    if want.as_ref() == Some(&doc) {
                        continue;
                    }
                    return Err(failed());
                }
                let (con, key) = find_object(&mut doc, &path).ok_or_else(|| {
                    format!("test operation does not apply: is missing path: {path}")
                })?;
                let have = con_get(con, &key)
                    .map_err(|e| format!("error in test for path: '{path}': {e}"))?;
                let ok = match (have, &want) {
                    (None, None) | (None, Some(Value::Null)) => true,
                    (Some(h), Some(w)) => h == w,
                    _ => false,
                };
                if !ok {
                    return Err(failed());
                }
            }
            other => return Err(format!("Unexpected kind: {other}")),
        }
    }
    Ok(doc)
}

fn op_path(op: &Value, field: &str) -> Result<String, String> {
    match op.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Null) | None => Err(format!("operation missing {field} field: missing value")),
        Some(_) => Err(format!("json: cannot unmarshal into {field}")),
    }
}

/// The `value` member: `None` when absent; a JSON `null` is `Some(Null)`.
fn op_value(op: &Value) -> Option<Value> {
    op.get("value").cloned()
}

fn decode_pointer_token(s: &str) -> String {
    s.replace("~1", "/").replace("~0", "~")
}

/// Go's `strconv.Atoi`.
fn atoi(s: &str) -> Result<i64, String> {
    s.parse::<i64>().map_err(|_| {
        format!(
            "strconv.Atoi: parsing {}: invalid syntax",
            crate::logic::selector::go_quote(s)
        )
    })
}

fn invalid_index(idx: i64) -> String {
    format!("Unable to access invalid index: {idx}: invalid index referenced")
}

/// json-patch `findObject`: the container holding the last token, and that token (decoded).
/// The first segment (before the first `/`) is ignored, as evanphx does.
fn find_object<'a>(doc: &'a mut Value, path: &str) -> Option<(&'a mut Value, String)> {
    let split: Vec<&str> = path.split('/').collect();
    if split.len() < 2 {
        return None;
    }
    let key = decode_pointer_token(split.last()?);
    let mut cur = doc;
    for part in &split[1..split.len() - 1] {
        let part = decode_pointer_token(part);
        let next = match cur {
            Value::Object(m) => m.get_mut(&part)?,
            Value::Array(a) => {
                let idx = array_index(a.len(), &part, false).ok()?;
                a.get_mut(idx)?
            }
            _ => return None,
        };
        if !next.is_object() && !next.is_array() {
            return None;
        }
        cur = next;
    }
    if !cur.is_object() && !cur.is_array() {
        return None;
    }
    Some((cur, key))
}

/// Resolve an index for get/set/remove (`len` elements): negative counts from the end.
fn array_index(len: usize, key: &str, allow_end: bool) -> Result<usize, String> {
    let idx = atoi(key)?;
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    let limit = if allow_end { len_i + 1 } else { len_i };
    let adjusted = if idx < 0 {
        if idx < -limit {
            return Err(invalid_index(idx));
        }
        idx + limit
    } else {
        idx
    };
    if adjusted >= limit {
        return Err(invalid_index(adjusted));
    }
    usize::try_from(adjusted).map_err(|_| invalid_index(idx))
}

/// json-patch container `get`: `Ok(None)` for a missing object key or a `null`.
fn con_get<'a>(con: &'a Value, key: &str) -> Result<Option<&'a Value>, String> {
    match con {
        Value::Object(m) => Ok(m.get(key).filter(|v| !v.is_null())),
        Value::Array(a) => {
            let idx = array_index(a.len(), key, false)?;
            Ok(a.get(idx).filter(|v| !v.is_null()))
        }
        _ => Err("not a container".to_string()),
    }
}

fn con_set(con: &mut Value, key: &str, val: Value) -> Result<(), String> {
    match con {
        Value::Object(m) => {
            m.insert(key.to_string(), val);
            Ok(())
        }
        Value::Array(a) => {
            let idx = array_index(a.len(), key, false)?;
            match a.get_mut(idx) {
                Some(slot) => {
                    *slot = val;
                    Ok(())
                }
                None => Err(invalid_index(i64::try_from(idx).unwrap_or(i64::MAX))),
            }
        }
        _ => Err("not a container".to_string()),
    }
}

fn con_add(con: &mut Value, key: &str, val: Value) -> Result<(), String> {
    match con {
        Value::Object(m) => {
            m.insert(key.to_string(), val);
            Ok(())
        }
        Value::Array(a) => {
            if key == "-" {
                a.push(val);
                return Ok(());
            }
            let idx = array_index(a.len(), key, true)
                .map_err(|e| format!("value was not a proper array index: '{key}': {e}"))?;
            a.insert(idx, val);
            Ok(())
        }
        _ => Err("not a container".to_string()),
    }
}

fn con_remove(con: &mut Value, key: &str) -> Result<(), String> {
    match con {
        Value::Object(m) => match m.shift_remove(key) {
            Some(_) => Ok(()),
            None => Err(format!(
                "Unable to remove nonexistent key: {key}: missing value"
            )),
        },
        Value::Array(a) => {
            let idx = array_index(a.len(), key, false)?;
            a.remove(idx);
            Ok(())
        }
        _ => Err("not a container".to_string()),
    }
}

// ---------------------------------------------------------------------------
// Strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch, apply side)
// ---------------------------------------------------------------------------

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";

const ERR_BAD_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
const ERR_BAD_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
const ERR_BAD_SET_ELEMENT_ORDER: &str = "invalid patch format of setElementOrder list";
const ERR_NO_LIST_OF_LISTS: &str = "lists of lists are not supported";

/// The patch metadata lookup: JSON path of a field (list indices skipped) to its merge key
/// (possibly empty) and strategy; `None` = no metadata.
pub(crate) type MetaFn<'a> = &'a dyn Fn(&[&str]) -> Option<(String, Strategy)>;

/// Strategic merge patch as kube-apiserver applies it (`StrategicMergeMapPatch` with
/// `MergeParallelList` and `IgnoreUnmatchedNulls`): merge-patch semantics for maps, list merging
/// by merge key for lists whose field has strategy `merge` (primitive lists are unioned), other
/// lists replaced; `$patch: replace|delete` in maps, `$patch: replace|delete` elements in merge
/// lists, `$retainKeys`, `$deleteFromPrimitiveList/<field>` and `$setElementOrder/<field>`.
///
/// `merge_key(path)` gets the JSON path of a field as field names (list indices skipped), e.g.
/// `["spec", "containers"]`, and answers its `x-kubernetes-patch-merge-key` (or "") and
/// `x-kubernetes-patch-strategy` (see [`Strategy::from_extension`]); `None` means neither.
///
/// Errors as kube-apiserver maps them: malformed directives are 400 BadRequest; lists of lists
/// are 422 (generic message); anything else, e.g. a list element lacking its merge key
/// (`map: map[image:nginx] does not contain declared merge key: name`), is a plain 500.
/// A patch that is not a JSON object is 400 (`null` changes nothing).
pub(crate) fn strategic_merge_patch(
    target: &Value,
    patch: &Value,
    merge_key: MetaFn<'_>,
) -> Result<Value, PatchError> {
    let patch = match patch {
        Value::Null => return Ok(target.clone()),
        Value::Object(p) => p.clone(),
        other => {
            return Err(PatchError::BadRequest(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_type_name(other)
            )));
        }
    };
    let original = target.as_object().cloned().unwrap_or_default();
    let smp = Smp { meta: merge_key };
    let merged = smp.merge_map(original, patch, &[]).map_err(|e| match e {
        SmpError::BadRequest(m) => PatchError::BadRequest(m),
        SmpError::Invalid(_) => PatchError::Invalid(JSON_PATCH_REJECTED.to_string()),
        SmpError::Internal(m) => PatchError::Internal(m),
    })?;
    Ok(Value::Object(merged))
}

#[derive(Debug)]
enum SmpError {
    /// 400.
    BadRequest(String),
    /// 422 (generic message); the text is kept for tests.
    Invalid(#[allow(dead_code)] String),
    /// A plain error: 500.
    Internal(String),
}

type SmpResult<T> = Result<T, SmpError>;

fn err_no_merge_key(m: &Map<String, Value>, key: &str) -> SmpError {
    SmpError::Internal(format!(
        "map: {} does not contain declared merge key: {key}",
        go_map(m)
    ))
}

fn err_bad_arg_type(expected: &str, actual: &Value) -> SmpError {
    SmpError::Internal(format!(
        "expected a {expected}, but received a {}",
        go_type_name(actual)
    ))
}

fn err_bad_patch_type(t: &Value, m: &Map<String, Value>) -> SmpError {
    SmpError::Internal(format!(
        "unknown patch type: {} in map: {}",
        go_v(t),
        go_map(m)
    ))
}

/// Go's dynamic type of a decoded value, as `reflect.TypeOf` distinguishes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Int,
    Float,
    String,
    Slice,
    Map,
}

fn kind_of(v: &Value) -> Kind {
    match v {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Bool,
        Value::Number(n) if n.is_f64() => Kind::Float,
        Value::Number(_) => Kind::Int,
        Value::String(_) => Kind::String,
        Value::Array(_) => Kind::Slice,
        Value::Object(_) => Kind::Map,
    }
}

/// `removeDirectives`: drop every map carrying `$patch` (None when `v` itself is one).
fn remove_directives(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE) {
                return None;
            }
            let mut out = Map::new();
            for (k, v) in m {
                if let Some(v) = remove_directives(v) {
                    out.insert(k, v);
                }
            }
            Some(Value::Object(out))
        }
        Value::Array(a) => Some(Value::Array(
            a.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

/// `discardNullValuesFromPatch`.
fn discard_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(discard_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(discard_nulls),
        _ => {}
    }
}

/// `extractKey`: the field name after `<prefix>/`.
fn extract_key(s: &str, prefix: &str) -> SmpResult<String> {
    match s.split_once('/') {
        Some((p, rest)) if p == prefix => Ok(rest.to_string()),
        _ => Err(SmpError::BadRequest(
            if prefix == DELETE_FROM_PRIMITIVE_LIST {
                ERR_BAD_PRIMITIVE_LIST
            } else {
                ERR_BAD_SET_ELEMENT_ORDER
            }
            .to_string(),
        )),
    }
}

/// `sliceElementType`: the common kind of all elements.
fn slice_element_type(lists: &[&[Value]]) -> SmpResult<Kind> {
    let mut prev: Option<Kind> = None;
    let render = || {
        let parts: Vec<String> = lists
            .iter()
            .map(|l| go_v(&Value::Array(l.to_vec())))
            .collect();
        format!("[{}]", parts.join(" "))
    };
    for list in lists {
        for v in *list {
            let k = kind_of(v);
            match prev {
                None => {
                    if k == Kind::Null {
                        // Go dereferences a nil reflect.Type here.
                        return Err(SmpError::Internal(
                            "runtime error: invalid memory address or nil pointer dereference"
                                .to_string(),
                        ));
                    }
                    if k == Kind::Slice {
                        return Err(SmpError::Invalid(ERR_NO_LIST_OF_LISTS.to_string()));
                    }
                    prev = Some(k);
                }
                Some(p) if p != k => {
                    return Err(SmpError::Internal(format!(
                        "list element types are not identical: {}",
                        render()
                    )));
                }
                Some(_) => {}
            }
        }
    }
    prev.ok_or_else(|| SmpError::Internal("no elements in any of the given slices".to_string()))
}

/// `findMapInSliceBasedOnKeyValue`: index of the first map whose `key` equals `value`.
fn find_map_in_slice(list: &[Value], key: &str, value: &Value) -> SmpResult<Option<usize>> {
    for (i, v) in list.iter().enumerate() {
        let Some(m) = v.as_object() else {
            return Err(SmpError::Internal(format!(
                "value for key {i} is not a map"
            )));
        };
        if m.get(key) == Some(value) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// `index`: position of `item` in `list`, by merge key value for maps.
fn index_of(list: &[Value], item: &Value, merge_key: &str, kind: Kind) -> Option<usize> {
    if kind == Kind::Map {
        let want = item.get(merge_key);
        list.iter().position(|v| v.get(merge_key) == want)
    } else {
        list.iter().position(|v| v == item)
    }
}

fn validate_merge_key_in_lists(merge_key: &str, lists: &[&[Value]]) -> SmpResult<()> {
    for list in lists {
        for item in *list {
            let Some(m) = item.as_object() else {
                return Err(err_bad_arg_type("map[string]interface {}", item));
            };
            if !m.contains_key(merge_key) {
                return Err(err_no_merge_key(m, merge_key));
            }
        }
    }
    Ok(())
}

/// `extractToDeleteItems`: (kept, `$patch: delete` items).
fn extract_to_delete_items(list: Vec<Value>) -> SmpResult<(Vec<Value>, Vec<Value>)> {
    let mut keep = Vec::new();
    let mut delete = Vec::new();
    for v in list {
        let Some(m) = v.as_object() else {
            return Err(err_bad_arg_type("map[string]interface {}", &v));
        };
        if m.get(DIRECTIVE).and_then(Value::as_str) == Some("delete") {
            delete.push(v);
        } else {
            keep.push(v);
        }
    }
    Ok((keep, delete))
}

fn normalize_slice_order(
    to_sort: Vec<Value>,
    order: &[Value],
    merge_key: &str,
    kind: Kind,
) -> SmpResult<Vec<Value>> {
    let (mut to_sort, to_delete) = if kind == Kind::Map {
        validate_merge_key_in_lists(merge_key, &[&to_sort, order])?;
        extract_to_delete_items(to_sort)?
    } else {
        (to_sort, Vec::new())
    };
    to_sort.sort_by_key(|v| index_of(order, v, merge_key, kind).unwrap_or(usize::MAX));
    to_sort.extend(to_delete);
    Ok(to_sort)
}

/// `mergeSortedSlice`: interleave server-only items (`left`) into patch items (`right`) by the
/// live order.
fn merge_sorted_slice(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    merge_key: &str,
    kind: Kind,
) -> Vec<Value> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    while let (Some(l), Some(r)) = (left.peek(), right.peek()) {
        let li = index_of(server_order, l, merge_key, kind);
        let ri = index_of(server_order, r, merge_key, kind);
        let take_left = matches!((li, ri), (Some(a), Some(b)) if a < b);
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out.extend(left);
    out.extend(right);
    out
}

fn normalize_element_order(
    patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    kind: Kind,
) -> SmpResult<Vec<Value>> {
    let patch = normalize_slice_order(patch, patch_order, merge_key, kind)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key, kind)?;
    Ok(merge_sorted_slice(
        server_only,
        patch,
        server_order,
        merge_key,
        kind,
    ))
}

fn partition_primitives(list: Vec<Value>, by: &[Value]) -> (Vec<Value>, Vec<Value>) {
    list.into_iter().partition(|v| by.contains(v))
}

fn partition_maps(
    list: Vec<Value>,
    by: &[Value],
    merge_key: &str,
) -> SmpResult<(Vec<Value>, Vec<Value>)> {
    let mut in_patch = Vec::new();
    let mut server_only = Vec::new();
    for v in list {
        let Some(m) = v.as_object() else {
            return Err(err_bad_arg_type("map[string]interface {}", &v));
        };
        let Some(key_value) = m.get(merge_key) else {
            return Err(err_no_merge_key(m, merge_key));
        };
        if find_map_in_slice(by, merge_key, key_value)?.is_some() {
            in_patch.push(v);
        } else {
            server_only.push(v);
        }
    }
    Ok((in_patch, server_only))
}

fn dedup_scalars(list: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(list.len());
    for v in list {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// `validatePatchWithSetOrderList`.
fn validate_patch_with_set_order_list(
    patch_list: &[Value],
    set_order: &[Value],
    merge_key: &str,
) -> SmpResult<()> {
    if set_order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let non_delete = if merge_key.is_empty() {
        patch_list.to_vec()
    } else {
        extract_to_delete_items(patch_list.to_vec())?.0
    };
    let (mut pi, mut si) = (0, 0);
    while let (Some(p), Some(s)) = (non_delete.get(pi), set_order.get(si)) {
        if p.as_object().is_some_and(|m| m.contains_key(DIRECTIVE)) {
            pi += 1;
            continue;
        }
        let equal = if merge_key.is_empty() {
            p == s
        } else {
            let (Some(pm), Some(sm)) = (p.as_object(), s.as_object()) else {
                let bad = if p.is_object() { s } else { p };
                return Err(err_bad_arg_type("map[string]interface {}", bad));
            };
            let Some(pv) = pm.get(merge_key) else {
                return Err(err_no_merge_key(pm, merge_key));
            };
            let Some(sv) = sm.get(merge_key) else {
                return Err(err_no_merge_key(sm, merge_key));
            };
            pv == sv
        };
        if equal {
            pi += 1;
        }
        si += 1;
    }
    if pi < non_delete.len() && si >= set_order.len() {
        return Err(SmpError::Internal(format!(
            "the order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}",
            go_v(&Value::Array(patch_list.to_vec())),
            go_v(&Value::Array(set_order.to_vec()))
        )));
    }
    Ok(())
}

struct Smp<'a> {
    meta: MetaFn<'a>,
}

impl Smp<'_> {
    fn lookup(&self, path: &[String]) -> (String, Strategy) {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        (self.meta)(&p).unwrap_or((String::new(), Strategy::Default))
    }

    fn merge_map(
        &self,
        mut original: Map<String, Value>,
        mut patch: Map<String, Value>,
        path: &[String],
    ) -> SmpResult<Map<String, Value>> {
        if let Some(d) = patch.get(DIRECTIVE) {
            return match d.as_str() {
                Some("replace") => {
                    patch.shift_remove(DIRECTIVE);
                    Ok(patch)
                }
                Some("delete") => Ok(Map::new()),
                _ => Err(err_bad_patch_type(d, &patch)),
            };
        }
        self.apply_retain_keys(&mut original, &mut patch)?;
        self.merge_set_element_order(&mut original, &mut patch, path)?;

        for (key, patch_v) in patch {
            let (k, is_delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
                (extract_key(&key, DELETE_FROM_PRIMITIVE_LIST)?, true)
            } else {
                (key, false)
            };
            if patch_v.is_null() {
                original.shift_remove(&k);
                continue;
            }
            let replace_with = |original: &mut Map<String, Value>, mut v: Value| {
                if is_delete_list {
                    return;
                }
                discard_nulls(&mut v);
                match remove_directives(v) {
                    Some(v) => {
                        original.insert(k.clone(), v);
                    }
                    None => {
                        original.shift_remove(&k);
                    }
                }
            };
            let Some(orig_v) = original.get(&k) else {
                replace_with(&mut original, patch_v);
                continue;
            };
            if kind_of(orig_v) != kind_of(&patch_v) {
                replace_with(&mut original, patch_v);
                continue;
            }
            let mut child = path.to_vec();
            child.push(k.clone());
            let merged = match (original.shift_remove_entry_keep(&k), patch_v) {
                (Some(Value::Object(o)), Value::Object(p)) => {
                    let (_, strategy) = self.lookup(&child);
                    if strategy == Strategy::Replace {
                        Value::Object(p)
                    } else {
                        Value::Object(self.merge_map(o, p, &child)?)
                    }
                }
                (Some(Value::Array(o)), Value::Array(p)) => {
                    let (mk, strategy) = self.lookup(&child);
                    Value::Array(self.merge_slice_handler(
                        o,
                        p,
                        &child,
                        strategy,
                        &mk,
                        is_delete_list,
                    )?)
                }
                (_, other) => match remove_directives(other) {
                    Some(v) => v,
                    None => {
                        original.shift_remove(&k);
                        continue;
                    }
                },
            };
            original.insert(k, merged);
        }
        Ok(original)
    }

    fn apply_retain_keys(
        &self,
        original: &mut Map<String, Value>,
        patch: &mut Map<String, Value>,
    ) -> SmpResult<()> {
        let Some(retain) = patch.shift_remove(RETAIN_KEYS) else {
            return Ok(());
        };
        let Value::Array(list) = retain else {
            return Err(SmpError::BadRequest(ERR_BAD_RETAIN_KEYS.to_string()));
        };
        let listed = |k: &str| list.iter().any(|v| v.as_str() == Some(k));
        for (k, v) in patch.iter() {
            if v.is_null()
                || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
                || k.starts_with(SET_ELEMENT_ORDER)
            {
                continue;
            }
            if !listed(k) {
                return Err(SmpError::BadRequest(ERR_BAD_RETAIN_KEYS.to_string()));
            }
        }
        original.retain(|k, _| listed(k));
        Ok(())
    }

    /// `mergePatchIntoOriginal`: `$setElementOrder/<field>` with its list.
    fn merge_set_element_order(
        &self,
        original: &mut Map<String, Value>,
        patch: &mut Map<String, Value>,
        path: &[String],
    ) -> SmpResult<()> {
        let keys: Vec<String> = patch
            .keys()
            .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
            .cloned()
            .collect();
        for key in keys {
            let Some(order_v) = patch.shift_remove(&key) else {
                continue;
            };
            let Value::Array(order) = order_v else {
                return Err(err_bad_arg_type("[]interface {}", &order_v));
            };
            let field = extract_key(&key, SET_ELEMENT_ORDER)?;
            let orig_list = match original.get(&field) {
                None => None,
                Some(Value::Array(a)) => Some(a.clone()),
                Some(other) => return Err(err_bad_arg_type("[]interface {}", other)),
            };
            let patch_list = match patch.get(&field) {
                None => None,
                Some(Value::Array(a)) => Some(a.clone()),
                Some(other) => return Err(err_bad_arg_type("[]interface {}", other)),
            };
            let mut child = path.to_vec();
            child.push(field.clone());
            let (mk, strategy) = self.lookup(&child);
            let orig_vals = orig_list.clone().unwrap_or_default();
            let patch_vals = patch_list.clone().unwrap_or_default();
            validate_patch_with_set_order_list(&patch_vals, &order, &mk)?;
            let merged = match (orig_list, patch_list) {
                (Some(o), None) => o,
                (None, Some(p)) => match remove_directives(Value::Array(p)) {
                    Some(Value::Array(a)) => a,
                    _ => continue,
                },
                (Some(o), Some(p)) => {
                    self.merge_slice_handler(o, p, &child, strategy, &mk, false)?
                }
                (None, None) => continue,
            };
            let (in_order, server_only) = if mk.is_empty() {
                partition_primitives(merged, &order)
            } else {
                partition_maps(merged, &order, &mk)?
            };
            let kind = slice_element_type(&[&orig_vals, &patch_vals])?;
            let both =
                normalize_element_order(in_order, server_only, &order, &orig_vals, &mk, kind)?;
            original.insert(field.clone(), Value::Array(both));
            patch.shift_remove(&field);
        }
        Ok(())
    }

    fn merge_slice_handler(
        &self,
        original: Vec<Value>,
        patch: Vec<Value>,
        path: &[String],
        strategy: Strategy,
        merge_key: &str,
        is_delete_list: bool,
    ) -> SmpResult<Vec<Value>> {
        if strategy == Strategy::Merge || is_delete_list {
            self.merge_slice(original, patch, path, merge_key, is_delete_list)
        } else {
            Ok(patch)
        }
    }

    fn merge_slice(
        &self,
        original: Vec<Value>,
        patch: Vec<Value>,
        path: &[String],
        merge_key: &str,
        is_delete_list: bool,
    ) -> SmpResult<Vec<Value>> {
        if original.is_empty() && patch.is_empty() {
            return Ok(original);
        }
        let kind = slice_element_type(&[&original, &patch])?;
        let (merged, original, patch) = if kind != Kind::Map {
            if is_delete_list {
                return Ok(original
                    .into_iter()
                    .filter(|v| !patch.contains(v))
                    .collect());
            }
            let mut both = original.clone();
            both.extend(patch.iter().cloned());
            (dedup_scalars(both), original, patch)
        } else {
            if merge_key.is_empty() {
                return Err(SmpError::Internal(
                    "cannot merge lists without merge key for struct".to_string(),
                ));
            }
            let (original, patch) =
                self.merge_slice_with_special_elements(original, patch, merge_key)?;
            let merged = self.merge_slice_without_special_elements(
                original.clone(),
                &patch,
                merge_key,
                path,
            )?;
            (merged, original, patch)
        };
        let (in_patch, server_only) = if merge_key.is_empty() {
            partition_primitives(merged, &patch)
        } else {
            partition_maps(merged, &patch, merge_key)?
        };
        normalize_element_order(in_patch, server_only, &patch, &original, merge_key, kind)
    }

    fn merge_slice_with_special_elements(
        &self,
        mut original: Vec<Value>,
        patch: Vec<Value>,
        merge_key: &str,
    ) -> SmpResult<(Vec<Value>, Vec<Value>)> {
        let mut plain = Vec::new();
        let mut replace = false;
        for v in patch {
            let Some(m) = v.as_object() else {
                return Err(err_bad_arg_type("map[string]interface {}", &v));
            };
            match m.get(DIRECTIVE) {
                None => plain.push(v),
                Some(d) => match d.as_str() {
                    Some("delete") => {
                        let Some(key_value) = m.get(merge_key) else {
                            return Err(err_no_merge_key(m, merge_key));
                        };
                        while let Some(i) = find_map_in_slice(&original, merge_key, key_value)? {
                            original.remove(i);
                        }
                    }
                    Some("replace") => replace = true,
                    Some("merge") => {
                        return Err(SmpError::Internal(
                            "merging lists cannot yet be specified in the patch".to_string(),
                        ));
                    }
                    _ => return Err(err_bad_patch_type(d, m)),
                },
            }
        }
        if replace {
            Ok((plain, Vec::new()))
        } else {
            Ok((original, plain))
        }
    }

    fn merge_slice_without_special_elements(
        &self,
        mut original: Vec<Value>,
        patch: &[Value],
        merge_key: &str,
        path: &[String],
    ) -> SmpResult<Vec<Value>> {
        for v in patch {
            let Some(m) = v.as_object() else {
                return Err(err_bad_arg_type("map[string]interface {}", v));
            };
            let Some(key_value) = m.get(merge_key) else {
                return Err(err_no_merge_key(m, merge_key));
            };
            match find_map_in_slice(&original, merge_key, key_value)? {
                Some(i) => {
                    let orig = match original.get_mut(i).map(Value::take) {
                        Some(Value::Object(o)) => o,
                        _ => Map::new(),
                    };
                    let merged = self.merge_map(orig, m.clone(), path)?;
                    if let Some(slot) = original.get_mut(i) {
                        *slot = Value::Object(merged);
                    }
                }
                None => original.push(v.clone()),
            }
        }
        Ok(original)
    }
}

/// Small helper: take a value out of a map without disturbing the order of the others
/// (the caller re-inserts it at the same key).
trait TakeKeep {
    fn shift_remove_entry_keep(&mut self, k: &str) -> Option<Value>;
}

impl TakeKeep for Map<String, Value> {
    fn shift_remove_entry_keep(&mut self, k: &str) -> Option<Value> {
        self.get_mut(k).map(Value::take)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jp(target: Value, patch: Value) -> Result<Value, PatchError> {
        json_patch(&target, &patch)
    }

    fn jp_err(target: Value, patch: Value) -> String {
        let ops = patch.as_array().cloned().unwrap_or_default();
        match apply_json_patch(&target, &ops) {
            Ok(v) => panic!("patch applied unexpectedly: {v}"),
            Err(e) => e,
        }
    }

    fn rejected() -> Result<Value, PatchError> {
        Err(PatchError::Invalid(JSON_PATCH_REJECTED.to_string()))
    }

    #[test]
    fn json_patch_add() {
        let doc = json!({"a": {"b": [1, 2]}});
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "add", "path": "/a/c", "value": 3}])
            ),
            Ok(json!({"a": {"b": [1, 2], "c": 3}}))
        );
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "add", "path": "/a/b/0", "value": 0}])
            ),
            Ok(json!({"a": {"b": [0, 1, 2]}}))
        );
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "add", "path": "/a/b/-", "value": 3}])
            ),
            Ok(json!({"a": {"b": [1, 2, 3]}}))
        );
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "add", "path": "/a/b/2", "value": 3}])
            ),
            Ok(json!({"a": {"b": [1, 2, 3]}}))
        );
        // Negative indices count from the end (v4 SupportNegativeIndices); -1 appends for add.
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "add", "path": "/a/b/-1", "value": 3}])
            ),
            Ok(json!({"a": {"b": [1, 2, 3]}}))
        );
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "add", "path": "/a/b/-3", "value": 0}])
            ),
            Ok(json!({"a": {"b": [0, 1, 2]}}))
        );
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "add", "path": "/a/b/3", "value": 3}])
            ),
            rejected()
        );
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "add", "path": "/a/b/x", "value": 3}])
            ),
            rejected()
        );
        // Overwrites an existing member; a missing value is null.
        assert_eq!(
            jp(doc.clone(), json!([{"op": "add", "path": "/a"}])),
            Ok(json!({"a": null}))
        );
        // Missing intermediate, or a path without any '/'.
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "add", "path": "/x/y", "value": 1}])
            ),
            rejected()
        );
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "add", "path": "invalid", "value": 1}])
            ),
            rejected()
        );
        assert_eq!(
            jp(doc.clone(), json!([{"op": "add", "path": "", "value": 1}])),
            rejected()
        );
        // Through an array element.
        let pod = json!({"spec": {"containers": [{"name": "a", "image": "x"}]}});
        assert_eq!(
            jp(
                pod,
                json!([{"op": "replace", "path": "/spec/containers/0/image", "value": "y"}])
            ),
            Ok(json!({"spec": {"containers": [{"name": "a", "image": "y"}]}}))
        );
    }

    #[test]
    fn json_patch_pointer_escapes() {
        let doc = json!({"metadata": {"labels": {"example.com/app": "a", "m~n": "b"}}});
        assert_eq!(
            jp(
                doc,
                json!([
                    {"op": "replace", "path": "/metadata/labels/example.com~1app", "value": "x"},
                    {"op": "remove", "path": "/metadata/labels/m~0n"}
                ])
            ),
            Ok(json!({"metadata": {"labels": {"example.com/app": "x"}}}))
        );
    }

    #[test]
    fn json_patch_remove() {
        let doc = json!({"a": 1, "b": [1, 2, 3], "c": 3});
        assert_eq!(
            jp(doc.clone(), json!([{"op": "remove", "path": "/a"}])),
            Ok(json!({"b": [1, 2, 3], "c": 3}))
        );
        assert_eq!(
            jp(doc.clone(), json!([{"op": "remove", "path": "/b/1"}])),
            Ok(json!({"a": 1, "b": [1, 3], "c": 3}))
        );
        assert_eq!(
            jp(doc.clone(), json!([{"op": "remove", "path": "/b/-1"}])),
            Ok(json!({"a": 1, "b": [1, 2], "c": 3}))
        );
        assert_eq!(
            jp(doc.clone(), json!([{"op": "remove", "path": "/b/3"}])),
            rejected()
        );
        // Real server: removing a missing key is 422.
        assert_eq!(
            jp(doc.clone(), json!([{"op": "remove", "path": "/zz"}])),
            rejected()
        );
        assert!(
            jp_err(doc, json!([{"op": "remove", "path": "/zz"}]))
                .contains("Unable to remove nonexistent key: zz")
        );
    }

    #[test]
    fn json_patch_replace() {
        let doc = json!({"metadata": {"labels": {"a": "1"}}, "l": [1]});
        // Real server: replace on a missing map key adds it.
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "replace", "path": "/metadata/labels/b", "value": "2"}])
            ),
            Ok(json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "l": [1]}))
        );
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "replace", "path": "/l/0", "value": 5}])
            ),
            Ok(json!({"metadata": {"labels": {"a": "1"}}, "l": [5]}))
        );
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "replace", "path": "/l/1", "value": 5}])
            ),
            rejected()
        );
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "replace", "path": "/nope/x", "value": 5}])
            ),
            rejected()
        );
        // The whole document.
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "replace", "path": "", "value": {"x": 1}}])
            ),
            Ok(json!({"x": 1}))
        );
        assert_eq!(
            jp(doc, json!([{"op": "replace", "path": "", "value": 1}])),
            rejected()
        );
    }

    #[test]
    fn json_patch_move_copy() {
        let doc = json!({"a": {"x": 1}, "b": [1, 2]});
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "move", "from": "/a/x", "path": "/c"}])
            ),
            Ok(json!({"a": {}, "b": [1, 2], "c": 1}))
        );
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "move", "from": "/b/0", "path": "/b/-"}])
            ),
            Ok(json!({"a": {"x": 1}, "b": [2, 1]}))
        );
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "move", "from": "/nope", "path": "/c"}])
            ),
            rejected()
        );
        assert_eq!(
            jp(doc.clone(), json!([{"op": "move", "path": "/c"}])),
            rejected()
        );
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "copy", "from": "/a", "path": "/b/1"}])
            ),
            Ok(json!({"a": {"x": 1}, "b": [1, {"x": 1}, 2]}))
        );
        // Copying a missing key copies null (json-patch v4).
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "copy", "from": "/nope", "path": "/c"}])
            ),
            Ok(json!({"a": {"x": 1}, "b": [1, 2], "c": null}))
        );
        assert_eq!(
            jp(doc, json!([{"op": "copy", "from": "/b/5", "path": "/c"}])),
            rejected()
        );
    }

    #[test]
    fn json_patch_test_op() {
        let doc = json!({"metadata": {"labels": {"a": "true"}}, "n": 1});
        let ok = json!([
            {"op": "test", "path": "/metadata/labels/a", "value": "true"},
            {"op": "replace", "path": "/metadata/labels/a", "value": "false"}
        ]);
        assert_eq!(
            jp(doc.clone(), ok),
            Ok(json!({"metadata": {"labels": {"a": "false"}}, "n": 1}))
        );
        // Real server: a failed test is 422 and nothing is applied, even earlier operations.
        let failing = json!([
            {"op": "add", "path": "/x", "value": 1},
            {"op": "test", "path": "/metadata/labels/a", "value": "false"},
            {"op": "add", "path": "/y", "value": 1}
        ]);
        assert_eq!(jp(doc.clone(), failing.clone()), rejected());
        assert!(
            jp_err(doc.clone(), failing).starts_with("testing value /metadata/labels/a failed")
        );
        // Missing key with a null (or absent) value passes; with any other value fails.
        assert!(
            jp(
                doc.clone(),
                json!([{"op": "test", "path": "/metadata/labels/zz", "value": null}])
            )
            .is_ok()
        );
        assert!(
            jp(
                doc.clone(),
                json!([{"op": "test", "path": "/metadata/labels/zz"}])
            )
            .is_ok()
        );
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "test", "path": "/metadata/labels/zz", "value": "x"}])
            ),
            rejected()
        );
        assert_eq!(
            jp(doc.clone(), json!([{"op": "test", "path": "/n"}])),
            rejected()
        );
        assert_eq!(
            jp(
                doc.clone(),
                json!([{"op": "test", "path": "/n", "value": 1.0}])
            ),
            rejected()
        );
        assert!(
            jp(
                doc.clone(),
                json!([{"op": "test", "path": "", "value": doc.clone()}])
            )
            .is_ok()
        );
        assert_eq!(
            jp(doc, json!([{"op": "test", "path": "/nope/x", "value": 1}])),
            rejected()
        );
    }

    #[test]
    fn json_patch_document_errors() {
        let doc = json!({"a": 1});
        assert_eq!(
            jp(doc.clone(), json!({"op": "add"})),
            Err(PatchError::BadRequest(
                "json: cannot unmarshal object into Go value of type jsonpatch.Patch".to_string()
            ))
        );
        assert_eq!(
            jp(doc.clone(), json!(["x"])),
            Err(PatchError::BadRequest(
                "json: cannot unmarshal string into Go value of type jsonpatch.Operation"
                    .to_string()
            ))
        );
        assert_eq!(jp(doc.clone(), Value::Null), Ok(doc.clone()));
        assert_eq!(jp(doc.clone(), json!([])), Ok(doc.clone()));
        assert_eq!(
            jp(doc.clone(), json!([{"op": "frobnicate", "path": "/a"}])),
            rejected()
        );
        assert_eq!(
            jp_err(doc.clone(), json!([{"path": "/a"}])),
            "Unexpected kind: unknown"
        );
        assert_eq!(jp(doc, json!([null])), rejected());
    }

    #[test]
    fn json_patch_path_without_leading_slash_uses_last_segment() {
        // evanphx ignores the first segment: "x/y" addresses "y" in the root.
        assert_eq!(
            jp(json!({}), json!([{"op": "add", "path": "x/y", "value": 1}])),
            Ok(json!({"y": 1}))
        );
    }

    // ----- merge patch -----

    fn mp(target: Value, patch: Value) -> Value {
        let mut t = target;
        merge_patch(&mut t, &patch);
        t
    }

    #[test]
    fn merge_patch_rfc7386() {
        assert_eq!(
            mp(
                json!({"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2]}),
                json!({"a": null, "b": {"c": 5, "e": {"f": null, "g": 1}}, "l": [3]})
            ),
            json!({"b": {"c": 5, "d": 3, "e": {"g": 1}}, "l": [3]})
        );
        // Removing a missing key is fine.
        assert_eq!(mp(json!({"a": 1}), json!({"z": null})), json!({"a": 1}));
        // Arrays replace; json-patch v4 prunes their null items and nulls inside them...
        assert_eq!(
            mp(json!({}), json!({"l": [1, null, {"a": null, "b": 1}]})),
            json!({"l": [1, {"b": 1}]})
        );
        // ...except when an object is replaced by the array (the patch value is taken as is).
        assert_eq!(
            mp(json!({"l": {"x": 1}}), json!({"l": [null]})),
            json!({"l": [null]})
        );
        // Object replaced by a scalar, scalar by an object (pruned).
        assert_eq!(
            mp(json!({"a": {"x": 1}}), json!({"a": "s"})),
            json!({"a": "s"})
        );
        assert_eq!(
            mp(json!({"a": "s"}), json!({"a": {"x": null, "y": 1}})),
            json!({"a": {"y": 1}})
        );
        // A null member is treated as absent.
        assert_eq!(
            mp(json!({"a": null}), json!({"a": {"x": null, "y": 1}})),
            json!({"a": {"y": 1}})
        );
        // Labels: add, change, delete.
        assert_eq!(
            mp(
                json!({"metadata": {"labels": {"a": "1", "b": "2"}}}),
                json!({"metadata": {"labels": {"a": "9", "b": null, "c": "3"}}})
            ),
            json!({"metadata": {"labels": {"a": "9", "c": "3"}}})
        );
        // Key order is kept.
        let out = mp(json!({"x": 1, "y": 2, "z": 3}), json!({"y": null}));
        assert_eq!(
            out.as_object()
                .map(|m| m.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["x".to_string(), "z".to_string()])
        );
        // Non-object document: becomes the (pruned) patch.
        assert_eq!(mp(json!([1]), json!({"a": null, "b": 2})), json!({"b": 2}));
    }

    // ----- strategic merge patch -----

    fn meta(path: &[&str]) -> Option<(String, Strategy)> {
        match path {
            ["spec", "containers"] | ["spec", "template", "spec", "containers"] => {
                Some(("name".into(), Strategy::Merge))
            }
            ["spec", "containers", "ports"] => Some(("containerPort".into(), Strategy::Merge)),
            ["spec", "containers", "args"] => None,
            ["metadata", "finalizers"] => Some((String::new(), Strategy::Merge)),
            ["spec", "strategy"] => Some((String::new(), Strategy::Default)),
            ["spec", "replaced"] => Some((String::new(), Strategy::Replace)),
            ["spec", "lists"] => Some(("name".into(), Strategy::Merge)),
            _ => None,
        }
    }

    fn smp(target: Value, patch: Value) -> Result<Value, PatchError> {
        strategic_merge_patch(&target, &patch, &meta)
    }

    fn pod() -> Value {
        json!({
            "metadata": {"name": "web", "labels": {"app": "web"}, "finalizers": ["a", "b"]},
            "spec": {
                "containers": [
                    {"name": "app", "image": "nginx", "ports": [{"containerPort": 80, "name": "http"}], "args": ["x"]},
                    {"name": "side", "image": "busybox"}
                ]
            }
        })
    }

    #[test]
    fn smp_maps_merge_like_merge_patch() {
        let out = smp(
            pod(),
            json!({"metadata": {"labels": {"app": null, "tier": "front"}, "annotations": {"a": "b"}}}),
        );
        let out = out.ok().unwrap_or_default();
        assert_eq!(out["metadata"]["labels"], json!({"tier": "front"}));
        assert_eq!(out["metadata"]["annotations"], json!({"a": "b"}));
        assert_eq!(out["spec"], pod()["spec"]);
        assert_eq!(smp(pod(), Value::Null), Ok(pod()));
        assert_eq!(smp(pod(), json!({})), Ok(pod()));
    }

    #[test]
    fn smp_merges_lists_by_merge_key() {
        let out = smp(
            pod(),
            json!({"spec": {"containers": [{"name": "side", "image": "alpine"}, {"name": "new", "image": "x"}]}}),
        );
        let out = out.ok().unwrap_or_default();
        let names: Vec<&str> = out["spec"]["containers"]
            .as_array()
            .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(names, ["app", "side", "new"]);
        assert_eq!(
            out["spec"]["containers"][1],
            json!({"name": "side", "image": "alpine"})
        );
        assert_eq!(out["spec"]["containers"][0]["image"], "nginx");
        // Nested merge list inside a merged element; a list without merge metadata is replaced.
        let out = smp(
            pod(),
            json!({"spec": {"containers": [{"name": "app", "ports": [{"containerPort": 443}], "args": ["y"]}]}}),
        );
        let out = out.ok().unwrap_or_default();
        // Patch items the live list cannot order come first (apimachinery's mergeSortedSlice).
        assert_eq!(
            out["spec"]["containers"][0]["ports"],
            json!([{"containerPort": 443}, {"containerPort": 80, "name": "http"}])
        );
        assert_eq!(out["spec"]["containers"][0]["args"], json!(["y"]));
    }

    #[test]
    fn smp_missing_merge_key_is_500() {
        // Real server: 500 with the plain error text.
        assert_eq!(
            smp(pod(), json!({"spec": {"containers": [{"image": "nginx"}]}})),
            Err(PatchError::Internal(
                "map: map[image:nginx] does not contain declared merge key: name".to_string()
            ))
        );
        let broken = json!({"spec": {"containers": [{"image": "old"}]}});
        assert_eq!(
            smp(broken, json!({"spec": {"containers": [{"name": "a"}]}})),
            Err(PatchError::Internal(
                "map: map[image:old] does not contain declared merge key: name".to_string()
            ))
        );
        assert_eq!(
            smp(
                pod(),
                json!({"spec": {"containers": [{"$patch": "delete", "image": "x"}]}})
            ),
            Err(PatchError::Internal(
                "map: map[$patch:delete image:x] does not contain declared merge key: name"
                    .to_string()
            ))
        );
    }

    #[test]
    fn smp_list_directives() {
        let out = smp(
            pod(),
            json!({"spec": {"containers": [{"name": "app", "$patch": "delete"}]}}),
        )
        .ok()
        .unwrap_or_default();
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "side", "image": "busybox"}])
        );
        let out = smp(pod(), json!({"spec": {"containers": [{"name": "only", "image": "i"}, {"$patch": "replace"}]}})).ok().unwrap_or_default();
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "only", "image": "i"}])
        );
        assert_eq!(
            smp(
                pod(),
                json!({"spec": {"containers": [{"$patch": "merge"}]}})
            ),
            Err(PatchError::Internal(
                "merging lists cannot yet be specified in the patch".to_string()
            ))
        );
        assert_eq!(
            smp(
                pod(),
                json!({"spec": {"containers": [{"name": "app", "$patch": "bogus"}]}})
            ),
            Err(PatchError::Internal(
                "unknown patch type: bogus in map: map[$patch:bogus name:app]".to_string()
            ))
        );
    }

    #[test]
    fn smp_map_directives() {
        let out = smp(
            pod(),
            json!({"metadata": {"labels": {"$patch": "replace", "x": "1"}}}),
        )
        .ok()
        .unwrap_or_default();
        assert_eq!(out["metadata"]["labels"], json!({"x": "1"}));
        let out = smp(pod(), json!({"metadata": {"labels": {"$patch": "delete"}}}))
            .ok()
            .unwrap_or_default();
        assert_eq!(out["metadata"]["labels"], json!({}));
        assert_eq!(
            smp(
                pod(),
                json!({"metadata": {"labels": {"$patch": "merge", "x": "1"}}})
            ),
            Err(PatchError::Internal(
                "unknown patch type: merge in map: map[$patch:merge x:1]".to_string()
            ))
        );
        // A field whose strategy is replace is replaced, even when it is a map.
        let out = smp(
            json!({"spec": {"replaced": {"a": 1, "b": 2}}}),
            json!({"spec": {"replaced": {"c": 3}}}),
        )
        .ok()
        .unwrap_or_default();
        assert_eq!(out["spec"]["replaced"], json!({"c": 3}));
    }

    #[test]
    fn smp_primitive_lists() {
        let out = smp(pod(), json!({"metadata": {"finalizers": ["b", "c"]}}))
            .ok()
            .unwrap_or_default();
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b", "c"]));
        let out = smp(
            pod(),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
        )
        .ok()
        .unwrap_or_default();
        assert_eq!(out["metadata"]["finalizers"], json!(["b"]));
        // A delete list for a field the object lacks does nothing.
        let out = smp(
            pod(),
            json!({"metadata": {"$deleteFromPrimitiveList/other": ["a"]}}),
        )
        .ok()
        .unwrap_or_default();
        assert_eq!(out["metadata"].get("other"), None);
        assert_eq!(
            smp(
                pod(),
                json!({"metadata": {"$deleteFromPrimitiveList": ["a"]}})
            ),
            Err(PatchError::BadRequest(
                "invalid patch format of primitive list".to_string()
            ))
        );
        assert_eq!(
            smp(pod(), json!({"metadata": {"finalizers": [1]}})),
            Err(PatchError::Internal(
                "list element types are not identical: [[a b] [1]]".to_string()
            ))
        );
        // A list of lists in a merging list: 422.
        assert_eq!(
            smp(
                json!({"metadata": {"finalizers": [["a"]]}}),
                json!({"metadata": {"finalizers": [["b"]]}})
            ),
            Err(PatchError::Invalid(JSON_PATCH_REJECTED.to_string()))
        );
    }

    #[test]
    fn smp_set_element_order() {
        let out = smp(
            pod(),
            json!({"metadata": {"$setElementOrder/finalizers": ["b", "a"]}}),
        )
        .ok()
        .unwrap_or_default();
        assert_eq!(out["metadata"]["finalizers"], json!(["b", "a"]));
        assert_eq!(out["metadata"].get("$setElementOrder/finalizers"), None);
        let out = smp(
            pod(),
            json!({"spec": {"$setElementOrder/containers": [{"name": "side"}, {"name": "app"}], "containers": [{"name": "app", "image": "v2"}]}}),
        )
        .ok()
        .unwrap_or_default();
        assert_eq!(out["spec"]["containers"][0]["name"], "side");
        assert_eq!(
            out["spec"]["containers"][1],
            json!({"name": "app", "image": "v2", "ports": [{"containerPort": 80, "name": "http"}], "args": ["x"]})
        );
        assert_eq!(out["spec"].get("$setElementOrder/containers"), None);
        // The patch list must follow the order list.
        assert!(matches!(
            smp(pod(), json!({"spec": {"$setElementOrder/containers": [{"name": "app"}], "containers": [{"name": "side", "image": "v"}]}})),
            Err(PatchError::Internal(m)) if m.starts_with("the order in patch list:\n")
        ));
        assert_eq!(
            smp(pod(), json!({"spec": {"$setElementOrder": []}})),
            Err(PatchError::BadRequest(
                "invalid patch format of setElementOrder list".to_string()
            ))
        );
    }

    #[test]
    fn smp_retain_keys() {
        let dep = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
        let out = smp(
            dep.clone(),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        )
        .ok()
        .unwrap_or_default();
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(
            smp(
                dep.clone(),
                json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}})
            ),
            Err(PatchError::BadRequest(
                "invalid patch format of retainKeys".to_string()
            ))
        );
        assert_eq!(
            smp(dep, json!({"spec": {"strategy": {"$retainKeys": "type"}}})),
            Err(PatchError::BadRequest(
                "invalid patch format of retainKeys".to_string()
            ))
        );
    }

    #[test]
    fn smp_new_values_are_cleaned() {
        // Values added where nothing was: nulls discarded, `$patch` maps dropped.
        let out = smp(
            json!({"spec": {}}),
            json!({"spec": {"new": {"a": null, "b": {"$patch": "delete"}, "c": 1}}}),
        )
        .ok()
        .unwrap_or_default();
        assert_eq!(out["spec"]["new"], json!({"c": 1}));
        // Type change: replaced.
        let out = smp(
            json!({"spec": {"x": "s"}}),
            json!({"spec": {"x": {"y": 1}}}),
        )
        .ok()
        .unwrap_or_default();
        assert_eq!(out["spec"]["x"], json!({"y": 1}));
        // A new merge list is taken as is, minus directives.
        let out = smp(
            json!({"spec": {}}),
            json!({"spec": {"lists": [{"name": "a"}, {"name": "b", "$patch": "delete"}]}}),
        )
        .ok()
        .unwrap_or_default();
        assert_eq!(out["spec"]["lists"], json!([{"name": "a"}]));
    }

    #[test]
    fn smp_document_errors() {
        assert_eq!(
            smp(pod(), json!([1])),
            Err(PatchError::BadRequest(
                "json: cannot unmarshal array into Go value of type map[string]interface {}"
                    .to_string()
            ))
        );
        assert_eq!(smp(pod(), json!({"$patch": "delete"})), Ok(json!({})));
    }

    #[test]
    fn strategy_from_extension() {
        assert_eq!(Strategy::from_extension("merge"), Strategy::Merge);
        assert_eq!(
            Strategy::from_extension("merge,retainKeys"),
            Strategy::Merge
        );
        assert_eq!(Strategy::from_extension("retainKeys"), Strategy::Default);
        assert_eq!(Strategy::from_extension("replace"), Strategy::Replace);
    }

    #[test]
    fn go_formatting() {
        assert_eq!(go_float(1.5), "1.5");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(1234567.5), "1.2345675e+06");
        assert_eq!(go_float(123456.5), "123456.5");
        assert_eq!(go_float(-0.25), "-0.25");
        assert_eq!(
            go_v(&json!({"b": [1, "x", null], "a": {"c": true}, "f": 2.5})),
            "map[a:map[c:true] b:[1 x <nil>] f:2.5]"
        );
    }
}
