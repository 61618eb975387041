//! The exchange with a proxy's backend, as kube-apiserver's `UpgradeAwareHandler` (Go's
//! `httputil.ReverseProxy` under apimachinery's rewriting `proxy.Transport`) makes it:
//!
//! - a GET or HEAD with no backend path is redirected (301) to the same path with a `/`;
//! - the request goes with its method, query, headers and body (streamed), less the
//!   hop-by-hop headers, `Authorization` and `Impersonate-*` (kube-apiserver's
//!   authentication and impersonation filters remove them), plus `X-Forwarded-For` (the client's IP appended) and `X-Forwarded-Uri`
//!   (the path the client asked for);
//! - the answer comes back streamed, less hop-by-hop and CORS headers, with a `Location`
//!   on the backend's own host or the client's rewritten under the proxy path;
//! - an upgrade (`Connection: Upgrade`) goes without the query, as `tryUpgrade` sends it,
//!   and once the backend answers 101 the two connections are spliced until one ends;
//! - a backend that cannot be reached is 503 `error trying to reach service: dial tcp
//!   HOST: connect: connection refused` (500 `error dialing backend: ...` for an upgrade).
//!
//! Not done: the rewriting of links inside `text/html` answers, `Accept-Encoding: gzip`
//! added by Go's transport, TLS to `https` backends (the backend is spoken to in plain HTTP).

use std::future::Future;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::RemoteAddr;
use super::location::{Dial, Location, unavailable, unknown};
use super::path;
use crate::shared::body::{BoxError, ResBody, full};
use crate::shared::response::error;

/// How a request is passed on.
pub(crate) struct Plan {
    /// Where it goes.
    pub location: Location,
    /// The path on the backend (decoded, cleaned; `""` for none).
    pub backend_path: String,
    /// The part of the client's path before the backend path (`PathPrepend`).
    pub path_prepend: String,
    /// Resolves when the server stops: upgraded connections end then.
    pub cut: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
}

/// `defaultProxyTransport`'s `PathPrepend`: the client's path without the backend path.
pub(crate) fn path_prepend(client_path: &str, backend_path: &str) -> String {
    let mut suffix = backend_path.to_owned();
    if client_path.ends_with('/') && !suffix.ends_with('/') {
        suffix.push('/');
    }
    client_path
        .strip_suffix(suffix.as_str())
        .unwrap_or(client_path)
        .to_owned()
}

/// The headers Go's `ReverseProxy` never passes on (`hopHeaders`).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The CORS headers `corsRemovingTransport` drops from answers.
const CORS: &[&str] = &[
    "access-control-allow-credentials",
    "access-control-allow-headers",
    "access-control-allow-methods",
    "access-control-allow-origin",
];

/// Pass `req` on as `plan` says and answer with what the backend answers.
pub(crate) async fn forward(mut req: Request<Incoming>, plan: Plan) -> Response<ResBody> {
    let upgrade = is_upgrade(req.headers());
    if !upgrade
        && plan.backend_path.is_empty()
        && (req.method() == Method::GET || req.method() == Method::HEAD)
    {
        return redirect_to_slash(&req);
    }
    let client_ip = req.extensions().get::<RemoteAddr>().map(|r| r.0.ip());
    let query = req.uri().query().map(str::to_owned);
    let host = host_of(&req);
    let backend_path = if plan.backend_path.is_empty() {
        "/"
    } else {
        plan.backend_path.as_str()
    };
    let mut target = path::escape(backend_path);
    if !upgrade && let Some(q) = query.as_deref().filter(|q| !q.is_empty()) {
        target.push('?');
        target.push_str(q);
    }
    let mut headers = req.headers().clone();
    remove_credentials(&mut headers);
    if !upgrade {
        let keep_trailers = has_token(&headers, &header::TE, "trailers");
        remove_hop_by_hop(&mut headers);
        if keep_trailers {
            headers.insert(header::TE, HeaderValue::from_static("trailers"));
        }
        let mut forwarded_uri = path::join(&[&plan.path_prepend, backend_path]);
        if backend_path.ends_with('/') && !forwarded_uri.ends_with('/') {
            forwarded_uri.push('/');
        }
        if let Ok(v) = HeaderValue::from_str(&path::escape(&forwarded_uri)) {
            headers.insert("x-forwarded-uri", v);
        }
    }
    if let Some(ip) = client_ip {
        append_forwarded_for(&mut headers, &ip.to_string());
    }
    if let Some(host) = &host
        && let Ok(v) = HeaderValue::from_str(host)
    {
        headers.insert(header::HOST, v);
    }
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    let mut out = Request::builder()
        .method(req.method().clone())
        .uri(target.as_str())
        .version(http::Version::HTTP_11);
    if let Some(h) = out.headers_mut() {
        *h = headers;
    }
    let out = match out.body(req.into_body()) {
        Ok(out) => out,
        Err(e) => return error(&unavailable(format!("error trying to reach service: {e}"))),
    };
    let stream = match dial(&plan.location).await {
        Ok(stream) => stream,
        Err(message) if upgrade => {
            return error(&unknown(format!("error dialing backend: {message}")));
        }
        Err(message) => {
            return error(&unavailable(format!(
                "error trying to reach service: {message}"
            )));
        }
    };
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
    {
        Ok(pair) => pair,
        Err(e) => return error(&unavailable(format!("error trying to reach service: {e}"))),
    };
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    let res = match sender.send_request(out).await {
        Ok(res) => res,
        Err(e) if upgrade => return error(&unknown(format!("error sending request: {e}"))),
        Err(e) => return error(&unavailable(format!("error trying to reach service: {e}"))),
    };
    match client_upgrade {
        Some(client) => finish_upgrade(res, client, plan.cut),
        None => answer(res, &plan, host.as_deref()),
    }
}

