//! The request builder (client-go's `rest.Request`): pure, no I/O. It owns the URL parts,
//! query, headers and body, remembers the first mistake, and hands everything to the
//! client on [`Request::send`].

use std::fmt::Write as _;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::params::to_pairs;
use crate::send::client::RestClient;

/// Characters escaped in a path segment (everything but RFC 3986 `pchar`).
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

/// Characters escaped in a query key or value: all but the unreserved ones.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// How a PATCH body is to be read by the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// RFC 6902 JSON Patch (`application/json-patch+json`).
    Json,
    /// RFC 7386 JSON Merge Patch (`application/merge-patch+json`).
    Merge,
    /// Kubernetes strategic merge patch (`application/strategic-merge-patch+json`).
    Strategic,
    /// Server-side apply (`application/apply-patch+yaml`; JSON is valid YAML).
    Apply,
}

impl PatchType {
    /// The `Content-Type` of this kind of patch.
    pub fn content_type(self) -> &'static str {
        match self {
            PatchType::Json => "application/json-patch+json",
            PatchType::Merge => "application/merge-patch+json",
            PatchType::Strategic => "application/strategic-merge-patch+json",
            PatchType::Apply => "application/apply-patch+yaml",
        }
    }
}

/// The path a request's URL starts with: the host's own path prefix, then either the
/// versioned API path (`/api/v1`, `/apis/apps/v1`) or an absolute path.
#[derive(Clone, Debug)]
pub(crate) struct BasePath {
    /// `scheme://authority`, no trailing slash.
    pub(crate) origin: String,
    /// The host URL's path, without a trailing slash (usually empty).
    pub(crate) host_path: String,
    /// `host_path` + `/api_path/group/version`, encoded.
    pub(crate) versioned: String,
}

/// One request being built. Created by [`RestClient::get`] and friends; every mistake
/// (an invalid segment, header or body) is kept and returned by [`send`](Request::send).
#[must_use = "a request does nothing until it is sent"]
#[derive(Debug)]
pub struct Request {
    pub(crate) client: RestClient,
    pub(crate) method: Method,
    abs_path: Option<String>,
    namespace: Option<String>,
    resource: Option<String>,
    name: Option<String>,
    sub_resource: Vec<String>,
    suffix: Vec<String>,
    params: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Bytes>,
    pub(crate) content_type: Option<HeaderValue>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) max_retries: Option<u32>,
    error: Option<Error>,
}

/// Rejects what client-go's `IsValidPathSegmentName` rejects.
fn check_segment(what: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(format!("{what} may not be empty")));
    }
    if value == "." || value == ".." {
        return Err(Error::invalid(format!("{what} may not be {value:?}")));
    }
    if let Some(c) = value.chars().find(|c| *c == '/' || *c == '%') {
        return Err(Error::invalid(format!(
            "{what} {value:?} may not contain {c:?}"
        )));
    }
    Ok(())
}

impl Request {
    pub(crate) fn new(client: RestClient, method: Method) -> Self {
        Self {
            client,
            method,
            abs_path: None,
            namespace: None,
            resource: None,
            name: None,
            sub_resource: Vec::new(),
            suffix: Vec::new(),
            params: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
            content_type: None,
            timeout: None,
            max_retries: None,
            error: None,
        }
    }

    fn fail(mut self, err: Error) -> Self {
        if self.error.is_none() {
            self.error = Some(err);
        }
        self
    }

    fn set_once(
        mut self,
        what: &str,
        value: &str,
        slot: fn(&mut Self) -> &mut Option<String>,
    ) -> Self {
        if let Err(e) = check_segment(what, value) {
            return self.fail(e);
        }
        match slot(&mut self) {
            Some(old) if old != value => {
                let msg = format!("{what} already set to {old:?}, cannot change to {value:?}");
                self.fail(Error::invalid(msg))
            }
            s => {
                *s = Some(value.to_owned());
                self
            }
        }
    }

