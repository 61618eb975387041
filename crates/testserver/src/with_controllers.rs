//! The builder options of the opt-in asynchronous controllers, and their start.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch as signal;

use crate::TestServerBuilder;
use crate::controllers::{self, Options};
use crate::error::Error;
use crate::server::auth::Security;
use crate::shared::state::State;

impl Default for Options {
    fn default() -> Options {
        Options {
            kubelet: true,
            pods_complete_after: Some(Duration::from_millis(200)),
            ca_pem: String::new(),
            port: 0,
        }
    }
}

impl TestServerBuilder {
    /// Run the built-in controllers (default: off), as kube-controller-manager runs
    /// beside kube-apiserver: asynchronous tasks that write through the API as any
    /// client does (with resourceVersion preconditions), so a test of a controller meets
    /// the same conflicting writers as on a real cluster. With them:
    ///
    /// - a deleted namespace stays `Terminating` while the namespace controller deletes
    ///   what it holds, then goes (without them the server empties and removes it at
    ///   once);
    /// - every namespace gets the `default` ServiceAccount and the `kube-root-ca.crt`
    ///   ConfigMap, and `default` holds the `kubernetes` Service (ClusterIP `10.96.0.1`);
    /// - Deployments make ReplicaSets, ReplicaSets and Jobs make Pods, Services get
    ///   EndpointSlices and Endpoints, each with the status a real controller writes;
    /// - a stand-in scheduler and kubelet run the pods (see [`TestServerBuilder::kubelet`]).
    ///
    /// They stop when the server is dropped.
    pub fn controllers(mut self, on: bool) -> Self {
        self.controllers = on.then(|| self.controllers.take().unwrap_or_default());
        self
    }

    /// With [`controllers`](TestServerBuilder::controllers) on, run the stand-in
    /// scheduler and kubelet (default: on): unscheduled pods are bound to the node
    /// `testserver-node`, given an IP and marked Running and Ready; deleted pods on the
    /// node go at once. Off, pods stay Pending, as on a cluster without nodes.
    pub fn kubelet(mut self, on: bool) -> Self {
        if let Some(o) = &mut self.controllers {
            o.kubelet = on;
        }
        self
    }

    /// With [`controllers`](TestServerBuilder::controllers) on, how long the stand-in
    /// kubelet runs a pod whose `restartPolicy` is `Never` or `OnFailure` (a Job's)
    /// before its containers exit 0 and it Succeeds (default 200 ms); `None`: such pods
    /// run until deleted.
    pub fn pods_complete_after(mut self, after: Option<Duration>) -> Self {
        if let Some(o) = &mut self.controllers {
            o.pods_complete_after = after;
        }
        self
    }
}

/// Start the controllers of a server listening at `addr`; the returned sender stops them
/// when it is dropped.
pub(crate) fn start(
    state: &Arc<State>,
    mut options: Options,
    security: &Security,
    addr: SocketAddr,
) -> Result<signal::Sender<bool>, Error> {
    options.ca_pem = match &security.tls {
        Some(tls) => tls.ca_pem().to_owned(),
        None => controllers::rootca::generated_ca(),
    };
    options.port = addr.port();
    let (stop, stopped) = signal::channel(false);
    controllers::start(state, options, &stopped).map_err(|e| Error::Seed {
        kind: "Service".to_owned(),
        name: "kubernetes".to_owned(),
        code: e.code,
        message: e.body["message"].as_str().unwrap_or_default().to_owned(),
    })?;
    Ok(stop)
}
