//! [`RestClientBuilder`]: turns a [`Config`] into a [`RestClient`]: the base path, the
//! default headers (user agent, accept, static credentials, impersonation) and the
//! transport, with optional retry policy, warning handler, metrics and tower service.

use std::sync::Arc;

use bytes::Bytes;
use http::Uri;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http_body_util::BodyExt;

use crate::config::{Auth, Config, GroupVersion, Impersonate};
use crate::error::{BoxError, Error, Result};
use crate::request::BasePath;
use crate::send::backoff::BackoffManager;
use crate::send::client::{Inner, RestClient};
use crate::send::observe::{LogWarningsOnce, Metrics, WarningHandler};
use crate::send::retry::{DefaultRetryPolicy, RetryPolicy};
use crate::send::throttle::TokenBucket;
use crate::transport::{CustomService, RequestBody, Transport};

/// Builds a [`RestClient`] with a custom retry policy, warning handler, metrics sink or
/// HTTP service.
#[must_use]
#[derive(Debug)]
pub struct RestClientBuilder {
    pub(crate) config: Config,
    pub(crate) retry: Option<Arc<dyn RetryPolicy>>,
    warnings: Option<Arc<dyn WarningHandler>>,
    metrics: Option<Arc<dyn Metrics>>,
    transport: Option<Transport>,
}

