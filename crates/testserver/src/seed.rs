//! Seeding: objects from JSON or YAML manifests, created as a POST would create them.

use serde::Deserialize as _;
use serde_json::Value;

use crate::Error;

/// Split manifest text (JSON, or YAML with `---` separated documents) into objects;
/// `kind: List` documents are expanded into their items.
pub(crate) fn parse_manifests(text: &str, origin: &str) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(doc).map_err(|e| Error::Manifest {
            origin: origin.to_owned(),
            message: format!("document {}: {e}", i + 1),
        })?;
        push_object(value, origin, i + 1, &mut out)?;
    }
    Ok(out)
}

fn push_object(value: Value, origin: &str, doc: usize, out: &mut Vec<Value>) -> Result<(), Error> {
    match value {
        Value::Null => Ok(()),
        Value::Object(ref m)
            if m.get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k.ends_with("List"))
                && m.get("items").is_some() =>
        {
            if let Some(items) = m.get("items").and_then(Value::as_array) {
                for item in items {
                    push_object(item.clone(), origin, doc, out)?;
                }
            }
            Ok(())
        }
        Value::Object(_) => {
            out.push(value);
            Ok(())
        }
        other => Err(Error::Manifest {
            origin: origin.to_owned(),
            message: format!("document {doc} is not an object but {}", kind_of(&other)),
        }),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Namespaces first, so that objects in them can be created in any order of the files.
pub(crate) fn creation_order(mut objects: Vec<Value>) -> Vec<Value> {
    objects.sort_by_key(|o| o["kind"] != "Namespace");
    objects
}
