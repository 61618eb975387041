//! The streaming subresources of pods, served on upgraded connections instead of as
//! request and answer: exec and attach, and port-forward. The HTTP stage hands a request
//! here, whole and unread, when [`target`] says it is one of them; everything else goes to
//! the router. Nothing here imports the HTTP stage back.
//!
//! - [`websocket`]: accepting a WebSocket upgrade as kube-apiserver's wsstream does.

#[allow(
    dead_code,
    reason = "the accept helper lands before exec, attach and port-forward, which use it"
)]
pub(crate) mod websocket;

use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;

use crate::shared::body::ResBody;
use crate::shared::state::State;

/// What each server's streams are configured with (the builder's part).
#[derive(Clone, Default)]
pub(crate) struct Streams {}

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
const SERVED: &[&str] = &[];

/// Serve a request [`target`] accepted.
pub(crate) async fn serve(
    state: &Arc<State>,
    streams: &Streams,
    target: Target,
    req: Request<Incoming>,
) -> Response<ResBody> {
    let _ = (state, streams, req);
    crate::shared::response::error(&crate::shared::status::ApiError::new(
        405,
        "MethodNotAllowed",
        format!(
            "kubecto-testserver does not serve the {} subresource of pods",
            target.subresource
        ),
        None,
    ))
}
