//! kubecto-testserver: an in-memory Kubernetes API server over real HTTP.
//!
//! It serves every built-in resource of Kubernetes v1.36 (the table is derived
//! from discovery documents a real kube-apiserver served), with discovery in both
//! the legacy and the aggregated form, CRUD with resourceVersions and optimistic
//! concurrency, label and field selectors, `limit`/`continue` over consistent
//! snapshots, and watches with bookmarks and 410 Expired. Writes behave as on a real
//! server: JSON, merge and strategic merge patches (merge keys from the recorded
//! OpenAPI v3 documents, which are served too), server-side apply with managedFields
//! and conflicts, field validation, status and scale subresources, finalizers and
//! garbage collection by propagation policy, and CustomResourceDefinitions that serve
//! their resources. Reads can be server-side printed as `Table`s or as
//! `PartialObjectMetadata`. See `API.md` for the whole contract. Fault injection lets a
//! test make chosen requests fail. It depends on no kubecto client crate, so its
//! behaviour is never defined by the client it tests; kubectl and the official
//! Python client are run against it in CI.
//!
//! Inside, a request travels one way, each stage importing only the ones below it
//! (`tests/layers.rs` checks): `server` (HTTP, TLS, authentication, faults) -> `route`
//! (path -> handler) -> `handlers` (one per verb family) -> `objects` (what every write
//! does) -> `logic` (Kubernetes' rules as plain functions) -> `shared` (state, request,
//! responses, errors) -> `storage` (store, registry). `controllers` (CRDs, garbage
//! collection) follow each write beside the handlers, as clients of the store.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kubecto_testserver::Error> {
//! use kubecto_testserver::{Fault, TestServer};
//!
//! let server = TestServer::start().await?;
//! server.seed(serde_json::json!({
//!     "apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "settings", "namespace": "default"},
//!     "data": {"mode": "fast"},
//! }))?;
//! // The next GET of that config map answers 503 with Retry-After: 1.
//! server.inject(Fault::status(503).retry_after("1").method("GET").path("/api/v1/namespaces/default/configmaps/settings"));
//! println!("serving at {}", server.url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod controllers;
mod error;
mod handlers;
mod logic;
mod objects;
mod protobuf;
mod route;
mod seed;
mod server;
mod shared;
mod storage;
mod streams;
mod with_controllers;

#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
#[path = "fuzzing.rs"]
pub mod __fuzz;
pub mod protobuf_json;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch as signal;

use crate::server::traffic::Traffic;
use crate::shared::state::State;

pub use error::Error;
pub use server::faults::Fault;
pub use server::tls::ClientCert;
pub use server::traffic::RecordedRequest;
pub use streams::process::{Output, Process, Resizes, Stdin, TerminalSize};

/// Options for a test server; see [`TestServer::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct TestServerBuilder {
    addr: SocketAddr,
    history: storage::store::HistoryLimits,
    bookmark_interval: Duration,
    security: server::auth::Options,
    controllers: Option<controllers::Options>,
    streams: streams::Streams,
    gzip: bool,
}

impl Default for TestServerBuilder {
    fn default() -> Self {
        TestServerBuilder {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            history: storage::store::HistoryLimits::DEFAULT,
            bookmark_interval: Duration::from_secs(60),
            security: server::auth::Options::default(),
            controllers: None,
            streams: streams::Streams::default(),
            gzip: true,
        }
    }
}

impl TestServerBuilder {
    /// Listen on this port of 127.0.0.1 (default 0: the OS chooses).
    pub fn port(mut self, port: u16) -> Self {
        self.addr.set_port(port);
        self
    }

