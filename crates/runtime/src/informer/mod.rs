//! Shared informers (client-go's `SharedIndexInformer` and `SharedInformerFactory`): one
//! reflector per resource and selector, one store, and any number of handlers told of
//! every add, update (with the old object) and delete, including deletes the watch missed
//! (tombstones), with periodic resyncs.
//!
//! Store writes and notifications happen under one lock, so every handler sees each
//! object's changes in order and ends at its final state; a handler added late first gets
//! an add for every object already stored. A relist tells handlers only what changed:
//! adds, updates whose resourceVersion moved, and [`Deleted::FinalStateUnknown`] for the
//! objects that vanished.
//!
//! A handler's queue holds the objects it has yet to see, replaced ones included. So that
//! a handler that falls behind (a slow one, or one whose thread is not scheduled) does not
//! make the informer hold every object twice, a handler [`MAX_HANDLER_BACKLOG`]
//! notifications behind pauses the watch until it is halfway through them (as a kube-rs
//! shared stream waits for its subscribers); [`InformerOptions::max_handler_backlog`]
//! turns this off (client-go's unbounded queues).

mod factory;
mod handler;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::de::DeserializeOwned;

pub use self::factory::InformerFactory;
pub(crate) use self::handler::Backlog;
pub use self::handler::{Deleted, EventHandler, HandlerFns, HandlerRegistration};
use self::handler::{Listener, ListenerTx, Notification};
use crate::object::Object;
use crate::shutdown::Shutdown;
use crate::store::{Store, Transform};
use crate::watcher::{ListWatch, Reflector, ReflectorConfig, Sink};

struct Inner<K> {
    source: ListWatch<K>,
    store: Store<K>,
    config: ReflectorConfig,
    /// A handler this far behind pauses the watch (`None`: never).
    max_backlog: Option<usize>,
    listeners: Mutex<Vec<Listener<K>>>,
    /// Whether the first list has been applied (and its notifications sent).
    listed: AtomicBool,
    started: AtomicBool,
    synced_tx: tokio::sync::watch::Sender<bool>,
}

/// A shared informer: a cache of one collection kept by one watch, and handlers told of
/// its changes. Cheap to clone; get one from an [`InformerFactory`] so that every part of a
/// program shares it.
///
/// ```no_run
/// # async fn run(client: kubecto_rest_core::RestClient) {
/// use k8s_openapi::api::core::v1::ConfigMap;
/// use kubecto_runtime::Shutdown;
/// use kubecto_runtime::informer::{HandlerFns, InformerFactory};
///
/// let factory = InformerFactory::new(client);
/// let informer = factory.namespaced::<ConfigMap, _>("default");
/// informer.add_handler(HandlerFns::new().on_update(|old, new: &std::sync::Arc<ConfigMap>| {
///     println!("{:?} changed", new.metadata.name);
/// }));
/// let stop = Shutdown::on_signals();
/// factory.start(&stop);
/// factory.wait_for_cache_sync(std::time::Duration::from_secs(30)).await;
/// stop.wait().await;
/// # }
/// ```
pub struct SharedInformer<K> {
    inner: Arc<Inner<K>>,
}

impl<K> Clone for SharedInformer<K> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K> fmt::Debug for SharedInformer<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedInformer")
            .field("source", &self.inner.source)
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

/// How an informer is built (see [`SharedInformer::with_options`]).
#[non_exhaustive]
pub struct InformerOptions<K> {
    /// How its reflector lists and watches.
    pub config: ReflectorConfig,
    /// A transform run on every object before it is stored.
    pub transform: Option<Transform<K>>,
    /// How many notifications may wait for one handler before the informer pauses its
    /// watch until that handler is halfway through them (1,024; `None`: never pause, as
    /// client-go, which holds every replaced object queued for a slow handler).
    pub max_handler_backlog: Option<usize>,
}

/// The default [`InformerOptions::max_handler_backlog`].
pub const MAX_HANDLER_BACKLOG: usize = 1024;

impl<K> Default for InformerOptions<K> {
    fn default() -> Self {
        Self {
            config: ReflectorConfig::default(),
            transform: None,
            max_handler_backlog: Some(MAX_HANDLER_BACKLOG),
        }
    }
}

