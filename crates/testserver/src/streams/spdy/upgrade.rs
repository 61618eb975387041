//! The `Upgrade: SPDY/3.1` HTTP upgrade as apimachinery's `httpstream.Handshake` and the
//! kubelet's SPDY upgrader answer it: the `X-Stream-Protocol-Version` negotiation (the
//! client's first protocol the server serves), then 101 and a [`session`](super::session)
//! on the upgraded connection. Port-forward and exec/attach both start here.

use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;

use super::Stream;
use crate::shared::body::{ResBody, full};

/// Whether the request asks for `Upgrade: SPDY/3.1` (with `Connection: Upgrade`).
pub(crate) fn is_spdy_upgrade(headers: &HeaderMap) -> bool {
    let has = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    has(header::CONNECTION, "upgrade") && has(header::UPGRADE, "SPDY/3.1")
}

/// `httpstream.Handshake`'s choice: the first protocol the client offers (in the order of
/// its `X-Stream-Protocol-Version` values, comma-joined or repeated) that `server` serves;
/// else its answer, 400 without the header or 403 (with `X-Accepted-Stream-Protocol-Versions`)
/// when none is in common (boxed: a response is large).
pub(crate) fn negotiate<B>(
    req: &Request<B>,
    server: &[&'static str],
) -> Result<&'static str, Box<Response<ResBody>>> {
    let values: Vec<&str> = req
        .headers()
        .get_all("x-stream-protocol-version")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        let n = req.headers().keys_len();
        return Err(Box::new(go_http_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "unable to upgrade: header X-Stream-Protocol-Version does not exist in request with {n} headers"
            ),
        )));
    }
    let offered: Vec<&str> = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if let Some(chosen) = offered.iter().find_map(|p| server.iter().find(|s| *s == p)) {
        return Ok(chosen);
    }
    let mut res = go_http_error(
        StatusCode::FORBIDDEN,
        &format!(
            "unable to upgrade: unable to negotiate protocol: client supports [{}], server accepts [{}]",
            offered.join(" "),
            server.join(" ")
        ),
    );
    for p in server {
        res.headers_mut().append(
            "x-accepted-stream-protocol-versions",
            HeaderValue::from_static(p),
        );
    }
    Err(Box::new(res))
}

/// Answer 101 with `protocol` and, once the connection is handed over, serve a SPDY session
/// on it: `session` is given the streams the client opens. `cut` ends the session.
pub(crate) fn switch<B, F, Fut>(
    req: &mut Request<B>,
    protocol: &'static str,
    cut: impl Future<Output = ()> + Send + 'static,
    session: F,
) -> Response<ResBody>
where
    F: FnOnce(mpsc::Receiver<Stream>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut res = Response::new(full(""));
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("SPDY/3.1"));
    h.insert(
        "x-stream-protocol-version",
        HeaderValue::from_static(protocol),
    );
    let upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => session(super::serve(TokioIo::new(upgraded), cut)).await,
            Err(e) => tracing::debug!(error = %e, "a SPDY upgrade was answered but not taken"),
        }
    });
    res
}

/// `http.Error`'s answer: the text and a newline, as plain text.
pub(crate) fn go_http_error(code: StatusCode, message: &str) -> Response<ResBody> {
    let mut res = Response::new(full(format!("{message}\n")));
    *res.status_mut() = code;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(offers: &[&str]) -> Request<()> {
        let mut b = Request::builder();
        for o in offers {
            b = b.header("X-Stream-Protocol-Version", *o);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn the_clients_first_served_protocol_wins() {
        let served = &["v4.channel.k8s.io", "v3.channel.k8s.io"];
        let offers = ["v5.channel.k8s.io", "v3.channel.k8s.io, v4.channel.k8s.io"];
        assert_eq!(
            negotiate(&req(&offers), served).ok(),
            Some("v3.channel.k8s.io")
        );
        let missing = negotiate(&req(&[]), served).unwrap_err();
        assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
        let none = negotiate(&req(&["v9"]), served).unwrap_err();
        assert_eq!(none.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            none.headers()
                .get_all("x-accepted-stream-protocol-versions")
                .iter()
                .count(),
            2
        );
    }
}
