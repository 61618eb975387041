//! What the client reports about its requests: `Warning` headers and per-request metrics.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use http::{HeaderMap, Method};

/// Receives the text of each `Warning` header the server sends (deprecations, validation
/// warnings). Set with [`RestClientBuilder::warning_handler`](crate::RestClientBuilder::warning_handler).
pub trait WarningHandler: Send + Sync + std::fmt::Debug {
    /// One warning's text.
    fn handle_warning(&self, text: &str);
}

/// The default handler: logs each distinct warning once, with `tracing::warn!`.
#[derive(Debug, Default)]
pub struct LogWarningsOnce {
    seen: Mutex<HashSet<String>>,
}

impl WarningHandler for LogWarningsOnce {
    fn handle_warning(&self, text: &str) {
        let mut seen = match self.seen.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        if seen.len() < 4096 && seen.insert(text.to_owned()) {
            tracing::warn!(target: "kubecto::warning", "{text}");
        }
    }
}

/// Ignores warnings.
#[derive(Debug, Default, Clone, Copy)]
pub struct IgnoreWarnings;

impl WarningHandler for IgnoreWarnings {
    fn handle_warning(&self, _text: &str) {}
}

/// Hands every `Warning` header's text to `handler`.
pub(crate) fn dispatch_warnings(headers: &HeaderMap, handler: &dyn WarningHandler) {
    for value in headers.get_all(http::header::WARNING) {
        if let Ok(v) = value.to_str() {
            handler.handle_warning(&warning_text(v));
        }
    }
}

/// The text of a `Warning: 299 - "text"` header (RFC 7234), or the whole value if it is
/// not in that form.
pub(crate) fn warning_text(value: &str) -> String {
    let mut parts = value.splitn(3, ' ');
    let (Some(code), Some(_agent), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return value.to_owned();
    };
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) || !rest.starts_with('"') {
        return value.to_owned();
    }
    let mut out = String::new();
    let mut chars = rest[1..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => out.push(n),
                None => break,
            },
            '"' => return out,
            c => out.push(c),
        }
    }
    value.to_owned()
}

/// What one request cost, reported once it has an answer (or has failed for good).
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct RequestMetrics<'a> {
    /// The method.
    pub method: &'a Method,
    /// The URL, without the query.
    pub path: &'a str,
    /// The final status code; `None` when no answer came.
    pub status: Option<u16>,
    /// From the first attempt to the final answer's headers, including waits.
    pub latency: Duration,
    /// Retries made.
    pub retries: u32,
    /// Time spent waiting on the client-side rate limiter, over all attempts.
    pub rate_limiter_wait: Duration,
}

/// Receives [`RequestMetrics`]; implement it to feed Prometheus or OpenTelemetry.
pub trait Metrics: Send + Sync + std::fmt::Debug {
    /// Called once per request.
    fn record(&self, metrics: &RequestMetrics<'_>);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_warning_values() {
        assert_eq!(
            warning_text(r#"299 - "v1 Foo is deprecated; use \"v2\"""#),
            r#"v1 Foo is deprecated; use "v2""#
        );
        assert_eq!(warning_text("free text"), "free text");
    }
}
