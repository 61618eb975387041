//! Pending graceful deletions: the pods deleted with a grace period, and when each
//! period ends. A real cluster's kubelet stops the containers and then deletes the pod
//! for good; here a task (`objects::delete::expire_grace_periods`) waits for the
//! deadlines recorded here and does that last delete.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::time::Instant;

/// One pending deletion: when, and which object (namespace, name, uid).
pub(crate) type Pending = (Instant, String, String, String);

/// The deadlines, and a signal for the task that waits for them.
#[derive(Default)]
pub(crate) struct GracePeriods {
    due: Mutex<BTreeSet<Pending>>,
    changed: Arc<Notify>,
}

impl GracePeriods {
    fn lock(&self) -> MutexGuard<'_, BTreeSet<Pending>> {
        self.due.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remember that the pod `namespace/name` (`uid`) goes at `at`.
    pub(crate) fn schedule(&self, at: Instant, namespace: &str, name: &str, uid: &str) {
        self.lock()
            .insert((at, namespace.to_owned(), name.to_owned(), uid.to_owned()));
        self.changed.notify_one();
    }

    /// The earliest deadline, if any.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.lock().first().map(|p| p.0)
    }

    /// Take the deletions whose deadline has passed.
    pub(crate) fn take_due(&self, now: Instant) -> Vec<Pending> {
        let mut due = self.lock();
        let mut out = Vec::new();
        while due.first().is_some_and(|p| p.0 <= now) {
            if let Some(p) = due.pop_first() {
                out.push(p);
            }
        }
        out
    }

    /// Woken when a deadline is added (a permit is kept if nobody waits yet).
    pub(crate) fn changed(&self) -> Arc<Notify> {
        Arc::clone(&self.changed)
    }
}
