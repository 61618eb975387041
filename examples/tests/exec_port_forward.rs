//! The exec and port_forward examples against the embedded test server, run as they ship
//! (their argument parsing included), with the server scripting the command and the
//! port's destination.

#[allow(dead_code)]
#[path = "../exec.rs"]
mod exec;

#[allow(dead_code)]
#[path = "../port_forward.rs"]
mod port_forward;

mod common;

use std::path::PathBuf;

use common::TempDir;
use kubecto_testserver::{Process, TestServer};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

fn kubeconfig_path(server: &TestServer, tag: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new(tag);
    let path = dir.0.join("config");
    server.write_kubeconfig(&path).expect("kubeconfig");
    (dir, path)
}

fn seed_pod(server: &TestServer) {
    server
        .seed(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-0", "namespace": "default"},
            "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "busybox"}]},
            "status": {"phase": "Running"}
        }))
        .expect("pod seeded");
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

#[tokio::test]
async fn exec_runs_a_one_shot_command_and_returns_its_exit_code() {
    let server = TestServer::builder()
        .exec(|mut p: Process| async move {
            // `tr a-z A-Z`, then exit with the number of bytes read, as a shell would.
            let mut input = Vec::new();
            p.stdin.read_to_end(&mut input).await.unwrap();
            p.stdout
                .write_all(&input.to_ascii_uppercase())
                .await
                .unwrap();
            p.stderr.write_all(b"done\n").await.unwrap();
            i32::try_from(input.len()).unwrap()
        })
        .start()
        .await
        .expect("test server");
    seed_pod(&server);
    let (_dir, path) = kubeconfig_path(&server, "exec");
    let path = path.to_str().unwrap();
    let opts = exec::parse(args(&[
        "--kubeconfig",
        path,
        "-i",
        "web-0",
        "--",
        "tr",
        "a-z",
        "A-Z",
    ]))
    .unwrap();
    assert_eq!(opts.command, ["tr", "a-z", "A-Z"]);
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = exec::run(&opts, &b"hello"[..], &mut stdout, &mut stderr)
        .await
        .expect("example runs");
    assert_eq!(
        (code, stdout.as_slice(), stderr.as_slice()),
        (5, &b"HELLO"[..], &b"done\n"[..])
    );
}

#[test]
fn exec_refuses_a_command_line_without_pod_or_command() {
    assert!(
        exec::parse(args(&["--", "ls"]))
            .unwrap_err()
            .contains("POD")
    );
    assert!(exec::parse(args(&["web-0"])).unwrap_err().contains("--"));
    assert!(
        exec::parse(args(&["web-0", "ls"]))
            .unwrap_err()
            .contains("after --")
    );
    let opts = exec::parse(args(&["-it", "-c", "app", "web-0", "--", "sh"])).unwrap();
    assert!(opts.stdin && opts.tty);
    assert_eq!(opts.container.as_deref(), Some("app"));
}

#[tokio::test]
async fn port_forward_forwards_local_connections_to_the_pods_port() {
    // What the pod's port 80 stands for: echo with a prefix.
    let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let echo_addr = echo.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = echo.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let n = sock.read(&mut buf).await.unwrap();
                let mut reply = b"pod says: ".to_vec();
                reply.extend_from_slice(&buf[..n]);
                sock.write_all(&reply).await.unwrap();
            });
        }
    });
    let server = TestServer::builder()
        .port_forward(move |_, pod, port| (pod == "web-0" && port == 80).then_some(echo_addr))
        .start()
        .await
        .expect("test server");
    seed_pod(&server);
    let (_dir, path) = kubeconfig_path(&server, "port-forward");
    let opts = port_forward::parse(args(&[
        "--kubeconfig",
        path.to_str().unwrap(),
        "web-0",
        ":80",
    ]))
    .unwrap();
    assert_eq!(opts.ports, [(0, 80)]);
    let forwarders = port_forward::start(&opts).await.expect("example starts");
    for i in 0..2 {
        let mut conn = TcpStream::connect(forwarders[0].local_addr())
            .await
            .unwrap();
        conn.write_all(format!("hi {i}").as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        conn.read_to_end(&mut answer).await.unwrap();
        assert_eq!(
            String::from_utf8_lossy(&answer),
            format!("pod says: hi {i}")
        );
    }
}

#[tokio::test]
async fn port_forward_to_a_pod_that_does_not_exist_fails_at_start() {
    let server = TestServer::start().await.expect("test server");
    let (_dir, path) = kubeconfig_path(&server, "port-forward-missing");
    let opts = port_forward::parse(args(&[
        "--kubeconfig",
        path.to_str().unwrap(),
        "nope",
        "80",
    ]))
    .unwrap();
    let err = port_forward::start(&opts).await.unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}
