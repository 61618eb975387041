//! The default HTTP client: a connection pool that drives each HTTP/1 connection on the
//! task of the request using it.
//!
//! hyper-util's pooled client spawns a task per connection, so every request hops from
//! the caller's task to the connection's task and back (on a multi-thread runtime, across
//! threads: about 45 µs of a 130 µs GET on loopback, measured in `bench/README.md`). Here
//! the request future, and then the response body, poll the connection themselves while
//! they own it; when the body has been read to its end the connection goes back to the
//! pool, ready for the next request. A connection that negotiated HTTP/2 by ALPN is
//! multiplexed instead: it runs on its own task, as HTTP/2 needs, and every request shares
//! it.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::header::{HOST, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Request, Response, Uri};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_rustls::MaybeHttpsStream;
use hyper_util::client::legacy::connect::Connection as _;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls_pki_types::ServerName;
use tower_service::Service;

use crate::error::BoxError;
use crate::transport::RequestBody;
use crate::transport::connect::{Connector, ConnectorStream};

type Io = MaybeHttpsStream<TokioIo<ConnectorStream>>;
type Key = (Scheme, Authority);

/// How long an idle connection may wait in the pool before it is closed instead of reused.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a TLS handshake may take once the TCP connection is up (client-go's
/// `TLSHandshakeTimeout`): a server that accepts connections and never speaks TLS fails
/// the request instead of hanging it.
pub(crate) const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How many idle connections are kept per server.
const MAX_IDLE_PER_HOST: usize = 128;
/// The most headers an HTTP/1 answer may carry. hyper's default is 100, which a proxy or
/// an audit layer adding headers can pass; Go bounds them by size instead (10 MB). Past
/// 100, hyper takes the parse table from the heap (1,000 headers: ≈ 56 KB per answer).
const MAX_RESPONSE_HEADERS: usize = 1_000;

