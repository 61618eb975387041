//! Hostile bytes: a truncated message, a length past the end or of 4 GiB, a varint over 10
//! bytes, a nested message longer than its parent, a wrong wire type. Each must give an
//! error naming the offset — never a panic, never an allocation sized by a bogus length.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kubecto_protobuf::envelope::Unknown;
use kubecto_protobuf::{DecodeErrorKind, DecodeOptions, Protobuf};

fn opts() -> DecodeOptions {
    DecodeOptions::default()
}

#[test]
fn a_length_past_the_end_is_an_error_at_the_length() {
    // Quantity { string: <100 bytes> } with one byte present.
    let e = Quantity::decode(&[0x0a, 100, b'1'], &opts()).unwrap_err();
    assert_eq!(e.offset(), 1, "{e}");
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::LengthOutOfBounds { len: 100, left: 1 }
    );
    assert!(e.to_string().contains("at byte 1"), "{e}");
}

#[test]
fn a_length_of_4_gib_is_an_error_not_an_allocation() {
    let e = Quantity::decode(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, b'1'], &opts()).unwrap_err();
    assert_eq!(e.offset(), 1);
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::LengthOutOfBounds {
            len: 0xffff_ffff,
            left: 1
        }
    );
    // The largest length a varint can spell.
    let mut huge = vec![0x0a];
    huge.extend([0xff; 9]);
    huge.push(0x01);
    let e = Quantity::decode(&huge, &opts()).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            DecodeErrorKind::LengthOutOfBounds { len: u64::MAX, .. }
        ),
        "{e}"
    );
}

#[test]
fn a_truncated_message_is_an_error_where_it_stops() {
    // A tag, then nothing.
    let e = Quantity::decode(&[0x0a], &opts()).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (&DecodeErrorKind::Truncated, 1));
    // A varint cut in the middle.
    let e = IntOrString::decode(&[0x08, 0x80, 0x80], &opts()).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (&DecodeErrorKind::Truncated, 1));
    // A tag cut in the middle.
    let e = IntOrString::decode(&[0x10, 0x01, 0x88], &opts()).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (&DecodeErrorKind::Truncated, 2));
}

#[test]
fn a_varint_over_10_bytes_is_an_error() {
    let mut bytes = vec![0x10];
    bytes.extend([0xff; 10]);
    bytes.push(0x01);
    let e = IntOrString::decode(&bytes, &opts()).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (&DecodeErrorKind::VarintTooLong, 1));
    // Ten bytes whose last one overflows 64 bits.
    let mut bytes = vec![0x10];
    bytes.extend([0xff; 9]);
    bytes.push(0x02);
    let e = IntOrString::decode(&bytes, &opts()).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (&DecodeErrorKind::VarintTooLong, 1));
}

#[test]
fn a_nested_message_longer_than_its_parent_is_an_error() {
    // k8s\0, then typeMeta (3 bytes) holding an apiVersion of 5 bytes.
    let body = b"k8s\0\x0a\x03\x0a\x05v1\x12\x00";
    let e = Unknown::decode(body).unwrap_err();
    assert_eq!(e.offset(), 7, "{e}");
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::LengthOutOfBounds { len: 5, left: 1 }
    );
}

#[test]
fn a_wrong_wire_type_is_an_error_at_its_tag() {
    // IntOrString's strVal (3, a string) sent as a varint, after a valid type field.
    let e = IntOrString::decode(&[0x08, 0x01, 0x18, 0x05], &opts()).unwrap_err();
    assert_eq!(e.offset(), 2, "{e}");
    assert_eq!(
        e.kind(),
        &DecodeErrorKind::WrongWireType {
            field: 3,
            expected: 2,
            found: 0
        }
    );
}

#[test]
fn groups_undefined_wire_types_and_field_zero_are_errors() {
    for (bytes, kind) in [
        (&[0x0b][..], DecodeErrorKind::BadWireType(3)),
        (&[0x0c][..], DecodeErrorKind::BadWireType(4)),
        (&[0x0e][..], DecodeErrorKind::BadWireType(6)),
        (&[0x0f][..], DecodeErrorKind::BadWireType(7)),
        (&[0x02, 0x00][..], DecodeErrorKind::BadFieldNumber(0)),
    ] {
        let e = Quantity::decode(bytes, &opts()).unwrap_err();
        assert_eq!((e.kind(), e.offset()), (&kind, 0), "{bytes:?}");
    }
}

#[test]
fn a_string_that_is_not_utf8_is_an_error_at_the_bad_byte() {
    let e = Quantity::decode(&[0x0a, 0x03, b'1', 0xff, b'2'], &opts()).unwrap_err();
    assert_eq!((e.kind(), e.offset()), (&DecodeErrorKind::InvalidUtf8, 3));
}

#[test]
fn unknown_fields_of_every_wire_type_are_skipped() {
    // Fields 9 (varint), 10 (fixed64), 11 (bytes), 12 (fixed32), then the string.
    let mut bytes = vec![0x48, 0x96, 0x01, 0x51];
    bytes.extend([0; 8]);
    bytes.extend([
        0x5a, 0x02, 0xaa, 0xbb, 0x65, 0, 0, 0, 0, 0x0a, 0x02, b'1', b'm',
    ]);
    assert_eq!(
        Quantity::decode(&bytes, &opts()).unwrap(),
        Quantity("1m".into())
    );
}

