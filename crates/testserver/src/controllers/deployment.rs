//! The deployment controller (kube-controller-manager's): a Deployment owns one
//! ReplicaSet per pod template, named `<deployment>-<pod-template-hash>` with that hash
//! in its labels, selector and template, and the revision annotations; the current one
//! is scaled up and the old ones down as the strategy allows (RollingUpdate with
//! maxSurge and maxUnavailable, or Recreate), ReplicaSets beyond revisionHistoryLimit
//! are deleted, and the status says how far it got (replicas, updatedReplicas,
//! readyReplicas, availableReplicas, unavailableReplicas, terminatingReplicas,
//! observedGeneration, and the Available and Progressing conditions with
//! `deployment/util`'s reasons and messages).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::controllers::client::{self, MANAGER};
use crate::controllers::replicaset::{all, owner_keys};
use crate::controllers::runner::{Key, Outcome, RETRY, Reconciler};
use crate::objects::update::Mode;
use crate::shared::meta;
use crate::shared::state::State;
use crate::storage::registry::ResourceInfo;
use crate::storage::store::Event;

const REVISION: &str = "deployment.kubernetes.io/revision";
const DESIRED: &str = "deployment.kubernetes.io/desired-replicas";
const MAX: &str = "deployment.kubernetes.io/max-replicas";
const HASH: &str = "pod-template-hash";

/// The deployment controller.
pub(crate) struct Deployments;

impl Reconciler for Deployments {
    fn name(&self) -> &'static str {
        "deployment"
    }

    fn keys_for(&mut self, _state: &State, event: &Event, out: &mut BTreeSet<Key>) {
        match event.collection.as_ref() {
            "apps/deployments" => {
                out.insert(event.obj.key());
            }
            "apps/replicasets" => owner_keys(event, "Deployment", out),
            _ => {}
        }
    }

    fn all_keys(&mut self, state: &State) -> Vec<Key> {
        all(state, "apps", "v1", "deployments")
    }

    fn reconcile(&mut self, state: &State, key: &Key) -> Outcome {
        let (Some(deployments), Some(replicasets)) = (
            client::resource(state, "apps", "v1", "deployments"),
            client::resource(state, "apps", "v1", "replicasets"),
        ) else {
            return Outcome::Done;
        };
        let Some(d) = client::get(state, &deployments, &key.0, &key.1) else {
            return Outcome::Done;
        };
        if client::terminating(&d) {
            return Outcome::Done;
        }
        let sync = Sync {
            state,
            deployments: &deployments,
            replicasets: &replicasets,
            d: &d,
        };
        match sync.run() {
            Ok(()) => Outcome::Done,
            Err(()) => Outcome::After(RETRY),
        }
    }
}

/// One sync of one Deployment.
struct Sync<'a> {
    state: &'a State,
    deployments: &'a ResourceInfo,
    replicasets: &'a ResourceInfo,
    d: &'a Value,
}

