//! kubecto-rest-core: the one place HTTP happens.
//!
//! This is kubecto's equivalent of client-go's `rest` package. A [`Config`] says where an
//! API server is and how to talk to it (TLS, credentials, rate limits, retries); a
//! [`RestClient`] built from it owns a pooled hyper-util client (shared by its clones) and hands out
//! [`Request`] builders: pure values that assemble the URL
//! (`/api/v1/namespaces/{ns}/{resource}/{name}/{subresource}?query`), headers and body,
//! and remember the first mistake until [`Request::send`]. Sending applies client-side rate
//! limiting, the retry policy of [`retry`](RetryPolicy) (client-go's rules) and turns any
//! non-2xx answer into [`Error::Api`] carrying the server's [`Status`]. A [`Response`] is
//! decoded whole ([`Response::into`]), item by item ([`Response::list_stream`]), as a watch
//! ([`Request::watch`]) or as raw chunks ([`Response::stream`]); [`Pager`] follows
//! `continue` tokens.
//!
//! The modules, each small: `config` (what to connect to), `request` (pure URL, query and
//! body building), `params` (option structs as query parameters), `builder` (config to
//! client), `client` (the send loop), `transport`, `pool`, `connect` and `tls` (the
//! connection pool that drives HTTP/1 on the caller's task, the proxy tunnel and rustls),
//! `retry`, `throttle` and `backoff` (when to send and when to try again), `response`,
//! `watch`, `list` and `pager` (reading answers), `decode`, `list_body` and `erase`
//! (simd-json with serde_json behind it, and large bodies walked a value at a time), `scan`
//! (the incremental JSON tokenizer under watch and list), `status` and `error`; and
//! [`upgrade`] (WebSocket upgrades through the same send loop, and exec, attach and
//! port-forward over them).
//!
//! Every other kubecto crate (dynamic, discovery, clientset) is a thin layer over this one;
//! `kubecto-config` turns a kubeconfig into a [`Config`]. This crate depends on no other
//! kubecto crate and never reads a kubeconfig itself.
//!
//! ```no_run
//! use kubecto_rest_core::{Config, GroupVersion, ListOptions, RestClient};
//! # #[derive(serde::Deserialize)] struct PodList { items: Vec<serde_json::Value> }
//! # async fn run() -> Result<(), kubecto_rest_core::Error> {
//! let config = Config::new("https://127.0.0.1:6443")
//!     .with_api_path("api")
//!     .with_group_version(GroupVersion::core_v1())
//!     .with_bearer_token("token");
//! let client = RestClient::for_config(&config)?;
//! let pods: PodList = client
//!     .get()
//!     .namespace("kube-system")
//!     .resource("pods")
//!     .params(&ListOptions::new().limit(100))
//!     .send()
//!     .await?
//!     .into()
//!     .await?;
//! println!("{} pods", pods.items.len());
//! # Ok(()) }
//! ```

mod backoff;
mod builder;
mod client;
mod config;
mod connect;
mod decode;
mod erase;
mod error;
mod gvk;
mod gzip;
mod list;
mod list_body;
mod observe;
mod pager;
mod params;
mod pool;
pub mod protobuf;
mod request;
mod response;
mod retry;
mod scan;
mod status;
mod throttle;
mod tls;
mod transport;
pub mod upgrade;
mod watch;

pub use backoff::BackoffConfig;
pub use builder::RestClientBuilder;
pub use client::RestClient;
pub use config::{
    Auth, ClientCertificateSource, ClientIdentity, Config, CredentialError, CredentialFuture,
    CredentialProvider, DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_EVENT_SIZE, GroupVersion, Impersonate,
    PemSource, Proxy, RateLimit, SecretString, TlsConfig, default_user_agent,
};
pub use connect::{Connector, ConnectorStream};
pub use error::{BoxError, Error, Result, TransportKind};
pub use gvk::{GroupVersionKind, GroupVersionResource};
pub use list::{ListMeta, ListStream, ObjectList};
pub use observe::{IgnoreWarnings, LogWarningsOnce, Metrics, RequestMetrics, WarningHandler};
pub use pager::{DEFAULT_PAGE_SIZE, Pager};
pub use params::{
    CreateOptions, DeleteOptions, GetOptions, ListOptions, PatchOptions, Preconditions,
    PropagationPolicy, UpdateOptions, WatchOptions,
};
pub use pool::{HttpBody, HttpClient};
pub use request::{PatchType, Request};
pub use response::Response;
pub use retry::{Attempt, DefaultRetryPolicy, Outcome, RetryPolicy, retry_after_header};
pub use status::{Status, StatusCause, StatusDetails};
pub use tls::MAX_PEM_FILE_SIZE;
pub use transport::RequestBody;
pub use watch::{Bookmark, WatchEvent};
