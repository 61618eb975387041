//! Protobuf on the wire: the envelope, LIST items one at a time, watch frames and Status
//! errors, on bodies a real kube-apiserver v1.36.2 sent (`tests/data/protobuf/`), served
//! in pieces of every size; and hostile bytes, which must give errors naming the offset.

use bytes::Bytes;
use futures_util::StreamExt;
use http_body::Frame;
use http_body_util::StreamBody;
use kubecto_rest_core::protobuf::{PROTOBUF, is_protobuf};
use kubecto_rest_core::{BoxError, Config, Error, RequestBody, RestClient, WatchEvent};

fn sample(name: &str) -> Bytes {
    let path = format!("{}/tests/data/protobuf/{name}", env!("CARGO_MANIFEST_DIR"));
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&sample(name)).unwrap()
}

/// A client whose every answer is `body` with `status` and `content_type`, served in
/// `chunk`-byte pieces.
fn serving(status: u16, content_type: &'static str, body: Bytes, chunk: usize) -> RestClient {
    let svc = tower::service_fn(move |_req: http::Request<RequestBody>| {
        let body = body.clone();
        async move {
            let frames: Vec<Result<Frame<Bytes>, BoxError>> = body
                .chunks(chunk.max(1))
                .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
                .collect();
            let mut resp = http::Response::new(StreamBody::new(futures_util::stream::iter(frames)));
            *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
            resp.headers_mut()
                .insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    RestClient::builder(Config::new("http://unused.invalid").with_max_retries(0))
        .service(svc)
        .build()
        .unwrap()
}

/// A test-sized codec: the `metadata.name` (field 1 of ObjectMeta, field 1 of the object)
/// of an object's message. Enough to check which object came out, without a real codec.
fn name_of(raw: &[u8]) -> Result<String, BoxError> {
    fn varint(b: &[u8], i: &mut usize) -> Result<u64, BoxError> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let byte = *b.get(*i).ok_or("short varint")?;
            *i += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("long varint".into())
    }
    fn field(b: &[u8], want: u64) -> Result<Option<&[u8]>, BoxError> {
        let mut i = 0;
        while i < b.len() {
            let key = varint(b, &mut i)?;
            match key & 7 {
                0 => {
                    varint(b, &mut i)?;
                }
                2 => {
                    let len = varint(b, &mut i)? as usize;
                    let v = b.get(i..i + len).ok_or("short field")?;
                    i += len;
                    if key >> 3 == want {
                        return Ok(Some(v));
                    }
                }
                1 => i += 8,
                5 => i += 4,
                t => return Err(format!("wire type {t}").into()),
            }
        }
        Ok(None)
    }
    let meta = field(raw, 1)?.ok_or("no metadata")?;
    Ok(String::from_utf8(
        field(meta, 1)?.unwrap_or_default().to_vec(),
    )?)
}

const CHUNKS: [usize; 5] = [1, 3, 7, 64, 4096];

#[tokio::test]
async fn an_object_arrives_in_its_envelope() {
    for chunk in CHUNKS {
        let client = serving(200, PROTOBUF, sample("get-pod.bin"), chunk);
        let resp = client
            .get()
            .resource("pods")
            .name("web")
            .send()
            .await
            .unwrap();
        assert!(resp.is_protobuf());
        let unknown = resp.into_protobuf().await.unwrap();
        assert_eq!(
            (unknown.api_version.as_str(), unknown.kind.as_str()),
            ("v1", "Pod")
        );
        assert_eq!(
            name_of(&unknown.raw).unwrap(),
            json("get-pod.json")["metadata"]["name"]
        );
        let name = serving(200, PROTOBUF, sample("get-pod.bin"), chunk)
            .get()
            .send()
            .await
            .unwrap()
            .decode_protobuf(name_of)
            .await
            .unwrap();
        assert_eq!(name, "web");
    }
    assert!(is_protobuf(
        "application/vnd.kubernetes.protobuf;stream=watch"
    ));
    assert!(!is_protobuf("application/json"));
}

#[tokio::test]
async fn a_protobuf_status_is_the_same_api_error_as_a_json_one() {
    for sample_name in ["error-404-accept-pb.bin", "error-404-accept-pbjson.bin"] {
        let client = serving(404, PROTOBUF, sample(sample_name), 16);
        let err = client
            .get()
            .resource("pods")
            .name("missing")
            .send()
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{err:?}");
        let status = err.status().unwrap();
        assert_eq!(status.message, "pods \"missing\" not found");
        assert_eq!(status.details.as_ref().unwrap().kind, "pods");
    }
    let client = serving(
        409,
        PROTOBUF,
        sample("create-configmap-with-protobuf-body-409.bin"),
        16,
    );
    let err = client
        .post()
        .resource("configmaps")
        .body(Bytes::new())
        .send()
        .await
        .unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");
    // A custom resource asked for protobuf only: 406, the Status itself in protobuf.
    let client = serving(
        406,
        PROTOBUF,
        sample("custom-resource-accept-pb-only.bin"),
        16,
    );
    let err = client.get().send().await.unwrap_err();
    assert_eq!(err.code(), Some(406), "{err:?}");
    assert_eq!(err.status().unwrap().reason, "NotAcceptable", "{err:?}");
}

#[tokio::test]
async fn list_items_arrive_one_at_a_time_as_the_json_twin_lists_them() {
    for (bin, twin) in [
        ("list-pods.bin", "list-pods.json"),
        ("list-pods-limit2.bin", "list-pods-limit2.json"),
        ("get-node-list-empty.bin", "get-node-list-empty.json"),
    ] {
        let expected = json(twin);
        let names: Vec<&str> = expected["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap())
            .collect();
        for chunk in CHUNKS {
            let client = serving(200, PROTOBUF, sample(bin), chunk);
            let resp = client.get().resource("pods").send().await.unwrap();
            let list = resp
                .protobuf_list_stream(name_of)
                .into_list()
                .await
                .unwrap();
            assert_eq!(list.items, names, "{bin} in {chunk}-byte pieces");
            assert_eq!(list.kind.as_deref(), expected["kind"].as_str(), "{bin}");
            assert_eq!(list.api_version.as_deref(), Some("v1"), "{bin}");
            let meta = &expected["metadata"];
            assert_eq!(
                list.metadata.resource_version.as_deref(),
                meta["resourceVersion"].as_str()
            );
            assert_eq!(
                list.metadata.continue_token.as_deref(),
                meta["continue"].as_str()
            );
            assert_eq!(
                list.metadata.remaining_item_count,
                meta["remainingItemCount"].as_i64()
            );
        }
    }
}

#[tokio::test]
async fn a_watch_stream_decodes_its_frames() {
    for chunk in CHUNKS {
        let client = serving(
            200,
            "application/vnd.kubernetes.protobuf;stream=watch",
            sample("watch-pods-stream.bin"),
            chunk,
        );
        let resp = client
            .get()
            .resource("pods")
            .param("watch", "1")
            .send()
            .await
            .unwrap();
        let events: Vec<_> = resp.protobuf_watch_events(name_of).collect().await;
        let mut kinds = Vec::new();
        for e in events {
            kinds.push(match e.unwrap() {
                WatchEvent::Added(n) => format!("ADDED {n}"),
                WatchEvent::Modified(n) => format!("MODIFIED {n}"),
                WatchEvent::Deleted(n) => format!("DELETED {n}"),
                WatchEvent::Bookmark(b) => {
                    assert!(!b.resource_version.is_empty());
                    "BOOKMARK".to_owned()
                }
            });
        }
        assert_eq!(
            kinds[..4],
            [
                "ADDED watched",
                "MODIFIED watched",
                "MODIFIED watched",
                "DELETED watched"
            ],
            "{chunk}: {kinds:?}"
        );
        assert!(
            kinds[4..].iter().all(|k| k == "BOOKMARK") && kinds.len() > 4,
            "{kinds:?}"
        );
    }
    let client = serving(
        200,
        "application/vnd.kubernetes.protobuf;stream=watch",
        sample("watch-too-old-resource-version.bin"),
        5,
    );
    let resp = client.get().send().await.unwrap();
    let events: Vec<_> = resp.protobuf_watch_events(name_of).collect().await;
    assert_eq!(events.len(), 1);
    let err = events.into_iter().next().unwrap().unwrap_err();
    assert!(err.is_gone(), "{err:?}");
    assert_eq!(err.status().unwrap().reason, "Expired");
}

/// The error of reading `body` as a LIST in protobuf.
async fn list_error(body: Bytes) -> Error {
    let client = serving(200, PROTOBUF, body, 13);
    let resp = client.get().send().await.unwrap();
    resp.protobuf_list_stream(name_of)
        .into_list()
        .await
        .unwrap_err()
}

fn offset(err: &Error) -> u64 {
    match err {
        Error::Decode {
            offset: Some(o), ..
        } => *o,
        other => panic!("expected a decode error with an offset, got {other:?}"),
    }
}

#[tokio::test]
async fn hostile_bytes_are_errors_at_their_offset() {
    let list = sample("list-pods.bin");
    // Cut anywhere: an error, never a panic or a hang.
    for cut in (0..list.len()).step_by(97) {
        let err = list_error(list.slice(..cut)).await;
        assert!(matches!(err, Error::Decode { .. }), "cut at {cut}: {err:?}");
    }
    // A wrong magic.
    let err = list_error(Bytes::from_static(b"{\"kind\":\"PodList\"}")).await;
    assert_eq!(offset(&err), 0);
    assert!(err.to_string().contains("magic"), "{err}");
    // An item whose length is 4 GiB.
    let mut body = b"k8s\0\x12\x08\x12\x80\x80\x80\x80\x10".to_vec();
    body.extend_from_slice(&[0; 4]);
    let err = list_error(Bytes::from(body)).await;
    assert_eq!(offset(&err), 6, "{err}");
    assert!(err.to_string().contains("4294967302 bytes"), "{err}");
    // An item larger than the limit (16 MiB by default), announced before it arrives.
    let mut body = b"k8s\0\x12\x88\x80\x80\x10\x12\x80\x80\x80\x10".to_vec();
    body.extend_from_slice(&[0; 4]);
    let err = list_error(Bytes::from(body)).await;
    assert!(err.to_string().contains("larger than the limit"), "{err}");
    // A field longer than the list message it is in.
    let err = list_error(Bytes::from_static(b"k8s\0\x12\x03\x12\x05abcde")).await;
    assert_eq!(offset(&err), 6, "{err}");
    // A varint over 10 bytes.
    let mut body = b"k8s\0\x12".to_vec();
    body.extend_from_slice(&[0xff; 11]);
    let err = list_error(Bytes::from(body)).await;
    assert_eq!(offset(&err), 5, "{err}");
    assert!(err.to_string().contains("longer than 10 bytes"), "{err}");

    // A watch frame announcing 4 GiB - 1 bytes.
    let client = serving(200, PROTOBUF, Bytes::from_static(b"\xff\xff\xff\xffk8s"), 2);
    let resp = client.get().send().await.unwrap();
    let events: Vec<_> = resp.protobuf_watch_events(name_of).collect().await;
    assert_eq!(events.len(), 1);
    let err = events.into_iter().next().unwrap().unwrap_err();
    assert!(err.to_string().contains("larger than the limit"), "{err}");
    // A frame cut short.
    let stream = sample("watch-pods-stream.bin");
    let client = serving(200, PROTOBUF, stream.slice(..stream.len() - 3), 64);
    let resp = client.get().send().await.unwrap();
    let events: Vec<_> = resp.protobuf_watch_events(name_of).collect().await;
    assert!(events.last().unwrap().is_err(), "the cut frame is reported");
}

/// What the negotiated readers decode to, from JSON or (through [`name_of`]) protobuf.
#[derive(Debug, PartialEq, serde::Deserialize)]
struct Named {
    metadata: NamedMeta,
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct NamedMeta {
    name: String,
}

fn named(raw: &[u8]) -> Result<Named, BoxError> {
    Ok(Named {
        metadata: NamedMeta {
            name: name_of(raw)?,
        },
    })
}

#[tokio::test]
async fn negotiated_readers_decode_whichever_format_the_server_chose() {
    let decoder: kubecto_rest_core::protobuf::ProtobufDecoder<Named> = std::sync::Arc::new(named);
    for (bin, twin) in [
        ("get-pod.bin", "get-pod.json"),
        ("get-service.bin", "get-service.json"),
    ] {
        let want = json(twin)["metadata"]["name"].as_str().unwrap().to_owned();
        for (content_type, body) in [(PROTOBUF, sample(bin)), ("application/json", sample(twin))] {
            let client = serving(200, content_type, body, 7);
            let resp = client
                .get()
                .resource("pods")
                .name("x")
                .send()
                .await
                .unwrap();
            let got: Named = resp.into_negotiated(Some(&decoder)).await.unwrap();
            assert_eq!(got.metadata.name, want, "{bin} as {content_type}");
        }
    }
    // Without a decoder a protobuf answer is not JSON: a decode error, not a wrong value.
    let client = serving(200, PROTOBUF, sample("get-pod.bin"), 64);
    let resp = client
        .get()
        .resource("pods")
        .name("x")
        .send()
        .await
        .unwrap();
    assert!(matches!(
        resp.into_negotiated::<Named>(None).await,
        Err(Error::Decode { .. })
    ));

    // Lists through the pager, in either format.
    let names = |twin: &str| -> Vec<String> {
        json(twin)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    for (content_type, body) in [
        (PROTOBUF, sample("list-pods.bin")),
        ("application/json", sample("list-pods.json")),
    ] {
        let client = serving(200, content_type, body, 3);
        let pager =
            kubecto_rest_core::Pager::new(move |opts| client.get().resource("pods").params(&opts));
        let list = pager
            .list_negotiated(kubecto_rest_core::ListOptions::new(), Some(decoder.clone()))
            .await
            .unwrap();
        let got: Vec<String> = list.items.into_iter().map(|n| n.metadata.name).collect();
        assert_eq!(got, names("list-pods.json"), "a list as {content_type}");
    }

    // A protobuf watch.
    let client = serving(
        200,
        "application/vnd.kubernetes.protobuf;stream=watch",
        sample("watch-pods-stream.bin"),
        5,
    );
    let events: Vec<_> = client
        .get()
        .resource("pods")
        .watch_negotiated(Some(decoder.clone()))
        .collect()
        .await;
    assert!(!events.is_empty());
    assert!(
        events.iter().all(|e| matches!(
            e,
            Ok(WatchEvent::Added(_)
                | WatchEvent::Modified(_)
                | WatchEvent::Deleted(_)
                | WatchEvent::Bookmark(_))
        )),
        "{events:?}"
    );
}

#[test]
fn refusals_are_remembered_per_resource_and_the_config_can_turn_protobuf_off() {
    let client = RestClient::new(Config::new("http://unused.invalid")).unwrap();
    let pods = "/api/v1/pods";
    assert!(client.protobuf_allowed(pods));
    client.remember_refuses_protobuf("/apis/example.com/v1/widgets");
    let clone = client.clone();
    assert!(!clone.protobuf_allowed("/apis/example.com/v1/widgets"));
    assert!(clone.protobuf_allowed(pods));
    let json_only =
        RestClient::new(Config::new("http://unused.invalid").without_protobuf()).unwrap();
    assert!(!json_only.protobuf_allowed(pods));
}