impl Sync<'_> {
    fn replicas(&self) -> i64 {
        self.d["spec"]["replicas"].as_i64().unwrap_or(1).max(0)
    }

    /// (maxSurge, maxUnavailable) resolved against the replicas, as
    /// `ResolveFenceposts` does (surge rounds up, unavailable down, never both 0).
    fn fenceposts(&self) -> (i64, i64) {
        let strategy = &self.d["spec"]["strategy"];
        if strategy["type"] == "Recreate" {
            return (0, self.replicas());
        }
        let ru = &strategy["rollingUpdate"];
        let surge = int_or_percent(&ru["maxSurge"], self.replicas(), true, 25);
        let unavailable = int_or_percent(&ru["maxUnavailable"], self.replicas(), false, 25);
        if surge == 0 && unavailable == 0 {
            (0, 1)
        } else {
            (surge, unavailable)
        }
    }

    fn owned(&self) -> Vec<Value> {
        let ns = client::str_at(self.d, &["metadata", "namespace"]);
        let uid = client::str_at(self.d, &["metadata", "uid"]);
        let mut rs: Vec<Value> = client::list(self.state, self.replicasets, Some(ns))
            .into_iter()
            .filter(|r| client::controlled_by(r, uid))
            .collect();
        // Oldest first.
        rs.sort_by_key(|r| {
            (
                client::str_at(r, &["metadata", "creationTimestamp"]).to_owned(),
                client::str_at(r, &["metadata", "name"]).to_owned(),
            )
        });
        rs
    }

    fn run(&self) -> Result<(), ()> {
        let hash = template_hash(
            &self.d["spec"]["template"],
            self.d["status"]["collisionCount"].as_i64(),
        );
        let owned = self.owned();
        let (new, old): (Vec<Value>, Vec<Value>) = owned
            .into_iter()
            .partition(|r| r["metadata"]["labels"][HASH] == hash.as_str());
        let max_old_revision = old.iter().map(revision).max().unwrap_or(0);
        let mut conditions = self.d["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let paused = self.d["spec"]["paused"] == true;
        let new = match new.into_iter().next() {
            Some(rs) => Some(rs),
            None if paused => None,
            None => {
                let name = format!("{}-{hash}", client::str_at(self.d, &["metadata", "name"]));
                match self.create_rs(&name, &hash, &old, max_old_revision + 1) {
                    Ok(rs) => {
                        set_condition(
                            &mut conditions,
                            "Progressing",
                            "True",
                            "NewReplicaSetCreated",
                            &format!("Created new replica set \"{name}\""),
                        );
                        Some(rs)
                    }
                    Err(()) => return Err(()),
                }
            }
        };
        if let Some(new) = &new {
            if !paused && self.roll(new, &old)? {
                // Scaled: the ReplicaSets' events bring the next step.
            }
            if conditions.iter().all(|c| c["type"] != "Progressing") {
                let name = client::str_at(new, &["metadata", "name"]);
                set_condition(
                    &mut conditions,
                    "Progressing",
                    "True",
                    "FoundNewReplicaSet",
                    &format!("Found new replica set \"{name}\""),
                );
            }
        }
        self.cleanup(&old);
        self.write_status(new.as_ref(), max_old_revision, conditions)
    }

    /// The new ReplicaSet for the current template.
    fn create_rs(&self, name: &str, hash: &str, old: &[Value], revision: i64) -> Result<Value, ()> {
        let replicas = self.replicas();
        let (surge, _) = self.fenceposts();
        let any_old = old.iter().any(|r| spec_replicas(r) > 0);
        let initial = if self.d["spec"]["strategy"]["type"] == "Recreate" {
            if any_old { 0 } else { replicas }
        } else if any_old {
            let current: i64 = old.iter().map(spec_replicas).sum();
            (replicas + surge - current).clamp(0, replicas)
        } else {
            replicas
        };
        let mut template = self.d["spec"]["template"].clone();
        client::set(&mut template, &["metadata", "labels", HASH], json!(hash));
        let mut selector = self.d["spec"]["selector"].clone();
        client::set(&mut selector, &["matchLabels", HASH], json!(hash));
        let mut annotations = Map::new();
        if let Some(a) = self.d["metadata"]["annotations"].as_object() {
            for (k, v) in a {
                if k != REVISION && k != "kubectl.kubernetes.io/last-applied-configuration" {
                    annotations.insert(k.clone(), v.clone());
                }
            }
        }
        annotations.insert(DESIRED.into(), json!(replicas.to_string()));
        annotations.insert(MAX.into(), json!((replicas + surge).to_string()));
        annotations.insert(REVISION.into(), json!(revision.to_string()));
        let mut spec = json!({
            "replicas": initial,
            "selector": selector,
            "template": template.clone(),
        });
        if let Some(m) = self.d["spec"].get("minReadySeconds") {
            spec["minReadySeconds"] = m.clone();
        }
        let rs = json!({
            "metadata": {
                "name": name,
                "labels": template["metadata"]["labels"],
                "annotations": annotations,
                "ownerReferences": [client::owner_ref(self.deployments, self.d)],
            },
            "spec": spec,
        });
        let ns = client::str_at(self.d, &["metadata", "namespace"]);
        match client::create(self.state, self.replicasets, ns, rs, Some(MANAGER)) {
            Ok(obj) => Ok(obj.value()),
            Err(e) if e.code == 409 => {
                // Someone else's ReplicaSet has the name: a hash collision.
                if let Some(existing) = client::get(self.state, self.replicasets, ns, name)
                    && !client::controlled_by(
                        &existing,
                        client::str_at(self.d, &["metadata", "uid"]),
                    )
                {
                    let mut next = self.d.clone();
                    let n = self.d["status"]["collisionCount"].as_i64().unwrap_or(0) + 1;
                    client::set(&mut next, &["status", "collisionCount"], json!(n));
                    let _ =
                        client::update(self.state, self.deployments, self.d, next, Mode::Status);
                }
                Err(())
            }
            Err(_) => Err(()),
        }
    }

    /// Scale the new and old ReplicaSets one step as the strategy allows; true when
    /// something was scaled.
    fn roll(&self, new: &Value, old: &[Value]) -> Result<bool, ()> {
        let replicas = self.replicas();
        let (surge, max_unavailable) = self.fenceposts();
        let active_old: Vec<&Value> = old.iter().filter(|r| spec_replicas(r) > 0).collect();
        if self.d["spec"]["strategy"]["type"] == "Recreate" {
            let mut scaled = false;
            for r in &active_old {
                scaled |= self.scale(r, 0)?;
            }
            let old_pods: i64 = old
                .iter()
                .map(|r| r["status"]["replicas"].as_i64().unwrap_or(0))
                .sum();
            if old_pods == 0 && active_old.is_empty() {
                scaled |= self.scale(new, replicas)?;
            }
            return Ok(scaled);
        }
        if active_old.is_empty() {
            return self.scale(new, replicas);
        }
        // Scale the new one up as far as maxSurge allows.
        let new_replicas = spec_replicas(new);
        let total: i64 = active_old.iter().map(|r| spec_replicas(r)).sum::<i64>() + new_replicas;
        let target = if new_replicas > replicas {
            replicas
        } else if total >= replicas + surge {
            new_replicas
        } else {
            (new_replicas + (replicas + surge - total).min(replicas - new_replicas)).max(0)
        };
        if target != new_replicas {
            return self.scale(new, target);
        }
        // Scale old ones down as far as maxUnavailable allows: unhealthy pods first.
        let min_available = replicas - max_unavailable;
        let new_unavailable = new_replicas - available(new);
        let mut max_down = total - min_available - new_unavailable;
        if max_down <= 0 {
            return Ok(false);
        }
        let mut scaled = false;
        let mut left: Vec<(Value, i64)> = active_old
            .iter()
            .map(|r| ((*r).clone(), spec_replicas(r)))
            .collect();
        for (r, n) in &mut left {
            if max_down == 0 {
                break;
            }
            let unhealthy = (*n - available(r)).max(0);
            let down = unhealthy.min(max_down);
            if down > 0 {
                *n -= down;
                max_down -= down;
            }
        }
        let all_available: i64 =
            active_old.iter().map(|r| available(r)).sum::<i64>() + available(new);
        let mut can_remove = all_available - min_available;
        for (r, n) in &mut left {
            if can_remove <= 0 {
                break;
            }
            let down = (*n).min(can_remove).min(available(r));
            *n -= down;
            can_remove -= down;
        }
        for (r, n) in &left {
            if *n != spec_replicas(r) {
                scaled |= self.scale(r, *n)?;
            }
        }
        Ok(scaled)
    }

    /// Set a ReplicaSet's replicas and the annotations that go with them.
    fn scale(&self, rs: &Value, replicas: i64) -> Result<bool, ()> {
        let (surge, _) = self.fenceposts();
        let desired = self.replicas();
        let mut next = rs.clone();
        client::set(&mut next, &["spec", "replicas"], json!(replicas));
        client::set(
            &mut next,
            &["metadata", "annotations", DESIRED],
            json!(desired.to_string()),
        );
        client::set(
            &mut next,
            &["metadata", "annotations", MAX],
            json!((desired + surge).to_string()),
        );
        if next == *rs {
            return Ok(false);
        }
        match client::update(self.state, self.replicasets, rs, next, Mode::Main) {
            Ok(_) => Ok(true),
            Err(e) if e.code == 404 => Ok(false),
            Err(_) => Err(()),
        }
    }

    /// Delete old, empty ReplicaSets beyond revisionHistoryLimit (oldest first).
    fn cleanup(&self, old: &[Value]) {
        let limit = self.d["spec"]["revisionHistoryLimit"]
            .as_i64()
            .unwrap_or(10)
            .max(0);
        let empty: Vec<&Value> = old
            .iter()
            .filter(|r| spec_replicas(r) == 0 && r["status"]["replicas"].as_i64().unwrap_or(0) == 0)
            .collect();
        let extra = empty.len().saturating_sub(limit as usize);
        let ns = client::str_at(self.d, &["metadata", "namespace"]);
        for r in empty.iter().take(extra) {
            let name = client::str_at(r, &["metadata", "name"]);
            let uid = client::str_at(r, &["metadata", "uid"]);
            let _ = client::delete(self.state, self.replicasets, ns, name, uid, None);
        }
    }

    /// The status from the ReplicaSets as they are now, written when it changed.
    fn write_status(
        &self,
        new: Option<&Value>,
        max_old_revision: i64,
        mut conditions: Vec<Value>,
    ) -> Result<(), ()> {
        let Some(d) = client::get(
            self.state,
            self.deployments,
            client::str_at(self.d, &["metadata", "namespace"]),
            client::str_at(self.d, &["metadata", "name"]),
        ) else {
            return Ok(());
        };
        let owned = self.owned();
        let new_name = new.map(|n| client::str_at(n, &["metadata", "name"]).to_owned());
        let sum = |field: &str| -> i64 {
            owned
                .iter()
                .map(|r| r["status"][field].as_i64().unwrap_or(0))
                .sum()
        };
        let replicas = sum("replicas");
        let ready = sum("readyReplicas");
        let available_n = sum("availableReplicas");
        let terminating = sum("terminatingReplicas");
        let updated = owned
            .iter()
            .find(|r| Some(client::str_at(r, &["metadata", "name"])) == new_name.as_deref())
            .map_or(0, |r| r["status"]["replicas"].as_i64().unwrap_or(0));
        let want = self.replicas();
        let (_, max_unavailable) = self.fenceposts();
        let unavailable = (want - available_n).max(0);
        let generation = d["metadata"]["generation"].as_i64().unwrap_or(0);

        let mut status = Map::new();
        status.insert("observedGeneration".into(), json!(generation));
        let mut put = |k: &str, v: i64| {
            if v != 0 {
                status.insert(k.into(), json!(v));
            }
        };
        put("replicas", replicas);
        put("updatedReplicas", updated);
        put("readyReplicas", ready);
        put("availableReplicas", available_n);
        put("unavailableReplicas", unavailable);
        status.insert("terminatingReplicas".into(), json!(terminating));

        if available_n >= want - max_unavailable {
            set_condition(
                &mut conditions,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            );
        } else {
            set_condition(
                &mut conditions,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            );
        }
        if let Some(name) = &new_name {
            let old = &d["status"];
            let old_int = |k: &str| old[k].as_i64().unwrap_or(0);
            let complete = updated == want && replicas == want && available_n == want;
            let progress = updated > old_int("updatedReplicas")
                || replicas - updated < old_int("replicas") - old_int("updatedReplicas")
                || ready > old_int("readyReplicas")
                || available_n > old_int("availableReplicas");
            if complete {
                set_condition(
                    &mut conditions,
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    &format!("ReplicaSet \"{name}\" has successfully progressed."),
                );
            } else if progress {
                // Progress moves lastUpdateTime even when the reason stays.
                let since = conditions
                    .iter()
                    .find(|c| c["type"] == "Progressing" && c["status"] == "True")
                    .map(|c| c["lastTransitionTime"].clone());
                conditions.retain(|c| c["type"] != "Progressing");
                set_condition(
                    &mut conditions,
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    &format!("ReplicaSet \"{name}\" is progressing."),
                );
                if let (Some(since), Some(last)) = (since, conditions.last_mut()) {
                    last["lastTransitionTime"] = since;
                }
            }
        }
        if !conditions.is_empty() {
            status.insert("conditions".into(), json!(conditions));
        }
        if let Some(c) = d["status"].get("collisionCount") {
            status.insert("collisionCount".into(), c.clone());
        }
        let mut next = d.clone();
        client::set(&mut next, &["status"], Value::Object(status));
        if let Some(rev) = new
            .map(revision)
            .filter(|r| *r > 0)
            .or((max_old_revision > 0).then_some(max_old_revision))
        {
            client::set(
                &mut next,
                &["metadata", "annotations", REVISION],
                json!(rev.to_string()),
            );
        }
        if next == d {
            return Ok(());
        }
        match client::update(self.state, self.deployments, &d, next, Mode::Status) {
            Ok(_) => Ok(()),
            Err(e) if e.code == 404 => Ok(()),
            Err(_) => Err(()),
        }
    }
}

