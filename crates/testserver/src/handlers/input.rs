//! What a request sends, decoded for the handlers that share it: object bodies (JSON,
//! YAML, or protobuf for built-in kinds), `dryRun`, patch documents and their options,
//! `DeleteOptions`, and the label and field selectors, each refused with the Status
//! kube-apiserver answers.

use serde_json::{Value, json};

use crate::logic::openapi;
use crate::logic::patch::{self, patch_error, strategic_unsupported};
use crate::logic::selector::{FieldSelector, LabelSelector};
use crate::objects::delete::{DeleteOpts, Propagation};
use crate::protobuf::{self, envelope};
use crate::shared::gojson;
use crate::shared::request::Req;
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;
use crate::storage::store::Obj;

/// YAML as kube-apiserver reads it (YAML 1.1: `0644` is octal), as deep as JSON bodies
/// may go (serde_json's limit, 128), with no snippet of the body in messages.
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        with_snippet: false,
        legacy_octal_numbers: true,
        budget: serde_saphyr::budget! { max_depth: 128, max_nodes: 10_000_000 },
    }
}

/// The body as an object (JSON or YAML), or 400/415.
pub(crate) fn decode_body(req: &Req, info: &ResourceInfo) -> Result<Value, ApiError> {
    let ct = req
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    let parsed: Result<Value, String> = match ct {
        "" | "application/json" | "*/*" => serde_json::from_slice(&req.body)
            .map_err(|e| gojson::syntax_error(&req.body).unwrap_or_else(|| e.to_string())),
        "application/yaml" => serde_saphyr::from_slice_with_options(&req.body, yaml_options())
            .map_err(|e| e.to_string()),
        protobuf::MEDIA_TYPE => return decode_protobuf(req, info),
        other => return Err(ApiError::unsupported_media_type(other)),
    };
    let unrecognized = |e: &str| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {e} ({})",
            info.kind,
            gojson::summary(&req.body)
        ))
    };
    let value = parsed.map_err(|e| unrecognized(&e))?;
    if let Some(e) = gojson::not_an_object(&value) {
        return Err(unrecognized(&e));
    }
    if !value.is_object() {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): the body is not a JSON object",
            info.kind
        )));
    }
    Ok(value)
}

/// A protobuf body (`k8s\0` + `runtime.Unknown`) as an object, or 400 naming the byte
/// where it went wrong. Custom resources have no protobuf form: 415, as kube-apiserver's
/// decoder refuses the media type (the recorded v1.36.2, asked over HTTP/2, reset the
/// stream instead of answering).
fn decode_protobuf(req: &Req, info: &ResourceInfo) -> Result<Value, ApiError> {
    if info.custom.is_some() || !envelope::has_message(&info.api_version(), &info.kind) {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/cbor (got {:?})",
                protobuf::MEDIA_TYPE
            ),
            None,
        ));
    }
    envelope::decode_object(&req.body).map_err(|e| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): {e}",
            info.kind
        ))
    })
}

/// `dryRun=All` (any other value is 422).
pub(crate) fn dry_run(req: &Req) -> Result<bool, ApiError> {
    let mut dry = false;
    for (k, v) in &req.query {
        if k == "dryRun" {
            if v != "All" {
                return Err(ApiError::new(
                    422,
                    "Invalid",
                    format!("dryRun: Unsupported value: {v:?}: supported values: \"All\""),
                    None,
                ));
            }
            dry = true;
        }
    }
    Ok(dry)
}

/// A decoded PATCH request: its type, document and options.
pub(crate) struct PatchRequest {
    /// The media type (without parameters).
    pub ct: String,
    /// Server-side apply?
    pub is_apply: bool,
    /// The patch document (YAML decoded for apply).
    pub doc: Value,
    /// `dryRun=All`.
    pub dry: bool,
}

