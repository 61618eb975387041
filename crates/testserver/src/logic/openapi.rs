//! OpenAPI v3: the documents a real kube-apiserver v1.36 served, and the schema
//! lookups strategic merge patch and server-side apply need.
//!
//! `GET /openapi/v3` answers the index (each group-version's `serverRelativeURL`
//! carries the SHA-512 of the document, as kube-apiserver's does) and
//! `GET /openapi/v3/<path>` the document. Documents are embedded as the bytes
//! served and parsed on first use only, one at a time.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::{Map, Value};

use crate::logic::patch::Strategy;

/// The index, with hashes computed from the embedded documents when they were copied
/// (a unit test keeps them honest).
pub(crate) const INDEX: &[u8] = include_bytes!("../../data/openapi/v3/index.json");

/// Every document: index path (`api/v1`, `apis/apps/v1`, ...) and its bytes.
static DOCS: &[(&str, &[u8])] = &[
    (
        "api/v1",
        include_bytes!("../../data/openapi/v3/api__v1.json"),
    ),
    (
        "apis/admissionregistration.k8s.io",
        include_bytes!("../../data/openapi/v3/apis__admissionregistration.k8s.io.json"),
    ),
    (
        "apis/admissionregistration.k8s.io/v1",
        include_bytes!("../../data/openapi/v3/apis__admissionregistration.k8s.io__v1.json"),
    ),
    (
        "apis/apiextensions.k8s.io",
        include_bytes!("../../data/openapi/v3/apis__apiextensions.k8s.io.json"),
    ),
    (
        "apis/apiextensions.k8s.io/v1",
        include_bytes!("../../data/openapi/v3/apis__apiextensions.k8s.io__v1.json"),
    ),
    (
        "apis/apiregistration.k8s.io",
        include_bytes!("../../data/openapi/v3/apis__apiregistration.k8s.io.json"),
    ),
    (
        "apis/apiregistration.k8s.io/v1",
        include_bytes!("../../data/openapi/v3/apis__apiregistration.k8s.io__v1.json"),
    ),
    (
        "apis/apps",
        include_bytes!("../../data/openapi/v3/apis__apps.json"),
    ),
    (
        "apis/apps/v1",
        include_bytes!("../../data/openapi/v3/apis__apps__v1.json"),
    ),
    (
        "apis/authentication.k8s.io",
        include_bytes!("../../data/openapi/v3/apis__authentication.k8s.io.json"),
    ),
    (
        "apis/authentication.k8s.io/v1",
        include_bytes!("../../data/openapi/v3/apis__authentication.k8s.io__v1.json"),
    ),
    (
        "apis/authorization.k8s.io",
        include_bytes!("../../data/openapi/v3/apis__authorization.k8s.io.json"),
    ),
    (
        "apis/authorization.k8s.io/v1",
        include_bytes!("../../data/openapi/v3/apis__authorization.k8s.io__v1.json"),
    ),
    (
        "apis/autoscaling",
        include_bytes!("../../data/openapi/v3/apis__autoscaling.json"),
    ),
    (
        "apis/autoscaling/v1",
        include_bytes!("../../data/openapi/v3/apis__autoscaling__v1.json"),
    ),
    (
        "apis/autoscaling/v2",
        include_bytes!("../../data/openapi/v3/apis__autoscaling__v2.json"),
    ),
    (
        "apis/batch",
        include_bytes!("../../data/openapi/v3/apis__batch.json"),
    ),
    (
        "apis/batch/v1",
        include_bytes!("../../data/openapi/v3/apis__batch__v1.json"),
    ),
    (
        "apis/certificates.k8s.io",
        include_bytes!("../../data/openapi/v3/apis__certificates.k8s.io.json"),
    ),
    (
        "apis/certificates.k8s.io/v1",
        include_bytes!("../../data/openapi/v3/apis__certificates.k8s.io__v1.json"),
    ),
    (
        "apis/coordination.k8s.io",
        include_bytes!("../../data/openapi/v3/apis__coordination.k8s.io.json"),
    ),
    (
        "apis/coordination.k8s.io/v1",
        include_bytes!("../../data/openapi/v3/apis__coordination.k8s.io__v1.json"),
    ),
    (
        "apis/discovery.k8s.io",
        include_bytes!("../../data/openapi/v3/apis__discovery.k8s.io.json"),
    ),
    (
        "apis/discovery.k8s.io/v1",
        include_bytes!("../../data/openapi/v3/apis__discovery.k8s.io__v1.json"),
    ),
    (
        "apis/events.k8s.io",
        include_bytes!("../../data/openapi/v3/apis__events.k8s.io.json"),
    ),
    (
        "apis/events.k8s.io/v1",
        include_bytes!("../../data/openapi/v3/apis__events.k8s.io__v1.json"),
    ),
    (
        "apis/flowcontrol.apiserver.k8s.io",
        include_bytes!("../../data/openapi/v3/apis__flowcontrol.apiserver.k8s.io.json"),
    ),
    (
        "apis/flowcontrol.apiserver.k8s.io/v1",
        include_bytes!("../../data/openapi/v3/apis__flowcontrol.apiserver.k8s.io__v1.json"),
    ),
    (
        "apis/networking.k8s.io",
        include_bytes!("../../data/openapi/v3/apis__networking.k8s.io.json"),
    ),
    (
        "apis/networking.k8s.io/v1",
        include_bytes!("../../data/openapi/v3/apis__networking.k8s.io__v1.json"),
    ),
    (
        "apis/node.k8s.io",
        include_bytes!("../../data/openapi/v3/apis__node.k8s.io.json"),
    ),
    (
        "apis/node.k8s.io/v1",
        include_bytes!("../../data/openapi/v3/apis__node.k8s.io__v1.json"),
    ),
    (
        "apis/policy",
        include_bytes!("../../data/openapi/v3/apis__policy.json"),
    ),
    (
        "apis/policy/v1",
        include_bytes!("../../data/openapi/v3/apis__policy__v1.json"),
    ),
    (
        "apis/rbac.authorization.k8s.io",
        include_bytes!("../../data/openapi/v3/apis__rbac.authorization.k8s.io.json"),
    ),
    (
        "apis/rbac.authorization.k8s.io/v1",
        include_bytes!("../../data/openapi/v3/apis__rbac.authorization.k8s.io__v1.json"),
    ),
    (
        "apis/resource.k8s.io",
        include_bytes!("../../data/openapi/v3/apis__resource.k8s.io.json"),
    ),
    (
        "apis/resource.k8s.io/v1",
        include_bytes!("../../data/openapi/v3/apis__resource.k8s.io__v1.json"),
    ),
    (
        "apis/scheduling.k8s.io",
        include_bytes!("../../data/openapi/v3/apis__scheduling.k8s.io.json"),
    ),
    (
        "apis/scheduling.k8s.io/v1",
        include_bytes!("../../data/openapi/v3/apis__scheduling.k8s.io__v1.json"),
    ),
    (
        "apis/storage.k8s.io",
        include_bytes!("../../data/openapi/v3/apis__storage.k8s.io.json"),
    ),
    (
        "apis/storage.k8s.io/v1",
        include_bytes!("../../data/openapi/v3/apis__storage.k8s.io__v1.json"),
    ),
];

