//! WebSocket upgrades go through what every request goes through (credentials refreshed
//! after a 401, impersonation, retry only when the server did not take the request) and
//! refuse a server that does not complete the handshake; the channel protocols of exec
//! and port-forward are spoken byte for byte. The server here is written by hand, so each
//! test controls exactly what the server says.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use kubecto_rest_core::upgrade::Message;
use kubecto_rest_core::upgrade::remote_command::{AttachParams, TerminalSize};
use kubecto_rest_core::{
    Auth, Config, CredentialError, CredentialFuture, CredentialProvider, Error, Impersonate,
    RestClient, SecretString,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

/// What the hand-written server does with one request head.
enum Answer {
    /// Send these bytes and close.
    Raw(String),
    /// Switch to WebSocket with this subprotocol (and this accept key, when given), then
    /// run the script.
    Upgrade {
        protocol: &'static str,
        accept: Option<&'static str>,
        script: Script,
    },
}

type Script = Box<
    dyn FnOnce(WebSocketStream<TcpStream>) -> futures_util::future::BoxFuture<'static, ()> + Send,
>;

/// A server on 127.0.0.1:0 that hands each request head (lower-cased header names) to
/// `answer`, and records the heads.
async fn server<F>(answer: F) -> (String, Arc<Mutex<Vec<String>>>)
where
    F: Fn(usize, &str) -> Answer + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    let answer = Arc::new(answer);
    let count = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (seen, answer, count) = (seen.clone(), answer.clone(), count.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if sock.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                seen.lock().unwrap().push(head.clone());
                let n = count.fetch_add(1, Ordering::SeqCst);
                match answer(n, &head) {
                    Answer::Raw(text) => {
                        let _ = sock.write_all(text.as_bytes()).await;
                    }
                    Answer::Upgrade {
                        protocol,
                        accept,
                        script,
                    } => {
                        let key = header(&head, "sec-websocket-key").unwrap_or_default();
                        let accept =
                            accept.map_or_else(|| derive_accept_key(key.as_bytes()), str::to_owned);
                        let resp = format!(
                            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: {protocol}\r\n\r\n"
                        );
                        sock.write_all(resp.as_bytes()).await.unwrap();
                        let ws = WebSocketStream::from_raw_socket(sock, Role::Server, None).await;
                        script(ws).await;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), heads)
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

fn status_answer(code: u16, reason: &str, extra: &str) -> Answer {
    let body = format!(
        r#"{{"kind":"Status","apiVersion":"v1","status":"Failure","message":"{reason}","reason":"{reason}","code":{code}}}"#
    );
    Answer::Raw(format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    ))
}

fn client(url: &str) -> RestClient {
    RestClient::new(Config::new(url).without_rate_limit()).unwrap()
}

fn exec(client: &RestClient) -> kubecto_rest_core::Request {
    client
        .get()
        .abs_path("/api/v1")
        .namespace("default")
        .resource("pods")
        .name("web-0")
        .sub_resource("exec")
        .param("command", "cat")
}

fn script<F, Fut>(f: F) -> Script
where
    F: FnOnce(WebSocketStream<TcpStream>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    Box::new(move |ws| Box::pin(f(ws)))
}

const SUCCESS: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success"}"#;

fn exit_status(code: i32) -> String {
    format!(
        r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit {code}], exit code {code}","reason":"NonZeroExitCode","details":{{"causes":[{{"reason":"ExitCode","message":"{code}"}}]}}}}"#
    )
}

fn on(ch: u8, data: &[u8]) -> Message {
    let mut v = vec![ch];
    v.extend_from_slice(data);
    Message::Binary(Bytes::from(v))
}

