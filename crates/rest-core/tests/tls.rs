//! TLS: CA from data or file, server-name override, insecure mode, client certificates, ALPN.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use kubecto_rest_core::{Config, Error, PemSource, RestClient};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tls")
        .join(name)
}

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(data(name)).unwrap()
}

/// An HTTPS server answering every request with JSON saying which HTTP version was used
/// and whether the client presented a certificate. `require_client_cert` makes the
/// handshake fail without one. It offers HTTP/2 and HTTP/1.1 by ALPN.
async fn https_server(require_client_cert: bool) -> SocketAddr {
    https_server_with(require_client_cert, &[b"h2", b"http/1.1"], Arc::default()).await
}

/// [`https_server`] offering the `alpn` protocols (none: no ALPN at all), counting the
/// connections it accepts in `accepted`.
/// The server side of the test certificates, offering the `alpn` protocols.
fn acceptor(require_client_cert: bool, alpn: &[&[u8]]) -> TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem("server.crt"))
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(&pem("server.key")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(&pem("ca.crt")).unwrap())
        .unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    );
    let verifier = if require_client_cert {
        verifier.build().unwrap()
    } else {
        verifier.allow_unauthenticated().build().unwrap()
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsAcceptor::from(Arc::new(config))
}

async fn https_server_with(
    require_client_cert: bool,
    alpn: &[&[u8]],
    accepted: Arc<AtomicUsize>,
) -> SocketAddr {
    let acceptor = acceptor(require_client_cert, alpn);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            accepted.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let client_cert = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .is_some_and(|c| !c.is_empty());
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let body = serde_json::json!({
                            "version": format!("{:?}", req.version()),
                            "clientCert": client_cert,
                        });
                        async move {
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                                Bytes::from(body.to_string()),
                            )))
                        }
                    },
                );
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    addr
}

async fn answer(config: Config) -> Result<serde_json::Value, Error> {
    RestClient::new(config)?
        .get()
        .abs_path("/version")
        .send()
        .await?
        .into()
        .await
}

#[tokio::test]
async fn ca_data_verifies_the_server_and_alpn_picks_http2() {
    let addr = https_server(false).await;
    let config = Config::new(format!("https://localhost:{}", addr.port()))
        .with_ca(PemSource::Data(pem("ca.crt")));
    let v = answer(config).await.unwrap();
    assert_eq!(v["version"], "HTTP/2.0");
    assert_eq!(v["clientCert"], false);
}