impl<K> Clone for InformerOptions<K> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
            transform: self.transform.clone(),
            max_handler_backlog: self.max_handler_backlog,
        }
    }
}

impl<K> fmt::Debug for InformerOptions<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InformerOptions")
            .field("config", &self.config)
            .field("transform", &self.transform.is_some())
            .field("max_handler_backlog", &self.max_handler_backlog)
            .finish()
    }
}

impl<K> InformerOptions<K> {
    /// client-go's defaults, no transform.
    pub fn new() -> Self {
        Self::default()
    }

    /// How the reflector lists and watches.
    #[must_use]
    pub fn config(mut self, config: ReflectorConfig) -> Self {
        self.config = config;
        self
    }

    /// A transform run on every object before it is stored (for example
    /// [`drop_managed_fields`](crate::store::drop_managed_fields)).
    #[must_use]
    pub fn transform(mut self, f: impl Fn(&mut K) + Send + Sync + 'static) -> Self {
        self.transform = Some(Arc::new(f));
        self
    }

    /// How far a handler may fall behind before the watch waits for it (see
    /// [`max_handler_backlog`](Self::max_handler_backlog); at least one).
    #[must_use]
    pub fn max_handler_backlog(mut self, max: Option<usize>) -> Self {
        self.max_handler_backlog = max.map(|m| m.max(1));
        self
    }
}

impl<K> Inner<K> {
    fn listeners(&self) -> MutexGuard<'_, Vec<Listener<K>>> {
        self.listeners.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn send<K>(listeners: &[Listener<K>], n: impl Fn() -> Notification<K>) {
    for l in listeners {
        l.tx.send(n());
    }
}

impl<K: Send + Sync + 'static> Sink<K> for Inner<K> {
    fn replace(&self, items: Vec<Arc<K>>) {
        let listeners = self.listeners();
        let first = !self.listed.load(Ordering::Acquire);
        let mut old = self.store.replace(items.clone());
        let access = self.store.access();
        for new in items {
            match old.remove(&self.store.key_of(&new)) {
                None => send(&listeners, || Notification::Add(Arc::clone(&new), first)),
                Some(prev) => {
                    if access.resource_version(&prev) != access.resource_version(&new) {
                        send(&listeners, || {
                            Notification::Update(Arc::clone(&prev), Arc::clone(&new))
                        });
                    }
                }
            }
        }
        for (key, last_known) in old {
            send(&listeners, || {
                Notification::Delete(Deleted::FinalStateUnknown {
                    key: key.clone(),
                    last_known: Arc::clone(&last_known),
                })
            });
        }
        if first {
            send(&listeners, || Notification::Synced);
            self.listed.store(true, Ordering::Release);
            self.synced_tx.send_replace(true);
        }
    }

    fn upsert(&self, obj: Arc<K>) {
        let listeners = self.listeners();
        match self.store.insert_arc(Arc::clone(&obj)) {
            None => send(&listeners, || Notification::Add(Arc::clone(&obj), false)),
            Some(old) => send(&listeners, || {
                Notification::Update(Arc::clone(&old), Arc::clone(&obj))
            }),
        }
    }

    fn delete(&self, obj: Arc<K>) {
        let listeners = self.listeners();
        self.store.remove(&self.store.key_of(&obj));
        send(&listeners, || {
            Notification::Delete(Deleted::Object(Arc::clone(&obj)))
        });
    }

    fn congested(&self) -> Option<(Arc<Backlog>, usize)> {
        let max = self.max_backlog?;
        self.listeners()
            .iter()
            .find(|l| l.tx.backlog.pending() > max)
            .map(|l| (Arc::clone(&l.tx.backlog), max / 2))
    }
}

