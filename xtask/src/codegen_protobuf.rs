//! The protobuf half of `cargo xtask codegen [--check]`: generates kubecto-protobuf's codecs
//! (`crates/protobuf/src/generated/`) for every k8s-openapi type of Kubernetes 1.36 that has
//! a protobuf message.
//!
//! Two inputs, both checked in or resolved by cargo, so `--check` needs no network:
//!
//! - **Field numbers and types**: the `generated.proto` files of k8s.io/api,
//!   k8s.io/apimachinery (meta/v1), k8s.io/apiextensions-apiserver and
//!   k8s.io/kube-aggregator at the tag of the Kubernetes release, vendored under
//!   `crates/protobuf/proto/` without their comments. Each field carries, as a trailing
//!   comment, the facts of its Go struct field that the JSON twin depends on and the
//!   `.proto` does not say: `go:omitempty` (a scalar Go holds by value and its JSON omits
//!   when zero — protobuf sends the zero, which must decode to `None`), `go:inline` (an
//!   embedded struct whose fields JSON, and k8s-openapi, flatten into the outer type) and
//!   `json=NAME` (a JSON name other than the proto name, such as `$ref`).
//!   `cargo xtask codegen --import-protos DIR TAG` rewrites them from checkouts of the
//!   four repositories (`DIR/api`, `DIR/apimachinery`, ...) at `TAG`.
//! - **Rust types and field names**: the k8s-openapi crate the workspace resolves (its
//!   `src/v1_36/`, found with `cargo metadata`): each struct's fields, their types, and the
//!   JSON name each is read from.
//!
//! A proto message maps to the k8s-openapi type generated from the OpenAPI definition of
//! the same name (`k8s.io.api.core.v1.Pod` is `io.k8s.api.core.v1.Pod`); each Rust field
//! to the proto field of the same JSON name. Every Rust field must find its proto field
//! and agree with it in type, or generation fails naming both. Types whose message and Rust
//! shape differ (`Time`, `Quantity`, `IntOrString`, `RawExtension`, ...) are written by
//! hand in the crate and only referred to here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where the generated code lives, relative to the workspace root: the codecs, and the
/// list of types with the shape of their fields that the round-trip tests walk.
const OUT_DIRS: &[&str] = &[
    "crates/protobuf/src/generated",
    "crates/protobuf/tests/generated",
];
/// Where the vendored `.proto` files live, relative to the workspace root.
pub(crate) const PROTO_DIR: &str = "crates/protobuf/proto";
/// The Kubernetes version the codecs are generated for (k8s-openapi's module).
const K8S_MODULE: &str = "v1_36";

/// Definitions whose codecs are written by hand in kubecto-protobuf (or not at all: the
/// generic `List<T>`, `WatchEvent<T>` and `Patch`, whose messages are not theirs).
const HAND_WRITTEN: &[&str] = &[
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
    "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
    "io.k8s.apimachinery.pkg.api.resource.Quantity",
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
    "io.k8s.apimachinery.pkg.runtime.RawExtension",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray",
];

/// The proto packages vendored, by repository, besides every `k8s.io/api` group-version
/// k8s-openapi has.
const OTHER_PACKAGES: &[(&str, &str)] = &[
    ("apimachinery", "pkg/apis/meta/v1"),
    ("apiextensions-apiserver", "pkg/apis/apiextensions/v1"),
    ("kube-aggregator", "pkg/apis/apiregistration/v1"),
];

