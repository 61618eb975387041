//! Requests go through an HTTP proxy with CONNECT (`http://`, or `https://`: TLS to the
//! proxy, then the tunnel inside it), or a SOCKS5 proxy, when configured; credentials in the
//! proxy URL are sent and never shown. The environment's proxy (`HTTPS_PROXY`, `NO_PROXY`) is
//! read as client-go reads it: those tests re-run this binary as a child with the variables
//! set, since tests share their process's environment.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{PODS, config};
use kubecto_rest_core::{Config, Error, PemSource, Proxy, RestClient};
use kubecto_testserver::TestServer;
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// What a test CONNECT proxy does besides recording each request head it sees.
#[derive(Clone, Default)]
struct ProxyOptions {
    /// Speak TLS first (an `https://` proxy).
    tls: Option<TlsAcceptor>,
    /// Answer 407 unless the head carries this `Proxy-Authorization` value.
    require_auth: Option<&'static str>,
    /// Open every tunnel to this address instead of the one asked for, so that names and
    /// addresses nobody serves reach the test server.
    redirect: Option<SocketAddr>,
}

/// A CONNECT proxy on 127.0.0.1; returns its address and the request heads it got.
async fn start_proxy(opts: ProxyOptions) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (seen, opts) = (seen.clone(), opts.clone());
            tokio::spawn(async move {
                match &opts.tls {
                    // A client that refuses the certificate ends here.
                    Some(tls) => {
                        if let Ok(tls) = tls.accept(client).await {
                            serve_connect(tls, &seen, &opts).await;
                        }
                    }
                    None => serve_connect(client, &seen, &opts).await,
                }
            });
        }
    });
    (addr, heads)
}

async fn serve_connect<S>(mut client: S, seen: &Mutex<Vec<String>>, opts: &ProxyOptions)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
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
    if let Some(auth) = opts.require_auth
        && !head.to_ascii_lowercase().contains(&format!(
            "proxy-authorization: {}\r\n",
            auth.to_ascii_lowercase()
        ))
    {
        let _ = client
            .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"t\"\r\n\r\n")
            .await;
        return;
    }
    let target = head
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let upstream = match opts.redirect {
        Some(addr) => TcpStream::connect(addr).await,
        None => TcpStream::connect(&target).await,
    };
    let Ok(mut upstream) = upstream else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    let _ = client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await;
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

/// A plain `http://` CONNECT proxy.
async fn connect_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let (addr, heads) = start_proxy(ProxyOptions::default()).await;
    (format!("http://{addr}"), heads)
}

/// A CA made for the test and the TLS acceptor of a proxy whose certificate it signs for
/// 127.0.0.1 and localhost; the proxy offers HTTP/1.1 by ALPN.
fn proxy_certificate() -> (String, TlsAcceptor) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "kubecto proxy test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    (ca_pem, TlsAcceptor::from(Arc::new(config)))
}

