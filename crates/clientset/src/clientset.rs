//! [`Clientset`]: one [`RestClient`] and an accessor per group-version (generated in
//! `generated/`).

use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope, Resource};
use kubecto_rest_core::{Config, RestClient, Result};

use crate::api::{AllNamespaces, Api};

/// Typed clients for every built-in resource, one accessor per group-version:
/// `core_v1()`, `apps_v1()`, `networking_v1()`... (see the crate docs for the naming
/// rule). Every group client of one clientset shares one [`RestClient`]: one connection
/// pool, one client-side rate limiter, one backoff, as client-go's clientset does.
/// Cloning is cheap.
#[derive(Clone, Debug)]
pub struct Clientset {
    client: RestClient,
}

impl Clientset {
    /// A clientset for `config`. Its `api_path` and group/version do not matter: every
    /// request names its own `/api/v1` or `/apis/{group}/{version}` path.
    ///
    /// # Errors
    /// As [`RestClient::new`].
    pub fn new(config: Config) -> Result<Self> {
        Ok(Self::from_client(RestClient::new(config)?))
    }

    /// A clientset over an existing client (for example one built with a custom retry
    /// policy or tower service), sharing its pool and rate limiter.
    pub fn from_client(client: RestClient) -> Self {
        Self { client }
    }

    /// A clientset for the current context of the kubeconfig at `path` (or the default
    /// loading rules: `$KUBECONFIG`, then `~/.kube/config`), and that context's namespace.
    ///
    /// # Errors
    /// [`Error::Config`](kubecto_rest_core::Error::Config) carrying the kubeconfig error,
    /// or as [`RestClient::new`].
    #[cfg(feature = "config")]
    pub fn from_kubeconfig(path: Option<&std::path::Path>) -> Result<(Self, String)> {
        let to_err = |e: kubecto_config::Error| kubecto_rest_core::Error::Config {
            what: "cannot load the kubeconfig".to_owned(),
            source: Some(Box::new(e)),
        };
        let selected =
            kubecto_config::load(path, &kubecto_config::Overrides::default()).map_err(to_err)?;
        let config = selected.rest_config().map_err(to_err)?;
        Ok((Self::new(config)?, selected.namespace().to_owned()))
    }

    /// The REST client every group client shares.
    pub fn rest_client(&self) -> &RestClient {
        &self.client
    }

    /// A typed client for any namespaced kind `K` in `namespace`, built-in or custom.
    pub fn namespaced<K: Resource<Scope = NamespaceResourceScope> + 'static>(
        &self,
        namespace: &str,
    ) -> Api<K> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// A typed client for any cluster-scoped kind `K`, built-in or custom.
    pub fn cluster<K: Resource<Scope = ClusterResourceScope> + 'static>(&self) -> Api<K> {
        Api::cluster(self.client.clone())
    }

    /// A list-and-watch client for any namespaced kind `K` across every namespace.
    pub fn all_namespaces<K: Resource<Scope = NamespaceResourceScope> + 'static>(
        &self,
    ) -> AllNamespaces<K> {
        AllNamespaces::new(self.client.clone())
    }
}
