//! The test server's half of `cargo xtask codegen [--check]`: the table of protobuf
//! messages that kubecto-testserver's own JSON ⇄ protobuf transcoder is driven by
//! (`crates/testserver/src/protobuf/generated/`), read from the same vendored upstream
//! `generated.proto` files as kubecto-protobuf's codecs but sharing no code with them, so
//! the server's protobuf is never defined by the client it tests.
//!
//! Each message becomes its fields (number, JSON name, type, repeated or map, and the Go
//! facts `go:omitempty`, `go:value`, `go:inline` that decide its JSON); each field whose
//! type is one of apimachinery's special types (`Time`, `MicroTime`, `Quantity`,
//! `IntOrString`, `RawExtension`, `FieldsV1`, apiextensions' `JSON` and
//! `JSONSchemaPropsOr*`) is marked as such, since their JSON is not their message's. Each
//! message of an API group-version is also listed under its group, version and name, which
//! is how the server finds the message of a kind. The `<Kind>List` messages, which the
//! vendored protos leave out, are added: they all have one shape.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::codegen_protobuf::{Label, ProtoField, ProtoMessage, read_protos};

/// Where the table is written, relative to the workspace root.
const OUT_DIR: &str = "crates/testserver/src/protobuf/generated";

/// Proto types whose JSON is not their message's, and the transcoder's name for them.
const SPECIAL: &[(&str, &str)] = &[
    ("k8s.io.apimachinery.pkg.apis.meta.v1.Time", "Time"),
    (
        "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime",
        "MicroTime",
    ),
    ("k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1", "FieldsV1"),
    ("k8s.io.apimachinery.pkg.api.resource.Quantity", "Quantity"),
    (
        "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
        "IntOrString",
    ),
    (
        "k8s.io.apimachinery.pkg.runtime.RawExtension",
        "RawExtension",
    ),
    (
        "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSON",
        "Json",
    ),
];

/// `JSONSchemaPropsOr*`: one of two JSON shapes around a `JSONSchemaProps`.
const SCHEMA_OR: &[(&str, &str)] = &[
    (
        "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray",
        "PropsOrArray",
    ),
    (
        "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool",
        "PropsOrBool",
    ),
    (
        "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray",
        "PropsOrStringArray",
    ),
];
const SCHEMA_PROPS: &str =
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps";

/// Generates, then writes or (`check`) compares.
pub(crate) fn run(check: bool) -> Result<(), String> {
    let root = crate::workspace_root();
    let mut protos = read_protos(&root.join(crate::codegen_protobuf::PROTO_DIR))?;
    add_lists(&mut protos);
    let text = crate::codegen::format_rust(&render(&protos)?)?;
    let files = BTreeMap::from([("mod.rs".to_owned(), text)]);
    let dir = root.join(OUT_DIR);
    if check {
        crate::codegen_protobuf::check_files(OUT_DIR, &dir, &files)
    } else {
        crate::codegen_protobuf::write_files(OUT_DIR, &dir, &files)
    }
}

/// Fields Go leaves out of JSON when zero although the proto annotations (which record
/// `omitempty` for scalars only) do not say so: apimachinery's `ObjectMeta` has
/// `CreationTimestamp Time json:"creationTimestamp,omitempty,omitzero"`, so a template's
/// empty timestamp is absent from kube-apiserver's JSON rather than `null`.
const OMITZERO: &[(&str, &str)] = &[(
    "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    "creationTimestamp",
)];

const OBJECT_META: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const LIST_META: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.ListMeta";

/// The vendored protos leave out the `<Kind>List` messages (k8s-openapi has no type for
/// them), which all have one shape: `ListMeta metadata = 1` (held by value) and
/// `repeated <Kind> items = 2`. One is added for every message with an `ObjectMeta`; its
/// `items` is marked as held by value, since kube-apiserver's JSON always has the array.
fn add_lists(protos: &mut BTreeMap<String, ProtoMessage>) {
    let field = |ty: &str, name: &str, number: u32, label: Label, value: bool| ProtoField {
        label,
        ty: ty.to_owned(),
        name: name.to_owned(),
        number,
        omitempty: false,
        value,
        inline: false,
        json: name.to_owned(),
    };
    let kinds: Vec<String> = protos
        .iter()
        .filter(|(_, m)| {
            m.fields
                .iter()
                .any(|f| f.name == "metadata" && f.ty == OBJECT_META)
        })
        .map(|(name, _)| name.clone())
        .collect();
    for kind in kinds {
        let list = ProtoMessage {
            fields: vec![
                field(LIST_META, "metadata", 1, Label::Optional, true),
                field(&kind, "items", 2, Label::Repeated, true),
            ],
        };
        protos.entry(format!("{kind}List")).or_insert(list);
    }
}

/// The API group and version of a proto package, if it is one.
fn group_version(package: &str) -> Option<(String, String)> {
    let (prefix, version) = package.rsplit_once('.')?;
    let group = match prefix {
        "k8s.io.apimachinery.pkg.apis.meta" => "meta.k8s.io".to_owned(),
        "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions" => {
            "apiextensions.k8s.io".to_owned()
        }
        "k8s.io.kube_aggregator.pkg.apis.apiregistration" => "apiregistration.k8s.io".to_owned(),
        _ => match prefix.strip_prefix("k8s.io.api.")? {
            "core" => String::new(),
            g @ ("apps" | "autoscaling" | "batch" | "policy") => g.to_owned(),
            "apiserverinternal" => "internal.apiserver.k8s.io".to_owned(),
            "flowcontrol" => "flowcontrol.apiserver.k8s.io".to_owned(),
            "rbac" => "rbac.authorization.k8s.io".to_owned(),
            g => format!("{g}.k8s.io"),
        },
    };
    Some((group, version.to_owned()))
}

