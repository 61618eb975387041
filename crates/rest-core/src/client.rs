//! [`RestClient`]: the only module that touches the network. One pooled hyper-util client
//! (HTTP/1.1 and HTTP/2 by ALPN over rustls, or plain HTTP), driven inline on the caller's
//! task: no `tower::Buffer`, no worker task between the caller and the connection pool.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use hyper_rustls::{FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::backoff::BackoffManager;
use crate::config::{Auth, Config, CredentialProvider, GroupVersion, Impersonate};
use crate::connect::Connector;
use crate::error::{BoxError, Error, Result, TransportKind, chain};
use crate::observe::{LogWarningsOnce, Metrics, RequestMetrics, WarningHandler, dispatch_warnings};
use crate::request::{BasePath, PatchType, Request};
use crate::response::{Response, ResponseBody, drain, read_error_body};
use crate::retry::{Attempt, DefaultRetryPolicy, Outcome, RetryPolicy};
use crate::status::Status;
use crate::throttle::TokenBucket;

/// The body type of requests handed to the HTTP service.
pub type RequestBody = Full<Bytes>;

/// The default HTTP service: a pooled hyper-util client over rustls. Build one with
/// [`RestClient::http_client`] to wrap it in your own tower layers, then hand the result to
/// [`RestClientBuilder::service`].
pub type HttpClient = Client<HttpsConnector<Connector>, RequestBody>;

pub(crate) type BoxBody = UnsyncBoxBody<Bytes, BoxError>;

type CustomService = Arc<
    dyn Fn(
            http::Request<RequestBody>,
        ) -> BoxFuture<'static, Result<http::Response<BoxBody>, BoxError>>
        + Send
        + Sync,
>;

#[allow(clippy::large_enum_variant)] // lives once per client, behind an Arc
enum Transport {
    Hyper(HttpClient),
    Custom(CustomService),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Hyper(_) => "Hyper",
            Transport::Custom(_) => "Custom",
        })
    }
}

/// A client for one API server and one group/version (client-go's `RESTClient`).
/// Cloning is cheap; clones share the connection pool, the rate limiter and the backoff.
#[derive(Clone, Debug)]
pub struct RestClient {
    inner: Arc<Inner>,
    base: Arc<BasePath>,
}

#[derive(Debug)]
struct Inner {
    transport: Transport,
    host_key: String,
    default_headers: HeaderMap,
    content_type: HeaderValue,
    provider: Option<Arc<dyn CredentialProvider>>,
    timeout: Option<Duration>,
    max_retries: u32,
    max_event_size: usize,
    limiter: Option<TokenBucket>,
    backoff: Option<BackoffManager>,
    retry: Arc<dyn RetryPolicy>,
    warnings: Arc<dyn WarningHandler>,
    metrics: Option<Arc<dyn Metrics>>,
}

/// Builds a [`RestClient`] with a custom retry policy, warning handler, metrics sink or
/// HTTP service.
#[must_use]
#[derive(Debug)]
pub struct RestClientBuilder {
    config: Config,
    retry: Option<Arc<dyn RetryPolicy>>,
    warnings: Option<Arc<dyn WarningHandler>>,
    metrics: Option<Arc<dyn Metrics>>,
    transport: Option<Transport>,
}

impl RestClientBuilder {
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

    /// Sends through this tower service instead of the default [`HttpClient`] (for example
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
        let (base, host_key) = base_path(&config)?;
        let transport = match self.transport {
            Some(t) => t,
            None => Transport::Hyper(RestClient::http_client(&config)?),
        };
        let content_type = header_value("content type", &config.content_type)?;
        let mut default_headers = HeaderMap::new();
        default_headers.insert(
            header::USER_AGENT,
            header_value("user agent", &config.user_agent)?,
        );
        default_headers.insert(header::ACCEPT, header_value("accept", &config.accept)?);
        if config.credential_provider.is_none() {
            if let Some(v) = auth_header(&config.auth)? {
                default_headers.insert(header::AUTHORIZATION, v);
            }
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
                timeout: config.timeout,
                max_retries: config.max_retries,
                max_event_size: config.max_event_size,
                limiter: config.rate_limit.and_then(TokenBucket::for_limit),
                backoff: config.backoff.map(BackoffManager::new),
                retry,
                warnings: self
                    .warnings
                    .unwrap_or_else(|| Arc::new(LogWarningsOnce::default())),
                metrics: self.metrics,
            }),
        })
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

