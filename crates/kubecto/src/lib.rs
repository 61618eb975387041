//! kubecto: a Kubernetes client for Rust, layered as client-go is.
//!
//! This crate is only a facade: one dependency that re-exports kubecto's layers behind
//! features, so an application adds `kubecto` and a library can still depend on the one
//! layer it needs (`kubecto-rest-core` alone, say) and pull in nothing else.
//!
//! | feature | module | crate | what it is |
//! |---|---|---|---|
//! | `rest` (default) | `kubecto::rest` | `kubecto-rest-core` | `Config`, `RestClient`, requests, retry, rate limits, watch, pager |
//! | `config` (default) | `kubecto::config` | `kubecto-config` | kubeconfig loading (KUBECONFIG merge, contexts), credentials |
//! | `clientset` (default) | `kubecto::clientset` | `kubecto-clientset` | typed clients for every built-in resource, `Api<K>` for any |
//! | `dynamic` | `kubecto::dynamic` | `kubecto-dynamic` | any group/version/resource as `Unstructured` objects |
//! | `discovery` | `kubecto::discovery` | `kubecto-discovery` | server version, groups, resources, caches, RESTMapper |
//! | `runtime` | `kubecto::runtime` | `kubecto-runtime` | informers, work queue, controllers, leader election, events |
//!
//! Every layer stands on `kubecto-rest-core`, so the layer features turn on `rest`.
//!
//! With `clientset`, the Kubernetes types are `k8s-openapi`'s (re-exported as
//! `kubecto::k8s_openapi`); like every library, kubecto picks no Kubernetes version: your binary
//! enables exactly one, e.g. `k8s-openapi = { version = "0.29", features = ["v1_36"] }`.
//!
//! ```no_run
//! # #[cfg(all(feature = "config", feature = "clientset"))]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use kubecto::Clientset;
//! use kubecto::rest::ListOptions;
//!
//! let context = kubecto::config::load(None, &Default::default())?;
//! let clientset = Clientset::new(context.rest_config()?)?;
//! let pods = clientset.core_v1().pods(context.namespace());
//! for pod in pods.list(&ListOptions::new()).await?.items {
//!     println!("{}", pod.metadata.name.unwrap_or_default());
//! }
//! # Ok(()) }
//! ```

#[cfg(feature = "rest")]
pub use kubecto_rest_core as rest;

#[cfg(feature = "rest")]
pub use kubecto_rest_core::{Config, Error, RestClient, Result};

#[cfg(feature = "config")]
pub use kubecto_config as config;

#[cfg(feature = "clientset")]
pub use kubecto_clientset as clientset;

#[cfg(feature = "clientset")]
pub use kubecto_clientset::{AllNamespaces, Api, Clientset};

#[cfg(feature = "clientset")]
pub use k8s_openapi;

#[cfg(feature = "discovery")]
pub use kubecto_discovery as discovery;

#[cfg(feature = "dynamic")]
pub use kubecto_dynamic as dynamic;

#[cfg(feature = "runtime")]
pub use kubecto_runtime as runtime;
