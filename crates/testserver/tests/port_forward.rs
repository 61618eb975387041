//! `pods/{name}/portforward` over a plain WebSocket (`v4.channel.k8s.io`), as kube-rs and
//! kubecto speak it, with tokio-tungstenite as the client: the port announced on both
//! channels, an HTTP exchange carried both ways to a server the test started, two ports
//! at once, ports that refuse, and the answers before the upgrade.

use std::net::SocketAddr;

use futures_util::{SinkExt as _, StreamExt as _};
use kubecto_testserver::TestServer;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

type Ws = WebSocketStream<TcpStream>;

/// A tiny HTTP server: each connection gets one answer naming `name` and the request line.
async fn http_server(name: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(n @ 1..) => req.extend_from_slice(&buf[..n]),
                        _ => return,
                    }
                }
                let line = String::from_utf8_lossy(&req);
                let line = line.lines().next().unwrap_or_default();
                let body = format!("{name} answers {line}");
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(answer.as_bytes()).await;
            });
        }
    });
    addr
}

async fn server(
    route: impl Fn(&str, &str, u16) -> Option<SocketAddr> + Send + Sync + 'static,
) -> TestServer {
    let server = TestServer::builder()
        .port_forward(route)
        .start()
        .await
        .unwrap();
    for (name, node, phase) in [
        ("web", Some("node-1"), "Running"),
        ("pending", None, "Pending"),
        ("done", Some("node-1"), "Succeeded"),
    ] {
        server
            .seed(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "default"},
                "spec": {"nodeName": node, "containers": [{"name": "app", "image": "nginx"}]},
                "status": {"phase": phase}}))
            .unwrap();
    }
    server
}

async fn connect(server: &TestServer, pod: &str, query: &str) -> Ws {
    let url = format!(
        "ws://{}/api/v1/namespaces/default/pods/{pod}/portforward?{query}",
        server.addr()
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "v4.channel.k8s.io".parse().unwrap(),
    );
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    let (ws, res) = tokio_tungstenite::client_async(req, tcp).await.unwrap();
    assert_eq!(res.headers()["sec-websocket-protocol"], "v4.channel.k8s.io");
    ws
}