#[tokio::test]
async fn an_answer_that_does_not_switch_protocols_is_refused_with_its_status() {
    let (url, _) =
        server(|_, _| Answer::Raw("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_owned()))
            .await;
    let err = exec(&client(&url))
        .upgrade(&["v5.channel.k8s.io"])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Stream { .. }), "{err:?}");
    assert!(text.contains("200 OK instead of switching"), "{text}");
    assert!(
        text.contains("/api/v1/namespaces/default/pods/web-0/exec"),
        "{text}"
    );

    let (url, _) = server(|_, _| status_answer(404, "NotFound", "")).await;
    let err = exec(&client(&url))
        .upgrade(&["v5.channel.k8s.io"])
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn a_wrong_accept_key_or_a_protocol_not_offered_is_refused() {
    let (url, _) = server(|_, _| Answer::Upgrade {
        protocol: "v5.channel.k8s.io",
        accept: Some("bm90IHRoZSByaWdodCBrZXk="),
        script: script(|_| async {}),
    })
    .await;
    let err = exec(&client(&url))
        .upgrade(&["v5.channel.k8s.io"])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Sec-WebSocket-Accept"), "{err}");

    let (url, _) = server(|_, _| Answer::Upgrade {
        protocol: "v1.channel.k8s.io",
        accept: None,
        script: script(|_| async {}),
    })
    .await;
    let err = exec(&client(&url))
        .upgrade(&["v5.channel.k8s.io", "v4.channel.k8s.io"])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("\"v1.channel.k8s.io\"") && text.contains("v4.channel.k8s.io"),
        "{text}"
    );
}

/// Hands out `old` until refreshed, then `new`.
#[derive(Debug, Default)]
struct Rotating {
    refreshed: std::sync::atomic::AtomicBool,
}

impl CredentialProvider for Rotating {
    fn credentials(&self) -> CredentialFuture<'_> {
        let token = if self.refreshed.load(Ordering::SeqCst) {
            "new"
        } else {
            "old"
        };
        Box::pin(async move {
            Ok::<_, CredentialError>(Auth::Bearer(SecretString::from(token.to_owned())))
        })
    }

    fn refresh(&self) -> CredentialFuture<'_> {
        self.refreshed.store(true, Ordering::SeqCst);
        self.credentials()
    }
}

#[tokio::test]
async fn an_upgrade_refreshes_credentials_after_a_401_and_carries_impersonation() {
    let (url, heads) = server(|_, head| {
        if header(head, "authorization").as_deref() != Some("Bearer new") {
            return status_answer(401, "Unauthorized", "");
        }
        Answer::Upgrade {
            protocol: "v5.channel.k8s.io",
            accept: None,
            script: script(|mut ws| async move {
                ws.send(on(1, b"hi")).await.unwrap();
                ws.send(on(3, SUCCESS.as_bytes())).await.unwrap();
                ws.close(None).await.unwrap();
            }),
        }
    })
    .await;
    let config = Config::new(&url)
        .without_rate_limit()
        .with_credential_provider(Arc::new(Rotating::default()))
        .with_impersonate({
            let mut as_alice = Impersonate::default();
            as_alice.user = Some("alice".to_owned());
            as_alice.groups = vec!["devs".to_owned()];
            as_alice
        });
    let client = RestClient::new(config).unwrap();
    let out = exec(&client)
        .remote_command(&AttachParams::default())
        .await
        .unwrap()
        .output()
        .await
        .unwrap();
    assert_eq!(out.stdout, b"hi");
    assert!(out.status.success());
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 2, "{heads:?}");
    let last = &heads[1];
    assert_eq!(header(last, "impersonate-user").as_deref(), Some("alice"));
    assert_eq!(header(last, "impersonate-group").as_deref(), Some("devs"));
    assert_eq!(header(last, "upgrade").as_deref(), Some("websocket"));
    assert!(last.starts_with("GET /api/v1/namespaces/default/pods/web-0/exec?command=cat&stderr=true&stdout=true HTTP/1.1"), "{last}");
}

#[tokio::test]
async fn an_upgrade_is_retried_only_when_the_server_did_not_take_it() {
    let (url, heads) = server(|n, _| match n {
        0 => status_answer(429, "TooManyRequests", "Retry-After: 0\r\n"),
        _ => status_answer(500, "InternalError", ""),
    })
    .await;
    let err = exec(&client(&url))
        .upgrade(&["v5.channel.k8s.io"])
        .await
        .unwrap_err();
    assert_eq!(
        heads.lock().unwrap().len(),
        2,
        "a 500 without Retry-After is not retried"
    );
    assert!(err.to_string().contains("InternalError"), "{err}");
}