/// Generates, then writes or (`check`) compares.
pub(crate) fn run(check: bool) -> Result<(), String> {
    let root = crate::workspace_root();
    let files = generate(&root)?;
    for dir in OUT_DIRS {
        let prefix = format!("{dir}/");
        let mine: BTreeMap<String, String> = files
            .iter()
            .filter_map(|(path, text)| {
                path.strip_prefix(&prefix)
                    .map(|name| (name.to_owned(), text.clone()))
            })
            .collect();
        if check {
            check_files(dir, &root.join(dir), &mine)?;
        } else {
            write_files(dir, &root.join(dir), &mine)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The proto model, read from the vendored files.

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Label {
    Optional,
    Repeated,
    /// `map<string, V>`.
    Map,
}

#[derive(Debug, Clone)]
pub(crate) struct ProtoField {
    pub(crate) label: Label,
    /// A scalar (`string`, `int32`, ...) or a message's full name (`k8s.io.api.core.v1.Pod`).
    pub(crate) ty: String,
    pub(crate) name: String,
    pub(crate) number: u32,
    pub(crate) omitempty: bool,
    /// A message Go holds by value (not a pointer): sent even when empty.
    pub(crate) value: bool,
    pub(crate) inline: bool,
    pub(crate) json: String,
}

#[derive(Debug, Clone)]
pub(crate) struct ProtoMessage {
    pub(crate) fields: Vec<ProtoField>,
}

const SCALARS: &[&str] = &[
    "string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "double", "float",
];

/// Every message of every vendored file, by full name.
pub(crate) fn read_protos(dir: &Path) -> Result<BTreeMap<String, ProtoMessage>, String> {
    let mut files = Vec::new();
    find_files(dir, "generated.proto", &mut files)?;
    if files.is_empty() {
        return Err(format!("no generated.proto under {}", dir.display()));
    }
    let mut out = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        parse_proto(&text, &mut out).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    Ok(out)
}

fn find_files(dir: &Path, name: &str, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let path = entry.path();
        if path.is_dir() {
            find_files(&path, name, out)?;
        } else if path.file_name().is_some_and(|n| n == name) {
            out.push(path);
        }
    }
    out.sort();
    Ok(())
}

fn parse_proto(text: &str, out: &mut BTreeMap<String, ProtoMessage>) -> Result<(), String> {
    let mut package = String::new();
    let mut current: Option<(String, ProtoMessage)> = None;
    for (n, line) in text.lines().enumerate() {
        let (code, comment) = match line.find("//") {
            Some(i) => (line[..i].trim(), line[i + 2..].trim()),
            None => (line.trim(), ""),
        };
        if code.is_empty() {
            continue;
        }
        if let Some(p) = code.strip_prefix("package ") {
            package = p.trim_end_matches(';').trim().to_owned();
        } else if let Some(name) = code.strip_prefix("message ") {
            let name = name.trim_end_matches('{').trim();
            current = Some((
                format!("{package}.{name}"),
                ProtoMessage { fields: Vec::new() },
            ));
        } else if code == "}" {
            if let Some((name, msg)) = current.take() {
                out.insert(name, msg);
            }
        } else if let Some((_, msg)) = current.as_mut() {
            let field = parse_field(code, comment, &package)
                .ok_or_else(|| format!("line {}: cannot read field {code:?}", n + 1))?;
            msg.fields.push(field);
        }
    }
    Ok(())
}

/// `optional string name = 1;`, `repeated Foo items = 2;`, `map<string, Bar> m = 3;`, with
/// the annotations of its trailing comment.
fn parse_field(code: &str, comment: &str, package: &str) -> Option<ProtoField> {
    let code = code.strip_suffix(';')?.trim();
    let (decl, number) = code.rsplit_once('=')?;
    let number = number.trim().parse().ok()?;
    let (label, ty, name) = if let Some(rest) = decl.trim().strip_prefix("map<") {
        let (types, name) = rest.split_once('>')?;
        let (key, value) = types.split_once(',')?;
        if key.trim() != "string" {
            return None;
        }
        (Label::Map, value.trim(), name.trim())
    } else {
        let mut words = decl.split_whitespace();
        let label = match words.next()? {
            "optional" => Label::Optional,
            "repeated" => Label::Repeated,
            _ => return None,
        };
        (label, words.next()?, words.next()?)
    };
    let ty = if SCALARS.contains(&ty) {
        ty.to_owned()
    } else if let Some(full) = ty.strip_prefix('.') {
        full.to_owned()
    } else {
        format!("{package}.{ty}")
    };
    let mut field = ProtoField {
        label,
        ty,
        name: name.to_owned(),
        number,
        omitempty: false,
        value: false,
        inline: false,
        json: name.to_owned(),
    };
    for word in comment.split_whitespace() {
        match word {
            "go:omitempty" => field.omitempty = true,
            "go:value" => field.value = true,
            "go:inline" => field.inline = true,
            w => {
                if let Some(json) = w.strip_prefix("json=") {
                    field.json = json.to_owned();
                }
            }
        }
    }
    Some(field)
}

// ---------------------------------------------------------------------------------------
// The Rust model, read from k8s-openapi's source.

/// A field's Rust type, as k8s-openapi spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RustType {
    Option(Box<RustType>),
    Vec(Box<RustType>),
    /// `BTreeMap<String, T>`.
    Map(Box<RustType>),
    Box(Box<RustType>),
    /// `String`, `i32`, `crate::ByteString`, `crate::api::core::v1::Pod`: as written, with
    /// `crate::` made `k8s_openapi::`.
    Leaf(String),
}

impl RustType {
    fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let inner = |prefix: &str| {
            s.strip_prefix(prefix)
                .and_then(|r| r.strip_suffix('>'))
                .and_then(Self::parse)
                .map(Box::new)
        };
        if s.starts_with("Option<") {
            return inner("Option<").map(Self::Option);
        }
        if s.starts_with("std::vec::Vec<") {
            return inner("std::vec::Vec<").map(Self::Vec);
        }
        if s.starts_with("std::boxed::Box<") {
            return inner("std::boxed::Box<").map(Self::Box);
        }
        if let Some(rest) = s.strip_prefix("std::collections::BTreeMap<std::string::String,") {
            return rest
                .strip_suffix('>')
                .and_then(Self::parse)
                .map(|t| Self::Map(Box::new(t)));
        }
        if s.contains('<') {
            return None;
        }
        let leaf = match s {
            "std::string::String" => "String".to_owned(),
            other => match other.strip_prefix("crate::") {
                Some(path) => format!("k8s_openapi::{path}"),
                None => other.to_owned(),
            },
        };
        Some(Self::Leaf(leaf))
    }
}

#[derive(Debug, Clone)]
struct RustField {
    name: String,
    json: String,
    ty: RustType,
}

#[derive(Debug, Clone)]
struct RustStruct {
    /// `k8s_openapi::api::core::v1::Pod`.
    path: String,
    /// `None` for enums and tuple structs.
    fields: Option<Vec<RustField>>,
    default: bool,
    /// `pub struct X(pub serde_json::Value)`: an empty Go struct, `{}` in JSON.
    json_newtype: bool,
}

/// Every type of k8s-openapi's `src/v1_36`, by OpenAPI definition name.
fn read_k8s_openapi(src: &Path) -> Result<BTreeMap<String, RustStruct>, String> {
    let dir = src.join(K8S_MODULE);
    let mut files = Vec::new();
    rs_files(&dir, &mut files)?;
    let mut out = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let rel = file.strip_prefix(&dir).unwrap_or(&file);
        if let Some((def, s)) =
            parse_rust_file(&text, rel).map_err(|e| format!("{}: {e}", file.display()))?
        {
            out.insert(def, s);
        }
    }
    Ok(out)
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let path = entry.path();
        if path.is_dir() {
            rs_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "mod.rs")
        {
            out.push(path);
        }
    }
    out.sort();
    Ok(())
}