#[tokio::test]
async fn http1_over_tls_without_h2_reuses_its_connection() {
    for alpn in [&[&b"http/1.1"[..]][..], &[]] {
        let accepted = Arc::new(AtomicUsize::new(0));
        let addr = https_server_with(false, alpn, accepted.clone()).await;
        let client = RestClient::new(
            Config::new(format!("https://localhost:{}", addr.port()))
                .with_ca(PemSource::Data(pem("ca.crt"))),
        )
        .unwrap();
        for _ in 0..5 {
            let v: serde_json::Value = client
                .get()
                .abs_path("/version")
                .send()
                .await
                .unwrap()
                .into()
                .await
                .unwrap();
            assert_eq!(v["version"], "HTTP/1.1", "ALPN {alpn:?}");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "ALPN {alpn:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_requests_share_one_connection_even_when_the_first_ones_start_together() {
    let accepted = Arc::new(AtomicUsize::new(0));
    let addr = https_server_with(false, &[b"h2", b"http/1.1"], accepted.clone()).await;
    let client = RestClient::new(
        Config::new(format!("https://localhost:{}", addr.port()))
            .with_ca(PemSource::Data(pem("ca.crt"))),
    )
    .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            let v: serde_json::Value = c
                .get()
                .abs_path("/version")
                .send()
                .await
                .unwrap()
                .into()
                .await
                .unwrap();
            assert_eq!(v["version"], "HTTP/2.0");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one multiplexed connection, not one handshake per early request"
    );
}

/// An HTTP/2-only HTTPS server that sends GOAWAY on each connection as soon as it has
/// answered one request (as kube-apiserver does to a share of connections with
/// `--goaway-chance`), counting connections and requests.
async fn goaway_server(accepted: Arc<AtomicUsize>, served: Arc<AtomicUsize>) -> SocketAddr {
    let acceptor = acceptor(false, &[b"h2"]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            accepted.fetch_add(1, Ordering::SeqCst);
            let (acceptor, served) = (acceptor.clone(), served.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let answered = Arc::new(tokio::sync::Notify::new());
                let notify = answered.clone();
                let svc = hyper::service::service_fn(move |_req| {
                    served.fetch_add(1, Ordering::SeqCst);
                    notify.notify_one();
                    async move {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from_static(br#"{"kind":"Status","status":"Success"}"#),
                        )))
                    }
                });
                let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc);
                let mut conn = std::pin::pin!(conn);
                tokio::select! {
                    _ = conn.as_mut() => return,
                    _ = answered.notified() => {}
                }
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn writes_after_an_http2_goaway_go_on_a_new_connection() {
    let (accepted, served) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let addr = goaway_server(accepted.clone(), served.clone()).await;
    let client = RestClient::new(
        Config::new(format!("https://localhost:{}", addr.port()))
            .with_ca(PemSource::Data(pem("ca.crt"))),
    )
    .unwrap();
    for i in 0..5 {
        let resp = client
            .post()
            .abs_path("/api/v1/namespaces/default/configmaps")
            .json(&serde_json::json!({"metadata": {"name": format!("c{i}")}}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {i} after GOAWAY: {e}"));
        resp.bytes().await.unwrap();
    }
    assert_eq!(
        served.load(Ordering::SeqCst),
        5,
        "each POST was served once"
    );
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        5,
        "a new connection after each GOAWAY"
    );
}

/// An HTTPS server speaking only HTTP/1.1 that takes `delay` before each TLS handshake and
/// records the most handshakes it had in progress at once.
async fn slow_http1_server(delay: std::time::Duration, most: Arc<AtomicUsize>) -> SocketAddr {
    let acceptor = acceptor(false, &[b"http/1.1"]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let now = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, now, most) = (acceptor.clone(), now.clone(), most.clone());
            tokio::spawn(async move {
                most.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                let tls = acceptor.accept(tcp).await;
                now.fetch_sub(1, Ordering::SeqCst);
                let Ok(tls) = tls else { return };
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                        Bytes::from_static(b"{}"),
                    )))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_a_server_is_known_to_speak_http1_its_connections_are_made_side_by_side() {
    let most = Arc::new(AtomicUsize::new(0));
    let addr = slow_http1_server(std::time::Duration::from_millis(300), most.clone()).await;
    let client = RestClient::new(
        Config::new(format!("https://localhost:{}", addr.port()))
            .with_ca(PemSource::Data(pem("ca.crt"))),
    )
    .unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move {
                c.get()
                    .abs_path("/version")
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    // The first handshake runs alone (it might have been HTTP/2); the three requests that
    // waited for it then connect at the same time.
    assert!(
        most.load(Ordering::SeqCst) >= 2,
        "handshakes were made one after another"
    );
}

#[tokio::test]
async fn ca_file_works_too() {
    let addr = https_server(false).await;
    let config = Config::new(format!("https://localhost:{}", addr.port()))
        .with_ca(PemSource::File(data("ca.crt")));
    answer(config).await.unwrap();
}

#[tokio::test]
async fn an_unrelated_ca_is_a_tls_error() {
    let addr = https_server(false).await;
    let config = Config::new(format!("https://localhost:{}", addr.port()))
        .with_ca(PemSource::Data(pem("other-ca.crt")));
    let err = answer(config).await.unwrap_err();
    assert!(matches!(err.last(), Error::Tls { .. }), "{err:?}");
}

#[tokio::test]
async fn an_ip_address_not_in_the_certificate_needs_tls_server_name() {
    let addr = https_server(false).await;
    let base = Config::new(format!("https://{addr}")).with_ca(PemSource::Data(pem("ca.crt")));
    let err = answer(base.clone()).await.unwrap_err();
    assert!(matches!(err.last(), Error::Tls { .. }), "{err:?}");
    answer(base.with_tls_server_name("kubernetes.default.svc"))
        .await
        .unwrap();
}

#[tokio::test]
async fn insecure_skips_verification() {
    let addr = https_server(false).await;
    answer(Config::new(format!("https://{addr}")).with_insecure(true))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_client_certificate_is_presented() {
    let addr = https_server(true).await;
    let base = Config::new(format!("https://localhost:{}", addr.port()))
        .with_ca(PemSource::Data(pem("ca.crt")));
    let with_cert = base.clone().with_client_cert(
        PemSource::File(data("client.crt")),
        PemSource::Data(pem("client.key")),
    );
    let v = answer(with_cert).await.unwrap();
    assert_eq!(v["clientCert"], true);
    assert!(
        answer(base).await.is_err(),
        "the server requires a certificate"
    );
}

#[test]
fn bad_material_is_reported_when_the_client_is_built() {
    let err = RestClient::new(
        Config::new("https://h").with_ca(PemSource::Data(b"not a certificate".to_vec())),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    let err = RestClient::new(
        Config::new("https://h").with_ca(PemSource::File("/nonexistent/ca.crt".into())),
    )
    .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/ca.crt"), "{err}");
    let mut cfg = Config::new("https://h");
    cfg.tls.client_cert = Some(PemSource::Data(pem("client.crt")));
    assert!(matches!(
        RestClient::new(cfg).unwrap_err(),
        Error::Config { .. }
    ));
    let err = RestClient::new(Config::new("https://h").with_client_cert(
        PemSource::Data(pem("client.crt")),
        PemSource::Data(pem("server.key")),
    ))
    .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
}

/// A minimal CONNECT proxy; returns its URL and how many tunnels it opened.
async fn connect_proxy() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tunnels = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = tunnels.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let count = count.clone();
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
                let target = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await else {
                    return;
                };
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (format!("http://{addr}"), tunnels)
}

#[tokio::test]
async fn https_through_a_connect_proxy_still_verifies_the_server() {
    let addr = https_server(false).await;
    let (proxy, tunnels) = connect_proxy().await;
    let config = Config::new(format!("https://localhost:{}", addr.port()))
        .with_ca(PemSource::Data(pem("ca.crt")))
        .with_proxy(kubecto_rest_core::Proxy::Url(proxy.clone()));
    let v = answer(config).await.unwrap();
    assert_eq!(v["version"], "HTTP/2.0");
    assert_eq!(tunnels.load(std::sync::atomic::Ordering::SeqCst), 1);
    // The tunnel does not weaken verification.
    let wrong = Config::new(format!("https://localhost:{}", addr.port()))
        .with_ca(PemSource::Data(pem("other-ca.crt")))
        .with_proxy(kubecto_rest_core::Proxy::Url(proxy));
    let err = answer(wrong).await.unwrap_err();
    assert!(matches!(err.last(), Error::Tls { .. }), "{err:?}");
}

/// A certificate source whose identity the test swaps.
#[derive(Debug, Default)]
struct Swappable(std::sync::Mutex<Option<kubecto_rest_core::ClientIdentity>>);

impl kubecto_rest_core::ClientCertificateSource for Swappable {
    fn current(&self) -> Option<kubecto_rest_core::ClientIdentity> {
        self.0.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn a_client_certificate_source_is_read_at_each_handshake() {
    use kubecto_rest_core::ClientIdentity;
    let addr = https_server(true).await;
    let source = Arc::new(Swappable::default());
    let client = RestClient::new(
        Config::new(format!("https://localhost:{}", addr.port()))
            .with_ca(PemSource::Data(pem("ca.crt")))
            .with_client_cert_source(source.clone()),
    )
    .unwrap();
    let get = || async {
        client
            .get()
            .abs_path("/version")
            .send()
            .await?
            .into::<serde_json::Value>()
            .await
    };
    // Nothing yet: the server, which requires a certificate, refuses.
    assert!(get().await.is_err());
    // A certificate the server does not accept for clients (serverAuth only).
    *source.0.lock().unwrap() = Some(ClientIdentity::new(pem("server.crt"), pem("server.key")));
    assert!(get().await.is_err());
    // The rotated, valid one is used by the next connection.
    *source.0.lock().unwrap() = Some(ClientIdentity::new(pem("client.crt"), pem("client.key")));
    assert_eq!(get().await.unwrap()["clientCert"], true);
    assert!(!format!("{:?}", source).contains("PRIVATE KEY"));
}

#[test]
fn a_static_certificate_and_a_source_together_are_a_config_error() {
    let err = RestClient::new(
        Config::new("https://h")
            .with_client_cert(
                PemSource::Data(pem("client.crt")),
                PemSource::Data(pem("client.key")),
            )
            .with_client_cert_source(Arc::new(Swappable::default())),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
}

/// A server that accepts TCP connections and never answers the TLS handshake fails the
/// request after client-go's 10 s TLS handshake timeout instead of hanging it.
#[tokio::test]
async fn a_server_that_never_speaks_tls_fails_the_handshake_after_ten_seconds() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    let started = std::time::Instant::now();
    let err = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        answer(
            Config::new(format!("https://localhost:{}", addr.port()))
                .with_ca(PemSource::Data(pem("ca.crt"))),
        ),
    )
    .await
    .expect("the client gave up by itself")
    .unwrap_err();
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(9) && waited < std::time::Duration::from_secs(20),
        "{waited:?}"
    );
    assert!(matches!(err.last(), Error::Tls { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("TLS handshake did not finish within 10s")
            && text.contains(&addr.port().to_string()),
        "{text}"
    );
}

/// How a hand-written HTTP/2 server turns away all but the first of the requests that
/// arrive together on its first connection.
#[derive(Clone, Copy)]
enum TurnAway {
    /// `RST_STREAM` with `REFUSED_STREAM` for each; the connection stays open.
    Refuse,
    /// A graceful `GOAWAY` whose last stream id is the first request's, then close.
    GoAway,
}

/// A minimal HTTP/2 server over TLS (ALPN `h2`), written frame by frame so it can say
/// what kube-apiserver's `--goaway-chance` and an overloaded server say: on its first
/// connection it waits until `together` requests have arrived, answers the first and
/// turns the others away as `how` says; every later request is answered. Counts the
/// connections and the requests answered.
async fn turning_away_h2_server(
    how: TurnAway,
    together: usize,
    accepted: Arc<AtomicUsize>,
    answered: Arc<AtomicUsize>,
) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }
    fn answer(stream: u32) -> Vec<u8> {
        // HEADERS `:status 200` (HPACK static index 8), then the body, END_STREAM.
        let mut out = frame(1, 0x4, stream, &[0x88]);
        out.extend(frame(
            0,
            0x1,
            stream,
            br#"{"kind":"Status","status":"Success"}"#,
        ));
        out
    }
    let acceptor = acceptor(false, &[b"h2"]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let first = accepted.fetch_add(1, Ordering::SeqCst) == 0;
            let (acceptor, answered) = (acceptor.clone(), answered.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut preface = [0u8; 24];
                if tls.read_exact(&mut preface).await.is_err() {
                    return;
                }
                tls.write_all(&frame(4, 0, 0, &[])).await.unwrap();
                let mut waiting: Vec<u32> = Vec::new();
                let mut turned_away = !first;
                loop {
                    let mut head = [0u8; 9];
                    if tls.read_exact(&mut head).await.is_err() {
                        return;
                    }
                    let len = usize::from(head[0]) << 16
                        | usize::from(head[1]) << 8
                        | usize::from(head[2]);
                    let (kind, flags) = (head[3], head[4]);
                    let stream =
                        u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
                    let mut payload = vec![0u8; len];
                    if tls.read_exact(&mut payload).await.is_err() {
                        return;
                    }
                    let mut out = Vec::new();
                    match kind {
                        4 if flags & 0x1 == 0 => out = frame(4, 0x1, 0, &[]),
                        6 if flags & 0x1 == 0 => out = frame(6, 0x1, 0, &payload),
                        1 if turned_away => {
                            answered.fetch_add(1, Ordering::SeqCst);
                            out = answer(stream);
                        }
                        1 => waiting.push(stream),
                        _ => {}
                    }
                    if !turned_away && waiting.len() == together {
                        turned_away = true;
                        answered.fetch_add(1, Ordering::SeqCst);
                        out = answer(waiting[0]);
                        match how {
                            TurnAway::Refuse => {
                                for s in &waiting[1..] {
                                    out.extend(frame(3, 0, *s, &7u32.to_be_bytes()));
                                }
                            }
                            TurnAway::GoAway => {
                                let mut goaway = waiting[0].to_be_bytes().to_vec();
                                goaway.extend_from_slice(&0u32.to_be_bytes());
                                out.extend(frame(7, 0, 0, &goaway));
                                tls.write_all(&out).await.unwrap();
                                tls.flush().await.unwrap();
                                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                                return;
                            }
                        }
                    }
                    if !out.is_empty() && tls.write_all(&out).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// Eight requests sent together to a server that answers one and turns the others away;
/// each must succeed, and be answered exactly once.
async fn eight_together(how: TurnAway) -> (usize, usize) {
    let (accepted, answered) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let addr = turning_away_h2_server(how, 8, accepted.clone(), answered.clone()).await;
    let client = RestClient::new(
        Config::new(format!("https://localhost:{}", addr.port()))
            .with_ca(PemSource::Data(pem("ca.crt"))),
    )
    .unwrap();
    let requests = (0..8).map(|i| {
        let client = client.clone();
        async move {
            // Writes as well as reads: a request the server did not process is safe to send again.
            let req = if i % 2 == 0 {
                client.get().abs_path("/api/v1/pods")
            } else {
                client
                    .post()
                    .abs_path("/api/v1/namespaces/default/configmaps")
                    .json(&serde_json::json!({"metadata": {"name": format!("c{i}")}}))
            };
            let resp = req
                .send()
                .await
                .unwrap_or_else(|e| panic!("request {i}: {e}"));
            resp.bytes().await.unwrap();
        }
    });
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        futures_util::future::join_all(requests),
    )
    .await
    .expect("every request finished");
    (
        answered.load(Ordering::SeqCst),
        accepted.load(Ordering::SeqCst),
    )
}

#[tokio::test]
async fn streams_refused_with_refused_stream_are_sent_again_whatever_the_verb() {
    let (answered, accepted) = eight_together(TurnAway::Refuse).await;
    assert_eq!(answered, 8, "each request answered once");
    assert_eq!(
        accepted, 1,
        "the refused streams went again on the same connection"
    );
}

#[tokio::test]
async fn streams_a_goaway_did_not_let_through_go_again_on_a_new_connection() {
    let (answered, accepted) = eight_together(TurnAway::GoAway).await;
    assert_eq!(answered, 8, "each request answered once");
    assert_eq!(accepted, 2, "one new connection after the GOAWAY");
}

/// A client certificate source whose identity cannot be used fails the connection,
/// even where the server would accept an anonymous one (client-go: "failed parsing client
/// key/certificate"), instead of connecting without a certificate.
#[tokio::test]
async fn an_unusable_identity_from_a_source_fails_the_connection_not_anonymous() {
    use kubecto_rest_core::ClientIdentity;
    let addr = https_server(false).await;
    let source = Arc::new(Swappable::default());
    let config = Config::new(format!("https://localhost:{}", addr.port()))
        .with_ca(PemSource::Data(pem("ca.crt")))
        .with_client_cert_source(source.clone());
    for (cert, key) in [
        (pem("client.crt"), b"not a key".to_vec()),
        (b"not a certificate".to_vec(), pem("client.key")),
    ] {
        *source.0.lock().unwrap() = Some(ClientIdentity::new(cert, key));
        let err = answer(config.clone()).await.unwrap_err();
        assert!(matches!(err.last(), Error::Tls { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("client certificate from its source cannot be used"),
            "{text}"
        );
    }
    // No identity at all is anonymous, as the source says.
    *source.0.lock().unwrap() = None;
    assert_eq!(answer(config.clone()).await.unwrap()["clientCert"], false);
}

#[test]
fn a_pem_file_larger_than_the_limit_is_refused_naming_it() {
    let err =
        RestClient::new(Config::new("https://h").with_ca(PemSource::File("/dev/zero".into())))
            .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("/dev/zero") && text.contains("limit"),
        "{text}"
    );
}