fn scalar(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "string" => "Str",
        "bytes" => "Bytes",
        "bool" => "Bool",
        "int32" => "I32",
        "int64" => "I64",
        "double" => "F64",
        _ => return None,
    })
}

fn render(protos: &BTreeMap<String, ProtoMessage>) -> Result<String, String> {
    let index: BTreeMap<&str, usize> = protos
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let props = *index
        .get(SCHEMA_PROPS)
        .ok_or_else(|| format!("{SCHEMA_PROPS} is not among the protos"))?;
    let mut out = String::new();
    out.push_str(
        "//! The protobuf messages of Kubernetes 1.36 (k8s.io/api, apimachinery's meta/v1,\n\
         //! apiextensions and apiregistration), as the transcoder reads them: each message's\n\
         //! fields, and the message of each group, version and kind.\n\
         //!\n\
         //! Generated by `cargo xtask codegen` from `crates/protobuf/proto/`; do not edit.\n\n\
         use crate::protobuf::schema::Ty::*;\n\
         use crate::protobuf::schema::flag::*;\n\
         use crate::protobuf::schema::{Msg, f};\n\n",
    );
    let _ = writeln!(out, "/// Every message, by full name (sorted).");
    let _ = writeln!(out, "pub(crate) static MESSAGES: &[Msg] = &[");
    for (name, msg) in protos {
        let mut fields = String::new();
        for field in &msg.fields {
            let ty = if let Some(s) = scalar(&field.ty) {
                s.to_owned()
            } else if let Some((_, s)) = SPECIAL.iter().find(|(p, _)| *p == field.ty) {
                (*s).to_owned()
            } else if let Some((_, s)) = SCHEMA_OR.iter().find(|(p, _)| *p == field.ty) {
                format!("{s}({props})")
            } else if let Some(i) = index.get(field.ty.as_str()) {
                format!("Message({i})")
            } else {
                return Err(format!(
                    "{name}.{}: type {} is neither a scalar, a special type nor a message of the protos",
                    field.name, field.ty
                ));
            };
            let mut flags = Vec::new();
            match field.label {
                Label::Optional => {}
                Label::Repeated => flags.push("REPEATED"),
                Label::Map => flags.push("MAP"),
            }
            if field.omitempty || OMITZERO.contains(&(name.as_str(), field.name.as_str())) {
                flags.push("OMITEMPTY");
            }
            if field.value {
                flags.push("VALUE");
            }
            if field.inline {
                flags.push("INLINE");
            }
            let flags = if flags.is_empty() {
                "0".to_owned()
            } else {
                flags.join(" | ")
            };
            let json = if field.json == "-" {
                field.name.as_str()
            } else {
                field.json.as_str()
            };
            let _ = write!(fields, "f({}, {json:?}, {ty}, {flags}),", field.number);
        }
        let mut order: Vec<usize> = (0..msg.fields.len()).collect();
        order.sort_by_key(|&i| msg.fields[i].number);
        let order: Vec<String> = order.iter().map(usize::to_string).collect();
        let _ = writeln!(
            out,
            "Msg {{ name: {name:?}, fields: &[{fields}], wire_order: &[{}] }},",
            order.join(",")
        );
    }
    out.push_str("];\n\n");
    let mut kinds = Vec::new();
    for (name, i) in &index {
        let Some((package, kind)) = name.rsplit_once('.') else {
            continue;
        };
        if let Some((group, version)) = group_version(package) {
            kinds.push((group, version, kind.to_owned(), *i));
        }
    }
    kinds.sort();
    let _ = writeln!(
        out,
        "/// `(group, version, kind)` -> index in [`MESSAGES`], sorted, for every message of an\n\
         /// API group-version (meta/v1's under `meta.k8s.io`)."
    );
    let _ = writeln!(
        out,
        "pub(crate) static KINDS: &[(&str, &str, &str, u16)] = &["
    );
    for (group, version, kind, i) in kinds {
        let _ = writeln!(out, "({group:?}, {version:?}, {kind:?}, {i}),");
    }
    out.push_str("];\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_name_their_groups() {
        let gv = |p: &str| group_version(p).unwrap();
        assert_eq!(gv("k8s.io.api.core.v1"), (String::new(), "v1".into()));
        assert_eq!(gv("k8s.io.api.apps.v1"), ("apps".into(), "v1".into()));
        assert_eq!(
            gv("k8s.io.api.rbac.v1"),
            ("rbac.authorization.k8s.io".into(), "v1".into())
        );
        assert_eq!(
            gv("k8s.io.api.networking.v1beta1"),
            ("networking.k8s.io".into(), "v1beta1".into())
        );
        assert_eq!(
            gv("k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1"),
            ("apiextensions.k8s.io".into(), "v1".into())
        );
        assert_eq!(group_version("k8s.io.apimachinery.pkg.runtime"), None);
    }
}