fn parse_rust_file(text: &str, rel: &Path) -> Result<Option<(String, RustStruct)>, String> {
    let Some(def) = text
        .lines()
        .find_map(|l| l.strip_prefix("// Generated from definition "))
    else {
        return Ok(None);
    };
    let lines: Vec<&str> = text.lines().collect();
    let Some(decl) = lines
        .iter()
        .position(|l| l.starts_with("pub struct ") || l.starts_with("pub enum "))
    else {
        return Ok(None);
    };
    let name: String = lines[decl]
        .split_whitespace()
        .nth(2)
        .unwrap_or("")
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let default = lines[..decl]
        .iter()
        .rev()
        .take_while(|l| !l.is_empty())
        .any(|l| l.starts_with("#[derive(") && l.contains("Default"))
        || text.contains(&format!("impl Default for {name} "));
    let mut module: Vec<String> = rel
        .parent()
        .map(|p| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    module.insert(0, "k8s_openapi".to_owned());
    module.push(name.clone());
    let path = module.join("::");

    let is_named_struct = lines[decl].starts_with("pub struct ") && lines[decl].ends_with('{');
    if !is_named_struct {
        return Ok(Some((
            def.to_owned(),
            RustStruct {
                path,
                fields: None,
                default,
                json_newtype: lines[decl].ends_with("(pub crate::serde_json::Value);"),
            },
        )));
    }
    // Fields: `    pub name: Type,` up to the closing brace.
    let mut fields = Vec::new();
    for line in &lines[decl + 1..] {
        if *line == "}" {
            break;
        }
        let Some(rest) = line.strip_prefix("    pub ") else {
            continue;
        };
        let (field, ty) = rest
            .split_once(": ")
            .ok_or_else(|| format!("cannot read field {line:?}"))?;
        let ty = ty.trim_end_matches(',');
        let ty = RustType::parse(ty).ok_or_else(|| format!("cannot read type {ty:?}"))?;
        fields.push(RustField {
            name: field.to_owned(),
            json: String::new(),
            ty,
        });
    }
    // JSON names: the deserializer's `"jsonName" => Field::Key_rust_name,`.
    let mut json_of = BTreeMap::new();
    for line in &lines {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix('"')
            && let Some((json, key)) = rest.split_once("\" => Field::Key_")
        {
            json_of.insert(key.trim_end_matches(',').to_owned(), json.to_owned());
        }
    }
    for f in &mut fields {
        let key = f.name.trim_start_matches("r#");
        f.json = json_of
            .get(key)
            .cloned()
            .ok_or_else(|| format!("{name}.{}: no JSON name in the deserializer", f.name))?;
    }
    Ok(Some((
        def.to_owned(),
        RustStruct {
            path,
            fields: Some(fields),
            default,
            json_newtype: false,
        },
    )))
}

// ---------------------------------------------------------------------------------------
// Matching and rendering.

/// OpenAPI definition name -> proto message full name.
fn proto_name(def: &str) -> Option<String> {
    def.strip_prefix("io.k8s.")
        .map(|rest| format!("k8s.io.{}", rest.replace('-', "_")))
}

struct Ctx<'a> {
    protos: &'a BTreeMap<String, ProtoMessage>,
    /// Proto full name -> the Rust path of its k8s-openapi type.
    rust_of: BTreeMap<String, String>,
    /// Rust paths of types that implement `Default`.
    defaults: BTreeSet<String>,
    errors: Vec<String>,
    /// Proto fields no Rust field reads, per message (reported, then skipped as unknown).
    unread: Vec<String>,
    /// Rust fields protobuf does not carry (type path, field name): Go's inline TypeMeta.
    typemeta: BTreeSet<(String, String)>,
    /// Optional scalars whose zero is `None` (type path, field name): `go:omitempty`.
    nonzero: BTreeSet<(String, String)>,
}

impl Ctx<'_> {
    /// A list wrapper: a proto message without a k8s-openapi type whose only field is
    /// `repeated T items = 1` (Go's named slices, such as `ExtraValue` and `Verbs`).
    fn wrapper_item(&self, ty: &str) -> Option<&ProtoField> {
        if self.rust_of.contains_key(ty) {
            return None;
        }
        let msg = self.protos.get(ty)?;
        match msg.fields.as_slice() {
            [f] if f.label == Label::Repeated && f.number == 1 => Some(f),
            _ => None,
        }
    }

    fn has_default(&self, ty: &RustType) -> bool {
        match ty {
            RustType::Option(_) | RustType::Vec(_) | RustType::Map(_) => true,
            RustType::Box(t) => self.has_default(t),
            RustType::Leaf(l) => {
                matches!(l.as_str(), "String" | "i32" | "i64" | "bool" | "f64")
                    || self.defaults.contains(l)
            }
        }
    }

    /// Whether a proto value type and a Rust leaf type agree.
    fn leaf_matches(&self, proto: &str, rust: &RustType) -> bool {
        let rust = match rust {
            RustType::Box(t) => t.as_ref(),
            t => t,
        };
        let RustType::Leaf(leaf) = rust else {
            return false;
        };
        match proto {
            "string" => leaf == "String",
            "int32" => leaf == "i32",
            "int64" => leaf == "i64",
            "bool" => leaf == "bool",
            "double" => leaf == "f64",
            "bytes" => leaf == "k8s_openapi::ByteString",
            msg => self.rust_of.get(msg).is_some_and(|p| p == leaf),
        }
    }
}

/// Where a Rust field's value sits in the message: the inline fields to go through, then
/// the field itself.
#[derive(Debug, Clone)]
struct Placement<'a> {
    via: Vec<&'a ProtoField>,
    field: &'a ProtoField,
}

/// Finds the proto field of each JSON name, looking through inline fields.
fn placements<'a>(
    ctx: &Ctx<'a>,
    msg: &'a ProtoMessage,
    via: &[&'a ProtoField],
    out: &mut BTreeMap<String, Placement<'a>>,
) {
    for f in &msg.fields {
        if f.inline {
            if let Some(inner) = ctx.protos.get(&f.ty) {
                let mut v = via.to_vec();
                v.push(f);
                placements(ctx, inner, &v, out);
            }
        } else {
            out.entry(f.json.clone()).or_insert(Placement {
                via: via.to_vec(),
                field: f,
            });
        }
    }
}

/// How one Rust field is decoded and encoded.
struct FieldCode {
    /// The local's initial value.
    init: &'static str,
    /// The helper that decodes into the local (`req`, `opt`, ...).
    decode: String,
    /// The expression that builds the struct's field from the local.
    finish: String,
    /// The statement that encodes the field (with `v` as `&self.field`).
    encode: String,
}

