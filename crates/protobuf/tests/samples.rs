//! Every recorded protobuf sample of a real kube-apiserver v1.36.2 (`tests/data/`) decodes
//! to exactly what its JSON twin decodes to, and encodes back to the bytes the server sent.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod, Secret, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use k8s_openapi::{List, Resource};
use kubecto_protobuf::envelope::{self, Unknown};
use kubecto_protobuf::{DecodeOptions, Protobuf};

fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `.bin` decoded from protobuf equals the `.json` decoded by serde, and re-encoding
/// the object gives the server's bytes back.
fn same_as_json<T>(name: &str)
where
    T: Protobuf + Resource + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let body = data(&format!("{name}.bin"));
    let from_pb: T = envelope::decode(&body, &DecodeOptions::default())
        .unwrap_or_else(|e| panic!("{name}.bin: {e}"));
    let from_json: T = serde_json::from_slice(&data(&format!("{name}.json")))
        .unwrap_or_else(|e| panic!("{name}.json: {e}"));
    assert_eq!(from_pb, from_json, "{name}: protobuf and JSON differ");

    let raw = Unknown::decode(&body).unwrap().raw;
    assert_bytes_eq(name, &from_pb.encode_to_vec(), raw);
    let mut whole = Vec::new();
    envelope::encode(&from_pb, &mut whole);
    assert_eq!(whole, body, "{name}: the envelope differs");
}

/// Equal bytes, or a message naming the first difference.
fn assert_bytes_eq(name: &str, ours: &[u8], theirs: &[u8]) {
    if ours == theirs {
        return;
    }
    let at = ours
        .iter()
        .zip(theirs)
        .position(|(a, b)| a != b)
        .unwrap_or(ours.len().min(theirs.len()));
    let window = |b: &[u8]| {
        let lo = at.saturating_sub(16);
        format!("{:02x?}", &b[lo..(at + 16).min(b.len())])
    };
    panic!(
        "{name}: encoding differs from the server's at byte {at} (ours {} bytes, server {})\n ours:   {}\n server: {}",
        ours.len(),
        theirs.len(),
        window(ours),
        window(theirs)
    );
}

#[test]
fn pod() {
    same_as_json::<Pod>("get-pod");
}

#[test]
fn deployment_with_int_or_string() {
    // The two recordings are a controller's status update apart (resourceVersion 12180
    // and 12184): the spec and the identity are the same, the status is not.
    let body = data("get-deployment.bin");
    let from_pb: Deployment = envelope::decode(&body, &DecodeOptions::default()).unwrap();
    let from_json: Deployment = serde_json::from_slice(&data("get-deployment.json")).unwrap();
    assert_eq!(from_pb.spec, from_json.spec);
    assert_eq!(from_pb.metadata.uid, from_json.metadata.uid);
    assert_eq!(from_pb.metadata.labels, from_json.metadata.labels);
    assert_eq!(
        from_pb.metadata.creation_timestamp,
        from_json.metadata.creation_timestamp
    );
    assert_eq!(
        from_pb
            .metadata
            .managed_fields
            .as_ref()
            .map(|m| m[0].clone()),
        from_json
            .metadata
            .managed_fields
            .as_ref()
            .map(|m| m[0].clone())
    );
    let strategy = from_pb.spec.as_ref().and_then(|s| s.strategy.as_ref());
    let rolling = strategy.and_then(|s| s.rolling_update.as_ref()).unwrap();
    assert_eq!(
        rolling.max_surge,
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String("25%".into()))
    );
    assert_bytes_eq(
        "get-deployment",
        &from_pb.encode_to_vec(),
        Unknown::decode(&body).unwrap().raw,
    );
}

#[test]
fn secret_with_bytes() {
    same_as_json::<Secret>("get-secret");
}

#[test]
fn service_with_a_named_target_port() {
    same_as_json::<Service>("get-service");
}

#[test]
fn namespace() {
    same_as_json::<Namespace>("get-namespace");
}

#[test]
fn list_of_pods() {
    same_as_json::<List<Pod>>("list-pods");
}

#[test]
fn a_page_of_pods_with_continue_and_remaining_item_count() {
    same_as_json::<List<Pod>>("list-pods-limit2");
    let list: List<Pod> =
        envelope::decode(&data("list-pods-limit2.bin"), &DecodeOptions::default()).unwrap();
    assert!(list.metadata.continue_.is_some());
    assert!(list.metadata.remaining_item_count.is_some());
}

#[test]
fn empty_node_list() {
    same_as_json::<List<Node>>("get-node-list-empty");
}

#[test]
fn config_maps_with_binary_data_encode_back_to_the_same_bytes() {
    for name in [
        "create-configmap-dry-run.bin",
        "create-configmap-with-protobuf-body.bin",
    ] {
        let body = data(name);
        let cm: ConfigMap = envelope::decode(&body, &DecodeOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(cm.binary_data.is_some(), "{name}: {cm:?}");
        assert_bytes_eq(
            name,
            &cm.encode_to_vec(),
            Unknown::decode(&body).unwrap().raw,
        );
    }
}

#[test]
fn statuses() {
    for (name, code, reason) in [
        ("error-404-accept-pb.bin", 404, "NotFound"),
        ("error-404-accept-pbjson.bin", 404, "NotFound"),
        (
            "create-configmap-with-protobuf-body-409.bin",
            409,
            "AlreadyExists",
        ),
        ("custom-resource-accept-pb-only.bin", 406, "NotAcceptable"),
    ] {
        let body = data(name);
        let status: Status = envelope::decode(&body, &DecodeOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(status.code, Some(code), "{name}: {status:?}");
        assert_eq!(status.reason.as_deref(), Some(reason), "{name}");
        assert_eq!(status.status.as_deref(), Some("Failure"), "{name}");
        assert_bytes_eq(
            name,
            &status.encode_to_vec(),
            Unknown::decode(&body).unwrap().raw,
        );
    }
}

#[test]
fn a_body_of_another_kind_is_refused() {
    let e = envelope::decode::<Pod>(&data("error-404-accept-pb.bin"), &DecodeOptions::default())
        .unwrap_err();
    assert!(e.to_string().contains("v1/Status"), "{e}");
}
