//! The endpoints controller (kube-controller-manager's, for the legacy `v1` Endpoints): a
//! Service with a selector gets the Endpoints of its name, labelled
//! `endpoints.kubernetes.io/managed-by: endpoint-controller`, whose subsets hold the
//! selected pods that have an IP — ready ones in `addresses`, the others in
//! `notReadyAddresses` — grouped by the ports they resolve, sorted as `RepackSubsets`
//! sorts them; the Endpoints goes when the Service does.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::controllers::client::{self, MANAGER};
use crate::controllers::endpointslice::{TRIGGER_TIME, services_of_pod, trigger_time};
use crate::controllers::replicaset::all;
use crate::controllers::runner::{Key, Outcome, RETRY, Reconciler};
use crate::logic::endpoints::{selected_pods, selector, subsets};
use crate::objects::update::Mode;
use crate::shared::state::State;
use crate::storage::store::Event;

const MANAGED_BY: &str = "endpoints.kubernetes.io/managed-by";
const CONTROLLER: &str = "endpoint-controller";

/// The endpoints controller.
pub(crate) struct Endpoints;

impl Reconciler for Endpoints {
    fn name(&self) -> &'static str {
        "endpoints"
    }

    fn keys_for(&mut self, state: &State, event: &Event, out: &mut BTreeSet<Key>) {
        match event.collection.as_ref() {
            "/services" | "/endpoints" => {
                out.insert(event.obj.key());
            }
            "/pods" => services_of_pod(state, event, out),
            _ => {}
        }
    }

    fn all_keys(&mut self, state: &State) -> Vec<Key> {
        all(state, "", "v1", "services")
    }

    fn reconcile(&mut self, state: &State, key: &Key) -> Outcome {
        let (Some(services), Some(info)) = (
            client::resource(state, "", "v1", "services"),
            client::resource(state, "", "v1", "endpoints"),
        ) else {
            return Outcome::Done;
        };
        let current = client::get(state, &info, &key.0, &key.1);
        let Some(svc) = client::get(state, &services, &key.0, &key.1) else {
            // The Service is gone: so are the Endpoints this controller wrote for it.
            let Some(ep) = current.filter(|e| e["metadata"]["labels"][MANAGED_BY] == CONTROLLER)
            else {
                return Outcome::Done;
            };
            let uid = client::str_at(&ep, &["metadata", "uid"]);
            return match client::delete(state, &info, &key.0, &key.1, uid, None) {
                Err(e) if !matches!(e.code, 404 | 409) => Outcome::After(RETRY),
                _ => Outcome::Done,
            };
        };
        // Endpoints of a Service without a selector are the user's.
        let Some(selector) = selector(&svc) else {
            return Outcome::Done;
        };
        let pods = selected_pods(state, &key.0, selector);
        let subsets = subsets(&svc, &pods);

        let mut labels = svc["metadata"]["labels"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        if svc["spec"]["clusterIP"] == "None" {
            labels.insert("service.kubernetes.io/headless".into(), json!(""));
        }
        labels.insert(MANAGED_BY.into(), json!(CONTROLLER));
        let labels = Value::Object(labels);
        let res = match current {
            Some(ep)
                if ep["metadata"]["labels"] == labels
                    && ep.get("subsets").unwrap_or(&Value::Null) == &subsets =>
            {
                Ok(())
            }
            Some(ep) => {
                let mut next = ep.clone();
                client::set(&mut next, &["metadata", "labels"], labels);
                client::set(
                    &mut next,
                    &["metadata", "annotations", TRIGGER_TIME],
                    json!(trigger_time(&svc, &pods)),
                );
                set_subsets(&mut next, subsets);
                client::update(state, &info, &ep, next, Mode::Main).map(|_| ())
            }
            None => {
                let mut ep = json!({"metadata": {
                    "name": key.1,
                    "labels": labels,
                    "annotations": {TRIGGER_TIME: trigger_time(&svc, &pods)},
                }});
                set_subsets(&mut ep, subsets);
                client::create(state, &info, &key.0, ep, Some(MANAGER)).map(|_| ())
            }
        };
        match res {
            Err(e) if !matches!(e.code, 403 | 404) => Outcome::After(RETRY),
            _ => Outcome::Done,
        }
    }
}

fn set_subsets(ep: &mut Value, subsets: Value) {
    if let Some(m) = ep.as_object_mut() {
        if subsets.is_null() {
            m.remove("subsets");
        } else {
            m.insert("subsets".into(), subsets);
        }
    }
}
