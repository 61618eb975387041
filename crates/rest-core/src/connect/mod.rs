//! The TCP connector under TLS: direct, through an HTTP proxy with `CONNECT`, or through
//! a SOCKS5 proxy (`socks5://`, `socks5h://`: the proxy resolves the server's name, as Go's
//! dialer has it do for both).

use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use http::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::{SocksV5, Tunnel};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use crate::config::Proxy;
use crate::error::{BoxError, Error, Result};

/// Opens the TCP connection for a request: straight to the server, or through an HTTP
/// proxy (a `CONNECT` tunnel, for `https` and `http` servers alike) or a SOCKS5 proxy.
#[derive(Clone)]
pub struct Connector {
    http: HttpConnector,
    proxy: Option<Arc<Matcher>>,
    /// Whether loopback servers bypass the proxy (only for proxies from the environment,
    /// as Go's `ProxyFromEnvironment` does).
    bypass_loopback: bool,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The proxy URL may carry credentials: say only whether there is one.
        f.debug_struct("Connector")
            .field("proxy", &self.proxy.is_some())
            .finish_non_exhaustive()
    }
}

fn is_loopback(dst: &Uri) -> bool {
    match dst.host() {
        Some(h) if h.eq_ignore_ascii_case("localhost") => true,
        Some(h) => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// The proxy schemes this connector speaks: `http` (CONNECT), `socks5` and `socks5h`.
fn check_scheme(uri: &Uri) -> std::result::Result<(), String> {
    match uri.scheme_str() {
        Some("http" | "socks5" | "socks5h") => Ok(()),
        other => Err(format!(
            "unsupported proxy scheme {:?}: http://, socks5:// and socks5h:// proxies are supported",
            other.unwrap_or("")
        )),
    }
}

impl Connector {
    pub(crate) fn new(http: HttpConnector, proxy: &Proxy) -> Result<Self> {
        let (matcher, bypass_loopback) = match proxy {
            Proxy::None => (None, false),
            Proxy::FromEnvironment => (Some(Matcher::from_env()), true),
            Proxy::Url(url) => {
                let uri: Uri = url.parse().map_err(|e| Error::Config {
                    what: "invalid proxy URL".to_owned(),
                    source: Some(Box::new(e)),
                })?;
                if let Err(what) = check_scheme(&uri) {
                    return Err(Error::Config { what, source: None });
                }
                (Some(Matcher::builder().all(url.clone()).build()), false)
            }
        };
        Ok(Self {
            http,
            proxy: matcher.map(Arc::new),
            bypass_loopback,
        })
    }
}

impl Service<Uri> for Connector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = BoxFuture<'static, std::result::Result<Self::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let intercept = match &self.proxy {
            Some(m) if !(self.bypass_loopback && is_loopback(&dst)) => m.intercept(&dst),
            _ => None,
        };
        match intercept {
            None => {
                let fut = self.http.call(dst);
                Box::pin(async move { fut.await.map_err(Into::into) })
            }
            Some(proxy) => {
                let proxy_uri = proxy.uri().clone();
                if let Err(what) = check_scheme(&proxy_uri) {
                    return Box::pin(async move { Err(what.into()) });
                }
                if proxy_uri.scheme_str() != Some("http") {
                    // socks5 or socks5h: the proxy resolves the name either way, as Go's
                    // SOCKS dialer has it do.
                    let mut socks = SocksV5::new(proxy_uri, self.http.clone()).local_dns(false);
                    if let Some((user, pass)) = proxy.raw_auth() {
                        socks = socks.with_auth(user.to_owned(), pass.to_owned());
                    }
                    return Box::pin(async move {
                        futures_util::future::poll_fn(|cx| socks.poll_ready(cx)).await?;
                        socks.call(dst).await.map_err(Into::into)
                    });
                }
                let mut tunnel = Tunnel::new(proxy_uri, self.http.clone());
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                Box::pin(async move {
                    futures_util::future::poll_fn(|cx| tunnel.poll_ready(cx)).await?;
                    tunnel.call(dst).await.map_err(Into::into)
                })
            }
        }
    }
}
