//! Watch events decode exactly whatever the chunk boundaries; errors and cut-off streams are reported.

mod common;

use std::time::Duration;

use common::{PODS, client, pod, seed_pods};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kubecto_rest_core::{ListOptions, WatchEvent, WatchOptions};
use kubecto_testserver::{Fault, TestServer};

async fn list_rv(server: &TestServer) -> String {
    let list: serde_json::Value = client(server)
        .get()
        .namespace("default")
        .resource("pods")
        .params(&ListOptions::new())
        .send()
        .await
        .unwrap()
        .into()
        .await
        .unwrap();
    list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn name(p: &Pod) -> String {
    p.metadata.name.clone().unwrap_or_default()
}

#[tokio::test]
async fn events_split_into_7_byte_chunks_decode_exactly() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 2);
    let rv = list_rv(&server).await;
    server.inject(Fault::rechunk(7).method("GET").path(PODS));
    let mut events = Box::pin(
        client(&server)
            .get()
            .namespace("default")
            .resource("pods")
            .params(&WatchOptions::new().resource_version(rv))
            .watch::<Pod>(),
    );
    // Writes after the watch started: one create, one update, one delete.
    let c = client(&server);
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        c.post()
            .namespace("default")
            .resource("pods")
            .json(&pod("new"))
            .send()
            .await
            .unwrap();
        c.patch(kubecto_rest_core::PatchType::Merge)
            .namespace("default")
            .resource("pods")
            .name("pod-000")
            .json(&serde_json::json!({"metadata": {"labels": {"changed": "yes"}}}))
            .send()
            .await
            .unwrap();
        c.delete()
            .namespace("default")
            .resource("pods")
            .name("pod-001")
            .send()
            .await
            .unwrap();
    });
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let ev = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("an event within 10s")
            .expect("the stream goes on")
            .expect("a decodable event");
        match ev {
            WatchEvent::Added(p) => seen.push(format!("ADDED {}", name(&p))),
            WatchEvent::Modified(p) => {
                let labels = p.metadata.labels.clone().unwrap_or_default();
                assert_eq!(labels.get("changed").map(String::as_str), Some("yes"));
                seen.push(format!("MODIFIED {}", name(&p)));
            }
            WatchEvent::Deleted(p) => seen.push(format!("DELETED {}", name(&p))),
            WatchEvent::Bookmark(_) => {}
        }
    }
    writer.await.unwrap();
    assert_eq!(seen, ["ADDED new", "MODIFIED pod-000", "DELETED pod-001"]);
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.query.contains("watch=true"))
    );
}

#[tokio::test]
async fn initial_state_and_bookmarks() {
    let server = TestServer::builder()
        .bookmark_interval(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    seed_pods(&server, 3);
    server.inject(Fault::rechunk(1).method("GET").path(PODS));
    let mut events = Box::pin(
        client(&server)
            .get()
            .namespace("default")
            .resource("pods")
            .params(&WatchOptions::new().allow_watch_bookmarks(true))
            .watch::<serde_json::Value>(),
    );
    let mut added = 0;
    let mut bookmark = None;
    while bookmark.is_none() {
        match tokio::time::timeout(Duration::from_secs(10), events.next()).await {
            Ok(Some(Ok(WatchEvent::Added(_)))) => added += 1,
            Ok(Some(Ok(WatchEvent::Bookmark(b)))) => bookmark = Some(b),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(added, 3);
    assert!(!bookmark.unwrap().resource_version.is_empty());
}

#[tokio::test]
async fn a_too_old_resource_version_is_expired() {
    let server = TestServer::builder()
        .watch_history(3)
        .start()
        .await
        .unwrap();
    seed_pods(&server, 10);
    let mut events = Box::pin(
        client(&server)
            .get()
            .namespace("default")
            .resource("pods")
            .params(&WatchOptions::new().resource_version("1"))
            .watch::<serde_json::Value>(),
    );
    let first = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .unwrap()
        .expect("an item");
    let err = first.expect_err("410");
    assert!(err.is_gone(), "{err:?}");
    assert!(err.is_expired(), "{err:?}");
}

#[tokio::test]
async fn a_stream_cut_mid_event_is_an_error_not_silence() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 3);
    // Initial events (no resourceVersion) are ADDED for each pod; cut inside the second.
    server.inject(Fault::truncate_body(400).method("GET").path(PODS));
    let events: Vec<_> = client(&server)
        .get()
        .namespace("default")
        .resource("pods")
        .params(&WatchOptions::new().timeout_seconds(1))
        .watch::<serde_json::Value>()
        .collect()
        .await;
    let last = events.last().expect("at least one item");
    assert!(last.is_err(), "{events:?}");
}

#[tokio::test]
async fn an_event_over_the_size_cap_ends_the_stream_with_an_error() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 2);
    let mut cfg = common::config(&server);
    cfg.max_event_size = 64;
    let client = kubecto_rest_core::RestClient::new(cfg).unwrap();
    let events: Vec<_> = client
        .get()
        .namespace("default")
        .resource("pods")
        .params(&WatchOptions::new().timeout_seconds(1))
        .watch::<serde_json::Value>()
        .collect()
        .await;
    assert_eq!(events.len(), 1, "{events:?}");
    let err = events.into_iter().next().unwrap().unwrap_err();
    assert!(err.to_string().contains("larger than the limit"), "{err}");
}
