//! The root-ca-cert-publisher controller (kube-controller-manager's): every active
//! namespace has the `kube-root-ca.crt` ConfigMap holding the cluster's CA (the server's
//! TLS CA, or one made at start when it serves plain HTTP), put back when deleted or
//! changed.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::controllers::client::{self, MANAGER};
use crate::controllers::runner::{Key, Outcome, RETRY, Reconciler};
use crate::controllers::serviceaccount::{active_namespaces, is_active, namespace_keys};
use crate::objects::update::Mode;
use crate::shared::state::State;
use crate::storage::store::Event;

/// The ConfigMap every namespace gets.
pub(crate) const NAME: &str = "kube-root-ca.crt";

const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/// The publisher, with the CA (PEM) it publishes.
pub(crate) struct RootCa {
    pub ca_pem: String,
}

impl RootCa {
    fn wanted(&self, cm: &mut Value) {
        client::set(
            cm,
            &["metadata", "annotations", "kubernetes.io/description"],
            json!(DESCRIPTION),
        );
        client::set(cm, &["data"], json!({"ca.crt": self.ca_pem}));
    }
}

impl Reconciler for RootCa {
    fn name(&self) -> &'static str {
        "root-ca-cert-publisher"
    }

    fn keys_for(&mut self, _state: &State, event: &Event, out: &mut BTreeSet<Key>) {
        namespace_keys(event, "/configmaps", NAME, out);
    }

    fn all_keys(&mut self, state: &State) -> Vec<Key> {
        active_namespaces(state)
    }

    fn reconcile(&mut self, state: &State, key: &Key) -> Outcome {
        let namespace = key.1.as_str();
        if !is_active(state, namespace) {
            return Outcome::Done;
        }
        let Some(info) = client::resource(state, "", "v1", "configmaps") else {
            return Outcome::Done;
        };
        let res = match client::get(state, &info, namespace, NAME) {
            Some(current) => {
                let mut next = current.clone();
                self.wanted(&mut next);
                if next == current {
                    return Outcome::Done;
                }
                client::update(state, &info, &current, next, Mode::Main).map(|_| ())
            }
            None => {
                let mut cm = json!({"metadata": {"name": NAME}});
                self.wanted(&mut cm);
                client::create(state, &info, namespace, cm, Some(MANAGER)).map(|_| ())
            }
        };
        match res {
            Ok(()) => Outcome::Done,
            Err(e) if matches!(e.code, 403 | 404) => Outcome::Done,
            Err(_) => Outcome::After(RETRY),
        }
    }
}

/// A CA certificate (PEM) made for a server without TLS, whose clusters still publish
/// one; "" when it cannot be made.
pub(crate) fn generated_ca() -> String {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let Ok(key) = KeyPair::generate() else {
        return String::new();
    };
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "kubecto-testserver-ca");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .self_signed(&key)
        .map(|cert| cert.pem())
        .unwrap_or_default()
}