fn field_code(
    ctx: &mut Ctx<'_>,
    owner: &str,
    rf: &RustField,
    pf: &ProtoField,
) -> Option<FieldCode> {
    let local = format!("f_{}", rf.name.trim_start_matches("r#"));
    let json = &rf.json;
    let n = pf.number;
    let self_field = format!("self.{}", rf.name);
    let mismatch = |ctx: &mut Ctx<'_>| {
        ctx.errors.push(format!(
            "{owner}.{}: Rust type {:?} does not fit proto field {} {:?} {} = {n}",
            rf.name, rf.ty, pf.name, pf.label, pf.ty
        ));
        None
    };
    let wrapper = ctx.wrapper_item(&pf.ty).cloned();
    let code = match (&pf.label, &rf.ty) {
        // A list wrapper message holding a Rust Vec.
        (Label::Optional, RustType::Vec(item)) if wrapper.is_some() => {
            let w = wrapper.unwrap_or_else(|| unreachable!());
            if !ctx.leaf_matches(&w.ty, item) {
                return mismatch(ctx);
            }
            FieldCode {
                init: "Vec::new()",
                decode: "c::items".into(),
                finish: local.clone(),
                encode: format!("c::put_items(out, {n}, &{self_field});"),
            }
        }
        (Label::Optional, RustType::Option(inner)) if wrapper.is_some() => {
            let RustType::Vec(item) = inner.as_ref() else {
                return mismatch(ctx);
            };
            let w = wrapper.unwrap_or_else(|| unreachable!());
            if !ctx.leaf_matches(&w.ty, item) {
                return mismatch(ctx);
            }
            FieldCode {
                init: "None",
                decode: "c::opt_items".into(),
                finish: local.clone(),
                encode: format!("c::put_opt_items(out, {n}, &{self_field});"),
            }
        }
        (Label::Optional, RustType::Option(inner)) => {
            if !ctx.leaf_matches(&pf.ty, inner) {
                return mismatch(ctx);
            }
            let scalar = SCALARS.contains(&pf.ty.as_str());
            if pf.omitempty && scalar {
                FieldCode {
                    init: "None",
                    decode: "c::opt_nonzero".into(),
                    finish: local.clone(),
                    encode: format!("c::put_opt_or_zero(out, {n}, &{self_field});"),
                }
            } else if pf.value && !scalar {
                // Go writes a message it holds by value even when empty (a zero `Time`).
                FieldCode {
                    init: "None",
                    decode: "c::opt".into(),
                    finish: local.clone(),
                    encode: format!("c::put_opt_or_empty(out, {n}, &{self_field});"),
                }
            } else {
                FieldCode {
                    init: "None",
                    decode: "c::opt".into(),
                    finish: local.clone(),
                    encode: format!("c::put_opt(out, {n}, &{self_field});"),
                }
            }
        }
        (Label::Optional, t @ (RustType::Leaf(_) | RustType::Box(_))) => {
            if !ctx.leaf_matches(&pf.ty, t) {
                return mismatch(ctx);
            }
            if ctx.has_default(t) {
                FieldCode {
                    init: "Default::default()",
                    decode: "c::req".into(),
                    finish: local.clone(),
                    encode: format!("c::put_req(out, {n}, &{self_field});"),
                }
            } else {
                FieldCode {
                    init: "None",
                    decode: "c::opt".into(),
                    finish: format!("c::required({local}, r, {json:?})?"),
                    encode: format!("c::put_req(out, {n}, &{self_field});"),
                }
            }
        }
        (Label::Repeated, RustType::Vec(item)) => {
            if !ctx.leaf_matches(&pf.ty, item) {
                return mismatch(ctx);
            }
            FieldCode {
                init: "Vec::new()",
                decode: "c::rep".into(),
                finish: local.clone(),
                encode: format!("c::put_rep(out, {n}, &{self_field});"),
            }
        }
        (Label::Repeated, RustType::Option(inner)) => {
            let RustType::Vec(item) = inner.as_ref() else {
                return mismatch(ctx);
            };
            if !ctx.leaf_matches(&pf.ty, item) {
                return mismatch(ctx);
            }
            FieldCode {
                init: "None",
                decode: "c::opt_rep".into(),
                finish: local.clone(),
                encode: format!("c::put_opt_rep(out, {n}, &{self_field});"),
            }
        }
        (Label::Map, t) => {
            let (opt, value) = match t {
                RustType::Map(v) => (false, v.as_ref()),
                RustType::Option(inner) => match inner.as_ref() {
                    RustType::Map(v) => (true, v.as_ref()),
                    _ => return mismatch(ctx),
                },
                _ => return mismatch(ctx),
            };
            let (helper, put) = if let Some(w) = &wrapper {
                let RustType::Vec(item) = value else {
                    return mismatch(ctx);
                };
                if !ctx.leaf_matches(&w.ty, item) {
                    return mismatch(ctx);
                }
                ("map_items", "put_map_items")
            } else {
                if !ctx.leaf_matches(&pf.ty, value) {
                    return mismatch(ctx);
                }
                if ctx.has_default(value) {
                    ("map", "put_map")
                } else {
                    ("map_strict", "put_map")
                }
            };
            let (decode, encode) = if opt {
                (
                    format!("c::opt_{helper}"),
                    format!("c::put_opt_{}(out, {n}, &{self_field});", &put[4..]),
                )
            } else {
                (
                    format!("c::{helper}"),
                    format!("c::{put}(out, {n}, &{self_field});"),
                )
            };
            FieldCode {
                init: if opt { "None" } else { "Default::default()" },
                decode,
                finish: local.clone(),
                encode,
            }
        }
        _ => return mismatch(ctx),
    };
    Some(code)
}

/// The generated `impl Message` of one type.
fn render_message(
    ctx: &mut Ctx<'_>,
    rust: &RustStruct,
    proto_full: &str,
    msg: &ProtoMessage,
) -> Option<String> {
    let fields = rust.fields.as_ref()?;
    let owner = rust.path.rsplit("::").next().unwrap_or("").to_owned();
    let mut places = BTreeMap::new();
    placements(ctx, msg, &[], &mut places);

    // Each Rust field's code, keyed by the proto field path it is read from.
    let mut codes: BTreeMap<Vec<u32>, (RustField, FieldCode)> = BTreeMap::new();
    let mut read = BTreeSet::new();
    let mut typemeta = Vec::new();
    for rf in fields {
        let Some(place) = places.get(&rf.json).cloned() else {
            if matches!(rf.json.as_str(), "apiVersion" | "kind") {
                // Go's inline TypeMeta, which protobuf does not carry.
                typemeta.push(rf.name.clone());
                ctx.typemeta.insert((rust.path.clone(), rf.name.clone()));
                continue;
            }
            ctx.errors.push(format!(
                "{}.{} (JSON {:?}) has no field in proto message {proto_full}",
                rust.path, rf.name, rf.json
            ));
            continue;
        };
        let Some(code) = field_code(ctx, &owner, rf, place.field) else {
            continue;
        };
        if code.decode == "c::opt_nonzero" {
            ctx.nonzero.insert((rust.path.clone(), rf.name.clone()));
        }
        let mut key: Vec<u32> = place.via.iter().map(|f| f.number).collect();
        key.push(place.field.number);
        read.insert(key.clone());
        codes.insert(key, (rf.clone(), code));
    }
    // Proto fields nobody reads.
    let mut unread = Vec::new();
    collect_unread(ctx, msg, &mut Vec::new(), &read, &mut unread);
    if !unread.is_empty() {
        ctx.unread
            .push(format!("{proto_full}: {}", unread.join(", ")));
    }

    let mut out = String::new();
    let _ = writeln!(out, "impl Message for {} {{", rust.path);
    if rust.default {
        // Decoded in place: into `Self::default()`, an `Option`'s value or a `Vec`'s last
        // element, each field straight into its place.
        let _ = writeln!(out, "c::in_place!();\n");
        let _ = writeln!(
            out,
            "fn merge_message(&mut self, r: &mut Reader<'_>, o: &DecodeOptions) -> Result<()> {{"
        );
        render_decode_loop(ctx, msg, &[], &codes, proto_full, 0, true, &mut out);
        let _ = writeln!(out, "Ok(())\n}}\n");
    } else {
        // No `Default` (a required `Time`): each field into a local, the value built at
        // the end.
        let _ = writeln!(
            out,
            "fn decode_message(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Self> {{"
        );
        for (rf, code) in codes.values() {
            let _ = writeln!(
                out,
                "let mut f_{} = {};",
                rf.name.trim_start_matches("r#"),
                code.init
            );
        }
        render_decode_loop(ctx, msg, &[], &codes, proto_full, 0, false, &mut out);
        let _ = writeln!(out, "Ok(Self {{");
        for (rf, code) in codes.values() {
            let _ = writeln!(out, "{}: {},", rf.name, code.finish);
        }
        for name in &typemeta {
            let _ = writeln!(out, "{name}: None,");
        }
        let _ = writeln!(out, "}})\n}}\n");
    }
    let _ = writeln!(out, "fn encode_message(&self, out: &mut Vec<u8>) {{");
    if codes.is_empty() {
        let _ = writeln!(out, "let _ = out;");
    }
    render_encode(ctx, msg, &[], &codes, &mut out);
    let _ = writeln!(out, "}}\n}}\n");
    Some(out)
}