const N: usize = DOCS.len();

static PARSED: [OnceLock<Value>; N] = [const { OnceLock::new() }; N];

/// Every recorded document's bytes.
pub(crate) fn documents() -> impl Iterator<Item = &'static [u8]> {
    DOCS.iter().map(|(_, bytes)| *bytes)
}

/// A document's bytes by its index path.
pub(crate) fn document(path: &str) -> Option<&'static [u8]> {
    DOCS.iter().find(|(p, _)| *p == path).map(|(_, b)| *b)
}

/// The hash the index names for a document.
pub(crate) fn index_hash(path: &str) -> Option<String> {
    static INDEX_PARSED: OnceLock<Value> = OnceLock::new();
    let index = INDEX_PARSED.get_or_init(|| serde_json::from_slice(INDEX).unwrap_or(Value::Null));
    let url = index["paths"][path]["serverRelativeURL"].as_str()?;
    url.split_once("hash=").map(|(_, h)| h.to_owned())
}

/// The parsed document of a group-version (`""` for core), parsed once.
pub(crate) fn parsed(group: &str, version: &str) -> Option<&'static Value> {
    let path = if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    };
    let i = DOCS.iter().position(|(p, _)| *p == path)?;
    Some(PARSED[i].get_or_init(|| serde_json::from_slice(DOCS[i].1).unwrap_or(Value::Null)))
}

/// The description of a field of a named schema (`io.k8s.api.core.v1.PodStatus`, `podIP`)
/// in a group-version's document; "" when absent.
pub(crate) fn field_description(group: &str, version: &str, schema: &str, field: &str) -> String {
    parsed(group, version)
        .and_then(|d| {
            d["components"]["schemas"][schema]["properties"][field]["description"].as_str()
        })
        .unwrap_or_default()
        .to_owned()
}

/// The schema of one kind, with the document's other schemas to resolve `$ref`s: a
/// built-in kind's from the recorded documents, or a CRD version's structural schema.
#[derive(Clone, Copy)]
pub(crate) struct KindSchema<'a> {
    schemas: Option<&'a Map<String, Value>>,
    root: &'a Value,
    /// A CRD's schema: list merging follows `x-kubernetes-list-type`, as it has no
    /// patch extensions.
    custom: bool,
}

/// The schema of a custom resource version (`openAPIV3Schema`).
pub(crate) fn custom_schema(root: &Value) -> KindSchema<'_> {
    KindSchema {
        schemas: None,
        root,
        custom: true,
    }
}

