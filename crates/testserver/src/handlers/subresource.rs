//! Subresources that act on their object: `pods/eviction`, `pods/binding`,
//! `pods/ephemeralcontainers`, `namespaces/finalize`,
//! `certificatesigningrequests/approval` and `serviceaccounts/token`, answered as
//! kube-apiserver answers them.

use http::{Method, Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::handlers::input::{
    apply_patch_doc, decode_body, delete_opts_from, dry_run, parse_patch,
};
use crate::logic::apply;
use crate::objects;
use crate::objects::delete::delete_one;
use crate::objects::disruption;
use crate::objects::update::{How, Mode, write_update};
use crate::objects::{schema_of, with_type};
use crate::shared::body::ResBody;
use crate::shared::meta;
use crate::shared::request::Req;
use crate::shared::response::{json_raw, json_value, render};
use crate::shared::state::State;
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;

/// Does this subresource take this method?
pub(crate) fn serves(method: &Method, sub: &str) -> bool {
    match sub {
        "eviction" | "binding" | "token" => *method == Method::POST,
        "ephemeralcontainers" | "approval" => {
            matches!(*method, Method::GET | Method::PUT | Method::PATCH)
        }
        "finalize" => *method == Method::PUT,
        _ => false,
    }
}

pub(crate) fn serve(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    sub: &str,
) -> Result<Response<ResBody>, ApiError> {
    match (sub, &req.method) {
        ("eviction", _) => evict(state, req, info, namespace, name),
        ("binding", _) => bind(state, req, info, namespace, name),
        ("token", _) => token(state, req, info, namespace, name),
        (_, &Method::GET) => {
            let obj = objects::get(state, info, namespace, name)?;
            Ok(json_raw(StatusCode::OK, render(&obj.body, info)))
        }
        _ => write_part(state, req, info, namespace, name, sub),
    }
}

/// The `Status` a successful eviction or binding answers (with 201).
fn success() -> Response<ResBody> {
    json_value(
        StatusCode::CREATED,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
    )
}

/// A JSON object body of the given kind (any `apiVersion`), or 400.
fn body_of(req: &Req, kind: &str) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_slice(&req.body).map_err(|e| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {kind}): couldn't get version/kind; json parse error: {e}"
        ))
    })?;
    if !v.is_object() {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {kind}): the body is not a JSON object"
        )));
    }
    if let Some(k) = v["kind"].as_str().filter(|k| !k.is_empty() && *k != kind) {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({k}) does not match the expected kind ({kind})"
        )));
    }
    Ok(v)
}

fn check_name(sent: &Value, name: &str, kind: &str) -> Result<(), ApiError> {
    if sent["metadata"]["name"].as_str().unwrap_or_default() != name {
        return Err(ApiError::bad_request(format!(
            "name in URL does not match name in {kind} object"
        )));
    }
    Ok(())
}

/// `POST pods/{name}/eviction`: delete the pod with the eviction's `deleteOptions`,
/// unless the PodDisruptionBudget that selects it allows no disruption now (429).
fn evict(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
) -> Result<Response<ResBody>, ApiError> {
    let sent = body_of(req, "Eviction")?;
    check_name(&sent, name, "Eviction")?;
    let opts_body = match &sent["deleteOptions"] {
        Value::Null => json!({}),
        v @ Value::Object(_) => v.clone(),
        _ => return Err(ApiError::bad_request("deleteOptions must be an object")),
    };
    let opts = delete_opts_from(req, &opts_body)?;
    let pod = objects::get(state, info, namespace, name)?;
    disruption::check_eviction(state, &pod.value())?;
    let (obj, kind) = delete_one(state, info, namespace, name, &opts)?;
    if !opts.dry_run {
        state.after_write(info, &obj, kind);
    }
    Ok(success())
}

