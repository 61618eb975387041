//! [`Unstructured`]: any Kubernetes object as a JSON object, with typed accessors for the
//! fields every object has and helpers for nested fields (apimachinery's
//! `unstructured.Unstructured` and its `Nested*` functions).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// An object of any kind, held as its JSON object. Serializes as that object.
///
/// ```
/// use kubecto_dynamic::Unstructured;
/// let mut cm = Unstructured::new("v1", "ConfigMap");
/// cm.set_name("settings");
/// cm.set_namespace("default");
/// cm.set_nested_field(&["data", "mode"], "fast".into()).unwrap();
/// assert_eq!(cm.nested_str(&["data", "mode"]), Some("fast"));
/// assert_eq!(cm.name(), Some("settings"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Unstructured {
    object: Map<String, Value>,
}

/// An owner reference, as found in `metadata.ownerReferences`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    /// The owner's `apiVersion`.
    pub api_version: String,
    /// The owner's kind.
    pub kind: String,
    /// The owner's name.
    pub name: String,
    /// The owner's UID.
    pub uid: String,
    /// Whether the owner is the managing controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    /// Whether the owner cannot be deleted before this object (foreground deletion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
}

impl OwnerReference {
    /// A reference to an owner.
    pub fn new(
        api_version: impl Into<String>,
        kind: impl Into<String>,
        name: impl Into<String>,
        uid: impl Into<String>,
    ) -> Self {
        Self {
            api_version: api_version.into(),
            kind: kind.into(),
            name: name.into(),
            uid: uid.into(),
            controller: None,
            block_owner_deletion: None,
        }
    }
}

/// Walks `path` through nested objects.
fn walk<'a>(mut v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    for key in path {
        v = v.as_object()?.get(*key)?;
    }
    Some(v)
}

impl Unstructured {
    /// An empty object of this `apiVersion` and `kind`.
    pub fn new(api_version: &str, kind: &str) -> Self {
        let mut object = Map::new();
        object.insert("apiVersion".to_owned(), Value::from(api_version));
        object.insert("kind".to_owned(), Value::from(kind));
        Self { object }
    }

    /// Wraps a JSON value.
    ///
    /// # Errors
    /// [`Error::InvalidObject`] when the value is not a JSON object.
    pub fn from_value(value: Value) -> Result<Self> {
        match value {
            Value::Object(object) => Ok(Self { object }),
            other => Err(Error::InvalidObject {
                what: format!("an object must be a JSON object, not {}", kind_of(&other)),
            }),
        }
    }

    /// Wraps a JSON object.
    pub fn from_map(object: Map<String, Value>) -> Self {
        Self { object }
    }

    /// Converts any serializable typed object (a k8s-openapi `Pod`, your own CRD struct).
    ///
    /// # Errors
    /// [`Error::Convert`] when it does not serialize to a JSON object.
    pub fn from_typed<T: Serialize>(typed: &T) -> Result<Self> {
        let value = serde_json::to_value(typed).map_err(|source| Error::Convert {
            type_name: std::any::type_name::<T>(),
            source,
        })?;
        Self::from_value(value)
    }

    /// Converts into a typed object.
    ///
    /// # Errors
    /// [`Error::Convert`] naming the type when the object does not fit it.
    pub fn to_typed<T: DeserializeOwned>(&self) -> Result<T> {
        T::deserialize(&Value::Object(self.object.clone())).map_err(|source| Error::Convert {
            type_name: std::any::type_name::<T>(),
            source,
        })
    }

    /// Converts into a typed object without copying.
    ///
    /// # Errors
    /// As [`to_typed`](Self::to_typed).
    pub fn into_typed<T: DeserializeOwned>(self) -> Result<T> {
        serde_json::from_value(Value::Object(self.object)).map_err(|source| Error::Convert {
            type_name: std::any::type_name::<T>(),
            source,
        })
    }

    /// The JSON object.
    pub fn object(&self) -> &Map<String, Value> {
        &self.object
    }

