//! The controller loop (client-go's controller pattern, as in `sample-controller`):
//! informers on a primary resource and on the resources it owns or watches put keys on a
//! [`WorkQueue`]; N workers take keys and call `reconcile(key)`, one worker per key at a
//! time. A reconcile that fails, or panics (the panic is caught and logged; the worker
//! lives on), is retried with the queue's rate limiter (5 ms doubling to 1000 s, 10 qps
//! overall); one that asks for it is requeued after a delay. Shutdown
//! (a [`Shutdown`], e.g. [`Shutdown::on_signals`] for SIGTERM and Ctrl-C) stops handing
//! out keys and waits for the reconciles in flight.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use serde::de::DeserializeOwned;
use tokio::task::JoinSet;

use crate::informer::{Deleted, EventHandler, SharedInformer};
use crate::object::{Object, key_of, object_key};
use crate::queue::WorkQueue;
use crate::shutdown::Shutdown;

/// What a successful reconcile asks for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing until the next change.
    Done,
    /// Reconcile this key again after this long (even if nothing changes).
    RequeueAfter(Duration),
}

/// The message of a caught panic (a `&str` or `String` payload, as `panic!` makes).
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(a panic without a message)"
    }
}

/// Puts keys on the queue for each notification of one informer.
struct Enqueue<K, F> {
    queue: WorkQueue<String>,
    keys: F,
    _kind: std::marker::PhantomData<fn(&K)>,
}

impl<K, F> EventHandler<K> for Enqueue<K, F>
where
    K: Send + Sync + 'static,
    F: Fn(&K) -> Vec<String> + Send + Sync + 'static,
{
    fn on_add(&self, obj: &Arc<K>, _initial: bool) {
        for k in (self.keys)(obj) {
            self.queue.add(k);
        }
    }
    fn on_update(&self, old: &Arc<K>, new: &Arc<K>) {
        let mut keys = (self.keys)(old);
        for k in (self.keys)(new) {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        for k in keys {
            self.queue.add(k);
        }
    }
    fn on_delete(&self, deleted: &Deleted<K>) {
        for k in (self.keys)(deleted.object()) {
            self.queue.add(k);
        }
    }
}

type Starter = Box<dyn Fn(&Shutdown) + Send + Sync>;
type Waiter = Box<dyn Fn() -> futures_util::future::BoxFuture<'static, ()> + Send + Sync>;

/// A controller: informers feeding a work queue of `namespace/name` keys, and workers
/// reconciling them.
///
/// ```no_run
/// # async fn run(factory: kubecto_runtime::InformerFactory) {
/// use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
/// use kubecto_runtime::controller::{Action, Controller};
/// use kubecto_runtime::Shutdown;
///
/// let deployments = factory.namespaced::<Deployment, _>("default");
/// let store = deployments.store().clone();
/// Controller::new(deployments)
///     .owns(factory.namespaced::<ReplicaSet, _>("default"), "Deployment")
///     .workers(2)
///     .run(
///         move |key: String| {
///             let store = store.clone();
///             async move {
///                 match store.get(&key) {
///                     Some(d) => println!("reconcile {key}: generation {:?}", d.metadata.generation),
///                     None => println!("{key} is gone"),
///                 }
///                 Ok::<_, std::convert::Infallible>(Action::Done)
///             }
///         },
///         Shutdown::on_signals(),
///     )
///     .await;
/// # }
/// ```
pub struct Controller {
    queue: WorkQueue<String>,
    workers: usize,
    starters: Vec<Starter>,
    waiters: Vec<Waiter>,
}

impl fmt::Debug for Controller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Controller")
            .field("queue", &self.queue)
            .field("workers", &self.workers)
            .field("informers", &self.starters.len())
            .finish()
    }
}

impl Controller {
    /// A controller of the objects of `primary`: each of their changes queues their key.
    /// One worker unless [`workers`](Self::workers) says otherwise.
    pub fn new<K, M: 'static>(primary: SharedInformer<K>) -> Self
    where
        K: Object<M> + DeserializeOwned,
    {
        Self {
            queue: WorkQueue::new(),
            workers: 1,
            starters: Vec::new(),
            waiters: Vec::new(),
        }
        .watches(primary, |obj: &K| vec![key_of(obj)])
    }

