//! [`Config`]: everything a [`RestClient`](crate::RestClient) needs to know to reach one
//! API server: where it is, how to authenticate, how to verify it, and how politely to talk
//! to it. It is plain data; nothing here does I/O. `kubecto-config` builds one from a
//! kubeconfig, tests and examples build one by hand.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A string that never shows up in `Debug` output or logs (tokens, passwords).
///
/// Read it only where it is sent, with [`SecretString::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// PEM material given either as a file path (read when the client is built) or inline.
///
/// `Debug` never prints inline data: a private key may be inside.
#[derive(Clone, PartialEq, Eq)]
pub enum PemSource {
    /// A file holding PEM text.
    File(PathBuf),
    /// PEM text itself (a kubeconfig's `*-data` fields, base64-decoded).
    Data(Vec<u8>),
}

impl fmt::Debug for PemSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PemSource::File(p) => f.debug_tuple("File").field(p).finish(),
            PemSource::Data(d) => write!(f, "Data(<{} bytes redacted>)", d.len()),
        }
    }
}

/// A group and version, such as `apps/v1`, or `v1` for the core (legacy) group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct GroupVersion {
    /// The API group; empty for the core group.
    pub group: String,
    /// The version, such as `v1`; empty means none (URLs then stop at the API path).
    pub version: String,
}

impl GroupVersion {
    /// A group and version.
    pub fn new(group: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
        }
    }

    /// The core group, version `v1` (pods, services, namespaces, ...), served under `/api`.
    pub fn core_v1() -> Self {
        Self::new("", "v1")
    }

    /// Parses `group/version` or `version` (core group).
    pub fn parse(s: &str) -> Self {
        match s.split_once('/') {
            Some((g, v)) => Self::new(g, v),
            None => Self::new("", s),
        }
    }
}

impl fmt::Display for GroupVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.version)
        } else {
            write!(f, "{}/{}", self.group, self.version)
        }
    }
}

/// TLS settings: how to verify the server and how to present ourselves.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsConfig {
    /// Root certificates that sign the server's certificate. `None` uses the
    /// platform's trusted roots (as client-go does; `SSL_CERT_FILE` and `SSL_CERT_DIR`
    /// are honoured), which a cluster behind a publicly trusted certificate needs.
    pub ca: Option<PemSource>,
    /// A client certificate (chain) presented to the server.
    pub client_cert: Option<PemSource>,
    /// The private key of [`client_cert`](Self::client_cert).
    pub client_key: Option<PemSource>,
    /// The name checked against the server's certificate instead of the URL's host
    /// (kubeconfig `tls-server-name`).
    pub server_name: Option<String>,
    /// Skip verification of the server's certificate. Dangerous; for tests only.
    pub insecure: bool,
}

/// Static authentication: what goes into the `Authorization` header.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Auth {
    /// No `Authorization` header.
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(SecretString),
    /// `Authorization: Basic ...`.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: SecretString,
    },
}

/// Impersonation headers (`Impersonate-User`, `-Uid`, `-Group`, `-Extra-*`).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Impersonate {
    /// The user to act as.
    pub user: Option<String>,
    /// The UID to act as.
    pub uid: Option<String>,
    /// The groups to act as.
    pub groups: Vec<String>,
    /// Extra fields to act with.
    pub extra: BTreeMap<String, Vec<String>>,
}

impl Impersonate {
    /// Whether no impersonation is asked for.
    pub fn is_empty(&self) -> bool {
        self.user.is_none() && self.uid.is_none() && self.groups.is_empty() && self.extra.is_empty()
    }
}

/// Client-side rate limit: a token bucket refilled at `qps` per second holding at most
/// `burst` tokens, shared by every clone of a client. As in client-go, a zero `qps` or
/// `burst` takes the default and a negative `qps` turns limiting off (as does
/// [`Config::without_rate_limit`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub qps: f32,
    /// Requests allowed at once before the rate applies.
    pub burst: u32,
}

