//! `DecodeOptions::drop_managed_fields`: `metadata.managedFields` is skipped on the wire for
//! GET, LIST and watch, before any entry is built; everything else decodes as without it.

use k8s_openapi::List;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};
use kubecto_protobuf::envelope::{self, Unknown};
use kubecto_protobuf::{DecodeOptions, Protobuf, list};

fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn dropping() -> DecodeOptions {
    DecodeOptions::default().drop_managed_fields(true)
}

#[test]
fn a_get_without_managed_fields_is_the_json_twin_without_them() {
    let pod: Pod = envelope::decode(&data("get-pod.bin"), &dropping()).unwrap();
    let mut json: Pod = serde_json::from_slice(&data("get-pod.json")).unwrap();
    assert!(json.metadata.managed_fields.is_some());
    json.metadata.managed_fields = None;
    assert_eq!(pod, json);
}

#[test]
fn a_list_read_item_by_item_without_managed_fields() {
    let body = data("list-pods.bin");
    let raw = Unknown::decode(&body).unwrap().raw;
    let mut json: List<Pod> = serde_json::from_slice(&data("list-pods.json")).unwrap();
    for pod in &mut json.items {
        pod.metadata.managed_fields = None;
    }
    let mut items = list::items::<Pod>(raw, &dropping());
    let pods: Vec<Pod> = items.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(pods, json.items);
    assert_eq!(items.metadata(), &json.metadata);

    // And the whole list at once.
    let whole: List<Pod> = envelope::decode(&body, &dropping()).unwrap();
    assert_eq!(whole, json);
}

#[test]
fn managed_fields_are_skipped_unread() {
    // A pod whose managedFields entry holds fieldsV1 that is not JSON: an error when kept,
    // never looked at when dropped.
    let mut pod = Pod::default();
    pod.metadata.name = Some("web".into());
    pod.metadata.managed_fields = Some(vec![ManagedFieldsEntry {
        manager: Some("kubectl".into()),
        fields_v1: Some(FieldsV1(serde_json::json!({"f:metadata": {}}))),
        ..ManagedFieldsEntry::default()
    }]);
    let mut bytes = pod.encode_to_vec();
    let at = bytes
        .windows(b"{\"f:metadata\":{}}".len())
        .position(|w| w == b"{\"f:metadata\":{}}")
        .unwrap();
    bytes[at] = b'!';

    let e = Pod::decode(&bytes, &DecodeOptions::default()).unwrap_err();
    assert_eq!(e.path(), "metadata.managedFields.fieldsV1", "{e}");
    assert_eq!(e.offset(), at);

    let decoded = Pod::decode(&bytes, &dropping()).unwrap();
    pod.metadata.managed_fields = None;
    assert_eq!(decoded, pod);
}

#[test]
fn nested_object_metadata_drops_them_too() {
    // A pod template's metadata is an ObjectMeta like any other.
    use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
    use k8s_openapi::api::core::v1::PodTemplateSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    let managed = || Some(vec![ManagedFieldsEntry::default()]);
    let d = Deployment {
        metadata: ObjectMeta {
            managed_fields: managed(),
            ..ObjectMeta::default()
        },
        spec: Some(DeploymentSpec {
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    managed_fields: managed(),
                    ..ObjectMeta::default()
                }),
                ..PodTemplateSpec::default()
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    };
    let back = Deployment::decode(&d.encode_to_vec(), &dropping()).unwrap();
    assert_eq!(back.metadata.managed_fields, None);
    let template_meta = back.spec.unwrap().template.metadata.unwrap();
    assert_eq!(template_meta.managed_fields, None);
}