/// The backend's answer to a plain request, as the client gets it.
fn answer(res: Response<Incoming>, plan: &Plan, request_host: Option<&str>) -> Response<ResBody> {
    let (mut parts, body) = res.into_parts();
    remove_hop_by_hop(&mut parts.headers);
    for name in CORS {
        parts.headers.remove(*name);
    }
    let location = parts
        .headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(location) = location {
        let rewritten = rewrite_url(
            &location,
            &plan.location.host,
            request_host.unwrap_or_default(),
            &plan.path_prepend,
        );
        if let Ok(v) = HeaderValue::from_str(&rewritten) {
            parts.headers.insert(header::LOCATION, v);
        }
    }
    Response::from_parts(parts, body.map_err(BoxError::from).boxed_unsync())
}

/// An upgrade's answer: the backend's own unless it switched protocols (an answer below
/// 400 that is not 101 is kube-apiserver's 500 `invalid upgrade response`); on 101 the
/// two upgraded connections are spliced until one of them ends or the server stops.
fn finish_upgrade(
    mut res: Response<Incoming>,
    client: hyper::upgrade::OnUpgrade,
    cut: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
) -> Response<ResBody> {
    let code = res.status();
    if code != StatusCode::SWITCHING_PROTOCOLS {
        if code.as_u16() < 400 {
            return error(&unknown(format!(
                "invalid upgrade response: status code {}",
                code.as_u16()
            )));
        }
        let (parts, body) = res.into_parts();
        return Response::from_parts(parts, body.map_err(BoxError::from).boxed_unsync());
    }
    let backend = hyper::upgrade::on(&mut res);
    tokio::spawn(async move {
        let (Ok(client), Ok(backend)) = tokio::join!(client, backend) else {
            return;
        };
        let (mut client_read, mut client_write) = tokio::io::split(TokioIo::new(client));
        let (mut backend_read, mut backend_write) = tokio::io::split(TokioIo::new(backend));
        tokio::select! {
            _ = tokio::io::copy(&mut client_read, &mut backend_write) => {}
            _ = tokio::io::copy(&mut backend_read, &mut client_write) => {}
            () = cut => {}
        }
    });
    let mut out = Response::new(full(""));
    *out.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    *out.headers_mut() = res.headers().clone();
    out
}

/// Connect to the backend, or Go's dial error text.
async fn dial(location: &Location) -> Result<TcpStream, String> {
    let refused = || format!("dial tcp {}: connect: connection refused", location.host);
    match &location.dial {
        Dial::To(addr) => TcpStream::connect(addr).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => refused(),
            _ => format!("dial tcp {}: connect: {e}", location.host),
        }),
        Dial::Refused => Err(refused()),
        Dial::Fails(message) => Err(message.clone()),
    }
}

/// 301 to the path with a `/` (and the query), as `proxyRedirectsforRootPath` answers.
fn redirect_to_slash<B>(req: &Request<B>) -> Response<ResBody> {
    let mut to = format!("{}/", req.uri().path());
    if let Some(q) = req.uri().query().filter(|q| !q.is_empty()) {
        to.push('?');
        to.push_str(q);
    }
    let mut res = Response::new(full(""));
    *res.status_mut() = StatusCode::MOVED_PERMANENTLY;
    if let Ok(v) = HeaderValue::from_str(&to) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// `httpstream.IsUpgradeRequest`: a `Connection` header that mentions `upgrade`.
fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("upgrade"))
}