    /// Listen on this address (default `127.0.0.1:0`).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// How many writes the server remembers for watch resumption and paginated
    /// snapshots (default 10,000; at least 1).
    ///
    /// The history is compacted as etcd and kube-apiserver's watch cache compact theirs:
    /// when it holds more than this many events, more than
    /// [`history_bytes`](TestServerBuilder::history_bytes) or events older than
    /// [`history_age`](TestServerBuilder::history_age), the oldest writes are forgotten.
    /// A watch from a forgotten resourceVersion then gets an ERROR event `410 Expired`
    /// (`too old resource version: X (Y)`, Y being the oldest it can start from), and a
    /// LIST with a `continue` token or `resourceVersion`+`resourceVersionMatch=Exact`
    /// from before it gets `410 Expired`, worded as kube-apiserver words them. Events
    /// share the stored objects with the current state, so the history costs about one
    /// object body per write it keeps.
    pub fn watch_history(mut self, events: usize) -> Self {
        self.history.events = events;
        self
    }

    /// At most about this many bytes of history: the bodies of the objects its events
    /// hold, plus 1 KiB per event (default 32 MiB). This is what bounds the
    /// server's memory under a long stream of writes whatever the size of the objects:
    /// 10,000 events of 7 KB pods would otherwise hold 70 MB. The newest event is always
    /// kept.
    pub fn history_bytes(mut self, bytes: usize) -> Self {
        self.history.bytes = bytes;
        self
    }

    /// Forget writes older than this (default 5 minutes, kube-apiserver's etcd
    /// compaction interval; `None`: keep them until the other limits drop them).
    pub fn history_age(mut self, age: impl Into<Option<Duration>>) -> Self {
        self.history.age = age.into();
        self
    }

    /// How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK (default 60 s).
    pub fn bookmark_interval(mut self, interval: Duration) -> Self {
        self.bookmark_interval = interval;
        self
    }

    /// Serve HTTPS with a CA generated at start: the serving certificate is valid for
    /// `localhost`, `127.0.0.1`, `::1` and the in-cluster `kubernetes.default.svc`
    /// names (see [`TestServerBuilder::tls_server_names`]); [`TestServer::ca_pem`] gives
    /// the CA and [`TestServer::kubeconfig`] embeds it. Client certificates signed by
    /// that CA (see [`TestServer::issue_client_cert`]) or by a
    /// [`client_ca`](TestServerBuilder::client_ca) authenticate as their subject CN,
    /// with the subject O as group.
    pub fn tls(mut self) -> Self {
        self.security.tls = true;
        self
    }

    /// The names (DNS names or IP addresses) the serving certificate is valid for,
    /// instead of the defaults. Implies [`TestServerBuilder::tls`].
    pub fn tls_server_names<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.security.tls = true;
        self.security.server_names = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Also accept client certificates signed by this CA (PEM). Needs TLS.
    pub fn client_ca(mut self, pem: impl Into<String>) -> Self {
        self.security.client_cas.push(pem.into());
        self
    }

    /// Require authentication, and accept the bearer token `token` for the user
    /// `kubecto-admin` (see [`TestServer::rotate_token`]). Requests without valid
    /// credentials get kube-apiserver's 401 `Unauthorized` Status.
    pub fn require_token(self, token: impl Into<String>) -> Self {
        self.token(token, server::auth::TOKEN_USER)
    }

    /// Require authentication, and accept the bearer token `token` for `user`.
    pub fn token(mut self, token: impl Into<String>, user: impl Into<String>) -> Self {
        self.security.required = true;
        self.security.tokens.push((token.into(), user.into()));
        self
    }

    /// Refuse anonymous requests with 401 (client certificates or tokens only).
    pub fn require_auth(mut self) -> Self {
        self.security.required = true;
        self
    }

    /// Answer every request of `user` with kube-apiserver's 403 `Forbidden` Status.
    pub fn forbid_user(mut self, user: impl Into<String>) -> Self {
        self.security.forbidden.push(user.into());
        self
    }