fn collect_unread(
    ctx: &Ctx<'_>,
    msg: &ProtoMessage,
    prefix: &mut Vec<u32>,
    read: &BTreeSet<Vec<u32>>,
    out: &mut Vec<String>,
) {
    for f in &msg.fields {
        prefix.push(f.number);
        if f.inline {
            if let Some(inner) = ctx.protos.get(&f.ty) {
                collect_unread(ctx, inner, prefix, read, out);
            }
        } else if !read.contains(prefix) {
            out.push(format!("{} = {}", f.name, f.number));
        }
        prefix.pop();
    }
}

#[allow(clippy::too_many_arguments)]
fn render_decode_loop(
    ctx: &Ctx<'_>,
    msg: &ProtoMessage,
    prefix: &[u32],
    codes: &BTreeMap<Vec<u32>, (RustField, FieldCode)>,
    proto_full: &str,
    depth: usize,
    in_place: bool,
    out: &mut String,
) {
    // The reader (`r` is a `&mut Reader`, an inline field's `rN` a `Reader`), how helpers
    // take it, and the wire type's name.
    let (recv, arg, w) = if depth == 0 {
        ("r".to_owned(), "r".to_owned(), "w".to_owned())
    } else {
        (
            format!("r{depth}"),
            format!("&mut r{depth}"),
            format!("w{depth}"),
        )
    };
    let mut arms = String::new();
    for f in &msg.fields {
        let mut key = prefix.to_vec();
        key.push(f.number);
        if f.inline {
            let Some(inner) = ctx.protos.get(&f.ty) else {
                continue;
            };
            if !codes.keys().any(|k| k.starts_with(&key)) {
                continue;
            }
            let sub = depth + 1;
            let _ = writeln!(arms, "{} => {{", f.number);
            let _ = writeln!(arms, "{recv}.expect({w}, WireType::Len)?;");
            let _ = writeln!(arms, "let mut r{sub} = {recv}.message()?;");
            render_decode_loop(
                ctx, inner, &key, codes, proto_full, sub, in_place, &mut arms,
            );
            let _ = writeln!(arms, "}}");
            continue;
        }
        let Some((rf, code)) = codes.get(&key) else {
            continue;
        };
        let local = if in_place {
            format!("self.{}", rf.name)
        } else {
            format!("f_{}", rf.name.trim_start_matches("r#"))
        };
        let call = format!(
            "{}(&mut {local}, {arg}, {w}, o).map_err(|e| e.at({:?}))?",
            code.decode, rf.json
        );
        if proto_full == "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"
            && rf.json == "managedFields"
        {
            // Skipped on the wire when asked: the entries are never built.
            let _ = writeln!(
                arms,
                "{} => if o.drop_managed_fields {{ {recv}.skip({w})? }} else {{ {call} }},",
                f.number
            );
        } else {
            let _ = writeln!(arms, "{} => {call},", f.number);
        }
    }
    let _ = writeln!(out, "while let Some((field, {w})) = {recv}.field()? {{");
    if arms.is_empty() {
        let _ = writeln!(out, "let _ = field;");
        let _ = writeln!(out, "{recv}.skip({w})?;");
    } else {
        let _ = writeln!(out, "match field {{");
        out.push_str(&arms);
        let _ = writeln!(out, "_ => {recv}.skip({w})?,");
        let _ = writeln!(out, "}}");
    }
    let _ = writeln!(out, "}}");
}

fn render_encode(
    ctx: &Ctx<'_>,
    msg: &ProtoMessage,
    prefix: &[u32],
    codes: &BTreeMap<Vec<u32>, (RustField, FieldCode)>,
    out: &mut String,
) {
    let mut fields: Vec<&ProtoField> = msg.fields.iter().collect();
    fields.sort_by_key(|f| f.number);
    for f in fields {
        let mut key = prefix.to_vec();
        key.push(f.number);
        if f.inline {
            let Some(inner) = ctx.protos.get(&f.ty) else {
                continue;
            };
            if !codes.keys().any(|k| k.starts_with(&key)) {
                continue;
            }
            // Go holds an inline struct by value: always written.
            let _ = writeln!(out, "c::put_message(out, {}, |out| {{", f.number);
            render_encode(ctx, inner, &key, codes, out);
            let _ = writeln!(out, "}});");
            continue;
        }
        if let Some((_, code)) = codes.get(&key) {
            let _ = writeln!(out, "{}", code.encode);
        }
    }
}