/// The host the client asked for: its `Host` header, or an HTTP/2 request's authority.
fn host_of<B>(req: &Request<B>) -> Option<String> {
    req.headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
}

fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// What kube-apiserver's filters take off a request before a handler sees it: the
/// authentication filter `Authorization`, the impersonation filter the `Impersonate-*`
/// headers it acted on.
fn remove_credentials(headers: &mut HeaderMap) {
    headers.remove(header::AUTHORIZATION);
    let impersonating: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("impersonate-"))
        .cloned()
        .collect();
    if headers.contains_key("impersonate-user") {
        for name in impersonating {
            headers.remove(name);
        }
    }
}

/// `removeHopByHopHeaders`: the headers `Connection` names, then the hop-by-hop ones.
fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    for name in named {
        headers.remove(name.as_str());
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

/// `X-Forwarded-For: <prior>, <client>` as `ReverseProxy` appends it.
fn append_forwarded_for(headers: &mut HeaderMap, ip: &str) {
    let prior: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let value = if prior.is_empty() {
        ip.to_owned()
    } else {
        format!("{}, {ip}", prior.join(", "))
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert("x-forwarded-for", v);
    }
}

/// A URL split as Go's `url.Parse` splits it, enough to rewrite it.
struct Url<'a> {
    scheme: &'a str,
    host: Option<&'a str>,
    path: &'a str,
    rest: &'a str,
}

fn parse_url(s: &str) -> Url<'_> {
    let (scheme, after) = match s.find(':') {
        Some(i)
            if s[..i].starts_with(|c: char| c.is_ascii_alphabetic())
                && s[..i]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            (&s[..i], &s[i + 1..])
        }
        _ => ("", s),
    };
    let (host, after) = match after.strip_prefix("//") {
        Some(rest) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            (Some(&rest[..end]), &rest[end..])
        }
        None => (None, after),
    };
    let end = after.find(['?', '#']).unwrap_or(after.len());
    Url {
        scheme,
        host,
        path: &after[..end],
        rest: &after[end..],
    }
}

/// `proxy.Transport.rewriteURL` with the empty scheme and host a server-side request has:
/// a URL on another host, or a relative one, stays; otherwise it loses its scheme and host
/// (unless it is on the client's own host) and its path goes under `prepend`.
fn rewrite_url(target: &str, backend_host: &str, request_host: &str, prepend: &str) -> String {
    let url = parse_url(target);
    let host = url.host.unwrap_or_default();
    let different_host = !host.is_empty() && host != backend_host && host != request_host;
    if different_host || !url.path.starts_with('/') {
        return target.to_owned();
    }
    let (scheme, host) = if host == request_host && !host.is_empty() {
        (url.scheme, url.host)
    } else {
        ("", None)
    };
    let path = if url.path.starts_with(prepend) {
        url.path.to_owned()
    } else {
        let mut p = path::join(&[prepend, url.path]);
        if url.path.ends_with('/') && !p.ends_with('/') {
            p.push('/');
        }
        p
    };
    let mut out = String::new();
    if !scheme.is_empty() {
        out.push_str(scheme);
        out.push(':');
    }
    if let Some(host) = host {
        out.push_str("//");
        out.push_str(host);
    }
    out.push_str(&path);
    out.push_str(url.rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREPEND: &str = "/api/v1/namespaces/default/pods/web:8080/proxy";

    #[test]
    fn locations_are_rewritten_as_proxy_transport_rewrites_them() {
        let rw = |t| rewrite_url(t, "10.0.0.5:8080", "127.0.0.1:6443", PREPEND);
        assert_eq!(rw("/login?next=1"), format!("{PREPEND}/login?next=1"));
        assert_eq!(rw("http://10.0.0.5:8080/a/"), format!("{PREPEND}/a/"));
        assert_eq!(
            rw("https://127.0.0.1:6443/a"),
            format!("https://127.0.0.1:6443{PREPEND}/a")
        );
        assert_eq!(rw("http://example.com/a"), "http://example.com/a");
        assert_eq!(rw("relative/x"), "relative/x");
        assert_eq!(rw(&format!("{PREPEND}/x")), format!("{PREPEND}/x"));
    }

    #[test]
    fn path_prepend_is_the_client_path_without_the_backend_path() {
        assert_eq!(path_prepend(&format!("{PREPEND}/hello"), "/hello"), PREPEND);
        assert_eq!(path_prepend(&format!("{PREPEND}/a/"), "/a/"), PREPEND);
        assert_eq!(path_prepend(&format!("{PREPEND}/"), "/"), PREPEND);
    }
}