impl<K> SharedInformer<K>
where
    K: DeserializeOwned + Send + Sync + 'static,
{
    /// An informer on `source` with client-go's defaults.
    pub fn new<M: 'static>(source: ListWatch<K>) -> Self
    where
        K: Object<M>,
    {
        Self::with_options(source, InformerOptions::default())
    }

    /// An informer on `source` with these options.
    pub fn with_options<M: 'static>(source: ListWatch<K>, options: InformerOptions<K>) -> Self
    where
        K: Object<M>,
    {
        let store = Store::build(crate::object::accessor::<K, M>(), options.transform);
        Self {
            inner: Arc::new(Inner {
                source,
                store,
                config: options.config,
                max_backlog: options.max_handler_backlog,
                listeners: Mutex::new(Vec::new()),
                listed: AtomicBool::new(false),
                started: AtomicBool::new(false),
                synced_tx: tokio::sync::watch::channel(false).0,
            }),
        }
    }

    /// The informer's cache (client-go's `GetIndexer`/`GetStore`): add indexes to it
    /// before [`start`](Self::start).
    pub fn store(&self) -> &Store<K> {
        &self.inner.store
    }

    /// Adds a handler. If the informer has listed already, the handler first gets an add
    /// for every object in the store. Needs a tokio runtime (the handler runs on its own
    /// task).
    pub fn add_handler(&self, handler: impl EventHandler<K>) -> HandlerRegistration {
        self.register(Arc::new(handler), None)
    }

    /// Adds a handler that, besides the changes, gets an update (with old and new the
    /// same object) for every object in the store each `period` (client-go's resync).
    pub fn add_handler_with_resync(
        &self,
        handler: impl EventHandler<K>,
        period: Duration,
    ) -> HandlerRegistration {
        self.register(Arc::new(handler), Some(period))
    }

    fn register(
        &self,
        handler: Arc<dyn EventHandler<K>>,
        resync: Option<Duration>,
    ) -> HandlerRegistration {
        let listener = handler::spawn(handler);
        let registration = HandlerRegistration {
            synced: Arc::clone(&listener.synced),
        };
        {
            let mut listeners = self.inner.listeners();
            if self.inner.listed.load(Ordering::Acquire) {
                for (_, obj) in self.inner.store.snapshot().iter() {
                    listener.tx.send(Notification::Add(Arc::clone(obj), true));
                }
                listener.tx.send(Notification::Synced);
            }
            if let Some(period) = resync {
                spawn_resync(Arc::downgrade(&self.inner), listener.tx.clone(), period);
            }
            listeners.push(listener);
        }
        registration
    }

    /// Whether the first list is in the store (and on its way to the handlers).
    pub fn has_synced(&self) -> bool {
        self.inner.listed.load(Ordering::Acquire)
    }

    /// Waits until [`has_synced`](Self::has_synced), or `timeout`; whether it synced.
    pub async fn wait_for_sync(&self, timeout: Duration) -> bool {
        let mut rx = self.inner.synced_tx.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|s| *s))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Runs the informer until `stop` (once: a second call returns at once). The handlers'
    /// tasks end after their queued notifications when it stops.
    pub async fn run(&self, stop: Shutdown) {
        if self.inner.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let sink: Arc<dyn Sink<K>> = self.inner.clone();
        let reflector =
            Reflector::with_sink(self.inner.source.clone(), self.inner.store.clone(), sink)
                .config(self.inner.config.clone());
        reflector.run(stop).await;
        self.inner.listeners().clear();
    }

    /// Runs the informer on a task of its own until `stop` (nothing if it runs already).
    pub fn start(&self, stop: &Shutdown) {
        if self.inner.started.load(Ordering::Acquire) {
            return;
        }
        let me = self.clone();
        let stop = stop.clone();
        tokio::spawn(async move { me.run(stop).await });
    }
}

fn spawn_resync<K: Send + Sync + 'static>(
    informer: std::sync::Weak<Inner<K>>,
    tx: ListenerTx<K>,
    period: Duration,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(inner) = informer.upgrade() else {
                return;
            };
            if tx.is_closed() {
                return;
            }
            if !inner.listed.load(Ordering::Acquire) {
                continue;
            }
            // Under the lock, so the resync is ordered with the changes around it.
            let _listeners = inner.listeners();
            for (_, obj) in inner.store.snapshot().iter() {
                tx.send(Notification::Update(Arc::clone(obj), Arc::clone(obj)));
            }
        }
    });
}
