//! The stream the connector hands to the pool: a TCP connection (to the server, or a tunnel
//! through an `http://` or SOCKS5 proxy), or a TLS connection to an `https://` proxy that
//! carries the tunnel. The direct case stays a plain `TcpStream`, unboxed; only the TLS
//! variant, which is large, is boxed.

use std::io::IoSlice;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::{Connected, Connection};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// A connection made by [`Connector`](crate::Connector): TCP, or TLS to an `https://`
/// proxy with a `CONNECT` tunnel inside. The API server's own TLS, if any, goes over it.
#[derive(Debug)]
pub struct ConnectorStream(Inner);

#[derive(Debug)]
enum Inner {
    Tcp(TcpStream),
    ProxyTls(Box<TlsStream<TcpStream>>),
}

impl From<TcpStream> for ConnectorStream {
    fn from(tcp: TcpStream) -> Self {
        Self(Inner::Tcp(tcp))
    }
}

impl From<TlsStream<TcpStream>> for ConnectorStream {
    fn from(tls: TlsStream<TcpStream>) -> Self {
        Self(Inner::ProxyTls(Box::new(tls)))
    }
}

impl Connection for ConnectorStream {
    fn connected(&self) -> Connected {
        match &self.0 {
            Inner::Tcp(tcp) => tcp.connected(),
            Inner::ProxyTls(tls) => tls.get_ref().0.connected().proxy(true),
        }
    }
}

impl AsyncRead for ConnectorStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().0 {
            Inner::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Inner::ProxyTls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ConnectorStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match &mut self.get_mut().0 {
            Inner::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Inner::ProxyTls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match &mut self.get_mut().0 {
            Inner::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Inner::ProxyTls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.0 {
            Inner::Tcp(s) => s.is_write_vectored(),
            Inner::ProxyTls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().0 {
            Inner::Tcp(s) => Pin::new(s).poll_flush(cx),
            Inner::ProxyTls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match &mut self.get_mut().0 {
            Inner::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Inner::ProxyTls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