/// `POST pods/{name}/binding`: set `spec.nodeName` on an unbound pod.
fn bind(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
) -> Result<Response<ResBody>, ApiError> {
    let sent = body_of(req, "Binding")?;
    check_name(&sent, name, "Binding")?;
    let target_kind = sent["target"]["kind"].as_str().unwrap_or_default();
    if !target_kind.is_empty() && target_kind != "Node" {
        return Err(ApiError::invalid(
            "Binding",
            "",
            name,
            &[(
                "target.kind".into(),
                "FieldValueNotSupported",
                format!("Unsupported value: {target_kind:?}: supported values: \"Node\""),
            )],
        ));
    }
    let node = sent["target"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if node.is_empty() {
        return Err(ApiError::invalid(
            "Binding",
            "",
            name,
            &[(
                "target.name".into(),
                "FieldValueRequired",
                "Required value".into(),
            )],
        ));
    }
    let dry = dry_run(req)?;
    let how = How {
        mode: Mode::Raw,
        dry_run: dry,
        manager: None,
        subresource: "binding",
    };
    let conflict = |why: String| {
        ApiError::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on pods/binding \"{name}\": {why}"),
            Some(json!({"name": name, "kind": "pods/binding"})),
        )
    };
    let pre_uid = sent["metadata"]["uid"].as_str().filter(|s| !s.is_empty());
    let pre_rv = sent["metadata"]["resourceVersion"]
        .as_str()
        .filter(|s| !s.is_empty());
    let annotations = sent["metadata"]["annotations"].as_object().cloned();
    write_update(state, info, namespace, name, how, |obj, cur| {
        if let Some(uid) = pre_uid
            && uid != obj.uid
        {
            return Err(conflict(format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                obj.uid
            )));
        }
        if let Some(rv) = pre_rv
            && rv != obj.rv.to_string()
        {
            return Err(ApiError::conflict(&info.plural, &info.group, name));
        }
        if cur["metadata"].get("deletionTimestamp").is_some() {
            return Err(conflict(format!(
                "pod {name} is being deleted, cannot be assigned to a host"
            )));
        }
        let bound = cur["spec"]["nodeName"].as_str().unwrap_or_default();
        if !bound.is_empty() {
            return Err(conflict(format!(
                "pod {name} is already assigned to node \"{bound}\""
            )));
        }
        if cur["spec"]["schedulingGates"]
            .as_array()
            .is_some_and(|g| !g.is_empty())
        {
            return Err(conflict(format!(
                "pod {name} has non-empty .spec.schedulingGates"
            )));
        }
        let mut next = cur.clone();
        next["spec"]["nodeName"] = json!(node);
        if let Some(a) = &annotations {
            if !next["metadata"]["annotations"].is_object() {
                next["metadata"]["annotations"] = json!({});
            }
            if let Some(m) = next["metadata"]["annotations"].as_object_mut() {
                m.extend(a.clone());
            }
        }
        // The PodScheduled condition turns True.
        if !next["status"].is_object() {
            next["status"] = json!({});
        }
        if !next["status"]["conditions"].is_array() {
            next["status"]["conditions"] = json!([]);
        }
        if let Some(conds) = next["status"]["conditions"].as_array_mut() {
            let now = meta::now_rfc3339();
            match conds.iter_mut().find(|c| c["type"] == "PodScheduled") {
                Some(c) if c["status"] == "True" => {}
                Some(c) => {
                    c["status"] = json!("True");
                    c["lastTransitionTime"] = json!(now);
                }
                None => conds.push(json!({"type": "PodScheduled", "status": "True",
                    "lastProbeTime": null, "lastTransitionTime": now})),
            }
        }
        Ok(next)
    })?;
    Ok(success())
}

/// `POST serviceaccounts/{name}/token`: a TokenRequest with an opaque JWT-looking token.
fn token(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
) -> Result<Response<ResBody>, ApiError> {
    let mut tr = body_of(req, "TokenRequest")?;
    let sa = objects::get(state, info, namespace, name)?;
    let seconds = match &tr["spec"]["expirationSeconds"] {
        Value::Null => 3600,
        v => v.as_i64().ok_or_else(|| {
            ApiError::bad_request(format!(
                "TokenRequest in version \"v1\" cannot be handled as a TokenRequest: json: cannot unmarshal {v} into Go struct field TokenRequestSpec.spec.expirationSeconds of type int64"
            ))
        })?,
    };
    let invalid = |msg: &str| {
        ApiError::invalid(
            "TokenRequest",
            "authentication.k8s.io",
            "",
            &[(
                "spec.expirationSeconds".into(),
                "FieldValueInvalid",
                format!("Invalid value: {seconds}: {msg}"),
            )],
        )
    };
    if seconds < 600 {
        return Err(invalid("may not specify a duration less than 10 minutes"));
    }
    if seconds > 1 << 32 {
        return Err(invalid(
            "may not specify a duration larger than 2^32 seconds",
        ));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let exp = now + seconds as u64;
    let ns = namespace.unwrap_or_default();
    let audiences = match &tr["spec"]["audiences"] {
        Value::Array(a) if !a.is_empty() => Value::Array(a.clone()),
        _ => json!(["https://kubernetes.default.svc.cluster.local"]),
    };
    let b64 = |v: &Value| base64url(v.to_string().as_bytes());
    let header = b64(&json!({"alg": "RS256", "kid": "kubecto-testserver"}));
    let claims = b64(&json!({
        "aud": audiences, "exp": exp, "iat": now, "nbf": now,
        "iss": "https://kubernetes.default.svc.cluster.local",
        "jti": meta::new_uid(),
        "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": sa.uid}},
        "sub": format!("system:serviceaccount:{ns}:{name}"),
    }));
    let signature = base64url(meta::new_uid().as_bytes());
    let Some(map) = tr.as_object_mut() else {
        return Err(ApiError::bad_request("the body is not a JSON object"));
    };
    map.insert("kind".into(), json!("TokenRequest"));
    map.insert("apiVersion".into(), json!("authentication.k8s.io/v1"));
    let mut md = match map.remove("metadata") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    md.insert("name".into(), json!(name));
    md.insert("namespace".into(), json!(ns));
    md.insert("creationTimestamp".into(), Value::Null);
    map.insert("metadata".into(), Value::Object(md));
    let mut spec = match map.remove("spec") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    spec.insert("audiences".into(), audiences);
    spec.insert("expirationSeconds".into(), json!(seconds));
    spec.entry("boundObjectRef").or_insert(Value::Null);
    map.insert("spec".into(), Value::Object(spec));
    map.insert(
        "status".into(),
        json!({"token": format!("{header}.{claims}.{signature}"),
               "expirationTimestamp": meta::rfc3339(exp)}),
    );
    Ok(json_value(StatusCode::CREATED, &tr))
}

fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// PUT/PATCH of `ephemeralcontainers`, `finalize` or `approval`: the sent (or patched)
/// object's one part replaces the current one; everything else stays.
fn write_part(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    sub: &str,
) -> Result<Response<ResBody>, ApiError> {
    let patch = if req.method == Method::PATCH {
        let p = parse_patch(req)?;
        if p.is_apply {
            return Err(ApiError::unsupported_media_type(&p.ct));
        }
        Some(p)
    } else {
        None
    };
    let sent = match &patch {
        Some(_) => None,
        None => {
            let v = decode_body(req, info)?;
            if let Some(k) = v["kind"]
                .as_str()
                .filter(|k| !k.is_empty() && *k != info.kind)
            {
                return Err(ApiError::bad_request(format!(
                    "the kind in the data ({k}) does not match the expected kind ({})",
                    info.kind
                )));
            }
            let sent_name = v["metadata"]["name"].as_str().unwrap_or_default();
            if sent_name != name {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({sent_name}) does not match the name on the URL ({name})"
                )));
            }
            Some(v)
        }
    };
    let dry = match &patch {
        Some(p) => p.dry,
        None => dry_run(req)?,
    };
    let manager = apply::manager_for(req.param("fieldManager"), &req.user_agent);
    let mode = if sub == "approval" {
        Mode::Status
    } else {
        Mode::Main
    };
    let how = How {
        mode,
        dry_run: dry,
        manager: manager.as_deref(),
        subresource: sub,
    };
    let api_version = info.api_version();
    let obj = write_update(state, info, namespace, name, how, |_, cur| {
        let sent = match (&patch, &sent) {
            (Some(p), _) => {
                let full = with_type(cur, &info.kind, &api_version);
                apply_patch_doc(p, full, schema_of(info))?
            }
            (None, Some(v)) => v.clone(),
            (None, None) => return Err(ApiError::internal("no body")),
        };
        let mut next = cur.clone();
        match sub {
            "ephemeralcontainers" => ephemeral(cur, &sent, &mut next, name)?,
            "finalize" => {
                let f = sent["spec"]["finalizers"].clone();
                match next["spec"].as_object_mut() {
                    Some(spec) if f.is_null() => {
                        spec.remove("finalizers");
                    }
                    Some(spec) => {
                        spec.insert("finalizers".into(), f);
                    }
                    None => next["spec"] = json!({"finalizers": f}),
                }
            }
            _ => approval(&sent, &mut next, name)?,
        }
        if let Some(rv) = sent["metadata"]["resourceVersion"].as_str() {
            next["metadata"]["resourceVersion"] = json!(rv);
        }
        Ok(next)
    })?;
    Ok(json_raw(StatusCode::OK, render(&obj.body, info)))
}

