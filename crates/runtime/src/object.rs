//! What the runtime reads from an object: its name, namespace, resourceVersion, uid,
//! labels and owner references, for typed objects (every `k8s-openapi` resource and your
//! own types with an `ObjectMeta`) and for dynamic ones ([`Unstructured`]).
//!
//! [`Object`] carries a marker ([`Typed`] or [`Dynamic`]) only because Rust's coherence
//! rules refuse one blanket impl over `k8s_openapi::Metadata` beside an impl for a type of
//! another crate; the compiler infers it, so `Store::<Pod>::new()` and
//! `Store::<Unstructured>::new()` both just work.

use std::marker::PhantomData;
use std::sync::Arc;

use k8s_openapi::Metadata;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kubecto_dynamic::Unstructured;
use serde_json::Value;

/// The marker of typed objects: anything with a `k8s_openapi::Metadata<Ty = ObjectMeta>`.
#[derive(Debug, Clone, Copy)]
pub struct Typed;

/// The marker of dynamic objects ([`Unstructured`]).
#[derive(Debug, Clone, Copy)]
pub struct Dynamic;

/// One entry of `metadata.ownerReferences`, borrowed from the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerRef<'a> {
    /// The owner's `apiVersion`.
    pub api_version: &'a str,
    /// The owner's kind.
    pub kind: &'a str,
    /// The owner's name (in the object's namespace, or cluster-scoped).
    pub name: &'a str,
    /// The owner's uid.
    pub uid: &'a str,
    /// Whether the owner is the object's managing controller.
    pub controller: bool,
}

/// An object the runtime can cache and key: the metadata accessors it needs. Implemented
/// for every type with a `k8s_openapi::Metadata<Ty = ObjectMeta>` (marker [`Typed`]) and
/// for [`Unstructured`] (marker [`Dynamic`]); you never name the marker.
pub trait Object<M>: Send + Sync + 'static {
    /// `metadata.name`.
    fn name(&self) -> Option<&str>;
    /// `metadata.namespace` (`None` for cluster-scoped objects).
    fn namespace(&self) -> Option<&str>;
    /// `metadata.resourceVersion`.
    fn resource_version(&self) -> Option<&str>;
    /// `metadata.uid`.
    fn uid(&self) -> Option<&str>;
    /// One label's value.
    fn label(&self, key: &str) -> Option<&str>;
    /// Every label, as `(key, value)` pairs.
    fn labels(&self) -> Vec<(&str, &str)>;
    /// `metadata.ownerReferences`.
    fn owner_references(&self) -> Vec<OwnerRef<'_>>;
    /// Clears `metadata.managedFields` (server-side apply's bookkeeping, often half an
    /// object's size and of no use to a controller).
    fn drop_managed_fields(&mut self);
}

impl<K> Object<Typed> for K
where
    K: Metadata<Ty = ObjectMeta> + Send + Sync + 'static,
{
    fn name(&self) -> Option<&str> {
        self.metadata().name.as_deref()
    }
    fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }
    fn resource_version(&self) -> Option<&str> {
        self.metadata().resource_version.as_deref()
    }
    fn uid(&self) -> Option<&str> {
        self.metadata().uid.as_deref()
    }
    fn label(&self, key: &str) -> Option<&str> {
        self.metadata()
            .labels
            .as_ref()?
            .get(key)
            .map(String::as_str)
    }
    fn labels(&self) -> Vec<(&str, &str)> {
        self.metadata()
            .labels
            .iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
    fn owner_references(&self) -> Vec<OwnerRef<'_>> {
        self.metadata()
            .owner_references
            .iter()
            .flatten()
            .map(|r| OwnerRef {
                api_version: &r.api_version,
                kind: &r.kind,
                name: &r.name,
                uid: &r.uid,
                controller: r.controller == Some(true),
            })
            .collect()
    }
    fn drop_managed_fields(&mut self) {
        self.metadata_mut().managed_fields = None;
    }
}

fn meta_str<'a>(u: &'a Unstructured, key: &str) -> Option<&'a str> {
    u.nested_str(&["metadata", key])
}

