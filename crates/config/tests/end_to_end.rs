//! A kubeconfig all the way to the wire: load it, build a `RestClient` from the
//! rest-core `Config` this crate makes, send requests, and look at what the server
//! received (the test server for behaviour, a tiny recording server for headers).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TempDir, simple};
use kubecto_config::{Kubeconfig, Overrides};
use kubecto_rest_core::{GroupVersion, RestClient};
use kubecto_testserver::TestServer;

#[tokio::test]
async fn the_test_servers_kubeconfig_reaches_the_test_server() {
    let server = TestServer::start().await.unwrap();
    let dir = TempDir::new("e2e");
    let path = dir.path().join("kubeconfig");
    server.write_kubeconfig(&path).unwrap();

    let selected = kubecto_config::load(Some(&path), &Overrides::default()).unwrap();
    assert_eq!(selected.namespace(), "default");
    let config = selected.rest_config().unwrap();
    assert_eq!(config.host, server.url());
    let client = RestClient::for_config(&config).unwrap();
    let list: serde_json::Value = client
        .get()
        .resource("namespaces")
        .send()
        .await
        .unwrap()
        .into()
        .await
        .unwrap();
    assert_eq!(list["kind"], "NamespaceList");
    assert_eq!(server.request_count("GET", "/api/v1/namespaces"), 1);
    server.shutdown().await;
}

/// A server that answers every request with an empty list and records each
/// request's head (lower-cased), for `n` connections.
fn recording_server(n: usize) -> (String, Arc<Mutex<Vec<String>>>, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    let handle = std::thread::spawn(move || {
        for _ in 0..n {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut reader = BufReader::new(stream);
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line.to_ascii_lowercase());
            }
            seen.lock().unwrap().push(head);
            let body = r#"{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[]}"#;
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, heads, handle)
}

async fn get_pods(client: &RestClient) {
    let _: serde_json::Value = client
        .get()
        .namespace("kube-system")
        .resource("pods")
        .send()
        .await
        .unwrap()
        .into()
        .await
        .unwrap();
}

fn client_for(yaml: &str, dir: &TempDir) -> RestClient {
    let path = dir.write("config", yaml);
    let config = Kubeconfig::read_from(&path)
        .unwrap()
        .select(&Overrides::default())
        .unwrap()
        .rest_config()
        .unwrap()
        .with_group_version(GroupVersion::core_v1())
        .without_rate_limit();
    RestClient::for_config(&config).unwrap()
}

#[tokio::test]
async fn token_basic_auth_and_impersonation_headers_are_sent() {
    let (url, heads, handle) = recording_server(2);
    let dir = TempDir::new("wire");
    let client = client_for(
        &simple(
            &url,
            "token: wire-token\nas: jane\nas-groups: [devs, ops]\nas-user-extra:\n  scopes: [view]",
        ),
        &dir,
    );
    get_pods(&client).await;
    let client = client_for(&simple(&url, "username: admin\npassword: hunter2"), &dir);
    get_pods(&client).await;
    handle.join().unwrap();

    let heads = heads.lock().unwrap();
    let first = &heads[0];
    assert!(
        first.starts_with("get /api/v1/namespaces/kube-system/pods "),
        "{first}"
    );
    assert!(
        first.contains("authorization: bearer wire-token\r\n"),
        "{first}"
    );
    assert!(first.contains("impersonate-user: jane\r\n"), "{first}");
    assert!(first.contains("impersonate-group: devs\r\n"), "{first}");
    assert!(first.contains("impersonate-group: ops\r\n"), "{first}");
    assert!(
        first.contains("impersonate-extra-scopes: view\r\n"),
        "{first}"
    );
    // base64("admin:hunter2"), lower-cased with the rest of the head.
    assert!(
        heads[1].contains("authorization: basic ywrtaw46ahvudgvymg==\r\n"),
        "{}",
        heads[1]
    );
}

#[tokio::test]
async fn a_rotated_token_file_is_sent_on_the_next_requests() {
    let (url, heads, handle) = recording_server(2);
    let dir = TempDir::new("rotate");
    let token = dir.write("token", "before-rotation\n");
    let client = client_for(&simple(&url, "tokenFile: token"), &dir);
    get_pods(&client).await;
    std::fs::write(&token, "after-rotation").unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    get_pods(&client).await;
    handle.join().unwrap();

    let heads = heads.lock().unwrap();
    assert!(
        heads[0].contains("authorization: bearer before-rotation\r\n"),
        "{}",
        heads[0]
    );
    assert!(
        heads[1].contains("authorization: bearer after-rotation\r\n"),
        "{}",
        heads[1]
    );
}
