//! [`RestClient`]: the only module that sends requests. The send loop runs inline on the
//! caller's task (no `tower::Buffer`, no worker task between the caller and the
//! connection pool) and applies, per attempt: backoff, rate limit, credentials, then the
//! retry policy on what came back.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body_util::Full;

use crate::builder::{RestClientBuilder, auth_header, versioned_path};
use crate::config::{Config, CredentialProvider, GroupVersion};
use crate::error::{Error, Result, TransportKind};
use crate::read::response::Response;
use crate::request::{BasePath, PatchType, Request};
use crate::send::backoff::BackoffManager;
use crate::send::observe::{Metrics, RequestMetrics, WarningHandler, dispatch_warnings};
use crate::send::retry::{Attempt, Outcome, RetryPolicy};
use crate::send::throttle::TokenBucket;
use crate::status::Status;
use crate::transport::body::{drain, read_error_body};
use crate::transport::pool::HttpClient;
use crate::transport::{RequestBody, Transport, transport_error};

/// A client for one API server and one group/version (client-go's `RESTClient`).
/// Cloning is cheap; clones share the connection pool, the rate limiter and the backoff.
#[derive(Clone, Debug)]
pub struct RestClient {
    pub(crate) inner: Arc<Inner>,
    pub(crate) base: Arc<BasePath>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) transport: Transport,
    pub(crate) host_key: String,
    pub(crate) default_headers: HeaderMap,
    pub(crate) content_type: HeaderValue,
    pub(crate) provider: Option<Arc<dyn CredentialProvider>>,
    /// Whether the client certificate can change (a 401 then needs new connections).
    pub(crate) rotating_cert: bool,
    /// What a 401 refuses, for its message (see [`Config::credential_origin`]).
    pub(crate) refused: String,
    pub(crate) timeout: Option<Duration>,
    pub(crate) max_retries: u32,
    pub(crate) limits: crate::read::response::Limits,
    pub(crate) limiter: Option<TokenBucket>,
    pub(crate) backoff: Option<BackoffManager>,
    pub(crate) retry: Arc<dyn RetryPolicy>,
    pub(crate) warnings: Arc<dyn WarningHandler>,
    pub(crate) metrics: Option<Arc<dyn Metrics>>,
    /// [`Config::disable_protobuf`].
    pub(crate) disable_protobuf: bool,
    /// Resources that refused protobuf; see [`RestClient::refuses_protobuf`].
    pub(crate) no_protobuf: Refusals,
}

