//! Fault injection: answer chosen requests with an error status, a dropped
//! connection, a cut or re-chunked body, or a delay.

use std::sync::Mutex;
use std::time::Duration;

use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

use crate::shared::body::ResBody;
use crate::shared::response::error;
use crate::shared::status::ApiError;

/// What a fault does to the request it matches.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    Status {
        code: u16,
        retry_after: Option<String>,
    },
    Drop,
    Truncate(usize),
    Delay(Duration),
    Rechunk(usize),
}

/// A fault to inject into the next matching requests.
///
/// ```
/// use kubecto_testserver::Fault;
/// // The next two GETs of pods in `default` answer 429 with `Retry-After: 1`.
/// let fault = Fault::status(429).retry_after("1").method("GET").path("/api/v1/namespaces/default/pods*").times(2);
/// # let _ = fault;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Fault {
    pub(crate) action: Action,
    method: Option<String>,
    path: Option<String>,
    remaining: Option<usize>,
}

impl Fault {
    fn new(action: Action) -> Fault {
        Fault {
            action,
            method: None,
            path: None,
            remaining: Some(1),
        }
    }

    /// Answer with a `metav1.Status` of this HTTP code (reason chosen as kube-apiserver would).
    pub fn status(code: u16) -> Fault {
        Fault::new(Action::Status {
            code,
            retry_after: None,
        })
    }

    /// Add a `Retry-After` header (seconds, or an HTTP-date) to a [`Fault::status`] answer.
    pub fn retry_after(mut self, value: impl Into<String>) -> Fault {
        if let Action::Status { retry_after, .. } = &mut self.action {
            *retry_after = Some(value.into());
        }
        self
    }

    /// Close the connection without answering.
    pub fn drop_connection() -> Fault {
        Fault::new(Action::Drop)
    }

    /// Answer normally but abort the connection after `bytes` bytes of the body.
    pub fn truncate_body(bytes: usize) -> Fault {
        Fault::new(Action::Truncate(bytes))
    }

    /// Wait, then answer normally.
    pub fn delay(duration: Duration) -> Fault {
        Fault::new(Action::Delay(duration))
    }

    /// Answer normally with the body split into `bytes`-sized chunks sent one by one.
    pub fn rechunk(bytes: usize) -> Fault {
        Fault::new(Action::Rechunk(bytes))
    }

    /// Only requests with this HTTP method (case-insensitive).
    pub fn method(mut self, method: &str) -> Fault {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Only requests to this path: exact, or a prefix when it ends with `*`.
    pub fn path(mut self, path: &str) -> Fault {
        self.path = Some(path.to_owned());
        self
    }

    /// Match the next `n` requests (the default is 1).
    pub fn times(mut self, n: usize) -> Fault {
        self.remaining = Some(n);
        self
    }

    /// Match every request from now on.
    pub fn always(mut self) -> Fault {
        self.remaining = None;
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && self.path.as_deref().is_none_or(|p| path_matches(p, path))
    }
}

/// Exact match, or prefix match when `pattern` ends with `*`.
pub(crate) fn path_matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => pattern == path,
    }
}

/// The faults waiting for requests, matched in the order they were added.
#[derive(Default)]
pub(crate) struct Faults {
    list: Mutex<Vec<Fault>>,
}

impl Faults {
    pub(crate) fn add(&self, fault: Fault) {
        self.list
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(fault);
    }

    pub(crate) fn clear(&self) {
        self.list.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The action for this request, if a fault matches; uses up one of its count.
    pub(crate) fn take(&self, method: &str, path: &str) -> Option<Action> {
        let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        let i = list.iter().position(|f| f.matches(method, path))?;
        let action = list[i].action.clone();
        if let Some(n) = &mut list[i].remaining {
            *n -= 1;
            if *n == 0 {
                let _spent = list.remove(i);
            }
        }
        Some(action)
    }
}

/// The `Status` answer of an injected error code.
pub(crate) fn fault_status(code: u16, retry_after: Option<&str>) -> Response<ResBody> {
    let (reason, message) = match code {
        429 => (
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later",
        ),
        500 => (
            "InternalError",
            "an error on the server has prevented the request from succeeding",
        ),
        503 => (
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        ),
        504 => (
            "Timeout",
            "the server was unable to return a response in the time allotted, but may still be processing the request",
        ),
        410 => ("Expired", "the resource version is too old"),
        404 => (
            "NotFound",
            "the server could not find the requested resource",
        ),
        409 => ("Conflict", "the server reported a conflict"),
        401 => ("Unauthorized", "Unauthorized"),
        403 => ("Forbidden", "forbidden"),
        _ => ("", "fault injected"),
    };
    let mut details = json!({});
    if let Some(ra) = retry_after.and_then(|r| r.parse::<u64>().ok()) {
        details["retryAfterSeconds"] = json!(ra);
    }
    let err = ApiError::new(code, reason, message, Some(details));
    let mut res = error(&err);
    *res.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(ra) = retry_after.and_then(|r| HeaderValue::from_str(r).ok()) {
        res.headers_mut().insert(header::RETRY_AFTER, ra);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_match_in_order_and_run_out() {
        let faults = Faults::default();
        faults.add(
            Fault::status(429)
                .method("get")
                .path("/api/v1/pods")
                .times(2),
        );
        faults.add(Fault::drop_connection().path("/apis/*"));
        assert!(faults.take("POST", "/api/v1/pods").is_none());
        assert!(matches!(
            faults.take("GET", "/api/v1/pods"),
            Some(Action::Status { code: 429, .. })
        ));
        assert!(matches!(
            faults.take("GET", "/api/v1/pods"),
            Some(Action::Status { code: 429, .. })
        ));
        assert!(faults.take("GET", "/api/v1/pods").is_none());
        assert!(matches!(
            faults.take("PUT", "/apis/apps/v1"),
            Some(Action::Drop)
        ));
        assert!(faults.take("PUT", "/apis/apps/v1").is_none());
    }
}