    /// Run `handler` for every `pods/{name}/exec` instead of the built-in commands: it is
    /// given the [`Process`] (pod, container, command, tty, stdin, stdout, stderr, terminal
    /// resizes) and returns the exit code, which the client gets as kube-apiserver reports
    /// it (`Success`, or `NonZeroExitCode` with an `ExitCode` cause). A handler can leave
    /// a command to the built-ins with [`Process::run_builtin`].
    ///
    /// ```
    /// # async fn demo() -> Result<(), kubecto_testserver::Error> {
    /// use tokio::io::AsyncWriteExt as _;
    /// let server = kubecto_testserver::TestServer::builder()
    ///     .exec(|mut p| async move {
    ///         if p.command == ["migrate"] {
    ///             let _ = p.stderr.write_all(b"no database\n").await;
    ///             return 3;
    ///         }
    ///         p.run_builtin().await
    ///     })
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn exec<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Process) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = i32> + Send + 'static,
    {
        self.streams.exec = Some(streams::process::Handler::new(handler));
        self
    }

    /// Run `handler` for every `pods/{name}/attach`: what the container's main process does
    /// while a client is attached (by default it echoes stdin to stdout until stdin ends).
    /// Its `command` is empty; an attach ends with `Success` whatever it returns, as the
    /// kubelet reports a finished attach.
    pub fn attach<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Process) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = i32> + Send + 'static,
    {
        self.streams.attach = Some(streams::process::Handler::new(handler));
        self
    }

    /// Compress large answers with gzip for clients that send `Accept-Encoding: gzip`, as
    /// kube-apiserver does (default on; see `API.md`).
    pub fn gzip(mut self, on: bool) -> Self {
        self.gzip = on;
        self
    }

    /// Where `pods/{name}/portforward` connects: `route(namespace, pod, port)` gives the
    /// address to dial for a port of a pod (say a server the test started on
    /// `127.0.0.1:0`), or `None` for a port nothing listens on. Without it every port is
    /// such a port: the client reads the kubelet's `error forwarding port N to pod ...:
    /// ... connection refused` on the error stream or channel.
    ///
    /// The proxy subresources go the same way: `pods/{name}[:port]/proxy` and
    /// `services/{name}[:port]/proxy` (to the endpoint pod and its target port) ask
    /// `route(namespace, pod, port)`, and `nodes/{name}[:port]/proxy` asks `route("", node,
    /// port)` (the kubelet's port, 10250 unless the node says otherwise, when none is given);
    /// `None` answers kube-apiserver's 503 `error trying to reach service: ... connection
    /// refused`. See `API.md`.
    ///
    /// ```no_run
    /// # async fn demo(echo: std::net::SocketAddr) -> Result<(), kubecto_testserver::Error> {
    /// let server = kubecto_testserver::TestServer::builder()
    ///     .port_forward(move |_namespace, pod, port| (pod == "web" && port == 80).then_some(echo))
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn port_forward<F>(mut self, route: F) -> Self
    where
        F: Fn(&str, &str, u16) -> Option<SocketAddr> + Send + Sync + 'static,
    {
        self.streams.port_forward = Some(streams::port_forward::Targets(Arc::new(route)));
        self
    }

    /// Bind and start serving on the current tokio runtime.
    ///
    /// # Errors
    /// [`Error::Bind`] when the address cannot be bound, [`Error::Tls`] when the TLS
    /// material cannot be made (a client CA that is not PEM, a bad server name).
    pub async fn start(self) -> Result<TestServer, Error> {
        let security = Arc::new(
            self.security
                .build()
                .map_err(|message| Error::Tls { message })?,
        );
        let listener = bind(self.addr).await?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: self.addr,
            source,
        })?;
        let state = Arc::new(State::new(
            self.history,
            addr.to_string(),
            self.bookmark_interval,
            controllers::all(),
            self.controllers.is_some(),
        ));
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            seed::seed_one(&state, obj)?;
        }
        // The watch window opens now, as a new kube-apiserver's watch cache starts at the
        // resourceVersion it lists at: a watch from before it is 410 Expired.
        state.store.forget_history();
        // The kubelet's part of graceful pod deletion: removing pods whose grace is over.
        tokio::spawn(objects::grace::expire_grace_periods(Arc::downgrade(&state)));
        let background = match self.controllers {
            Some(options) => Some(with_controllers::start(&state, options, &security, addr)?),
            None => None,
        };
        let traffic = Arc::new(Traffic::default());
        let service = Arc::new(server::serve::Service {
            state: Arc::clone(&state),
            traffic: Arc::clone(&traffic),
            security: Arc::clone(&security),
            streams: self.streams,
            gzip: self.gzip,
        });
        let serving = Serving::start(listener, Arc::clone(&service));
        Ok(TestServer {
            addr,
            state,
            traffic,
            security,
            service,
            serving: std::sync::Mutex::new(serving),
            _background: background,
        })
    }
}

