//! Round trips object → protobuf → object for every type with a generated codec (every
//! built-in kind of Kubernetes 1.36 and every type it holds), over objects with every
//! field set: each is built as JSON from the shape of its k8s-openapi struct
//! (`generated/mod.rs`, written by `cargo xtask codegen`), read with serde, encoded,
//! decoded, and must come back equal, and encode again to the same bytes.

mod generated;

use std::collections::BTreeMap;
use std::fmt::Debug;

use kubecto_protobuf::{Codec, DecodeOptions, Protobuf};
use serde_json::{Value, json};

/// How deep optional nested objects are filled (JSON schemas nest without end).
const MAX_DEPTH: usize = 4;

struct Samples {
    fields: BTreeMap<&'static str, &'static [(&'static str, &'static str)]>,
    counter: i64,
}

impl Samples {
    fn new() -> Self {
        Self {
            fields: generated::FIELDS.iter().copied().collect(),
            counter: 0,
        }
    }

    fn next(&mut self) -> i64 {
        self.counter += 1;
        self.counter
    }

    /// A JSON value of `shape` (see `generated/mod.rs`), or `None` where an optional
    /// value is left out to end a recursion.
    fn value(&mut self, shape: &str, depth: usize) -> Option<Value> {
        if let Some(rest) = shape.strip_prefix('?') {
            return self.value(rest, depth);
        }
        if let Some(rest) = shape.strip_prefix('!') {
            // Go omits the zero from JSON, so `Some(zero)` cannot come back: never zero.
            return match rest {
                "bool" => Some(json!(true)),
                _ => self.value(rest, depth),
            };
        }
        if let Some(rest) = shape.strip_prefix('[') {
            // An empty list is no list (Go sends none): leave it out.
            let a = self.value(rest, depth + 1);
            let b = self.value(rest, depth + 1);
            let items: Vec<Value> = a.into_iter().chain(b).collect();
            return (!items.is_empty()).then_some(Value::Array(items));
        }
        if let Some(rest) = shape.strip_prefix('{') {
            let mut map = serde_json::Map::new();
            for key in ["a/key", "b.ü"] {
                if let Some(v) = self.value(rest, depth + 1) {
                    map.insert(key.to_owned(), v);
                }
            }
            return (!map.is_empty()).then_some(Value::Object(map));
        }
        let n = self.next();
        Some(match shape {
            "string" => json!(format!("s{n}-ü✓")),
            // Negative numbers take 10-byte varints; an i64 past 32 bits.
            "i32" => json!(if n % 2 == 0 { n } else { -n }),
            "i64" => json!(if n % 2 == 0 { 5_000_000_000 + n } else { -n }),
            "bool" => json!(n % 2 == 0),
            "f64" => json!(n as f64 + 0.25),
            // Base64 of bytes that are not UTF-8.
            "bytes" => json!("/wBhYg=="),
            "io.k8s.apimachinery.pkg.apis.meta.v1.Time" => json!("2024-01-02T03:04:05Z"),
            "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime" => {
                json!("2024-01-02T03:04:05.123456Z")
            }
            "io.k8s.apimachinery.pkg.api.resource.Quantity" => json!(format!("{n}500m")),
            "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => {
                if n % 2 == 0 {
                    json!(n)
                } else {
                    json!(format!("port-{n}"))
                }
            }
            "io.k8s.apimachinery.pkg.runtime.RawExtension"
            | "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON" => {
                json!({"a": [1, "b", null, {"c": 2.5}]})
            }
            "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1" => {
                json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}}})
            }
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray" => {
                let schema = self.object(
                    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
                    depth + 1,
                )?;
                if n % 2 == 0 {
                    schema
                } else {
                    json!([schema, {"type": "string"}])
                }
            }
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool" => {
                if n % 2 == 0 {
                    json!(n % 4 == 0)
                } else {
                    self.object(
                        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
                        depth + 1,
                    )?
                }
            }
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray" => {
                if n % 2 == 0 {
                    json!(["a", "b"])
                } else {
                    self.object(
                        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
                        depth + 1,
                    )?
                }
            }
            def => return self.object(def, depth + 1),
        })
    }

    /// An object of definition `def` with every field set (optional nested objects only
    /// down to [`MAX_DEPTH`]); an empty Go struct (`{}`) for a definition without fields.
    fn object(&mut self, def: &str, depth: usize) -> Option<Value> {
        let Some(fields) = self.fields.get(def).copied() else {
            return Some(json!({}));
        };
        if depth > MAX_DEPTH {
            return None;
        }
        let mut map = serde_json::Map::new();
        for (name, shape) in fields {
            let optional = shape.starts_with('?');
            let deeper = if optional { depth } else { 0 };
            match self.value(shape, deeper.max(depth)) {
                Some(v) => {
                    map.insert((*name).to_owned(), v);
                }
                None if optional => {}
                // A required list or map that recursion left empty.
                None if shape.starts_with('[') => {
                    map.insert((*name).to_owned(), json!([]));
                }
                None if shape.starts_with('{') => {
                    map.insert((*name).to_owned(), json!({}));
                }
                None => return None,
            }
        }
        Some(Value::Object(map))
    }
}

fn round_trip<T>(def: &str, samples: &mut Samples, failures: &mut Vec<String>)
where
    T: Protobuf + serde::de::DeserializeOwned + serde::Serialize + PartialEq + Debug + 'static,
{
    let Some(json) = samples.object(def, 0) else {
        failures.push(format!("{def}: no sample"));
        return;
    };
    let object: T = match serde_json::from_value(json.clone()) {
        Ok(o) => o,
        Err(e) => {
            failures.push(format!(
                "{def}: the sample does not deserialize: {e}\n{json}"
            ));
            return;
        }
    };
    let bytes = object.encode_to_vec();
    // The codec found at run time is the type's own.
    match Codec::<T>::find() {
        None => failures.push(format!("{def}: Codec::find does not know it")),
        Some(codec) => {
            let mut erased = Vec::new();
            codec.encode(&object, &mut erased);
            let back = codec.decode(&bytes, &DecodeOptions::default());
            if erased != bytes || back.as_ref().ok() != Some(&object) {
                failures.push(format!("{def}: Codec differs from the Protobuf impl"));
            }
        }
    }
    match T::decode(&bytes, &DecodeOptions::default()) {
        Ok(back) if back == object => {
            if back.encode_to_vec() != bytes {
                failures.push(format!("{def}: encodes differently the second time"));
            }
        }
        Ok(back) => {
            let mut diffs = Vec::new();
            diff(
                "",
                &serde_json::to_value(&object).unwrap_or_default(),
                &serde_json::to_value(&back).unwrap_or_default(),
                &mut diffs,
            );
            failures.push(format!("{def}: came back different: {}", diffs.join("; ")));
        }
        Err(e) => failures.push(format!("{def}: does not decode: {e}")),
    }
}

/// Where two JSON values differ.
fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let null = Value::Null;
                diff(
                    &format!("{path}.{k}"),
                    x.get(k).unwrap_or(&null),
                    y.get(k).unwrap_or(&null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} became {b}")),
        _ => {}
    }
}

#[test]
fn every_type_round_trips_with_every_field_set() {
    let mut samples = Samples::new();
    let mut failures = Vec::new();
    let mut count = 0;
    macro_rules! check {
        ($t:ty, $def:literal) => {
            round_trip::<$t>($def, &mut samples, &mut failures);
            count += 1;
        };
    }
    generated::for_each_type!(check);
    assert!(count > 600, "only {count} types");
    assert!(
        failures.is_empty(),
        "{} of {count} types fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
