//! Watch events decode exactly whatever the chunk boundaries; errors and cut-off streams are reported.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{PODS, client, fixed_body_client, pod, seed_pods};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kubecto_rest_core::{Error, ListOptions, WatchEvent, WatchOptions};
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

async fn watch_body(
    body: &[u8],
    chunk: usize,
) -> Vec<kubecto_rest_core::Result<WatchEvent<serde_json::Value>>> {
    fixed_body_client(Bytes::copy_from_slice(body), chunk)
        .get()
        .resource("pods")
        .watch::<serde_json::Value>()
        .collect()
        .await
}

fn obj_name(ev: &WatchEvent<serde_json::Value>) -> String {
    match ev {
        WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) => {
            o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
        WatchEvent::Bookmark(b) => format!("bookmark {}", b.resource_version),
    }
}

#[tokio::test]
async fn pretty_printed_events_across_lines_decode_whatever_the_chunks() {
    let event = |ty: &str, name: &str| {
        serde_json::json!({"type": ty, "object": {"kind": "Pod", "metadata": {"name": name,
            "annotations": {"note": "a \"quoted\" }{ line\nand a newline escape"}},
            "spec": {"containers": [{"name": "c", "args": ["[", "]", "{}"]}]}}})
    };
    let mut body = Vec::new();
    // Compact (one line each, as kube-apiserver writes), pretty-printed over many lines,
    // two on one line, and one without a trailing newline.
    body.extend_from_slice(
        serde_json::to_string(&event("ADDED", "a"))
            .unwrap()
            .as_bytes(),
    );
    body.push(b'\n');
    body.extend_from_slice(
        serde_json::to_string_pretty(&event("MODIFIED", "b"))
            .unwrap()
            .as_bytes(),
    );
    body.push(b'\n');
    body.extend_from_slice(
        serde_json::to_string(&event("MODIFIED", "c"))
            .unwrap()
            .as_bytes(),
    );
    body.extend_from_slice(
        serde_json::to_string(&event("DELETED", "d"))
            .unwrap()
            .as_bytes(),
    );
    body.extend_from_slice(b"\n\n  \r\n");
    body.extend_from_slice(
        serde_json::to_string_pretty(&event("ADDED", "e"))
            .unwrap()
            .as_bytes(),
    );
    body.extend_from_slice(
        b"\n{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}",
    );
    let want = ["a", "b", "c", "d", "e", "bookmark 9"];
    let mut chunks: Vec<usize> = (1..40).collect();
    chunks.extend([97, 256, 1000, body.len()]);
    for chunk in chunks {
        let events = watch_body(&body, chunk).await;
        let names: Vec<String> = events
            .iter()
            .map(|e| match e {
                Ok(ev) => obj_name(ev),
                Err(err) => panic!("chunk {chunk}: {err:?}"),
            })
            .collect();
        assert_eq!(names, want, "chunk {chunk}");
    }
    // Cut inside the pretty-printed event: an error, not silence.
    let cut = body.iter().position(|b| *b == b'\n').unwrap() + 40;
    let events = watch_body(&body[..cut], 7).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(events[1], Err(Error::Decode { .. })), "{events:?}");
}

#[tokio::test]
async fn an_event_that_is_not_utf8_is_a_decode_error_with_its_offset() {
    let good = |name: &str| {
        format!("{{\"type\":\"ADDED\",\"object\":{{\"metadata\":{{\"name\":\"{name}\"}}}}}}\n")
    };
    let mut body = good("a").into_bytes();
    let bad_start = body.len();
    body.extend_from_slice(
        b"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\xff\xfey\"}}}\n",
    );
    let bad_byte = bad_start + body[bad_start..].iter().position(|b| *b == 0xff).unwrap();
    body.extend_from_slice(good("c").as_bytes());
    for chunk in [1, 3, 7, 64, body.len()] {
        let events = watch_body(&body, chunk).await;
        assert_eq!(events.len(), 3, "chunk {chunk}: {events:?}");
        assert_eq!(obj_name(events[0].as_ref().unwrap()), "a");
        match &events[1] {
            Err(Error::Decode { offset, source, .. }) => {
                assert_eq!(*offset, Some(bad_byte as u64), "chunk {chunk}");
                assert!(source.is::<std::str::Utf8Error>(), "{source:?}");
            }
            other => panic!("chunk {chunk}: {other:?}"),
        }
        // A malformed event is reported and the stream goes on.
        assert_eq!(obj_name(events[2].as_ref().unwrap()), "c");
    }
}
