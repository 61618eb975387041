//! The `CONNECT` handshake with an HTTP proxy (over TCP, or over TLS for an `https://`
//! proxy), and the error that says which proxy failed and how, without its credentials.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::TransportKind;

/// The most a proxy's answer to `CONNECT` may take, head included (Go reads it with a
/// 4 KiB buffer; hyper-util allows 8 KiB).
const MAX_ANSWER: usize = 8 * 1024;

/// Connecting through a proxy failed. It ends the error chain: its message holds the cause,
/// and [`kind`](Self::kind) what the cause was for the retry policy.
#[derive(Debug, thiserror::Error)]
#[error("through proxy {proxy}: {message}")]
pub(crate) struct ProxyError {
    /// The proxy, `scheme://host:port`, without credentials.
    pub(crate) proxy: String,
    pub(crate) message: String,
    pub(crate) kind: TransportKind,
    /// The TLS handshake with the proxy failed (its certificate, most often).
    pub(crate) tls: bool,
}

impl ProxyError {
    pub(crate) fn new(proxy: &str, message: impl Into<String>, kind: TransportKind) -> Self {
        Self {
            proxy: proxy.to_owned(),
            message: message.into(),
            kind,
            tls: false,
        }
    }
}

/// Asks the proxy on `io` for a tunnel to `host:port` (`host` as in a URL, IPv6 in
/// brackets), sending `authorization` as `Proxy-Authorization`. On success the tunnel is
/// open and `io` carries the server's bytes.
pub(crate) async fn connect<S>(
    io: &mut S,
    proxy: &str,
    host: &str,
    port: u16,
    authorization: Option<&str>,
) -> Result<(), ProxyError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let failed = |what: &str, e: std::io::Error| {
        let kind = crate::transport::classify(&e);
        ProxyError::new(proxy, format!("{what}: {e}"), kind)
    };
    let mut head = format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n");
    if let Some(auth) = authorization {
        head.push_str("Proxy-Authorization: ");
        head.push_str(auth);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    io.write_all(head.as_bytes())
        .await
        .map_err(|e| failed("cannot send CONNECT", e))?;
    io.flush()
        .await
        .map_err(|e| failed("cannot send CONNECT", e))?;

    let mut answer = Vec::with_capacity(256);
    let mut buf = [0u8; 1024];
    let end = loop {
        let n = io
            .read(&mut buf)
            .await
            .map_err(|e| failed("no answer to CONNECT", e))?;
        if n == 0 {
            return Err(ProxyError::new(
                proxy,
                "the proxy closed the connection before answering CONNECT",
                TransportKind::ConnectionReset,
            ));
        }
        answer.extend_from_slice(&buf[..n]);
        if let Some(at) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if answer.len() > MAX_ANSWER {
            return Err(ProxyError::new(
                proxy,
                format!("the proxy's answer to CONNECT is longer than {MAX_ANSWER} bytes"),
                TransportKind::Connect,
            ));
        }
    };
    let status_line = answer
        .split(|&b| b == b'\n')
        .next()
        .map(|l| String::from_utf8_lossy(l).trim().to_owned())
        .unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().and_then(|c| c.parse::<u16>().ok());
    let reason = parts.next().unwrap_or_default();
    let status = |code: u16| format!("{code} {reason}").trim_end().to_owned();
    match code {
        _ if !version.starts_with("HTTP/1.") => Err(ProxyError::new(
            proxy,
            format!(
                "not an HTTP/1 answer to CONNECT: {:?}",
                truncate(&status_line)
            ),
            TransportKind::Connect,
        )),
        Some(200) if end < answer.len() => Err(ProxyError::new(
            proxy,
            "the proxy sent data after opening the tunnel, before the server could speak",
            TransportKind::Connect,
        )),
        Some(200) => Ok(()),
        Some(407) if authorization.is_some() => Err(ProxyError::new(
            proxy,
            format!(
                "the proxy refused the credentials of the proxy URL ({})",
                status(407)
            ),
            TransportKind::Connect,
        )),
        Some(407) => Err(ProxyError::new(
            proxy,
            format!(
                "the proxy requires credentials ({}); put them in the proxy URL as user:password@",
                status(407)
            ),
            TransportKind::Connect,
        )),
        Some(code) => Err(ProxyError::new(
            proxy,
            format!(
                "the proxy refused a tunnel to {host}:{port}: {}",
                status(code)
            ),
            TransportKind::Connect,
        )),
        None => Err(ProxyError::new(
            proxy,
            format!("malformed answer to CONNECT: {:?}", truncate(&status_line)),
            TransportKind::Connect,
        )),
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(80) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(reply: &'static [u8], auth: Option<&str>) -> (Result<(), ProxyError>, String) {
        let (mut client, mut proxy) = tokio::io::duplex(4096);
        let server = tokio::spawn(async move {
            let mut got = vec![0u8; 4096];
            let n = proxy.read(&mut got).await.unwrap();
            proxy.write_all(reply).await.unwrap();
            String::from_utf8_lossy(&got[..n]).into_owned()
        });
        let r = connect(&mut client, "https://p:3128", "[::1]", 6443, auth).await;
        (r, server.await.unwrap())
    }

    #[tokio::test]
    async fn the_proxy_s_answers() {
        let (r, sent) = answer(
            b"HTTP/1.0 200 Connection established\r\n\r\n",
            Some("Basic eA=="),
        )
        .await;
        r.unwrap();
        assert_eq!(
            sent,
            "CONNECT [::1]:6443 HTTP/1.1\r\nHost: [::1]:6443\r\nProxy-Authorization: Basic eA==\r\n\r\n"
        );
        let (r, _) = answer(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", None).await;
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains("https://p:3128") && e.contains("requires credentials") && e.contains("407"),
            "{e}"
        );
        let (r, _) = answer(
            b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n",
            Some("Basic eA=="),
        )
        .await;
        assert!(
            r.unwrap_err()
                .to_string()
                .contains("refused the credentials")
        );
        let (r, _) = answer(b"HTTP/1.1 403 Forbidden\r\nX: y\r\n\r\n", None).await;
        assert!(
            r.unwrap_err()
                .to_string()
                .ends_with("refused a tunnel to [::1]:6443: 403 Forbidden")
        );
        let (r, _) = answer(b"SSH-2.0-OpenSSH\r\n\r\n", None).await;
        assert!(r.unwrap_err().to_string().contains("not an HTTP/1 answer"));
        let (r, _) = answer(b"HTTP/1.1 200 OK\r\n\r\nextra", None).await;
        assert!(r.unwrap_err().to_string().contains("sent data after"));
    }
}