    /// Addresses a namespace (`/namespaces/{ns}`). As in client-go, an empty namespace
    /// means "all namespaces" and adds nothing to the path.
    pub fn namespace(self, namespace: &str) -> Self {
        if namespace.is_empty() {
            return self;
        }
        self.set_once("namespace", namespace, |r| &mut r.namespace)
    }

    /// The resource (`pods`, `deployments`); lower-cased as client-go does.
    pub fn resource(self, resource: &str) -> Self {
        let lower = resource.to_ascii_lowercase();
        self.set_once("resource", &lower, |r| &mut r.resource)
    }

    /// The object's name.
    pub fn name(self, name: &str) -> Self {
        self.set_once("resource name", name, |r| &mut r.name)
    }

    /// A subresource (`status`, `scale`, `log`); several calls add several segments.
    pub fn sub_resource(mut self, sub_resource: &str) -> Self {
        if let Err(e) = check_segment("subresource", sub_resource) {
            return self.fail(e);
        }
        self.sub_resource.push(sub_resource.to_owned());
        self
    }

    /// Path segments after everything else; `/` separates segments.
    pub fn suffix(mut self, suffix: &str) -> Self {
        for seg in suffix.split('/').filter(|s| !s.is_empty()) {
            if seg == "." || seg == ".." {
                return self.fail(Error::invalid(format!("suffix may not contain {seg:?}")));
            }
            self.suffix.push(seg.to_owned());
        }
        self
    }

    /// Replaces the versioned API path with an absolute one (`/version`, `/apis`), still
    /// under the host's own path prefix. Its segments are percent-encoded.
    pub fn abs_path(mut self, path: &str) -> Self {
        let mut out = String::new();
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            if seg == "." || seg == ".." {
                return self.fail(Error::invalid(format!(
                    "absolute path {path:?} may not contain {seg:?}"
                )));
            }
            out.push('/');
            out.extend(utf8_percent_encode(seg, PATH_SEGMENT));
        }
        self.abs_path = Some(out);
        self
    }

    /// Adds a query parameter (repeating a key adds another value).
    pub fn param(mut self, key: &str, value: impl ToString) -> Self {
        self.params.push((key.to_owned(), value.to_string()));
        self
    }

    /// Adds every field of an option struct ([`ListOptions`](crate::ListOptions) and the
    /// like, or any flat `Serialize` struct) as query parameters; `None` fields are skipped.
    pub fn params<P: Serialize + ?Sized>(mut self, params: &P) -> Self {
        match to_pairs(params) {
            Ok(pairs) => {
                self.params.extend(pairs);
                self
            }
            Err(e) => self.fail(e),
        }
    }

    /// Adds a header. Invalid names or values are reported by `send()`.
    pub fn header<K, V>(mut self, key: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: std::fmt::Display,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: std::fmt::Display,
    {
        let name = match HeaderName::try_from(key) {
            Ok(n) => n,
            Err(e) => return self.fail(Error::invalid(format!("invalid header name: {e}"))),
        };
        match HeaderValue::try_from(value) {
            Ok(v) => {
                if name == http::header::CONTENT_TYPE {
                    self.content_type = Some(v);
                } else {
                    self.headers.append(name, v);
                }
                self
            }
            Err(e) => self.fail(Error::invalid(format!(
                "invalid value for header {name}: {e}"
            ))),
        }
    }

    /// Sets the body to these bytes (sent with the config's content type, or the patch type).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sets the body to `value` serialized as JSON.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(v) => {
                self.body = Some(Bytes::from(v));
                self
            }
            Err(e) => self.fail(Error::invalid(format!(
                "cannot serialize the body as JSON: {e}"
            ))),
        }
    }

    /// Limits the whole call (all attempts, and reading the body with `bytes()`/`into()`),
    /// and asks the server to give up after the same time (`?timeout=`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Overrides the config's `max_retries` for this request.
    pub fn max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = Some(max_retries);
        self
    }

    pub(crate) fn set_patch_type(mut self, pt: PatchType) -> Self {
        self.content_type = Some(HeaderValue::from_static(pt.content_type()));
        self
    }

    /// Whether a parameter with this key is set.
    pub(crate) fn has_param(&self, key: &str) -> bool {
        self.params.iter().any(|(k, _)| k == key)
    }

    /// The deferred builder error, if any.
    pub(crate) fn take_error(&mut self) -> Option<Error> {
        self.error.take()
    }

    /// The full URL this request will go to, as client-go builds it:
    /// `prefix/api_path/group/version/namespaces/{ns}/{resource}/{name}/{subresource}/{suffix}?query`,
    /// with the query sorted by key.
    ///
    /// # Errors
    /// The first builder mistake (an invalid segment, an unserializable parameter).
    pub fn url(&self) -> Result<String> {
        if let Some(e) = &self.error {
            return Err(Error::invalid(e.to_string()));
        }
        Ok(self.build_url(self.client.base()))
    }

    pub(crate) fn build_url(&self, base: &BasePath) -> String {
        let mut url = String::with_capacity(128);
        url.push_str(&base.origin);
        match &self.abs_path {
            Some(abs) => {
                url.push_str(&base.host_path);
                url.push_str(abs);
            }
            None => url.push_str(&base.versioned),
        }
        let mut push = |seg: &str| {
            url.push('/');
            url.extend(utf8_percent_encode(seg, PATH_SEGMENT));
        };
        if let Some(ns) = &self.namespace {
            push("namespaces");
            push(ns);
        }
        if let Some(r) = &self.resource {
            push(r);
        }
        if let Some(n) = &self.name {
            push(n);
        }
        for s in &self.sub_resource {
            push(s);
        }
        for s in &self.suffix {
            push(s);
        }
        if url.len() == base.origin.len() {
            url.push('/');
        }
        let timeout = self.timeout.filter(|t| !t.is_zero());
        if !self.params.is_empty() || timeout.is_some() {
            let mut pairs: Vec<(&str, std::borrow::Cow<'_, str>)> = self
                .params
                .iter()
                .map(|(k, v)| (k.as_str(), std::borrow::Cow::Borrowed(v.as_str())))
                .collect();
            if let Some(t) = timeout
                && !self.has_param("timeout")
            {
                pairs.push(("timeout", std::borrow::Cow::Owned(go_duration(t))));
            }
            // Stable: values of one key keep their order, as Go's url.Values.Encode does.
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            let mut sep = '?';
            for (k, v) in pairs {
                url.push(sep);
                sep = '&';
                url.extend(utf8_percent_encode(k, QUERY));
                url.push('=');
                url.extend(utf8_percent_encode(&v, QUERY));
            }
        }
        url
    }
}

