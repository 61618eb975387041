//! exec and attach over WebSocket, spoken by hand with tungstenite as a client: the first
//! message, the channels of v4 and v5, stdin closed by v5's `[255, 0]`, terminal resizes
//! reaching a handler, exit codes as Status, the refusals before the upgrade, and a server
//! that stops mid-stream.

mod common;

use std::time::Duration;

use common::{Http, TestServer};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

type Ws = WebSocketStream<TcpStream>;

fn pod(name: &str, containers: &[&str]) -> Value {
    let containers: Vec<Value> = containers
        .iter()
        .map(|c| json!({"name": c, "image": "busybox"}))
        .collect();
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"nodeName": "node-1", "containers": containers}})
}

async fn connect(server: &TestServer, path_and_query: &str, protocol: &str) -> (Ws, String) {
    let url = format!("ws://{}{path_and_query}", server.addr());
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    let (ws, res) = tokio_tungstenite::client_async(req, tcp).await.unwrap();
    let chosen = res
        .headers()
        .get("Sec-WebSocket-Protocol")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (ws, chosen)
}

/// Everything until the server closes: (stdout, stderr, status, messages in order).
async fn drain(ws: &mut Ws) -> (Vec<u8>, Vec<u8>, Value, Vec<Vec<u8>>) {
    let (mut out, mut err, mut status, mut all) = (Vec::new(), Vec::new(), Value::Null, Vec::new());
    while let Some(msg) = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("the server answers within 10 s")
    {
        let data = match msg {
            Ok(Message::Binary(b)) => b.to_vec(),
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        all.push(data.clone());
        match data[0] {
            1 => out.extend_from_slice(&data[1..]),
            2 => err.extend_from_slice(&data[1..]),
            3 if data.len() > 1 => status = serde_json::from_slice(&data[1..]).unwrap(),
            _ => {}
        }
    }
    (out, err, status, all)
}

fn exec_path(pod: &str, command: &[&str], extra: &str) -> String {
    let mut q: Vec<String> = command
        .iter()
        .map(|c| {
            format!(
                "command={}",
                c.replace(' ', "%20")
                    .replace(';', "%3B")
                    .replace('>', "%3E")
                    .replace('&', "%26")
            )
        })
        .collect();
    q.push(extra.to_owned());
    format!("/api/v1/namespaces/default/pods/{pod}/exec?{}", q.join("&"))
}

#[tokio::test]
async fn v5_cat_echoes_stdin_until_the_client_closes_it() {
    let server = TestServer::start().await.unwrap();
    server.seed(pod("web", &["app"])).unwrap();
    let path = exec_path("web", &["cat"], "stdin=true&stdout=true&stderr=true");
    let (mut ws, chosen) = connect(&server, &path, "v5.channel.k8s.io, v4.channel.k8s.io").await;
    assert_eq!(chosen, "v5.channel.k8s.io");
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    for chunk in payload.chunks(20_000) {
        let mut m = vec![0];
        m.extend_from_slice(chunk);
        ws.send(Message::binary(m)).await.unwrap();
    }
    ws.send(Message::binary(vec![255, 0])).await.unwrap();
    let (out, err, status, all) = drain(&mut ws).await;
    // wsstream's first message: empty, on stdout, the lowest channel written to.
    assert_eq!(all[0], vec![1]);
    assert_eq!(out, payload);
    assert!(err.is_empty());
    assert_eq!(status, json!({"metadata": {}, "status": "Success"}));
}

#[tokio::test]
async fn a_non_zero_exit_is_a_failure_status_with_the_code() {
    let server = TestServer::start().await.unwrap();
    server.seed(pod("web", &["app"])).unwrap();
    let path = exec_path(
        "web",
        &["sh", "-c", "echo out; echo oops >&2; exit 3"],
        "stdout=true&stderr=true",
    );
    let (mut ws, _) = connect(&server, &path, "v5.channel.k8s.io").await;
    let (out, err, status, _) = drain(&mut ws).await;
    assert_eq!(out, b"out\n");
    assert_eq!(err, b"oops\n");
    assert_eq!(
        status,
        json!({"metadata": {}, "status": "Failure",
            "message": "command terminated with non-zero exit code: command terminated with exit code 3",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}})
    );
    // v4: the kubelet words it from the runtime's error.
    let (mut ws, chosen) = connect(&server, &path, "v4.channel.k8s.io").await;
    assert_eq!(chosen, "v4.channel.k8s.io");
    let (_, _, status, _) = drain(&mut ws).await;
    assert_eq!(
        status["message"],
        "command terminated with non-zero exit code: error executing command [sh -c echo out; echo oops >&2; exit 3], exit code 3"
    );
    // An unknown command: 127 and a word on stderr.
    let path = exec_path("web", &["frobnicate"], "stdout=true&stderr=true");
    let (mut ws, _) = connect(&server, &path, "v5.channel.k8s.io").await;
    let (_, err, status, _) = drain(&mut ws).await;
    assert_eq!(err, b"frobnicate: command not found\n");
    assert_eq!(status["details"]["causes"][0]["message"], "127");
}