#[tokio::test]
async fn exec_speaks_v5_byte_for_byte_closes_stdin_and_sends_terminal_sizes() {
    let (url, _) = server(|_, _| Answer::Upgrade {
        protocol: "v5.channel.k8s.io",
        accept: None,
        script: script(|mut ws| async move {
            // Echo stdin to stdout until stdin is closed, and report terminal sizes on stderr
            // (as a program would print them), then exit 3.
            let mut sizes = Vec::new();
            while let Some(Ok(msg)) = ws.next().await {
                let Message::Binary(b) = msg else { continue };
                match b[0] {
                    0 => ws.send(on(1, &b[1..])).await.unwrap(),
                    4 => sizes.push(String::from_utf8(b[1..].to_vec()).unwrap()),
                    255 if b[1..] == [0] => break,
                    other => panic!("unexpected channel {other}"),
                }
            }
            ws.send(on(2, sizes.join("|").as_bytes())).await.unwrap();
            ws.send(on(3, exit_status(3).as_bytes())).await.unwrap();
            ws.close(None).await.unwrap();
        }),
    })
    .await;
    let params = AttachParams::interactive_tty();
    let mut proc = exec(&client(&url)).remote_command(&params).await.unwrap();
    assert_eq!(proc.protocol(), "v5.channel.k8s.io");
    let sizes = proc.terminal_size().unwrap();
    sizes
        .send(TerminalSize {
            width: 80,
            height: 24,
        })
        .await
        .unwrap();
    let mut stdin = proc.stdin().unwrap();
    let mut stdout = proc.stdout().unwrap();
    // Every byte value, a few megabytes, written while the output is read.
    let payload: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let input = payload.clone();
    let writer = tokio::spawn(async move {
        stdin.write_all(&input).await.unwrap();
        stdin.shutdown().await.unwrap();
    });
    let mut echoed = Vec::new();
    stdout.read_to_end(&mut echoed).await.unwrap();
    writer.await.unwrap();
    assert!(
        echoed == payload,
        "stdout differs from stdin ({} bytes back of {})",
        echoed.len(),
        payload.len()
    );
    let status = proc.status().await.unwrap();
    assert_eq!(status.code, 3);
    assert_eq!(status.status.reason, "NonZeroExitCode");
}

