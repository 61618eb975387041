//! kubecto-discovery: what the API server serves, found at run time.
//!
//! client-go's `discovery` package and RESTMapper, over `kubecto-rest-core` (every request
//! goes through its [`RestClient`](kubecto_rest_core::RestClient); this crate has no HTTP
//! of its own and depends on no other kubecto client crate). A [`DiscoveryClient`] asks
//! for the server's version, groups and resources:
//!
//! - **aggregated discovery first**: `/api` and `/apis` with the
//!   `apidiscovery.k8s.io/v2` `Accept` header, two requests for the whole cluster; a server
//!   that answers in the legacy form gets the legacy fan-out, one request per
//!   group-version, [`concurrency`](DiscoveryClientBuilder::concurrency) at a time;
//! - **partial failure is data**, not an error: a [`Discovery`] holds what answered and,
//!   in [`Discovery::failed`], each group-version that did not (a failing request, a stale
//!   aggregated API service) with its own reason;
//! - **caches**: in memory until [`DiscoveryClient::invalidate`], and on disk in kubectl's
//!   layout ([`DiskCache`], `~/.kube/cache/discovery/<host_port>`, six-hour TTL); a fresh
//!   cache answers without a request;
//! - a [`RestMapper`]: kind ↔ resource, plural, singular and short names, preferred
//!   version and scope, refreshing discovery once on a miss.
//!
//! ```no_run
//! use kubecto_discovery::{DiscoveryClient, DiskCache, RestMapper};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = kubecto_rest_core::Config::new("https://127.0.0.1:6443");
//! let discovery = DiscoveryClient::builder(config.clone())
//!     .disk_cache(DiskCache::for_host("/tmp/discovery", &config.host))
//!     .build()?;
//! println!("server {}", discovery.server_version().await?.git_version);
//! let preferred = discovery.server_preferred_resources().await?;
//! for list in &preferred.lists {
//!     for r in &list.resources {
//!         println!("{} {} {}", r.name, list.group_version, r.kind);
//!     }
//! }
//! let mapper = RestMapper::new(discovery);
//! let deploy = mapper.resource_for("deploy").await?;
//! println!("{} is {}", deploy.resource, deploy.kind);
//! # Ok(()) }
//! ```

mod builder;
mod client;
mod disk;
mod error;
mod fetch;
mod mapper;
mod snapshot;
mod types;

pub use builder::{DEFAULT_DISCOVERY_TIMEOUT, DiscoveryClientBuilder};
pub use client::{DEFAULT_CONCURRENCY, DiscoveryClient};
pub use disk::{DEFAULT_TTL, DiskCache, sanitize_host};
pub use error::{Error, FailedGroupVersions, GroupVersionError, Result};
pub use fetch::AGGREGATED_ACCEPT;
pub use kubecto_rest_core::GroupVersion;
pub use kubecto_rest_core::{GroupVersionKind, GroupVersionResource};
pub use mapper::{RestMapper, RestMapping, Scope};
pub use snapshot::{Discovery, PreferredResources, Source};
pub use types::{
    ApiGroup, ApiGroupList, ApiResource, ApiResourceList, ApiVersions, GroupVersionForDiscovery,
    ServerVersion,
};
