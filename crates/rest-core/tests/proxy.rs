//! Requests go through an HTTP proxy with CONNECT when configured; credentials in the proxy URL are sent.

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
    for url in ["socks5://127.0.0.1:1080", "https://proxy:3128", "not a url"] {
        let err = RestClient::new(
            kubecto_rest_core::Config::new("https://h").with_proxy(Proxy::Url(url.into())),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{url}: {err:?}");
    }
}