#[tokio::test]
async fn a_handler_gets_the_command_and_the_terminal_sizes() {
    let server = TestServer::builder()
        .exec(|mut p| async move {
            let first = p.resizes.next().await;
            let second = p.resizes.next().await;
            let line = format!(
                "{:?} {} {} {first:?} {second:?}\n",
                p.command, p.container, p.tty
            );
            let _ = p.stderr.write_all(line.as_bytes()).await;
            let mut rest = String::new();
            let _ = p.stdin.read_to_string(&mut rest).await;
            let _ = p.stdout.write_all(rest.to_uppercase().as_bytes()).await;
            7
        })
        .start()
        .await
        .unwrap();
    server.seed(pod("web", &["app", "sidecar"])).unwrap();
    let path = exec_path(
        "web",
        &["top"],
        "container=sidecar&stdin=true&stdout=true&tty=true",
    );
    let (mut ws, _) = connect(&server, &path, "v5.channel.k8s.io").await;
    // One size split over two messages, then another.
    ws.send(Message::binary(b"\x04{\"Width\":80,".to_vec()))
        .await
        .unwrap();
    ws.send(Message::binary(
        b"\x04\"Height\":24}{\"Width\":100,\"Height\":30}".to_vec(),
    ))
    .await
    .unwrap();
    ws.send(Message::binary(b"\x00hello".to_vec()))
        .await
        .unwrap();
    ws.send(Message::binary(vec![255, 0])).await.unwrap();
    let (out, err, status, _) = drain(&mut ws).await;
    // With a terminal, stderr is the terminal too.
    let out = String::from_utf8(out).unwrap();
    assert!(err.is_empty());
    assert_eq!(
        out,
        "[\"top\"] sidecar true Some(TerminalSize { width: 80, height: 24 }) Some(TerminalSize { width: 100, height: 30 })\nHELLO"
    );
    assert_eq!(status["details"]["causes"][0]["message"], "7");
}

