//! A server in this process for the proxy conformance tests: pod `web` (10.1.0.5, ready,
//! labelled `app: web`, container port `http` 8080) whose port 8080 leads to a backend
//! that answers every request with its request line.
#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;

use kubecto_testserver::TestServer;

/// The runtime serving it, the server and a kubeconfig for it.
pub struct Proxied {
    /// Runs the server; dropping it stops the server.
    pub rt: tokio::runtime::Runtime,
    pub server: TestServer,
    pub kubeconfig: PathBuf,
}

/// Starts the backend and the server; `tag` names the kubeconfig's directory.
pub fn start(tag: &str) -> Proxied {
    let backend = backend();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt
        .block_on(
            TestServer::builder()
                .port_forward(move |ns, pod, port| {
                    (ns == "default" && pod == "web" && port == 8080).then_some(backend)
                })
                .start(),
        )
        .unwrap();
    server
        .seed(serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "nginx",
                "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": "10.1.0.5", "podIPs": [{"ip": "10.1.0.5"}],
                "conditions": [{"type": "Ready", "status": "True"}]}}))
        .unwrap();
    let dir = std::env::temp_dir().join(format!("kubecto-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    Proxied {
        rt,
        server,
        kubeconfig,
    }
}

/// A backend that answers each request with `backend got <request line>` and a newline.
fn backend() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let backend = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(n @ 1..) => head.extend_from_slice(&buf[..n]),
                        _ => return,
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let body = format!("backend got {}\n", text.lines().next().unwrap_or_default());
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    backend
}
