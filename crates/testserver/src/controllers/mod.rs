//! Controllers: what kube-controller-manager (and apiextensions-apiserver's own
//! controllers) would do after a write, as ordinary clients of the store.
//!
//! Two run synchronously after every write, always ([`crate::shared::state::Controller`];
//! handlers never call them directly):
//!
//! - [`crd`]: serves the resources CRDs define and marks CRDs established.
//! - [`gc`]: the garbage collector (dependents by `ownerReferences`, propagation).
//!
//! The others are opt-in (`TestServer::builder().controllers(true)`) and asynchronous,
//! like the real ones: each is a task ([`runner`]) that follows the store's change feed
//! and writes back through the API's code path ([`client`]), so a client meets them as
//! conflicting writers, as on a real cluster. They stop when the server does.
//!
//! - [`namespace`]: empties Terminating namespaces, then lets them go.
//! - [`serviceaccount`], [`rootca`]: the `default` ServiceAccount and the
//!   `kube-root-ca.crt` ConfigMap in every namespace.
//! - [`deployment`], [`replicaset`]: Deployments -> ReplicaSets -> Pods, with rollouts.
//! - [`endpointslice`], [`endpoints`]: the EndpointSlices and Endpoints of Services
//!   with a selector.
//! - [`job`]: Jobs -> Pods, until enough succeeded.
//! - [`kubelet`]: a stand-in scheduler and kubelet that bind pods to one node and run them.

pub(crate) mod client;
pub(crate) mod crd;
pub(crate) mod deployment;
pub(crate) mod endpoints;
pub(crate) mod endpointslice;
pub(crate) mod gc;
pub(crate) mod job;
pub(crate) mod kubelet;
pub(crate) mod namespace;
pub(crate) mod replicaset;
pub(crate) mod rootca;
pub(crate) mod runner;
pub(crate) mod serviceaccount;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use crate::shared::state::{Controller, State};
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;

/// Every synchronous controller, in the order they follow a write.
pub(crate) fn all() -> Vec<Box<dyn Controller>> {
    vec![Box::new(crd::Crds), Box::new(gc::GarbageCollector)]
}

/// What the asynchronous controllers are asked to do.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Run the stand-in kubelet (and scheduler): pods are bound to a node and run.
    pub kubelet: bool,
    /// How long the kubelet runs a pod whose `restartPolicy` is not `Always` before it
    /// succeeds (`None`: until it is deleted).
    pub pods_complete_after: Option<Duration>,
    /// The cluster CA (PEM) published in every namespace.
    pub ca_pem: String,
    /// The port the server listens on (the `kubernetes` Service's targetPort).
    pub port: u16,
}

/// Start the asynchronous controllers on the current runtime, after creating what
/// kube-apiserver itself keeps (the `kubernetes` Service in `default`). They stop when
/// `stop` says true or its sender goes away.
///
/// # Errors
/// The refusal of creating the `kubernetes` Service.
pub(crate) fn start(
    state: &Arc<State>,
    options: Options,
    stop: &watch::Receiver<bool>,
) -> Result<(), ApiError> {
    kubernetes_service(state, options.port)?;
    if options.kubelet {
        kubelet::register_node(state)?;
        runner::spawn(
            Arc::clone(state),
            stop.clone(),
            kubelet::Kubelet::new(options.pods_complete_after),
        );
    }
    runner::spawn(Arc::clone(state), stop.clone(), deployment::Deployments);
    runner::spawn(Arc::clone(state), stop.clone(), replicaset::ReplicaSets);
    runner::spawn(
        Arc::clone(state),
        stop.clone(),
        endpointslice::EndpointSlices,
    );
    runner::spawn(Arc::clone(state), stop.clone(), endpoints::Endpoints);
    runner::spawn(Arc::clone(state), stop.clone(), job::Jobs);
    runner::spawn(
        Arc::clone(state),
        stop.clone(),
        namespace::Namespaces::default(),
    );
    runner::spawn(
        Arc::clone(state),
        stop.clone(),
        serviceaccount::ServiceAccounts,
    );
    runner::spawn(
        Arc::clone(state),
        stop.clone(),
        rootca::RootCa {
            ca_pem: options.ca_pem,
        },
    );
    Ok(())
}

/// The `kubernetes` Service in `default`, as kube-apiserver keeps it: the first
/// ClusterIP of the range, port 443 to the server's own port.
fn kubernetes_service(state: &State, port: u16) -> Result<(), ApiError> {
    let Some(info) = client::resource(state, "", "v1", "services") else {
        return Ok(());
    };
    let service = json!({
        "metadata": {
            "name": "kubernetes",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": port}],
            "type": "ClusterIP",
            "sessionAffinity": "None",
            "internalTrafficPolicy": "Cluster",
            "ipFamilyPolicy": "SingleStack",
        },
    });
    create_kept(state, &info, service)?;
    // Its endpoints: the server itself, as kube-apiserver's endpoint reconciler writes
    // them (no controller manages them, and the EndpointSlice mirror skips them).
    let ports = json!([{"name": "https", "port": port, "protocol": "TCP"}]);
    if let Some(info) = client::resource(state, "", "v1", "endpoints") {
        let endpoints = json!({
            "metadata": {
                "name": "kubernetes",
                "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"},
            },
            "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": ports}],
        });
        create_kept(state, &info, endpoints)?;
    }
    if let Some(info) = client::resource(state, "discovery.k8s.io", "v1", "endpointslices") {
        let slice = json!({
            "metadata": {
                "name": "kubernetes",
                "labels": {"kubernetes.io/service-name": "kubernetes"},
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": true}}],
            "ports": ports,
        });
        create_kept(state, &info, slice)?;
    }
    Ok(())
}

/// Create an object of `default` as kube-apiserver does, unless it exists.
fn create_kept(
    state: &State,
    info: &ResourceInfo,
    value: serde_json::Value,
) -> Result<(), ApiError> {
    match client::create(state, info, "default", value, Some("kube-apiserver")) {
        Ok(_) => Ok(()),
        Err(e) if e.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}
