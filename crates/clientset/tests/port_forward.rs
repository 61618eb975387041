//! port-forward on pods against the test server, forwarding to servers the tests start:
//! an HTTP exchange both ways, two ports on one connection, a port with nothing behind
//! it, and the local forwarder that `kubectl port-forward` is.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;

use common::{typed, within};
use k8s_openapi::api::core::v1::Pod;
use kubecto_clientset::{Api, Clientset};
use kubecto_rest_core::Config;
use kubecto_testserver::TestServer;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// A tiny HTTP/1.0 server: answers each request with its own body reversed, prefixed by
/// `tag`, then closes.
async fn http_server(tag: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 64 * 1024];
                // The head, then Content-Length bytes of body.
                let (head_end, length) = loop {
                    let n = sock.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "closed before the request ended");
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                        break (end + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let n = sock.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "closed before the body ended");
                    buf.extend_from_slice(&chunk[..n]);
                }
                let mut body = buf[head_end..].to_vec();
                body.reverse();
                let mut answer = format!(
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{tag}",
                    body.len() + tag.len()
                )
                .into_bytes();
                answer.extend_from_slice(&body);
                sock.write_all(&answer).await.unwrap();
            });
        }
    });
    addr
}

/// Sends one HTTP request with `body` on `stream` and returns the answer's body.
async fn exchange<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    body: &[u8],
) -> Vec<u8> {
    let head = format!(
        "POST /echo HTTP/1.0\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer")
        + 4;
    answer.split_off(end)
}

/// A server that forwards `web-0`'s ports as `routes` says, and the pods client.
async fn serve(routes: HashMap<u16, SocketAddr>) -> (TestServer, Api<Pod>) {
    let server = TestServer::builder()
        .port_forward(move |ns, pod, port| {
            (ns == "default" && pod == "web-0")
                .then(|| routes.get(&port).copied())
                .flatten()
        })
        .start()
        .await
        .unwrap();
    let pod: Pod = typed(json!({
        "metadata": {"name": "web-0"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "nginx"}]},
        "status": {"phase": "Running"}
    }));
    server.seed(serde_json::to_value(pod).unwrap()).unwrap();
    let clientset = Clientset::new(Config::new(server.url()).without_rate_limit()).unwrap();
    (server, clientset.core_v1().pods("default"))
}

fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test]
async fn an_http_exchange_goes_both_ways_on_two_ports_at_once() {
    let (a, b) = (http_server("a:").await, http_server("b:").await);
    let (_server, pods) = serve([(80, a), (8080, b)].into()).await;
    let mut pf = pods.port_forward("web-0", &[80, 8080]).await.unwrap();
    assert_eq!(pf.ports(), &[80, 8080]);
    let mut s80 = pf.take_stream(80).unwrap();
    let mut s8080 = pf.take_stream(8080).unwrap();
    let big = binary(3 << 20);
    let (r80, r8080) = within("two exchanges", async {
        tokio::join!(exchange(&mut s80, &big), exchange(&mut s8080, b"olleh"))
    })
    .await;
    let mut expected = b"a:".to_vec();
    expected.extend(big.iter().rev());
    assert!(
        r80 == expected,
        "port 80's answer differs ({} bytes)",
        r80.len()
    );
    assert_eq!(r8080, b"b:hello");
    drop((s80, s8080));
    let errors = within("the end", pf.join()).await.unwrap();
    assert!(errors.is_empty(), "{errors:?}");
}

#[tokio::test]
async fn a_port_with_nothing_behind_it_reports_the_error() {
    let (_server, pods) = serve(HashMap::new()).await;
    let mut pf = pods.port_forward("web-0", &[5432]).await.unwrap();
    let mut stream = pf.take_stream(5432).unwrap();
    let _ = stream.write_all(b"hello").await;
    let mut rest = Vec::new();
    let _ = within("the refusal", stream.read_to_end(&mut rest)).await;
    drop(stream);
    let errors = within("the end", pf.join()).await.unwrap();
    let text = errors.get(&5432).expect("an error for port 5432");
    assert!(text.contains("5432"), "{text}");
}

#[tokio::test]
async fn the_local_forwarder_carries_each_connection_over_its_own_port_forward() {
    let web = http_server("web:").await;
    let (server, pods) = serve([(80, web)].into()).await;
    let fwd = pods
        .forward_local("web-0", "127.0.0.1:0".parse().unwrap(), 80)
        .await
        .unwrap();
    for i in 0..3 {
        let mut conn = TcpStream::connect(fwd.local_addr()).await.unwrap();
        let body = format!("request {i}");
        let answer = within("a forwarded exchange", exchange(&mut conn, body.as_bytes())).await;
        let expected: String = format!("web:{}", body.chars().rev().collect::<String>());
        assert_eq!(String::from_utf8_lossy(&answer), expected);
    }
    assert_eq!(
        server.request_count("GET", "/api/v1/namespaces/default/pods/web-0/portforward"),
        3
    );
    fwd.shutdown();
}