/// The default HTTP service: pooled connections to the API server over rustls (or plain
/// HTTP for `http://`), HTTP/1.1 or HTTP/2 as ALPN decides, through the configured proxy.
///
/// An HTTP/1 connection is driven by the request that holds it, with no task in between;
/// an HTTP/2 connection runs on its own task and carries every request to its server, with
/// keep-alive pings every 30 s. Cloning is cheap and clones share the pool. It is a tower
/// [`Service`], so it can be wrapped in layers and handed to
/// [`RestClientBuilder::service`](crate::RestClientBuilder::service).
#[derive(Clone)]
pub struct HttpClient {
    pool: Arc<Pool>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

struct Pool {
    /// TCP, straight or through a proxy's tunnel.
    connector: Connector,
    /// TLS over it for `https` servers, offering HTTP/2 and HTTP/1.1 by ALPN.
    tls: tokio_rustls::TlsConnector,
    /// The same, offering only HTTP/1.1: an upgrade (WebSocket) needs HTTP/1.1.
    tls_http1: tokio_rustls::TlsConnector,
    /// The client certificate from a changing source, checked before each handshake.
    identity: Option<Arc<crate::transport::tls::DynamicIdentity>>,
    /// The name the server's certificate must carry, when not the URL's host.
    server_name: Option<ServerName<'static>>,
    idle: Mutex<HashMap<Key, Vec<Idle>>>,
    h2: Mutex<HashMap<Key, http2::SendRequest<RequestBody>>>,
    /// Per `https` server whose protocol is not known yet: held while a connection is
    /// made, so that requests starting together wait to learn whether ALPN picked HTTP/2
    /// (one connection for all) instead of each making its own handshake.
    connecting: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>,
    /// `https` servers that answered with HTTP/1.1: connect without waiting on each other.
    http1: Mutex<HashSet<Key>>,
}

/// One HTTP/1 connection: the handle requests are sent with, and the future that does
/// the connection's reading and writing.
struct H1 {
    tx: http1::SendRequest<RequestBody>,
    conn: http1::Connection<Io, RequestBody>,
}

struct Idle {
    h1: Box<H1>,
    since: Instant,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Pool {
    fn checkout(&self, key: &Key) -> Option<Box<H1>> {
        let mut idle = lock(&self.idle);
        let list = idle.get_mut(key)?;
        while let Some(entry) = list.pop() {
            if entry.since.elapsed() < IDLE_TIMEOUT && !entry.h1.tx.is_closed() {
                return Some(entry.h1);
            }
        }
        None
    }

    fn put(&self, key: Key, h1: Box<H1>) {
        let mut idle = lock(&self.idle);
        let list = idle.entry(key).or_default();
        list.retain(|e| e.since.elapsed() < IDLE_TIMEOUT);
        if list.len() < MAX_IDLE_PER_HOST {
            list.push(Idle {
                h1,
                since: Instant::now(),
            });
        }
    }

    fn forget_h2(&self, key: &Key) {
        lock(&self.h2).remove(key);
    }

    fn h2_sender(&self, key: &Key) -> Option<http2::SendRequest<RequestBody>> {
        let mut h2 = lock(&self.h2);
        match h2.get(key) {
            Some(tx) if !tx.is_closed() => Some(tx.clone()),
            Some(_) => {
                h2.remove(key);
                None
            }
            None => None,
        }
    }
}

/// Why a request did not get an answer on a connection.
enum SendError {
    /// The connection closed before the request was written: it can go on another one.
    Unsent(Box<Request<RequestBody>>, hyper::Error),
    Failed(BoxError),
}

impl HttpClient {
    pub(crate) fn new(
        connector: Connector,
        tls: Arc<rustls::ClientConfig>,
        identity: Option<Arc<crate::transport::tls::DynamicIdentity>>,
        server_name: Option<ServerName<'static>>,
    ) -> Self {
        let mut http1_only = (*tls).clone();
        http1_only.alpn_protocols = vec![b"http/1.1".to_vec()];
        HttpClient {
            pool: Arc::new(Pool {
                connector,
                tls: tokio_rustls::TlsConnector::from(tls),
                tls_http1: tokio_rustls::TlsConnector::from(Arc::new(http1_only)),
                identity,
                server_name,
                idle: Mutex::new(HashMap::new()),
                h2: Mutex::new(HashMap::new()),
                connecting: Mutex::new(HashMap::new()),
                http1: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// Sends one request with an absolute URI and returns the answer once its head has
    /// arrived; the body is read as it is polled.
    ///
    /// # Errors
    /// The transport error: no connection could be made, or it failed before the
    /// answer's head arrived.
    pub async fn send(&self, req: Request<RequestBody>) -> Result<Response<HttpBody>, BoxError> {
        let key = key(req.uri())?;
        let mut req = req;
        let https = key.0 == Scheme::HTTPS;
        // HTTP/2 is only ever negotiated by ALPN, over TLS.
        if let Some(tx) = https.then(|| self.pool.h2_sender(&key)).flatten() {
            match send_h2(tx, req).await {
                Err(SendError::Unsent(r, e)) => {
                    // The shared connection is going away (GOAWAY, a dropped link): the
                    // request was not sent, so it goes on a new connection.
                    tracing::debug!(target: "kubecto::pool", error = %e, "HTTP/2 connection closed before the request was sent; reconnecting");
                    self.pool.forget_h2(&key);
                    req = *r;
                }
                other => return settled(other),
            }
        }
        while let Some(mut h1) = self.pool.checkout(&key) {
            if !std::future::poll_fn(|cx| Poll::Ready(h1.poll_alive(cx))).await {
                continue;
            }
            match send_h1(&self.pool, key.clone(), h1, req).await {
                Ok(resp) => return Ok(resp),
                Err(SendError::Unsent(r, e)) => {
                    let r = *r;
                    tracing::debug!(target: "kubecto::pool", error = %e, "pooled connection closed before the request was written; trying another");
                    req = r;
                }
                Err(SendError::Failed(e)) => return Err(e),
            }
        }
        let may_be_h2 = https && !lock(&self.pool.http1).contains(&key);
        let connecting = if may_be_h2 {
            let gate = lock(&self.pool.connecting)
                .entry(key.clone())
                .or_default()
                .clone();
            let guard = gate.lock_owned().await;
            if let Some(tx) = self.pool.h2_sender(&key) {
                drop(guard);
                return settled(send_h2(tx, req).await);
            }
            // The connection made while this request waited spoke HTTP/1.1: connect
            // alongside the others instead of one after another.
            if lock(&self.pool.http1).contains(&key) {
                None
            } else {
                Some(guard)
            }
        } else {
            None
        };
        let io = self.connect(req.uri().clone(), &self.pool.tls).await?;
        if io.connected().is_negotiated_h2() {
            let tx = self.handshake_h2(key, io).await?;
            drop(connecting);
            return settled(send_h2(tx, req).await);
        }
        if may_be_h2 {
            lock(&self.pool.http1).insert(key.clone());
        }
        drop(connecting);
        let (tx, conn) = http1::Builder::new()
            .max_headers(MAX_RESPONSE_HEADERS)
            .handshake(io)
            .await
            .map_err(|e| Box::new(e) as BoxError)?;
        settled(send_h1(&self.pool, key, Box::new(H1 { tx, conn }), req).await)
    }

    /// Closes the idle connections and stops giving new requests to the open HTTP/2
    /// ones, so that the next request makes a new TLS handshake (after the client
    /// certificate changed, say). Requests in flight finish on the connections they have.
    pub fn close_idle(&self) {
        lock(&self.pool.idle).clear();
        lock(&self.pool.h2).clear();
    }

    /// Sends a request that asks to upgrade the connection (`Connection: Upgrade`) on a
    /// connection of its own, made for it and never pooled: HTTP/1.1 only (an upgrade
    /// does not exist in HTTP/2), through the same proxy and TLS as any request. The
    /// connection runs on its own task until the answer is in; after a `101 Switching
    /// Protocols`, `hyper::upgrade::on` on the answer yields the connection.
    ///
    /// # Errors
    /// The transport error: no connection could be made, or it failed before the
    /// answer's head arrived.
    pub(crate) async fn send_upgrade(
        &self,
        req: Request<RequestBody>,
    ) -> Result<Response<Incoming>, BoxError> {
        let mut req = req;
        let io = self
            .connect(req.uri().clone(), &self.pool.tls_http1)
            .await?;
        let (mut tx, conn) = http1::Builder::new()
            .max_headers(MAX_RESPONSE_HEADERS)
            .handshake(io)
            .await
            .map_err(|e| Box::new(e) as BoxError)?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(target: "kubecto::pool", error = %e, "upgrading HTTP/1 connection failed");
            }
        });
        to_origin_form(&mut req)?;
        std::future::poll_fn(|cx| tx.poll_ready(cx))
            .await
            .map_err(|e| Box::new(e) as BoxError)?;
        tx.send_request(req)
            .await
            .map_err(|e| Box::new(e) as BoxError)
    }

    /// Connects to the server of `uri`: TCP (through the proxy, if any), then TLS for
    /// `https` with `tls`, bounded by [`TLS_HANDSHAKE_TIMEOUT`].
    async fn connect(&self, uri: Uri, tls: &tokio_rustls::TlsConnector) -> Result<Io, BoxError> {
        let connect_error = |e: BoxError| Box::new(ConnectError(e)) as BoxError;
        let name = match (uri.scheme() == Some(&Scheme::HTTPS), &self.pool.server_name) {
            (false, _) => None,
            (true, Some(name)) => Some(name.clone()),
            (true, None) => Some(crate::transport::tls::server_name(
                uri.host().unwrap_or_default(),
            )?),
        };
        let mut connector = self.pool.connector.clone();
        std::future::poll_fn(|cx| connector.poll_ready(cx))
            .await
            .map_err(connect_error)?;
        let tcp = connector.call(uri).await.map_err(connect_error)?;
        let Some(name) = name else {
            return Ok(MaybeHttpsStream::Http(tcp));
        };
        if let Some(identity) = &self.pool.identity {
            identity.check().map_err(|e| connect_error(Box::new(e)))?;
        }
        let handshake = tls.connect(name, TokioIo::new(tcp));
        match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, handshake).await {
            Ok(Ok(tls)) => Ok(MaybeHttpsStream::Https(TokioIo::new(tls))),
            Ok(Err(e)) => Err(connect_error(Box::new(e))),
            Err(_) => Err(connect_error(Box::new(TlsHandshakeTimeout))),
        }
    }