#[test]
fn int_or_string_round_trips_and_rejects_unknown_types() {
    for v in [
        IntOrString::Int(8080),
        IntOrString::Int(-1),
        IntOrString::String("25%".into()),
    ] {
        assert_eq!(IntOrString::decode(&v.encode_to_vec(), &opts()).unwrap(), v);
    }
    let e = IntOrString::decode(&[0x08, 0x02], &opts()).unwrap_err();
    assert_eq!(e.offset(), 1, "{e}");
}

#[test]
fn an_envelope_without_the_magic_is_refused() {
    let e = Unknown::decode(b"{\"kind\":\"Pod\"}").unwrap_err();
    assert_eq!((e.kind(), e.offset()), (&DecodeErrorKind::NoMagic, 0));
}
/// Every prefix and every single-byte corruption of a real pod decodes or fails cleanly.
#[test]
fn every_prefix_and_every_flipped_byte_of_a_pod_fails_cleanly() {
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/get-pod.bin"
    ))
    .expect("tests/data/get-pod.bin");
    let envelope = Unknown::decode(&body).unwrap();
    let raw = envelope.raw;
    Pod::decode(raw, &opts()).unwrap();
    for len in 0..raw.len() {
        if let Err(e) = Pod::decode(&raw[..len], &opts()) {
            assert!(e.offset() <= len, "{e} for a prefix of {len} bytes");
        }
    }
    let mut bytes = raw.to_vec();
    for i in 0..bytes.len() {
        for flip in [0x80, 0xff, 0x07] {
            bytes[i] ^= flip;
            if let Err(e) = Pod::decode(&bytes, &opts()) {
                assert!(e.offset() <= bytes.len(), "{e}");
                let _ = e.to_string();
            }
            bytes[i] ^= flip;
        }
    }
}

#[test]
fn nesting_deeper_than_the_limit_is_an_error_not_a_stack_overflow() {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
    use kubecto_protobuf::MAX_DEPTH;
    // JSONSchemaProps.not (field 28) holding a JSONSchemaProps, 10,000 levels deep, built
    // from the inside out.
    let mut bytes: Vec<u8> = Vec::new();
    for _ in 0..10_000 {
        let mut outer = vec![0xe2, 0x01]; // field 28, wire type 2
        let mut len = bytes.len();
        loop {
            let b = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                outer.push(b);
                break;
            }
            outer.push(b | 0x80);
        }
        outer.extend_from_slice(&bytes);
        bytes = outer;
    }
    let e = JSONSchemaProps::decode(&bytes, &opts()).unwrap_err();
    assert_eq!(e.kind(), &DecodeErrorKind::TooDeep, "{e}");
    assert!(e.path().starts_with("not.not.not"), "{e}");

    // At the limit it decodes.
    let mut ok = JSONSchemaProps::default();
    for _ in 0..MAX_DEPTH - 1 {
        ok = JSONSchemaProps {
            not: Some(Box::new(ok)),
            ..JSONSchemaProps::default()
        };
    }
    assert_eq!(
        JSONSchemaProps::decode(&ok.encode_to_vec(), &opts()).unwrap(),
        ok
    );
}

#[test]
fn a_message_that_arrives_twice_merges_and_a_scalar_is_replaced() {
    use k8s_openapi::api::core::v1::PodSpec;
    let first = Pod {
        spec: Some(PodSpec {
            node_name: Some("a".into()),
            // A Go pointer: absent from the second message.
            active_deadline_seconds: Some(5),
            ..PodSpec::default()
        }),
        ..Pod::default()
    };
    let second = Pod {
        spec: Some(PodSpec {
            node_name: Some("b".into()),
            ..PodSpec::default()
        }),
        ..Pod::default()
    };
    let mut bytes = first.encode_to_vec();
    bytes.extend(second.encode_to_vec());
    let spec = Pod::decode(&bytes, &opts()).unwrap().spec.unwrap();
    assert_eq!(spec.node_name.as_deref(), Some("b"));
    assert_eq!(spec.active_deadline_seconds, Some(5));
}

/// Found by the `protobuf` fuzz target: an empty packed run decoded as `Some([])` where Go
/// leaves the slice nil (its JSON twin has no such field), and encoding dropped it, so a
/// decoded pod changed when encoded and decoded again.
#[test]
fn an_empty_packed_run_is_no_list() {
    use k8s_openapi::api::core::v1::PodSecurityContext;
    // runAsGroup (6) = 55, then supplementalGroups (4) packed with no element.
    let ctx = PodSecurityContext::decode(&[0x30, 0x37, 0x22, 0x00], &opts()).unwrap();
    assert_eq!(ctx.run_as_group, Some(55));
    assert_eq!(ctx.supplemental_groups, None);
    let ctx = PodSecurityContext::decode(&[0x22, 0x01, 0x07, 0x22, 0x00], &opts()).unwrap();
    assert_eq!(ctx.supplemental_groups, Some(vec![7]));
}
