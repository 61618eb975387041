//! Typed decoding of whole bodies, list items and watch events: small values go through
//! simd-json, bodies over 64 KiB are walked a member and an item at a time, and either way
//! a value that does not fit its type is an `Error::Decode` naming the URL and the byte
//! offset (for a large body, of the item that does not fit). A body in many
//! chunks is read into one buffer, whether or not its length is announced.

mod common;

use bytes::Bytes;
use common::{PODS, client, fixed_body_client, list_pods, seed_pods};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kubecto_rest_core::{Error, RestClient, WatchEvent};
use kubecto_testserver::TestServer;

/// Where the simd-json path stops (`decode.rs` `SIMD_MAX`).
const SIMD_MAX: usize = 64 * 1024;

/// A type no pod fits: `spec` is an object of containers, not numbers.
#[derive(serde::Deserialize, Debug)]
#[allow(dead_code)]
struct Strict {
    spec: std::collections::HashMap<String, u32>,
}

#[derive(serde::Deserialize, Debug)]
#[allow(dead_code)]
struct StrictList {
    items: Vec<Strict>,
}

async fn list_bytes(c: &RestClient) -> Bytes {
    c.get()
        .namespace("default")
        .resource("pods")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
}

/// Checks a decode error: it names `path`, and its offset points into the body at the
/// place serde_json reports (at or after `at_least`, inside the body).
fn assert_decode_error(err: &Error, path: &str, at_least: u64, body_len: usize) {
    match err {
        Error::Decode {
            url,
            offset: Some(o),
            body_excerpt,
            ..
        } => {
            assert!(url.ends_with(path), "{url}");
            assert!(*o >= at_least && *o <= body_len as u64, "offset {o}");
            assert!(!body_excerpt.is_empty());
        }
        other => panic!("expected a decode error with an offset, got {other:?}"),
    }
}

#[tokio::test]
async fn a_small_body_and_a_large_one_decode_the_same_as_item_by_item() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 3);
    let pod: Pod = client(&server)
        .get()
        .namespace("default")
        .resource("pods")
        .name("pod-001")
        .send()
        .await
        .unwrap()
        .into()
        .await
        .unwrap();
    assert_eq!(pod.metadata.name.as_deref(), Some("pod-001"));

    for (n, large) in [(3, false), (400, true)] {
        let server = TestServer::start().await.unwrap();
        seed_pods(&server, n);
        let c = client(&server);
        let body = list_bytes(&c).await;
        assert_eq!(body.len() > SIMD_MAX, large, "{} bytes", body.len());
        let whole: k8s_openapi::List<Pod> = list_pods(&c).await.into().await.unwrap();
        let streamed = list_pods(&c).await.into_list::<Pod>().await.unwrap();
        assert_eq!(whole.items.len(), n);
        assert_eq!(whole.items, streamed.items);
        // And the same as serde_json makes of the same bytes.
        let reference: k8s_openapi::List<Pod> = serde_json::from_slice(&body).unwrap();
        assert_eq!(whole.items, reference.items);
    }
}

