//! The HTTP side: accept connections, record each request, apply faults, answer.

use std::sync::Arc;

use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::RecordedRequest;
use crate::api::{self, Req, State};
use crate::server::auth::{Identity, Security};
use crate::server::faults::Action;
use crate::shared::body::{BoxError, RechunkedBody, ResBody, TruncatedBody};
use crate::shared::status::ApiError;

const MAX_BODY: usize = 16 * 1024 * 1024;

/// Serve until `shutdown` flips to true; then every connection is closed.
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
    security: Arc<Security>,
) {
    let mut conns = JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                state.connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let _ = stream.set_nodelay(true);
                let state = Arc::clone(&state);
                let security = Arc::clone(&security);
                conns.spawn(async move {
                    let Some(tls) = &security.tls else {
                        serve_conn(TokioIo::new(stream), state, security, None).await;
                        return;
                    };
                    let Ok(stream) = tls.acceptor.accept(stream).await else { return };
                    let peer = stream.get_ref().1.peer_certificates()
                        .and_then(|c| c.first())
                        .and_then(|c| crate::server::tls::subject_identity(c))
                        .map(|(user, groups)| Identity { user, groups });
                    serve_conn(TokioIo::new(stream), state, security, peer).await;
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    conns.abort_all();
}

/// Serve one (plain or TLS) connection; `peer` is its verified client certificate's identity.
async fn serve_conn<S>(
    io: TokioIo<S>,
    state: Arc<State>,
    security: Arc<Security>,
    peer: Option<Identity>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let peer = Arc::new(peer);
    let svc = service_fn(move |req| {
        handle(
            Arc::clone(&state),
            Arc::clone(&security),
            Arc::clone(&peer),
            req,
        )
    });
    let _ = auto::Builder::new(TokioExecutor::new())
        .serve_connection(io, svc)
        .await;
}

async fn handle(
    state: Arc<State>,
    security: Arc<Security>,
    peer: Arc<Option<Identity>>,
    req: Request<Incoming>,
) -> Result<Response<ResBody>, BoxError> {
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
    state
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
    if let Err(refused) = who {
        return Ok(api::error(&refused));
    }
    let fault = state.faults.take(&method, &path);
    match &fault {
        Some(Action::Drop) => return Err("fault injected: connection dropped".into()),
        Some(Action::Status { code, retry_after }) => {
            return Ok(fault_status(*code, retry_after.as_deref()));
        }
        Some(Action::Delay(d)) => tokio::time::sleep(*d).await,
        _ => {}
    }
    let res = answer(&state, req, method, path, query).await;
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

async fn answer(
    state: &Arc<State>,
    req: Request<Incoming>,
    method: String,
    path: String,
    query: String,
) -> Response<ResBody> {
    let header_str = |name: header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let accept = header_str(header::ACCEPT);
    let content_type = header_str(header::CONTENT_TYPE);
    let user_agent = header_str(header::USER_AGENT);
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            let too_large = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            let err = if too_large {
                ApiError::new(
                    413,
                    "RequestEntityTooLarge",
                    "the request body is too large",
                    None,
                )
            } else {
                ApiError::bad_request(format!("reading the request body failed: {e}"))
            };
            return api::error(&err);
        }
    };
    let req = Req {
        method: method.parse().unwrap_or(http::Method::GET),
        path,
        query: api::parse_query(Some(&query)),
        accept,
        content_type,
        body,
        user_agent,
    };
    api::route(state, req).await
}

/// The `Status` answer of an injected error code.
fn fault_status(code: u16, retry_after: Option<&str>) -> Response<ResBody> {
    let (reason, message) = match code {
        429 => (
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later",
        ),
        500 => (
            "InternalError",
            "an error on the server has prevented the request from succeeding",
        ),
        503 => (
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        ),
        504 => (
            "Timeout",
            "the server was unable to return a response in the time allotted, but may still be processing the request",
        ),
        410 => ("Expired", "the resource version is too old"),
        404 => (
            "NotFound",
            "the server could not find the requested resource",
        ),
        409 => ("Conflict", "the server reported a conflict"),
        401 => ("Unauthorized", "Unauthorized"),
        403 => ("Forbidden", "forbidden"),
        _ => ("", "fault injected"),
    };
    let mut details = json!({});
    if let Some(ra) = retry_after.and_then(|r| r.parse::<u64>().ok()) {
        details["retryAfterSeconds"] = json!(ra);
    }
    let err = ApiError::new(code, reason, message, Some(details));
    let mut res = api::error(&err);
    *res.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(ra) = retry_after.and_then(|r| HeaderValue::from_str(r).ok()) {
        res.headers_mut().insert(header::RETRY_AFTER, ra);
    }
    res
}