fn generate(root: &Path) -> Result<BTreeMap<String, String>, String> {
    let protos = read_protos(&root.join(PROTO_DIR))?;
    let (src, crate_version) = crate::codegen::k8s_openapi_source()?;
    let types = read_k8s_openapi(&src)?;

    let mut rust_of = BTreeMap::new();
    let mut defaults = BTreeSet::new();
    for (def, s) in &types {
        if s.default {
            defaults.insert(s.path.clone());
        }
        if let Some(p) = proto_name(def) {
            rust_of.insert(p, s.path.clone());
        }
    }
    defaults.insert("k8s_openapi::ByteString".to_owned());
    let mut ctx = Ctx {
        protos: &protos,
        rust_of,
        defaults,
        errors: Vec::new(),
        unread: Vec::new(),
        typemeta: BTreeSet::new(),
        nonzero: BTreeSet::new(),
    };

    // One file per proto package.
    let mut by_package: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut generated: Vec<(String, String)> = Vec::new();
    let mut count = 0;
    for (def, rust) in &types {
        if HAND_WRITTEN.contains(&def.as_str()) {
            continue;
        }
        let Some(proto_full) = proto_name(def) else {
            continue;
        };
        let Some(msg) = protos.get(&proto_full) else {
            continue;
        };
        if rust.json_newtype && msg.fields.is_empty() {
            by_package
                .entry(package_of(&proto_full))
                .or_default()
                .push(render_empty(&rust.path));
            generated.push((rust.path.clone(), def.clone()));
            count += 1;
            continue;
        }
        if rust.fields.is_none() {
            ctx.errors.push(format!(
                "{def} is not a struct with named fields in k8s-openapi: write its codec by hand and list it in HAND_WRITTEN"
            ));
            continue;
        }
        let package = package_of(&proto_full);
        if let Some(code) = render_message(&mut ctx, rust, &proto_full, msg) {
            by_package.entry(package).or_default().push(code);
            generated.push((rust.path.clone(), def.clone()));
            count += 1;
        }
    }
    if !ctx.errors.is_empty() {
        return Err(format!(
            "the protos and k8s-openapi {crate_version} disagree:\n  {}",
            ctx.errors.join("\n  ")
        ));
    }

    let header = format!(
        "// Generated by `cargo xtask codegen` from the vendored protos ({PROTO_DIR}) and\n\
         // k8s-openapi {crate_version} ({K8S_MODULE}); do not edit. CI runs `cargo xtask codegen --check`.\n\n"
    );
    let header_test = header.clone();
    let mut files = BTreeMap::new();
    let mut modules = Vec::new();
    for (package, impls) in &by_package {
        let module = module_name(package);
        let mut text = header.clone();
        let _ = writeln!(
            text,
            "//! Codecs of `{package}` (generated).\n\n\
             use crate::DecodeOptions;\n\
             use crate::codec::{{self as c, Message, Result}};\n\
             use crate::wire::{{Reader, WireType}};\n"
        );
        if !impls.iter().any(|i| i.contains("WireType::")) {
            text = text.replace(
                "use crate::wire::{Reader, WireType};",
                "use crate::wire::Reader;",
            );
        }
        for i in impls {
            text.push_str(i);
        }
        files.insert(
            format!("{}/{module}.rs", OUT_DIRS[0]),
            crate::codegen::format_rust(&text)?,
        );
        modules.push(module);
    }
    let mut m = header;
    let _ = writeln!(
        m,
        "//! The codecs of {count} k8s-openapi types, one module per protobuf package.\n"
    );
    for module in &modules {
        let _ = writeln!(m, "mod {module};");
    }
    let _ = writeln!(
        m,
        "\n/// Calls `$add!(Type)` for every type above (`crate::registry` registers them).\n\
         macro_rules! for_each_message {{\n($add:ident) => {{"
    );
    for (path, _) in &generated {
        let _ = writeln!(m, "$add!({path});");
    }
    let _ = writeln!(m, "}};\n}}\npub(crate) use for_each_message;");
    if !ctx.unread.is_empty() {
        let _ = writeln!(
            m,
            "\n// Proto fields no k8s-openapi field reads (skipped as unknown when decoding):"
        );
        for u in &ctx.unread {
            let _ = writeln!(m, "// - {u}");
        }
    }
    files.insert(
        format!("{}/mod.rs", OUT_DIRS[0]),
        crate::codegen::format_rust(&m)?,
    );
    files.insert(
        format!("{}/mod.rs", OUT_DIRS[1]),
        crate::codegen::format_rust(&render_test_support(&header_test, &types, &generated, &ctx))?,
    );
    Ok(files)
}

/// The round-trip tests' module: a macro calling back for every type with a generated
/// codec, and the shape of every k8s-openapi struct's fields (JSON name; type as `?`
/// optional, `!` never zero, `[` list of, `{` map of, then `string`, `i32`, `i64`, `bool`,
/// `f64`, `bytes` or a definition name), from which the tests build populated objects.
fn render_test_support(
    header: &str,
    types: &BTreeMap<String, RustStruct>,
    generated: &[(String, String)],
    ctx: &Ctx<'_>,
) -> String {
    let def_of: BTreeMap<&str, &str> = types
        .iter()
        .map(|(def, s)| (s.path.as_str(), def.as_str()))
        .collect();
    let mut out = header.to_owned();
    out.push_str(
        "//! Every type with a generated codec, and the shape of every k8s-openapi struct.\n\n\
         /// Calls `$cb!(Type, \"definition\")` for every type with a generated codec.\n\
         macro_rules! for_each_type {\n($cb:ident) => {\n",
    );
    for (path, def) in generated {
        let _ = writeln!(out, "$cb!({path}, {def:?});");
    }
    out.push_str("};\n}\npub(crate) use for_each_type;\n\n");
    out.push_str(
        "/// Each struct's fields: JSON name and shape.\n\
         pub(crate) const FIELDS: &[(&str, &[(&str, &str)])] = &[\n",
    );
    for (def, s) in types {
        let Some(fields) = &s.fields else { continue };
        let _ = write!(out, "({def:?}, &[");
        for f in fields {
            let key = (s.path.clone(), f.name.clone());
            if ctx.typemeta.contains(&key) {
                // Go's inline TypeMeta, which protobuf does not carry (DeleteOptions).
                continue;
            }
            let mut shape = shape(&f.ty, &def_of);
            if ctx.nonzero.contains(&key) {
                // Never zero: Go's JSON omits a zero, so it decodes to `None`.
                shape.insert(1, '!');
            }
            let _ = write!(out, "({:?}, {:?}),", f.json, shape);
        }
        out.push_str("]),\n");
    }
    out.push_str("];\n");
    out
}

fn shape(ty: &RustType, def_of: &BTreeMap<&str, &str>) -> String {
    match ty {
        RustType::Option(t) => format!("?{}", shape(t, def_of)),
        RustType::Vec(t) => format!("[{}", shape(t, def_of)),
        RustType::Map(t) => format!("{{{}", shape(t, def_of)),
        RustType::Box(t) => shape(t, def_of),
        RustType::Leaf(l) => match l.as_str() {
            "String" => "string".to_owned(),
            "k8s_openapi::ByteString" => "bytes".to_owned(),
            "i32" | "i64" | "bool" | "f64" => l.clone(),
            path => def_of
                .get(path)
                .map_or_else(|| path.to_owned(), |d| (*d).to_owned()),
        },
    }
}

fn package_of(full: &str) -> String {
    full.rsplit_once('.')
        .map(|(p, _)| p.to_owned())
        .unwrap_or_default()
}

