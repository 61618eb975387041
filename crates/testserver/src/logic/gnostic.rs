//! A Swagger 2.0 document (JSON) in protobuf, as gnostic's `openapi.v2.Document`
//! (`openapiv2/OpenAPIv2.proto`): what kube-apiserver answers `GET /openapi/v2` when
//! asked for `application/com.github.proto-openapi.spec.v2.v1.0+protobuf`, and what
//! client-go's `OpenAPISchema()` (kubectl before 1.29) insists on.
//!
//! Only what `openapi.go` in kube-apiserver writes is encoded: schemas, path items,
//! operations, parameters and responses. Values of `default`, `enum`, `example` and
//! vendor extensions go into `Any.yaml` as compact JSON, which YAML reads as the same
//! value. Protobuf messages merge when concatenated, so the encoding of two documents'
//! paths and definitions, one after the other, is the encoding of their union.

use serde_json::{Map, Value};

/// Protobuf wire-format writer.
#[derive(Default)]
struct Pb(Vec<u8>);

impl Pb {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire));
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    /// A string field; proto3 leaves out empty ones.
    fn string(&mut self, field: u32, s: &str) {
        if !s.is_empty() {
            self.bytes(field, s.as_bytes());
        }
    }

    fn bool(&mut self, field: u32, b: bool) {
        if b {
            self.key(field, 0);
            self.varint(1);
        }
    }

    fn int64(&mut self, field: u32, v: i64) {
        if v != 0 {
            self.key(field, 0);
            self.varint(v as u64);
        }
    }

    fn double(&mut self, field: u32, v: f64) {
        if v != 0.0 {
            self.key(field, 1);
            self.0.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// A nested message, always written (an empty message is not an absent one).
    fn message(&mut self, field: u32, f: impl FnOnce(&mut Pb)) {
        let mut inner = Pb::default();
        f(&mut inner);
        self.bytes(field, &inner.0);
    }

    /// `Any { yaml = 2 }` holding `v`.
    fn any(&mut self, field: u32, v: &Value) {
        self.message(field, |a| a.string(2, &v.to_string()));
    }

    /// `repeated NamedAny vendor_extension` from the `x-` keys of `obj`.
    fn extensions(&mut self, field: u32, obj: &Map<String, Value>) {
        for (name, v) in obj.iter().filter(|(k, _)| k.starts_with("x-")) {
            self.message(field, |n| {
                n.string(1, name);
                n.any(2, v);
            });
        }
    }

    fn strings(&mut self, field: u32, v: &Value) {
        for s in v.as_array().into_iter().flatten().filter_map(Value::as_str) {
            self.bytes(field, s.as_bytes());
        }
    }
}

fn str_of<'v>(obj: &'v Map<String, Value>, key: &str) -> &'v str {
    obj.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn bool_of(obj: &Map<String, Value>, key: &str) -> bool {
    obj.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn int_of(obj: &Map<String, Value>, key: &str) -> i64 {
    obj.get(key).and_then(Value::as_i64).unwrap_or(0)
}

fn float_of(obj: &Map<String, Value>, key: &str) -> f64 {
    obj.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

/// A `Document` with these paths and definitions (both Swagger 2.0 JSON maps), and the
/// `swagger` and `info` fields when `info` is given (`title`, `version`).
pub(crate) fn document(
    info: Option<(&str, &str)>,
    paths: &Map<String, Value>,
    definitions: &Map<String, Value>,
) -> Vec<u8> {
    let mut doc = Pb::default();
    if let Some((title, version)) = info {
        doc.string(1, "2.0");
        doc.message(2, |i| {
            i.string(1, title);
            i.string(2, version);
        });
    }
    if !paths.is_empty() {
        doc.message(8, |p| {
            for (name, item) in paths {
                p.message(2, |n| {
                    n.string(1, name);
                    n.message(2, |pi| path_item(pi, item));
                });
            }
        });
    }
    if !definitions.is_empty() {
        doc.message(9, |d| {
            for (name, s) in definitions {
                d.message(1, |n| {
                    n.string(1, name);
                    n.message(2, |m| schema(m, s));
                });
            }
        });
    }
    doc.0
}

/// `Schema`.
fn schema(pb: &mut Pb, v: &Value) {
    let Some(s) = v.as_object() else { return };
    pb.string(1, str_of(s, "$ref"));
    pb.string(2, str_of(s, "format"));
    pb.string(3, str_of(s, "title"));
    pb.string(4, str_of(s, "description"));
    if let Some(d) = s.get("default") {
        pb.any(5, d);
    }
    pb.double(6, float_of(s, "multipleOf"));
    pb.double(7, float_of(s, "maximum"));
    pb.bool(8, bool_of(s, "exclusiveMaximum"));
    pb.double(9, float_of(s, "minimum"));
    pb.bool(10, bool_of(s, "exclusiveMinimum"));
    pb.int64(11, int_of(s, "maxLength"));
    pb.int64(12, int_of(s, "minLength"));
    pb.string(13, str_of(s, "pattern"));
    pb.int64(14, int_of(s, "maxItems"));
    pb.int64(15, int_of(s, "minItems"));
    pb.bool(16, bool_of(s, "uniqueItems"));
    pb.int64(17, int_of(s, "maxProperties"));
    pb.int64(18, int_of(s, "minProperties"));
    if let Some(r) = s.get("required") {
        pb.strings(19, r);
    }
    for e in s
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        pb.any(20, e);
    }
    match s.get("additionalProperties") {
        Some(Value::Bool(b)) => pb.message(21, |a| {
            // A `false` must be written: the oneof says which branch is set.
            a.key(2, 0);
            a.varint(u64::from(*b));
        }),
        Some(sub @ Value::Object(_)) => pb.message(21, |a| a.message(1, |m| schema(m, sub))),
        _ => {}
    }
    match s.get("type") {
        Some(Value::String(t)) => pb.message(22, |t2| t2.string(1, t)),
        Some(types @ Value::Array(_)) => pb.message(22, |t2| t2.strings(1, types)),
        _ => {}
    }
    if let Some(items) = s.get("items") {
        pb.message(23, |i| match items {
            Value::Array(all) => all.iter().for_each(|one| i.message(1, |m| schema(m, one))),
            one => i.message(1, |m| schema(m, one)),
        });
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        pb.message(25, |p| {
            for (name, sub) in props {
                p.message(1, |n| {
                    n.string(1, name);
                    n.message(2, |m| schema(m, sub));
                });
            }
        });
    }
    pb.bool(27, bool_of(s, "readOnly"));
    if let Some(e) = s.get("example") {
        pb.any(30, e);
    }
    pb.extensions(31, s);
}

/// `PathItem`.
fn path_item(pb: &mut Pb, v: &Value) {
    let Some(item) = v.as_object() else { return };
    pb.string(1, str_of(item, "$ref"));
    for (field, method) in [
        (2, "get"),
        (3, "put"),
        (4, "post"),
        (5, "delete"),
        (6, "options"),
        (7, "head"),
        (8, "patch"),
    ] {
        if let Some(op) = item.get(method).and_then(Value::as_object) {
            pb.message(field, |o| operation(o, op));
        }
    }
    for p in item
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        pb.message(9, |i| parameters_item(i, p));
    }
    pb.extensions(10, item);
}