#[tokio::test]
async fn a_body_that_is_not_the_type_names_url_and_offset_small_or_large() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 1);
    let c = client(&server);
    let pod_path = format!("{PODS}/pod-000");
    let body = c
        .get()
        .namespace("default")
        .resource("pods")
        .name("pod-000")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let spec_at = body.windows(7).position(|w| w == b"\"spec\":").unwrap() as u64;
    let err = c
        .get()
        .namespace("default")
        .resource("pods")
        .name("pod-000")
        .send()
        .await
        .unwrap()
        .into::<Strict>()
        .await
        .unwrap_err();
    assert_decode_error(&err, &pod_path, spec_at, body.len());

    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 400);
    let c = client(&server);
    let body = list_bytes(&c).await;
    assert!(body.len() > SIMD_MAX);
    // A large LIST is decoded an item at a time and freed as it goes: the error points at
    // the item that does not fit (the first one here), not inside it.
    let first_item_at = body.windows(9).position(|w| w == b"\"items\":[").unwrap() as u64 + 9;
    let err = list_pods(&c).await.into::<StrictList>().await.unwrap_err();
    assert_decode_error(&err, PODS, first_item_at, body.len());
    match &err {
        Error::Decode {
            offset,
            body_excerpt,
            ..
        } => {
            assert_eq!(*offset, Some(first_item_at));
            assert!(
                body_excerpt.contains("\"name\":\"pod-000\""),
                "{body_excerpt}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_wrongly_typed_watch_event_is_reported_at_its_offset_and_the_stream_goes_on() {
    let event = |name: &str| {
        format!(
            "{{\"type\":\"ADDED\",\"object\":{{\"kind\":\"Pod\",\"metadata\":{{\"name\":\"{name}\",\"annotations\":{{\"a\":\"x\\\"y\"}}}}}}}}\n"
        )
    };
    let mut body = event("a").into_bytes();
    let bad_start = body.len();
    body.extend_from_slice(
        b"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":5}}}\n",
    );
    let bad_end = body.len();
    body.extend_from_slice(event("c").as_bytes());
    for chunk in [1, 7, 64, body.len()] {
        let events: Vec<_> = fixed_body_client(Bytes::from(body.clone()), chunk)
            .get()
            .resource("pods")
            .watch::<Pod>()
            .collect()
            .await;
        assert_eq!(events.len(), 3, "chunk {chunk}: {events:?}");
        let names: Vec<_> = [&events[0], &events[2]]
            .iter()
            .map(|e| match e {
                Ok(WatchEvent::Added(p)) => p.metadata.name.clone().unwrap(),
                other => panic!("chunk {chunk}: {other:?}"),
            })
            .collect();
        assert_eq!(names, ["a", "c"]);
        match &events[1] {
            Err(
                err @ Error::Decode {
                    offset: Some(o), ..
                },
            ) => {
                assert!(
                    (*o as usize) > bad_start && (*o as usize) < bad_end,
                    "chunk {chunk}: {err:?}"
                );
                assert!(err.to_string().contains("unused.invalid"), "{err}");
            }
            other => panic!("chunk {chunk}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_body_in_many_chunks_is_read_whole_with_or_without_a_length() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 30);
    let c = client(&server);
    let whole = list_bytes(&c).await;
    let reference: k8s_openapi::List<Pod> = serde_json::from_slice(&whole).unwrap();
    // The test server sends it in 61-byte chunks.
    server.inject(
        kubecto_testserver::Fault::rechunk(61)
            .method("GET")
            .path(PODS),
    );
    assert_eq!(list_bytes(&c).await, whole);
    let list: k8s_openapi::List<Pod> = list_pods(&c).await.into().await.unwrap();
    assert_eq!(list.items, reference.items);
    // No length announced, in 1-byte and 1000-byte chunks, and in one chunk.
    for chunk in [1, 1000, whole.len()] {
        let c = fixed_body_client(whole.clone(), chunk);
        let got = c.get().resource("pods").send().await.unwrap().bytes().await;
        assert_eq!(got.unwrap(), whole, "chunk {chunk}");
        let list: k8s_openapi::List<Pod> = c
            .get()
            .resource("pods")
            .send()
            .await
            .unwrap()
            .into()
            .await
            .unwrap();
        assert_eq!(list.items, reference.items, "chunk {chunk}");
    }
}

#[tokio::test]
async fn items_and_events_over_the_simd_limit_decode_through_serde_json() {
    let pod = |name: &str, note_len: usize| {
        serde_json::json!({"kind": "Pod", "metadata": {"name": name,
            "annotations": {"note": "x\"y".repeat(note_len / 3)}}})
    };
    let items = [
        pod("small", 10),
        pod("big", SIMD_MAX + 10),
        pod("after", 10),
    ];
    let list = serde_json::json!({"kind": "PodList", "metadata": {"resourceVersion": "5"},
        "items": items});
    let body = Bytes::from(serde_json::to_vec(&list).unwrap());
    for chunk in [1000, body.len()] {
        let got = fixed_body_client(body.clone(), chunk)
            .get()
            .resource("pods")
            .send()
            .await
            .unwrap()
            .into_list::<Pod>()
            .await
            .unwrap();
        let want: Vec<Pod> = items
            .iter()
            .map(|p| serde_json::from_value(p.clone()).unwrap())
            .collect();
        assert_eq!(got.items, want, "chunk {chunk}");
    }
    let mut events = Vec::new();
    for p in &items {
        events.extend(
            serde_json::to_vec(&serde_json::json!({"type": "MODIFIED", "object": p})).unwrap(),
        );
        events.push(b'\n');
    }
    for chunk in [1000, events.len()] {
        let got: Vec<_> = fixed_body_client(Bytes::from(events.clone()), chunk)
            .get()
            .resource("pods")
            .watch::<Pod>()
            .collect()
            .await;
        let names: Vec<_> = got
            .iter()
            .map(|e| match e {
                Ok(WatchEvent::Modified(p)) => p.metadata.name.clone().unwrap(),
                other => panic!("chunk {chunk}: {other:?}"),
            })
            .collect();
        assert_eq!(names, ["small", "big", "after"], "chunk {chunk}");
    }
}

/// A real kube-apiserver pod (managedFields, probes with named and numbered ports,
/// quantities, tolerations, status) decodes to exactly what serde_json makes of it, as a
/// whole body, as list items and as watch events.
#[tokio::test]
async fn a_realistic_pod_decodes_exactly_as_serde_json_decodes_it() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testserver/data/bench/coredns-pod.json");
    let pretty = std::fs::read(&fixture).unwrap();
    let want: Pod = serde_json::from_slice(&pretty).unwrap();
    assert!(want.metadata.managed_fields.is_some());
    let value: serde_json::Value = serde_json::from_slice(&pretty).unwrap();
    let compact = serde_json::to_vec(&value).unwrap();

    for body in [&pretty, &compact] {
        let got: Pod = fixed_body_client(Bytes::from(body.clone()), 1000)
            .get()
            .resource("pods")
            .send()
            .await
            .unwrap()
            .into()
            .await
            .unwrap();
        assert_eq!(got, want);
    }

    let list = serde_json::json!({"kind": "PodList", "metadata": {"resourceVersion": "5"},
        "items": [value, value, value]});
    let got = fixed_body_client(Bytes::from(serde_json::to_vec(&list).unwrap()), 4096)
        .get()
        .resource("pods")
        .send()
        .await
        .unwrap()
        .into_list::<Pod>()
        .await
        .unwrap();
    assert_eq!(got.items, [want.clone(), want.clone(), want.clone()]);

    let mut events = Vec::new();
    for ty in ["ADDED", "MODIFIED", "DELETED"] {
        let event = serde_json::json!({"type": ty, "object": value});
        events.extend(serde_json::to_vec(&event).unwrap());
        events.push(b'\n');
    }
    let got: Vec<_> = fixed_body_client(Bytes::from(events), 4096)
        .get()
        .resource("pods")
        .watch::<Pod>()
        .collect()
        .await;
    let got: Vec<WatchEvent<Pod>> = got.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        got,
        [
            WatchEvent::Added(want.clone()),
            WatchEvent::Modified(want.clone()),
            WatchEvent::Deleted(want)
        ]
    );
}