impl Object<Dynamic> for Unstructured {
    fn name(&self) -> Option<&str> {
        meta_str(self, "name")
    }
    fn namespace(&self) -> Option<&str> {
        meta_str(self, "namespace").filter(|n| !n.is_empty())
    }
    fn resource_version(&self) -> Option<&str> {
        meta_str(self, "resourceVersion")
    }
    fn uid(&self) -> Option<&str> {
        meta_str(self, "uid")
    }
    fn label(&self, key: &str) -> Option<&str> {
        self.nested_str(&["metadata", "labels", key])
    }
    fn labels(&self) -> Vec<(&str, &str)> {
        self.nested_map(&["metadata", "labels"])
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
            .collect()
    }
    fn owner_references(&self) -> Vec<OwnerRef<'_>> {
        self.nested_slice(&["metadata", "ownerReferences"])
            .into_iter()
            .flatten()
            .filter_map(|r| {
                let get = |k: &str| r.get(k).and_then(Value::as_str);
                Some(OwnerRef {
                    api_version: get("apiVersion")?,
                    kind: get("kind")?,
                    name: get("name")?,
                    uid: get("uid")?,
                    controller: r.get("controller").and_then(Value::as_bool) == Some(true),
                })
            })
            .collect()
    }
    fn drop_managed_fields(&mut self) {
        self.remove_nested_field(&["metadata", "managedFields"]);
    }
}

/// The object-safe form of [`Object`], so that stores and informers hold one accessor and
/// carry no marker in their types.
pub(crate) trait Access<K>: Send + Sync {
    fn name<'a>(&self, k: &'a K) -> Option<&'a str>;
    fn namespace<'a>(&self, k: &'a K) -> Option<&'a str>;
    fn resource_version<'a>(&self, k: &'a K) -> Option<&'a str>;
}

struct Via<M>(PhantomData<fn() -> M>);

impl<K: Object<M>, M> Access<K> for Via<M> {
    fn name<'a>(&self, k: &'a K) -> Option<&'a str> {
        k.name()
    }
    fn namespace<'a>(&self, k: &'a K) -> Option<&'a str> {
        k.namespace()
    }
    fn resource_version<'a>(&self, k: &'a K) -> Option<&'a str> {
        k.resource_version()
    }
}

/// The accessor of `K`.
pub(crate) type Accessor<K> = Arc<dyn Access<K>>;

pub(crate) fn accessor<K: Object<M>, M: 'static>() -> Accessor<K> {
    Arc::new(Via::<M>(PhantomData))
}

/// client-go's `MetaNamespaceKeyFunc`: `namespace/name`, or `name` for a cluster-scoped
/// object.
pub fn object_key(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) if !ns.is_empty() => {
            let mut k = String::with_capacity(ns.len() + 1 + name.len());
            k.push_str(ns);
            k.push('/');
            k.push_str(name);
            k
        }
        _ => name.to_owned(),
    }
}

/// client-go's `SplitMetaNamespaceKey`: `(namespace, name)` of a key made by
/// [`object_key`].
pub fn split_key(key: &str) -> (Option<&str>, &str) {
    match key.split_once('/') {
        Some((ns, name)) => (Some(ns), name),
        None => (None, key),
    }
}

/// The key of `obj` (see [`object_key`]).
pub fn key_of<K: Object<M>, M>(obj: &K) -> String {
    object_key(obj.namespace(), obj.name().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;
    use serde_json::json;

    use super::*;

    #[test]
    fn typed_and_dynamic_read_the_same_metadata() {
        let value = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {
                "name": "c", "namespace": "ns", "uid": "u1", "resourceVersion": "7",
                "labels": {"app": "web"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "d", "uid": "u0", "controller": true}],
                "managedFields": [{"manager": "kubectl"}]
            }
        });
        let mut typed: ConfigMap = serde_json::from_value(value.clone()).unwrap();
        let mut dynamic = Unstructured::from_value(value).unwrap();
        assert_eq!(key_of(&typed), "ns/c");
        assert_eq!(key_of(&dynamic), "ns/c");
        assert_eq!(typed.label("app"), Some("web"));
        assert_eq!(Object::labels(&dynamic), vec![("app", "web")]);
        assert_eq!(typed.owner_references(), Object::owner_references(&dynamic));
        assert!(typed.owner_references()[0].controller);
        assert_eq!(
            (typed.resource_version(), Object::uid(&dynamic)),
            (Some("7"), Some("u1"))
        );
        typed.drop_managed_fields();
        dynamic.drop_managed_fields();
        assert!(typed.metadata.managed_fields.is_none());
        assert!(dynamic.nested(&["metadata", "managedFields"]).is_none());
    }

    #[test]
    fn keys_split_back() {
        assert_eq!(object_key(Some("ns"), "a"), "ns/a");
        assert_eq!(object_key(None, "node-1"), "node-1");
        assert_eq!(split_key("ns/a"), (Some("ns"), "a"));
        assert_eq!(split_key("node-1"), (None, "node-1"));
    }
}