/// Listens on `addr`.
async fn bind(addr: SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })
}

/// The accept loop of a listening server and the switch that stops it.
struct Serving {
    stop: signal::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Serving {
    fn start(listener: TcpListener, service: Arc<server::serve::Service>) -> Serving {
        let (stop, stopped) = signal::channel(false);
        let task = tokio::spawn(server::serve::serve(listener, service, stopped));
        Serving {
            stop,
            task: Some(task),
        }
    }

    /// Stops accepting and closes every connection; the task to wait for.
    fn stop(&mut self) -> Option<tokio::task::JoinHandle<()>> {
        let _ = self.stop.send(true);
        self.task.take()
    }
}

/// A running in-memory Kubernetes API server; it stops when dropped.
pub struct TestServer {
    addr: SocketAddr,
    state: Arc<State>,
    traffic: Arc<Traffic>,
    security: Arc<server::auth::Security>,
    service: Arc<server::serve::Service>,
    serving: std::sync::Mutex<Serving>,
    /// Dropped with the server, which stops the asynchronous controllers.
    _background: Option<signal::Sender<bool>>,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl TestServer {
    /// Start a server on 127.0.0.1 with a port the OS chooses.
    ///
    /// # Errors
    /// [`Error::Bind`] when no port can be bound.
    pub async fn start() -> Result<TestServer, Error> {
        TestServerBuilder::default().start().await
    }

    /// Options: port, watch history, bookmark interval.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    /// The server's base URL, e.g. `http://127.0.0.1:38211` (`https://` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.security.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The generated CA certificate (PEM) when the server serves TLS.
    pub fn ca_pem(&self) -> Option<String> {
        self.security.tls.as_ref().map(|t| t.ca_pem().to_owned())
    }

    /// A client certificate for `user` (subject CN) in `group` (subject O), with a
    /// fresh ECDSA P-256 key, signed by the server's CA.
    ///
    /// # Errors
    /// [`Error::Tls`] when the server has no TLS.
    pub fn issue_client_cert(&self, user: &str, group: Option<&str>) -> Result<ClientCert, Error> {
        self.tls()?
            .issue(user, group)
            .map_err(|message| Error::Tls { message })
    }

    fn tls(&self) -> Result<&server::tls::Tls, Error> {
        self.security.tls.as_ref().ok_or_else(|| Error::Tls {
            message: "the server was started without TLS (TestServerBuilder::tls)".to_owned(),
        })
    }

    /// Accept `new` instead of the token(s) of the `require_token` user: requests
    /// with the old token get 401 from now on.
    pub fn rotate_token(&self, new: &str) {
        self.security.authn.rotate(server::auth::TOKEN_USER, new);
    }

    /// Accept the bearer token `token` for `user` from now on.
    pub fn add_token(&self, token: &str, user: &str) {
        self.security.authn.add_token(token, user);
    }

    /// Stop accepting `token`; returns whether it was accepted.
    pub fn revoke_token(&self, token: &str) -> bool {
        self.security.authn.revoke_token(token)
    }

    /// Refuse every client certificate issued to `user` with 401 from now on, as
    /// kube-apiserver refuses an expired or no longer trusted certificate.
    pub fn revoke_client_certs(&self, user: &str) {
        self.security.authn.revoke_certs(user);
    }

    /// Answer `user`'s requests with 403 from now on.
    pub fn forbid_user(&self, user: &str) {
        self.security.authn.forbid(user);
    }

    /// Stop answering `user`'s requests with 403.
    pub fn allow_user(&self, user: &str) {
        self.security.authn.allow(user);
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A kubeconfig whose current context (`kubecto-testserver`, namespace `default`)
    /// points at this server, with the CA (`certificate-authority-data`) when it
    /// serves TLS and the `require_token` token (`token`) when it has one.
    pub fn kubeconfig(&self) -> String {
        use base64::Engine as _;
        let ca = match self.ca_pem() {
            Some(pem) => format!(
                "\n    certificate-authority-data: {}",
                base64::engine::general_purpose::STANDARD.encode(pem)
            ),
            None => String::new(),
        };
        let user = match self.security.authn.token_of(server::auth::TOKEN_USER) {
            Some(token) => format!("\n    token: {token}"),
            None => " {}".to_owned(),
        };
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: kubecto-testserver\n  cluster:\n    server: {}{ca}\ncontexts:\n- name: kubecto-testserver\n  context:\n    cluster: kubecto-testserver\n    user: kubecto-testserver\n    namespace: default\ncurrent-context: kubecto-testserver\nusers:\n- name: kubecto-testserver\n  user:{user}\n",
            self.url()
        )
    }

    /// Write [`TestServer::kubeconfig`] to a file.
    ///
    /// # Errors
    /// The I/O error of writing the file.
    pub fn write_kubeconfig(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig())
    }