/// An empty Go struct that k8s-openapi holds as the JSON `{}` it always is.
fn render_empty(path: &str) -> String {
    format!(
        "impl Message for {path} {{\n\
         fn decode_message(r: &mut Reader<'_>, _: &DecodeOptions) -> Result<Self> {{\n\
         while let Some((_, w)) = r.field()? {{ r.skip(w)?; }}\n\
         Ok(Self(serde_json::Value::Object(serde_json::Map::new())))\n\
         }}\n\n\
         fn encode_message(&self, _: &mut Vec<u8>) {{}}\n\
         }}\n\n"
    )
}

/// `k8s.io.api.core.v1` -> `core_v1`; `k8s.io.apimachinery.pkg.apis.meta.v1` -> `meta_v1`.
fn module_name(package: &str) -> String {
    let parts: Vec<&str> = package.split('.').collect();
    let n = parts.len();
    if n >= 2 {
        format!("{}_{}", parts[n - 2], parts[n - 1])
    } else {
        package.replace('.', "_")
    }
}

// ---------------------------------------------------------------------------------------
// Writing and checking.

fn existing_files(dir: &Path) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        out.insert(entry.file_name().to_string_lossy().into_owned());
    }
    Ok(out)
}

pub(crate) fn check_files(
    label: &str,
    dir: &Path,
    files: &BTreeMap<String, String>,
) -> Result<(), String> {
    let mut stale = Vec::new();
    for (name, text) in files {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(on_disk) if on_disk == *text => {}
            Ok(_) => stale.push(format!("{name} differs")),
            Err(_) => stale.push(format!("{name} is missing")),
        }
    }
    for name in existing_files(dir)? {
        if !files.contains_key(&name) {
            stale.push(format!("{name} should not exist"));
        }
    }
    if stale.is_empty() {
        println!("{label}: {} files up to date", files.len());
        Ok(())
    } else {
        Err(format!(
            "{label} is stale ({}); run `cargo xtask codegen` and commit the result",
            stale.join(", ")
        ))
    }
}

pub(crate) fn write_files(
    label: &str,
    dir: &Path,
    files: &BTreeMap<String, String>,
) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for name in existing_files(dir)? {
        if !files.contains_key(&name) {
            let path = dir.join(&name);
            std::fs::remove_file(&path)
                .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        }
    }
    let mut changed = 0;
    for (name, text) in files {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        changed += 1;
    }
    println!("{label}: {} files, {changed} rewritten", files.len());
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Importing the protos from upstream checkouts.

/// `cargo xtask codegen --import-protos DIR TAG`: rewrites `crates/protobuf/proto/` from
/// checkouts of k8s.io/api, apimachinery, apiextensions-apiserver and kube-aggregator at
/// `TAG` (`DIR/api`, `DIR/apimachinery`, ...).
pub(crate) fn import(dir: &str, tag: &str) -> ExitCode {
    match import_protos(Path::new(dir), tag) {
        Ok(n) => {
            println!("{PROTO_DIR}: {n} packages imported from {dir} ({tag})");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xtask codegen --import-protos: {e}");
            ExitCode::FAILURE
        }
    }
}

fn import_protos(dir: &Path, tag: &str) -> Result<usize, String> {
    let (src, _) = crate::codegen::k8s_openapi_source()?;
    // Every k8s.io/api group-version k8s-openapi has, and the others.
    let mut packages: Vec<(String, String)> = Vec::new();
    let api = src.join(K8S_MODULE).join("api");
    let groups =
        std::fs::read_dir(&api).map_err(|e| format!("cannot read {}: {e}", api.display()))?;
    for group in groups.flatten() {
        if !group.path().is_dir() {
            continue;
        }
        for version in std::fs::read_dir(group.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if version.path().is_dir() {
                packages.push((
                    "api".to_owned(),
                    format!(
                        "{}/{}",
                        group.file_name().to_string_lossy(),
                        version.file_name().to_string_lossy()
                    ),
                ));
            }
        }
    }
    for (repo, path) in OTHER_PACKAGES {
        packages.push(((*repo).to_owned(), (*path).to_owned()));
    }
    packages.sort();

    // Stripped and annotated, then cut down to the messages k8s-openapi has a type for
    // and the ones those refer to (inline structs, list wrappers).
    let mut texts = Vec::new();
    let mut all = BTreeMap::new();
    for (repo, path) in &packages {
        let pkg_dir = dir.join(repo).join(path);
        let proto_path = pkg_dir.join("generated.proto");
        let proto = std::fs::read_to_string(&proto_path)
            .map_err(|e| format!("cannot read {}: {e}", proto_path.display()))?;
        let go = read_go_structs(&pkg_dir)?;
        let text = strip_and_annotate(&proto, &go, &format!("k8s.io/{repo}@{tag} {path}"))
            .map_err(|e| format!("{}: {e}", proto_path.display()))?;
        parse_proto(&text, &mut all).map_err(|e| format!("{}: {e}", proto_path.display()))?;
        texts.push((repo, path, text));
    }
    let types = read_k8s_openapi(&src)?;
    let mut keep = BTreeSet::new();
    let mut todo: Vec<String> = types
        .keys()
        .filter_map(|def| proto_name(def))
        .filter(|p| all.contains_key(p))
        .collect();
    while let Some(name) = todo.pop() {
        if !keep.insert(name.clone()) {
            continue;
        }
        if let Some(msg) = all.get(&name) {
            todo.extend(
                msg.fields
                    .iter()
                    .filter(|f| all.contains_key(&f.ty))
                    .map(|f| f.ty.clone()),
            );
        }
    }

    let out_root = crate::workspace_root().join(PROTO_DIR);
    let _ = std::fs::remove_dir_all(out_root.join("k8s.io"));
    for (repo, path, text) in texts {
        let out = out_root.join("k8s.io").join(repo).join(path);
        std::fs::create_dir_all(&out)
            .map_err(|e| format!("cannot create {}: {e}", out.display()))?;
        std::fs::write(out.join("generated.proto"), keep_messages(&text, &keep))
            .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    }
    Ok(packages.len())
}