impl Default for RateLimit {
    /// `qps = 50`, `burst = 100`: ten times client-go's 5/10 and as generous as kubectl's
    /// usual traffic needs; discovery-heavy tools may want more.
    fn default() -> Self {
        Self {
            qps: 50.0,
            burst: 100,
        }
    }
}

/// How to reach the server: directly or through an HTTP proxy.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Proxy {
    /// Use the environment's proxy as client-go does (Go's `httpproxy.FromEnvironment`):
    /// `HTTPS_PROXY` for `https` servers and `HTTP_PROXY` for `http` ones (upper case
    /// first, empty values skipped; `ALL_PROXY` is not read), except for the servers
    /// `NO_PROXY` names (`*`, IP addresses and CIDRs, domain names matching themselves and
    /// their subdomains, `.domain` and `*.domain` matching subdomains only, each with an
    /// optional `:port`) and for `localhost` and loopback addresses. The variables are read
    /// when the client is built.
    #[default]
    FromEnvironment,
    /// Always use this proxy (kubeconfig `proxy-url`): `http://` (a `CONNECT` tunnel),
    /// `https://` (TLS to the proxy, verified with the server's CA or, without one, the
    /// platform's roots, against the proxy's host; then a `CONNECT` tunnel inside it), with
    /// credentials in the URL sent as `Proxy-Authorization: Basic`; or `socks5://` and
    /// `socks5h://` (SOCKS5, the proxy resolving the server's name; credentials in the URL
    /// are its username and password). A URL without a scheme is `http://`.
    Url(String),
    /// Never use a proxy.
    None,
}

/// A client certificate and its private key, both PEM. `Debug` hides the key.
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The certificate chain, PEM.
    pub cert_pem: Vec<u8>,
    /// The private key, PEM.
    pub key_pem: Vec<u8>,
}

impl ClientIdentity {
    /// A certificate chain and key, both PEM.
    pub fn new(cert_pem: impl Into<Vec<u8>>, key_pem: impl Into<Vec<u8>>) -> Self {
        Self {
            cert_pem: cert_pem.into(),
            key_pem: key_pem.into(),
        }
    }
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("cert_pem", &format_args!("<{} bytes>", self.cert_pem.len()))
            .field(
                "key_pem",
                &format_args!("<{} bytes redacted>", self.key_pem.len()),
            )
            .finish()
    }
}

/// Client certificates that change over time (an exec plugin's short-lived certificate).
/// Asked at every TLS handshake, so it must answer quickly from memory: refresh it from a
/// [`CredentialProvider`]'s `credentials()`/`refresh()`, which run before each request and
/// after a 401. New connections use the new certificate; TLS session resumption is off so
/// an old identity is never resumed.
pub trait ClientCertificateSource: Send + Sync + fmt::Debug {
    /// The certificate to present now; `None` presents none.
    fn current(&self) -> Option<ClientIdentity>;
}

/// A future returned by a [`CredentialProvider`].
pub type CredentialFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Auth, CredentialError>> + Send + 'a>>;

/// Credentials that change over time: a token file that is rotated, an exec plugin's
/// token. The client asks before each request (implementations should cache) and calls
/// [`refresh`](Self::refresh) once after a `401 Unauthorized`, then retries the request
/// with what it returns.
///
/// `kubecto-config` implements it; rest-core never runs a plugin or reads a kubeconfig.
pub trait CredentialProvider: Send + Sync + fmt::Debug {
    /// The credentials to use now.
    fn credentials(&self) -> CredentialFuture<'_>;

    /// Called after the server answered `401` to `credentials()`'s answer: drop any cache
    /// and fetch fresh credentials. The default asks [`credentials`](Self::credentials) again.
    fn refresh(&self) -> CredentialFuture<'_> {
        self.credentials()
    }
}

/// Why a [`CredentialProvider`] could not produce credentials.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CredentialError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl CredentialError {
    /// An error with a message that names what failed (a file, a command).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// An error with a message and the underlying cause.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// The default `User-Agent`: `kubecto/<version> (<os>/<arch>)`.
