//! exec and attach on pods against the test server, whose commands the tests script:
//! stdin, stdout and stderr byte for byte (large and binary), exit codes, terminal sizes,
//! a command cut mid-stream, and the server's refusals. The same through an HTTP CONNECT
//! proxy and a SOCKS5 proxy is in `crates/rest-core/tests/upgrade_proxies.rs`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{typed, within};
use k8s_openapi::api::core::v1::Pod;
use kubecto_clientset::{Api, AttachParams, Clientset, TerminalSize};
use kubecto_rest_core::{Config, Error};
use kubecto_testserver::{Process, TestServer};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A pod scheduled on a node (the server, like kube-apiserver, refuses exec into a pod
/// without one), with one container.
fn running_pod(name: &str) -> Pod {
    typed(json!({
        "metadata": {"name": name},
        "spec": {
            "nodeName": "node-1",
            "containers": [{"name": "app", "image": "busybox", "stdin": true}]
        },
        "status": {"phase": "Running"}
    }))
}

/// A server whose exec runs `script`, and the typed pods client for `default`.
async fn serve<F, Fut>(script: F) -> (TestServer, Api<Pod>)
where
    F: Fn(Process) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = i32> + Send + 'static,
{
    let server = TestServer::builder()
        .exec(script)
        .start()
        .await
        .expect("test server starts");
    let clientset =
        Clientset::new(Config::new(server.url()).without_rate_limit()).expect("clientset");
    let pods = clientset.core_v1().pods("default");
    let pod = serde_json::to_value(running_pod("web-0")).unwrap();
    server.seed(pod).expect("pod seeded");
    (server, pods)
}

/// Every byte value, in an order that is not a simple cycle.
fn payload(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

#[tokio::test]
async fn stdin_comes_back_on_stdout_byte_for_byte_and_stderr_stays_apart() {
    let (_server, pods) = serve(|mut p: Process| async move {
        // cat, with a line on stderr first and last.
        p.stderr.write_all(b"starting\n").await.unwrap();
        let copied = tokio::io::copy(&mut p.stdin, &mut p.stdout).await.unwrap();
        p.stderr
            .write_all(format!("copied {copied}\n").as_bytes())
            .await
            .unwrap();
        0
    })
    .await;
    let data = payload(5 << 20);
    let mut proc = pods
        .exec(
            "web-0",
            ["cat"],
            &AttachParams::default().container("app").stdin(true),
        )
        .await
        .unwrap();
    assert_eq!(proc.protocol(), "v5.channel.k8s.io");
    let mut stdin = proc.stdin().unwrap();
    let input = data.clone();
    let writer = tokio::spawn(async move {
        stdin.write_all(&input).await.unwrap();
        stdin.shutdown().await.unwrap();
    });
    let out = within("cat of 5 MiB", proc.output()).await.unwrap();
    writer.await.unwrap();
    assert_eq!(out.stdout.len(), data.len());
    assert!(out.stdout == data, "stdout differs from what was sent");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("starting\ncopied {}\n", data.len())
    );
    assert!(out.status.success());
}

#[tokio::test]
async fn the_exit_code_and_the_command_reach_the_caller() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let (_server, pods) = serve(move |p: Process| {
        log.lock()
            .unwrap()
            .push((p.container.clone(), p.command.clone()));
        async move {
            match p.command.last().and_then(|c| c.strip_prefix("exit ")) {
                Some(code) => code.parse().unwrap(),
                None => 0,
            }
        }
    })
    .await;
    for code in [0, 1, 3, 42, 255] {
        let command = ["sh", "-c", &format!("exit {code}")];
        let out = pods
            .exec("web-0", command, &AttachParams::default())
            .await
            .unwrap()
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code, code, "exit {code}");
        if code != 0 {
            assert_eq!(out.status.status.reason, "NonZeroExitCode");
        }
    }
    // No container named: the pod's only one.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0].0, "app");
    assert_eq!(seen[1].1, vec!["sh", "-c", "exit 1"]);
}

