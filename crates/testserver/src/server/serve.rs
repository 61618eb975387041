//! Serving HTTP: accept connections (TLS when configured), and for each request
//! authenticate, record, apply an injected fault, read it, and hand it to the router, or,
//! for a streaming pod subresource (exec, attach, port-forward) or a proxy subresource,
//! hand it unread to `streams`, which upgrades the connection or streams the body through.

use std::sync::Arc;

use http::{Request, Response, header};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::handlers::protobuf::error_for;
use crate::route::route;
use crate::server::auth::{Identity, Security};
use crate::server::fault_body::{RechunkedBody, TruncatedBody};
use crate::server::faults::{Action, fault_status};
use crate::server::gzip;
use crate::server::request;
use crate::server::traffic::{RecordedRequest, Traffic};
use crate::shared::body::{BoxError, ResBody};
use crate::shared::state::State;
use crate::streams::{self, Streams};

/// What every connection of a server shares.
pub(crate) struct Service {
    pub state: Arc<State>,
    pub traffic: Arc<Traffic>,
    pub security: Arc<Security>,
    pub streams: Streams,
    /// Whether large answers are gzipped for clients that accept it.
    pub gzip: bool,
}

/// Serve until `shutdown` flips to true; then every connection is closed.
pub(crate) async fn serve(
    listener: TcpListener,
    service: Arc<Service>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, remote)) = accepted else { continue };
                service.traffic.connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let _ = stream.set_nodelay(true);
                let service = Arc::clone(&service);
                conns.spawn(async move {
                    let Some(tls) = &service.security.tls else {
                        serve_conn(TokioIo::new(stream), service, None, remote).await;
                        return;
                    };
                    let Ok(stream) = tls.acceptor.accept(stream).await else { return };
                    let peer = stream.get_ref().1.peer_certificates()
                        .and_then(|c| c.first())
                        .and_then(|c| crate::server::tls::subject_identity(c))
                        .map(|(user, groups)| Identity { user, groups });
                    serve_conn(TokioIo::new(stream), service, peer, remote).await;
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    conns.abort_all();
    // Upgraded connections (exec, attach) left the accept loop's hands: cut them too.
    service.streams.cut_all();
}

/// Serve one (plain or TLS) connection; `peer` is its verified client certificate's identity,
/// `remote` the address it comes from.
async fn serve_conn<S>(
    io: TokioIo<S>,
    service: Arc<Service>,
    peer: Option<Identity>,
    remote: std::net::SocketAddr,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let peer = Arc::new(peer);
    let svc = service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut()
            .insert(streams::proxy::RemoteAddr(remote));
        handle(Arc::clone(&service), Arc::clone(&peer), req)
    });
    // With upgrades: exec, attach and port-forward switch an HTTP/1.1 connection to
    // WebSocket (or SPDY) and keep it.
    let _ = auto::Builder::new(TokioExecutor::new())
        .serve_connection_with_upgrades(io, svc)
        .await;
}

async fn handle(
    service: Arc<Service>,
    peer: Arc<Option<Identity>>,
    req: Request<Incoming>,
) -> Result<Response<ResBody>, BoxError> {
    let Service {
        state,
        traffic,
        security,
        streams,
        gzip,
    } = &*service;
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    // Authentication comes before everything else, as in kube-apiserver.
    let who = security.authn.check(
        &method,
        &path,
        &query,
        req.headers(),
        peer.as_ref().as_ref(),
    );
    traffic
        .requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(RecordedRequest {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            user: who
                .as_ref()
                .ok()
                .and_then(|w| w.as_ref().map(|w| w.user.clone())),
        });
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if let Err(refused) = who {
        return Ok(error_for(&accept, &refused));
    }
    let fault = traffic.faults.take(&method, &path, &query);
    match &fault {
        Some(Action::Drop) => return Err("fault injected: connection dropped".into()),
        Some(Action::Status { code, retry_after }) => {
            return Ok(fault_status(*code, retry_after.as_deref()));
        }
        Some(Action::Delay(d)) => tokio::time::sleep(*d).await,
        _ => {}
    }
    if let Some(target) = streams::target(&path) {
        return Ok(streams::serve(state, streams, target, req).await);
    }
    if let Some(target) = streams::proxy::target(&path) {
        return Ok(streams::proxy::serve(state, streams, target, req).await);
    }
    let compress = *gzip && gzip::accepted(req.headers()) && gzip::applies(&path, &query);
    let mut res = match request::read(req, method, path, &query).await {
        Ok(req) => route(state, req).await,
        Err(e) => error_for(&accept, &e),
    };
    if compress {
        res = gzip::compress(res).await;
    }
    Ok(match fault {
        Some(Action::Truncate(n)) => res.map(|b| TruncatedBody::new(b, n).boxed_unsync()),
        Some(Action::Rechunk(n)) => {
            let (mut parts, body) = res.into_parts();
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, RechunkedBody::new(body, n).boxed_unsync())
        }
        _ => res,
    })
}