    /// Create an object directly, with the same validation, defaults and
    /// server-set fields as a POST. Returns the stored object.
    ///
    /// A seed is a fixture: a `status` in the object is kept (written as a
    /// status update would write it) where a POST would reset it, so a pod
    /// seeded as `Running` stays `Running`.
    ///
    /// # Errors
    /// [`Error::Seed`] with the code and message a POST would have got.
    pub fn seed(&self, object: Value) -> Result<Value, Error> {
        seed::seed_one(&self.state, object)
    }

    /// Create every object of a JSON or multi-document YAML manifest (`List`s are
    /// expanded, Namespaces go first). Returns how many objects were created.
    ///
    /// # Errors
    /// [`Error::Manifest`] for unparsable text, [`Error::Seed`] for a refused object.
    pub fn seed_manifests(&self, text: &str) -> Result<usize, Error> {
        self.seed_parsed(seed::parse_manifests(text, "inline")?)
    }

    /// Seed from a manifest file, or from every `.yaml`/`.yml`/`.json` file in a directory.
    ///
    /// # Errors
    /// [`Error::ReadManifest`], [`Error::Manifest`] or [`Error::Seed`].
    pub fn seed_path(&self, path: impl AsRef<Path>) -> Result<usize, Error> {
        let path = path.as_ref();
        let read_err = |source| Error::ReadManifest {
            path: path.to_owned(),
            source,
        };
        let files = if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(read_err)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
                })
                .collect();
            files.sort();
            files
        } else {
            vec![path.to_owned()]
        };
        let mut objects = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|source| Error::ReadManifest {
                path: file.clone(),
                source,
            })?;
            objects.extend(seed::parse_manifests(&text, &file.display().to_string())?);
        }
        self.seed_parsed(objects)
    }

    fn seed_parsed(&self, objects: Vec<Value>) -> Result<usize, Error> {
        let objects = seed::creation_order(objects);
        let n = objects.len();
        for obj in objects {
            seed::seed_one(&self.state, obj)?;
        }
        Ok(n)
    }

    /// Set the log text `GET pods/{pod}/log?container={container}` serves (the
    /// kubelet's part, which the test server has none of). Replaces earlier text.
    pub fn set_pod_log(&self, namespace: &str, pod: &str, container: &str, text: &str) {
        self.state.logs.set(namespace, pod, container, text);
    }

    /// Append to a container's log; `follow=true` readers receive the new text.
    pub fn append_pod_log(&self, namespace: &str, pod: &str, container: &str, text: &str) {
        self.state.logs.append(namespace, pod, container, text);
    }

    /// Set the log of the container's previous instance (`previous=true`, else 400).
    pub fn set_previous_pod_log(&self, namespace: &str, pod: &str, container: &str, text: &str) {
        self.state
            .logs
            .set_previous(namespace, pod, container, text);
    }

    /// Add a fault; faults are matched in the order they were added.
    pub fn inject(&self, fault: Fault) {
        self.traffic.faults.add(fault);
    }

    /// Remove every pending fault.
    pub fn clear_faults(&self) {
        self.traffic.faults.clear();
    }

    /// How many watches the server is serving now.
    pub fn open_watches(&self) -> usize {
        self.state.watches.count()
    }

    /// Cut every watch being served, as a broken connection would: each stream stops
    /// without its end (over HTTP/1.1 the connection closes before the last chunk, over
    /// HTTP/2 the stream is reset), so its client sees an error, not the end of the
    /// watch. Events not yet sent are lost, as on a real cut. Watches started later are
    /// not affected. Returns how many were cut; they are gone within about 100 ms.
    pub fn drop_open_watches(&self) -> usize {
        self.state.watches.cut_all()
    }

    /// End every watch being served cleanly, as kube-apiserver ends a watch at its
    /// timeout: the stream finishes normally after the events already sent, and the
    /// client is expected to watch again from the last resourceVersion it saw. Watches
    /// started later are not affected. Returns how many were ended.
    pub fn end_open_watches(&self) -> usize {
        self.state.watches.end_all()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.traffic
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many TCP connections the server has accepted so far (to check that clients
    /// reuse their connections).
    pub fn connections(&self) -> usize {
        self.traffic
            .connections
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many requests had this method and path (a prefix when `path` ends with `*`).
    pub fn request_count(&self, method: &str, path: &str) -> usize {
        self.traffic
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|r| {
                r.method.eq_ignore_ascii_case(method) && server::faults::path_matches(path, &r.path)
            })
            .count()
    }

    /// Forget the requests recorded so far.
    pub fn clear_requests(&self) {
        self.traffic
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Restart the server the way a kube-apiserver restarts over an etcd that keeps
    /// running: it stops listening and closes every connection (requests in flight and
    /// open watches are cut, as by a crash), refuses connections for `down`, then listens
    /// again on the same address. Stored objects and resourceVersions survive; the watch
    /// history does not, as a new kube-apiserver's watch cache starts at the current
    /// resourceVersion: a client resuming a watch from before the last write gets `410
    /// Expired` and must list again. Faults, tokens and recorded requests are kept.
    ///
    /// # Errors
    /// [`Error::Bind`] when the address cannot be bound again (another process took the
    /// port while the server was down); the server then stays down.
    ///
    /// ```
    /// # async fn demo() -> Result<(), kubecto_testserver::Error> {
    /// let server = kubecto_testserver::TestServer::start().await?;
    /// server.restart(std::time::Duration::from_millis(200)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn restart(&self, down: Duration) -> Result<(), Error> {
        let task = self.serving().stop();
        if let Some(task) = task {
            let _ = task.await;
        }
        self.state.store.forget_history();
        tokio::time::sleep(down).await;
        let listener = bind(self.addr).await?;
        *self.serving() = Serving::start(listener, Arc::clone(&self.service));
        Ok(())
    }

    fn serving(&self) -> std::sync::MutexGuard<'_, Serving> {
        self.serving.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stop accepting, close every connection and wait for the server task.
    pub async fn shutdown(self) {
        let task = self.serving().stop();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.serving().stop();
    }
}