/// `spec.ephemeralContainers` from `sent` into `next`: existing entries stay as they are.
fn ephemeral(cur: &Value, sent: &Value, next: &mut Value, name: &str) -> Result<(), ApiError> {
    let old: &[Value] = cur["spec"]["ephemeralContainers"]
        .as_array()
        .map_or(&[], Vec::as_slice);
    let mut new: Vec<Value> = match &sent["spec"]["ephemeralContainers"] {
        Value::Null => Vec::new(),
        Value::Array(a) => a.clone(),
        _ => {
            return Err(ApiError::bad_request(
                "spec.ephemeralContainers must be a list",
            ));
        }
    };
    let path = "spec.ephemeralContainers";
    let mut causes: Vec<(String, &str, String)> = Vec::new();
    let mut names: Vec<String> = ["containers", "initContainers"]
        .iter()
        .filter_map(|k| cur["spec"][*k].as_array())
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect();
    for (i, c) in new.iter_mut().enumerate() {
        let cname = c["name"].as_str().unwrap_or_default().to_owned();
        if let Some(o) = old.iter().find(|o| o["name"] == c["name"]) {
            if o != c {
                causes.push((
                    format!("{path}[{cname}]"),
                    "FieldValueForbidden",
                    format!(
                        "Forbidden: existing ephemeral containers {cname:?} may not be changed"
                    ),
                ));
            }
            names.push(cname);
            continue;
        }
        let Some(m) = c.as_object_mut() else {
            causes.push((
                format!("{path}[{i}]"),
                "FieldValueInvalid",
                "Invalid value: not an object".into(),
            ));
            continue;
        };
        if cname.is_empty() {
            causes.push((
                format!("{path}[{i}].name"),
                "FieldValueRequired",
                "Required value".into(),
            ));
        } else if names.contains(&cname) {
            causes.push((
                format!("{path}[{i}].name"),
                "FieldValueDuplicate",
                format!("Duplicate value: {cname:?}"),
            ));
        }
        if m.get("image")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            causes.push((
                format!("{path}[{i}].image"),
                "FieldValueRequired",
                "Required value".into(),
            ));
        }
        crate::logic::defaults::container(m);
        names.push(cname);
    }
    for o in old {
        if !new.iter().any(|c| c["name"] == o["name"]) {
            let n = o["name"].as_str().unwrap_or_default();
            causes.push((
                path.into(),
                "FieldValueForbidden",
                format!("Forbidden: existing ephemeral containers {n:?} may not be removed"),
            ));
        }
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid("Pod", "", name, &causes));
    }
    match next["spec"].as_object_mut() {
        Some(spec) if new.is_empty() => {
            spec.remove("ephemeralContainers");
        }
        Some(spec) => {
            spec.insert("ephemeralContainers".into(), Value::Array(new));
        }
        None => return Err(ApiError::internal("the pod has no spec")),
    }
    Ok(())
}

/// `status.conditions` from `sent` into `next` (a CSR), checked and timestamped.
fn approval(sent: &Value, next: &mut Value, name: &str) -> Result<(), ApiError> {
    let mut conditions: Vec<Value> = match &sent["status"]["conditions"] {
        Value::Null => Vec::new(),
        Value::Array(a) => a.clone(),
        _ => return Err(ApiError::bad_request("status.conditions must be a list")),
    };
    let now = meta::now_rfc3339();
    let mut causes: Vec<(String, &str, String)> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (i, c) in conditions.iter_mut().enumerate() {
        let Some(m) = c.as_object_mut() else {
            causes.push((
                format!("status.conditions[{i}]"),
                "FieldValueInvalid",
                "Invalid value: not an object".into(),
            ));
            continue;
        };
        let t = m
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if t.is_empty() {
            causes.push((
                format!("status.conditions[{i}].type"),
                "FieldValueRequired",
                "Required value".into(),
            ));
        } else if seen.contains(&t) {
            causes.push((
                format!("status.conditions[{i}].type"),
                "FieldValueDuplicate",
                format!("Duplicate value: {t:?}"),
            ));
        }
        m.entry("status").or_insert(json!("True"));
        m.entry("lastUpdateTime").or_insert(json!(now));
        m.entry("lastTransitionTime").or_insert(json!(now));
        seen.push(t);
    }
    let is_true = |t: &str| {
        conditions
            .iter()
            .any(|c| c["type"] == t && c["status"] == "True")
    };
    if is_true("Approved") && is_true("Denied") {
        causes.push((
            "status.conditions".into(),
            "FieldValueInvalid",
            "Invalid value: \"Approved\": Approved and Denied conditions are mutually exclusive"
                .into(),
        ));
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(
            "CertificateSigningRequest",
            "certificates.k8s.io",
            name,
            &causes,
        ));
    }
    if !next["status"].is_object() {
        next["status"] = json!({});
    }
    if let Some(status) = next["status"].as_object_mut() {
        if conditions.is_empty() {
            status.remove("conditions");
        } else {
            status.insert("conditions".into(), Value::Array(conditions));
        }
    }
    Ok(())
}