/// The next binary message, split into channel and payload.
async fn next(ws: &mut Ws) -> Option<(u8, Vec<u8>)> {
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s")?
        {
            Ok(Message::Binary(b)) => return Some((b[0], b[1..].to_vec())),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

async fn send(ws: &mut Ws, channel: u8, data: &[u8]) {
    let mut msg = vec![channel];
    msg.extend_from_slice(data);
    ws.send(Message::Binary(msg.into())).await.unwrap();
}

/// Everything that arrives on `channel` until the WebSocket closes, and what came on others.
async fn drain(ws: &mut Ws, channel: u8) -> (Vec<u8>, Vec<(u8, Vec<u8>)>) {
    let (mut data, mut other) = (Vec::new(), Vec::new());
    while let Some((ch, payload)) = next(ws).await {
        if ch == channel {
            data.extend_from_slice(&payload);
        } else {
            other.push((ch, payload));
        }
    }
    (data, other)
}

#[tokio::test]
async fn a_websocket_carries_an_http_exchange_both_ways() {
    let web = http_server("web").await;
    let server =
        server(move |ns, pod, port| (ns == "default" && pod == "web" && port == 80).then_some(web))
            .await;
    let mut ws = connect(&server, "web", "ports=80").await;
    // The port, little-endian, first on the data channel and then on the error channel.
    assert_eq!(next(&mut ws).await, Some((0, vec![80, 0])));
    assert_eq!(next(&mut ws).await, Some((1, vec![80, 0])));
    send(&mut ws, 0, b"GET /hello HTTP/1.1\r\nHost: web\r\n\r\n").await;
    let (data, other) = drain(&mut ws, 0).await;
    let text = String::from_utf8(data).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(
        text.ends_with("\r\n\r\nweb answers GET /hello HTTP/1.1"),
        "{text}"
    );
    // The pod closed its side: the forward ended without an error, and the WebSocket with it.
    assert!(other.is_empty(), "{other:?}");
}

#[tokio::test]
async fn two_ports_at_once_each_on_its_channels() {
    let (web, admin) = (http_server("web").await, http_server("admin").await);
    let server = server(move |_, _, port| match port {
        8080 => Some(web),
        9090 => Some(admin),
        _ => None,
    })
    .await;
    let mut ws = connect(&server, "web", "ports=8080&ports=9090").await;
    let mut intro = Vec::new();
    for _ in 0..4 {
        intro.push(next(&mut ws).await.unwrap());
    }
    let [a, b] = 8080u16.to_le_bytes();
    let [c, d] = 9090u16.to_le_bytes();
    assert_eq!(
        intro,
        [
            (0, vec![a, b]),
            (1, vec![a, b]),
            (2, vec![c, d]),
            (3, vec![c, d])
        ]
    );
    send(&mut ws, 2, b"GET /second HTTP/1.1\r\n\r\n").await;
    send(&mut ws, 0, b"GET /first HTTP/1.1\r\n\r\n").await;
    let (mut first, mut second) = (Vec::new(), Vec::new());
    while let Some((ch, payload)) = next(&mut ws).await {
        match ch {
            0 => first.extend_from_slice(&payload),
            2 => second.extend_from_slice(&payload),
            other => panic!(
                "unexpected message on channel {other}: {:?}",
                String::from_utf8_lossy(&payload)
            ),
        }
    }
    assert!(
        String::from_utf8(first)
            .unwrap()
            .ends_with("web answers GET /first HTTP/1.1")
    );
    assert!(
        String::from_utf8(second)
            .unwrap()
            .ends_with("admin answers GET /second HTTP/1.1")
    );
}

#[tokio::test]
async fn a_port_nothing_listens_on_is_refused_on_its_error_channel() {
    // A scripted address where nothing listens any more, and a port with no script.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let server = server(move |_, _, port| (port == 81).then_some(closed)).await;
    let mut ws = connect(&server, "web", "ports=81,82").await;
    let (_, messages) = drain(&mut ws, 0).await;
    let errors: Vec<(u8, String)> = messages
        .into_iter()
        .filter(|(_, p)| p.len() > 2)
        .map(|(ch, p)| (ch, String::from_utf8(p).unwrap()))
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    for (ch, port, ipv4) in [
        (1, 81, closed.to_string()),
        (3, 82, "127.0.0.1:82".to_owned()),
    ] {
        let (_, text) = errors.iter().find(|(c, _)| *c == ch).unwrap();
        assert!(
            text.starts_with(&format!("error forwarding port {port} to pod ")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "failed to connect to localhost:{port} inside namespace \""
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("IPv4: dial tcp4 {ipv4}: connect: connection refused IPv6 dial tcp6 [::1]:{port}: connect: connection refused")),
            "{text}"
        );
    }
}

#[tokio::test]
async fn requests_that_cannot_forward_are_answered_before_the_upgrade() {
    let server = server(|_, _, _| None).await;
    let http = |path: &str, headers: &[(&str, &str)]| {
        let mut req = format!(
            "GET /api/v1/namespaces/default/pods/{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let addr = server.addr();
        async move {
            let mut conn = TcpStream::connect(addr).await.unwrap();
            conn.write_all(req.as_bytes()).await.unwrap();
            let mut out = String::new();
            conn.read_to_string(&mut out).await.unwrap();
            out
        }
    };
    let ws = [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ];
    let out = http("nosuch/portforward?ports=80", &ws).await;
    assert!(out.starts_with("HTTP/1.1 404"), "{out}");
    assert!(
        out.contains(r#""message":"pods \"nosuch\" not found""#),
        "{out}"
    );
    let out = http("pending/portforward?ports=80", &ws).await;
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    assert!(
        out.contains("pod pending does not have a host assigned"),
        "{out}"
    );
    let out = http("done/portforward?ports=80", &ws).await;
    assert!(out.starts_with("HTTP/1.1 500"), "{out}");
    assert!(out.ends_with("pod not found (\"done_default\")"), "{out}");
    let out = http("web/portforward?ports=80", &[]).await;
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    assert!(out.contains("Upgrade request required"), "{out}");
    let out = http("web/portforward", &ws).await;
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    assert!(
        out.ends_with("query parameter \"port\" is required"),
        "{out}"
    );
    let out = http("web/portforward?ports=0", &ws).await;
    assert!(out.ends_with("port \"0\" must be > 0"), "{out}");
    let out = http("web/portforward?ports=x", &ws).await;
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    assert!(
        out.contains(
            r#"cannot convert to []int32: strconv.ParseUint: parsing \"x\": invalid syntax"#
        ),
        "{out}"
    );
    let spdy = [("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1")];
    let out = http("web/portforward", &spdy).await;
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    assert!(
        out.contains("unable to upgrade: header X-Stream-Protocol-Version does not exist"),
        "{out}"
    );
    let out = http(
        "web/portforward",
        &[
            spdy[0],
            spdy[1],
            ("X-Stream-Protocol-Version", "v4.channel.k8s.io"),
        ],
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 403"), "{out}");
    assert!(out.contains("unable to negotiate protocol: client supports [v4.channel.k8s.io], server accepts [portforward.k8s.io]"), "{out}");
}
