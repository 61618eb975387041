//! Graceful deletion of pods, as kube-apiserver's pod strategy and `rest.BeforeDelete` do
//! it: a pod on a node is not removed by a DELETE but marked (`deletionTimestamp` at the
//! end of its grace period, `deletionGracePeriodSeconds`), and goes when the period is
//! over; a later DELETE may only shorten the period, and a period of 0 removes it at once.
//! The last delete is the kubelet's in a real cluster: here [`expire_grace_periods`] makes
//! it when the deadline passes, so watchers see MODIFIED and then DELETED.

use std::sync::Weak;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::shared::keys::{collection, key};
use crate::shared::meta;
use crate::shared::state::State;
use crate::shared::status::ApiError;
use crate::storage::store::{Obj, Update};

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The grace period a DELETE gives a pod (`CheckGracefulDelete`): the request's, else the
/// pod's `terminationGracePeriodSeconds`; 0 for a pod on no node or already finished;
/// a negative period counts as 1.
pub(crate) fn pod_grace(pod: &Value, requested: Option<i64>) -> i64 {
    let bound = pod["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    let finished = matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    );
    if !bound || finished {
        return 0;
    }
    let period = requested
        .or_else(|| pod["spec"]["terminationGracePeriodSeconds"].as_i64())
        .unwrap_or(0);
    if period < 0 { 1 } else { period }
}

/// Mark an object for deletion in `grace` seconds: `deletionTimestamp` is when the period
/// ends.
pub(crate) fn mark(obj: &mut Value, grace: i64) {
    let at = u64::try_from(now_secs().saturating_add(grace)).unwrap_or(0);
    obj["metadata"]["deletionTimestamp"] = json!(meta::rfc3339(at));
    obj["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
}

/// A DELETE of an object whose graceful deletion is pending: `Some(period)` when the
/// request shortens the period (the object is changed to end it sooner), `None` when the
/// deletion stays as it is.
pub(crate) fn shorten(obj: &mut Value, requested: Option<i64>) -> Option<i64> {
    let current = obj["metadata"]["deletionGracePeriodSeconds"].as_i64()?;
    let period = requested?.max(0);
    if current <= 0 || period >= current {
        return None;
    }
    let ends = obj["metadata"]["deletionTimestamp"]
        .as_str()
        .and_then(meta::epoch_seconds)
        .unwrap_or_else(now_secs);
    let at = u64::try_from(ends - current + period).unwrap_or(0);
    obj["metadata"]["deletionTimestamp"] = json!(meta::rfc3339(at));
    obj["metadata"]["deletionGracePeriodSeconds"] = json!(period);
    Some(period)
}

/// After a pod was written terminating with a grace period, remember when it goes.
pub(crate) fn schedule(state: &State, obj: &Obj) {
    let value = obj.value();
    let meta = &value["metadata"];
    if meta["deletionGracePeriodSeconds"].as_i64().unwrap_or(0) <= 0 {
        return;
    }
    let Some(ends) = meta["deletionTimestamp"]
        .as_str()
        .and_then(meta::epoch_seconds)
    else {
        return;
    };
    let left = u64::try_from(ends - now_secs()).unwrap_or(0);
    let at = Instant::now() + Duration::from_secs(left);
    state
        .grace
        .schedule(at, &obj.namespace, &obj.name, &obj.uid);
}

/// Remove the pods whose grace period is over, for as long as the server lives: the
/// kubelet's final delete (grace 0, this uid). A pod that still has finalizers stays,
/// with its grace period 0, until they are gone.
pub(crate) async fn expire_grace_periods(state: Weak<State>) {
    loop {
        let (next, changed) = {
            let Some(state) = state.upgrade() else {
                return;
            };
            for (_, namespace, name, uid) in state.grace.take_due(Instant::now()) {
                finish(&state, &namespace, &name, &uid);
            }
            (state.grace.next(), state.grace.changed())
        };
        // Wake at the next deadline, when one is added, or now and then to see whether
        // the server is gone.
        let wake = next.unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = changed.notified() => {}
        }
    }
}

fn finish(state: &State, namespace: &str, name: &str, uid: &str) {
    let Some(info) = state.resource("", "v1", "pods") else {
        return;
    };
    let res = state.store.update(
        &collection(&info),
        &key(&info, Some(namespace), name),
        || ApiError::internal("gone"),
        |cur, mut next| {
            let grace = next["metadata"]["deletionGracePeriodSeconds"].as_i64();
            if cur.uid != uid || grace.unwrap_or(0) <= 0 {
                return Ok(Update::Unchanged);
            }
            let held = next["metadata"]["finalizers"]
                .as_array()
                .is_some_and(|f| !f.is_empty());
            if !held {
                return Ok(Update::Remove(next));
            }
            shorten(&mut next, Some(0));
            Ok(Update::Write(next))
        },
    );
    if let Ok((obj, kind, true)) = res {
        state.after_write(&info, &obj, kind);
    }
}