pub fn default_user_agent() -> String {
    format!(
        "kubecto/{} ({}/{})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// Everything needed to talk to one API server (client-go's `rest.Config`).
///
/// Build with [`Config::new`] and the `with_*` setters, or set the public fields
/// directly. Secrets are redacted from `Debug`.
///
/// ```
/// use kubecto_rest_core::{Config, GroupVersion, PemSource};
/// use std::time::Duration;
///
/// let config = Config::new("https://127.0.0.1:6443")
///     .with_api_path("api")
///     .with_group_version(GroupVersion::core_v1())
///     .with_bearer_token("s3cr3t")
///     .with_ca(PemSource::File("/etc/kubernetes/pki/ca.crt".into()))
///     .with_timeout(Duration::from_secs(30));
/// assert!(!format!("{config:?}").contains("s3cr3t"));
/// ```
#[non_exhaustive]
#[derive(Clone)]
pub struct Config {
    /// The server's URL: `https://host:port`, optionally with a path prefix.
    pub host: String,
    /// `api` for the core group, `apis` for named groups (the seed's `APIPath`).
    pub api_path: String,
    /// The group and version requests address (the seed's `GroupVersion`).
    pub group_version: GroupVersion,
    /// `Content-Type` of request bodies (except patches, whose type names their kind).
    pub content_type: String,
    /// `Accept` header sent with every request.
    pub accept: String,
    /// `User-Agent` header; defaults to [`default_user_agent`].
    pub user_agent: String,
    /// Default timeout of each request (see [`Request::timeout`](crate::Request::timeout)):
    /// it bounds all attempts until the answer's head and reading a whole body, and is sent
    /// as `?timeout=` so the server gives up too (a watch then ends after it, as in
    /// client-go). `None` waits.
    pub timeout: Option<Duration>,
    /// Client-side rate limit; `None` turns it off.
    pub rate_limit: Option<RateLimit>,
    /// How many times a request is retried when the server asks (`Retry-After`) or a GET
    /// loses its connection. Default 10.
    pub max_retries: u32,
    /// How long to wait before retrying a GET whose connection was reset (client-go's
    /// artificial `Retry-After: 1`). Default one second.
    pub transport_retry_wait: Duration,
    /// Per-host exponential backoff on 429/5xx (client-go's `r.backoff`). Off by default.
    pub backoff: Option<crate::BackoffConfig>,
    /// The largest single watch event or list item accepted, in bytes. Default 16 MiB.
    pub max_event_size: usize,
    /// Do not ask for gzip-compressed answers (`Accept-Encoding: gzip`, which
    /// kube-apiserver honours for answers over 128 KiB). Off by default, as in client-go;
    /// compressed answers are inflated as they are read, whatever reads them.
    pub disable_compression: bool,
    /// Do not let typed clients speak protobuf. kubecto-clientset asks for protobuf
    /// (`application/vnd.kubernetes.protobuf, application/json`) and sends protobuf
    /// bodies for built-in types, as client-go's clientset does; with this set it uses
    /// JSON for everything. A bare [`RestClient`](crate::RestClient) sends
    /// [`accept`](Self::accept) and [`content_type`](Self::content_type) either way.
    pub disable_protobuf: bool,
    /// The largest body read whole ([`Response::bytes`](crate::Response::bytes),
    /// [`Response::into`](crate::Response::into)), in bytes. Default 1 GiB; a LIST larger
    /// than that is read item by item ([`Response::into_list`](crate::Response::into_list)),
    /// which holds one item at a time.
    pub max_body_size: usize,
    /// TLS settings.
    pub tls: TlsConfig,
    /// Static authentication.
    pub auth: Auth,
    /// Credentials that change over time; when set, used instead of [`auth`](Self::auth).
    pub credential_provider: Option<Arc<dyn CredentialProvider>>,
    /// A client certificate that changes over time; when set, used instead of
    /// [`tls.client_cert`](TlsConfig::client_cert) (setting both is an error).
    pub client_cert_source: Option<Arc<dyn ClientCertificateSource>>,
    /// Whose credentials these are and where they come from, as a noun phrase for the
    /// message of a `401`: `Unauthorized: the server refused <this>`. kubecto-config sets
    /// it to, e.g., `the credentials of user "alice" (bearer token from file
    /// /var/run/token)`. Never a secret. `None` says only what kind of credentials were
    /// sent (`the bearer token`, `the client certificate`, ...).
    pub credential_origin: Option<String>,
    /// Impersonation headers.
    pub impersonate: Impersonate,
    /// Proxy use; by default from the environment.
    pub proxy: Proxy,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("host", &crate::builder::redact_userinfo(&self.host))
            .field("api_path", &self.api_path)
            .field("group_version", &self.group_version)
            .field("content_type", &self.content_type)
            .field("accept", &self.accept)
            .field("user_agent", &self.user_agent)
            .field("timeout", &self.timeout)
            .field("rate_limit", &self.rate_limit)
            .field("max_retries", &self.max_retries)
            .field("transport_retry_wait", &self.transport_retry_wait)
            .field("backoff", &self.backoff)
            .field("max_event_size", &self.max_event_size)
            .field("max_body_size", &self.max_body_size)
            .field("disable_compression", &self.disable_compression)
            .field("disable_protobuf", &self.disable_protobuf)
            .field("tls", &self.tls)
            .field("auth", &self.auth)
            .field("credential_provider", &self.credential_provider)
            .field("client_cert_source", &self.client_cert_source)
            .field("credential_origin", &self.credential_origin)
            .field("impersonate", &self.impersonate)
            .field("proxy", &ProxyDebug(&self.proxy))
            .finish()
    }
}

/// Shows a proxy URL without its credentials.
struct ProxyDebug<'a>(&'a Proxy);

