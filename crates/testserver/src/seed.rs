//! Seeding: objects from JSON or YAML manifests, created as a POST would create them.

use serde_json::Value;

use crate::error::Error;
use crate::objects::create::create;
use crate::objects::update::seed_status;
use crate::shared::response::render;
use crate::shared::state::State;

/// Split manifest text (JSON, or YAML with `---` separated documents) into objects;
/// `kind: List` documents are expanded into their items.
pub(crate) fn parse_manifests(text: &str, origin: &str) -> Result<Vec<Value>, Error> {
    // YAML as kubectl reads it (YAML 1.1: `0644` is octal), any number of documents.
    let options = serde_saphyr::options! {
        with_snippet: false,
        legacy_octal_numbers: true,
        budget: serde_saphyr::budget! {
            max_depth: 128,
            max_nodes: 10_000_000,
            max_documents: 1_000_000,
        },
    };
    let docs: Vec<Value> =
        serde_saphyr::from_multiple_with_options(text, options).map_err(|e| Error::Manifest {
            origin: origin.to_owned(),
            message: e.to_string(),
        })?;
    let mut out = Vec::new();
    for (i, value) in docs.into_iter().enumerate() {
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

/// Create one object as a POST would (keeping a `status` it carries, as a status update
/// would write it), and answer it as a GET would.
pub(crate) fn seed_one(state: &State, object: Value) -> Result<Value, Error> {
    let kind = object["kind"].as_str().unwrap_or_default().to_owned();
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let refuse = |code: u16, message: String| Error::Seed {
        kind: kind.clone(),
        name: name.clone(),
        code,
        message,
    };
    let info = state
        .registry
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .resource_for_kind(api_version, &kind)
        .ok_or_else(|| {
            refuse(
                404,
                format!("no resource serves kind {kind:?} in {api_version:?}"),
            )
        })?;
    let namespace = object["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_owned();
    let ns = info.namespaced.then_some(namespace.as_str());
    let obj = create(state, &info, ns, object.clone(), false).map_err(|e| {
        refuse(
            e.code,
            e.body["message"].as_str().unwrap_or_default().to_owned(),
        )
    })?;
    let wanted = object.get("status").filter(|s| s.is_object());
    let obj = match wanted {
        Some(status) if info.has_subresource("status") => {
            seed_status(state, &info, ns, &obj.name, status.clone()).map_err(|e| {
                refuse(
                    e.code,
                    e.body["message"].as_str().unwrap_or_default().to_owned(),
                )
            })?
        }
        _ => obj,
    };
    let rendered = render(&obj.body, &info);
    serde_json::from_slice(&rendered).map_err(|e| refuse(500, e.to_string()))
}
