//! The reflector (client-go's `tools/cache` `Reflector`): keeps a [`Store`] equal to the
//! server's collection by listing, then watching.
//!
//! - **Sync.** A streaming list first (`watch` with `sendInitialEvents=true`,
//!   `resourceVersionMatch=NotOlderThan` and bookmarks: the server sends the objects as
//!   ADDED events and a BOOKMARK annotated `k8s.io/initial-events-end`), client-go's
//!   default since 1.35. If the server refuses it (a 4xx such as 422 Invalid from a server
//!   without the feature), or ignores it (a server older than 1.27, or a proxy that drops
//!   the parameter: the watch sends events, or a plain bookmark, but no end bookmark before
//!   it ends or goes quiet for [`ReflectorConfig::initial_events_timeout`]), the reflector
//!   remembers that and uses a paged LIST (500 a page) from then on; any other failure of a
//!   streaming list falls back to a LIST that once.
//! - **Watch.** From the last resourceVersion seen (objects and bookmarks), with a
//!   server-side timeout of 5 to 10 minutes. When the stream ends (server timeout, dropped
//!   connection, truncated body, an undecodable event) the watch starts again from that
//!   resourceVersion, without listing; only 410 Expired/Gone lists again.
//! - **Backoff.** Failures wait as [`BackoffConfig`] says (client-go: 800 ms doubling to
//!   30 s, with jitter, reset after two healthy minutes); a watch that ends at once with
//!   nothing in it counts as a failure, so a server that closes every watch is not hammered.
//!
//! What the reflector sees goes to a sink: the store alone ([`Reflector`]) or a shared
//! informer, which also tells its handlers.

mod backoff;
mod source;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use kubecto_rest_core::{Error as RestError, WatchEvent};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::time::Instant;

pub use self::backoff::BackoffConfig;
pub use self::source::ListWatch;
use crate::shutdown::Shutdown;
use crate::store::Store;

/// Watch events applied between two yields to the scheduler.
const YIELD_EVERY: usize = 64;

/// The annotation of the bookmark that ends a streaming list's initial events.
const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// How a reflector lists and watches (client-go's defaults from [`Default`]).
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct ReflectorConfig {
    /// Try a streaming list before a paged LIST (default `true`).
    pub streaming_list: bool,
    /// Items per LIST page (500).
    pub page_size: u64,
    /// The shortest server-side watch timeout; each watch asks for between this and twice
    /// this (client-go: 5 minutes).
    pub min_watch_timeout: Duration,
    /// How long a streaming list may go without an event before its end bookmark: past
    /// it, the server is taken to ignore `sendInitialEvents` (10 s; kube-apiserver sends
    /// the bookmark right after the objects, waiting at most 3 s for its cache).
    pub initial_events_timeout: Duration,
    /// How failures back off.
    pub backoff: BackoffConfig,
}

impl Default for ReflectorConfig {
    fn default() -> Self {
        Self {
            streaming_list: true,
            page_size: 500,
            min_watch_timeout: Duration::from_secs(300),
            initial_events_timeout: Duration::from_secs(10),
            backoff: BackoffConfig::default(),
        }
    }
}

impl ReflectorConfig {
    /// Whether to try a streaming list first.
    #[must_use]
    pub fn streaming_list(mut self, yes: bool) -> Self {
        self.streaming_list = yes;
        self
    }

    /// Items per LIST page.
    #[must_use]
    pub fn page_size(mut self, n: u64) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// The shortest server-side watch timeout (at least one second).
    #[must_use]
    pub fn min_watch_timeout(mut self, t: Duration) -> Self {
        self.min_watch_timeout = t.max(Duration::from_secs(1));
        self
    }

    /// How long a streaming list may go quiet before its end bookmark (at least 1 ms).
    #[must_use]
    pub fn initial_events_timeout(mut self, t: Duration) -> Self {
        self.initial_events_timeout = t.max(Duration::from_millis(1));
        self
    }

    /// How failures back off.
    #[must_use]
    pub fn backoff(mut self, backoff: BackoffConfig) -> Self {
        self.backoff = backoff;
        self
    }
}