/// `Operation`.
fn operation(pb: &mut Pb, op: &Map<String, Value>) {
    if let Some(tags) = op.get("tags") {
        pb.strings(1, tags);
    }
    pb.string(2, str_of(op, "summary"));
    pb.string(3, str_of(op, "description"));
    pb.string(5, str_of(op, "operationId"));
    if let Some(p) = op.get("produces") {
        pb.strings(6, p);
    }
    if let Some(c) = op.get("consumes") {
        pb.strings(7, c);
    }
    for p in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        pb.message(8, |i| parameters_item(i, p));
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        pb.message(9, |r| {
            for (code, resp) in responses {
                let Some(resp) = resp.as_object() else {
                    continue;
                };
                r.message(1, |n| {
                    n.string(1, code);
                    // ResponseValue { response = 1: Response }.
                    n.message(2, |rv| {
                        rv.message(1, |rs| {
                            rs.string(1, str_of(resp, "description"));
                            if let Some(s) = resp.get("schema") {
                                // SchemaItem { schema = 1 }.
                                rs.message(2, |si| si.message(1, |m| schema(m, s)));
                            }
                            rs.extensions(5, resp);
                        });
                    });
                });
            }
        });
    }
    if let Some(s) = op.get("schemes") {
        pb.strings(10, s);
    }
    pb.bool(11, bool_of(op, "deprecated"));
    pb.extensions(13, op);
}