    async fn handshake_h2(
        &self,
        key: Key,
        io: Io,
    ) -> Result<http2::SendRequest<RequestBody>, BoxError> {
        let (tx, conn) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(15))
            .keep_alive_while_idle(true)
            .handshake(io)
            .await
            .map_err(|e| Box::new(e) as BoxError)?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(target: "kubecto::pool", error = %e, "HTTP/2 connection ended");
            }
        });
        lock(&self.pool.h2).insert(key, tx.clone());
        Ok(tx)
    }
}

impl Service<Request<RequestBody>> for HttpClient {
    type Response = Response<HttpBody>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<HttpBody>, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<RequestBody>) -> Self::Future {
        let client = self.clone();
        Box::pin(async move { client.send(req).await })
    }
}

fn key(uri: &Uri) -> Result<Key, BoxError> {
    match (uri.scheme(), uri.authority()) {
        (Some(s), Some(a)) => Ok((s.clone(), a.clone())),
        _ => {
            Err(format!("request URI {uri} is not absolute (it needs a scheme and a host)").into())
        }
    }
}

/// HTTP/1 wants the origin form (`/path?query`) on the request line and the server in
/// `Host`, without the scheme's default port (as Go and hyper-util send it).
fn to_origin_form(req: &mut Request<RequestBody>) -> Result<(), BoxError> {
    let uri = req.uri();
    if !req.headers().contains_key(HOST)
        && let Some(authority) = uri.authority()
    {
        let default_port = match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        };
        // Never the user information of the authority (`user:password@`).
        let host = match authority.port_u16() {
            Some(p) if Some(p) == default_port => authority.host(),
            _ => authority.as_str().rsplit('@').next().unwrap_or_default(),
        };
        let value = HeaderValue::from_str(host)?;
        req.headers_mut().insert(HOST, value);
    }
    let path = req
        .uri()
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    *req.uri_mut() = Uri::from(path);
    Ok(())
}

