//! The work queue of controllers, as client-go's `util/workqueue`: a deduplicating FIFO
//! whose items are never handed to two workers at once, with delayed adds and
//! rate-limited retries ([`rate_limiter`]).
//!
//! client-go's rules, which [`WorkQueue`] keeps:
//! - an item added many times before a worker takes it is processed once (*dirty* set);
//! - an item added while a worker processes it is not handed out again until that worker
//!   calls [`done`](WorkQueue::done), and then it is (*processing* set);
//! - [`add_after`](WorkQueue::add_after) waits first (the earliest of several waits wins);
//!   [`add_rate_limited`](WorkQueue::add_rate_limited) waits as the rate limiter says, and
//!   [`forget`](WorkQueue::forget) resets an item's backoff once it succeeded;
//! - after [`shut_down`](WorkQueue::shut_down), adds are ignored and workers still get the
//!   items already queued, then `None`; [`shut_down_with_drain`](WorkQueue::shut_down_with_drain)
//!   also waits for the items being processed.

mod delaying;
pub mod rate_limiter;

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;

use self::delaying::Delayer;
pub use self::rate_limiter::{RateLimiter, default_controller_rate_limiter};

/// What a work queue item must be: small, cloneable and hashable (usually an object key).
pub trait QueueItem: Clone + Eq + Hash + Send + Sync + 'static {}

impl<T: Clone + Eq + Hash + Send + Sync + 'static> QueueItem for T {}

struct State<T> {
    queue: VecDeque<T>,
    /// Items that need processing (queued, or re-added while being processed).
    dirty: HashSet<T>,
    /// Items a worker holds.
    processing: HashSet<T>,
    shutting_down: bool,
}

pub(crate) struct Inner<T> {
    state: Mutex<State<T>>,
    /// Wakes workers waiting in `get`.
    ready: Notify,
    /// Wakes `shut_down_with_drain` when a worker finishes.
    drained: Notify,
    limiter: Box<dyn RateLimiter<T>>,
    delayer: OnceLock<Delayer<T>>,
}

/// A typed, deduplicating, rate-limited work queue; cheap to clone (clones share it).
/// See the [module docs](self) for its rules.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use kubecto_runtime::queue::WorkQueue;
///
/// let queue = WorkQueue::<String>::new();
/// queue.add("default/web".to_owned());
/// queue.add("default/web".to_owned()); // already queued: processed once
/// assert_eq!(queue.len(), 1);
/// let key = queue.get().await.unwrap();
/// // ... reconcile `key`; on failure: queue.add_rate_limited(key.clone()), else:
/// queue.forget(&key);
/// queue.done(&key);
/// # }
/// ```
pub struct WorkQueue<T: QueueItem> {
    inner: Arc<Inner<T>>,
}

impl<T: QueueItem> Clone for WorkQueue<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: QueueItem> fmt::Debug for WorkQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.lock();
        f.debug_struct("WorkQueue")
            .field("queued", &st.queue.len())
            .field("processing", &st.processing.len())
            .field("shutting_down", &st.shutting_down)
            .finish()
    }
}

impl<T: QueueItem> Default for WorkQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: QueueItem> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn add(&self, item: T) {
        let mut st = self.lock();
        if st.shutting_down || st.dirty.contains(&item) {
            return;
        }
        st.dirty.insert(item.clone());
        if st.processing.contains(&item) {
            return;
        }
        st.queue.push_back(item);
        drop(st);
        self.ready.notify_one();
    }
}

impl<T: QueueItem> WorkQueue<T> {
    /// A queue whose rate-limited adds follow [`default_controller_rate_limiter`] (5 ms to
    /// 1000 s per item, 10 qps with a burst of 100 overall).
    pub fn new() -> Self {
        Self::with_rate_limiter(default_controller_rate_limiter())
    }