/// `deploymentutil.SetDeploymentCondition`: a condition whose status and reason did not
/// change stays as it is; otherwise it is replaced (moved last), keeping its
/// lastTransitionTime when only the reason changed.
fn set_condition(
    conditions: &mut Vec<Value>,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
) {
    let now = meta::now_rfc3339();
    let current = conditions.iter().find(|c| c["type"] == kind).cloned();
    let mut since = json!(now);
    if let Some(c) = &current {
        if c["status"] == status && c["reason"] == reason {
            return;
        }
        if c["status"] == status {
            since = c["lastTransitionTime"].clone();
        }
    }
    conditions.retain(|c| c["type"] != kind);
    conditions.push(json!({
        "type": kind, "status": status, "lastUpdateTime": now,
        "lastTransitionTime": since, "reason": reason, "message": message,
    }));
}

fn spec_replicas(rs: &Value) -> i64 {
    rs["spec"]["replicas"].as_i64().unwrap_or(1)
}

fn available(rs: &Value) -> i64 {
    rs["status"]["availableReplicas"].as_i64().unwrap_or(0)
}

fn revision(rs: &Value) -> i64 {
    rs["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// An int-or-percent of `total` (rounded up for surge, down for unavailable);
/// `default` percent when unset.
fn int_or_percent(v: &Value, total: i64, round_up: bool, default: i64) -> i64 {
    let percent = match v {
        Value::Number(n) => return n.as_i64().unwrap_or(0).max(0),
        Value::String(s) => match s.strip_suffix('%') {
            Some(p) => p.parse::<i64>().unwrap_or(default),
            None => return s.parse::<i64>().unwrap_or(0).max(0),
        },
        _ => default,
    };
    let scaled = percent.max(0).saturating_mul(total);
    if round_up {
        (scaled + 99) / 100
    } else {
        scaled / 100
    }
}

/// The pod-template-hash of a template: FNV-1a (32 bits) of the template, and of the
/// collision count when there is one, written as `rand.SafeEncodeString` writes it.
pub(crate) fn template_hash(template: &Value, collision_count: Option<i64>) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u32::from(*b);
            hash = hash.wrapping_mul(0x0100_0193);
        }
    };
    feed(template.to_string().as_bytes());
    if let Some(n) = collision_count {
        feed(&n.to_le_bytes());
    }
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    hash.to_string()
        .bytes()
        .map(|b| char::from(ALPHANUMS[usize::from(b) % ALPHANUMS.len()]))
        .collect()
}
