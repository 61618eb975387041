//! [`DiscoveryClient`]: the public entry point, with its memory cache and optional disk
//! cache in front of [`fetch`](crate::fetch).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use kubecto_rest_core::{Config, GroupVersion, RestClient};

use crate::builder::DiscoveryClientBuilder;

use crate::disk::DiskCache;
use crate::error::{Error, FailedGroupVersions, GroupVersionError, Result};
use crate::fetch;
use crate::snapshot::{Discovery, PreferredResources, Source};
use crate::types::{ApiGroupList, ApiResourceList, ServerVersion};

/// How many legacy group-version requests run at once by default.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// Asks an API server what it serves, caching the answer.
///
/// A full discovery is two requests against a server that speaks aggregated discovery
/// (every Kubernetes since 1.30), and one request per group-version otherwise (run
/// [`concurrency`](DiscoveryClientBuilder::concurrency) at a time). The answer is kept in
/// memory until [`invalidate`](Self::invalidate), and on disk when a [`DiskCache`] is set;
/// while either is fresh, no request is made. Cloning is cheap and clones share the cache.
///
/// ```no_run
/// # async fn run() -> Result<(), kubecto_discovery::Error> {
/// use kubecto_discovery::DiscoveryClient;
/// let config = kubecto_rest_core::Config::new("https://127.0.0.1:6443");
/// let discovery = DiscoveryClient::new(&config)?;
/// let all = discovery.server_groups_and_resources().await?;
/// for (gv, why) in all.failed().iter() {
///     eprintln!("{gv} could not be discovered: {why}");
/// }
/// for list in all.resources() {
///     println!("{}: {} resources", list.group_version, list.resources.len());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct DiscoveryClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    rest: RestClient,
    /// Ask for aggregated discovery (the Accept header is set on each root request).
    aggregated: bool,
    concurrency: usize,
    disk: Option<DiskCache>,
    memory: Mutex<Option<Arc<Discovery>>>,
    /// Whether the memory snapshot was fetched from the server since the last invalidate.
    fresh: AtomicBool,
    /// Set by `invalidate`: the next load ignores the disk cache and rewrites it.
    disk_invalidated: AtomicBool,
    /// One refresh at a time; concurrent callers wait and share its result.
    refresh: tokio::sync::Mutex<()>,
}

impl DiscoveryClient {
    /// A client for the server `config` points at, asking for aggregated discovery and
    /// caching in memory. The config's group/version and API path do not matter.
    ///
    /// # Errors
    /// [`Error::Client`] when rest-core cannot build a client from the config.
    pub fn new(config: &Config) -> Result<Self> {
        Self::builder(config.clone()).build()
    }

    /// Options: legacy only, concurrency, disk cache.
    pub fn builder(config: Config) -> DiscoveryClientBuilder {
        DiscoveryClientBuilder::new(config)
    }

    /// A client over an existing rest-core client (sharing its connection pool and rate
    /// limiter). It asks for aggregated discovery on its own requests, whatever the
    /// client's default `Accept`, and falls back to the legacy form when the server
    /// does not speak it.
    pub fn from_rest_client(rest: RestClient) -> Self {
        Self {
            inner: Arc::new(Inner {
                rest,
                aggregated: true,
                concurrency: DEFAULT_CONCURRENCY,
                disk: None,
                memory: Mutex::new(None),
                fresh: AtomicBool::new(false),
                disk_invalidated: AtomicBool::new(false),
                refresh: tokio::sync::Mutex::new(()),
            }),
        }
    }

