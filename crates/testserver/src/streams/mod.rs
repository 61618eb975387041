//! The streaming subresources of pods, served on upgraded connections instead of as
//! request and answer: exec and attach, and port-forward; and the proxy subresources of
//! pods, services and nodes, whose bodies stream through. The HTTP stage hands a request
//! here, whole and unread, when [`target`] or [`proxy::target`] says it is one of them;
//! everything else goes to the router. Nothing here imports the HTTP stage back.
//!
//! - [`websocket`]: accepting a WebSocket upgrade as kube-apiserver's wsstream does.
//! - [`exec`]: exec and attach over WebSocket channels or SPDY streams (the Status at the
//!   end).
//! - [`process`]: what a test's exec or attach handler is given, and the built-in commands.
//! - [`port_forward`]: port-forward over WebSocket channels, SPDY, or SPDY in a WebSocket.
//! - [`spdy`]: a SPDY/3.1 server session and its HTTP upgrade, for port-forward, exec and
//!   attach.
//! - [`proxy`]: `pods|services|nodes/{name}/proxy`, passed on to a backend the test names.

pub(crate) mod exec;
pub(crate) mod port_forward;
pub(crate) mod process;
pub(crate) mod proxy;
pub(crate) mod spdy;
#[allow(
    dead_code,
    reason = "is_websocket and choose_protocol are for port-forward too"
)]
pub(crate) mod websocket;

use std::future::Future;
use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use tokio::sync::watch;

use crate::shared::body::ResBody;
use crate::shared::state::State;

/// What each server's streams are configured with (the builder's part), and the switch
/// that cuts the sessions of a server that stops.
#[derive(Clone, Default, Debug)]
pub(crate) struct Streams {
    /// What `exec` runs (built-in commands when `None`).
    pub exec: Option<process::Handler>,
    /// What `attach` meets (stdin echoed to stdout when `None`).
    pub attach: Option<process::Handler>,
    /// Where `portforward` leads (nowhere: every port refuses, when `None`).
    pub port_forward: Option<port_forward::Targets>,
    cut: Arc<watch::Sender<u64>>,
}

impl Streams {
    /// End every session started so far, as a stopping server's connections end (the
    /// accept loop cannot, as an upgraded connection is no longer its).
    pub(crate) fn cut_all(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    /// Resolves when [`Streams::cut_all`] is called after this: a session selects on it.
    pub(crate) fn cut_signal(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.cut.subscribe();
        async move {
            let _ = rx.changed().await;
        }
    }
}

/// A streaming pod subresource named by a request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub namespace: String,
    pub pod: String,
    /// `exec`, `attach` or `portforward`.
    pub subresource: String,
}

/// The streaming subresource `/api/v1/namespaces/{ns}/pods/{name}/{sub}` names, when `sub`
/// is one served here.
pub(crate) fn target(path: &str) -> Option<Target> {
    let rest = path.strip_prefix("/api/v1/namespaces/")?;
    let mut parts = rest.split('/');
    let (ns, pods, pod, sub) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || pods != "pods" || ns.is_empty() || pod.is_empty() {
        return None;
    }
    SERVED.contains(&sub).then(|| Target {
        namespace: ns.to_owned(),
        pod: pod.to_owned(),
        subresource: sub.to_owned(),
    })
}

/// The streaming subresources this module serves.
const SERVED: &[&str] = &["exec", "attach", "portforward"];

/// Serve a request [`target`] accepted.
pub(crate) async fn serve(
    state: &Arc<State>,
    streams: &Streams,
    target: Target,
    req: Request<Incoming>,
) -> Response<ResBody> {
    match target.subresource.as_str() {
        "exec" | "attach" => exec::serve(state, streams, target, req),
        "portforward" => port_forward::serve(state, streams, &target, req),
        other => crate::shared::response::error(&crate::shared::status::ApiError::new(
            405,
            "MethodNotAllowed",
            format!("kubecto-testserver does not serve the {other} subresource of pods"),
            None,
        )),
    }
}