/// Where a reflector's findings go. The store's own sink just applies them; a shared
/// informer's also tells its handlers.
pub(crate) trait Sink<K>: Send + Sync + 'static {
    /// The whole collection, listed afresh.
    fn replace(&self, items: Vec<Arc<K>>);
    /// An ADDED or MODIFIED object.
    fn upsert(&self, obj: Arc<K>);
    /// A DELETED object (its last state).
    fn delete(&self, obj: Arc<K>);
    /// A handler's queue that is too long, and the length to wait for before going on
    /// (a shared informer's; the store alone has none).
    fn congested(&self) -> Option<(Arc<crate::informer::Backlog>, usize)> {
        None
    }
}

impl<K: Send + Sync + 'static> Sink<K> for Store<K> {
    fn replace(&self, items: Vec<Arc<K>>) {
        Store::replace(self, items);
    }
    fn upsert(&self, obj: Arc<K>) {
        self.insert_arc(obj);
    }
    fn delete(&self, obj: Arc<K>) {
        self.remove(&self.key_of(&obj));
    }
}

/// Keeps a [`Store`] equal to a collection on the server. Most code wants a shared
/// informer (which owns a reflector); use this for a cache without handlers.
///
/// ```no_run
/// # async fn run(pods: kubecto_clientset::Api<k8s_openapi::api::core::v1::Pod>) {
/// use kubecto_runtime::{Shutdown, Store};
/// use kubecto_runtime::watcher::{ListWatch, Reflector};
///
/// let store = Store::new();
/// let reflector = Reflector::new(ListWatch::new(&pods), store.clone());
/// let synced = reflector.synced();
/// let stop = Shutdown::new();
/// tokio::spawn(reflector.run(stop.clone()));
/// synced.wait().await;
/// println!("{} pods", store.len());
/// # }
/// ```
pub struct Reflector<K> {
    source: ListWatch<K>,
    store: Store<K>,
    sink: Arc<dyn Sink<K>>,
    config: ReflectorConfig,
    synced: watch::Sender<bool>,
}

impl<K> std::fmt::Debug for Reflector<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reflector")
            .field("source", &self.source)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Whether a reflector has filled its store once; cheap to clone.
#[derive(Clone, Debug)]
pub struct Synced {
    rx: watch::Receiver<bool>,
}

impl Synced {
    /// Whether the first list (or streaming list) is in the store.
    pub fn has_synced(&self) -> bool {
        *self.rx.borrow()
    }

    /// Waits until [`has_synced`](Self::has_synced) (forever if the reflector never
    /// syncs; see [`wait_timeout`](Self::wait_timeout)).
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// Waits until synced or `timeout`; whether it synced.
    pub async fn wait_timeout(&self, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, self.wait()).await.is_ok()
    }
}

/// How one watch ended.
enum Ended {
    /// The server closed it or the connection went: resume from the last version.
    Closed { events: usize },
    /// 410: the version is too old; list again.
    Expired,
    /// An error: back off, then resume.
    Failed(RestError),
}

/// Why a streaming list did not sync.
enum StreamingFailed {
    /// The server refuses or ignores streaming lists: use LIST from now on.
    Unsupported(String),
    /// Something else went wrong; fall back to a LIST this time.
    Other(String),
}

type Events<K> = BoxStream<'static, Result<WatchEvent<K>, RestError>>;