    fn rebuild(self, f: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = match Arc::try_unwrap(self.inner) {
            Ok(inner) => inner,
            Err(shared) => Inner {
                rest: shared.rest.clone(),
                aggregated: shared.aggregated,
                concurrency: shared.concurrency,
                disk: shared.disk.clone(),
                memory: Mutex::new(None),
                fresh: AtomicBool::new(false),
                disk_invalidated: AtomicBool::new(false),
                refresh: tokio::sync::Mutex::new(()),
            },
        };
        f(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Sets how many legacy group-version requests run at once.
    #[must_use]
    pub fn with_concurrency(self, n: usize) -> Self {
        self.rebuild(|i| i.concurrency = n.max(1))
    }

    /// Whether to ask for aggregated discovery (the default) or only the legacy
    /// documents.
    #[must_use]
    pub fn with_aggregated(self, yes: bool) -> Self {
        self.rebuild(|i| i.aggregated = yes)
    }

    /// Caches answers on disk.
    #[must_use]
    pub fn with_disk_cache(self, cache: DiskCache) -> Self {
        self.rebuild(|i| i.disk = Some(cache))
    }

    /// The disk cache, if any.
    pub fn disk_cache(&self) -> Option<&DiskCache> {
        self.inner.disk.as_ref()
    }

    /// The rest-core client discovery sends through.
    pub fn rest_client(&self) -> &RestClient {
        &self.inner.rest
    }

    /// Forgets the memory cache and marks the disk cache stale: the next call asks the
    /// server and rewrites the disk cache.
    pub fn invalidate(&self) {
        *lock(&self.inner.memory) = None;
        self.inner.fresh.store(false, Ordering::SeqCst);
        self.inner.disk_invalidated.store(true, Ordering::SeqCst);
    }

    /// Whether the cached answer was fetched from the server since the last
    /// [`invalidate`](Self::invalidate) (rather than read from disk, or not yet fetched).
    /// A RESTMapper miss on fresh data is a real miss; on stale data it is worth a refresh.
    pub fn fresh(&self) -> bool {
        self.inner.fresh.load(Ordering::SeqCst) && lock(&self.inner.memory).is_some()
    }

    /// `GET /version`: the server's version (never cached).
    ///
    /// # Errors
    /// [`Error::Request`] naming `/version`.
    pub async fn server_version(&self) -> Result<ServerVersion> {
        let resp = self
            .inner
            .rest
            .get()
            .abs_path("/version")
            .send()
            .await
            .map_err(|source| Error::Request {
                path: "/version".to_owned(),
                source: Box::new(source),
            })?;
        resp.into().await.map_err(|source| Error::Request {
            path: "/version".to_owned(),
            source: Box::new(source),
        })
    }

    /// The groups the server serves, core group first. Two requests at most (`/api`,
    /// `/apis`); against an aggregated server those also fill the resource cache.
    ///
    /// # Errors
    /// [`Error::Request`] when `/api` or `/apis` fails (other than 404/403).
    pub async fn server_groups(&self) -> Result<ApiGroupList> {
        if let Some(d) = self.cached() {
            return Ok(d.groups.clone());
        }
        if let Some(groups) = self.disk_groups() {
            return Ok(groups);
        }
        let _guard = self.inner.refresh.lock().await;
        if let Some(d) = self.cached() {
            return Ok(d.groups.clone());
        }
        let roots = fetch::roots(&self.inner.rest, self.inner.aggregated).await?;
        if roots.aggregated {
            let d = fetch::assemble(
                roots.groups,
                roots.resources,
                [roots.failed],
                Source::Aggregated,
            );
            let groups = d.groups.clone();
            self.store(d, true);
            return Ok(groups);
        }
        Ok(ApiGroupList::new(roots.groups))
    }

    /// The resources of one group-version (`GET /apis/{group}/{version}`), from the cache
    /// when it holds them.
    ///
    /// # Errors
    /// [`Error::Request`] naming the path; `is_not_found()` when the server does not serve
    /// that group-version.
    pub async fn server_resources_for_group_version(
        &self,
        gv: &GroupVersion,
    ) -> Result<ApiResourceList> {
        if let Some(list) = self.cached().and_then(|d| d.resources_for(gv).cloned()) {
            return Ok(list);
        }
        if !self.inner.disk_invalidated.load(Ordering::SeqCst)
            && let Some(list) = self.inner.disk.as_ref().and_then(|c| c.read_resources(gv))
        {
            return Ok(list);
        }
        let list = fetch::resources_for(&self.inner.rest, gv).await?;
        if let Some(disk) = &self.inner.disk {
            warn_cache(disk.write_resources(&list));
        }
        Ok(list)
    }

    /// Every group, version and resource, with the group-versions that failed listed in
    /// [`Discovery::failed`] instead of failing the whole answer. Answered from memory while
    /// cached, else from fresh disk files, else from the server; a cached answer whose
    /// group-version requests failed asks again for those alone (a stale aggregated group
    /// is not asked again until [`invalidate`](Self::invalidate)).
    ///
    /// # Errors
    /// [`Error::Request`] only when the root documents (`/api`, `/apis`) cannot be read.
    pub async fn server_groups_and_resources(&self) -> Result<Arc<Discovery>> {
        if let Some(d) = self.cached()
            && !has_retryable(&d)
        {
            return Ok(d);
        }
        let _guard = self.inner.refresh.lock().await;
        if let Some(d) = self.cached() {
            if !has_retryable(&d) {
                return Ok(d);
            }
            return Ok(self.retry_failed(&d).await);
        }
        if let Some(d) = self.load_from_disk().await {
            return Ok(self.store(d, false));
        }
        let d = fetch::discover(
            &self.inner.rest,
            self.inner.concurrency,
            self.inner.aggregated,
        )
        .await?;
        if let Some(disk) = &self.inner.disk {
            write_to_disk(disk, &d);
            self.inner.disk_invalidated.store(false, Ordering::SeqCst);
        }
        Ok(self.store(d, true))
    }

    /// client-go's `ServerPreferredResources`: each resource once, in its group's preferred
    /// version, grouped by group-version; plus the failed group-versions.
    ///
    /// # Errors
    /// As [`server_groups_and_resources`](Self::server_groups_and_resources).
    pub async fn server_preferred_resources(&self) -> Result<PreferredResources> {
        let d = self.server_groups_and_resources().await?;
        Ok(PreferredResources {
            lists: d.preferred_resources(),
            failed: d.failed.clone(),
        })
    }

    /// [`server_preferred_resources`](Self::server_preferred_resources) keeping only
    /// namespaced resources.
    ///
    /// # Errors
    /// As [`server_groups_and_resources`](Self::server_groups_and_resources).
    pub async fn server_preferred_namespaced_resources(&self) -> Result<PreferredResources> {
        let mut p = self.server_preferred_resources().await?;
        for list in &mut p.lists {
            list.resources.retain(|r| r.namespaced);
        }
        Ok(p)
    }

    /// Asks again for the group-versions whose request failed (as client-go's memory cache
    /// does for transient errors) and merges what answers into the cached snapshot.
    async fn retry_failed(&self, d: &Discovery) -> Arc<Discovery> {
        let (retry, keep): (Vec<_>, Vec<_>) = d
            .failed
            .iter()
            .partition(|(_, e)| matches!(e, GroupVersionError::Request { .. }));
        let gvs: Vec<GroupVersion> = retry.into_iter().map(|(gv, _)| gv.clone()).collect();
        let (fetched, still_failed) =
            fetch::fan_out(&self.inner.rest, &gvs, self.inner.concurrency).await;
        if let Some(disk) = &self.inner.disk {
            for list in &fetched {
                warn_cache(disk.write_resources(list));
            }
        }
        let mut kept = FailedGroupVersions::default();
        for (gv, e) in keep {
            kept.push(gv.clone(), e.clone());
        }
        let merged = fetch::assemble(
            d.groups.groups.clone(),
            d.resources.iter().cloned().chain(fetched).collect(),
            [kept, still_failed],
            d.source,
        );
        let live = self.inner.fresh.load(Ordering::SeqCst);
        self.store(merged, live)
    }

    fn cached(&self) -> Option<Arc<Discovery>> {
        lock(&self.inner.memory).clone()
    }

    fn store(&self, d: Discovery, live: bool) -> Arc<Discovery> {
        let d = Arc::new(d);
        *lock(&self.inner.memory) = Some(Arc::clone(&d));
        self.inner.fresh.store(live, Ordering::SeqCst);
        d
    }

    fn disk_groups(&self) -> Option<ApiGroupList> {
        if self.inner.disk_invalidated.load(Ordering::SeqCst) {
            return None;
        }
        self.inner.disk.as_ref()?.read_groups()
    }

    /// A snapshot from fresh disk files; group-versions whose file is missing or stale are
    /// fetched live (and written back). `None` when the group list itself is not cached.
    async fn load_from_disk(&self) -> Option<Discovery> {
        let disk = self.inner.disk.as_ref()?;
        let groups = self.disk_groups()?;
        let mut resources = Vec::new();
        let mut missing = Vec::new();
        for gv in groups.group_versions() {
            match disk.read_resources(&gv) {
                Some(list) => resources.push(list),
                None => missing.push(gv),
            }
        }
        let (fetched, failed) =
            fetch::fan_out(&self.inner.rest, &missing, self.inner.concurrency).await;
        for list in &fetched {
            warn_cache(disk.write_resources(list));
        }
        resources.extend(fetched);
        Some(fetch::assemble(
            groups.groups,
            resources,
            [failed],
            Source::DiskCache,
        ))
    }
}

/// Whether a snapshot holds failures worth asking again about (failed requests; a stale
/// aggregated group is the server's own verdict and is not retried until invalidated).
fn has_retryable(d: &Discovery) -> bool {
    d.failed
        .iter()
        .any(|(_, e)| matches!(e, GroupVersionError::Request { .. }))
}

fn write_to_disk(disk: &DiskCache, d: &Discovery) {
    warn_cache(disk.write_groups(&d.groups));
    for list in &d.resources {
        warn_cache(disk.write_resources(list));
    }
}

fn warn_cache(r: Result<()>) {
    if let Err(e) = r {
        tracing::warn!(target: "kubecto::discovery", "cannot write the discovery cache: {e}");
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
