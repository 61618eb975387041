//! Requests go through an HTTP proxy with CONNECT, or a SOCKS5 proxy, when configured;
//! credentials in the proxy URL are sent.

mod common;

use std::sync::{Arc, Mutex};

use common::{PODS, config};
use kubecto_rest_core::{Error, Proxy, RestClient};
use kubecto_testserver::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A minimal CONNECT proxy that records each request head it sees.
async fn connect_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                seen.lock().unwrap().push(head.clone());
                let target = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                let Ok(mut upstream) = TcpStream::connect(&target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                let _ = client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (format!("http://{addr}"), heads)
}

#[tokio::test]
async fn an_explicit_proxy_tunnels_every_request() {
    let server = TestServer::start().await.unwrap();
    let (proxy, heads) = connect_proxy().await;
    let proxied = proxy.replace("http://", "http://alice:s3cret@");
    let client = RestClient::new(config(&server).with_proxy(Proxy::Url(proxied.clone()))).unwrap();
    client
        .get()
        .namespace("default")
        .resource("pods")
        .send()
        .await
        .unwrap();
    assert_eq!(server.request_count("GET", PODS), 1);
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(
        heads[0].starts_with(&format!("CONNECT {} ", server.addr())),
        "{}",
        heads[0]
    );
    // alice:s3cret in base64.
    assert!(heads[0].contains("YWxpY2U6czNjcmV0"), "{}", heads[0]);
    let debug = format!("{:?}", config(&server).with_proxy(Proxy::Url(proxied)));
    assert!(!debug.contains("s3cret"), "{debug}");
}

#[tokio::test]
async fn no_proxy_connects_directly() {
    let server = TestServer::start().await.unwrap();
    let (proxy, heads) = connect_proxy().await;
    drop(proxy);
    let client = RestClient::new(config(&server).with_proxy(Proxy::None)).unwrap();
    client
        .get()
        .namespace("default")
        .resource("pods")
        .send()
        .await
        .unwrap();
    assert!(heads.lock().unwrap().is_empty());
}

#[test]
fn unsupported_proxy_schemes_are_config_errors() {
    for url in ["socks4://127.0.0.1:1080", "https://proxy:3128", "not a url"] {
        let err = RestClient::new(
            kubecto_rest_core::Config::new("https://h").with_proxy(Proxy::Url(url.into())),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{url}: {err:?}");
    }
}

/// A minimal SOCKS5 proxy (RFC 1928, with RFC 1929 username/password when `auth` is set)
/// that records the destination of each CONNECT as `host:port`.
async fn socks5_proxy(
    auth: Option<(&'static str, &'static str)>,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut c, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = [0u8; 2];
                c.read_exact(&mut head).await?;
                let mut methods = vec![0u8; usize::from(head[1])];
                c.read_exact(&mut methods).await?;
                if let Some((user, pass)) = auth {
                    if !methods.contains(&2) {
                        return c.write_all(&[5, 0xff]).await;
                    }
                    c.write_all(&[5, 2]).await?;
                    let mut v = [0u8; 2];
                    c.read_exact(&mut v).await?;
                    let mut u = vec![0u8; usize::from(v[1])];
                    c.read_exact(&mut u).await?;
                    let mut plen = [0u8; 1];
                    c.read_exact(&mut plen).await?;
                    let mut p = vec![0u8; usize::from(plen[0])];
                    c.read_exact(&mut p).await?;
                    let ok = u == user.as_bytes() && p == pass.as_bytes();
                    c.write_all(&[1, if ok { 0 } else { 1 }]).await?;
                    if !ok {
                        return Ok(());
                    }
                } else {
                    c.write_all(&[5, 0]).await?;
                }
                let mut req = [0u8; 4];
                c.read_exact(&mut req).await?;
                let host = match req[3] {
                    1 => {
                        let mut ip = [0u8; 4];
                        c.read_exact(&mut ip).await?;
                        std::net::Ipv4Addr::from(ip).to_string()
                    }
                    3 => {
                        let mut n = [0u8; 1];
                        c.read_exact(&mut n).await?;
                        let mut name = vec![0u8; usize::from(n[0])];
                        c.read_exact(&mut name).await?;
                        String::from_utf8_lossy(&name).into_owned()
                    }
                    _ => return c.write_all(&[5, 8, 0, 1, 0, 0, 0, 0, 0, 0]).await,
                };
                let mut port = [0u8; 2];
                c.read_exact(&mut port).await?;
                let target = format!("{host}:{}", u16::from_be_bytes(port));
                log.lock().unwrap().push(target.clone());
                let Ok(mut upstream) = TcpStream::connect(&target).await else {
                    return c.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await;
                };
                c.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).await?;
                tokio::io::copy_bidirectional(&mut c, &mut upstream)
                    .await
                    .map(drop)
            });
        }
    });
    (format!("{addr}"), seen)
}

#[tokio::test]
async fn a_socks5_proxy_carries_every_request_with_its_credentials() {
    let server = TestServer::start().await.unwrap();
    for (scheme, auth) in [("socks5", None), ("socks5h", Some(("alice", "s3cret")))] {
        let (proxy, seen) = socks5_proxy(auth).await;
        let userinfo = auth.map_or(String::new(), |(u, p)| format!("{u}:{p}@"));
        let url = format!("{scheme}://{userinfo}{proxy}");
        let client = RestClient::new(config(&server).with_proxy(Proxy::Url(url))).unwrap();
        for _ in 0..2 {
            let resp = client.get().namespace("default").resource("pods").send();
            resp.await.unwrap().bytes().await.unwrap();
        }
        // One connection, reused; the proxy was asked for the server's own address.
        assert_eq!(
            seen.lock().unwrap().clone(),
            vec![server.addr().to_string()],
            "{scheme}"
        );
    }
    assert_eq!(server.request_count("GET", PODS), 4);

    // Wrong credentials: the request fails, naming the proxy's refusal, nothing reaches
    // the server.
    let (proxy, seen) = socks5_proxy(Some(("alice", "right"))).await;
    let url = format!("socks5://alice:wrong@{proxy}");
    let client = RestClient::new(
        config(&server)
            .with_proxy(Proxy::Url(url))
            .with_max_retries(0),
    )
    .unwrap();
    let err = client
        .get()
        .namespace("default")
        .resource("pods")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(
        !err.to_string().contains("wrong"),
        "the password is not shown: {err}"
    );
    assert!(seen.lock().unwrap().is_empty());
    assert_eq!(server.request_count("GET", PODS), 4);
}