/// A config for the TLS `server` through `proxy`, trusting `ca_pem` (PEM, one or more CAs).
fn tls_config(server: &TestServer, ca_pem: String, proxy: String) -> Config {
    Config::new(server.url())
        .without_rate_limit()
        .with_max_retries(0)
        .with_ca(PemSource::Data(ca_pem.into_bytes()))
        .with_proxy(Proxy::Url(proxy))
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
    for url in [
        "socks4://127.0.0.1:1080",
        "ftp://proxy:3128",
        "not a url",
        "http://",
    ] {
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
    socks5_proxy_to(auth, None).await
}

/// [`socks5_proxy`], opening every connection to `redirect` when set.
async fn socks5_proxy_to(
    auth: Option<(&'static str, &'static str)>,
    redirect: Option<SocketAddr>,
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
                let upstream = match redirect {
                    Some(addr) => TcpStream::connect(addr).await,
                    None => TcpStream::connect(&target).await,
                };
                let Ok(mut upstream) = upstream else {
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

#[tokio::test]
async fn an_https_proxy_carries_requests_to_a_tls_server_with_its_credentials() {
    let server = TestServer::builder().tls().start().await.unwrap();
    let (proxy_ca, acceptor) = proxy_certificate();
    let (proxy, heads) = start_proxy(ProxyOptions {
        tls: Some(acceptor),
        // alice:s3cret in base64.
        require_auth: Some("Basic YWxpY2U6czNjcmV0"),
        redirect: None,
    })
    .await;
    // The proxy is verified with the server's CA bundle, as client-go does: here it holds
    // both CAs.
    let bundle = format!("{}{proxy_ca}", server.ca_pem().unwrap());
    let url = format!("https://alice:s3cret@{proxy}");
    let config = tls_config(&server, bundle, url);
    let client = RestClient::new(config.clone()).unwrap();
    for _ in 0..2 {
        let resp = client.get().namespace("default").resource("pods").send();
        resp.await.unwrap().bytes().await.unwrap();
    }
    // One tunnel, reused, to the server's own address; TLS to the server inside it.
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(
        heads[0].starts_with(&format!("CONNECT {} HTTP/1.1\r\n", server.addr())),
        "{}",
        heads[0]
    );
    assert_eq!(server.request_count("GET", PODS), 2);
    let debug = format!("{config:?}{client:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
}

#[tokio::test]
async fn an_https_proxy_whose_certificate_is_not_trusted_is_a_tls_error_naming_it() {
    let server = TestServer::builder().tls().start().await.unwrap();
    let (_, acceptor) = proxy_certificate();
    let (proxy, heads) = start_proxy(ProxyOptions {
        tls: Some(acceptor),
        ..ProxyOptions::default()
    })
    .await;
    let config = tls_config(
        &server,
        server.ca_pem().unwrap(),
        format!("https://alice:s3cret@{proxy}"),
    );
    let err = RestClient::new(config)
        .unwrap()
        .get()
        .namespace("default")
        .resource("pods")
        .send()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(
        text.contains(&format!("handshake with proxy https://{proxy} failed"))
            && text.contains("UnknownIssuer"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    assert!(heads.lock().unwrap().is_empty());
    assert_eq!(server.request_count("GET", PODS), 0);
}

#[tokio::test]
async fn a_proxy_that_wants_credentials_is_a_clear_error() {
    let server = TestServer::builder().tls().start().await.unwrap();
    let (proxy_ca, acceptor) = proxy_certificate();
    let (proxy, heads) = start_proxy(ProxyOptions {
        tls: Some(acceptor),
        require_auth: Some("Basic YWxpY2U6czNjcmV0"),
        redirect: None,
    })
    .await;
    let bundle = format!("{}{proxy_ca}", server.ca_pem().unwrap());
    for (userinfo, expected) in [
        (
            "",
            "the proxy requires credentials (407 Proxy Authentication Required)",
        ),
        (
            "alice:wrong-pw@",
            "the proxy refused the credentials of the proxy URL (407 Proxy Authentication Required)",
        ),
    ] {
        let url = format!("https://{userinfo}{proxy}");
        let client = RestClient::new(tls_config(&server, bundle.clone(), url)).unwrap();
        let err = client
            .get()
            .namespace("default")
            .resource("pods")
            .send()
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Transport { .. }), "{err:?}");
        assert!(
            text.contains(&format!("through proxy https://{proxy}: {expected}")),
            "{text}"
        );
        assert!(!text.contains("wrong-pw"), "{text}");
    }
    assert_eq!(heads.lock().unwrap().len(), 2);
    assert_eq!(server.request_count("GET", PODS), 0);
}

const CHILD_URLS: &str = "KUBECTO_PROXY_TEST_URLS";
const CHILD_CA: &str = "KUBECTO_PROXY_TEST_CA";
/// Every proxy variable, cleared in the child before the test sets its own.
const PROXY_VARS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
    "REQUEST_METHOD",
];

/// Runs [`requests_with_the_environment_s_proxy`] in a child process with `vars` set,
/// asking for `hosts` on the server's port; returns, per host, whether it answered.
async fn in_child(server: &TestServer, vars: &[(&str, String)], hosts: &[&str]) -> Vec<bool> {
    let port = server.addr().port();
    let urls: Vec<String> = hosts
        .iter()
        .map(|h| format!("https://{h}:{port}"))
        .collect();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--ignored",
        "--exact",
        "requests_with_the_environment_s_proxy",
        "--nocapture",
    ]);
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    cmd.envs(vars.iter().map(|(k, v)| (k, v)))
        .env(CHILD_URLS, urls.join(","))
        .env(CHILD_CA, server.ca_pem().unwrap());
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the child test failed or did not run: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    urls.iter()
        .map(|url| {
            let line = stdout
                .lines()
                .find(|l| l.starts_with(&format!("RESULT {url} ")))
                .unwrap_or_else(|| panic!("no result for {url}: {stdout}"));
            line.ends_with(" ok")
        })
        .collect()
}

/// The CONNECT targets a proxy was asked for, sorted.
fn targets(heads: &Mutex<Vec<String>>) -> Vec<String> {
    let mut t: Vec<String> = heads
        .lock()
        .unwrap()
        .iter()
        .map(|h| h.split_whitespace().nth(1).unwrap_or_default().to_owned())
        .collect();
    t.sort();
    t
}

#[tokio::test]
async fn the_environment_s_proxy_is_used_as_client_go_uses_it() {
    // Names and addresses nobody serves: the proxies open every tunnel to the server,
    // whose certificate carries them all.
    let names = [
        "localhost",
        "127.0.0.1",
        "10.20.30.40",
        "10.99.1.2",
        "api.corp.example",
        "api.other.example",
    ];
    let server = TestServer::builder()
        .tls_server_names(names)
        .start()
        .await
        .unwrap();
    let port = server.addr().port();
    let (proxy, heads) = start_proxy(ProxyOptions {
        redirect: Some(server.addr()),
        ..ProxyOptions::default()
    })
    .await;

    // Lower-case https_proxy; upper-case NO_PROXY with a CIDR and a domain suffix.
    let vars = [
        ("https_proxy", format!("http://{proxy}")),
        ("NO_PROXY", " 10.99.0.0/16 , .corp.example".to_owned()),
    ];
    let hosts = [
        "10.20.30.40",       // no match: through the proxy
        "api.other.example", // no match: through the proxy, which resolves the name
        "10.99.1.2",         // in the CIDR: direct, and nobody answers there
        "api.corp.example",  // under the suffix: direct, and the name does not resolve
        "localhost",         // loopback: always direct, and the server answers
    ];
    let answered = in_child(&server, &vars, &hosts).await;
    assert_eq!(answered, [true, true, false, false, true], "{hosts:?}");
    assert_eq!(
        targets(&heads),
        [
            format!("10.20.30.40:{port}"),
            format!("api.other.example:{port}")
        ]
    );

    // A SOCKS5 proxy in HTTPS_PROXY.
    let (socks, seen) = socks5_proxy_to(None, Some(server.addr())).await;
    let vars = [("HTTPS_PROXY", format!("socks5://{socks}"))];
    assert_eq!(in_child(&server, &vars, &["10.20.30.40"]).await, [true]);
    assert_eq!(
        seen.lock().unwrap().clone(),
        [format!("10.20.30.40:{port}")]
    );
    assert_eq!(
        heads.lock().unwrap().len(),
        2,
        "the CONNECT proxy saw nothing more"
    );
}

#[tokio::test]
#[ignore = "run by the_environment_s_proxy_is_used_as_client_go_uses_it in a child process with the proxy variables set"]
async fn requests_with_the_environment_s_proxy() {
    let urls = std::env::var(CHILD_URLS).expect("started by the parent test");
    let ca = std::env::var(CHILD_CA).expect("started by the parent test");
    let requests = urls.split(',').map(|url| {
        let config = Config::new(url)
            .without_rate_limit()
            .with_max_retries(0)
            .with_timeout(Duration::from_secs(5))
            .with_ca(PemSource::Data(ca.clone().into_bytes()));
        assert_eq!(config.proxy, Proxy::FromEnvironment);
        async move {
            let client = RestClient::new(config).unwrap();
            let result = client.get().abs_path("/version").send().await;
            match result {
                Ok(r) if r.status().as_u16() == 200 => println!("RESULT {url} ok"),
                Ok(r) => println!("RESULT {url} status {}", r.status()),
                Err(e) => println!("RESULT {url} error {e}"),
            }
        }
    });
    futures_util::future::join_all(requests).await;
}

/// exec and port-forward go through each kind of proxy: the WebSocket upgrade takes a
/// connection of its own, through the same tunnel code as any request (TLS to the server
/// inside an HTTPS proxy's TLS).
#[tokio::test]
async fn exec_and_port_forward_go_through_connect_socks5_and_https_proxies() {
    use kubecto_rest_core::upgrade::remote_command::AttachParams;
    use kubecto_testserver::Process;

    let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let echo_addr = echo.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = echo.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = sock.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    let server = TestServer::builder()
        .tls()
        .exec(|mut p: Process| async move {
            tokio::io::copy(&mut p.stdin, &mut p.stdout).await.unwrap();
            7
        })
        .port_forward(move |_, _, port| (port == 5000).then_some(echo_addr))
        .start()
        .await
        .unwrap();
    server
        .seed(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-0", "namespace": "default"},
            "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "busybox"}]},
            "status": {"phase": "Running"}
        }))
        .unwrap();
    let (proxy_ca, acceptor) = proxy_certificate();
    let (connect, connect_heads) = connect_proxy().await;
    let (socks, socks_seen) = socks5_proxy(Some(("alice", "s3cret"))).await;
    let (https, https_heads) = start_proxy(ProxyOptions {
        tls: Some(acceptor),
        ..ProxyOptions::default()
    })
    .await;
    let bundle = format!("{}{proxy_ca}", server.ca_pem().unwrap());
    for proxy in [
        connect,
        format!("socks5h://alice:s3cret@{socks}"),
        format!("https://{https}"),
    ] {
        let client = RestClient::new(tls_config(&server, bundle.clone(), proxy.clone())).unwrap();
        let pod = || {
            client
                .get()
                .abs_path("/api/v1")
                .namespace("default")
                .resource("pods")
                .name("web-0")
        };
        let mut proc = pod()
            .sub_resource("exec")
            .param("command", "cat")
            .remote_command(&AttachParams::default().stdin(true))
            .await
            .unwrap_or_else(|e| panic!("exec through {proxy}: {e}"));
        let mut stdin = proc.stdin().unwrap();
        stdin.write_all(b"through the proxy").await.unwrap();
        stdin.shutdown().await.unwrap();
        let out = proc.output().await.unwrap();
        assert_eq!(out.stdout, b"through the proxy", "{proxy}");
        assert_eq!(out.status.code, 7, "{proxy}");

        let mut pf = pod()
            .sub_resource("portforward")
            .port_forward(&[5000])
            .await
            .unwrap_or_else(|e| panic!("port-forward through {proxy}: {e}"));
        let mut stream = pf.take_stream(5000).unwrap();
        stream.write_all(b"ping").await.unwrap();
        let mut pong = [0u8; 4];
        stream.read_exact(&mut pong).await.unwrap();
        assert_eq!(&pong, b"ping", "{proxy}");
        drop(stream);
        pf.join().await.unwrap();
    }
    // Each proxy carried the two upgrades, to the server's own address.
    let target = server.addr().to_string();
    for (kind, seen) in [
        ("CONNECT", targets(&connect_heads)),
        ("SOCKS5", socks_seen.lock().unwrap().clone()),
        ("HTTPS", targets(&https_heads)),
    ] {
        assert_eq!(seen, vec![target.clone(), target.clone()], "{kind}");
    }
}
