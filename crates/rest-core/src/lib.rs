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
//! The modules, grouped by stage: `config` (what to connect to), `request` (pure URL, query
//! and body building), `params` (option structs as query parameters), `builder` (config to
//! client); `send/` (the send loop of `client`, and `retry`, `throttle`, `backoff` and
//! `observe`: when to send, when to try again, what to tell); `transport/` (the connection
//! pool that drives HTTP/1 on the caller's task, `connect/` with the proxies, `tls`, and
//! `body` and `gzip`: the body as it comes off the connection); `read/` (`response`, `watch`,
//! `list`, `pager`: reading answers); `codec/`
//! (`decode`, `list_body` and `erase`: simd-json with serde_json behind it, and large bodies
//! walked a value at a time; `scan`: the incremental JSON tokenizer under watch and list);
//! [`protobuf`] (envelopes, frames, negotiation); [`upgrade`] (WebSocket upgrades through
//! the same send loop, and exec, attach and port-forward over them); `status` and `error`.
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

mod builder;
mod codec;
mod config;
mod error;
mod gvk;
mod params;
pub mod protobuf;
mod read;
mod request;
mod send;
mod status;
mod transport;
pub mod upgrade;

pub use builder::RestClientBuilder;
pub use config::{
    Auth, ClientCertificateSource, ClientIdentity, Config, CredentialError, CredentialFuture,
    CredentialProvider, DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_EVENT_SIZE, GroupVersion, Impersonate,
    PemSource, Proxy, RateLimit, SecretString, TlsConfig, default_user_agent,
};
pub use error::{BoxError, Error, Result, TransportKind};
pub use gvk::{GroupVersionKind, GroupVersionResource};
pub use params::{
    CreateOptions, DeleteOptions, GetOptions, ListOptions, PatchOptions, Preconditions,
    PropagationPolicy, UpdateOptions, WatchOptions,
};
pub use read::list::{ListMeta, ListStream, ObjectList};
pub use read::pager::{DEFAULT_PAGE_SIZE, Pager};
pub use read::response::Response;
pub use read::watch::{Bookmark, WatchEvent};
pub use request::{PatchType, Request};
pub use send::backoff::BackoffConfig;
pub use send::client::RestClient;
pub use send::observe::{IgnoreWarnings, LogWarningsOnce, Metrics, RequestMetrics, WarningHandler};
pub use send::retry::{Attempt, DefaultRetryPolicy, Outcome, RetryPolicy, retry_after_header};
pub use status::{Status, StatusCause, StatusDetails};
pub use transport::RequestBody;
pub use transport::connect::{Connector, ConnectorStream};
pub use transport::pool::{HttpBody, HttpClient};
pub use transport::tls::MAX_PEM_FILE_SIZE;