    /// The JSON object, mutable.
    pub fn object_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.object
    }

    /// The JSON value.
    pub fn into_value(self) -> Value {
        Value::Object(self.object)
    }

    fn top_str(&self, key: &str) -> Option<&str> {
        self.object.get(key)?.as_str()
    }

    fn meta_str(&self, key: &str) -> Option<&str> {
        self.object.get("metadata")?.get(key)?.as_str()
    }

    fn set_meta(&mut self, key: &str, value: Value) {
        let meta = self
            .object
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !meta.is_object() {
            *meta = Value::Object(Map::new());
        }
        if let Value::Object(m) = meta {
            m.insert(key.to_owned(), value);
        }
    }

    /// `apiVersion`.
    pub fn api_version(&self) -> Option<&str> {
        self.top_str("apiVersion")
    }

    /// `kind`.
    pub fn kind(&self) -> Option<&str> {
        self.top_str("kind")
    }

    /// `apiVersion` split into group and version (the core group is empty).
    pub fn group_version(&self) -> Option<kubecto_rest_core::GroupVersion> {
        self.api_version()
            .map(kubecto_rest_core::GroupVersion::parse)
    }

    /// Sets `apiVersion`.
    pub fn set_api_version(&mut self, api_version: &str) {
        self.object
            .insert("apiVersion".to_owned(), Value::from(api_version));
    }

    /// Sets `kind`.
    pub fn set_kind(&mut self, kind: &str) {
        self.object.insert("kind".to_owned(), Value::from(kind));
    }

    /// `metadata.name`.
    pub fn name(&self) -> Option<&str> {
        self.meta_str("name")
    }

    /// Sets `metadata.name`.
    pub fn set_name(&mut self, name: &str) {
        self.set_meta("name", Value::from(name));
    }

    /// `metadata.generateName`.
    pub fn generate_name(&self) -> Option<&str> {
        self.meta_str("generateName")
    }

    /// `metadata.namespace`.
    pub fn namespace(&self) -> Option<&str> {
        self.meta_str("namespace")
    }

    /// Sets `metadata.namespace`.
    pub fn set_namespace(&mut self, namespace: &str) {
        self.set_meta("namespace", Value::from(namespace));
    }

    /// `metadata.resourceVersion`.
    pub fn resource_version(&self) -> Option<&str> {
        self.meta_str("resourceVersion")
    }

    /// Sets `metadata.resourceVersion` (for an update that must not lose a race).
    pub fn set_resource_version(&mut self, rv: &str) {
        self.set_meta("resourceVersion", Value::from(rv));
    }

    /// `metadata.uid`.
    pub fn uid(&self) -> Option<&str> {
        self.meta_str("uid")
    }

    /// `metadata.generation`.
    pub fn generation(&self) -> Option<i64> {
        self.nested_i64(&["metadata", "generation"])
    }

    /// `metadata.creationTimestamp`.
    pub fn creation_timestamp(&self) -> Option<&str> {
        self.meta_str("creationTimestamp")
    }

    /// `metadata.deletionTimestamp`.
    pub fn deletion_timestamp(&self) -> Option<&str> {
        self.meta_str("deletionTimestamp")
    }

    fn string_map(&self, key: &str) -> BTreeMap<String, String> {
        self.object
            .get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn set_string_map(&mut self, key: &str, map: BTreeMap<String, String>) {
        let m: Map<String, Value> = map.into_iter().map(|(k, v)| (k, Value::from(v))).collect();
        self.set_meta(key, Value::Object(m));
    }

    /// `metadata.labels` (empty when unset).
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.string_map("labels")
    }

    /// Replaces `metadata.labels`.
    pub fn set_labels(&mut self, labels: BTreeMap<String, String>) {
        self.set_string_map("labels", labels);
    }

    /// One label.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.nested_str(&["metadata", "labels", key])
    }

    /// `metadata.annotations` (empty when unset).
    pub fn annotations(&self) -> BTreeMap<String, String> {
        self.string_map("annotations")
    }

    /// Replaces `metadata.annotations`.
    pub fn set_annotations(&mut self, annotations: BTreeMap<String, String>) {
        self.set_string_map("annotations", annotations);
    }

    /// One annotation.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.nested_str(&["metadata", "annotations", key])
    }

    /// `metadata.ownerReferences` (entries that do not decode are skipped).
    pub fn owner_references(&self) -> Vec<OwnerReference> {
        self.nested_slice(&["metadata", "ownerReferences"])
            .map(|refs| {
                refs.iter()
                    .filter_map(|r| OwnerReference::deserialize(r).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Replaces `metadata.ownerReferences`.
    pub fn set_owner_references(&mut self, refs: &[OwnerReference]) {
        let v = refs
            .iter()
            .filter_map(|r| serde_json::to_value(r).ok())
            .collect();
        self.set_meta("ownerReferences", Value::Array(v));
    }

    /// The value at `path` (`&["spec", "replicas"]`), if every step is an object key.
    pub fn nested(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        walk(self.object.get(*first)?, rest)
    }

    /// The string at `path`.
    pub fn nested_str(&self, path: &[&str]) -> Option<&str> {
        self.nested(path)?.as_str()
    }

    /// The integer at `path`.
    pub fn nested_i64(&self, path: &[&str]) -> Option<i64> {
        self.nested(path)?.as_i64()
    }

    /// The float at `path` (integers too).
    pub fn nested_f64(&self, path: &[&str]) -> Option<f64> {
        self.nested(path)?.as_f64()
    }

    /// The boolean at `path`.
    pub fn nested_bool(&self, path: &[&str]) -> Option<bool> {
        self.nested(path)?.as_bool()
    }

    /// The array at `path`.
    pub fn nested_slice(&self, path: &[&str]) -> Option<&[Value]> {
        self.nested(path)?.as_array().map(Vec::as_slice)
    }

    /// The object at `path`.
    pub fn nested_map(&self, path: &[&str]) -> Option<&Map<String, Value>> {
        self.nested(path)?.as_object()
    }

    /// The array of strings at `path` (`None` if any element is not a string).
    pub fn nested_string_slice(&self, path: &[&str]) -> Option<Vec<&str>> {
        self.nested_slice(path)?.iter().map(Value::as_str).collect()
    }

    /// Sets the value at `path`, creating missing objects on the way.
    ///
    /// # Errors
    /// [`Error::InvalidObject`] when `path` is empty or a step on the way holds something
    /// other than an object (nothing is changed then).
    pub fn set_nested_field(&mut self, path: &[&str], value: Value) -> Result<()> {
        let Some((last, parents)) = path.split_last() else {
            return Err(Error::InvalidObject {
                what: "set_nested_field needs a non-empty path".to_owned(),
            });
        };
        let mut map = &mut self.object;
        for (i, key) in parents.iter().enumerate() {
            let entry = map.entry(*key).or_insert_with(|| Value::Object(Map::new()));
            map = match entry {
                Value::Object(m) => m,
                other => {
                    return Err(Error::InvalidObject {
                        what: format!(
                            "cannot set {}: {} is {}, not an object",
                            path.join("."),
                            parents[..=i].join("."),
                            kind_of(other)
                        ),
                    });
                }
            };
        }
        map.insert((*last).to_owned(), value);
        Ok(())
    }

    /// Removes the value at `path` and returns it (`None` if it was not there).
    pub fn remove_nested_field(&mut self, path: &[&str]) -> Option<Value> {
        let (last, parents) = path.split_last()?;
        let mut map = &mut self.object;
        for key in parents {
            map = map.get_mut(*key)?.as_object_mut()?;
        }
        map.remove(*last)
    }
}

impl TryFrom<Value> for Unstructured {
    type Error = Error;

    fn try_from(value: Value) -> Result<Self> {
        Self::from_value(value)
    }
}

impl From<Unstructured> for Value {
    fn from(u: Unstructured) -> Self {
        u.into_value()
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Unstructured {
        Unstructured::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "prod", "uid": "u1", "resourceVersion": "7",
                         "labels": {"app": "web", "n": 1}, "annotations": {"a": "b"},
                         "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "o", "uid": "u0", "controller": true}, 5]},
            "spec": {"replicas": 3, "paused": false, "template": {"spec": {"containers": [{"name": "c"}]}}}
        }))
        .unwrap()
    }

    #[test]
    fn accessors() {
        let d = deployment();
        assert_eq!(d.api_version(), Some("apps/v1"));
        assert_eq!(
            d.group_version(),
            Some(kubecto_rest_core::GroupVersion::new("apps", "v1"))
        );
        assert_eq!(d.kind(), Some("Deployment"));
        assert_eq!(d.name(), Some("web"));
        assert_eq!(d.namespace(), Some("prod"));
        assert_eq!(d.uid(), Some("u1"));
        assert_eq!(d.resource_version(), Some("7"));
        assert_eq!(d.labels().len(), 1, "non-string label values are skipped");
        assert_eq!(d.annotation("a"), Some("b"));
        let owners = d.owner_references();
        assert_eq!(owners.len(), 1);
        assert_eq!(owners[0].controller, Some(true));
    }

    #[test]
    fn nested_fields() {
        let mut d = deployment();
        assert_eq!(d.nested_i64(&["spec", "replicas"]), Some(3));
        assert_eq!(d.nested_bool(&["spec", "paused"]), Some(false));
        assert_eq!(
            d.nested_slice(&["spec", "template", "spec", "containers"])
                .map(<[Value]>::len),
            Some(1)
        );
        assert!(d.nested_map(&["spec", "template"]).is_some());
        assert_eq!(d.nested_str(&["spec", "replicas"]), None, "wrong type");
        assert_eq!(d.nested_str(&["spec", "nope", "deeper"]), None);
        assert_eq!(d.nested(&[]), None);

        d.set_nested_field(&["spec", "strategy", "type"], json!("Recreate"))
            .unwrap();
        assert_eq!(
            d.nested_str(&["spec", "strategy", "type"]),
            Some("Recreate")
        );
        let err = d
            .set_nested_field(&["spec", "replicas", "x"], json!(1))
            .unwrap_err();
        assert!(
            err.to_string().contains("spec.replicas is a number"),
            "{err}"
        );
        assert!(d.set_nested_field(&[], json!(1)).is_err());

        assert_eq!(d.remove_nested_field(&["spec", "replicas"]), Some(json!(3)));
        assert_eq!(d.remove_nested_field(&["spec", "replicas"]), None);
        assert_eq!(d.remove_nested_field(&["metadata", "name", "x"]), None);
    }

    #[test]
    fn setters_create_metadata() {
        let mut u = Unstructured::new("v1", "ConfigMap");
        u.set_name("a");
        u.set_namespace("b");
        u.set_labels(BTreeMap::from([("k".to_owned(), "v".to_owned())]));
        u.set_owner_references(&[OwnerReference::new("v1", "Pod", "p", "uid")]);
        assert_eq!(u.label("k"), Some("v"));
        assert_eq!(u.owner_references()[0].name, "p");
        assert!(Unstructured::from_value(json!([1])).is_err());
    }

    #[test]
    fn typed_round_trip() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        #[serde(rename_all = "camelCase")]
        struct Cm {
            api_version: String,
            kind: String,
            data: BTreeMap<String, String>,
        }
        let cm = Cm {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            data: BTreeMap::from([("a".into(), "b".into())]),
        };
        let u = Unstructured::from_typed(&cm).unwrap();
        assert_eq!(u.nested_str(&["data", "a"]), Some("b"));
        assert_eq!(u.to_typed::<Cm>().unwrap(), cm);
        let err = Unstructured::new("v1", "X").to_typed::<Cm>().unwrap_err();
        assert!(err.to_string().contains("Cm"), "{err}");
    }
}
