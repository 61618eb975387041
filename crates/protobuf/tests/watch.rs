//! The recorded protobuf watch streams of a real kube-apiserver v1.36.2 decode to the events
//! their JSON twins decode to. The frames (a 4-byte big-endian length, then a bare
//! `metav1.WatchEvent`) are rest-core's business; this test splits them inline.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::WatchEvent;
use kubecto_protobuf::{DecodeOptions, watch};

fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The payloads of a watch stream's frames.
fn frames(mut body: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let (len, rest) = body.split_at(4);
        let len = u32::from_be_bytes(len.try_into().unwrap()) as usize;
        let (frame, rest) = rest.split_at(len);
        out.push(frame);
        body = rest;
    }
    out
}

/// What a JSON decoder makes of the event as Go's JSON writes it.
fn via_json(event: &WatchEvent<Pod>) -> WatchEvent<Pod> {
    serde_json::from_value(serde_json::to_value(event).unwrap()).unwrap()
}

#[test]
fn a_pod_created_labelled_and_deleted_then_bookmarks() {
    let body = data("watch-pods-stream.bin");
    let events: Vec<WatchEvent<Pod>> = frames(&body)
        .into_iter()
        .map(|f| watch::decode_event(f, &DecodeOptions::default()).unwrap())
        .collect();

    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Bookmark { .. } => "BOOKMARK",
            WatchEvent::ErrorStatus(_) | WatchEvent::ErrorOther(_) => "ERROR",
        })
        .collect();
    assert_eq!(&kinds[..4], ["ADDED", "MODIFIED", "MODIFIED", "DELETED"]);
    assert!(kinds[4..].iter().all(|k| *k == "BOOKMARK"), "{kinds:?}");

    let pod = |e: &WatchEvent<Pod>| match e {
        WatchEvent::Added(p) | WatchEvent::Modified(p) | WatchEvent::Deleted(p) => p.clone(),
        _ => panic!("not an object event"),
    };
    let (added, labelled, deleted) = (pod(&events[0]), pod(&events[1]), pod(&events[3]));
    assert_eq!(added.metadata.name.as_deref(), Some("watched"));
    assert_eq!(added.metadata.namespace.as_deref(), Some("pb-ltqtx"));
    assert_eq!(added.metadata.uid, deleted.metadata.uid);
    assert_ne!(added.metadata.labels, labelled.metadata.labels);
    let rv = |p: &Pod| p.metadata.resource_version.clone().unwrap();
    assert!(rv(&added).parse::<u64>().unwrap() < rv(&deleted).parse::<u64>().unwrap());
    assert!(deleted.metadata.deletion_timestamp.is_some());
    assert!(added.metadata.managed_fields.is_some());

    for event in &events {
        assert_eq!(&via_json(event), event);
        if let WatchEvent::Bookmark {
            resource_version, ..
        } = event
        {
            assert!(
                resource_version.parse::<u64>().is_ok(),
                "{resource_version}"
            );
        }
    }

    // The same stream with managedFields dropped: the same events without them.
    for (frame, event) in frames(&body).into_iter().zip(&events) {
        let lean: WatchEvent<Pod> =
            watch::decode_event(frame, &DecodeOptions::default().drop_managed_fields(true))
                .unwrap();
        let mut expected = event.clone();
        if let WatchEvent::Added(p) | WatchEvent::Modified(p) | WatchEvent::Deleted(p) =
            &mut expected
        {
            p.metadata.managed_fields = None;
        }
        assert_eq!(lean, expected);
    }
}

#[test]
fn a_too_old_resource_version_is_an_error_event_with_a_410_status() {
    let body = data("watch-too-old-resource-version.bin");
    let frames = frames(&body);
    assert_eq!(frames.len(), 1);
    let event: WatchEvent<Pod> = watch::decode_event(frames[0], &DecodeOptions::default()).unwrap();

    // The JSON twin, recorded from the same server for `resourceVersion=1` (its current
    // resourceVersion was 9802 then, 9031 when the protobuf was recorded).
    let json = r#"{
        "type": "ERROR",
        "object": {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "too old resource version: 1 (9031)",
            "reason": "Expired",
            "code": 410
        }
    }"#;
    let from_json: WatchEvent<Pod> = serde_json::from_str(json).unwrap();
    assert_eq!(event, from_json);
    let WatchEvent::ErrorStatus(status) = event else {
        panic!("{event:?}");
    };
    assert_eq!(status.code, Some(410));
}

#[test]
fn events_encode_back_to_the_frames_the_server_sent() {
    for name in [
        "watch-pods-stream.bin",
        "watch-too-old-resource-version.bin",
    ] {
        let body = data(name);
        for frame in frames(&body) {
            let event: WatchEvent<Pod> =
                watch::decode_event(frame, &DecodeOptions::default()).unwrap();
            if matches!(event, WatchEvent::Bookmark { .. }) {
                // A bookmark keeps only the resourceVersion and annotations of its object.
                continue;
            }
            let mut out = Vec::new();
            watch::encode_event(&event, &mut out);
            assert!(out == frame, "{name}: an event encodes differently");
        }
    }
}

#[test]
fn an_error_event_without_a_status_and_an_unknown_type_are_errors() {
    let body = data("watch-pods-stream.bin");
    let added = frames(&body)[0].to_vec();
    // "ADDED" -> "ERROR": the object is a Pod, not a Status.
    let mut error = added.clone();
    error[2..7].copy_from_slice(b"ERROR");
    let e = watch::decode_event::<Pod>(&error, &DecodeOptions::default()).unwrap_err();
    assert!(e.to_string().contains("v1/Status"), "{e}");
    let mut unknown = added;
    unknown[2..7].copy_from_slice(b"ADDEX");
    let e = watch::decode_event::<Pod>(&unknown, &DecodeOptions::default()).unwrap_err();
    assert_eq!(e.path(), "type", "{e}");
}
