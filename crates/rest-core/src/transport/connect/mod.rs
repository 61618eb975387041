//! The connection under the API server's TLS: direct, through an HTTP proxy with `CONNECT`
//! (`http://`, or `https://`: TLS to the proxy, then the tunnel inside it), or through a
//! SOCKS5 proxy (`socks5://`, `socks5h://`: the proxy resolves the server's name, as Go's
//! dialer has it do for both). Which proxy, if any, is `rules.rs`'s to say; the `CONNECT`
//! handshake is `tunnel.rs`'s; the stream handed on is `stream.rs`'s.

mod rules;
mod stream;
mod tunnel;

use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use http::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::SocksV5;
use hyper_util::rt::TokioIo;
use tower_service::Service;

use crate::config::{Proxy, TlsConfig};
use crate::error::{BoxError, Error, Result, TransportKind};
use rules::{ProxyRules, ProxyScheme, ProxyTarget};
pub use stream::ConnectorStream;
pub(crate) use tunnel::ProxyError;

/// Opens the connection for a request: straight to the server, or through an HTTP(S)
/// proxy (a `CONNECT` tunnel, for `https` and `http` servers alike) or a SOCKS5 proxy.
#[derive(Clone)]
pub struct Connector {
    http: HttpConnector,
    rules: Arc<ProxyRules>,
    /// TLS to `https://` proxies, when some request may use one.
    proxy_tls: Option<tokio_rustls::TlsConnector>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The proxy URL may carry credentials: say only whether there is one.
        f.debug_struct("Connector")
            .field("proxy", &!matches!(*self.rules, ProxyRules::Direct))
            .finish_non_exhaustive()
    }
}

/// The TLS client configuration for `https://` proxies. As in Go, whose transport verifies
/// the proxy with the same `TLSClientConfig` as the server (client-go puts the kubeconfig's
/// CA there): the server's CA, or the platform's roots without one, and the insecure flag.
/// Unlike Go, the proxy's certificate is checked against the proxy's host, never the
/// server's `tls-server-name`, and no client certificate is offered to the proxy: both
/// belong to the API server. Only HTTP/1.1 is offered, which `CONNECT` is spoken in.
fn proxy_tls(tls: &TlsConfig) -> Result<tokio_rustls::TlsConnector> {
    let for_proxy = TlsConfig {
        ca: tls.ca.clone(),
        insecure: tls.insecure,
        ..TlsConfig::default()
    };
    let (mut config, _) = crate::transport::tls::client_config(&for_proxy, None, false)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

impl Connector {
    pub(crate) fn new(http: HttpConnector, proxy: &Proxy, tls: &TlsConfig) -> Result<Self> {
        let rules = match proxy {
            Proxy::None => ProxyRules::Direct,
            Proxy::FromEnvironment => ProxyRules::from_env(),
            Proxy::Url(url) => {
                ProxyRules::Always(ProxyTarget::parse(url).map_err(|what| Error::Config {
                    what: format!("proxy URL: {what}"),
                    source: None,
                })?)
            }
        };
        let proxy_tls = match rules.needs_tls() {
            true => Some(proxy_tls(tls)?),
            false => None,
        };
        Ok(Self {
            http,
            rules: Arc::new(rules),
            proxy_tls,
        })
    }
}

/// What a failure while connecting was, for the retry policy: an unclassified one is a
/// connect failure.
fn connect_kind(e: &(dyn std::error::Error + 'static)) -> TransportKind {
    match crate::transport::classify(e) {
        TransportKind::Other => TransportKind::Connect,
        kind => kind,
    }
}

/// Every message of an error chain, joined, for errors that end the chain.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    for e in crate::error::chain(e) {
        let msg = e.to_string();
        if !out.contains(&msg) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&msg);
        }
    }
    out
}

/// The server's `host:port` as `CONNECT` names it.
fn destination(dst: &Uri) -> std::result::Result<(String, u16), BoxError> {
    let host = dst
        .host()
        .ok_or_else(|| format!("request URI {dst} has no host"))?;
    let port = dst
        .port_u16()
        .unwrap_or(if dst.scheme_str() == Some("http") {
            80
        } else {
            443
        });
    Ok((host.to_owned(), port))
}

