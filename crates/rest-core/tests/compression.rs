//! Compressed answers: the client asks for gzip (unless told not to) and inflates what
//! comes back however it is read — whole, item by item, as a watch, as raw chunks — in
//! pieces of any size; a corrupt body is a decode error, and a gzip bomb stops at the
//! reader's limit instead of filling memory.

use std::io::Write;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body::Frame;
use http_body_util::StreamBody;
use kubecto_rest_core::{BoxError, Config, Error, RequestBody, RestClient, WatchEvent};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A client whose answers are `body`, gzip-compressed when the request asks for it, in
/// `chunk`-byte pieces; the `Accept-Encoding` of each request is recorded.
fn serving(
    config: Config,
    body: Bytes,
    chunk: usize,
) -> (RestClient, Arc<Mutex<Vec<Option<String>>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let compressed = Bytes::from(gzip(&body));
    let svc = tower::service_fn(move |req: http::Request<RequestBody>| {
        let asked = req
            .headers()
            .get(http::header::ACCEPT_ENCODING)
            .map(|v| v.to_str().unwrap().to_owned());
        log.lock().unwrap().push(asked.clone());
        let gzipped = asked.is_some_and(|a| a.contains("gzip"));
        let data = if gzipped {
            compressed.clone()
        } else {
            body.clone()
        };
        async move {
            let frames: Vec<Result<Frame<Bytes>, BoxError>> = data
                .chunks(chunk)
                .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
                .collect();
            let mut resp = http::Response::new(StreamBody::new(futures_util::stream::iter(frames)));
            if gzipped {
                resp.headers_mut()
                    .insert(http::header::CONTENT_ENCODING, "gzip".parse().unwrap());
            }
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let client = RestClient::builder(config).service(svc).build().unwrap();
    (client, seen)
}

fn config() -> Config {
    Config::new("http://unused.invalid").with_max_retries(0)
}

fn pod_list(n: usize) -> (serde_json::Value, Bytes) {
    let items: Vec<_> = (0..n)
        .map(|i| {
            serde_json::json!({"metadata": {"name": format!("pod-{i}"), "namespace": "default",
                "labels": {"app": "web", "pod-template-hash": "5d8f9c7b6"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}})
        })
        .collect();
    let list = serde_json::json!({"kind": "PodList", "apiVersion": "v1",
        "metadata": {"resourceVersion": "42"}, "items": items});
    let bytes = Bytes::from(serde_json::to_vec(&list).unwrap());
    (list, bytes)
}

#[tokio::test]
async fn a_gzip_answer_reads_the_same_however_it_is_read() {
    let (list, body) = pod_list(2_000);
    for chunk in [1usize, 7, 4096, 1 << 20] {
        // `chunk` = 1 only for the smaller reads, which it keeps quick.
        let (client, seen) = serving(config(), body.clone(), chunk);
        let get = || client.get().resource("pods").send();
        let whole: serde_json::Value = get().await.unwrap().into().await.unwrap();
        assert_eq!(whole, list, "into() in {chunk}-byte pieces");
        let resp = get().await.unwrap();
        assert!(resp.headers().get(http::header::CONTENT_ENCODING).is_none());
        let items = resp.into_list::<serde_json::Value>().await.unwrap();
        assert_eq!(items.items.len(), 2_000);
        assert_eq!(items.items[1999], list["items"][1999]);
        assert_eq!(items.metadata.resource_version.as_deref(), Some("42"));
        let raw = get().await.unwrap().bytes().await.unwrap();
        assert_eq!(raw, body);
        assert!(
            seen.lock()
                .unwrap()
                .iter()
                .all(|a| a.as_deref() == Some("gzip")),
            "{:?}",
            seen.lock().unwrap()
        );
    }
}

#[tokio::test]
async fn a_gzip_watch_hands_out_each_event_as_it_arrives() {
    let events: String = (0..300)
        .map(|i| {
            format!(
                "{{\"type\":\"MODIFIED\",\"object\":{{\"metadata\":{{\"name\":\"p\",\"resourceVersion\":\"{i}\"}}}}}}\n"
            )
        })
        .collect();
    let (client, _) = serving(config(), Bytes::from(events), 5);
    let got: Vec<_> = client
        .get()
        .resource("pods")
        .watch::<serde_json::Value>()
        .collect()
        .await;
    assert_eq!(got.len(), 300);
    for (i, e) in got.into_iter().enumerate() {
        match e.unwrap() {
            WatchEvent::Modified(o) => assert_eq!(o["metadata"]["resourceVersion"], i.to_string()),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn disable_compression_sends_no_accept_encoding() {
    let (_, body) = pod_list(3);
    let (client, seen) = serving(config().without_compression(), body.clone(), 64);
    let raw = client.get().send().await.unwrap().bytes().await.unwrap();
    assert_eq!(raw, body);
    assert_eq!(*seen.lock().unwrap(), vec![None]);
}

#[tokio::test]
async fn a_corrupt_gzip_body_is_a_decode_error() {
    let mut bad = gzip(&pod_list(50).1);
    let middle = bad.len() / 2;
    bad[middle] ^= 0xff;
    bad.truncate(bad.len() - 4);
    let svc = tower::service_fn(move |_req: http::Request<RequestBody>| {
        let bad = Bytes::from(bad.clone());
        async move {
            let mut resp = http::Response::new(http_body_util::Full::new(bad));
            resp.headers_mut()
                .insert(http::header::CONTENT_ENCODING, "gzip".parse().unwrap());
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let client = RestClient::builder(config()).service(svc).build().unwrap();
    let err = client
        .get()
        .send()
        .await
        .unwrap()
        .into::<serde_json::Value>()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("gzip"), "{err}");
}

#[tokio::test]
async fn a_gzip_bomb_stops_at_the_readers_limit() {
    // 16 MiB of one JSON string compress to about 16 KiB.
    let mut bomb = b"{\"items\":[\"".to_vec();
    bomb.resize(16 << 20, b'a');
    bomb.extend_from_slice(b"\"]}");
    let bomb = Bytes::from(bomb);
    let (client, _) = serving(
        config()
            .with_max_body_size(1 << 20)
            .with_max_event_size(1 << 20),
        bomb,
        16 * 1024,
    );
    let err = client
        .get()
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("limit of 1048576 bytes"), "{err}");
    let mut items = client.get().send().await.unwrap().list_stream::<String>();
    let err = items.next().await.unwrap().unwrap_err();
    assert!(err.to_string().contains("larger than the limit"), "{err}");
}
