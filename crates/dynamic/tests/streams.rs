//! exec, attach and port-forward through the dynamic client, on `pods` named by their
//! GroupVersionResource; failures name the verb and the object.

mod common;

use kubecto_dynamic::GroupVersionResource;
use kubecto_rest_core::upgrade::remote_command::AttachParams;
use kubecto_testserver::{Process, TestServer};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

fn pods() -> GroupVersionResource {
    GroupVersionResource::new("", "v1", "pods")
}

#[tokio::test]
async fn exec_attach_and_port_forward_on_pods() {
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
        .exec(|mut p: Process| async move {
            let words = p.command.join(" ");
            p.stdout.write_all(words.as_bytes()).await.unwrap();
            2
        })
        .attach(|mut p: Process| async move {
            p.stderr.write_all(b"attached").await.unwrap();
            0
        })
        .port_forward(move |_, pod, port| (pod == "web-0" && port == 9000).then_some(echo_addr))
        .start()
        .await
        .unwrap();
    server
        .seed(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-0", "namespace": "default"},
            "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "busybox"}]},
            "status": {"phase": "Running"}
        }))
        .unwrap();
    let pods = common::client(&server)
        .resource(pods())
        .namespace("default");

    let out = pods
        .exec("web-0", ["echo", "a b"], &AttachParams::default())
        .await
        .unwrap()
        .output()
        .await
        .unwrap();
    assert_eq!(
        (out.stdout.as_slice(), out.status.code),
        (&b"echo a b"[..], 2)
    );

    let out = pods
        .attach("web-0", &AttachParams::default())
        .await
        .unwrap()
        .output()
        .await
        .unwrap();
    assert_eq!(out.stderr, b"attached");

    let mut pf = pods.port_forward("web-0", &[9000]).await.unwrap();
    let mut stream = pf.take_stream(9000).unwrap();
    stream.write_all(b"over the dynamic client").await.unwrap();
    let mut back = [0u8; 23];
    stream.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"over the dynamic client");
    drop(stream);
    pf.join().await.unwrap();

    let err = pods
        .exec("missing", ["true"], &AttachParams::default())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("exec pods.v1. \"missing\" in namespace \"default\""),
        "{text}"
    );
    assert!(
        err.request_error().is_some_and(|e| e.is_not_found()),
        "{err:?}"
    );
}