/// `text` without the messages not in `keep`.
fn keep_messages(text: &str, keep: &BTreeSet<String>) -> String {
    let mut out = String::new();
    let mut package = "";
    let mut skipping = false;
    let mut blank = false;
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("package ") {
            package = p.trim_end_matches(';');
        }
        if let Some(name) = line.strip_prefix("message ") {
            let name = name.trim_end_matches('{').trim();
            skipping = !keep.contains(&format!("{package}.{name}"));
        }
        if skipping {
            if line == "}" {
                skipping = false;
                blank = true;
            }
            continue;
        }
        if blank && line.is_empty() {
            continue;
        }
        blank = false;
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// What a Go struct field says about its JSON, by protobuf field number.
#[derive(Debug, Clone)]
struct GoField {
    pointer: bool,
    json: String,
    omitempty: bool,
    inline: bool,
}

/// The structs of a Go package directory: struct name -> protobuf number -> facts.
fn read_go_structs(dir: &Path) -> Result<BTreeMap<String, BTreeMap<u32, GoField>>, String> {
    let mut out: BTreeMap<String, BTreeMap<u32, GoField>> = BTreeMap::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.ends_with(".go")
                && !name.ends_with("_test.go")
                && !name.starts_with("zz_generated")
                && !name.starts_with("generated.")
        })
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let mut current: Option<String> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("type ")
                && let Some(name) = rest.strip_suffix(" struct {")
            {
                current = Some(name.trim().to_owned());
                continue;
            }
            if line == "}" {
                current = None;
                continue;
            }
            let Some(name) = &current else { continue };
            let t = line.trim();
            if t.starts_with("//") {
                continue;
            }
            let Some((decl, tag)) = t.split_once('`') else {
                continue;
            };
            let Some(pb) = tag_value(tag, "protobuf") else {
                continue;
            };
            let mut parts = pb.split(',');
            let _wire = parts.next();
            let Some(number) = parts.next().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let words: Vec<&str> = decl.split_whitespace().collect();
            let go_type = words.last().copied().unwrap_or("");
            let json = tag_value(tag, "json").unwrap_or_default();
            let (json_name, json_opts) = json.split_once(',').unwrap_or((json, ""));
            out.entry(name.clone()).or_default().insert(
                number,
                GoField {
                    pointer: go_type.starts_with('*'),
                    json: json_name.to_owned(),
                    omitempty: json_opts.split(',').any(|o| o == "omitempty"),
                    inline: json_name.is_empty() && json_opts.split(',').any(|o| o == "inline"),
                },
            );
        }
    }
    Ok(out)
}

/// The value of `key:"value"` in a Go struct tag.
fn tag_value<'a>(tag: &'a str, key: &str) -> Option<&'a str> {
    let at = tag.find(&format!("{key}:\""))?;
    let rest = &tag[at + key.len() + 2..];
    rest.split_once('"').map(|(v, _)| v)
}

/// A `generated.proto` without comments, each field annotated with its Go facts.
fn strip_and_annotate(
    proto: &str,
    go: &BTreeMap<String, BTreeMap<u32, GoField>>,
    origin: &str,
) -> Result<String, String> {
    let mut out = format!(
        "// {origin}/generated.proto, stripped of comments by `cargo xtask codegen --import-protos`.\n\
         // Trailing comments are facts of the Go struct field (types.go) that its JSON depends on:\n\
         // go:omitempty (a scalar held by value, omitted from JSON when zero), go:value (a message\n\
         // held by value, sent even when empty), go:inline (flattened into the outer type in JSON),\n\
         // json=NAME (a JSON name other than the proto name).\n"
    );
    let mut in_block_comment = false;
    let mut message: Option<String> = None;
    for line in proto.lines() {
        let t = line.trim();
        if in_block_comment {
            if t.contains("*/") {
                in_block_comment = false;
            }
            continue;
        }
        if t.starts_with("/*") {
            in_block_comment = !t.contains("*/");
            continue;
        }
        if t.is_empty() || t.starts_with("//") || t.starts_with("option ") {
            continue;
        }
        if let Some(name) = t.strip_prefix("message ") {
            let name = name.trim_end_matches('{').trim().to_owned();
            out.push('\n');
            out.push_str(t);
            out.push('\n');
            message = Some(name);
            continue;
        }
        if t == "}" {
            message = None;
            out.push_str("}\n");
            continue;
        }
        let Some(msg) = &message else {
            out.push_str(t);
            out.push('\n');
            continue;
        };
        if t.starts_with("enum ") || t.starts_with("oneof ") || t.starts_with("message ") {
            return Err(format!("unexpected nested declaration in {msg}: {t}"));
        }
        let field =
            parse_field(t, "", "").ok_or_else(|| format!("cannot read field {t:?} of {msg}"))?;
        let mut notes = Vec::new();
        if let Some(g) = go.get(msg).and_then(|m| m.get(&field.number)) {
            let scalar = SCALARS.contains(&field.ty.as_str());
            if g.inline {
                notes.push("go:inline".to_owned());
            } else {
                if field.label == Label::Optional && scalar && !g.pointer && g.omitempty {
                    notes.push("go:omitempty".to_owned());
                }
                if field.label == Label::Optional && !scalar && !g.pointer {
                    notes.push("go:value".to_owned());
                }
                if !g.json.is_empty() && g.json != field.name {
                    notes.push(format!("json={}", g.json));
                }
            }
        }
        out.push_str("  ");
        out.push_str(t);
        if !notes.is_empty() {
            out.push_str(" // ");
            out.push_str(&notes.join(" "));
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_their_annotations() {
        let f = parse_field(
            "optional string fsType = 2;",
            "go:omitempty json=fs",
            "k8s.io.api.core.v1",
        )
        .unwrap();
        assert_eq!((f.number, f.omitempty, f.json.as_str()), (2, true, "fs"));
        let f = parse_field(
            "map<string, .k8s.io.apimachinery.pkg.api.resource.Quantity> limits = 1;",
            "",
            "k8s.io.api.core.v1",
        )
        .unwrap();
        assert_eq!(f.label, Label::Map);
        assert_eq!(f.ty, "k8s.io.apimachinery.pkg.api.resource.Quantity");
        let f = parse_field(
            "repeated Container containers = 2;",
            "",
            "k8s.io.api.core.v1",
        )
        .unwrap();
        assert_eq!(f.ty, "k8s.io.api.core.v1.Container");
    }

    #[test]
    fn reads_rust_types() {
        assert_eq!(
            RustType::parse(
                "Option<std::collections::BTreeMap<std::string::String, crate::ByteString>>"
            ),
            Some(RustType::Option(Box::new(RustType::Map(Box::new(
                RustType::Leaf("k8s_openapi::ByteString".into())
            )))))
        );
    }

    #[test]
    fn go_tags() {
        let tag = r#"json:"$ref,omitempty" protobuf:"bytes,2,opt,name=ref""#;
        assert_eq!(tag_value(tag, "json"), Some("$ref,omitempty"));
        assert_eq!(tag_value(tag, "protobuf"), Some("bytes,2,opt,name=ref"));
    }
}