/// Splits the host URL into origin and path prefix, and appends the versioned API path.
fn base_path(config: &Config) -> Result<(BasePath, String)> {
    let host = config.host.trim();
    if host.is_empty() {
        return Err(config_err("the host is empty".to_owned()));
    }
    let with_scheme = if host.contains("://") {
        host.to_owned()
    } else if has_tls_material(config) {
        format!("https://{host}")
    } else {
        format!("http://{host}")
    };
    let uri: Uri = with_scheme.parse().map_err(|e| Error::Config {
        what: format!("invalid host URL {host:?}"),
        source: Some(Box::new(e)),
    })?;
    let scheme = uri.scheme_str().unwrap_or("https");
    if scheme != "http" && scheme != "https" {
        return Err(config_err(format!(
            "host URL {host:?} must be http or https"
        )));
    }
    let authority = uri
        .authority()
        .ok_or_else(|| config_err(format!("host URL {host:?} has no host")))?;
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
    ))
}

/// `host_path/api_path/group/version`, each segment checked and encoded.
fn versioned_path(host_path: &str, api_path: &str, gv: &GroupVersion) -> Result<String> {
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
        versioned.extend(percent_encoding::utf8_percent_encode(
            seg,
            percent_encoding::NON_ALPHANUMERIC,
        ));
    }
    Ok(versioned)
}

