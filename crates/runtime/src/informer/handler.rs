//! What an informer tells its handlers (client-go's `ResourceEventHandler`): adds, updates
//! with the old object, and deletes, including those missed while disconnected
//! ([`Deleted::FinalStateUnknown`], client-go's `DeletedFinalStateUnknown`). Each handler
//! has its own queue and task, so a slow handler delays nobody else.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::{Notify, mpsc};

/// A deleted object as a handler sees it.
#[derive(Debug)]
pub enum Deleted<K> {
    /// A DELETED watch event: the object's last state.
    Object(Arc<K>),
    /// The object was gone when the informer listed again (after a 410, say): it was
    /// deleted while the watch was away, and this is the last state the informer knew.
    FinalStateUnknown {
        /// The object's key.
        key: String,
        /// The last state seen.
        last_known: Arc<K>,
    },
}

impl<K> Clone for Deleted<K> {
    fn clone(&self) -> Self {
        match self {
            Deleted::Object(o) => Deleted::Object(Arc::clone(o)),
            Deleted::FinalStateUnknown { key, last_known } => Deleted::FinalStateUnknown {
                key: key.clone(),
                last_known: Arc::clone(last_known),
            },
        }
    }
}

impl<K> Deleted<K> {
    /// The object (its last state seen).
    pub fn object(&self) -> &Arc<K> {
        match self {
            Deleted::Object(o) => o,
            Deleted::FinalStateUnknown { last_known, .. } => last_known,
        }
    }

    /// Whether the delete was inferred from a new list rather than seen.
    pub fn is_final_state_unknown(&self) -> bool {
        matches!(self, Deleted::FinalStateUnknown { .. })
    }
}

/// A handler of an informer's notifications. Every method has an empty default. Calls to
/// one handler are made one at a time, in the order the informer saw the changes.
pub trait EventHandler<K>: Send + Sync + 'static {
    /// An object appeared: in the initial list (`initial`), a later list, or a watch.
    fn on_add(&self, obj: &Arc<K>, initial: bool) {
        let _ = (obj, initial);
    }
    /// An object changed from `old` to `new`. A periodic resync calls this with `old`
    /// and `new` the same object.
    fn on_update(&self, old: &Arc<K>, new: &Arc<K>) {
        let _ = (old, new);
    }
    /// An object was deleted.
    fn on_delete(&self, deleted: &Deleted<K>) {
        let _ = deleted;
    }
}

type AddFn<K> = Box<dyn Fn(&Arc<K>, bool) + Send + Sync>;
type UpdateFn<K> = Box<dyn Fn(&Arc<K>, &Arc<K>) + Send + Sync>;
type DeleteFn<K> = Box<dyn Fn(&Deleted<K>) + Send + Sync>;

/// An [`EventHandler`] made of closures (client-go's `ResourceEventHandlerFuncs`).
///
/// ```
/// use k8s_openapi::api::core::v1::Pod;
/// use kubecto_runtime::informer::HandlerFns;
///
/// let handler = HandlerFns::<Pod>::new()
///     .on_add(|pod, _initial| println!("added {:?}", pod.metadata.name))
///     .on_delete(|deleted| println!("deleted {:?}", deleted.object().metadata.name));
/// # let _ = handler;
/// ```
pub struct HandlerFns<K> {
    add: Option<AddFn<K>>,
    update: Option<UpdateFn<K>>,
    delete: Option<DeleteFn<K>>,
}

impl<K> Default for HandlerFns<K> {
    fn default() -> Self {
        Self {
            add: None,
            update: None,
            delete: None,
        }
    }
}

impl<K> std::fmt::Debug for HandlerFns<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerFns")
            .field("add", &self.add.is_some())
            .field("update", &self.update.is_some())
            .field("delete", &self.delete.is_some())
            .finish()
    }
}

impl<K> HandlerFns<K> {
    /// A handler that does nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Called for adds (with whether the object came in the initial list).
    #[must_use]
    pub fn on_add(mut self, f: impl Fn(&Arc<K>, bool) + Send + Sync + 'static) -> Self {
        self.add = Some(Box::new(f));
        self
    }

    /// Called for updates with the old and the new object.
    #[must_use]
    pub fn on_update(mut self, f: impl Fn(&Arc<K>, &Arc<K>) + Send + Sync + 'static) -> Self {
        self.update = Some(Box::new(f));
        self
    }

    /// Called for deletes.
    #[must_use]
    pub fn on_delete(mut self, f: impl Fn(&Deleted<K>) + Send + Sync + 'static) -> Self {
        self.delete = Some(Box::new(f));
        self
    }
}