/// `ParametersItem { parameter = 1: Parameter }`: a body parameter, or a non-body one
/// (query, path or header).
fn parameters_item(pb: &mut Pb, v: &Value) {
    let Some(p) = v.as_object() else { return };
    pb.message(1, |param| match str_of(p, "in") {
        "body" => param.message(1, |b| {
            b.string(1, str_of(p, "description"));
            b.string(2, str_of(p, "name"));
            b.string(3, "body");
            b.bool(4, bool_of(p, "required"));
            if let Some(s) = p.get("schema") {
                b.message(5, |m| schema(m, s));
            }
            b.extensions(6, p);
        }),
        place => param.message(2, |nb| {
            // NonBodyParameter: header = 1, formData = 2, query = 3, path = 4. Query
            // and formData carry allow_empty_value at 5, which shifts their later
            // fields by one.
            let (field, shift) = match place {
                "header" => (1, 0),
                "formData" => (2, 1),
                "path" => (4, 0),
                _ => (3, 1),
            };
            nb.message(field, |q| {
                q.bool(1, bool_of(p, "required"));
                q.string(2, place);
                q.string(3, str_of(p, "description"));
                q.string(4, str_of(p, "name"));
                if shift == 1 {
                    q.bool(5, bool_of(p, "allowEmptyValue"));
                }
                q.string(5 + shift, str_of(p, "type"));
                q.string(6 + shift, str_of(p, "format"));
                q.string(8 + shift, str_of(p, "collectionFormat"));
                if let Some(d) = p.get("default") {
                    q.any(9 + shift, d);
                }
                q.bool(19 + shift, bool_of(p, "uniqueItems"));
                for e in p
                    .get("enum")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    q.any(20 + shift, e);
                }
                q.extensions(22 + shift, p);
            });
        }),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Reads one level of a message: (field, wire type, payload or varint).
    fn fields(mut b: &[u8]) -> Vec<(u32, u8, Vec<u8>)> {
        fn varint(b: &mut &[u8]) -> u64 {
            let mut v = 0u64;
            let mut shift = 0;
            loop {
                let byte = b[0];
                *b = &b[1..];
                v |= u64::from(byte & 0x7f) << shift;
                if byte < 0x80 {
                    return v;
                }
                shift += 7;
            }
        }
        let mut out = Vec::new();
        while !b.is_empty() {
            let key = varint(&mut b);
            let (field, wire) = ((key >> 3) as u32, (key & 7) as u8);
            match wire {
                0 => out.push((field, 0, varint(&mut b).to_le_bytes().to_vec())),
                1 => {
                    out.push((field, 1, b[..8].to_vec()));
                    b = &b[8..];
                }
                2 => {
                    let n = varint(&mut b) as usize;
                    out.push((field, 2, b[..n].to_vec()));
                    b = &b[n..];
                }
                w => panic!("unexpected wire type {w}"),
            }
        }
        out
    }

    fn field(msg: &[u8], n: u32) -> Vec<Vec<u8>> {
        fields(msg)
            .into_iter()
            .filter(|(f, _, _)| *f == n)
            .map(|(_, _, b)| b)
            .collect()
    }

    #[test]
    fn a_definition_is_a_named_schema_with_its_extensions() {
        let defs = json!({"io.k8s.api.core.v1.Pod": {
            "type": "object", "required": ["spec"],
            "properties": {"spec": {"$ref": "#/definitions/io.k8s.api.core.v1.PodSpec"}},
            "x-kubernetes-group-version-kind": [{"group": "", "kind": "Pod", "version": "v1"}],
        }});
        let doc = document(
            Some(("Kubernetes", "v1.36.2")),
            &Map::new(),
            defs.as_object().unwrap(),
        );
        assert_eq!(field(&doc, 1), [b"2.0".to_vec()]);
        let definitions = &field(&doc, 9)[0];
        let named = &field(definitions, 1)[0];
        assert_eq!(field(named, 1), [b"io.k8s.api.core.v1.Pod".to_vec()]);
        let pod = &field(named, 2)[0];
        assert_eq!(field(&field(pod, 22)[0], 1), [b"object".to_vec()]);
        assert_eq!(field(pod, 19), [b"spec".to_vec()]);
        let spec = &field(&field(&field(pod, 25)[0], 1)[0], 2)[0];
        assert_eq!(
            field(spec, 1),
            [b"#/definitions/io.k8s.api.core.v1.PodSpec".to_vec()]
        );
        let ext = &field(pod, 31)[0];
        assert_eq!(field(ext, 1), [b"x-kubernetes-group-version-kind".to_vec()]);
        let yaml = &field(&field(ext, 2)[0], 2)[0];
        assert_eq!(
            serde_json::from_slice::<Value>(yaml).unwrap(),
            json!([{"group": "", "kind": "Pod", "version": "v1"}])
        );
    }

    #[test]
    fn query_and_path_parameters_use_their_own_field_numbers() {
        let paths = json!({"/api/v1/namespaces/{namespace}/pods/{name}": {
            "parameters": [{"name": "name", "in": "path", "required": true, "type": "string", "uniqueItems": true}],
            "patch": {"parameters": [
                {"name": "fieldValidation", "in": "query", "type": "string", "uniqueItems": true},
                {"name": "body", "in": "body", "required": true, "schema": {"type": "object"}},
            ]},
        }});
        let doc = document(None, paths.as_object().unwrap(), &Map::new());
        assert!(field(&doc, 1).is_empty(), "no header without info");
        let item = &field(&field(&field(&doc, 8)[0], 2)[0], 2)[0];
        // Path parameter: NonBodyParameter.path_parameter_sub_schema (4), type at 5,
        // unique_items at 19.
        let path_param = &field(&field(&field(&field(item, 9)[0], 1)[0], 2)[0], 4)[0];
        assert_eq!(field(path_param, 4), [b"name".to_vec()]);
        assert_eq!(field(path_param, 5), [b"string".to_vec()]);
        assert_eq!(field(path_param, 19).len(), 1);
        // Query parameter: query_parameter_sub_schema (3), type at 6, unique_items at 20.
        let patch = &field(item, 8)[0];
        let params = field(patch, 8);
        let query = &field(&field(&field(&params[0], 1)[0], 2)[0], 3)[0];
        assert_eq!(field(query, 4), [b"fieldValidation".to_vec()]);
        assert_eq!(field(query, 6), [b"string".to_vec()]);
        assert_eq!(field(query, 20).len(), 1);
        // Body parameter: Parameter.body_parameter (1) with its schema at 5.
        let body = &field(&field(&params[1], 1)[0], 1)[0];
        assert_eq!(field(body, 3), [b"body".to_vec()]);
        assert_eq!(field(body, 5).len(), 1);
    }

    #[test]
    fn additional_properties_false_is_written() {
        let defs = json!({"a": {"type": "object", "additionalProperties": false}});
        let doc = document(None, &Map::new(), defs.as_object().unwrap());
        let a = &field(&field(&field(&doc, 9)[0], 1)[0], 2)[0];
        let ap = &field(a, 21)[0];
        assert_eq!(fields(ap), [(2, 0, 0u64.to_le_bytes().to_vec())]);
    }
}