fn auth_header(auth: &Auth) -> Result<Option<HeaderValue>> {
    let value = match auth {
        Auth::None => return Ok(None),
        Auth::Bearer(token) if token.is_empty() => return Ok(None),
        Auth::Bearer(token) => format!("Bearer {}", token.expose()),
        Auth::Basic { username, password } => {
            let raw = format!("{username}:{}", password.expose());
            format!("Basic {}", base64(raw.as_bytes()))
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

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Classifies a transport error by walking its source chain.
pub(crate) fn classify(err: &(dyn std::error::Error + 'static)) -> TransportKind {
    let mut connect = false;
    for e in chain(err) {
        if let Some(le) = e.downcast_ref::<hyper_util::client::legacy::Error>() {
            connect |= le.is_connect();
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => return TransportKind::ConnectionRefused,
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                    return TransportKind::ConnectionReset;
                }
                _ => {}
            }
        }
        if let Some(he) = e.downcast_ref::<hyper::Error>() {
            if he.is_incomplete_message() || he.is_canceled() || he.is_closed() {
                return TransportKind::ConnectionReset;
            }
        }
    }
    if connect {
        TransportKind::Connect
    } else {
        TransportKind::Other
    }
}

/// A rustls error in the chain means TLS failed (bad certificate, unknown CA).
fn tls_failure(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    chain(err)
        .into_iter()
        .find_map(|e| e.downcast_ref::<rustls::Error>().map(|te| te.to_string()))
}

pub(crate) fn transport_error(url: &str, err: BoxError) -> Error {
    if let Some(what) = tls_failure(err.as_ref()) {
        return Error::Tls {
            what: format!("handshake with {url} failed: {what}"),
            source: Some(err),
        };
    }
    Error::Transport {
        url: url.to_owned(),
        kind: classify(err.as_ref()),
        source: err,
    }
}

#[derive(Default)]
struct Stats {
    status: Option<u16>,
    retries: u32,
    limiter_wait: Duration,
}

impl RestClient {
    /// A client for `config` (client-go's `RESTClientFor`).
    ///
    /// # Errors
    /// See [`RestClientBuilder::build`].
    pub fn new(config: Config) -> Result<Self> {
        Self::builder(config).build()
    }

    /// A client for a borrowed config (client-go's `RESTClientFor`).
    ///
    /// # Errors
    /// See [`RestClientBuilder::build`].
    pub fn for_config(config: &Config) -> Result<Self> {
        Self::new(config.clone())
    }

    /// A builder, to set a retry policy, warning handler, metrics or HTTP service.
    pub fn builder(config: Config) -> RestClientBuilder {
        RestClientBuilder {
            config,
            retry: None,
            warnings: None,
            metrics: None,
            transport: None,
        }
    }

    /// The default HTTP service for `config`: a pooled hyper-util client, HTTP/1.1 and
    /// HTTP/2 negotiated by ALPN over rustls (plain HTTP for `http://`), with HTTP/2
    /// keep-alive pings every 30 s.
    ///
    /// # Errors
    /// [`Error::Tls`] or [`Error::Config`] when TLS material cannot be read or used.
    pub fn http_client(config: &Config) -> Result<HttpClient> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_keepalive(Some(Duration::from_secs(30)));
        http.set_connect_timeout(Some(Duration::from_secs(30)));
        let tls = crate::tls::client_config(&config.tls)?;
        let builder = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http();
        let builder = match &config.tls.server_name {
            Some(name) => builder.with_server_name_resolver(FixedServerNameResolver::new(
                crate::tls::server_name(name)?,
            )),
            None => builder,
        };
        let connector = builder
            .enable_http1()
            .enable_http2()
            .wrap_connector(Connector::new(http, &config.proxy)?);
        Ok(Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .http2_keep_alive_interval(Some(Duration::from_secs(30)))
            .http2_keep_alive_timeout(Duration::from_secs(15))
            .http2_keep_alive_while_idle(true)
            .build(connector))
    }

    /// A request with any method.
    pub fn request(&self, method: Method) -> Request {
        let timeout = self.inner.timeout;
        let req = Request::new(self.clone(), method);
        match timeout {
            Some(t) => req.timeout(t),
            None => req,
        }
    }

    /// A GET request.
    pub fn get(&self) -> Request {
        self.request(Method::GET)
    }

    /// A POST request (create).
    pub fn post(&self) -> Request {
        self.request(Method::POST)
    }

    /// A PUT request (replace).
    pub fn put(&self) -> Request {
        self.request(Method::PUT)
    }

    /// A PATCH request of the given kind.
    pub fn patch(&self, patch_type: PatchType) -> Request {
        self.request(Method::PATCH).set_patch_type(patch_type)
    }

    /// A DELETE request.
    pub fn delete(&self) -> Request {
        self.request(Method::DELETE)
    }

    pub(crate) fn base(&self) -> &BasePath {
        &self.base
    }

    /// A client for another API path and group/version on the same server, sharing this
    /// one's connection pool, rate limiter, backoff, credentials and handlers (what
    /// discovery and the dynamic client need for each group they touch).
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid API path segment.
    pub fn with_group_version(&self, api_path: &str, gv: &GroupVersion) -> Result<RestClient> {
        let versioned = versioned_path(&self.base.host_path, api_path, gv)?;
        Ok(RestClient {
            inner: self.inner.clone(),
            base: Arc::new(BasePath {
                origin: self.base.origin.clone(),
                host_path: self.base.host_path.clone(),
                versioned,
            }),
        })
    }

    /// Sends `req`, retrying as the policy says; see [`Request::send`].
    pub(crate) async fn execute(&self, mut req: Request) -> Result<Response> {
        if let Some(e) = req.take_error() {
            return Err(e);
        }
        let url = req.build_url(&self.base);
        let uri: Uri = url
            .parse()
            .map_err(|e| Error::invalid(format!("invalid URL {url:?}: {e}")))?;
        let timeout = req.timeout.filter(|t| !t.is_zero());
        let start = Instant::now();
        let mut stats = Stats::default();
        let result = match timeout {
            Some(t) => {
                match tokio::time::timeout(
                    t,
                    self.run(&req, &uri, &url, timeout.map(|t| start + t), &mut stats),
                )
                .await
                {
                    Ok(r) => r,
                    Err(_) => Err(Error::Timeout {
                        url: url.clone(),
                        after: t,
                    }),
                }
            }
            None => {
                self.run(&req, &uri, &url, timeout.map(|t| start + t), &mut stats)
                    .await
            }
        };
        let latency = start.elapsed();
        let path = url.split('?').next().unwrap_or(&url);
        tracing::debug!(
            target: "kubecto::request",
            method = %req.method,
            url = path,
            status = stats.status,
            latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            retries = stats.retries,
            rate_limiter_wait_us = u64::try_from(stats.limiter_wait.as_micros()).unwrap_or(u64::MAX),
            "request"
        );
        if let Some(m) = &self.inner.metrics {
            m.record(&RequestMetrics {
                method: &req.method,
                path,
                status: stats.status,
                latency,
                retries: stats.retries,
                rate_limiter_wait: stats.limiter_wait,
            });
        }
        let mut resp = result?;
        resp.deadline = timeout.map(|t| (start + t, t));
        Ok(resp)
    }

    async fn authorization(&self, refresh: bool) -> Result<Option<HeaderValue>> {
        match &self.inner.provider {
            None => Ok(None),
            Some(p) => {
                let auth = if refresh {
                    p.refresh().await?
                } else {
                    p.credentials().await?
                };
                auth_header(&auth)
            }
        }
    }

    fn http_request(
        &self,
        req: &Request,
        uri: &Uri,
        auth: Option<&HeaderValue>,
    ) -> Result<http::Request<RequestBody>> {
        let inner = &self.inner;
        let mut builder = http::Request::builder()
            .method(req.method.clone())
            .uri(uri.clone());
        let headers = builder
            .headers_mut()
            .ok_or_else(|| Error::invalid("invalid request method or URL"))?;
        headers.extend(
            inner
                .default_headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        if let Some(a) = auth {
            headers.insert(header::AUTHORIZATION, a.clone());
        }
        // A request's own header replaces the client's default of the same name.
        for name in req.headers.keys() {
            headers.remove(name);
        }
        for (k, v) in &req.headers {
            headers.append(k.clone(), v.clone());
        }
        let body = match &req.body {
            Some(b) => {
                let ct = req
                    .content_type
                    .clone()
                    .unwrap_or_else(|| inner.content_type.clone());
                headers.insert(header::CONTENT_TYPE, ct);
                Full::new(b.clone())
            }
            None => Full::new(Bytes::new()),
        };
        builder
            .body(body)
            .map_err(|e| Error::invalid(format!("cannot build the request: {e}")))
    }

    async fn call(
        &self,
        req: http::Request<RequestBody>,
    ) -> std::result::Result<http::Response<ResponseBody>, BoxError> {
        match &self.inner.transport {
            Transport::Hyper(c) => c
                .request(req)
                .await
                .map(|r| r.map(ResponseBody::Incoming))
                .map_err(|e| Box::new(e) as BoxError),
            Transport::Custom(f) => f(req).await.map(|r| r.map(ResponseBody::Boxed)),
        }
    }

    async fn run(
        &self,
        req: &Request,
        uri: &Uri,
        url: &str,
        deadline: Option<Instant>,
        stats: &mut Stats,
    ) -> Result<Response> {
        let inner = &self.inner;
        let max_retries = req.max_retries.unwrap_or(inner.max_retries);
        let mut history: Vec<String> = Vec::new();
        let mut auth = self.authorization(false).await?;
        let mut refreshed = false;
        let mut throttle_logged = false;
        loop {
            if let Some(b) = &inner.backoff {
                let d = b.delay(&inner.host_key);
                if !d.is_zero() {
                    tokio::time::sleep(d).await;
                }
            }
            if let Some(l) = &inner.limiter {
                let w = l.acquire().await;
                stats.limiter_wait += w;
                if w > Duration::from_secs(1) && !throttle_logged {
                    throttle_logged = true;
                    tracing::info!(
                        target: "kubecto::throttle",
                        "waited {w:?} due to client-side throttling, not priority and fairness, request: {} {url}",
                        req.method
                    );
                }
            }
            let http_req = self.http_request(req, uri, auth.as_ref())?;
            let attempt_no = stats.retries + 1;
            match self.call(http_req).await {
                Ok(resp) => {
                    let status = resp.status();
                    stats.status = Some(status.as_u16());
                    if let Some(b) = &inner.backoff {
                        let failed =
                            status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                        b.update(&inner.host_key, failed);
                    }
                    if status.is_success() {
                        dispatch_warnings(resp.headers(), inner.warnings.as_ref());
                        let (parts, body) = resp.into_parts();
                        return Ok(Response::new(
                            parts,
                            body,
                            req.method.clone(),
                            url.to_owned(),
                            inner.max_event_size,
                        ));
                    }
                    if status == StatusCode::UNAUTHORIZED && inner.provider.is_some() && !refreshed
                    {
                        refreshed = true;
                        history.push(format!(
                            "attempt {attempt_no}: 401 Unauthorized, credentials refreshed"
                        ));
                        drain(resp.into_body()).await;
                        auth = self.authorization(true).await?;
                        continue;
                    }
                    let attempt = Attempt {
                        method: &req.method,
                        retries: stats.retries,
                        max_retries,
                        body_replayable: true,
                        outcome: Outcome::Response {
                            status,
                            headers: resp.headers(),
                        },
                    };
                    if let Some(wait) = retry_within(inner.retry.as_ref(), &attempt, deadline) {
                        history.push(format!(
                            "attempt {attempt_no}: {status}, retried after {wait:?}"
                        ));
                        tracing::debug!(target: "kubecto::retry", "got {status} for attempt {attempt_no} to {url}; retrying after {wait:?}");
                        drain(resp.into_body()).await;
                        stats.retries += 1;
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    dispatch_warnings(resp.headers(), inner.warnings.as_ref());
                    let retry_after = crate::retry::retry_after_header(
                        resp.headers(),
                        std::time::SystemTime::now(),
                    )
                    .map(|d| d.as_secs());
                    let body = read_error_body(resp.into_body()).await;
                    let st = Status::from_response(status, &req.method, &body, retry_after);
                    return Err(with_history(
                        Error::Api(Box::new(st)),
                        history,
                        stats.retries,
                    ));
                }
                Err(e) => {
                    if let Some(b) = &inner.backoff {
                        b.update(&inner.host_key, true);
                    }
                    let err = transport_error(url, e);
                    let kind = match &err {
                        Error::Transport { kind, .. } => *kind,
                        _ => TransportKind::Other,
                    };
                    let attempt = Attempt {
                        method: &req.method,
                        retries: stats.retries,
                        max_retries,
                        body_replayable: true,
                        outcome: Outcome::Transport(kind),
                    };
                    if let Some(wait) = retry_within(inner.retry.as_ref(), &attempt, deadline) {
                        history.push(format!(
                            "attempt {attempt_no}: {err}, retried after {wait:?}"
                        ));
                        tracing::debug!(target: "kubecto::retry", "attempt {attempt_no} to {url} failed: {err}; retrying after {wait:?}");
                        stats.retries += 1;
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(with_history(err, history, stats.retries));
                }
            }
        }
    }
}

/// The policy's answer, unless waiting would run past the request's deadline: then the
/// attempt is reported as it is, rather than as a bare timeout.
fn retry_within(
    policy: &dyn RetryPolicy,
    attempt: &Attempt<'_>,
    deadline: Option<Instant>,
) -> Option<Duration> {
    let wait = policy.retry_after(attempt)?;
    match deadline {
        Some(d) if Instant::now() + wait >= d => None,
        _ => Some(wait),
    }
}

fn with_history(err: Error, history: Vec<String>, retries: u32) -> Error {
    if history.is_empty() {
        err
    } else {
        Error::Retried {
            attempts: retries + 1,
            history,
            last: Box::new(err),
        }
    }
}

impl Request {
    /// Sends the request, retrying as the client's policy says, and returns the answer
    /// once its headers arrived and its status is a success.
    ///
    /// # Errors
    /// The builder's first mistake ([`Error::InvalidRequest`]); [`Error::Api`] for a
    /// non-2xx answer; [`Error::Transport`], [`Error::Tls`] or [`Error::Timeout`]; wrapped in
    /// [`Error::Retried`] when earlier attempts were retried.
    pub async fn send(self) -> Result<Response> {
        let client = self.client.clone();
        client.execute(self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn base_paths() {
        let c = Config::new("https://example.com:6443/prefix/");
        let (b, host) = base_path(&c).unwrap();
        assert_eq!(b.origin, "https://example.com:6443");
        assert_eq!(b.versioned, "/prefix/api/v1");
        assert_eq!(host, "example.com:6443");
        let c = Config::new("10.0.0.1:6443")
            .with_api_path("apis")
            .with_group_version(crate::GroupVersion::new("apps", "v1"))
            .with_insecure(true);
        let (b, _) = base_path(&c).unwrap();
        assert_eq!(b.origin, "https://10.0.0.1:6443");
        assert_eq!(b.versioned, "/apis/apps/v1");
        assert!(base_path(&Config::new("ftp://x")).is_err());
        assert!(base_path(&Config::new("")).is_err());
    }
}
