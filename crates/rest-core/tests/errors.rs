//! Non-2xx answers become `Error::Api` with the server's Status, or one synthesised with client-go's reason.

use kubecto_rest_core::{Error, Status};

fn api(code: u16, reason: &str) -> Error {
    Error::Api(Box::new(Status::failure(code, reason, "m")))
}

#[test]
fn helpers_match_reasons() {
    assert!(api(404, "NotFound").is_not_found());
    assert!(api(409, "Conflict").is_conflict());
    assert!(!api(409, "Conflict").is_already_exists());
    assert!(api(409, "AlreadyExists").is_already_exists());
    assert!(!api(409, "AlreadyExists").is_conflict());
    assert!(api(410, "Expired").is_expired());
    assert!(api(410, "Expired").is_gone());
    assert!(api(410, "Gone").is_gone());
    assert!(!api(410, "Gone").is_expired());
    assert!(api(429, "TooManyRequests").is_too_many_requests());
    assert!(api(422, "Invalid").is_invalid());
    assert!(api(401, "Unauthorized").is_unauthorized());
    assert!(api(403, "Forbidden").is_forbidden());
    assert!(api(504, "Timeout").is_timeout());
    assert!(!api(500, "InternalError").is_not_found());
    let transport = Error::InvalidRequest { what: "x".into() };
    assert!(!transport.is_not_found() && transport.status().is_none());
}

#[test]
fn status_round_trips_the_server_format() {
    let body = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Pod \"x\" is invalid: spec.containers[0].image: Required value","reason":"Invalid","details":{"name":"x","kind":"Pod","causes":[{"reason":"FieldValueRequired","message":"Required value","field":"spec.containers[0].image"}]},"code":422}"#;
    let status: Status = serde_json::from_str(body).unwrap();
    assert_eq!(status.code, 422);
    let details = status.details.as_ref().unwrap();
    assert_eq!(details.causes[0].field, "spec.containers[0].image");
    let err = Error::Api(Box::new(status));
    assert!(err.is_invalid());
    assert!(err.to_string().contains("Required value"), "{err}");
    assert!(err.to_string().contains("422"), "{err}");
}

#[test]
fn retried_errors_say_what_earlier_attempts_saw() {
    let err = Error::Retried {
        attempts: 3,
        history: vec![
            "attempt 1: 429 Too Many Requests, retried after 1s".into(),
            "attempt 2: 503 Service Unavailable, retried after 1s".into(),
        ],
        last: Box::new(api(503, "ServiceUnavailable")),
    };
    let text = err.to_string();
    assert!(text.contains("after 3 attempts"), "{text}");
    assert!(text.contains("attempt 1: 429"), "{text}");
    assert!(text.contains("attempt 2: 503"), "{text}");
    assert_eq!(err.code(), Some(503));
    assert!(std::error::Error::source(&err).is_some());
}