async fn through_proxy(
    mut http: HttpConnector,
    proxy_tls: Option<tokio_rustls::TlsConnector>,
    proxy: ProxyTarget,
    dst: Uri,
) -> std::result::Result<ConnectorStream, BoxError> {
    let shown = proxy.shown();
    let proxy_uri = proxy.dial_uri()?;
    if proxy.scheme == ProxyScheme::Socks5 {
        // The proxy resolves the name either way, as Go's SOCKS dialer has it do.
        let mut socks = SocksV5::new(proxy_uri, http).local_dns(false);
        if let Some((user, pass)) = &proxy.credentials {
            socks = socks.with_auth(user.clone(), pass.expose().to_owned());
        }
        let socks_error = |e: BoxError| {
            let message = format!("SOCKS5: {}", describe(e.as_ref()));
            ProxyError::new(&shown, message, connect_kind(e.as_ref()))
        };
        futures_util::future::poll_fn(|cx| socks.poll_ready(cx))
            .await
            .map_err(|e| socks_error(e.into()))?;
        let tcp = socks.call(dst).await.map_err(|e| socks_error(e.into()))?;
        return Ok(ConnectorStream::from(tcp.into_inner()));
    }
    let (host, port) = destination(&dst)?;
    let authorization = proxy
        .credentials
        .as_ref()
        .map(|(user, pass)| crate::transport::basic_credentials(user, pass.expose()));
    let tcp = http
        .call(proxy_uri)
        .await
        .map_err(|e| {
            let e: BoxError = e.into();
            let message = format!("cannot connect to the proxy: {}", describe(e.as_ref()));
            ProxyError::new(&shown, message, connect_kind(e.as_ref()))
        })?
        .into_inner();
    let auth = authorization.as_deref();
    if proxy.scheme == ProxyScheme::Http {
        let mut tcp = tcp;
        tunnel::connect(&mut tcp, &shown, &host, port, auth).await?;
        return Ok(ConnectorStream::from(tcp));
    }
    let tls = proxy_tls.ok_or("no TLS configuration for an https:// proxy")?;
    let name = crate::transport::tls::server_name(proxy.bare_host())?;
    let handshake = tls.connect(name, tcp);
    let mut tls = match tokio::time::timeout(
        crate::transport::pool::TLS_HANDSHAKE_TIMEOUT,
        handshake,
    )
    .await
    {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            let kind = connect_kind(&e);
            let mut err = ProxyError::new(&shown, describe(&e), kind);
            err.tls = true;
            return Err(err.into());
        }
        Err(_) => {
            let message = format!(
                "the TLS handshake with the proxy did not finish within {:?}",
                crate::transport::pool::TLS_HANDSHAKE_TIMEOUT
            );
            let mut err = ProxyError::new(&shown, message, TransportKind::Connect);
            err.tls = true;
            return Err(err.into());
        }
    };
    tunnel::connect(&mut tls, &shown, &host, port, auth).await?;
    Ok(ConnectorStream::from(tls))
}

impl Service<Uri> for Connector {
    type Response = TokioIo<ConnectorStream>;
    type Error = BoxError;
    type Future = BoxFuture<'static, std::result::Result<Self::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        match self.rules.pick(&dst) {
            None => {
                let fut = self.http.call(dst);
                Box::pin(async move {
                    let tcp = fut.await?;
                    Ok(TokioIo::new(ConnectorStream::from(tcp.into_inner())))
                })
            }
            Some(Err(why)) => {
                let err = ProxyError::new("from the environment", why, TransportKind::Connect);
                Box::pin(async move { Err(err.into()) })
            }
            Some(Ok(proxy)) => {
                let connecting = through_proxy(
                    self.http.clone(),
                    self.proxy_tls.clone(),
                    proxy.clone(),
                    dst,
                );
                Box::pin(async move { connecting.await.map(TokioIo::new) })
            }
        }
    }
}