impl<K: Send + Sync + 'static> EventHandler<K> for HandlerFns<K> {
    fn on_add(&self, obj: &Arc<K>, initial: bool) {
        if let Some(f) = &self.add {
            f(obj, initial);
        }
    }
    fn on_update(&self, old: &Arc<K>, new: &Arc<K>) {
        if let Some(f) = &self.update {
            f(old, new);
        }
    }
    fn on_delete(&self, deleted: &Deleted<K>) {
        if let Some(f) = &self.delete {
            f(deleted);
        }
    }
}

/// One notification on its way to a handler.
pub(crate) enum Notification<K> {
    Add(Arc<K>, bool),
    Update(Arc<K>, Arc<K>),
    Delete(Deleted<K>),
    /// Everything of the initial list has been sent before this.
    Synced,
}

/// A handler's end of the informer: its queue, and how long it is.
pub(crate) struct Listener<K> {
    pub(crate) tx: ListenerTx<K>,
    pub(crate) synced: Arc<Synced>,
}

/// Sends to one handler's queue, counting what waits in it.
pub(crate) struct ListenerTx<K> {
    tx: mpsc::UnboundedSender<Notification<K>>,
    pub(crate) backlog: Arc<Backlog>,
}

impl<K> Clone for ListenerTx<K> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            backlog: Arc::clone(&self.backlog),
        }
    }
}

impl<K> ListenerTx<K> {
    /// Queues `n` for the handler (nothing if its task has ended).
    pub(crate) fn send(&self, n: Notification<K>) {
        self.backlog.pending.fetch_add(1, Ordering::AcqRel);
        if self.tx.send(n).is_err() {
            self.backlog.pending.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Whether the handler's task has ended.
    pub(crate) fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// How many notifications wait in a handler's queue; told when it drains.
#[derive(Debug, Default)]
pub(crate) struct Backlog {
    pending: AtomicUsize,
    /// Someone waits in [`wait_below`](Self::wait_below).
    waiting: AtomicBool,
    drained: Notify,
}

impl Backlog {
    /// Notifications queued and not yet handled.
    pub(crate) fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// Waits until at most `low` notifications wait.
    pub(crate) async fn wait_below(&self, low: usize) {
        self.waiting.store(true, Ordering::SeqCst);
        loop {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.pending.load(Ordering::SeqCst) <= low {
                self.waiting.store(false, Ordering::SeqCst);
                return;
            }
            notified.await;
        }
    }

    fn handled(&self) {
        self.pending.fetch_sub(1, Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) {
            self.drained.notify_waiters();
        }
    }
}

/// Whether a handler has processed the initial list.
#[derive(Debug, Default)]
pub(crate) struct Synced {
    done: AtomicBool,
    notify: Notify,
}

/// What [`add_handler`](super::SharedInformer::add_handler) returns: whether that handler
/// has seen the whole initial list (client-go's `ResourceEventHandlerRegistration`).
#[derive(Debug, Clone)]
pub struct HandlerRegistration {
    pub(crate) synced: Arc<Synced>,
}

impl HandlerRegistration {
    /// Whether the handler has been called for every object of the initial list.
    pub fn has_synced(&self) -> bool {
        self.synced.done.load(Ordering::Acquire)
    }

    /// Waits until [`has_synced`](Self::has_synced).
    pub async fn wait_for_sync(&self) {
        loop {
            let notified = self.synced.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.has_synced() {
                return;
            }
            notified.await;
        }
    }
}

/// Starts the task that calls `handler` for each notification; returns its listener.
pub(crate) fn spawn<K: Send + Sync + 'static>(handler: Arc<dyn EventHandler<K>>) -> Listener<K> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Notification<K>>();
    let synced = Arc::new(Synced::default());
    let flag = Arc::clone(&synced);
    let backlog = Arc::new(Backlog::default());
    let queue = Arc::clone(&backlog);
    tokio::spawn(async move {
        while let Some(n) = rx.recv().await {
            let _handled = Handled(&queue);
            match n {
                Notification::Add(o, initial) => handler.on_add(&o, initial),
                Notification::Update(old, new) => handler.on_update(&old, &new),
                Notification::Delete(d) => handler.on_delete(&d),
                Notification::Synced => {
                    flag.done.store(true, Ordering::Release);
                    flag.notify.notify_waiters();
                }
            }
        }
    });
    Listener {
        tx: ListenerTx { tx, backlog },
        synced,
    }
}

/// Counts a notification handled when dropped (also when the handler panics).
struct Handled<'a>(&'a Backlog);

impl Drop for Handled<'_> {
    fn drop(&mut self) {
        self.0.handled();
    }
}
