//! The `proxy` subresources of pods, services and nodes, as kube-apiserver's `ProxyREST`s
//! serve them: the object's name may carry a port (`web:8080`) and a scheme
//! (`https:web:8443`), everything after `proxy` is the path on the backend, and the request
//! is passed on with its method, query and body, streamed both ways.
//!
//! - [`location`]: where a request goes (the pod and port, the service's endpoint, the
//!   node's kubelet), with kube-apiserver's answers when it goes nowhere.
//! - [`forward`]: the HTTP exchange with the backend, as `UpgradeAwareHandler` and
//!   `proxy.Transport` make it (headers dropped and added, `Location` rewritten, upgrades).
//!
//! Where a backend lives is the test's to say, through the same routing function as
//! port-forward's ([`super::port_forward::Targets`]).

mod forward;
mod location;
mod path;

use std::net::SocketAddr;
use std::sync::Arc;

use http::{Method, Request, Response};
use hyper::body::Incoming;

use super::Streams;
use crate::shared::body::ResBody;
use crate::shared::response::error;
use crate::shared::state::State;
use crate::shared::status::ApiError;

/// The peer address of a request's connection, put in its extensions by the HTTP stage
/// (kube-apiserver appends it to `X-Forwarded-For`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RemoteAddr(pub SocketAddr);

/// Which kind of object is proxied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Pods,
    Services,
    Nodes,
}

/// A proxy request, named by its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    kind: Kind,
    /// The namespace (pods and services).
    namespace: Option<String>,
    /// The name as written, with its port and scheme (`http:web:8080`).
    id: String,
    /// The path after `proxy`, as `getRequestOptions` makes it: `""`, or `/` and the rest
    /// joined, with the request's trailing slash.
    subpath: String,
    /// The whole request path, decoded.
    path: String,
}

/// The proxy subresource `path` names: `/api/v1/namespaces/{ns}/pods/{id}/proxy[/...]`,
/// the same for `services`, and `/api/v1/nodes/{id}/proxy[/...]`. The path is decoded
/// first, as Go's `URL.Path` is.
pub(crate) fn target(raw_path: &str) -> Option<Target> {
    if !raw_path.starts_with("/api/v1/") {
        return None;
    }
    let path = percent_encoding::percent_decode_str(raw_path)
        .decode_utf8_lossy()
        .into_owned();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (kind, namespace, id, rest) = match parts.as_slice() {
        [
            "api",
            "v1",
            "namespaces",
            ns,
            plural @ ("pods" | "services"),
            id,
            "proxy",
            rest @ ..,
        ] => {
            let kind = if *plural == "pods" {
                Kind::Pods
            } else {
                Kind::Services
            };
            (kind, Some((*ns).to_owned()), *id, rest)
        }
        ["api", "v1", "nodes", id, "proxy", rest @ ..] => (Kind::Nodes, None, *id, rest),
        _ => return None,
    };
    if id.is_empty() || namespace.as_deref() == Some("") {
        return None;
    }
    let mut subpath = rest.join("/");
    if !subpath.is_empty() && !subpath.starts_with('/') {
        subpath.insert(0, '/');
    }
    if path.ends_with('/') && !subpath.ends_with('/') {
        subpath.push('/');
    }
    Some(Target {
        kind,
        namespace,
        id: id.to_owned(),
        subpath,
        path,
    })
}

/// The methods kube-apiserver's proxy subresources accept (`proxyMethods`).
const METHODS: &[Method] = &[
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::HEAD,
    Method::OPTIONS,
];

/// Serve a request [`target`] accepted: find the backend, then pass the request on.
pub(crate) async fn serve(
    state: &Arc<State>,
    streams: &Streams,
    target: Target,
    req: Request<Incoming>,
) -> Response<ResBody> {
    if !METHODS.contains(req.method()) {
        return error(&ApiError::method_not_allowed(req.method().as_str()));
    }
    let location = match location::resolve(state, streams.port_forward.as_ref(), &target) {
        Ok(location) => location,
        Err(e) => return error(&e),
    };
    // `ProxyREST.Connect` joins the location's (empty) path and the subpath.
    let backend_path = path::join_preserving_trailing_slash(&target.subpath);
    let plan = forward::Plan {
        path_prepend: forward::path_prepend(&target.path, &backend_path),
        backend_path,
        location,
        cut: Box::pin(streams.cut_signal()),
    };
    forward::forward(req, plan).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_read_from_decoded_paths() {
        let t = target("/api/v1/namespaces/default/pods/web%3A8080/proxy/a/b/").unwrap();
        assert_eq!((t.kind, t.id.as_str()), (Kind::Pods, "web:8080"));
        assert_eq!(t.subpath, "/a/b/");
        let t = target("/api/v1/namespaces/default/services/https:web:443/proxy").unwrap();
        assert_eq!((t.kind, t.subpath.as_str()), (Kind::Services, ""));
        let t = target("/api/v1/nodes/n1/proxy/").unwrap();
        assert_eq!(
            (t.kind, t.namespace, t.subpath.as_str()),
            (Kind::Nodes, None, "/")
        );
        assert!(target("/api/v1/namespaces/default/pods/web/log").is_none());
        assert!(target("/api/v1/namespaces//pods/web/proxy").is_none());
    }
}