#[tokio::test]
async fn exec_over_v4_keeps_stderr_apart_and_reports_a_failure_that_is_no_exit_code() {
    let (url, heads) = server(|n, _| Answer::Upgrade {
        protocol: "v4.channel.k8s.io",
        accept: None,
        script: script(move |mut ws| async move {
            ws.send(on(1, b"out")).await.unwrap();
            ws.send(on(2, b"err")).await.unwrap();
            let status = if n == 0 {
                SUCCESS.to_owned()
            } else {
                r#"{"kind":"Status","status":"Failure","message":"container not found (\"app\")","reason":"InternalError","code":500}"#.to_owned()
            };
            ws.send(on(3, status.as_bytes())).await.unwrap();
            ws.close(None).await.unwrap();
        }),
    })
    .await;
    let client = client(&url);
    let out = exec(&client)
        .remote_command(&AttachParams::default())
        .await
        .unwrap()
        .output()
        .await
        .unwrap();
    assert_eq!(
        (out.stdout.as_slice(), out.stderr.as_slice()),
        (&b"out"[..], &b"err"[..])
    );
    assert_eq!(out.status.code, 0);
    let offered = header(&heads.lock().unwrap()[0], "sec-websocket-protocol").unwrap();
    assert_eq!(offered, "v5.channel.k8s.io, v4.channel.k8s.io");
    let err = exec(&client)
        .remote_command(&AttachParams::default())
        .await
        .unwrap()
        .output()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Api(s) if s.message.contains("container not found")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_server_that_closes_mid_stream_is_an_error_not_an_exit_code() {
    let (url, _) = server(|_, _| Answer::Upgrade {
        protocol: "v5.channel.k8s.io",
        accept: None,
        script: script(|mut ws| async move {
            ws.send(on(1, b"partial")).await.unwrap();
            // Gone without a status or a close frame.
            drop(ws);
        }),
    })
    .await;
    let out = exec(&client(&url))
        .remote_command(&AttachParams::default())
        .await
        .unwrap();
    let err = out.output().await.unwrap_err();
    assert!(matches!(err, Error::Stream { .. }), "{err:?}");
    assert!(
        err.to_string().contains("mid-stream")
            || err.to_string().contains("before the command's exit status"),
        "{err}"
    );
}

#[tokio::test]
async fn parameters_that_ask_for_no_stream_are_refused_before_sending() {
    let client = client("http://127.0.0.1:9");
    let none = AttachParams::default().stdout(false).stderr(false);
    let err = exec(&client).remote_command(&none).await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    let tty_stderr = AttachParams::default().tty(true);
    let err = exec(&client).remote_command(&tty_stderr).await.unwrap_err();
    assert!(err.to_string().contains("stderr"), "{err}");
}

#[tokio::test]
async fn port_forward_strips_the_port_prefix_and_carries_each_port_apart() {
    let (url, heads) = server(|_, _| Answer::Upgrade {
        protocol: "v4.channel.k8s.io",
        accept: None,
        script: script(|mut ws| async move {
            // Ports 80 (channels 0, 1) and 443 (channels 2, 3), as kubelet announces them.
            for (ch, port) in [(0u8, 80u16), (1, 80), (2, 443), (3, 443)] {
                ws.send(on(ch, &port.to_le_bytes())).await.unwrap();
            }
            ws.send(on(3, b"connection refused")).await.unwrap();
            while let Some(Ok(Message::Binary(b))) = ws.next().await {
                assert_eq!(b[0], 0, "data for port 80 only");
                let mut reply = b"echo:".to_vec();
                reply.extend_from_slice(&b[1..]);
                ws.send(on(0, &reply)).await.unwrap();
            }
        }),
    })
    .await;
    let client = client(&url);
    let mut pf = client
        .get()
        .abs_path("/api/v1")
        .namespace("default")
        .resource("pods")
        .name("web-0")
        .sub_resource("portforward")
        .port_forward(&[80, 443])
        .await
        .unwrap();
    assert!(heads.lock().unwrap()[0].contains("portforward?ports=80&ports=443 "));
    let mut web = pf.take_stream(80).unwrap();
    let tls = pf.take_stream(443).unwrap();
    drop(tls);
    web.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 64];
    let n = web.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"echo:GET / HTTP/1.0\r\n\r\n");
    drop(web);
    let errors = pf.join().await.unwrap();
    assert_eq!(
        errors.get(&443).map(String::as_str),
        Some("connection refused")
    );
    assert!(!errors.contains_key(&80));
}

/// A server that takes the upgrade and then neither sends nor reads (a peer gone without
/// closing, behind a proxy that keeps the TCP connection) is noticed: the client pings
/// every 5 s and gives up after 61 s without a word, as client-go does. Time is paused,
/// so the minute passes at once.
#[tokio::test(start_paused = true)]
async fn a_server_that_goes_silent_is_given_up_on_after_a_minute() {
    let (url, _) = server(|_, _| Answer::Upgrade {
        protocol: "v5.channel.k8s.io",
        accept: None,
        script: script(|ws| async move {
            // Holds the connection, reads nothing (so answers no ping), never closes.
            std::future::pending::<()>().await;
            drop(ws);
        }),
    })
    .await;
    let started = tokio::time::Instant::now();
    let proc = exec(&client(&url))
        .remote_command(&AttachParams::default())
        .await
        .unwrap();
    let err = proc.output().await.unwrap_err();
    assert!(err.to_string().contains("answered nothing"), "{err}");
    let waited = started.elapsed();
    assert!(
        (61..=70).contains(&waited.as_secs()),
        "gave up after {waited:?}"
    );
}