#[tokio::test]
async fn attach_echoes_stdin_and_ends_in_success() {
    let server = TestServer::start().await.unwrap();
    server.seed(pod("web", &["app"])).unwrap();
    let path = "/api/v1/namespaces/default/pods/web/attach?stdin=true&stdout=true";
    let (mut ws, _) = connect(&server, path, "v4.channel.k8s.io").await;
    ws.send(Message::binary(b"\x00ping".to_vec()))
        .await
        .unwrap();
    // v4 has no stream close: the process sees stdin end when the connection does, so
    // read the echo first.
    let echoed = ws.next().await.unwrap().unwrap();
    assert_eq!(echoed.into_data().to_vec(), vec![1]);
    let echoed = ws.next().await.unwrap().unwrap();
    assert_eq!(echoed.into_data().to_vec(), b"\x01ping".to_vec());
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn refusals_before_the_upgrade_are_statuses() {
    let server = TestServer::start().await.unwrap();
    server.seed(pod("web", &["app", "sidecar"])).unwrap();
    server
        .seed(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "pending", "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "busybox"}]}}))
        .unwrap();
    let http = Http::new(&server);
    let get = |path: String| {
        let http = &http;
        async move { http.send("GET", &path, "", "").await }
    };
    let a = get(exec_path("nope", &["ls"], "stdout=true")).await;
    assert_eq!(
        (a.status, a.json()["message"].clone()),
        (404, json!("pods \"nope\" not found"))
    );
    let a = get(exec_path("web", &["ls"], "stdout=true")).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json()["message"],
        "a container name must be specified for pod web, choose one of: [app sidecar]"
    );
    let a = get(exec_path("web", &["ls"], "container=db&stdout=true")).await;
    assert_eq!(
        (a.status, a.json()["message"].clone()),
        (400, json!("container db is not valid for pod web"))
    );
    let a = get(exec_path("pending", &["ls"], "stdout=true")).await;
    assert_eq!(
        (a.status, a.json()["message"].clone()),
        (400, json!("pod pending does not have a host assigned"))
    );
}

#[tokio::test]
async fn no_stream_is_refused_as_the_kubelet_refuses_it() {
    let server = TestServer::start().await.unwrap();
    server.seed(pod("web", &["app"])).unwrap();
    let path = exec_path("web", &["ls"], "tty=false");
    // v5: the translator upgraded first, so the kubelet's refusal is an InternalError.
    let (mut ws, _) = connect(&server, &path, "v5.channel.k8s.io").await;
    let (_, _, status, all) = drain(&mut ws).await;
    assert_eq!(all[0], vec![3]);
    assert_eq!(status["reason"], "InternalError");
    assert_eq!(
        status["message"],
        "Internal error occurred: unable to upgrade connection: you must specify at least 1 of stdin, stdout, stderr"
    );
    // v4: the kubelet's own answer, passed through.
    let url = format!("ws://{}{path}", server.addr());
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "v4.channel.k8s.io".parse().unwrap(),
    );
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    let err = tokio_tungstenite::client_async(req, tcp).await.unwrap_err();
    let tokio_tungstenite::tungstenite::Error::Http(res) = err else {
        panic!("{err:?}")
    };
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.body().as_deref(),
        Some(&b"you must specify at least 1 of stdin, stdout, stderr"[..])
    );
}

#[tokio::test]
async fn an_unknown_subprotocol_is_forbidden() {
    let server = TestServer::start().await.unwrap();
    server.seed(pod("web", &["app"])).unwrap();
    let url = format!(
        "ws://{}{}",
        server.addr(),
        exec_path("web", &["ls"], "stdout=true")
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "v9.channel.k8s.io".parse().unwrap(),
    );
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    let err = tokio_tungstenite::client_async(req, tcp).await.unwrap_err();
    let tokio_tungstenite::tungstenite::Error::Http(res) = err else {
        panic!("{err:?}")
    };
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn a_server_that_stops_cuts_the_stream_without_a_status() {
    let server = TestServer::start().await.unwrap();
    server.seed(pod("web", &["app"])).unwrap();
    let path = exec_path("web", &["cat"], "stdin=true&stdout=true");
    let (mut ws, _) = connect(&server, &path, "v5.channel.k8s.io").await;
    ws.send(Message::binary(b"\x00before".to_vec()))
        .await
        .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap().into_data().to_vec(),
        vec![1]
    );
    assert_eq!(
        ws.next().await.unwrap().unwrap().into_data().to_vec(),
        b"\x01before".to_vec()
    );
    server.shutdown().await;
    let (_, _, status, _) = drain(&mut ws).await;
    assert_eq!(status, Value::Null, "no status: the stream was cut");
}