impl fmt::Debug for ProxyDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Proxy::Url(url) => match url
                .split_once("://")
                .and_then(|(s, rest)| rest.split_once('@').map(|(_, h)| (s, h)))
            {
                Some((scheme, host)) => write!(f, "Url(\"{scheme}://<redacted>@{host}\")"),
                None => f.debug_tuple("Url").field(url).finish(),
            },
            other => fmt::Debug::fmt(other, f),
        }
    }
}

/// Default cap on one watch event or list item.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;

/// Default cap on a body read whole.
pub const DEFAULT_MAX_BODY_SIZE: usize = 1024 * 1024 * 1024;

impl Config {
    /// A config for the server at `host` with defaults: core `v1` under `/api`, JSON,
    /// the default user agent, no timeout, [`RateLimit::default`], 10 retries, no auth.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            api_path: "api".to_owned(),
            group_version: GroupVersion::core_v1(),
            content_type: "application/json".to_owned(),
            accept: "application/json".to_owned(),
            user_agent: default_user_agent(),
            timeout: None,
            rate_limit: Some(RateLimit::default()),
            max_retries: 10,
            transport_retry_wait: Duration::from_secs(1),
            backoff: None,
            max_event_size: DEFAULT_MAX_EVENT_SIZE,
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            disable_compression: false,
            disable_protobuf: false,
            tls: TlsConfig::default(),
            auth: Auth::None,
            credential_provider: None,
            client_cert_source: None,
            credential_origin: None,
            impersonate: Impersonate::default(),
            proxy: Proxy::FromEnvironment,
        }
    }

    /// Sets the API path (`api` or `apis`).
    #[must_use]
    pub fn with_api_path(mut self, api_path: impl Into<String>) -> Self {
        self.api_path = api_path.into();
        self
    }

    /// Sets the group and version.
    #[must_use]
    pub fn with_group_version(mut self, gv: GroupVersion) -> Self {
        self.group_version = gv;
        self
    }

    /// Sets the request body content type.
    #[must_use]
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = content_type.into();
        self
    }

    /// Sets the `Accept` header.
    #[must_use]
    pub fn with_accept(mut self, accept: impl Into<String>) -> Self {
        self.accept = accept.into();
        self
    }

    /// Sets the `User-Agent` header.
    #[must_use]
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Stops asking for gzip-compressed answers (see
    /// [`disable_compression`](Self::disable_compression)).
    pub fn without_compression(mut self) -> Self {
        self.disable_compression = true;
        self
    }

    /// Makes typed clients speak JSON only (see
    /// [`disable_protobuf`](Self::disable_protobuf)).
    pub fn without_protobuf(mut self) -> Self {
        self.disable_protobuf = true;
        self
    }

    /// Sets the largest body read whole, in bytes (default [`DEFAULT_MAX_BODY_SIZE`]).
    pub fn with_max_body_size(mut self, bytes: usize) -> Self {
        self.max_body_size = bytes;
        self
    }

    /// Sets the largest single watch event or list item, in bytes (default
    /// [`DEFAULT_MAX_EVENT_SIZE`]).
    pub fn with_max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes;
        self
    }

    /// Sets the per-request timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the client-side rate limit.
    #[must_use]
    pub fn with_rate_limit(mut self, qps: f32, burst: u32) -> Self {
        self.rate_limit = Some(RateLimit { qps, burst });
        self
    }

    /// Turns client-side rate limiting off.
    #[must_use]
    pub fn without_rate_limit(mut self) -> Self {
        self.rate_limit = None;
        self
    }

    /// Sets the default number of retries.
    #[must_use]
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Sets the CA that signs the server's certificate.
    #[must_use]
    pub fn with_ca(mut self, ca: PemSource) -> Self {
        self.tls.ca = Some(ca);
        self
    }

    /// Sets the client certificate and its private key.
    #[must_use]
    pub fn with_client_cert(mut self, cert: PemSource, key: PemSource) -> Self {
        self.tls.client_cert = Some(cert);
        self.tls.client_key = Some(key);
        self
    }

    /// Says whose credentials these are, for the message of a `401` (see
    /// [`credential_origin`](Self::credential_origin)).
    #[must_use]
    pub fn with_credential_origin(mut self, origin: impl Into<String>) -> Self {
        self.credential_origin = Some(origin.into());
        self
    }

    /// Sets the name verified against the server's certificate.
    #[must_use]
    pub fn with_tls_server_name(mut self, name: impl Into<String>) -> Self {
        self.tls.server_name = Some(name.into());
        self
    }

    /// Skips server certificate verification (tests only).
    #[must_use]
    pub fn with_insecure(mut self, insecure: bool) -> Self {
        self.tls.insecure = insecure;
        self
    }

    /// Authenticates with a bearer token.
    #[must_use]
    pub fn with_bearer_token(mut self, token: impl Into<SecretString>) -> Self {
        self.auth = Auth::Bearer(token.into());
        self
    }

    /// Authenticates with a user name and password.
    #[must_use]
    pub fn with_basic_auth(
        mut self,
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        self.auth = Auth::Basic {
            username: username.into(),
            password: password.into(),
        };
        self
    }

    /// Takes credentials from a provider before each request (and again after a 401).
    #[must_use]
    pub fn with_credential_provider(mut self, provider: Arc<dyn CredentialProvider>) -> Self {
        self.credential_provider = Some(provider);
        self
    }

    /// Sets how the server is reached (directly, through a proxy, or as the environment says).
    #[must_use]
    pub fn with_proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = proxy;
        self
    }

    /// Presents the client certificate `source` gives at each TLS handshake.
    #[must_use]
    pub fn with_client_cert_source(mut self, source: Arc<dyn ClientCertificateSource>) -> Self {
        self.client_cert_source = Some(source);
        self
    }

    /// Sets impersonation.
    #[must_use]
    pub fn with_impersonate(mut self, impersonate: Impersonate) -> Self {
        self.impersonate = impersonate;
        self
    }
}
