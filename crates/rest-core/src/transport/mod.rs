//! What carries a request: the default pooled client over rustls (`pool.rs`, with the
//! proxy-aware connector of `connect/` and the TLS set-up of `tls.rs`), or a user's own
//! tower service; the body it hands back (`body.rs`, inflated by `gzip.rs`); and how its
//! failures are classified for the retry policy.

pub(crate) mod body;
pub(crate) mod connect;
pub(crate) mod gzip;
pub(crate) mod pool;
pub(crate) mod tls;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::{Full, combinators::UnsyncBoxBody};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::config::Config;
use crate::error::{BoxError, Error, Result, TransportKind, chain};
use crate::transport::body::{BodyTimeout, ResponseBody};
use crate::transport::connect::{Connector, ProxyError};
use crate::transport::pool::{ConnectError, HttpClient, TlsHandshakeTimeout};
use crate::transport::tls::UnusableIdentity;

/// The body type of requests handed to the HTTP service.
pub type RequestBody = Full<Bytes>;

pub(crate) type BoxBody = UnsyncBoxBody<Bytes, BoxError>;

pub(crate) type CustomService = Arc<
    dyn Fn(
            http::Request<RequestBody>,
        ) -> BoxFuture<'static, Result<http::Response<BoxBody>, BoxError>>
        + Send
        + Sync,
>;

#[allow(clippy::large_enum_variant)] // lives once per client, behind an Arc
pub(crate) enum Transport {
    Hyper(HttpClient),
    Custom(CustomService),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Hyper(_) => "Hyper",
            Transport::Custom(_) => "Custom",
        })
    }
}

impl Transport {
    /// Sends one request.
    pub(crate) async fn call(
        &self,
        req: http::Request<RequestBody>,
    ) -> std::result::Result<http::Response<ResponseBody>, BoxError> {
        match self {
            Transport::Hyper(c) => c.send(req).await.map(|r| r.map(ResponseBody::Pooled)),
            Transport::Custom(f) => f(req).await.map(|r| r.map(ResponseBody::Boxed)),
        }
    }

    /// Sends one request that asks to upgrade its connection; the answer keeps hyper's
    /// upgrade in its extensions. The default client makes a connection for it alone; a
    /// user's service upgrades if it is built on hyper and hands the answer's extensions
    /// on.
    pub(crate) async fn upgrade(
        &self,
        req: http::Request<RequestBody>,
    ) -> std::result::Result<http::Response<ResponseBody>, BoxError> {
        use http_body_util::BodyExt as _;
        match self {
            Transport::Hyper(c) => c.send_upgrade(req).await.map(|r| {
                r.map(|body| ResponseBody::Boxed(body.map_err(Into::into).boxed_unsync()))
            }),
            Transport::Custom(f) => f(req).await.map(|r| r.map(ResponseBody::Boxed)),
        }
    }
}

/// The default HTTP service for `config`: pooled connections, HTTP/1.1 and HTTP/2
/// negotiated by ALPN over rustls (plain HTTP for `http://`), through the configured proxy.
///
/// # Errors
/// [`Error::Tls`] or [`Error::Config`] when TLS material cannot be read or used.
pub(crate) fn http_client(config: &Config) -> Result<HttpClient> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_keepalive(Some(Duration::from_secs(30)));
    http.set_connect_timeout(Some(Duration::from_secs(30)));
    let plain_http = config
        .host
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"));
    let (mut tls, identity) = crate::transport::tls::client_config(
        &config.tls,
        config.client_cert_source.as_ref(),
        plain_http,
    )?;
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let server_name = match &config.tls.server_name {
        Some(name) => Some(crate::transport::tls::server_name(name)?),
        None => None,
    };
    Ok(HttpClient::new(
        Connector::new(http, &config.proxy, &config.tls)?,
        Arc::new(tls),
        identity,
        server_name,
    ))
}

/// Classifies a transport error by walking its source chain.
pub(crate) fn classify(err: &(dyn std::error::Error + 'static)) -> TransportKind {
    let mut connect = false;
    for e in chain(err) {
        if let Some(p) = e.downcast_ref::<ProxyError>() {
            return p.kind;
        }
        if let Some(le) = e.downcast_ref::<hyper_util::client::legacy::Error>() {
            connect |= le.is_connect();
        }
        connect |= e.is::<ConnectError>();
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => return TransportKind::ConnectionRefused,
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                    return TransportKind::ConnectionReset;
                }
                _ => {}
            }
        }
        if let Some(h2) = e.downcast_ref::<h2::Error>()
            && unprocessed(h2)
        {
            return TransportKind::Unprocessed;
        }
        if let Some(he) = e.downcast_ref::<hyper::Error>()
            && (he.is_incomplete_message() || he.is_canceled() || he.is_closed())
        {
            return TransportKind::ConnectionReset;
        }
    }
    if connect {
        TransportKind::Connect
    } else {
        TransportKind::Other
    }
}

/// Whether an HTTP/2 stream failed before the server processed it. A `GOAWAY` fails at
/// once only the streams above its last stream id; with an error code, the streams below
/// it fail the same way when the connection closes, so only a graceful one (`NO_ERROR`)
/// says the request was never seen.
fn unprocessed(e: &h2::Error) -> bool {
    e.is_remote()
        && ((e.is_reset() && e.reason() == Some(h2::Reason::REFUSED_STREAM))
            || (e.is_go_away() && e.reason() == Some(h2::Reason::NO_ERROR)))
}

/// A rustls error in the chain means TLS failed (bad certificate, unknown CA).
fn tls_failure(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    chain(err)
        .into_iter()
        .find_map(|e| e.downcast_ref::<rustls::Error>().map(|te| te.to_string()))
}

pub(crate) fn transport_error(url: &str, err: BoxError) -> Error {
    if let Some(g) = err.downcast_ref::<crate::transport::gzip::GzipError>() {
        return Error::Decode {
            url: url.to_owned(),
            body_excerpt: String::new(),
            offset: None,
            source: g.to_string().into(),
        };
    }
    if let Some(t) = err.downcast_ref::<BodyTimeout>() {
        return Error::Timeout {
            url: url.to_owned(),
            after: t.0,
        };
    }
    if let Some(timeout) = chain(err.as_ref())
        .into_iter()
        .find_map(|e| e.downcast_ref::<TlsHandshakeTimeout>())
    {
        return Error::Tls {
            what: format!("handshake with {url} failed: {timeout}"),
            source: None,
        };
    }
    if let Some(unusable) = chain(err.as_ref())
        .into_iter()
        .find_map(|e| e.downcast_ref::<UnusableIdentity>())
    {
        return Error::Tls {
            what: format!("cannot connect to {url}: {unusable}"),
            source: None,
        };
    }
    if let Some(proxy) = chain(err.as_ref())
        .into_iter()
        .find_map(|e| e.downcast_ref::<ProxyError>())
        .filter(|p| p.tls)
    {
        return Error::Tls {
            what: format!(
                "handshake with proxy {} failed (connecting to {url}): {}",
                proxy.proxy, proxy.message
            ),
            source: Some(err),
        };
    }
    if let Some(what) = tls_failure(err.as_ref()) {
        return Error::Tls {
            what: format!("handshake with {url} failed: {what}"),
            source: Some(err),
        };
    }
    Error::Transport {
        url: url.to_owned(),
        kind: classify(err.as_ref()),
        source: err,
    }
}

/// `Basic base64(user:password)`: the value of an `Authorization` header for basic auth, or
/// of a `Proxy-Authorization` header for a proxy's credentials.
pub(crate) fn basic_credentials(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

pub(crate) fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
