//! PodDisruptionBudgets as the eviction subresource reads them: which budgets select a
//! pod, and the status the disruption controller (`pkg/controller/disruption`) would
//! have written for a budget, computed from the pods and their controllers' scale.
//!
//! A budget's desired healthy count comes from `minAvailable` (a number, or a percentage
//! of the expected count) or `maxUnavailable` (the expected count less it); the expected
//! count is the number of selected pods for a numeric `minAvailable`, else the replicas
//! of the pods' controllers. Healthy pods are selected, not terminating, and Ready.
//! `disruptionsAllowed` is healthy less desired, and 0 when that is negative, when no
//! pod is expected, or when the expected count cannot be known (the controller's
//! fail-safe).

use serde_json::Value;

use crate::logic::scale::selector_string;
use crate::logic::selector::LabelSelector;

/// A budget's status, as the disruption controller would write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Budget {
    pub current_healthy: i64,
    pub desired_healthy: i64,
    pub expected_pods: i64,
    pub disruptions_allowed: i64,
}

/// Does the budget select the pod? A budget without a selector, or with an empty one,
/// selects nothing (not everything), as in kube-apiserver and the controller.
pub(crate) fn selects(pdb: &Value, pod: &Value) -> bool {
    let text = selector_string(&pdb["spec"]["selector"]);
    match LabelSelector::parse(&text) {
        Ok(sel) if !sel.is_empty() => sel.matches(pod["metadata"]["labels"].as_object()),
        _ => false,
    }
}

/// `Ready` condition true.
pub(crate) fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// A pod the eviction subresource deletes without consulting budgets: finished,
/// pending, or already terminating (`canIgnorePDB`).
pub(crate) fn ignores_budgets(pod: &Value) -> bool {
    matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed" | "Pending")
    ) || !pod["metadata"]["deletionTimestamp"].is_null()
}

/// Whether an unready pod may go without using up the budget: always under
/// `unhealthyPodEvictionPolicy: AlwaysAllow`, else (`IfHealthyBudget`, the default) when
/// the budget is met.
pub(crate) fn unready_pod_may_go(pdb: &Value, budget: &Budget) -> bool {
    pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
        || (budget.desired_healthy > 0 && budget.current_healthy >= budget.desired_healthy)
}

/// An int-or-string as a count out of `total`: a number as is, `"N%"` rounded up.
fn scaled(v: &Value, total: i64) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let percent: i64 = s.strip_suffix('%')?.parse().ok()?;
            Some((percent * total + 99).div_euclid(100))
        }
        _ => None,
    }
}

/// The budget's status over `pods` (the namespace's pods it selects). `expected_scale`
/// gives the summed replicas of the pods' controllers, `None` when a pod has no
/// controller whose scale is known.
pub(crate) fn budget(
    pdb: &Value,
    pods: &[Value],
    expected_scale: impl FnOnce() -> Option<i64>,
) -> Budget {
    let current_healthy = pods
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null() && is_ready(p))
        .count() as i64;
    let spec = &pdb["spec"];
    let counts = if !spec["maxUnavailable"].is_null() {
        expected_scale().and_then(|expected| {
            let unavailable = scaled(&spec["maxUnavailable"], expected)?;
            Some((expected, (expected - unavailable).max(0)))
        })
    } else {
        match &spec["minAvailable"] {
            Value::Number(n) => n.as_i64().map(|min| (pods.len() as i64, min)),
            v @ Value::String(_) => {
                expected_scale().and_then(|expected| Some((expected, scaled(v, expected)?)))
            }
            _ => Some((0, 0)),
        }
    };
    let Some((expected_pods, desired_healthy)) = counts else {
        return Budget {
            current_healthy,
            desired_healthy: 0,
            expected_pods: 0,
            disruptions_allowed: 0,
        };
    };
    let mut disruptions_allowed = current_healthy - desired_healthy;
    if expected_pods <= 0 || disruptions_allowed <= 0 {
        disruptions_allowed = 0;
    }
    Budget {
        current_healthy,
        desired_healthy,
        expected_pods,
        disruptions_allowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, ready: bool) -> Value {
        json!({"metadata": {"name": name, "labels": {"app": "web"}},
            "status": {"phase": "Running",
                "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}})
    }

    fn pdb(spec: Value) -> Value {
        let mut spec = spec;
        spec["selector"] = json!({"matchLabels": {"app": "web"}});
        json!({"metadata": {"name": "web"}, "spec": spec})
    }

    #[test]
    fn min_available_counts_ready_pods() {
        let pods = [pod("a", true), pod("b", true), pod("c", false)];
        let b = budget(&pdb(json!({"minAvailable": 2})), &pods, || None);
        assert_eq!(
            b,
            Budget {
                current_healthy: 2,
                desired_healthy: 2,
                expected_pods: 3,
                disruptions_allowed: 0
            }
        );
        let b = budget(&pdb(json!({"minAvailable": 1})), &pods, || None);
        assert_eq!(b.disruptions_allowed, 1);
    }

    #[test]
    fn percentages_and_max_unavailable_use_the_controllers_scale() {
        let pods = [pod("a", true), pod("b", true), pod("c", true)];
        // 50% of 3 replicas, rounded up: 2 must stay.
        let b = budget(&pdb(json!({"minAvailable": "50%"})), &pods, || Some(3));
        assert_eq!((b.desired_healthy, b.disruptions_allowed), (2, 1));
        let b = budget(&pdb(json!({"maxUnavailable": 1})), &pods, || Some(4));
        assert_eq!((b.desired_healthy, b.disruptions_allowed), (3, 0));
        let b = budget(&pdb(json!({"maxUnavailable": "34%"})), &pods, || Some(3));
        assert_eq!((b.desired_healthy, b.disruptions_allowed), (1, 2));
        // No controller to scale by: the controller's fail-safe, nothing allowed.
        let b = budget(&pdb(json!({"maxUnavailable": 1})), &pods, || None);
        assert_eq!(b.disruptions_allowed, 0);
        // Not a percentage.
        let b = budget(&pdb(json!({"minAvailable": "half"})), &pods, || Some(3));
        assert_eq!(b.disruptions_allowed, 0);
    }

    #[test]
    fn terminating_pods_are_not_healthy() {
        let mut going = pod("a", true);
        going["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        let pods = [going, pod("b", true)];
        let b = budget(&pdb(json!({"minAvailable": 1})), &pods, || None);
        assert_eq!((b.current_healthy, b.disruptions_allowed), (1, 0));
    }

    #[test]
    fn an_empty_selector_selects_nothing() {
        let p = pod("a", true);
        assert!(selects(&pdb(json!({})), &p));
        let mut empty = pdb(json!({}));
        empty["spec"]["selector"] = json!({});
        assert!(!selects(&empty, &p));
        empty["spec"].as_object_mut().unwrap().remove("selector");
        assert!(!selects(&empty, &p));
        let mut other = pdb(json!({}));
        other["spec"]["selector"] =
            json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["db"]}]});
        assert!(!selects(&other, &p));
    }

    #[test]
    fn unready_pods_go_when_the_budget_is_met_or_always_allowed() {
        let met = Budget {
            current_healthy: 2,
            desired_healthy: 2,
            expected_pods: 3,
            disruptions_allowed: 0,
        };
        assert!(unready_pod_may_go(&pdb(json!({})), &met));
        let short = Budget {
            current_healthy: 1,
            ..met.clone()
        };
        assert!(!unready_pod_may_go(&pdb(json!({})), &short));
        assert!(unready_pod_may_go(
            &pdb(json!({"unhealthyPodEvictionPolicy": "AlwaysAllow"})),
            &short
        ));
    }
}