impl<K> Reflector<K>
where
    K: DeserializeOwned + Send + Sync + 'static,
{
    /// A reflector filling `store` from `source`, with client-go's defaults.
    pub fn new(source: ListWatch<K>, store: Store<K>) -> Self {
        let sink: Arc<dyn Sink<K>> = Arc::new(store.clone());
        Self::with_sink(source, store, sink)
    }

    pub(crate) fn with_sink(source: ListWatch<K>, store: Store<K>, sink: Arc<dyn Sink<K>>) -> Self {
        Self {
            source,
            store,
            sink,
            config: ReflectorConfig::default(),
            synced: watch::channel(false).0,
        }
    }

    /// The same reflector with other settings.
    #[must_use]
    pub fn config(mut self, config: ReflectorConfig) -> Self {
        self.config = config;
        self
    }

    /// Whether (and when) the store has been filled once.
    pub fn synced(&self) -> Synced {
        Synced {
            rx: self.synced.subscribe(),
        }
    }

    /// Lists and watches until `stop` is triggered. Errors are logged and retried with
    /// backoff, never returned.
    pub async fn run(self, stop: Shutdown) {
        tokio::select! {
            () = stop.wait() => {}
            () = self.run_forever() => {}
        }
    }

    fn prepare(&self, mut obj: K, list_kind: Option<&str>) -> Arc<K> {
        if let Some(d) = &self.source.decorate {
            d(&mut obj, list_kind);
        }
        self.store.prepare(obj)
    }

    fn version_of(&self, obj: &K) -> Option<String> {
        self.source.access.resource_version(obj).map(str::to_owned)
    }

    async fn run_forever(self) {
        let mut backoff = backoff::Backoff::new(self.config.backoff);
        let mut streaming = self.config.streaming_list;
        // The last resourceVersion seen; `None`: the store must be (re)filled.
        let mut version: Option<String> = None;
        let mut stream: Option<Events<K>> = None;
        loop {
            if version.is_none() {
                if streaming {
                    match self.streaming_list().await {
                        Ok((v, rest)) => {
                            version = Some(v);
                            stream = Some(rest);
                        }
                        Err(StreamingFailed::Unsupported(e)) => {
                            tracing::info!(target: "kubecto::reflector", source = ?self.source, why = %e, "the server does not serve streaming lists; using LIST then WATCH from now on");
                            streaming = false;
                        }
                        Err(StreamingFailed::Other(e)) => {
                            tracing::info!(target: "kubecto::reflector", source = ?self.source, error = %e, "the streaming list failed; falling back to LIST then WATCH this time");
                        }
                    }
                }
                if version.is_none() {
                    match self.list().await {
                        Ok(v) => version = Some(v),
                        Err(e) => {
                            let wait = backoff.next_wait();
                            tracing::warn!(target: "kubecto::reflector", source = ?self.source, error = %e, ?wait, "list failed");
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                    }
                }
                self.synced.send_replace(true);
            }
            let events = match stream.take() {
                Some(s) => s,
                None => self.watch(version.as_deref().unwrap_or_default()),
            };
            let started = Instant::now();
            match self.follow(events, &mut version).await {
                Ended::Closed { events } => {
                    if events == 0 && started.elapsed() < Duration::from_secs(1) {
                        let wait = backoff.next_wait();
                        tracing::debug!(target: "kubecto::reflector", ?wait, "the watch ended at once; backing off");
                        tokio::time::sleep(wait).await;
                    }
                }
                Ended::Expired => {
                    tracing::info!(target: "kubecto::reflector", source = ?self.source, "resourceVersion expired; listing again");
                    version = None;
                    if started.elapsed() < Duration::from_secs(1) {
                        tokio::time::sleep(backoff.next_wait()).await;
                    }
                }
                Ended::Failed(e) => {
                    let wait = backoff.next_wait();
                    tracing::warn!(target: "kubecto::reflector", source = ?self.source, error = %e, ?wait, "watch failed; resuming after a backoff");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    fn watch_timeout(&self) -> u64 {
        let min = self.config.min_watch_timeout.as_secs_f64();
        (min * (1.0 + crate::rand::unit())).round().max(1.0) as u64
    }

    fn watch(&self, version: &str) -> Events<K> {
        self.source
            .request()
            .param("resourceVersion", version)
            .param("allowWatchBookmarks", "true")
            .param("timeoutSeconds", self.watch_timeout())
            .watch::<K>()
            .boxed()
    }

    /// Applies a watch's events until it ends, keeping `version` at the last one seen.
    async fn follow(&self, mut events: Events<K>, version: &mut Option<String>) -> Ended {
        let mut n = 0;
        loop {
            match events.next().await {
                None => return Ended::Closed { events: n },
                Some(Ok(event)) => {
                    n += 1;
                    // Let other tasks run now and then (a shared informer's handlers
                    // above all, whose queues hold the objects replaced): a watch that
                    // always has data buffered would otherwise run for thousands of events
                    // at a time.
                    if n % YIELD_EVERY == 0 {
                        tokio::task::yield_now().await;
                    }
                    if let Some((backlog, low)) = self.sink.congested() {
                        backlog.wait_below(low).await;
                    }
                    match event {
                        WatchEvent::Added(o) | WatchEvent::Modified(o) => {
                            let o = self.prepare(o, None);
                            if let Some(v) = self.version_of(&o) {
                                *version = Some(v);
                            }
                            self.sink.upsert(o);
                        }
                        WatchEvent::Deleted(o) => {
                            let o = self.prepare(o, None);
                            if let Some(v) = self.version_of(&o) {
                                *version = Some(v);
                            }
                            self.sink.delete(o);
                        }
                        WatchEvent::Bookmark(b) => {
                            if !b.resource_version.is_empty() {
                                *version = Some(b.resource_version);
                            }
                        }
                    }
                }
                Some(Err(e)) if e.is_gone() || e.is_expired() => return Ended::Expired,
                Some(Err(e)) => return Ended::Failed(e),
            }
        }
    }

    /// A paged LIST into the sink; the list's resourceVersion.
    async fn list(&self) -> Result<String, RestError> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = self.source.request().param("limit", self.config.page_size);
            if let Some(t) = &token {
                req = req.param("continue", t);
            }
            let mut page = req.send().await?.list_stream::<K>();
            while let Some(item) = page.try_next().await? {
                let kind = page.kind().map(str::to_owned);
                items.push(self.prepare(item, kind.as_deref()));
            }
            let meta = page.metadata().cloned().unwrap_or_default();
            match meta.next_page() {
                Some(next) => token = Some(next.to_owned()),
                None => {
                    self.sink.replace(items);
                    return Ok(meta.resource_version.unwrap_or_default());
                }
            }
        }
    }

    /// A streaming list into the sink: the version of its end bookmark, and the watch,
    /// which goes on from there.
    async fn streaming_list(&self) -> Result<(String, Events<K>), StreamingFailed> {
        let mut events = self
            .source
            .request()
            .param("sendInitialEvents", "true")
            .param("resourceVersionMatch", "NotOlderThan")
            .param("resourceVersion", "")
            .param("allowWatchBookmarks", "true")
            .param("timeoutSeconds", self.watch_timeout())
            .watch::<K>()
            .boxed();
        let mut initial: HashMap<String, Arc<K>> = HashMap::new();
        let quiet = self.config.initial_events_timeout;
        let mut seen = 0usize;
        loop {
            let Ok(next) = tokio::time::timeout(quiet, events.next()).await else {
                return Err(StreamingFailed::Unsupported(format!(
                    "no initial-events-end bookmark within {quiet:?} of the last of {seen} events: the server ignores sendInitialEvents"
                )));
            };
            match next {
                Some(Ok(WatchEvent::Added(o) | WatchEvent::Modified(o))) => {
                    seen += 1;
                    let o = self.prepare(o, None);
                    initial.insert(self.store.key_of(&o), o);
                }
                Some(Ok(WatchEvent::Deleted(o))) => {
                    seen += 1;
                    initial.remove(&self.store.key_of(&o));
                }
                Some(Ok(WatchEvent::Bookmark(b))) => {
                    if b.annotations.get(INITIAL_EVENTS_END).map(String::as_str) == Some("true") {
                        self.sink.replace(initial.into_values().collect());
                        return Ok((b.resource_version, events));
                    }
                    // A server that streams lists sends no other bookmark before this one.
                    return Err(StreamingFailed::Unsupported(format!(
                        "a bookmark without initial-events-end after {seen} events: the server ignores sendInitialEvents"
                    )));
                }
                Some(Err(e)) => {
                    let refused = e.code().is_some_and(|c| {
                        (400..500).contains(&c) && c != 410 && c != 429 && c != 401
                    });
                    return Err(if refused && seen == 0 {
                        StreamingFailed::Unsupported(e.to_string())
                    } else {
                        StreamingFailed::Other(e.to_string())
                    });
                }
                // The server closed the watch (its timeout) without ever ending the list.
                None if seen > 0 => {
                    return Err(StreamingFailed::Unsupported(format!(
                        "the watch ended after {seen} events without an initial-events-end bookmark: the server ignores sendInitialEvents"
                    )));
                }
                None => {
                    return Err(StreamingFailed::Other(
                        "the watch ended before its initial events did".to_owned(),
                    ));
                }
            }
        }
    }
}