impl H1 {
    /// Whether an idle connection can take a request: polling it notices a server that
    /// has closed it meanwhile.
    fn poll_alive(&mut self, cx: &mut Context<'_>) -> bool {
        if self.tx.is_closed() {
            return false;
        }
        match Pin::new(&mut self.conn).poll(cx) {
            Poll::Ready(_) => false,
            Poll::Pending => self.tx.is_ready(),
        }
    }
}

async fn send_h1(
    pool: &Arc<Pool>,
    key: Key,
    mut h1: Box<H1>,
    mut req: Request<RequestBody>,
) -> Result<Response<HttpBody>, SendError> {
    // Kept to give an unsent request back as it came, ready for another connection.
    let absolute = req.uri().clone();
    to_origin_form(&mut req).map_err(SendError::Failed)?;
    let mut answer = pin!(h1.tx.try_send_request(req));
    let mut closed = false;
    let result = std::future::poll_fn(|cx| {
        if let Poll::Ready(r) = answer.as_mut().poll(cx) {
            return Poll::Ready(r);
        }
        if !closed && let Poll::Ready(r) = Pin::new(&mut h1.conn).poll(cx) {
            closed = true;
            if let Err(e) = r {
                tracing::debug!(target: "kubecto::pool", error = %e, "HTTP/1 connection failed");
            }
            // The connection has said all it will: the answer is settled now.
            return answer.as_mut().poll(cx);
        }
        Poll::Pending
    })
    .await;
    match result {
        Ok(resp) => {
            let conn = if closed { None } else { Some(h1) };
            Ok(resp.map(|body| HttpBody {
                body,
                conn,
                pool: Some((pool.clone(), key)),
            }))
        }
        Err(mut e) => match e.take_message() {
            Some(mut req) => {
                *req.uri_mut() = absolute;
                Err(SendError::Unsent(Box::new(req), e.into_error()))
            }
            None => Err(SendError::Failed(Box::new(e.into_error()))),
        },
    }
}

async fn send_h2(
    mut tx: http2::SendRequest<RequestBody>,
    req: Request<RequestBody>,
) -> Result<Response<HttpBody>, SendError> {
    if let Err(e) = std::future::poll_fn(|cx| tx.poll_ready(cx)).await {
        return Err(SendError::Unsent(Box::new(req), e));
    }
    match tx.try_send_request(req).await {
        Ok(resp) => Ok(resp.map(|body| HttpBody {
            body,
            conn: None,
            pool: None,
        })),
        Err(mut e) => match e.take_message() {
            Some(req) => Err(SendError::Unsent(Box::new(req), e.into_error())),
            None => Err(SendError::Failed(Box::new(e.into_error()))),
        },
    }
}

/// The answer on a new connection: a request it did not take has nowhere else to go.
fn settled(result: Result<Response<HttpBody>, SendError>) -> Result<Response<HttpBody>, BoxError> {
    match result {
        Ok(resp) => Ok(resp),
        Err(SendError::Unsent(_, e)) => Err(Box::new(e)),
        Err(SendError::Failed(e)) => Err(e),
    }
}

