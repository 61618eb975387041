//! `metav1.Status`, the body the API server sends with most errors, and the Status
//! client-go would synthesise when the body is something else.

use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};

/// The server's account of a failed (or, rarely, successful) call: `metav1.Status`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// `Status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `Success` or `Failure`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// A human-readable description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// A machine-readable reason (`NotFound`, `AlreadyExists`, `Conflict`, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// More about the object the reason names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<StatusDetails>,
    /// The HTTP status code.
    #[serde(default)]
    pub code: u16,
}

/// `metav1.StatusDetails`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDetails {
    /// The name of the object concerned.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Its group.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// Its kind (or resource).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Its UID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// The individual causes (for `Invalid`, one per field).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<StatusCause>,
    /// Seconds the client should wait before retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<i64>,
}

/// `metav1.StatusCause`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusCause {
    /// A machine-readable reason (`FieldValueInvalid`, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// A human-readable description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The field concerned, as a JSON path (`spec.containers[0].image`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
}

impl Status {
    /// A failure Status with a code, reason and message.
    pub fn failure(code: u16, reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind: Some("Status".to_owned()),
            api_version: Some("v1".to_owned()),
            status: "Failure".to_owned(),
            message: message.into(),
            reason: reason.into(),
            details: None,
            code,
        }
    }

    /// Whether this says `Success`.
    pub fn is_success(&self) -> bool {
        self.status == "Success"
    }

    /// Decodes a Status from an error body, or synthesises one as client-go does when the
    /// body is not a Status. `retry_after` is the response's `Retry-After` in seconds.
    pub(crate) fn from_response(
        code: StatusCode,
        method: &Method,
        body: &[u8],
        retry_after: Option<u64>,
    ) -> Self {
        let decoded = crate::protobuf::status_of(body).or_else(|| {
            serde_json::from_slice::<Status>(body)
                .ok()
                .filter(|s| s.kind.as_deref() == Some("Status"))
        });
        if let Some(mut status) = decoded {
            if status.code == 0 {
                status.code = code.as_u16();
            }
            if status.reason.is_empty() {
                status.reason = reason_for(code, method).0.to_owned();
            }
            return status;
        }
        Self::synthesize(code, method, body, retry_after)
    }

    fn synthesize(
        code: StatusCode,
        method: &Method,
        body: &[u8],
        retry_after: Option<u64>,
    ) -> Self {
        let (reason, generic) = reason_for(code, method);
        let excerpt = excerpt(body, 512);
        let message = if code.is_server_error() && reason == "InternalError" {
            format!(
                "an error on the server ({excerpt:?}) has prevented the request from succeeding"
            )
        } else if excerpt.is_empty() {
            generic.to_owned()
        } else {
            format!("{generic} ({excerpt})")
        };
        let mut status = Status::failure(code.as_u16(), reason, message);
        let causes = if excerpt.is_empty() {
            Vec::new()
        } else {
            vec![StatusCause {
                reason: "UnexpectedServerResponse".to_owned(),
                message: excerpt,
                field: String::new(),
            }]
        };
        if !causes.is_empty() || retry_after.is_some() {
            status.details = Some(StatusDetails {
                causes,
                retry_after_seconds: retry_after.map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
                ..StatusDetails::default()
            });
        }
        status
    }
}

/// The reason and generic message client-go's `NewGenericServerResponse` gives a code.
fn reason_for(code: StatusCode, method: &Method) -> (&'static str, &'static str) {
    match code.as_u16() {
        409 if method == Method::POST => ("AlreadyExists", "the server reported a conflict"),
        409 => ("Conflict", "the server reported a conflict"),
        404 => (
            "NotFound",
            "the server could not find the requested resource",
        ),
        400 => (
            "BadRequest",
            "the server rejected our request for an unknown reason",
        ),
        401 => (
            "Unauthorized",
            "the server has asked for the client to provide credentials",
        ),
        403 => (
            "Forbidden",
            "the server does not allow access to the requested resource",
        ),
        405 => (
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        ),
        406 => (
            "NotAcceptable",
            "the server was unable to respond with a content type that the client supports",
        ),
        410 => ("Gone", "the requested resource is no longer available"),
        413 => ("RequestEntityTooLarge", "the request entity is too large"),
        415 => (
            "UnsupportedMediaType",
            "the server was unable to handle the content type of the request",
        ),
        422 => (
            "Invalid",
            "the server rejected our request due to an error in our request",
        ),
        429 => (
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later",
        ),
        503 => (
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        ),
        504 => (
            "Timeout",
            "the server was unable to return a response in the time allotted, but may still be processing the request",
        ),
        c if c >= 500 => (
            "InternalError",
            "an error on the server has prevented the request from succeeding",
        ),
        _ => ("Unknown", "the server responded with an unexpected status"),
    }
}

/// At most `max` bytes of `body` as text, cut on a character boundary, invalid UTF-8 replaced.
pub(crate) fn excerpt(body: &[u8], max: usize) -> String {
    let cut = &body[..body.len().min(max)];
    let text = String::from_utf8_lossy(cut);
    let mut s = text.trim().to_owned();
    if body.len() > max {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_real_status() {
        let body = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \"x\" not found","reason":"NotFound","details":{"name":"x","kind":"pods"},"code":404}"#;
        let s = Status::from_response(StatusCode::NOT_FOUND, &Method::GET, body, None);
        assert_eq!(s.reason, "NotFound");
        assert_eq!(s.details.as_ref().map(|d| d.name.as_str()), Some("x"));
    }

    #[test]
    fn synthesises_already_exists_for_post_and_conflict_otherwise() {
        let s = Status::from_response(StatusCode::CONFLICT, &Method::POST, b"nope", None);
        assert_eq!(s.reason, "AlreadyExists");
        let s = Status::from_response(StatusCode::CONFLICT, &Method::PUT, b"nope", None);
        assert_eq!(s.reason, "Conflict");
        assert!(s.message.contains("nope"));
    }

    #[test]
    fn excerpt_cuts_on_char_boundary() {
        let e = excerpt("ééé".as_bytes(), 3);
        assert!(e.starts_with('é'));
        assert!(e.ends_with('…'));
    }
}