/// Check a PATCH's media type and options and decode its document.
pub(crate) fn parse_patch(req: &Req) -> Result<PatchRequest, ApiError> {
    let ct = req
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let is_apply = ct == "application/apply-patch+yaml" || ct == "application/apply-patch+cbor";
    if !matches!(
        ct.as_str(),
        "application/json-patch+json"
            | "application/merge-patch+json"
            | "application/strategic-merge-patch+json"
    ) && !is_apply
    {
        return Err(ApiError::unsupported_media_type(&ct));
    }
    if is_apply && req.param("fieldManager").is_none_or(str::is_empty) {
        return Err(ApiError::new(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            None,
        ));
    }
    if !is_apply && req.param("force").is_some() {
        return Err(ApiError::new(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch",
            None,
        ));
    }
    let dry = dry_run(req)?;
    let doc: Value = if is_apply {
        serde_saphyr::from_slice_with_options(&req.body, yaml_options())
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
    } else {
        serde_json::from_slice(&req.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?
    };
    Ok(PatchRequest {
        ct,
        is_apply,
        doc,
        dry,
    })
}

/// Apply a (non-apply) patch to a full object (with `kind`/`apiVersion`); `schema` is the
/// kind's OpenAPI schema, which strategic merge patch needs.
pub(crate) fn apply_patch_doc(
    p: &PatchRequest,
    full: Value,
    schema: Option<openapi::KindSchema<'_>>,
) -> Result<Value, ApiError> {
    Ok(match p.ct.as_str() {
        "application/json-patch+json" => patch::json_patch(&full, &p.doc).map_err(patch_error)?,
        "application/merge-patch+json" => {
            if !p.doc.is_object() {
                return Err(ApiError::bad_request("Invalid JSON Patch"));
            }
            let mut v = full;
            patch::merge_patch(&mut v, &p.doc);
            v
        }
        "application/strategic-merge-patch+json" => {
            let schema = schema.ok_or_else(strategic_unsupported)?;
            patch::strategic_merge_patch(&full, &p.doc, &|path| schema.patch_meta(path))
                .map_err(patch_error)?
        }
        // Apply to the scale subresource (the main resource and status go through
        // `apply::apply`): a merge of the applied Scale.
        _ => {
            let mut v = full;
            patch::merge_patch(&mut v, &p.doc);
            v
        }
    })
}

/// `DeleteOptions` from the body (if any) and the query.
pub(crate) fn delete_opts(req: &Req) -> Result<DeleteOpts, ApiError> {
    let body: Value = if req.body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else if req.content_type.split(';').next().map(str::trim) == Some(protobuf::MEDIA_TYPE) {
        envelope::decode_object(&req.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?
    } else {
        serde_json::from_slice(&req.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?
    };
    delete_opts_from(req, &body)
}

/// `DeleteOptions` from a decoded body (an `Eviction`'s `deleteOptions`) and the query.
pub(crate) fn delete_opts_from(req: &Req, body: &Value) -> Result<DeleteOpts, ApiError> {
    let pre = &body["preconditions"];
    let body_dry = body["dryRun"]
        .as_array()
        .is_some_and(|a| a.iter().any(|v| v == "All"));
    let invalid = |msg: String| {
        ApiError::new(
            422,
            "Invalid",
            format!("DeleteOptions.meta.k8s.io \"\" is invalid: {msg}"),
            None,
        )
    };
    let policy = body["propagationPolicy"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| req.param("propagationPolicy").map(str::to_owned));
    let orphan = body["orphanDependents"]
        .as_bool()
        .or_else(|| req.param("orphanDependents").map(|v| v == "true"));
    let mut propagation = match policy.as_deref() {
        None | Some("") => None,
        Some("Background") => Some(Propagation::Background),
        Some("Foreground") => Some(Propagation::Foreground),
        Some("Orphan") => Some(Propagation::Orphan),
        Some(other) => {
            return Err(invalid(format!(
                "propagationPolicy: Unsupported value: {other:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
            )));
        }
    };
    if let Some(o) = orphan {
        if propagation.is_some() {
            return Err(invalid(
                "propagationPolicy: Invalid value: \"orphanDependents\": orphanDependents and deletionPropagation cannot be both set".into(),
            ));
        }
        propagation = Some(if o {
            Propagation::Orphan
        } else {
            Propagation::Background
        });
    }
    let grace_period = match (&body["gracePeriodSeconds"], req.param("gracePeriodSeconds")) {
        (Value::Number(n), _) => n.as_i64(),
        (_, Some(q)) if !q.is_empty() => Some(
            q.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid gracePeriodSeconds: {q:?}")))?,
        ),
        _ => None,
    };
    Ok(DeleteOpts {
        uid: pre["uid"].as_str().map(str::to_owned),
        resource_version: pre["resourceVersion"].as_str().map(str::to_owned),
        dry_run: dry_run(req)? || body_dry,
        propagation,
        grace_period,
    })
}

/// Parse `labelSelector` and `fieldSelector`.
pub(crate) fn selectors(
    req: &Req,
    info: &ResourceInfo,
) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(req.param("labelSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    let fields = FieldSelector::parse(req.param("fieldSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    fields
        .validate(&info.group, &info.plural)
        .map_err(ApiError::bad_request)?;
    Ok((labels, fields))
}

/// Does a stored object pass both selectors?
pub(crate) fn matches_selectors(
    obj: &Obj,
    labels: &LabelSelector,
    fields: &FieldSelector,
    info: &ResourceInfo,
) -> bool {
    (labels.is_empty() || labels.matches(obj.labels.as_ref()))
        && (fields.is_empty() || fields.matches(&info.group, &info.plural, &obj.value()))
}
