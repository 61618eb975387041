//! `proxy-url` end to end: requests to the TLS test server go through a small
//! CONNECT proxy written here (which records what it was asked), with and without
//! proxy credentials; https and SOCKS5 URLs are handed to rest-core; URLs rest-core
//! cannot use are refused against the field.

mod common;

use std::sync::{Arc, Mutex};

use common::{TempDir, config_from, list_namespaces, tls_kubeconfig};
use kubecto_config::Error;
use kubecto_testserver::TestServer;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A CONNECT proxy on 127.0.0.1; returns its address and the request heads it got.
async fn connect_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream);
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                seen.lock().unwrap().push(head.clone());
                let target = head
                    .strip_prefix("CONNECT ")
                    .and_then(|r| r.split_whitespace().next())
                    .unwrap_or_default()
                    .to_owned();
                let mut client = reader.into_inner();
                let Ok(mut upstream) = TcpStream::connect(&target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (addr, heads)
}

#[tokio::test]
async fn requests_go_through_the_proxy_url() {
    let server = TestServer::builder()
        .tls()
        .require_token("t")
        .start()
        .await
        .unwrap();
    let (proxy, heads) = connect_proxy().await;
    let dir = TempDir::new("proxy");
    let yaml = tls_kubeconfig(&server, &format!("proxy-url: http://{proxy}"), "token: t");
    let config = config_from(&dir, &yaml).unwrap();
    list_namespaces(&config).await.unwrap();
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 1, "{heads:?}");
    let target = server.addr().to_string();
    assert!(
        heads[0].starts_with(&format!("CONNECT {target} HTTP/1.1\r\n")),
        "{heads:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn proxy_credentials_are_sent_and_never_shown() {
    let server = TestServer::builder().tls().start().await.unwrap();
    let (proxy, heads) = connect_proxy().await;
    let dir = TempDir::new("proxy-auth");
    let yaml = tls_kubeconfig(
        &server,
        &format!("proxy-url: http://squid:proxy-SECRET-pw@{proxy}"),
        "{}",
    );
    let path = dir.write("config", &yaml);
    let selected = kubecto_config::load(Some(&path), &Default::default()).unwrap();
    let config = selected.rest_config().unwrap();
    for debug in [format!("{selected:?}"), format!("{config:?}")] {
        assert!(!debug.contains("proxy-SECRET-pw"), "{debug}");
    }
    list_namespaces(&config).await.unwrap();
    let heads = heads.lock().unwrap().clone();
    // base64("squid:proxy-SECRET-pw")
    assert!(
        heads[0].to_ascii_lowercase().contains(
            "proxy-authorization: basic c3F1aWQ6cHJveHktU0VDUkVULXB3\r\n"
                .to_ascii_lowercase()
                .as_str()
        ),
        "{heads:?}"
    );
}

#[tokio::test]
async fn a_dead_proxy_fails_the_request() {
    let server = TestServer::builder().tls().start().await.unwrap();
    let dir = TempDir::new("proxy-dead");
    // Nothing listens on port 1.
    let yaml = tls_kubeconfig(&server, "proxy-url: http://127.0.0.1:1", "{}");
    let config = config_from(&dir, &yaml).unwrap();
    assert!(list_namespaces(&config).await.is_err());
    assert!(server.requests().is_empty());
}

#[test]
fn proxy_urls_rest_core_cannot_use_are_refused() {
    let dir = TempDir::new("proxy-bad");
    for (url, reason) in [
        ("proxy:3128", "not a URL"),
        ("ftp://proxy", "unknown proxy scheme \"ftp\""),
        ("http://", "has no host"),
        ("https://user:pw@", "has no host"),
    ] {
        let yaml = common::simple("https://k", "token: t").replace(
            "    server: https://k\n",
            &format!("    server: https://k\n    proxy-url: {url}\n"),
        );
        let err = config_from(&dir, &yaml).unwrap_err();
        assert!(matches!(err, Error::InvalidValue { .. }), "{url}: {err:?}");
        let text = err.to_string();
        assert!(
            text.contains("field proxy-url") && text.contains(reason),
            "{url}: {text}"
        );
        assert!(!text.contains("pw"), "{text}");
    }
}

#[test]
fn https_and_socks5_proxy_urls_are_kept_for_rest_core() {
    let dir = TempDir::new("proxy-socks");
    for url in [
        "https://user:pw@proxy:3128",
        "socks5://127.0.0.1:1080",
        "socks5h://user:pw@proxy:1080",
    ] {
        let yaml = common::simple("https://k", "token: t").replace(
            "    server: https://k\n",
            &format!("    server: https://k\n    proxy-url: {url}\n"),
        );
        let config = config_from(&dir, &yaml).unwrap();
        assert_eq!(
            config.proxy,
            kubecto_rest_core::Proxy::Url(url.to_owned()),
            "{url}"
        );
    }
}