/// Formats a duration as Go's `time.Duration.String()` does (`30s`, `1m30s`, `1.5s`,
/// `500ms`), which is what the API server parses in `?timeout=`.
pub(crate) fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    if nanos < 1_000_000_000 {
        let (unit, div) = if nanos < 1_000 {
            ("ns", 1)
        } else if nanos < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        write_fraction(&mut out, nanos, div);
        out.push_str(unit);
        return out;
    }
    let secs_total = d.as_secs();
    let hours = secs_total / 3600;
    let minutes = (secs_total % 3600) / 60;
    if hours > 0 {
        let _ = write!(out, "{hours}h");
    }
    if hours > 0 || minutes > 0 {
        let _ = write!(out, "{minutes}m");
    }
    let rem_nanos = nanos % 60_000_000_000;
    write_fraction(&mut out, rem_nanos, 1_000_000_000);
    out.push('s');
    out
}

fn write_fraction(out: &mut String, value: u128, div: u128) {
    let whole = value / div;
    let frac = value % div;
    let _ = write!(out, "{whole}");
    if frac > 0 {
        let width = div.ilog10() as usize;
        let digits = format!("{frac:0width$}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(go_duration(Duration::from_micros(1500)), "1.5ms");
    }

    #[test]
    fn segments() {
        assert!(check_segment("name", "a.b-c").is_ok());
        assert!(check_segment("name", "..").is_err());
        assert!(check_segment("name", "a/b").is_err());
        assert!(check_segment("name", "a%2f").is_err());
        assert!(check_segment("name", "").is_err());
    }
}
