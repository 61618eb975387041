//! `metav1.Status` bodies, worded as kube-apiserver words them.

use serde_json::{Value, json};

/// An API error: HTTP code plus the `Status` body that goes with it.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// The `Status` object.
    pub body: Value,
}

impl ApiError {
    /// A failure `Status` with optional details.
    pub(crate) fn new(
        code: u16,
        reason: &str,
        message: impl Into<String>,
        details: Option<Value>,
    ) -> ApiError {
        let mut body = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message.into(),
            "reason": reason,
        });
        if let Some(d) = details {
            body["details"] = d;
        }
        body["code"] = json!(code);
        ApiError { code, body }
    }

    /// 404 for a named object: `pods "web" not found`.
    pub(crate) fn not_found(resource: &str, group: &str, name: &str) -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(resource, group)),
            Some(details(name, group, resource)),
        )
    }

    /// 409 AlreadyExists.
    pub(crate) fn already_exists(resource: &str, group: &str, name: &str) -> ApiError {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", qualified(resource, group)),
            Some(details(name, group, resource)),
        )
    }

    /// 409 Conflict on a stale resourceVersion.
    pub(crate) fn conflict(resource: &str, group: &str, name: &str) -> ApiError {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                qualified(resource, group)
            ),
            Some(details(name, group, resource)),
        )
    }

    /// 409 Conflict on a failed precondition (`Precondition failed: UID in precondition:
    /// ...`), as `NewConflict` words it.
    pub(crate) fn precondition_failed(
        resource: &str,
        group: &str,
        name: &str,
        detail: &str,
    ) -> ApiError {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: {detail}",
                qualified(resource, group)
            ),
            Some(details(name, group, resource)),
        )
    }

    /// 400 BadRequest.
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message, None)
    }

    /// 422 Invalid with one cause per field error: `(field, reason, message)`, worded as
    /// apimachinery's `NewInvalid`: `Deployment.apps "web" is invalid: ...`.
    pub(crate) fn invalid(
        kind: &str,
        group: &str,
        name: &str,
        causes: &[(String, &str, String)],
    ) -> ApiError {
        let summary: Vec<String> = causes.iter().map(|(f, _, m)| format!("{f}: {m}")).collect();
        let summary = if summary.len() == 1 {
            summary[0].clone()
        } else {
            format!("[{}]", summary.join(", "))
        };
        let causes: Vec<Value> = causes
            .iter()
            .map(|(field, reason, message)| json!({"reason": reason, "message": message, "field": field}))
            .collect();
        let mut d = json!({"name": name});
        if !group.is_empty() {
            d["group"] = json!(group);
        }
        d["kind"] = json!(kind);
        d["causes"] = json!(causes);
        ApiError::new(
            422,
            "Invalid",
            format!(
                "{} \"{name}\" is invalid: {summary}",
                qualified(kind, group)
            ),
            Some(d),
        )
    }

    /// 405 MethodNotAllowed for a verb the resource does not support.
    pub(crate) fn method_not_allowed(method: &str) -> ApiError {
        ApiError::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({method})"),
            None,
        )
    }

    /// 410 Expired, as a too-old resourceVersion or continue token gets.
    pub(crate) fn expired(message: impl Into<String>) -> ApiError {
        ApiError::new(410, "Expired", message, None)
    }

    /// 504 Timeout for a resourceVersion the server has not reached after the watch
    /// cache's 3 s wait (`NewTooLargeResourceVersionError`).
    pub(crate) fn too_large_resource_version(rv: u64, current: u64) -> ApiError {
        ApiError::new(
            504,
            "Timeout",
            format!("Timeout: Too large resource version: {rv}, current: {current}"),
            Some(json!({
                "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                "retryAfterSeconds": 1,
            })),
        )
    }

    /// 415 UnsupportedMediaType.
    pub(crate) fn unsupported_media_type(content_type: &str) -> ApiError {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {content_type:?})"
            ),
            None,
        )
    }

    /// 500 InternalError.
    pub(crate) fn internal(message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError::new(
            500,
            "InternalError",
            format!("Internal error occurred: {message}"),
            Some(json!({"causes": [{"message": message}]})),
        )
    }
}

/// `pods`, or `deployments.apps` for a named group, as Kubernetes messages write it.
pub(crate) fn qualified(resource: &str, group: &str) -> String {
    if group.is_empty() {
        resource.to_owned()
    } else {
        format!("{resource}.{group}")
    }
}

fn details(name: &str, group: &str, resource: &str) -> Value {
    let mut d = json!({"name": name});
    if !group.is_empty() {
        d["group"] = json!(group);
    }
    d["kind"] = json!(resource);
    d
}

/// The `Status` a successful delete of a non-graceful object returns.
pub(crate) fn delete_success(resource: &str, group: &str, name: &str, uid: &str) -> Value {
    let mut d = details(name, group, resource);
    d["uid"] = json!(uid);
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d})
}