/// The body of an answer from [`HttpClient`]. Reading it drives the HTTP/1 connection it
/// came on; once it has been read to its end, that connection returns to the pool.
/// Dropping it earlier closes the connection.
pub struct HttpBody {
    body: Incoming,
    /// The HTTP/1 connection the body arrives on, while this body owns it.
    conn: Option<Box<H1>>,
    pool: Option<(Arc<Pool>, Key)>,
}

impl std::fmt::Debug for HttpBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpBody")
            .field("pooled_http1", &self.conn.is_some())
            .finish_non_exhaustive()
    }
}

impl HttpBody {
    /// Gives the connection back to the pool, once its dispatcher is ready for another
    /// request (it may need one more poll to notice the answer is complete).
    fn release(&mut self, cx: &mut Context<'_>) {
        let Some(mut h1) = self.conn.take() else {
            return;
        };
        if !h1.tx.is_ready() && Pin::new(&mut h1.conn).poll(cx).is_ready() {
            return;
        }
        if h1.tx.is_ready()
            && let Some((pool, key)) = self.pool.take()
        {
            pool.put(key, h1);
        }
    }

    fn settle(
        &mut self,
        frame: Option<Result<Frame<Bytes>, hyper::Error>>,
        cx: &mut Context<'_>,
    ) -> Option<Result<Frame<Bytes>, BoxError>> {
        match frame {
            None => {
                self.release(cx);
                None
            }
            Some(Ok(f)) => {
                if self.body.is_end_stream() {
                    self.release(cx);
                }
                Some(Ok(f))
            }
            Some(Err(e)) => {
                self.conn = None;
                Some(Err(Box::new(e)))
            }
        }
    }
}

impl Body for HttpBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let mut drove = false;
        loop {
            if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
                return Poll::Ready(this.settle(frame, cx));
            }
            let Some(h1) = this.conn.as_mut() else {
                return Poll::Pending;
            };
            if drove {
                return Poll::Pending;
            }
            drove = true;
            if let Poll::Ready(r) = Pin::new(&mut h1.conn).poll(cx) {
                // Closed: the body has been handed its end or its error.
                if let Err(e) = r {
                    tracing::debug!(target: "kubecto::pool", error = %e, "HTTP/1 connection failed");
                }
                this.conn = None;
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for HttpBody {
    fn drop(&mut self) {
        if self.conn.is_some() && self.body.is_end_stream() {
            self.release(&mut Context::from_waker(std::task::Waker::noop()));
        }
    }
}

/// The TLS handshake did not finish within [`TLS_HANDSHAKE_TIMEOUT`].
#[derive(Debug, thiserror::Error)]
#[error(
    "the TLS handshake did not finish within {TLS_HANDSHAKE_TIMEOUT:?} (the server accepted the connection but did not complete TLS)"
)]
pub(crate) struct TlsHandshakeTimeout;

/// The connection to the server (or the proxy) could not be made.
#[derive(Debug)]
pub(crate) struct ConnectError(BoxError);

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot connect")
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::Full;

    /// A connection the server closed just after the pool found it alive: hyper hands the
    /// request back unsent, and it must still carry its absolute URI so `send` can make a
    /// new connection for it.
    #[tokio::test]
    async fn a_request_handed_back_unsent_keeps_its_absolute_uri() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                drop(sock);
            }
        });
        let url = format!("http://{addr}/api/v1/pods");
        let client =
            crate::transport::http_client(&crate::Config::new(format!("http://{addr}"))).unwrap();
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let io = MaybeHttpsStream::Http(TokioIo::new(ConnectorStream::from(tcp)));
        let (tx, conn) = http1::Builder::new().handshake(io).await.unwrap();
        // Let the close arrive, without polling the connection (as an idle one in the pool).
        tokio::time::sleep(Duration::from_millis(100)).await;
        let req = Request::get(url.as_str())
            .body(Full::new(Bytes::new()))
            .unwrap();
        let key = key(req.uri()).unwrap();
        match send_h1(&client.pool, key, Box::new(H1 { tx, conn }), req).await {
            Err(SendError::Unsent(req, _)) => assert_eq!(req.uri().to_string(), url),
            Err(SendError::Failed(e)) => panic!("failed instead of handed back: {e}"),
            Ok(_) => panic!("a closed connection answered"),
        }
    }
}
