//! The resource table: every resource the server serves.
//!
//! Derived from the aggregated discovery documents (`apidiscovery.k8s.io/v2`) that a
//! real kube-apiserver v1.36 served (`data/discovery/`), so verbs, scopes, short
//! names, categories and subresources are the real ones, not a hand-typed list.
//! Both discovery forms (aggregated and legacy) are rendered from this table.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

const AGGREGATED_CORE: &str = include_str!("../../data/discovery/aggregated-api.json");
const AGGREGATED_GROUPS: &str = include_str!("../../data/discovery/aggregated-apis.json");

/// One served resource at one group/version.
#[derive(Debug)]
pub(crate) struct ResourceInfo {
    /// API group, "" for core.
    pub group: String,
    /// API version.
    pub version: String,
    /// Plural resource name, e.g. `pods`.
    pub plural: String,
    /// Singular name, e.g. `pod`.
    pub singular: String,
    /// Kind of the objects, e.g. `Pod`.
    pub kind: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Verbs the resource supports.
    pub verbs: Vec<String>,
    /// Subresource names (`status`, `scale`, ...).
    pub subresources: Vec<String>,
    /// The resource's entry in aggregated discovery, as served.
    pub aggregated: Value,
    /// For a custom resource: its version entry of the CRD's `spec.versions` (schema,
    /// subresources, additionalPrinterColumns); `None` for built-in resources.
    pub custom: Option<Value>,
}

impl ResourceInfo {
    /// `group/version`, or `version` for core: the `apiVersion` of objects.
    pub(crate) fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Storage key shared by all versions of one resource: `group/plural`.
    pub(crate) fn storage_key(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    /// Does the resource support this verb?
    pub(crate) fn has_verb(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// Does the resource have this subresource?
    pub(crate) fn has_subresource(&self, sub: &str) -> bool {
        self.subresources.iter().any(|s| s == sub)
    }

    /// Kubernetes' storage version hash: base64 of the first 8 bytes of
    /// sha256("group/version/Kind") of the storage version.
    fn storage_version_hash(&self) -> Option<String> {
        // Virtual resources (reviews, bindings, componentstatuses) are not stored.
        if !self.has_verb("watch") {
            return None;
        }
        let (group, version) = storage_version(&self.group, &self.plural, &self.version);
        let digest = Sha256::digest(format!("{group}/{version}/{}", self.kind).as_bytes());
        Some(base64::engine::general_purpose::STANDARD.encode(&digest[..8]))
    }

    /// The resource's entries (itself and its subresources) in a legacy `APIResourceList`.
    fn legacy_entries(&self, out: &mut Vec<Value>) {
        let a = &self.aggregated;
        let mut main = Map::new();
        main.insert("name".into(), json!(self.plural));
        main.insert("singularName".into(), json!(self.singular));
        main.insert("namespaced".into(), json!(self.namespaced));
        main.insert("kind".into(), json!(self.kind));
        main.insert("verbs".into(), json!(self.verbs));
        for key in ["shortNames", "categories"] {
            if let Some(v) = a.get(key) {
                main.insert(key.into(), v.clone());
            }
        }
        if let Some(hash) = self.storage_version_hash() {
            main.insert("storageVersionHash".into(), json!(hash));
        }
        out.push(Value::Object(main));
        let subs = a.get("subresources").and_then(Value::as_array);
        for sub in subs.into_iter().flatten() {
            let name = sub
                .get("subresource")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let rk = sub.get("responseKind").cloned().unwrap_or(Value::Null);
            let mut e = Map::new();
            e.insert("name".into(), json!(format!("{}/{}", self.plural, name)));
            e.insert("singularName".into(), json!(""));
            e.insert("namespaced".into(), json!(self.namespaced));
            let rk_group = rk.get("group").and_then(Value::as_str).unwrap_or_default();
            let rk_version = rk
                .get("version")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !rk_group.is_empty() || !rk_version.is_empty() {
                e.insert("group".into(), json!(rk_group));
                e.insert("version".into(), json!(rk_version));
            }
            e.insert("kind".into(), rk.get("kind").cloned().unwrap_or(json!("")));
            e.insert(
                "verbs".into(),
                sub.get("verbs").cloned().unwrap_or(json!([])),
            );
            out.push(Value::Object(e));
        }
    }
}

/// Kubernetes' version ordering: GA before beta before alpha, higher numbers first;
/// anything else last. Larger is preferred.
pub(crate) fn version_priority(v: &str) -> (u8, u32, u32) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let Ok(major) = digits.parse::<u32>() else {
        return (0, 0, 0);
    };
    let tail = &rest[digits.len()..];
    let minor = |t: &str| t.parse::<u32>().ok();
    if tail.is_empty() {
        (3, major, 0)
    } else if let Some(n) = tail.strip_prefix("beta").and_then(minor) {
        (2, major, n)
    } else if let Some(n) = tail.strip_prefix("alpha").and_then(minor) {
        (1, major, n)
    } else {
        (0, 0, 0)
    }
}

/// Where a resource is stored, when it is not its own group/version.
fn storage_version<'a>(group: &'a str, plural: &str, version: &'a str) -> (&'a str, &'a str) {
    match (group, plural) {
        // events.k8s.io/v1 Events are stored as core v1 Events.
        ("events.k8s.io", "events") => ("", "v1"),
        // Both autoscaling versions of HPAs are stored as autoscaling/v2.
        ("autoscaling", "horizontalpodautoscalers") => ("autoscaling", "v2"),
        // CRDs are still written in their v1beta1 storage version.
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            ("apiextensions.k8s.io", "v1beta1")
        }
        // Newly promoted to v1 in 1.36; storage still writes the previous version.
        (
            "admissionregistration.k8s.io",
            "mutatingadmissionpolicies" | "mutatingadmissionpolicybindings",
        ) => ("admissionregistration.k8s.io", "v1beta1"),
        _ => (group, version),
    }
}