impl RestClientBuilder {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            config,
            retry: None,
            warnings: None,
            metrics: None,
            transport: None,
        }
    }

    /// Replaces the retry policy (default: [`DefaultRetryPolicy`] with the config's
    /// `transport_retry_wait`).
    pub fn retry_policy(mut self, policy: Arc<dyn RetryPolicy>) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Replaces the `Warning` handler (default: [`LogWarningsOnce`]).
    pub fn warning_handler(mut self, handler: Arc<dyn WarningHandler>) -> Self {
        self.warnings = Some(handler);
        self
    }

    /// Reports per-request metrics to `metrics`.
    pub fn metrics(mut self, metrics: Arc<dyn Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Sends through this tower service instead of the default [`HttpClient`](crate::HttpClient) (for example
    /// the default client wrapped in your own layers). The service must be cheap to clone.
    pub fn service<S, B>(mut self, service: S) -> Self
    where
        S: tower_service::Service<http::Request<RequestBody>, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let call: CustomService = Arc::new(move |req| {
            let mut svc = service.clone();
            Box::pin(async move {
                futures_util::future::poll_fn(|cx| svc.poll_ready(cx))
                    .await
                    .map_err(Into::into)?;
                let resp = svc.call(req).await.map_err(Into::into)?;
                Ok(resp.map(|b| b.map_err(Into::into).boxed_unsync()))
            })
        });
        self.transport = Some(Transport::Custom(call));
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Config`] for an unusable host or header value, [`Error::Tls`] for an
    /// unreadable CA, certificate or key.
    pub fn build(self) -> Result<RestClient> {
        let config = self.config;
        let (base, host_key, userinfo) = base_path(&config)?;
        let transport = match self.transport {
            Some(t) => t,
            None => Transport::Hyper(crate::transport::http_client(&config)?),
        };
        let content_type = header_value("content type", &config.content_type)?;
        let mut default_headers = HeaderMap::new();
        default_headers.insert(
            header::USER_AGENT,
            header_value("user agent", &config.user_agent)?,
        );
        default_headers.insert(header::ACCEPT, header_value("accept", &config.accept)?);
        if !config.disable_compression {
            default_headers.insert(
                header::ACCEPT_ENCODING,
                header::HeaderValue::from_static("gzip"),
            );
        }
        // Credentials in the server URL are Basic auth when nothing else is set (kubectl);
        // either way they are never sent in `Host` or shown in messages.
        let auth = match (&config.auth, &userinfo) {
            (Auth::None, Some(from_url)) => from_url,
            (auth, _) => auth,
        };
        if config.credential_provider.is_none()
            && let Some(v) = auth_header(auth)?
        {
            default_headers.insert(header::AUTHORIZATION, v);
        }
        impersonation_headers(&config.impersonate, &mut default_headers)?;
        let retry = self.retry.unwrap_or_else(|| {
            Arc::new(DefaultRetryPolicy {
                transport_wait: config.transport_retry_wait,
            })
        });
        Ok(RestClient {
            base: Arc::new(base),
            inner: Arc::new(Inner {
                transport,
                host_key,
                default_headers,
                content_type,
                provider: config.credential_provider.clone(),
                rotating_cert: config.client_cert_source.is_some(),
                refused: refused_credentials(&config),
                timeout: config.timeout,
                max_retries: config.max_retries,
                limits: crate::read::response::Limits {
                    event: config.max_event_size,
                    body: config.max_body_size,
                },
                limiter: config.rate_limit.and_then(TokenBucket::for_limit),
                backoff: config.backoff.map(BackoffManager::new),
                retry,
                warnings: self
                    .warnings
                    .unwrap_or_else(|| Arc::new(LogWarningsOnce::default())),
                metrics: self.metrics,
                disable_protobuf: config.disable_protobuf,
                no_protobuf: crate::send::client::Refusals::default(),
            }),
        })
    }
}

/// What a 401 refuses: [`Config::credential_origin`], else what the config carries.
fn refused_credentials(config: &Config) -> String {
    if let Some(origin) = config.credential_origin.as_ref().filter(|o| !o.is_empty()) {
        return origin.clone();
    }
    let mut what = Vec::new();
    if config.credential_provider.is_some() {
        what.push("the credentials from the credential provider".to_owned());
    } else {
        match &config.auth {
            Auth::Bearer(_) => what.push("the bearer token".to_owned()),
            Auth::Basic { username, .. } => what.push(format!("the password of user {username:?}")),
            Auth::None => {}
        }
    }
    if config.tls.client_cert.is_some() || config.client_cert_source.is_some() {
        what.push("the client certificate".to_owned());
    }
    if what.is_empty() {
        "anonymous access (the request carried no credentials)".to_owned()
    } else {
        what.join(" and ")
    }
}

fn config_err(what: String) -> Error {
    Error::Config { what, source: None }
}

fn header_value(what: &str, value: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(value).map_err(|e| Error::Config {
        what: format!("invalid {what} header value {value:?}"),
        source: Some(Box::new(e)),
    })
}

fn has_tls_material(config: &Config) -> bool {
    config.tls.ca.is_some() || config.tls.client_cert.is_some() || config.tls.insecure
}

/// Splits the host URL into origin and path prefix, and appends the versioned API path;
/// credentials in the URL (`https://user:password@host`) are taken out of it and returned
/// as Basic auth.
fn base_path(config: &Config) -> Result<(BasePath, String, Option<Auth>)> {
    let shown = redact_userinfo(config.host.trim());
    let (host, userinfo) = split_userinfo(config.host.trim());
    if host.is_empty() {
        return Err(config_err("the host is empty".to_owned()));
    }
    let with_scheme = if host.contains("://") {
        host.clone().into_owned()
    } else if has_tls_material(config) {
        format!("https://{host}")
    } else {
        format!("http://{host}")
    };
    let uri: Uri = with_scheme.parse().map_err(|e| Error::Config {
        what: format!("invalid host URL {shown:?}"),
        source: Some(Box::new(e)),
    })?;
    let scheme = uri.scheme_str().unwrap_or("https");
    if scheme != "http" && scheme != "https" {
        return Err(config_err(format!(
            "host URL {shown:?} must be http or https"
        )));
    }
    let authority = uri
        .authority()
        .filter(|a| !a.host().is_empty())
        .ok_or_else(|| config_err(format!("host URL {shown:?} has no host")))?;
    let origin = format!("{scheme}://{authority}");
    let host_path = uri.path().trim_end_matches('/').to_owned();
    let versioned = versioned_path(&host_path, &config.api_path, &config.group_version)?;
    Ok((
        BasePath {
            origin,
            host_path,
            versioned,
        },
        authority.to_string(),
        userinfo,
    ))
}

/// `host` without the `user:password@` of its authority, and those credentials as Basic
/// auth (percent-decoded, as kubectl reads them).
fn split_userinfo(host: &str) -> (std::borrow::Cow<'_, str>, Option<Auth>) {
    let Some((start, at, _)) = userinfo_span(host) else {
        return (host.into(), None);
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let (user, password) = host[start..at]
        .split_once(':')
        .unwrap_or((&host[start..at], ""));
    let auth = Auth::Basic {
        username: decode(user),
        password: decode(password).into(),
    };
    (
        format!("{}{}", &host[..start], &host[at + 1..]).into(),
        Some(auth),
    )
}

/// Where the user information of a URL's authority is: its start, the `@` after it, and
/// where a password in it starts (if there is one).
fn userinfo_span(url: &str) -> Option<(usize, usize, Option<usize>)> {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    let at = start + url[start..end].rfind('@')?;
    let colon = url[start..at].find(':').map(|i| start + i + 1);
    Some((start, at, colon))
}

/// `url` with the password in its user information masked (`http://admin:***@host`), as
/// kubectl shows it; for messages and `Debug`.
pub(crate) fn redact_userinfo(url: &str) -> std::borrow::Cow<'_, str> {
    match userinfo_span(url) {
        Some((_, at, Some(password))) => format!("{}***{}", &url[..password], &url[at..]).into(),
        _ => url.into(),
    }
}

/// What is escaped in an API path, group or version segment: everything but RFC 3986's
/// unreserved characters, which a URL never escapes (`rbac.authorization.k8s.io` was sent
/// as `rbac%2Eauthorization%2Ek8s%2Eio`; found by the `request_url` fuzz target).
const API_PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `host_path/api_path/group/version`, each segment checked and encoded.
pub(crate) fn versioned_path(host_path: &str, api_path: &str, gv: &GroupVersion) -> Result<String> {
    let mut versioned = host_path.to_owned();
    for seg in api_path
        .split('/')
        .chain([gv.group.as_str(), gv.version.as_str()])
        .filter(|s| !s.is_empty())
    {
        if seg == "." || seg == ".." || seg.contains('%') {
            return Err(config_err(format!("invalid API path segment {seg:?}")));
        }
        versioned.push('/');
        versioned.extend(percent_encoding::utf8_percent_encode(seg, API_PATH_SEGMENT));
    }
    Ok(versioned)
}

pub(crate) fn auth_header(auth: &Auth) -> Result<Option<HeaderValue>> {
    let value = match auth {
        Auth::None => return Ok(None),
        Auth::Bearer(token) if token.is_empty() => return Ok(None),
        Auth::Bearer(token) => format!("Bearer {}", token.expose()),
        Auth::Basic { username, password } => {
            crate::transport::basic_credentials(username, password.expose())
        }
    };
    let mut v = HeaderValue::from_str(&value)
        .map_err(|_| config_err("credentials contain characters not allowed in a header".into()))?;
    v.set_sensitive(true);
    Ok(Some(v))
}

fn impersonation_headers(imp: &Impersonate, headers: &mut HeaderMap) -> Result<()> {
    if imp.is_empty() {
        return Ok(());
    }
    if let Some(user) = &imp.user {
        headers.insert("impersonate-user", header_value("Impersonate-User", user)?);
    }
    if let Some(uid) = &imp.uid {
        headers.insert("impersonate-uid", header_value("Impersonate-Uid", uid)?);
    }
    for g in &imp.groups {
        headers.append("impersonate-group", header_value("Impersonate-Group", g)?);
    }
    for (key, values) in &imp.extra {
        let encoded: String =
            percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC)
                .collect();
        let name = HeaderName::try_from(format!("impersonate-extra-{encoded}")).map_err(|e| {
            Error::Config {
                what: format!("invalid impersonation extra key {key:?}"),
                source: Some(Box::new(e)),
            }
        })?;
        for v in values {
            headers.append(name.clone(), header_value("Impersonate-Extra", v)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths() {
        let c = Config::new("https://example.com:6443/prefix/");
        let (b, host, userinfo) = base_path(&c).unwrap();
        assert!(userinfo.is_none());
        assert_eq!(b.origin, "https://example.com:6443");
        assert_eq!(b.versioned, "/prefix/api/v1");
        assert_eq!(host, "example.com:6443");
        let c = Config::new("10.0.0.1:6443")
            .with_api_path("apis")
            .with_group_version(crate::GroupVersion::new("apps", "v1"))
            .with_insecure(true);
        let (b, _, _) = base_path(&c).unwrap();
        assert_eq!(b.origin, "https://10.0.0.1:6443");
        assert_eq!(b.versioned, "/apis/apps/v1");
        assert!(base_path(&Config::new("ftp://x")).is_err());
        assert!(base_path(&Config::new("")).is_err());
    }

    #[test]
    fn credentials_in_the_url_are_split_off_and_masked() {
        let c = Config::new("https://ad%40min:p@ss@example.com:6443/x?y=a@b");
        let (b, host, userinfo) = base_path(&c).unwrap();
        assert_eq!(b.origin, "https://example.com:6443");
        assert_eq!(host, "example.com:6443");
        match userinfo {
            Some(Auth::Basic { username, password }) => {
                assert_eq!(username, "ad@min");
                assert_eq!(password.expose(), "p@ss");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            redact_userinfo("https://admin:s3cr3t@h:1/p@q"),
            "https://admin:***@h:1/p@q"
        );
        // A user name alone is not a secret; a path with `@` is not user information.
        assert_eq!(redact_userinfo("https://admin@h"), "https://admin@h");
        assert_eq!(redact_userinfo("https://h/a:b@c"), "https://h/a:b@c");
        assert!(split_userinfo("https://h/a:b@c").1.is_none());
    }
}
