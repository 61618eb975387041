//! The job controller (kube-controller-manager's): a Job runs up to `parallelism` pods
//! at once (generated name `<job>-`, its template's labels, a controller ownerReference
//! and the `batch.kubernetes.io/job-tracking` finalizer) until `completions` of them
//! succeeded or more than `backoffLimit` failed. A finished pod is first listed in
//! `status.uncountedTerminatedPods`, then loses its finalizer, then is counted in
//! `succeeded` or `failed`, as the controller's finalizer tracking does; the status also
//! says startTime, active, ready and terminating, and at the end `SuccessCriteriaMet`
//! then `Complete` (or `FailureTarget` then `Failed`) with completionTime.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::controllers::client::{self, MANAGER};
use crate::controllers::replicaset::{all, owned_pods, owner_keys, pod_from_template};
use crate::controllers::runner::{Key, Outcome, RETRY, Reconciler};
use crate::logic::endpoints::{finished, ready};
use crate::objects::update::Mode;
use crate::shared::meta;
use crate::shared::state::State;
use crate::storage::registry::ResourceInfo;
use crate::storage::store::Event;

/// The finalizer that keeps a Job's pods until the Job counted them.
const TRACKING: &str = "batch.kubernetes.io/job-tracking";
const COMPLETIONS_REACHED: &str = "CompletionsReached";
const COMPLETIONS_MESSAGE: &str = "Reached expected number of succeeded pods";
const BACKOFF_EXCEEDED: &str = "BackoffLimitExceeded";
const BACKOFF_MESSAGE: &str = "Job has reached the specified backoff limit";

/// The job controller.
pub(crate) struct Jobs;

impl Reconciler for Jobs {
    fn name(&self) -> &'static str {
        "job"
    }

    fn keys_for(&mut self, _state: &State, event: &Event, out: &mut BTreeSet<Key>) {
        match event.collection.as_ref() {
            "batch/jobs" => {
                out.insert(event.obj.key());
            }
            "/pods" => owner_keys(event, "Job", out),
            _ => {}
        }
    }

    fn all_keys(&mut self, state: &State) -> Vec<Key> {
        all(state, "batch", "v1", "jobs")
    }

    fn reconcile(&mut self, state: &State, key: &Key) -> Outcome {
        let (Some(jobs), Some(pods)) = (
            client::resource(state, "batch", "v1", "jobs"),
            client::resource(state, "", "v1", "pods"),
        ) else {
            return Outcome::Done;
        };
        let sync = Sync {
            state,
            jobs: &jobs,
            pods: &pods,
        };
        let res = match client::get(state, &jobs, &key.0, &key.1) {
            // A deleted Job lets its pods go.
            None => sync.release_orphans(key),
            Some(job) => sync.run(&job),
        };
        match res {
            Ok(()) => Outcome::Done,
            Err(()) => Outcome::After(RETRY),
        }
    }
}

struct Sync<'a> {
    state: &'a State,
    jobs: &'a ResourceInfo,
    pods: &'a ResourceInfo,
}

