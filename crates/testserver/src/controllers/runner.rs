//! The loop every asynchronous controller runs, as client-go's informers and work queue
//! drive kube-controller-manager's: follow the store's change feed, turn each event into
//! the keys it concerns, reconcile each queued key, come back to a key later when its
//! reconcile asks (a conflict, a timer), and look at everything again when the feed lost
//! events (history compacted) — until the server stops.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::shared::state::State;
use crate::storage::store::Event;

/// What a controller reconciles: `(namespace, name)` of its primary object ("" for a
/// cluster-scoped one).
pub(crate) type Key = (String, String);

/// How a reconcile ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Nothing more to do until the next event about the key.
    Done,
    /// Look again after this long (a timer, or a conflicting writer to read again).
    After(Duration),
}

/// How long a key waits after a write that failed (a 409 Conflict, mostly).
pub(crate) const RETRY: Duration = Duration::from_millis(50);

/// One controller: which keys an event concerns, and how to bring a key to what it wants.
pub(crate) trait Reconciler: Send + 'static {
    /// The controller's name, for logs.
    fn name(&self) -> &'static str;
    /// Add the keys `event` concerns to `out`.
    fn keys_for(&mut self, state: &State, event: &Event, out: &mut BTreeSet<Key>);
    /// Every key (at start, and after the feed lost events).
    fn all_keys(&mut self, state: &State) -> Vec<Key>;
    /// Bring one key to what it should be, writing through the API's code path.
    fn reconcile(&mut self, state: &State, key: &Key) -> Outcome;
}

/// The most events read from the feed at once.
const BATCH: usize = 1000;

/// Run `reconciler` on a task of its own until `stop` says true or its sender goes away.
pub(crate) fn spawn(state: Arc<State>, mut stop: watch::Receiver<bool>, mut r: impl Reconciler) {
    tokio::spawn(async move {
        let mut changed = state.store.subscribe();
        let mut seen = state.store.current_rv();
        let mut queue: BTreeSet<Key> = r.all_keys(&state).into_iter().collect();
        let mut later: BTreeMap<Key, Instant> = BTreeMap::new();
        loop {
            if *stop.borrow() {
                return;
            }
            changed.borrow_and_update();
            match state.store.events_since(seen, BATCH) {
                Ok(events) => {
                    for event in &events {
                        seen = event.rv;
                        r.keys_for(&state, event, &mut queue);
                    }
                    if events.len() == BATCH {
                        // More are waiting; read them before reconciling.
                        changed.mark_changed();
                    }
                }
                Err(_) => {
                    seen = state.store.current_rv();
                    queue.extend(r.all_keys(&state));
                }
            }
            let now = Instant::now();
            later.retain(|key, at| {
                let due = *at <= now;
                if due {
                    queue.insert(key.clone());
                }
                !due
            });
            if !queue.is_empty() {
                for key in std::mem::take(&mut queue) {
                    let outcome =
                        std::panic::catch_unwind(AssertUnwindSafe(|| r.reconcile(&state, &key)));
                    match outcome {
                        Ok(Outcome::Done) => {}
                        Ok(Outcome::After(wait)) => {
                            let at = now + wait;
                            let slot = later.entry(key).or_insert(at);
                            *slot = (*slot).min(at);
                        }
                        Err(_) => {
                            tracing::error!(
                                "controller {} failed on {}/{}; trying again in 1 s",
                                r.name(),
                                key.0,
                                key.1
                            );
                            later.insert(key, now + Duration::from_secs(1));
                        }
                    }
                }
                // Let the server and the other controllers run between batches.
                tokio::task::yield_now().await;
                continue;
            }
            let next = later.values().min().copied();
            tokio::select! {
                res = stop.changed() => {
                    if res.is_err() {
                        return;
                    }
                }
                res = changed.changed() => {
                    if res.is_err() {
                        return;
                    }
                }
                _ = sleep_until(next) => {}
            }
        }
    });
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