#[tokio::test]
async fn terminal_sizes_reach_the_command_in_order() {
    let (_server, pods) = serve(|mut p: Process| async move {
        assert!(p.tty);
        let mut sizes = Vec::new();
        while sizes.len() < 3 {
            match p.resizes.next().await {
                Some(s) => sizes.push(format!("{}x{}", s.width, s.height)),
                None => break,
            }
        }
        p.stdout
            .write_all(sizes.join(" ").as_bytes())
            .await
            .unwrap();
        0
    })
    .await;
    let mut proc = pods
        .exec("web-0", ["sh"], &AttachParams::interactive_tty())
        .await
        .unwrap();
    let sizes = proc.terminal_size().unwrap();
    for (w, h) in [(80, 24), (120, 40), (200, 60)] {
        sizes
            .send(TerminalSize {
                width: w,
                height: h,
            })
            .await
            .unwrap();
    }
    let out = within("resizes", proc.output()).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "80x24 120x40 200x60");
}

#[tokio::test]
async fn a_command_cut_off_mid_stream_is_an_error_not_an_exit_code() {
    let server = TestServer::builder()
        .exec(|mut p: Process| async move {
            p.stdout.write_all(b"partial").await.unwrap();
            // Never ends by itself: the test cuts the server's connections.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            0
        })
        .start()
        .await
        .unwrap();
    server
        .seed(serde_json::to_value(running_pod("web-0")).unwrap())
        .unwrap();
    let clientset = Clientset::new(Config::new(server.url()).without_rate_limit()).unwrap();
    let pods = clientset.core_v1().pods("default");
    let mut proc = pods
        .exec("web-0", ["sleep", "infinity"], &AttachParams::default())
        .await
        .unwrap();
    let mut stdout = proc.stdout().unwrap();
    let mut first = [0u8; 7];
    stdout.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"partial");
    server.restart(Duration::from_millis(50)).await.unwrap();
    let err = within("the cut", proc.status()).await.unwrap_err();
    assert!(matches!(err, Error::Stream { .. }), "{err:?}");
}

#[tokio::test]
async fn the_servers_refusals_are_api_errors() {
    let (server, pods) = serve(|_p: Process| async { 0 }).await;
    let err = pods
        .exec("missing", ["true"], &AttachParams::default())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let err = pods
        .exec(
            "web-0",
            ["true"],
            &AttachParams::default().container("nope"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Api(s) if s.code == 400 && s.message.contains("nope")),
        "{err:?}"
    );
    // Two containers and none named: the server asks which (kubectl picks one itself).
    let mut two = running_pod("two");
    let mut sidecar = two.spec.as_ref().unwrap().containers[0].clone();
    sidecar.name = "sidecar".to_owned();
    two.spec.as_mut().unwrap().containers.push(sidecar);
    server.seed(serde_json::to_value(two).unwrap()).unwrap();
    let err = pods
        .exec("two", ["true"], &AttachParams::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("a container name must be specified"),
        "{err}"
    );
    // A pod on no node yet.
    let mut pending = running_pod("pending");
    pending.spec.as_mut().unwrap().node_name = None;
    server.seed(serde_json::to_value(pending).unwrap()).unwrap();
    let err = pods
        .exec("pending", ["true"], &AttachParams::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("does not have a host assigned"),
        "{err}"
    );
    // Caught here, before anything is sent.
    let err = pods
        .exec("web-0", Vec::<String>::new(), &AttachParams::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
}

#[tokio::test]
async fn attach_reaches_the_containers_process() {
    let server = TestServer::builder()
        .attach(|mut p: Process| async move {
            let mut line = Vec::new();
            p.stdin.read_to_end(&mut line).await.unwrap();
            line.reverse();
            p.stdout.write_all(&line).await.unwrap();
            0
        })
        .start()
        .await
        .unwrap();
    server
        .seed(serde_json::to_value(running_pod("web-0")).unwrap())
        .unwrap();
    let clientset = Clientset::new(Config::new(server.url()).without_rate_limit()).unwrap();
    let pods = clientset.core_v1().pods("default");
    let mut proc = pods
        .attach("web-0", &AttachParams::default().stdin(true).stderr(false))
        .await
        .unwrap();
    let mut stdin = proc.stdin().unwrap();
    stdin.write_all(b"olleh").await.unwrap();
    drop(stdin);
    let out = within("attach", proc.output()).await.unwrap();
    assert_eq!(out.stdout, b"hello");
}
