//! kubecto-testserver: an in-memory Kubernetes API server over real HTTP.
//!
//! It serves every built-in resource of Kubernetes v1.36 (the table is derived
//! from discovery documents a real kube-apiserver served), with discovery in both
//! the legacy and the aggregated form, CRUD with resourceVersions and optimistic
//! concurrency, label and field selectors, `limit`/`continue` over consistent
//! snapshots, and watches with bookmarks and 410 Expired. Fault injection lets a
//! test make chosen requests fail. It depends on no kubecto client crate, so its
//! behaviour is never defined by the client it tests; kubectl and the official
//! Python client are run against it in CI.
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

mod api;
mod body;
mod defaults;
mod faults;
mod meta;
mod openapi;
pub(crate) mod patch;
mod registry;
mod scale;
mod seed;
pub(crate) mod selector;
mod server;
mod status;
mod store;
mod watch;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch as signal;

pub use faults::Fault;

/// Errors from starting, seeding or configuring a test server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A manifest file could not be read.
    #[error("cannot read manifest {path}: {source}")]
    ReadManifest {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A manifest is not valid JSON/YAML, or holds something that is not an object.
    #[error("invalid manifest {origin}: {message}")]
    Manifest {
        /// Where the manifest came from (a path, or "inline").
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// The server refused to create a seeded object.
    #[error("cannot seed {kind} {name:?}: {code} {message}")]
    Seed {
        /// The object's kind.
        kind: String,
        /// The object's name.
        name: String,
        /// The HTTP code the server would have answered.
        code: u16,
        /// The server's message.
        message: String,
    },
}

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// The path, e.g. `/api/v1/namespaces/default/pods`.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
}

/// Options for a test server; see [`TestServer::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct TestServerBuilder {
    addr: SocketAddr,
    watch_history: usize,
    bookmark_interval: Duration,
}

impl Default for TestServerBuilder {
    fn default() -> Self {
        TestServerBuilder {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            watch_history: 10_000,
            bookmark_interval: Duration::from_secs(60),
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
    /// snapshots (default 10,000). Older resourceVersions get 410 Expired.
    pub fn watch_history(mut self, events: usize) -> Self {
        self.watch_history = events;
        self
    }

    /// How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK (default 60 s).
    pub fn bookmark_interval(mut self, interval: Duration) -> Self {
        self.bookmark_interval = interval;
        self
    }

    /// Bind and start serving on the current tokio runtime.
    ///
    /// # Errors
    /// [`Error::Bind`] when the address cannot be bound.
    pub async fn start(self) -> Result<TestServer, Error> {
        let listener = TcpListener::bind(self.addr)
            .await
            .map_err(|source| Error::Bind {
                addr: self.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: self.addr,
            source,
        })?;
        let state = Arc::new(api::State::new(
            self.watch_history,
            addr.to_string(),
            self.bookmark_interval,
        ));
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            seed_one(&state, obj)?;
        }
        let (stop, stopped) = signal::channel(false);
        let task = tokio::spawn(server::serve(listener, Arc::clone(&state), stopped));
        Ok(TestServer {
            addr,
            state,
            stop,
            task: Some(task),
        })
    }
}

/// A running in-memory Kubernetes API server; it stops when dropped.
pub struct TestServer {
    addr: SocketAddr,
    state: Arc<api::State>,
    stop: signal::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
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

    /// The server's base URL, e.g. `http://127.0.0.1:38211`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A kubeconfig whose current context (`kubecto-testserver`, namespace `default`)
    /// points at this server.
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: kubecto-testserver\n  cluster:\n    server: {}\ncontexts:\n- name: kubecto-testserver\n  context:\n    cluster: kubecto-testserver\n    user: kubecto-testserver\n    namespace: default\ncurrent-context: kubecto-testserver\nusers:\n- name: kubecto-testserver\n  user: {{}}\n",
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
    /// # Errors
    /// [`Error::Seed`] with the code and message a POST would have got.
    pub fn seed(&self, object: Value) -> Result<Value, Error> {
        seed_one(&self.state, object)
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
            seed_one(&self.state, obj)?;
        }
        Ok(n)
    }

    /// Add a fault; faults are matched in the order they were added.
    pub fn inject(&self, fault: Fault) {
        self.state.faults.add(fault);
    }

    /// Remove every pending fault.
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many requests had this method and path (a prefix when `path` ends with `*`).
    pub fn request_count(&self, method: &str, path: &str) -> usize {
        self.state
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|r| {
                r.method.eq_ignore_ascii_case(method) && faults::path_matches(path, &r.path)
            })
            .count()
    }

    /// Forget the requests recorded so far.
    pub fn clear_requests(&self) {
        self.state
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Stop accepting, close every connection and wait for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn seed_one(state: &api::State, object: Value) -> Result<Value, Error> {
    let kind = object["kind"].as_str().unwrap_or_default().to_owned();
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let refuse = |code: u16, message: String| Error::Seed {
        kind: kind.clone(),
        name: name.clone(),
        code,
        message,
    };
    let info = state
        .registry
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .resource_for_kind(api_version, &kind)
        .ok_or_else(|| {
            refuse(
                404,
                format!("no resource serves kind {kind:?} in {api_version:?}"),
            )
        })?;
    let namespace = object["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_owned();
    let ns = info.namespaced.then_some(namespace.as_str());
    let obj = api::create(state, &info, ns, object.clone(), false).map_err(|e| {
        refuse(
            e.code,
            e.body["message"].as_str().unwrap_or_default().to_owned(),
        )
    })?;
    let rendered = api::render(&obj.body, &info);
    serde_json::from_slice(&rendered).map_err(|e| refuse(500, e.to_string()))
}