    /// A queue whose [`add_rate_limited`](Self::add_rate_limited) waits as `limiter` says.
    pub fn with_rate_limiter(limiter: impl RateLimiter<T> + 'static) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    dirty: HashSet::new(),
                    processing: HashSet::new(),
                    shutting_down: false,
                }),
                ready: Notify::new(),
                drained: Notify::new(),
                limiter: Box::new(limiter),
                delayer: OnceLock::new(),
            }),
        }
    }

    /// Queues `item` unless it is queued already (or the queue is shutting down). An item
    /// being processed is queued again once its worker calls [`done`](Self::done).
    pub fn add(&self, item: T) {
        self.inner.add(item);
    }

    /// Queues `item` after `delay` (at once when `delay` is zero). While it waits, a
    /// second `add_after` of the same item keeps the earlier of the two times. Needs a
    /// tokio runtime (the first delayed add starts the task that waits).
    pub fn add_after(&self, item: T, delay: Duration) {
        if self.is_shutting_down() {
            return;
        }
        if delay.is_zero() {
            self.add(item);
            return;
        }
        self.inner
            .delayer
            .get_or_init(|| Delayer::start(Arc::downgrade(&self.inner)))
            .add(item, delay);
    }

    /// Queues `item` after the rate limiter's wait for it (one more failure).
    pub fn add_rate_limited(&self, item: T) {
        let delay = self.inner.limiter.when(&item);
        self.add_after(item, delay);
    }

    /// Resets `item`'s backoff (call it when the item was processed successfully). It does
    /// not take the item off the queue.
    pub fn forget(&self, item: &T) {
        self.inner.limiter.forget(item);
    }

    /// How many times `item` has been rate-limited since it was last forgotten.
    pub fn num_requeues(&self, item: &T) -> u32 {
        self.inner.limiter.num_requeues(item)
    }

    /// Waits for an item and marks it as being processed; `None` once the queue is shut
    /// down and empty. Every item received must be given back with [`done`](Self::done).
    pub async fn get(&self) -> Option<T> {
        loop {
            let notified = self.inner.ready.notified();
            tokio::pin!(notified);
            // Registered before the state is read, so an add in between is not missed.
            notified.as_mut().enable();
            {
                let mut st = self.inner.lock();
                if let Some(item) = st.queue.pop_front() {
                    st.processing.insert(item.clone());
                    st.dirty.remove(&item);
                    let more = !st.queue.is_empty();
                    drop(st);
                    if more {
                        // Pass the wake-up on: another worker may take the next item.
                        self.inner.ready.notify_one();
                    }
                    return Some(item);
                }
                if st.shutting_down {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Marks `item` as processed; if it was added again meanwhile, it is queued now.
    pub fn done(&self, item: &T) {
        let mut st = self.inner.lock();
        st.processing.remove(item);
        if st.dirty.contains(item) {
            st.queue.push_back(item.clone());
            drop(st);
            self.inner.ready.notify_one();
        } else if st.processing.is_empty() {
            drop(st);
            self.inner.drained.notify_waiters();
        }
    }

    /// How many items are queued (not counting those being processed or waiting for a
    /// delay).
    pub fn len(&self) -> usize {
        self.inner.lock().queue.len()
    }

    /// Whether no item is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops taking items: adds are ignored from now on, items still queued are handed
    /// out, then [`get`](Self::get) answers `None`. Delayed items not yet due are dropped.
    pub fn shut_down(&self) {
        self.inner.lock().shutting_down = true;
        self.inner.ready.notify_waiters();
        if let Some(d) = self.inner.delayer.get() {
            d.stop();
        }
    }

    /// [`shut_down`](Self::shut_down), then waits until every item handed out has been
    /// marked [`done`](Self::done) and the queue is empty.
    pub async fn shut_down_with_drain(&self) {
        self.shut_down();
        loop {
            let drained = self.inner.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            {
                let st = self.inner.lock();
                if st.processing.is_empty() && st.queue.is_empty() {
                    return;
                }
            }
            drained.await;
        }
    }

    /// Whether [`shut_down`](Self::shut_down) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.lock().shutting_down
    }
}

#[cfg(test)]
mod tests;
