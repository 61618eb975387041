//! [`DynamicClient`] and scope markers: one rest-core client for every group-version, and
//! per-resource handles whose type says whether a namespace is addressed.

use std::fmt;

use kubecto_rest_core::{Config, RestClient};

use crate::error::{Error, Result};
use crate::resource::DynamicResource;
use kubecto_rest_core::GroupVersionResource;

/// A client for any resource of one API server, on [`Unstructured`](crate::Unstructured)
/// objects. It is one rest-core [`RestClient`] (one connection pool, one rate limiter)
/// shared by every [`DynamicResource`] it hands out; cloning is cheap.
///
/// ```no_run
/// # async fn run() -> Result<(), kubecto_dynamic::Error> {
/// use kubecto_dynamic::{DynamicClient, GroupVersionResource};
/// use kubecto_rest_core::{Config, ListOptions};
///
/// let client = DynamicClient::new(&Config::new("https://127.0.0.1:6443"))?;
/// let deployments = GroupVersionResource::new("apps", "v1", "deployments");
/// let list = client
///     .resource(&deployments)
///     .namespace("default")
///     .list(&ListOptions::new())
///     .await?;
/// for d in &list.items {
///     println!("{:?} wants {:?} replicas", d.name(), d.nested_i64(&["spec", "replicas"]));
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct DynamicClient {
    rest: RestClient,
}

impl DynamicClient {
    /// A client for the server `config` points at. The config's API path and
    /// group/version do not matter: every resource handle names its own.
    ///
    /// # Errors
    /// [`Error::Client`] when rest-core cannot build a client from the config.
    pub fn new(config: &Config) -> Result<Self> {
        RestClient::for_config(config)
            .map(Self::from_rest_client)
            .map_err(|e| Error::Client(Box::new(e)))
    }

    /// A client over an existing rest-core client (sharing its pool, rate limiter, retry
    /// policy and warning handler).
    pub fn from_rest_client(rest: RestClient) -> Self {
        Self { rest }
    }

    /// The rest-core client underneath.
    pub fn rest_client(&self) -> &RestClient {
        &self.rest
    }

    /// A handle on one resource, without a namespace: a cluster-scoped resource, or a
    /// namespaced one across all namespaces (list, watch). Call
    /// [`namespace`](DynamicResource::namespace) to address one namespace.
    pub fn resource(&self, gvr: impl Into<GroupVersionResource>) -> DynamicResource<Cluster> {
        DynamicResource::new(self.rest.clone(), gvr.into(), Cluster)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Cluster {}
    impl Sealed for super::Namespaced {}
}

/// Where a [`DynamicResource`] points: [`Cluster`] or [`Namespaced`]. Sealed.
pub trait Scope: sealed::Sealed + Clone + fmt::Debug + Send + Sync + 'static {
    /// The namespace addressed, if any.
    fn namespace(&self) -> Option<&str>;
}

/// No namespace in the URL: a cluster-scoped resource (`nodes`), or every namespace of a
/// namespaced one (list and watch `pods` everywhere).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cluster;

/// One namespace: `/namespaces/{ns}/...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespaced(pub(crate) String);

impl Namespaced {
    /// The namespace.
    pub fn name(&self) -> &str {
        &self.0
    }
}

impl Scope for Cluster {
    fn namespace(&self) -> Option<&str> {
        None
    }
}

impl Scope for Namespaced {
    fn namespace(&self) -> Option<&str> {
        Some(&self.0)
    }
}