/// The schema of a built-in kind, found by its `x-kubernetes-group-version-kind`.
pub(crate) fn kind_schema(group: &str, version: &str, kind: &str) -> Option<KindSchema<'static>> {
    type Cache = HashMap<(String, String, String), Option<KindSchema<'static>>>;
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let key = (group.to_owned(), version.to_owned(), kind.to_owned());
    if let Some(found) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return *found;
    }
    let found = find_kind_schema(group, version, kind);
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, found);
    found
}

fn find_kind_schema(group: &str, version: &str, kind: &str) -> Option<KindSchema<'static>> {
    let schemas = parsed(group, version)?["components"]["schemas"].as_object()?;
    let root = schemas.values().find(|s| {
        s["x-kubernetes-group-version-kind"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|g| g["group"] == group && g["version"] == version && g["kind"] == kind)
    })?;
    Some(KindSchema {
        schemas: Some(schemas),
        root,
        custom: false,
    })
}

impl<'a> KindSchema<'a> {
    /// Follow `$ref` (bare or inside a one-element `allOf`) to the schema it names.
    fn resolve(&self, mut s: &'a Value) -> &'a Value {
        for _ in 0..16 {
            let r = s["$ref"]
                .as_str()
                .or_else(|| s["allOf"].as_array().and_then(|a| a.first())?["$ref"].as_str());
            match r.and_then(|r| r.strip_prefix("#/components/schemas/")) {
                Some(name) => match self.schemas.and_then(|m| m.get(name)) {
                    Some(next) => s = next,
                    None => return s,
                },
                None => return s,
            }
        }
        s
    }

    /// The (unresolved) schema of the field at `path` (field names; list items are
    /// entered implicitly, map values through `additionalProperties`).
    pub(crate) fn field(&self, path: &[&str]) -> Option<&'a Value> {
        let mut cur = self.root;
        for seg in path {
            let mut s = self.resolve(cur);
            while s["type"] == "array" {
                s = self.resolve(&s["items"]);
            }
            cur = match s["properties"].get(*seg) {
                Some(p) => p,
                None => match s.get("additionalProperties") {
                    Some(a) if a.is_object() => a,
                    _ => return None,
                },
            };
        }
        Some(cur)
    }

    /// A CRD's schema (rather than a built-in kind's)?
    pub(crate) fn is_custom(&self) -> bool {
        self.custom
    }

    /// The kind's own schema.
    pub(crate) fn root(&self) -> &'a Value {
        self.root
    }

    /// Follow `$ref`s of a schema node (public form of the resolver).
    pub(crate) fn resolve_node(&self, s: &'a Value) -> &'a Value {
        self.resolve(s)
    }

    /// `x-kubernetes-patch-merge-key` and `x-kubernetes-patch-strategy` of the field at `path`.
    pub(crate) fn patch_meta(&self, path: &[&str]) -> Option<(String, Strategy)> {
        if self.custom && path.first() == Some(&"metadata") {
            return kind_schema("", "v1", "ConfigMap")?.patch_meta(path);
        }
        let f = self.field(path)?;
        if self.custom {
            return match f["x-kubernetes-list-type"].as_str() {
                Some("map") => Some((
                    f["x-kubernetes-list-map-keys"][0]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    Strategy::Merge,
                )),
                Some("set") => Some((String::new(), Strategy::Merge)),
                _ => None,
            };
        }
        let key = f["x-kubernetes-patch-merge-key"].as_str();
        let strategy = f["x-kubernetes-patch-strategy"].as_str();
        if key.is_none() && strategy.is_none() {
            return None;
        }
        Some((
            key.unwrap_or_default().to_owned(),
            Strategy::from_extension(strategy.unwrap_or_default()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha512};

    #[test]
    fn index_hashes_match_the_documents() {
        // Hashing all 6 MB is slow in a debug build; a small and a large document suffice.
        for path in ["apis/apps", "apis/node.k8s.io/v1"] {
            let doc = document(path).expect("document");
            let hex: String = Sha512::digest(doc)
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect();
            assert_eq!(Some(hex), index_hash(path), "{path}");
        }
        for (path, _) in DOCS {
            assert!(index_hash(path).is_some(), "{path} missing from the index");
        }
    }

    #[test]
    fn patch_metadata_comes_from_the_extensions() {
        let pod = kind_schema("", "v1", "Pod").expect("pod schema");
        assert_eq!(
            pod.patch_meta(&["spec", "containers"]),
            Some(("name".into(), Strategy::Merge))
        );
        assert_eq!(
            pod.patch_meta(&["spec", "containers", "ports"]),
            Some(("containerPort".into(), Strategy::Merge))
        );
        assert_eq!(
            pod.patch_meta(&["metadata", "finalizers"]),
            Some((String::new(), Strategy::Merge))
        );
        assert_eq!(pod.patch_meta(&["spec", "containers", "args"]), None);
        let deploy = kind_schema("apps", "v1", "Deployment").expect("deployment schema");
        assert_eq!(
            deploy.patch_meta(&["spec", "template", "spec", "volumes"]),
            Some(("name".into(), Strategy::Merge))
        );
        assert!(kind_schema("apps", "v1", "Nope").is_none());
    }
}