/// One API group and its versions, preferred first.
#[derive(Debug)]
pub(crate) struct GroupInfo {
    /// Group name ("" for core).
    pub name: String,
    /// Versions, preferred first, each with its resources in discovery order.
    pub versions: Vec<(String, Vec<Arc<ResourceInfo>>)>,
}

/// Every group, version and resource the server serves.
#[derive(Debug)]
pub(crate) struct Registry {
    core: GroupInfo,
    groups: Vec<GroupInfo>,
    by_gvr: HashMap<(String, String, String), Arc<ResourceInfo>>,
}

impl Registry {
    /// The built-in resources of Kubernetes v1.36.
    pub(crate) fn builtin() -> Registry {
        let core: Value =
            serde_json::from_str(AGGREGATED_CORE).expect("embedded discovery is JSON");
        let groups: Value =
            serde_json::from_str(AGGREGATED_GROUPS).expect("embedded discovery is JSON");
        let mut reg = Registry {
            core: GroupInfo {
                name: String::new(),
                versions: Vec::new(),
            },
            groups: Vec::new(),
            by_gvr: HashMap::new(),
        };
        for item in core["items"].as_array().into_iter().flatten() {
            reg.core = parse_group(item);
        }
        for item in groups["items"].as_array().into_iter().flatten() {
            let g = parse_group(item);
            reg.groups.push(g);
        }
        reg.reindex();
        reg
    }

    fn reindex(&mut self) {
        self.by_gvr.clear();
        for g in std::iter::once(&self.core).chain(&self.groups) {
            for (version, resources) in &g.versions {
                for r in resources {
                    self.by_gvr.insert(
                        (g.name.clone(), version.clone(), r.plural.clone()),
                        Arc::clone(r),
                    );
                }
            }
        }
    }

