//! When to try a request again, behind a small trait (client-go's `rest/with_retry.go`).
//!
//! The default, [`DefaultRetryPolicy`], is exactly client-go's loop: any verb is retried on
//! a 429 or 5xx that carries `Retry-After` (seconds or an HTTP date), sleeping as told; a
//! GET is also retried after its connection was reset or closed early, after a short wait
//! (client-go's artificial `Retry-After: 1`); writes are never retried on transport errors,
//! and nothing is retried on connection refused. A request the server says it did not
//! process (HTTP/2 `REFUSED_STREAM`, or cut off by a graceful `GOAWAY`) is sent again at
//! once whatever its verb, as Go's HTTP/2 transport does.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method, StatusCode};

use crate::error::TransportKind;

/// What one attempt produced.
#[non_exhaustive]
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// The server answered (with a status that is not a success).
    Response {
        /// The status.
        status: StatusCode,
        /// The headers.
        headers: &'a HeaderMap,
    },
    /// No answer.
    Transport(TransportKind),
}

/// One failed attempt, as a [`RetryPolicy`] sees it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The request's method.
    pub method: &'a Method,
    /// Retries already made (0 after the first attempt).
    pub retries: u32,
    /// The most retries allowed for this request.
    pub max_retries: u32,
    /// Whether the body can be sent again (always, for bodies given as bytes).
    pub body_replayable: bool,
    /// What happened.
    pub outcome: Outcome<'a>,
}

/// Decides whether a failed attempt is tried again, and after how long.
pub trait RetryPolicy: Send + Sync + std::fmt::Debug {
    /// `Some(wait)` to retry after `wait`, `None` to give up and report this attempt.
    fn retry_after(&self, attempt: &Attempt<'_>) -> Option<Duration>;
}

/// client-go's retry rules: any verb is retried on a 429 or 5xx carrying `Retry-After`
/// (seconds or an HTTP date), sleeping as told; a GET is also retried after its connection
/// was reset or closed early, after `transport_wait`; writes are never retried on transport
/// errors, and nothing is retried on connection refused. A request the server did not
/// process ([`TransportKind::Unprocessed`]) is sent again at once, whatever its verb.
#[derive(Debug, Clone)]
pub struct DefaultRetryPolicy {
    /// Wait before retrying a GET whose connection was reset.
    pub transport_wait: Duration,
}

impl Default for DefaultRetryPolicy {
    fn default() -> Self {
        Self {
            transport_wait: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy for DefaultRetryPolicy {
    fn retry_after(&self, attempt: &Attempt<'_>) -> Option<Duration> {
        if attempt.retries >= attempt.max_retries || !attempt.body_replayable {
            return None;
        }
        match attempt.outcome {
            Outcome::Response { status, headers } => {
                if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                    retry_after_header(headers, SystemTime::now())
                } else {
                    None
                }
            }
            Outcome::Transport(TransportKind::Unprocessed) => Some(Duration::ZERO),
            Outcome::Transport(TransportKind::ConnectionReset) if attempt.method == Method::GET => {
                Some(self.transport_wait)
            }
            Outcome::Transport(_) => None,
        }
    }
}

/// Parses `Retry-After`: whole seconds or an HTTP date (a date in the past means now).
pub fn retry_after_header(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::RETRY_AFTER, v.parse().unwrap());
        h
    }

    #[test]
    fn http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(
            retry_after_header(&headers(&later), now),
            Some(Duration::from_secs(7))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(
            retry_after_header(&headers(&earlier), now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after_header(&headers("soon"), now), None);
    }
}
