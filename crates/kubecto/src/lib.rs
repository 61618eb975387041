//! kubecto: a Kubernetes client for Rust, layered as client-go is.
//!
//! This crate is only a facade: one dependency that re-exports kubecto's layers behind
//! features, so an application adds `kubecto` and a library can still depend on the one
//! layer it needs (`kubecto-rest-core` alone, say) and pull in nothing else.
//!
//! | feature (all default) | module | crate | what it is |
//! |---|---|---|---|
//! | `rest` | `kubecto::rest` | `kubecto-rest-core` | `Config`, `RestClient`, requests, retry, rate limits, watch, pager |
//! | `config` | `kubecto::config` | `kubecto-config` | kubeconfig loading (KUBECONFIG merge, contexts), credentials, in-cluster |
//! | `clientset` | `kubecto::clientset` | `kubecto-clientset` | typed clients for every built-in resource, `Api<K>` for any |
//! | `dynamic` | `kubecto::dynamic` | `kubecto-dynamic` | any group/version/resource as `Unstructured` objects |
//! | `discovery` | `kubecto::discovery` | `kubecto-discovery` | server version, groups, resources, caches, RESTMapper |
//! | `runtime` | `kubecto::runtime` | `kubecto-runtime` | informers, work queue, controllers, leader election, events |
//!
//! Every layer stands on `kubecto-rest-core`, so the layer features turn on `rest`. All are
//! on by default; `default-features = false` with a list of features keeps only those.
//!
//! With `clientset`, the Kubernetes types are `k8s-openapi`'s (re-exported as
//! `kubecto::k8s_openapi`); like every library, kubecto picks no Kubernetes version: your
//! binary enables exactly one. A program's `Cargo.toml`:
//!
//! ```toml
//! [dependencies]
//! kubecto = "0.1"
//! k8s-openapi = { version = "0.29", features = ["v1_36"] }   # the Kubernetes version
//! tokio = { version = "1", features = ["rt-multi-thread", "macros"] }
//! ```
//!
//! and its `main`, which lists the pods of the current context's namespace, finding the
//! configuration as kubectl does (`$KUBECONFIG`, else `~/.kube/config`, else the pod's
//! service account; see [`config::from_flags`] for a `--kubeconfig` flag):
//!
//! ```no_run
//! # #[cfg(all(feature = "config", feature = "clientset"))]
//! # mod program {
//! use kubecto::Clientset;
//! use kubecto::rest::ListOptions;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let found = kubecto::config::infer().await?;
//!     let clientset = Clientset::new(found.config)?;
//!     let pods = clientset.core_v1().pods(&found.namespace);
//!     for pod in pods.list(&ListOptions::new()).await?.items {
//!         println!("{}", pod.metadata.name.unwrap_or_default());
//!     }
//!     Ok(())
//! }
//! # }
//! # fn main() {}
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "rest")]
#[cfg_attr(docsrs, doc(cfg(feature = "rest")))]
pub use kubecto_rest_core as rest;

#[cfg(feature = "rest")]
#[cfg_attr(docsrs, doc(cfg(feature = "rest")))]
pub use kubecto_rest_core::{Config, Error, RestClient, Result};

#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
pub use kubecto_config as config;

#[cfg(feature = "clientset")]
#[cfg_attr(docsrs, doc(cfg(feature = "clientset")))]
pub use kubecto_clientset as clientset;

#[cfg(feature = "clientset")]
#[cfg_attr(docsrs, doc(cfg(feature = "clientset")))]
pub use kubecto_clientset::{AllNamespaces, Api, Clientset};

#[cfg(feature = "clientset")]
#[cfg_attr(docsrs, doc(cfg(feature = "clientset")))]
pub use k8s_openapi;

#[cfg(feature = "discovery")]
#[cfg_attr(docsrs, doc(cfg(feature = "discovery")))]
pub use kubecto_discovery as discovery;

#[cfg(feature = "dynamic")]
#[cfg_attr(docsrs, doc(cfg(feature = "dynamic")))]
pub use kubecto_dynamic as dynamic;

#[cfg(feature = "runtime")]
#[cfg_attr(docsrs, doc(cfg(feature = "runtime")))]
pub use kubecto_runtime as runtime;

/// The README's Rust snippets, compiled (and run where they may) as doc tests of this
/// crate, so the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