    /// Serve custom resources: each `(version, entry)` adds or replaces the resource at
    /// group/version (versions kept in Kubernetes' priority order, groups after built-ins).
    pub(crate) fn add_custom(
        &mut self,
        group: &str,
        plural: &str,
        versions: Vec<(String, ResourceInfo)>,
    ) {
        self.remove_custom(group, plural);
        let idx = match self.groups.iter().position(|g| g.name == group) {
            Some(i) => i,
            None => {
                self.groups.push(GroupInfo {
                    name: group.to_owned(),
                    versions: Vec::new(),
                });
                self.groups.len() - 1
            }
        };
        let g = &mut self.groups[idx];
        for (version, info) in versions {
            match g.versions.iter_mut().find(|(v, _)| *v == version) {
                Some((_, rs)) => rs.push(Arc::new(info)),
                None => g.versions.push((version, vec![Arc::new(info)])),
            }
        }
        g.versions.sort_by(|a, b| {
            version_priority(&b.0)
                .cmp(&version_priority(&a.0))
                .then(a.0.cmp(&b.0))
        });
        self.reindex();
    }

    /// Stop serving a custom resource; versions and groups left empty go too.
    pub(crate) fn remove_custom(&mut self, group: &str, plural: &str) {
        for g in self.groups.iter_mut().filter(|g| g.name == group) {
            for (_, rs) in g.versions.iter_mut() {
                rs.retain(|r| !(r.plural == plural && r.custom.is_some()));
            }
            g.versions.retain(|(_, rs)| !rs.is_empty());
        }
        self.groups.retain(|g| !g.versions.is_empty());
        self.reindex();
    }

    /// Group-versions with custom resources, each with those resources.
    pub(crate) fn custom_group_versions(&self) -> Vec<(String, String, Vec<Arc<ResourceInfo>>)> {
        let mut out = Vec::new();
        for g in &self.groups {
            for (v, rs) in &g.versions {
                let custom: Vec<Arc<ResourceInfo>> =
                    rs.iter().filter(|r| r.custom.is_some()).cloned().collect();
                if !custom.is_empty() {
                    out.push((g.name.clone(), v.clone(), custom));
                }
            }
        }
        out
    }

    /// Is this group/version served at all?
    pub(crate) fn serves_group_version(&self, group: &str, version: &str) -> bool {
        self.group(group)
            .is_some_and(|g| g.versions.iter().any(|(v, _)| v == version))
    }

    /// A group by name ("" for core).
    pub(crate) fn group(&self, name: &str) -> Option<&GroupInfo> {
        if name.is_empty() {
            Some(&self.core)
        } else {
            self.groups.iter().find(|g| g.name == name)
        }
    }

