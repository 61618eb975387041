//! A request as the handlers see it: method, path, decoded query, the headers they
//! read and the whole body. The server stage builds it from the HTTP request.

use bytes::Bytes;
use http::Method;

/// A decoded request: what the handlers look at.
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub accept: String,
    pub content_type: String,
    pub body: Bytes,
    /// The `User-Agent` header (server-side apply derives field managers from it).
    pub user_agent: String,
}

impl Req {
    /// The last value of a query parameter.
    pub(crate) fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Is a query parameter `true` (or `1`)?
    pub(crate) fn flag(&self, key: &str) -> bool {
        matches!(self.param(key), Some("true" | "1"))
    }
}

/// Parse a query string into decoded pairs.
pub(crate) fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        percent_encoding::percent_decode_str(&s)
            .decode_utf8_lossy()
            .into_owned()
    };
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}
