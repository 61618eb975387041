//! Upgraded connections: a request that switches its connection to WebSocket, and the
//! Kubernetes protocols spoken over it — exec and attach (`remote_command`, client-go's
//! `tools/remotecommand`) and port-forward (`port_forward`, client-go's
//! `tools/portforward`).
//!
//! [`Request::upgrade`] goes through everything an ordinary request goes through: the
//! backoff and the rate limiter, credentials (refreshed and tried again after a 401),
//! impersonation and default headers, TLS and the proxy. It then takes a connection of
//! its own (HTTP/1.1, as an upgrade needs; never pooled) and hands back the WebSocket. The
//! framing is tokio-tungstenite's; what is sent inside the frames is this module's.

mod channels;
pub mod port_forward;
pub mod remote_command;

use http::StatusCode;
use http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::{client::generate_key, derive_accept_key};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::error::{Error, Result};
use crate::request::Request;
use crate::transport::body::read_error_body;

pub use tokio_tungstenite::tungstenite::Message;

/// The WebSocket stream of an upgraded connection (tokio-tungstenite's, over hyper's
/// upgraded connection): a `Stream` of [`Message`]s and a `Sink` for them.
pub type WebSocketStream = tokio_tungstenite::WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// The largest WebSocket message accepted from the server. The channel protocols send
/// output in messages of at most a few tens of kilobytes; a bound keeps a misbehaving
/// server from growing one without end.
pub const MAX_MESSAGE_SIZE: usize = 16 << 20;

/// A connection upgraded to WebSocket, and the subprotocol the server chose.
#[derive(Debug)]
pub struct WebSocket {
    /// The stream, ready to send and receive.
    pub stream: WebSocketStream,
    /// The subprotocol the server chose from those offered (`v5.channel.k8s.io`, say).
    pub protocol: String,
    /// The URL requested, for error messages.
    pub url: String,
}

impl Request {
    /// Sends the request as a WebSocket upgrade offering `protocols` (in order of
    /// preference), and returns the connection once the server has switched protocols
    /// and chosen one of them.
    ///
    /// The request goes through the same backoff, rate limit, credentials (refreshed
    /// after a 401), TLS and proxy as [`send`](Request::send); it is retried only when
    /// the server says it did not take it (429 or 5xx with `Retry-After`), since it may
    /// start a command. The request's timeout covers the handshake, not the stream.
    ///
    /// ```no_run
    /// # async fn run(client: kubecto_rest_core::RestClient) -> Result<(), kubecto_rest_core::Error> {
    /// let ws = client
    ///     .get()
    ///     .namespace("default")
    ///     .resource("pods")
    ///     .name("web-0")
    ///     .sub_resource("exec")
    ///     .param("command", "date")
    ///     .param("stdout", true)
    ///     .upgrade(&["v5.channel.k8s.io", "v4.channel.k8s.io"])
    ///     .await?;
    /// println!("speaking {}", ws.protocol);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// What [`send`](Request::send) returns ([`Error::Api`] for a 4xx such as a pod that
    /// does not exist), and [`Error::Stream`] when the server answers without switching
    /// protocols, with a wrong `Sec-WebSocket-Accept`, or with a subprotocol not offered.
    pub async fn upgrade(self, protocols: &[&str]) -> Result<WebSocket> {
        let key = generate_key();
        let mut req = self
            .header(CONNECTION, "Upgrade")
            .header(UPGRADE, "websocket")
            .header(SEC_WEBSOCKET_VERSION, "13")
            .header(SEC_WEBSOCKET_KEY, key.as_str());
        if !protocols.is_empty() {
            req = req.header(SEC_WEBSOCKET_PROTOCOL, protocols.join(", "));
        }
        let client = req.client.clone();
        let (resp, url) = client.execute_upgrade(req).await?;
        let refuse = |what: String| Error::Stream {
            url: url.clone(),
            what,
            source: None,
        };
        let status = resp.status();
        if status != StatusCode::SWITCHING_PROTOCOLS {
            let body = read_error_body(resp.into_body()).await;
            let excerpt = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            return Err(refuse(format!(
                "the server answered {status} instead of switching to WebSocket (body: {excerpt:?})"
            )));
        }
        let headers = resp.headers();
        let expected = derive_accept_key(key.as_bytes());
        if headers
            .get(SEC_WEBSOCKET_ACCEPT)
            .is_none_or(|v| v.as_bytes() != expected.as_bytes())
        {
            return Err(refuse(
                "the server's Sec-WebSocket-Accept does not answer the key sent".to_owned(),
            ));
        }
        let chosen = headers
            .get(SEC_WEBSOCKET_PROTOCOL)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .trim()
            .to_owned();
        if !protocols.is_empty() && !protocols.contains(&chosen.as_str()) {
            return Err(refuse(format!(
                "the server chose the subprotocol {chosen:?}, not one of those offered ({})",
                protocols.join(", ")
            )));
        }
        let upgraded = hyper::upgrade::on(resp).await.map_err(|e| Error::Stream {
            url: url.clone(),
            what: "the connection could not be taken over after 101 Switching Protocols".to_owned(),
            source: Some(Box::new(e)),
        })?;
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_SIZE))
            .max_frame_size(Some(MAX_MESSAGE_SIZE));
        let stream =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Client, Some(config))
                .await;
        Ok(WebSocket {
            stream,
            protocol: chosen,
            url,
        })
    }
}
