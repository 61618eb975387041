//! [`DiscoveryClientBuilder`]: how a [`DiscoveryClient`] talks (aggregated or legacy,
//! fan-out width, disk cache) and the rest-core client it is built on.

use std::time::Duration;

use kubecto_rest_core::{Config, RateLimit, RestClient};

use crate::client::{DEFAULT_CONCURRENCY, DiscoveryClient};
use crate::disk::DiskCache;
use crate::error::{Error, Result};

/// kubectl raises the burst of its discovery client to 300 so a legacy fan-out over a
/// cluster with many CRDs is not throttled; so do we.
const DISCOVERY_BURST: u32 = 300;

/// The timeout of each discovery request when the config sets none: client-go's 32 s
/// (also sent as `?timeout=32s`), so one group-version that never answers is reported as
/// failed instead of hanging the whole discovery.
pub const DEFAULT_DISCOVERY_TIMEOUT: Duration = Duration::from_secs(32);

/// Options for a [`DiscoveryClient`].
#[must_use]
#[derive(Debug)]
pub struct DiscoveryClientBuilder {
    config: Config,
    aggregated: bool,
    concurrency: usize,
    disk: Option<DiskCache>,
}

impl DiscoveryClientBuilder {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            config,
            aggregated: true,
            concurrency: DEFAULT_CONCURRENCY,
            disk: None,
        }
    }

    /// Whether to ask for aggregated discovery (default true). Off, the client uses only
    /// the legacy endpoints, as against a server older than 1.26.
    pub fn aggregated(mut self, yes: bool) -> Self {
        self.aggregated = yes;
        self
    }

    /// How many legacy group-version requests run at once (default
    /// [`DEFAULT_CONCURRENCY`]; at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Caches answers on disk.
    pub fn disk_cache(mut self, cache: DiskCache) -> Self {
        self.disk = Some(cache);
        self
    }

    /// Caches answers on disk where kubectl does: `~/.kube/cache/discovery/<host_port>`
    /// (no disk cache if there is no home directory).
    pub fn default_disk_cache(mut self) -> Self {
        self.disk = DiskCache::default_for_host(&self.config.host);
        self
    }

    /// Builds the client. Each request times out after the config's timeout, or
    /// [`DEFAULT_DISCOVERY_TIMEOUT`] when it sets none.
    ///
    /// # Errors
    /// [`Error::Client`] when rest-core cannot build a client from the config.
    pub fn build(self) -> Result<DiscoveryClient> {
        let mut config = self.config;
        config.timeout = config.timeout.or(Some(DEFAULT_DISCOVERY_TIMEOUT));
        if let Some(RateLimit { qps, burst }) = config.rate_limit {
            config.rate_limit = Some(RateLimit {
                qps,
                burst: burst.max(DISCOVERY_BURST),
            });
        }
        let rest = RestClient::new(config).map_err(|e| Error::Client(Box::new(e)))?;
        let mut client = DiscoveryClient::from_rest_client(rest)
            .with_concurrency(self.concurrency)
            .with_aggregated(self.aggregated);
        if let Some(disk) = self.disk {
            client = client.with_disk_cache(disk);
        }
        Ok(client)
    }
}