    /// Also reconciles the owner of each object of `owned` whose ownerReferences name an
    /// owner of kind `owner_kind` (the same namespace as the object): a change to a
    /// ReplicaSet queues its Deployment's key.
    #[must_use]
    pub fn owns<C, M: 'static>(self, owned: SharedInformer<C>, owner_kind: &str) -> Self
    where
        C: Object<M> + DeserializeOwned,
    {
        let owner_kind = owner_kind.to_owned();
        self.watches(owned, move |obj: &C| {
            obj.owner_references()
                .iter()
                .filter(|r| r.kind == owner_kind)
                .map(|r| object_key(obj.namespace(), r.name))
                .collect()
        })
    }

    /// Also reconciles the keys `keys` maps each object of `informer` to (a ConfigMap to
    /// the Deployments that mount it, say).
    #[must_use]
    pub fn watches<C>(
        mut self,
        informer: SharedInformer<C>,
        keys: impl Fn(&C) -> Vec<String> + Send + Sync + 'static,
    ) -> Self
    where
        C: DeserializeOwned + Send + Sync + 'static,
    {
        informer.add_handler(Enqueue {
            queue: self.queue.clone(),
            keys,
            _kind: std::marker::PhantomData,
        });
        let starter = informer.clone();
        self.starters
            .push(Box::new(move |stop| starter.start(stop)));
        self.waiters.push(Box::new(move || {
            let informer = informer.clone();
            Box::pin(
                async move { while !informer.wait_for_sync(Duration::from_secs(3600)).await {} },
            )
        }));
        self
    }

    /// How many keys are reconciled at once (at least one; never two for one key).
    #[must_use]
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// The controller's queue (to add keys by hand, or inspect it).
    pub fn queue(&self) -> &WorkQueue<String> {
        &self.queue
    }

    /// Starts the informers, waits for their caches, then reconciles keys with the
    /// workers until `stop`; then stops handing out keys and waits for the reconciles in
    /// flight. An `Err` from `reconcile` is logged and the key retried with backoff; so is a
    /// panic in `reconcile`, which is caught: the worker goes on and the key is not left
    /// marked as being processed.
    pub async fn run<F, Fut, E>(self, reconcile: F, stop: Shutdown)
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Action, E>> + Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        for start in &self.starters {
            start(&stop);
        }
        let synced = futures_util::future::join_all(self.waiters.iter().map(|w| w()));
        tokio::select! {
            () = stop.wait() => {
                self.queue.shut_down();
                return;
            }
            _ = synced => {}
        }
        tracing::info!(target: "kubecto::controller", workers = self.workers, "caches synced; reconciling");
        let reconcile = Arc::new(reconcile);
        let mut workers = JoinSet::new();
        for _ in 0..self.workers {
            let (queue, stop, reconcile) = (self.queue.clone(), stop.clone(), reconcile.clone());
            workers.spawn(async move {
                loop {
                    let key = tokio::select! {
                        () = stop.wait() => return,
                        key = queue.get() => match key {
                            Some(k) => k,
                            None => return,
                        },
                    };
                    // A panic (in building the future or in polling it) is caught here,
                    // so the worker lives on and the key is released and retried.
                    let outcome = AssertUnwindSafe(async { reconcile(key.clone()).await })
                        .catch_unwind()
                        .await;
                    match outcome {
                        Ok(Ok(Action::Done)) => queue.forget(&key),
                        Ok(Ok(Action::RequeueAfter(d))) => {
                            queue.forget(&key);
                            queue.add_after(key.clone(), d);
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(target: "kubecto::controller", %key, error = %e, retries = queue.num_requeues(&key), "reconcile failed; retrying with backoff");
                            queue.add_rate_limited(key.clone());
                        }
                        Err(panic) => {
                            tracing::error!(target: "kubecto::controller", %key, panic = panic_message(&*panic), retries = queue.num_requeues(&key), "reconcile panicked; retrying with backoff");
                            queue.add_rate_limited(key.clone());
                        }
                    }
                    queue.done(&key);
                }
            });
        }
        while workers.join_next().await.is_some() {}
        self.queue.shut_down();
        tracing::info!(target: "kubecto::controller", "stopped");
    }
}
