//! Fault injection: answer chosen requests (by method, path and query) with an error
//! status, a dropped connection, a cut or re-chunked body, or a delay.

use std::sync::Mutex;
use std::time::Duration;

use http::{HeaderValue, Response, StatusCode, header};
use serde_json::json;

use crate::shared::body::ResBody;
use crate::shared::request::parse_query;
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
/// // The next WATCH of pods fails with 500; a LIST of the same path does not match.
/// let watch = Fault::status(500).path("/api/v1/pods").query("watch=true");
/// // The next LIST of pods (a GET without `watch`) drops the connection.
/// let list = Fault::drop_connection().method("GET").path("/api/v1/pods").without_query("watch");
/// # let _ = (fault, watch, list);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Fault {
    pub(crate) action: Action,
    method: Option<String>,
    path: Option<String>,
    query: Vec<QueryRule>,
    remaining: Option<usize>,
}

/// A condition on a request's query string.
#[derive(Debug, Clone)]
enum QueryRule {
    /// This parameter is there (with this value, when one is given).
    Has(String, Option<String>),
    /// This parameter is not there (not with this value, when one is given).
    Lacks(String, Option<String>),
    /// The raw query string contains this text.
    Contains(String),
}

impl QueryRule {
    fn matches(&self, raw: &str, params: &[(String, String)]) -> bool {
        let has = |k: &str, v: &Option<String>| {
            params
                .iter()
                .any(|(pk, pv)| pk == k && v.as_ref().is_none_or(|v| v == pv))
        };
        match self {
            QueryRule::Has(k, v) => has(k, v),
            QueryRule::Lacks(k, v) => !has(k, v),
            QueryRule::Contains(text) => raw.contains(text.as_str()),
        }
    }
}

/// `a=b&c` as `[("a", Some("b")), ("c", None)]`, decoded as query strings are.
fn params(spec: &str) -> Vec<(String, Option<String>)> {
    spec.split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = parse_query(Some(p)).into_iter().next()?;
            Some((k, p.contains('=').then_some(v)))
        })
        .collect()
}

impl Fault {
    fn new(action: Action) -> Fault {
        Fault {
            action,
            method: None,
            path: None,
            query: Vec::new(),
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

    /// Only requests whose query has these parameters: `"watch=true"` (that value) or
    /// `"watch"` (any value); several, joined with `&`, must all be there. Values are
    /// compared decoded, whatever their order in the request. Calls add up.
    pub fn query(mut self, params_spec: &str) -> Fault {
        for (k, v) in params(params_spec) {
            self.query.push(QueryRule::Has(k, v));
        }
        self
    }

    /// Only requests whose query does not have these parameters: `"watch"` (no value of
    /// it) or `"watch=true"` (not that value); several are joined with `&`. With
    /// [`Fault::query`] this tells a LIST from a WATCH of the same path.
    pub fn without_query(mut self, params_spec: &str) -> Fault {
        for (k, v) in params(params_spec) {
            self.query.push(QueryRule::Lacks(k, v));
        }
        self
    }

    /// Only requests whose raw query string (as sent, not decoded) contains `text`,
    /// e.g. `"sendInitialEvents"`.
    pub fn query_contains(mut self, text: &str) -> Fault {
        self.query.push(QueryRule::Contains(text.to_owned()));
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

    fn matches(&self, method: &str, path: &str, raw: &str, query: &[(String, String)]) -> bool {
        self.method.as_deref().is_none_or(|m| m == method)
            && self.path.as_deref().is_none_or(|p| path_matches(p, path))
            && self.query.iter().all(|q| q.matches(raw, query))
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

    /// The action for this request (`query` is the raw query string), if a fault
    /// matches; uses up one of its count.
    pub(crate) fn take(&self, method: &str, path: &str, query: &str) -> Option<Action> {
        let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
        if list.is_empty() {
            return None;
        }
        let params = parse_query(Some(query));
        let i = list
            .iter()
            .position(|f| f.matches(method, path, query, &params))?;
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
        assert!(faults.take("POST", "/api/v1/pods", "").is_none());
        assert!(matches!(
            faults.take("GET", "/api/v1/pods", ""),
            Some(Action::Status { code: 429, .. })
        ));
        assert!(matches!(
            faults.take("GET", "/api/v1/pods", ""),
            Some(Action::Status { code: 429, .. })
        ));
        assert!(faults.take("GET", "/api/v1/pods", "").is_none());
        assert!(matches!(
            faults.take("PUT", "/apis/apps/v1", ""),
            Some(Action::Drop)
        ));
        assert!(faults.take("PUT", "/apis/apps/v1", "").is_none());
    }

    #[test]
    fn faults_match_on_the_query() {
        let faults = Faults::default();
        let pods = "/api/v1/pods";
        faults.add(Fault::status(500).path(pods).query("watch=true").always());
        faults.add(
            Fault::status(503)
                .path(pods)
                .without_query("watch")
                .always(),
        );
        faults.add(Fault::drop_connection().query_contains("sendInitialEvents"));
        let code = |q: &str| match faults.take("GET", pods, q) {
            Some(Action::Status { code, .. }) => Some(code),
            _ => None,
        };
        assert_eq!(code("watch=true&resourceVersion=5"), Some(500));
        assert_eq!(code("resourceVersion=5&watch=true"), Some(500));
        assert_eq!(code("limit=500"), Some(503));
        assert_eq!(code(""), Some(503));
        // `watch=1` is neither `watch=true` nor without `watch`.
        assert_eq!(code("watch=1"), None);
        assert!(matches!(
            faults.take("GET", "/api/v1/nodes", "watch=1&sendInitialEvents=true"),
            Some(Action::Drop)
        ));
        // Values compare decoded; a bare name matches any value; rules add up.
        let faults = Faults::default();
        faults.add(
            Fault::status(429)
                .query("labelSelector=app in (web)")
                .query("limit")
                .without_query("continue"),
        );
        let hit = |q: &str| faults.take("GET", pods, q).is_some();
        assert!(!hit("labelSelector=app%20in%20(web)"));
        assert!(!hit("labelSelector=app%20in%20(web)&limit=1&continue=x"));
        assert!(hit("labelSelector=app+in+%28web%29&limit=1"));
    }
}