/// What a request asks of its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exchange {
    /// An ordinary request and answer.
    Plain,
    /// An upgrade to another protocol (`Connection: Upgrade`).
    Upgrade,
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
        RestClientBuilder::new(config)
    }

    /// The default HTTP service for `config`: pooled connections, HTTP/1.1 and
    /// HTTP/2 negotiated by ALPN over rustls (plain HTTP for `http://`), through the
    /// configured proxy, with HTTP/2 keep-alive pings every 30 s. Wrap it in your own tower
    /// layers and hand it to [`RestClientBuilder::service`].
    ///
    /// # Errors
    /// [`Error::Tls`] or [`Error::Config`] when TLS material cannot be read or used.
    pub fn http_client(config: &Config) -> Result<HttpClient> {
        crate::transport::http_client(config)
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
    pub(crate) async fn execute(&self, req: Request) -> Result<Response> {
        let method = req.method.clone();
        let (resp, url, deadline) = self.exchange(req, Exchange::Plain).await?;
        let (parts, body) = resp.into_parts();
        let mut resp = Response::new(parts, body, method, url, self.inner.limits);
        if let Some((at, after)) = deadline {
            resp.read_by(at, after);
        }
        Ok(resp)
    }

    /// Sends `req` asking to upgrade its connection, and returns the answer (a `101
    /// Switching Protocols`, or another success the caller must refuse) with the upgrade
    /// still in its extensions. See [`crate::upgrade`].
    pub(crate) async fn execute_upgrade(
        &self,
        req: Request,
    ) -> Result<(http::Response<crate::transport::body::ResponseBody>, String)> {
        let (resp, url, _) = self.exchange(req, Exchange::Upgrade).await?;
        Ok((resp, url))
    }

    /// The send loop of [`execute`](Self::execute) and
    /// [`execute_upgrade`](Self::execute_upgrade), with its deadline, log line and metrics.
    async fn exchange(
        &self,
        mut req: Request,
        exchange: Exchange,
    ) -> Result<(
        http::Response<crate::transport::body::ResponseBody>,
        String,
        Option<(Instant, Duration)>,
    )> {
        if let Some(e) = req.take_error() {
            return Err(e);
        }
        let url = req.build_url(&self.base);
        let uri: Uri = url
            .parse()
            .map_err(|e| Error::invalid(format!("invalid URL {url:?}: {e}")))?;
        let timeout = req.timeout.filter(|t| !t.is_zero());
        let start = Instant::now();
        // A timeout too large to add to now is no deadline at all.
        let deadline = timeout.and_then(|t| Some((start.checked_add(t)?, t)));
        let mut stats = Stats::default();
        let attempts = self.run(
            &req,
            &uri,
            &url,
            exchange,
            deadline.map(|(at, _)| at),
            &mut stats,
        );
        let result = match deadline {
            Some((at, after)) => match tokio::time::timeout_at(at.into(), attempts).await {
                Ok(r) => r,
                Err(_) => Err(Error::Timeout {
                    url: url.clone(),
                    after,
                }),
            },
            None => attempts.await,
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
        Ok((result?, url, deadline))
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

    async fn run(
        &self,
        req: &Request,
        uri: &Uri,
        url: &str,
        exchange: Exchange,
        deadline: Option<Instant>,
        stats: &mut Stats,
    ) -> Result<http::Response<crate::transport::body::ResponseBody>> {
        let inner = &self.inner;
        // An upgrade starts something on the server (a command, a port-forward): the
        // retry policy sees it as the write it is, retried only when the server says it
        // did not take it.
        let policy_method = match exchange {
            Exchange::Plain => &req.method,
            Exchange::Upgrade => &Method::POST,
        };
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
            let sent = match exchange {
                Exchange::Plain => inner.transport.call(http_req).await,
                Exchange::Upgrade => inner.transport.upgrade(http_req).await,
            };
            match sent {
                Ok(resp) => {
                    let status = resp.status();
                    stats.status = Some(status.as_u16());
                    if let Some(b) = &inner.backoff {
                        let failed =
                            status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
                        b.update(&inner.host_key, failed);
                    }
                    if status.is_success()
                        || (exchange == Exchange::Upgrade
                            && status == StatusCode::SWITCHING_PROTOCOLS)
                    {
                        dispatch_warnings(resp.headers(), inner.warnings.as_ref());
                        return Ok(resp);
                    }
                    if status == StatusCode::UNAUTHORIZED && inner.provider.is_some() && !refreshed
                    {
                        refreshed = true;
                        history.push(format!(
                            "attempt {attempt_no}: 401 Unauthorized, credentials refreshed"
                        ));
                        drain(resp.into_body()).await;
                        auth = self.authorization(true).await?;
                        if let (true, Transport::Hyper(http)) =
                            (inner.rotating_cert, &inner.transport)
                        {
                            // A refreshed certificate is only presented on a new handshake.
                            http.close_idle();
                        }
                        continue;
                    }
                    let attempt = Attempt {
                        method: policy_method,
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
                    let retry_after = crate::send::retry::retry_after_header(
                        resp.headers(),
                        std::time::SystemTime::now(),
                    )
                    .map(|d| d.as_secs());
                    let body = read_error_body(resp.into_body()).await;
                    let mut st = Status::from_response(status, &req.method, &body, retry_after);
                    if status == StatusCode::UNAUTHORIZED {
                        st.message = unauthorized_message(&st.message, &inner.refused);
                    }
                    return Err(with_history(Error::Api(Box::new(st)), history));
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
                        method: policy_method,
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
                    return Err(with_history(err, history));
                }
            }
        }
    }
}

/// The message of a 401: the server's, then whose credentials it refused.
fn unauthorized_message(server: &str, refused: &str) -> String {
    let server = if server.is_empty() {
        "Unauthorized"
    } else {
        server
    };
    format!("{server}: the server refused {refused}")
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
        Some(d) if Instant::now().checked_add(wait).is_none_or(|end| end >= d) => None,
        _ => Some(wait),
    }
}

/// `err` with what the earlier attempts saw, one line each (a retry, or a new try after
/// refreshing credentials on a 401, which is no retry but an attempt all the same).
fn with_history(err: Error, history: Vec<String>) -> Error {
    if history.is_empty() {
        err
    } else {
        Error::Retried {
            attempts: u32::try_from(history.len())
                .unwrap_or(u32::MAX)
                .saturating_add(1),
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

/// At most this many resources are remembered as refusing protobuf (a cluster serves a
/// few hundred; the bound only keeps a misbehaving caller from growing it for ever).
const MAX_REFUSALS: usize = 4096;

/// The resources (`/apis/group/version/plural`, as the caller names them) whose server
/// refused protobuf with 406 or 415.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    /// Whether `set` holds anything: every typed request asks, and almost always the
    /// answer is no, which this tells without taking the lock.
    any: AtomicBool,
    set: Mutex<HashSet<String>>,
}

impl Refusals {
    fn set(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.set.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl RestClient {
    /// Whether typed clients may speak protobuf to `resource`: not when the config
    /// [disables](crate::Config::disable_protobuf) it, nor when the resource refused it
    /// before ([`remember_refuses_protobuf`](Self::remember_refuses_protobuf)).
    pub fn protobuf_allowed(&self, resource: &str) -> bool {
        !self.inner.disable_protobuf && !self.refuses_protobuf(resource)
    }

    /// Whether `resource` refused protobuf before ([`remember_refuses_protobuf`]): a
    /// typed client then asks for and sends JSON from the start. Shared by every clone of
    /// this client.
    ///
    /// [`remember_refuses_protobuf`]: Self::remember_refuses_protobuf
    pub fn refuses_protobuf(&self, resource: &str) -> bool {
        let refusals = &self.inner.no_protobuf;
        refusals.any.load(Ordering::Acquire) && refusals.set().contains(resource)
    }

    /// Remembers that `resource` answered a protobuf request with 406 Not Acceptable or
    /// 415 Unsupported Media Type (a custom resource, an aggregated API server), as
    /// client-go does, so that it is not asked in protobuf again.
    pub fn remember_refuses_protobuf(&self, resource: &str) {
        let refusals = &self.inner.no_protobuf;
        let mut set = refusals.set();
        if set.len() < MAX_REFUSALS {
            set.insert(resource.to_owned());
            refusals.any.store(true, Ordering::Release);
        }
    }
}
