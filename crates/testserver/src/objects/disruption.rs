//! Whether an eviction may delete a pod, as kube-apiserver's eviction subresource
//! decides (`pkg/registry/core/pod/storage/eviction.go`): against the one
//! PodDisruptionBudget that selects the pod, with the status the disruption controller
//! would have computed (`logic::disruption`) from the stored pods and their controllers.

use serde_json::{Value, json};

use crate::logic::disruption::{self, Budget};
use crate::shared::state::State;
use crate::shared::status::ApiError;

const PDBS: &str = "policy/poddisruptionbudgets";
const PODS: &str = "/pods";

/// `Ok` when the pod may go now; 429 `TooManyRequests` with a `DisruptionBudget` cause
/// when its budget allows no disruption, 500 when more than one budget selects it.
pub(crate) fn check_eviction(state: &State, pod: &Value) -> Result<(), ApiError> {
    if disruption::ignores_budgets(pod) {
        return Ok(());
    }
    let namespace = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let (_, pdbs) = state
        .store
        .list(PDBS, Some(namespace), None)
        .unwrap_or_default();
    let pdbs: Vec<Value> = pdbs
        .iter()
        .map(|p| p.value())
        .filter(|pdb| disruption::selects(pdb, pod))
        .collect();
    let pdb = match pdbs.as_slice() {
        [] => return Ok(()),
        [one] => one,
        _ => {
            return Err(ApiError::internal(
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            ));
        }
    };
    let (_, pods) = state
        .store
        .list(PODS, Some(namespace), None)
        .unwrap_or_default();
    let pods: Vec<Value> = pods
        .iter()
        .map(|p| p.value())
        .filter(|p| disruption::selects(pdb, p))
        .collect();
    let budget = disruption::budget(pdb, &pods, || expected_scale(state, namespace, &pods));
    if !disruption::is_ready(pod) && disruption::unready_pod_may_go(pdb, &budget) {
        return Ok(());
    }
    if budget.disruptions_allowed > 0 {
        return Ok(());
    }
    Err(too_many_requests(
        pdb["metadata"]["name"].as_str().unwrap_or_default(),
        &budget,
    ))
}

/// kube-apiserver's refusal: 429, no `Retry-After`, one `DisruptionBudget` cause.
fn too_many_requests(name: &str, budget: &Budget) -> ApiError {
    ApiError::new(
        429,
        "TooManyRequests",
        "Cannot evict pod as it would violate the pod's disruption budget.",
        Some(json!({"causes": [{
            "reason": "DisruptionBudget",
            "message": format!(
                "The disruption budget {name} needs {} healthy pods and has {} currently",
                budget.desired_healthy, budget.current_healthy
            ),
        }]})),
    )
}

/// The summed replicas of the controllers of `pods` (each controller once), as the
/// disruption controller finds them: a Deployment through its ReplicaSet, a ReplicaSet,
/// a ReplicationController or a StatefulSet. `None` when a pod has none of these.
fn expected_scale(state: &State, namespace: &str, pods: &[Value]) -> Option<i64> {
    let mut seen: Vec<String> = Vec::new();
    let mut total = 0;
    for pod in pods {
        let (uid, replicas) = controller_scale(state, namespace, pod)?;
        if !seen.contains(&uid) {
            seen.push(uid);
            total += replicas;
        }
    }
    Some(total)
}

/// The controller (uid, `spec.replicas`, default 1) that owns an object, following a
/// ReplicaSet up to its Deployment.
fn controller_scale(state: &State, namespace: &str, obj: &Value) -> Option<(String, i64)> {
    let owner = controller_of(obj)?;
    let collection = match (owner["apiVersion"].as_str()?, owner["kind"].as_str()?) {
        ("apps/v1", "ReplicaSet") => "apps/replicasets",
        ("apps/v1", "Deployment") => "apps/deployments",
        ("apps/v1", "StatefulSet") => "apps/statefulsets",
        ("v1", "ReplicationController") => "/replicationcontrollers",
        _ => return None,
    };
    let key = (namespace.to_owned(), owner["name"].as_str()?.to_owned());
    let stored = state.store.get(collection, &key)?;
    if owner["uid"].as_str() != Some(stored.uid.as_str()) {
        return None;
    }
    let value = stored.value();
    if collection == "apps/replicasets"
        && controller_of(&value).is_some_and(|o| o["kind"] == "Deployment")
    {
        return controller_scale(state, namespace, &value);
    }
    let replicas = value["spec"]["replicas"].as_i64().unwrap_or(1);
    Some((stored.uid.clone(), replicas))
}

/// The owner reference with `controller: true`.
fn controller_of(obj: &Value) -> Option<&Value> {
    obj["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["controller"] == true)
}
