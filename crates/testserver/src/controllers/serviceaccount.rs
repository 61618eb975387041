//! The serviceaccount controller (kube-controller-manager's `serviceaccount` controller):
//! every active namespace has a `default` ServiceAccount, made again when it is deleted.

use std::collections::BTreeSet;

use serde_json::json;

use crate::controllers::client;
use crate::controllers::runner::{Key, Outcome, RETRY, Reconciler};
use crate::shared::state::State;
use crate::storage::store::Event;

/// The ServiceAccount every namespace gets.
const NAME: &str = "default";

/// The keys of a controller that keeps one object named `name` in every namespace: the
/// namespace of every namespace event, and of every event of that object in `collection`.
pub(crate) fn namespace_keys(event: &Event, collection: &str, name: &str, out: &mut BTreeSet<Key>) {
    let namespace = match event.collection.as_ref() {
        "/namespaces" => &event.obj.name,
        c if c == collection && event.obj.name == name => &event.obj.namespace,
        _ => return,
    };
    out.insert((String::new(), namespace.clone()));
}

/// The serviceaccount controller.
pub(crate) struct ServiceAccounts;

impl Reconciler for ServiceAccounts {
    fn name(&self) -> &'static str {
        "serviceaccount"
    }

    fn keys_for(&mut self, _state: &State, event: &Event, out: &mut BTreeSet<Key>) {
        namespace_keys(event, "/serviceaccounts", NAME, out);
    }

    fn all_keys(&mut self, state: &State) -> Vec<Key> {
        active_namespaces(state)
    }

    fn reconcile(&mut self, state: &State, key: &Key) -> Outcome {
        let namespace = key.1.as_str();
        if !is_active(state, namespace) {
            return Outcome::Done;
        }
        let Some(info) = client::resource(state, "", "v1", "serviceaccounts") else {
            return Outcome::Done;
        };
        if client::get(state, &info, namespace, NAME).is_some() {
            return Outcome::Done;
        }
        let sa = json!({"metadata": {"name": NAME}});
        match client::create(state, &info, namespace, sa, None) {
            // 403: the namespace started terminating; 404: it is gone; 409: made meanwhile.
            Ok(_) => Outcome::Done,
            Err(e) if matches!(e.code, 403 | 404 | 409) => Outcome::Done,
            Err(_) => Outcome::After(RETRY),
        }
    }
}

/// Every namespace, as a key (`("", name)`).
pub(crate) fn active_namespaces(state: &State) -> Vec<Key> {
    let Some(info) = client::resource(state, "", "v1", "namespaces") else {
        return Vec::new();
    };
    client::list(state, &info, None)
        .iter()
        .filter(|ns| !client::terminating(ns))
        .map(|ns| {
            (
                String::new(),
                client::str_at(ns, &["metadata", "name"]).to_owned(),
            )
        })
        .collect()
}

/// Does the namespace exist and accept new content?
pub(crate) fn is_active(state: &State, namespace: &str) -> bool {
    client::resource(state, "", "v1", "namespaces")
        .and_then(|info| client::get(state, &info, "", namespace))
        .is_some_and(|ns| !client::terminating(&ns))
}
