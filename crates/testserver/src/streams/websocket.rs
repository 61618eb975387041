//! Accepting a WebSocket upgrade the way kube-apiserver's `wsstream` does (it stands on
//! `golang.org/x/net/websocket`): the checks and their answers, the subprotocol choice, the
//! 101, then the upgraded connection handed to a task as a tungstenite stream. The framing
//! is tungstenite's; what travels in the frames is the caller's.

use std::future::Future;

use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use crate::shared::body::{ResBody, full};

/// The server's end of an accepted WebSocket connection.
pub(crate) type WebSocket = WebSocketStream<TokioIo<Upgraded>>;

/// Whether a request asks for a WebSocket (`Connection: Upgrade` and `Upgrade: websocket`),
/// as `wsstream.IsWebSocketRequest` decides before choosing WebSocket over SPDY.
pub(crate) fn is_websocket<B>(req: &Request<B>) -> bool {
    let headers = req.headers();
    has_token(headers, &header::CONNECTION, "upgrade")
        && headers
            .get_all(header::UPGRADE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.trim().eq_ignore_ascii_case("websocket"))
}

/// Whether a comma-separated header holds `token` (any case).
fn has_token(headers: &HeaderMap, name: &header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The subprotocol to speak: the first of the client's `Sec-WebSocket-Protocol` list
/// (its first such header, split at commas) that the endpoint `supports`, a client that
/// names none standing for `""`, as wsstream's handshake chooses. `None`: nothing in common.
pub(crate) fn choose_protocol(headers: &HeaderMap, supports: &[&str]) -> Option<String> {
    let offered = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    let offered: Vec<&str> = if offered.is_empty() {
        vec![""]
    } else {
        offered.split(',').map(str::trim).collect()
    };
    offered
        .into_iter()
        .find(|p| supports.contains(p))
        .map(str::to_owned)
}

/// Answer a WebSocket upgrade request: check it, choose the subprotocol among `supports`
/// (see [`choose_protocol`]), answer `101 Switching Protocols`, and once hyper hands over
/// the connection run `session` on it with the chosen subprotocol (`""` for none).
///
/// A request that cannot be upgraded gets x/net/websocket's plain-text refusal instead: 405
/// `bad method` (not a GET), 400 `not websocket protocol`, 400 `mismatch challenge/response`
/// (no `Sec-WebSocket-Key`), 400 `bad protocol version` with `Sec-WebSocket-Version: 13`,
/// and 403 with an empty body when no subprotocol is in common. The connection must be
/// served with upgrades (HTTP/1.1); `session` ends when the client goes or it returns.
pub(crate) fn accept<B, F, Fut>(
    req: &mut Request<B>,
    supports: &[&str],
    session: F,
) -> Response<ResBody>
where
    F: FnOnce(WebSocket, String) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let refuse = |code: StatusCode, text: &'static str| {
        let mut res = Response::new(full(text));
        *res.status_mut() = code;
        res
    };
    if req.method() != Method::GET {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "bad method");
    }
    if !is_websocket(req) {
        return refuse(StatusCode::BAD_REQUEST, "not websocket protocol");
    }
    let headers = req.headers();
    let Some(key) = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .filter(|k| !k.is_empty())
    else {
        return refuse(StatusCode::BAD_REQUEST, "mismatch challenge/response");
    };
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        let mut res = refuse(StatusCode::BAD_REQUEST, "bad protocol version");
        res.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            http::HeaderValue::from_static("13"),
        );
        return res;
    }
    let Some(protocol) = choose_protocol(headers, supports) else {
        return refuse(StatusCode::FORBIDDEN, "");
    };
    let accept_key = derive_accept_key(key.as_bytes());
    let mut res = Response::new(full(""));
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(header::UPGRADE, http::HeaderValue::from_static("websocket"));
    h.insert(
        header::CONNECTION,
        http::HeaderValue::from_static("Upgrade"),
    );
    if let Ok(v) = http::HeaderValue::from_str(&accept_key) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    if !protocol.is_empty()
        && let Ok(v) = http::HeaderValue::from_str(&protocol)
    {
        h.insert(header::SEC_WEBSOCKET_PROTOCOL, v);
    }
    let upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else {
            tracing::debug!("a WebSocket upgrade was answered but the client did not switch");
            return;
        };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        session(ws, protocol).await;
    });
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(list: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::SEC_WEBSOCKET_PROTOCOL, list.parse().unwrap());
        h
    }

    #[test]
    fn the_clients_order_decides_as_in_wsstream() {
        let supports = ["v4.channel.k8s.io", "v5.channel.k8s.io"];
        assert_eq!(
            choose_protocol(&offered("v5.channel.k8s.io, v4.channel.k8s.io"), &supports).as_deref(),
            Some("v5.channel.k8s.io")
        );
        assert_eq!(
            choose_protocol(&offered("v1.x, v4.channel.k8s.io"), &supports).as_deref(),
            Some("v4.channel.k8s.io")
        );
        assert_eq!(choose_protocol(&offered("v1.x"), &supports), None);
    }

    #[test]
    fn no_subprotocol_is_the_empty_one() {
        assert_eq!(
            choose_protocol(&HeaderMap::new(), &["v5.channel.k8s.io"]),
            None
        );
        assert_eq!(
            choose_protocol(&HeaderMap::new(), &["", "v5.channel.k8s.io"]).as_deref(),
            Some("")
        );
    }
}