    /// The resource at group/version/plural.
    pub(crate) fn resource(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Option<Arc<ResourceInfo>> {
        self.by_gvr
            .get(&(group.to_owned(), version.to_owned(), plural.to_owned()))
            .cloned()
    }

    /// A resource stored under `group/plural` (see [`ResourceInfo::storage_key`]), at its
    /// group's preferred version.
    pub(crate) fn by_storage_key(&self, key: &str) -> Option<Arc<ResourceInfo>> {
        let (group, plural) = key.split_once('/')?;
        let g = self.group(group)?;
        g.versions
            .iter()
            .flat_map(|(_, rs)| rs.iter())
            .find(|r| r.plural == plural)
            .cloned()
    }

    /// The preferred-version resource for a kind in a group (for seeding manifests).
    pub(crate) fn resource_for_kind(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Option<Arc<ResourceInfo>> {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let g = self.group(group)?;
        let (_, resources) = g.versions.iter().find(|(v, _)| v == version)?;
        resources.iter().find(|r| r.kind == kind).cloned()
    }

    /// `GET /api` with an aggregated-discovery Accept header.
    pub(crate) fn aggregated_core(&self) -> Value {
        aggregated_list(std::iter::once(&self.core))
    }

    /// `GET /apis` with an aggregated-discovery Accept header.
    pub(crate) fn aggregated_groups(&self) -> Value {
        aggregated_list(self.groups.iter())
    }

    /// `GET /api` (legacy): `APIVersions`.
    pub(crate) fn legacy_core_versions(&self, server_address: &str) -> Value {
        let versions: Vec<&str> = self.core.versions.iter().map(|(v, _)| v.as_str()).collect();
        json!({
            "kind": "APIVersions",
            "versions": versions,
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        })
    }

    /// `GET /apis` (legacy): `APIGroupList`.
    pub(crate) fn legacy_group_list(&self) -> Value {
        let groups: Vec<Value> = self.groups.iter().map(legacy_group_body).collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    /// `GET /apis/{group}` (legacy): `APIGroup`.
    pub(crate) fn legacy_group(&self, group: &str) -> Option<Value> {
        let g = self.groups.iter().find(|g| g.name == group)?;
        let mut body = legacy_group_body(g);
        if let Value::Object(m) = &mut body {
            let mut out = Map::new();
            out.insert("kind".into(), json!("APIGroup"));
            out.insert("apiVersion".into(), json!("v1"));
            out.extend(std::mem::take(m));
            return Some(Value::Object(out));
        }
        None
    }

    /// `GET /api/v1` or `/apis/{group}/{version}` (legacy): `APIResourceList`.
    pub(crate) fn legacy_resource_list(&self, group: &str, version: &str) -> Option<Value> {
        let g = self.group(group)?;
        let (_, resources) = g.versions.iter().find(|(v, _)| v == version)?;
        let mut entries = Vec::new();
        for r in resources {
            r.legacy_entries(&mut entries);
        }
        let group_version = if group.is_empty() {
            version.to_owned()
        } else {
            format!("{group}/{version}")
        };
        Some(if group.is_empty() {
            json!({"kind": "APIResourceList", "groupVersion": group_version, "resources": entries})
        } else {
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries})
        })
    }
}

fn legacy_group_body(g: &GroupInfo) -> Value {
    let versions: Vec<Value> = g
        .versions
        .iter()
        .map(|(v, _)| json!({"groupVersion": format!("{}/{v}", g.name), "version": v}))
        .collect();
    let preferred = versions.first().cloned().unwrap_or(Value::Null);
    json!({"name": g.name, "versions": versions, "preferredVersion": preferred})
}

fn aggregated_list<'a>(groups: impl Iterator<Item = &'a GroupInfo>) -> Value {
    let items: Vec<Value> = groups
        .map(|g| {
            let metadata = if g.name.is_empty() {
                json!({})
            } else {
                json!({"name": g.name})
            };
            let versions: Vec<Value> = g
                .versions
                .iter()
                .map(|(v, rs)| {
                    let resources: Vec<&Value> = rs.iter().map(|r| &r.aggregated).collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

fn parse_group(item: &Value) -> GroupInfo {
    let name = item["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut versions = Vec::new();
    for v in item["versions"].as_array().into_iter().flatten() {
        let version = v["version"].as_str().unwrap_or_default().to_owned();
        let resources = v["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| Arc::new(parse_resource(&name, &version, r)))
            .collect();
        versions.push((version, resources));
    }
    GroupInfo { name, versions }
}

/// Build a [`ResourceInfo`] from its aggregated-discovery entry.
pub(crate) fn parse_resource(group: &str, version: &str, r: &Value) -> ResourceInfo {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    ResourceInfo {
        group: group.to_owned(),
        version: version.to_owned(),
        plural: r["resource"].as_str().unwrap_or_default().to_owned(),
        singular: r["singularResource"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        kind: r["responseKind"]["kind"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        namespaced: r["scope"].as_str() == Some("Namespaced"),
        verbs: strings(&r["verbs"]),
        subresources: r["subresources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["subresource"].as_str().map(str::to_owned))
            .collect(),
        aggregated: r.clone(),
        custom: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_has_core_and_groups() {
        let reg = Registry::builtin();
        let pods = reg.resource("", "v1", "pods").expect("pods");
        assert!(pods.namespaced);
        assert_eq!(pods.kind, "Pod");
        assert!(pods.has_subresource("status"));
        let nodes = reg.resource("", "v1", "nodes").expect("nodes");
        assert!(!nodes.namespaced);
        let deploy = reg
            .resource("apps", "v1", "deployments")
            .expect("deployments");
        assert_eq!(deploy.api_version(), "apps/v1");
        assert!(reg.resource("apps", "v1", "nosuch").is_none());
        assert!(reg.serves_group_version("autoscaling", "v1"));
        assert!(!reg.serves_group_version("apps", "v1beta1"));
        assert_eq!(
            reg.resource_for_kind("apps/v1", "Deployment")
                .map(|r| r.plural.clone())
                .as_deref(),
            Some("deployments")
        );
    }
}