fn has_tracking(pod: &Value) -> bool {
    pod["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| f.iter().any(|f| f == TRACKING))
}

fn condition_true(job: &Value, kind: &str) -> bool {
    job["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == kind && c["status"] == "True"))
}

fn condition(kind: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({
        "type": kind, "status": "True", "lastProbeTime": now, "lastTransitionTime": now,
        "reason": reason, "message": message,
    })
}

fn uid(v: &Value) -> &str {
    client::str_at(v, &["metadata", "uid"])
}

impl Sync<'_> {
    /// Remove the tracking finalizer of pods whose Job (`key`) is gone.
    fn release_orphans(&self, key: &Key) -> Result<(), ()> {
        let mut res = Ok(());
        for pod in client::list(self.state, self.pods, Some(&key.0)) {
            let owner = client::controller_ref(&pod);
            if owner.is_some_and(|o| o["kind"] == "Job" && o["name"] == key.1.as_str())
                && has_tracking(&pod)
            {
                res = res.and(self.release(&pod));
            }
        }
        res
    }

    /// Remove the tracking finalizer of a pod.
    fn release(&self, pod: &Value) -> Result<(), ()> {
        let mut next = pod.clone();
        if let Some(f) = next["metadata"]["finalizers"].as_array_mut() {
            f.retain(|f| f != TRACKING);
        }
        match client::update(self.state, self.pods, pod, next, Mode::Main) {
            Ok(_) => Ok(()),
            Err(e) if e.code == 404 => Ok(()),
            Err(_) => Err(()),
        }
    }

    fn delete_pod(&self, pod: &Value) -> Result<(), ()> {
        let ns = client::str_at(pod, &["metadata", "namespace"]);
        let name = client::str_at(pod, &["metadata", "name"]);
        match client::delete(self.state, self.pods, ns, name, uid(pod), None) {
            Err(e) if e.code != 404 => Err(()),
            _ => Ok(()),
        }
    }

    fn run(&self, job: &Value) -> Result<(), ()> {
        let pods = owned_pods(self.state, job);
        let mut status = job["status"].as_object().cloned().unwrap_or_default();
        let mut ok = Ok(());
        let done = condition_true(job, "Complete") || condition_true(job, "Failed");
        let ending = done
            || condition_true(job, "SuccessCriteriaMet")
            || condition_true(job, "FailureTarget");
        // A pod deleted before it finished counts as failed, unless the Job is ending
        // (then it was stopped by the controller, and is let go uncounted).
        let deleted = |p: &Value| client::terminating(p) && !finished(p);
        if ending {
            for p in pods.iter().filter(|p| deleted(p) && has_tracking(p)) {
                ok = ok.and(self.release(p));
            }
        }

        // 1. Finished pods still tracked are listed as uncounted before their finalizer goes.
        let uncounted = |kind: &str, phase: &str| -> Vec<String> {
            let mut uids: Vec<String> = status
                .get("uncountedTerminatedPods")
                .and_then(|u| u[kind].as_array())
                .into_iter()
                .flatten()
                .filter_map(|u| u.as_str().map(str::to_owned))
                .collect();
            for p in &pods {
                let ended =
                    p["status"]["phase"] == phase || (phase == "Failed" && !ending && deleted(p));
                if has_tracking(p) && ended && !uids.iter().any(|u| u == uid(p)) {
                    uids.push(uid(p).to_owned());
                }
            }
            uids
        };
        let succeeded_uids = uncounted("succeeded", "Succeeded");
        let failed_uids = uncounted("failed", "Failed");
        let mut listed = Map::new();
        if !succeeded_uids.is_empty() {
            listed.insert("succeeded".into(), json!(succeeded_uids));
        }
        if !failed_uids.is_empty() {
            listed.insert("failed".into(), json!(failed_uids));
        }
        if !listed.is_empty() && status.get("uncountedTerminatedPods") != Some(&json!(listed)) {
            status.insert("uncountedTerminatedPods".into(), Value::Object(listed));
            return self.write_status(job, status);
        }
        // 2. Their finalizers go, 3. then they are counted.
        let mut counted = Map::new();
        for (kind, uids) in [("succeeded", &succeeded_uids), ("failed", &failed_uids)] {
            let mut left = Vec::new();
            for u in uids {
                let pod = pods.iter().find(|p| uid(p) == u);
                if pod.is_some_and(|p| has_tracking(p) && self.release(p).is_err()) {
                    left.push(u.clone());
                    ok = Err(());
                    continue;
                }
                let n = status.get(kind).and_then(Value::as_i64).unwrap_or(0);
                status.insert(kind.into(), json!(n + 1));
            }
            if !left.is_empty() {
                counted.insert(kind.into(), json!(left));
            }
        }
        status.insert("uncountedTerminatedPods".into(), Value::Object(counted));

        let active: Vec<&Value> = pods
            .iter()
            .filter(|p| !client::terminating(p) && !finished(p))
            .collect();
        let terminating = pods
            .iter()
            .filter(|p| deleted(p) && (has_tracking(p) || !ending))
            .count();
        let succeeded = status.get("succeeded").and_then(Value::as_i64).unwrap_or(0);
        let failed = status.get("failed").and_then(Value::as_i64).unwrap_or(0);
        let spec = &job["spec"];
        let parallelism = spec["parallelism"].as_i64().unwrap_or(1).max(0);
        let completions = spec["completions"].as_i64();
        let backoff_limit = spec["backoffLimit"].as_i64().unwrap_or(6);
        let suspended = spec["suspend"] == true;
        let now = meta::now_rfc3339();
        let mut conditions: Vec<Value> = status
            .get("conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let has = |conditions: &[Value], kind: &str| {
            conditions
                .iter()
                .any(|c| c["type"] == kind && c["status"] == "True")
        };

        let complete = match completions {
            Some(c) => succeeded >= c,
            None => succeeded > 0 && active.is_empty(),
        };
        let mut ending = ending;
        if !ending {
            if complete {
                conditions.push(condition(
                    "SuccessCriteriaMet",
                    COMPLETIONS_REACHED,
                    COMPLETIONS_MESSAGE,
                    &now,
                ));
                ending = true;
            } else if failed > backoff_limit {
                conditions.push(condition(
                    "FailureTarget",
                    BACKOFF_EXCEEDED,
                    BACKOFF_MESSAGE,
                    &now,
                ));
                ending = true;
            }
        }
        let mut active_n = active.len() as i64;
        if ending || done {
            // What still runs is stopped; the Job ends once nothing does.
            for p in &active {
                ok = ok.and(self.delete_pod(p));
            }
            if !done && active.is_empty() && terminating == 0 {
                let (kind, target) = if has(&conditions, "SuccessCriteriaMet") {
                    ("Complete", "SuccessCriteriaMet")
                } else {
                    ("Failed", "FailureTarget")
                };
                if let Some(c) = conditions.iter().find(|c| c["type"] == target).cloned() {
                    let (r, m) = (
                        client::str_at(&c, &["reason"]),
                        client::str_at(&c, &["message"]),
                    );
                    conditions.push(condition(kind, r, m, &now));
                    if kind == "Complete" {
                        status.insert("completionTime".into(), json!(now));
                    }
                }
            }
        } else if !suspended && !client::terminating(job) {
            let want = match completions {
                Some(c) => parallelism.min(c - succeeded),
                None if succeeded > 0 => 0,
                None => parallelism,
            }
            .max(0);
            if active_n < want {
                let ns = client::str_at(job, &["metadata", "namespace"]);
                for _ in 0..want - active_n {
                    let mut pod = pod_from_template(self.jobs, job, &spec["template"]);
                    let finalizers = pod["metadata"]["finalizers"].as_array_mut();
                    match finalizers {
                        Some(f) => f.push(json!(TRACKING)),
                        None => pod["metadata"]["finalizers"] = json!([TRACKING]),
                    }
                    match client::create(self.state, self.pods, ns, pod, Some(MANAGER)) {
                        Ok(_) => active_n += 1,
                        Err(e) if matches!(e.code, 403 | 404) => {}
                        Err(_) => ok = Err(()),
                    }
                }
            } else if active_n > want {
                for p in active.iter().take((active_n - want) as usize) {
                    ok = ok.and(self.delete_pod(p));
                }
            }
        }
        if !suspended && !status.contains_key("startTime") {
            status.insert("startTime".into(), json!(now));
        }
        if !conditions.is_empty() {
            status.insert("conditions".into(), json!(conditions));
        }
        let ready_n = active.iter().filter(|p| ready(p)).count();
        status.insert("active".into(), json!(active_n));
        status.insert("ready".into(), json!(ready_n));
        status.insert("terminating".into(), json!(terminating));
        for k in ["active", "succeeded", "failed"] {
            if status.get(k) == Some(&json!(0)) {
                status.remove(k);
            }
        }
        ok.and(self.write_status(job, status))
    }

    /// Write a Job's status in the field order of Go's JobStatus, when it changed.
    fn write_status(&self, job: &Value, mut status: Map<String, Value>) -> Result<(), ()> {
        let mut ordered = Map::new();
        for k in [
            "conditions",
            "startTime",
            "completionTime",
            "active",
            "succeeded",
            "failed",
            "terminating",
            "completedIndexes",
            "failedIndexes",
            "uncountedTerminatedPods",
            "ready",
        ] {
            if let Some(v) = status.remove(k) {
                ordered.insert(k.into(), v);
            }
        }
        ordered.extend(status);
        let status = Value::Object(ordered);
        if job["status"] == status {
            return Ok(());
        }
        let mut next = job.clone();
        client::set(&mut next, &["status"], status);
        match client::update(self.state, self.jobs, job, next, Mode::Status) {
            Ok(_) => Ok(()),
            Err(e) if e.code == 404 => Ok(()),
            Err(_) => Err(()),
        }
    }
}
