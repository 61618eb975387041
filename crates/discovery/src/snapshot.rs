//! [`Discovery`]: one complete (or partial) picture of what a server serves, built from
//! aggregated documents or from legacy answers, and the views computed from it
//! (preferred resources).

use kubecto_rest_core::GroupVersion;

use crate::error::{FailedGroupVersions, GroupVersionError, Result};
use crate::types::{
    AggregatedKind, AggregatedList, ApiGroup, ApiGroupList, ApiResource, ApiResourceList,
    GroupVersionForDiscovery,
};

/// Preferred resources and the group-versions that could not be discovered.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct PreferredResources {
    /// One list per group-version that answered (possibly empty), in group order.
    pub lists: Vec<ApiResourceList>,
    /// The group-versions that failed, each with its reason.
    pub failed: FailedGroupVersions,
}

impl PreferredResources {
    /// The lists, or [`Error::Partial`](crate::Error::Partial) if any group-version failed.
    ///
    /// # Errors
    /// [`Error::Partial`](crate::Error::Partial) listing each failed group-version.
    pub fn into_complete(self) -> Result<Vec<ApiResourceList>> {
        if self.failed.is_empty() {
            Ok(self.lists)
        } else {
            Err(self.failed.into())
        }
    }
}

/// Where a [`Discovery`] came from.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Two aggregated documents (`/api`, `/apis`).
    Aggregated,
    /// The legacy endpoints, one request per group-version.
    Legacy,
    /// The disk cache (group-versions missing from it were fetched live).
    DiskCache,
}

/// Every group, version and resource the server serves, plus the group-versions that
/// could not be discovered and why.
#[derive(Clone, Debug)]
pub struct Discovery {
    pub(crate) groups: ApiGroupList,
    pub(crate) resources: Vec<ApiResourceList>,
    pub(crate) failed: FailedGroupVersions,
    pub(crate) source: Source,
}

impl Discovery {
    /// The groups, core group first, each with its versions (preferred first).
    pub fn groups(&self) -> &ApiGroupList {
        &self.groups
    }

    /// The resources of every group-version that answered, in group order.
    pub fn resources(&self) -> &[ApiResourceList] {
        &self.resources
    }

    /// The resources of one group-version, if it was discovered.
    pub fn resources_for(&self, gv: &GroupVersion) -> Option<&ApiResourceList> {
        let wanted = gv.to_string();
        self.resources.iter().find(|l| l.group_version == wanted)
    }

    /// The group-versions that could not be discovered, each with its reason.
    pub fn failed(&self) -> &FailedGroupVersions {
        &self.failed
    }

    /// Whether every group-version was discovered.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }

    /// Where this answer came from.
    pub fn source(&self) -> Source {
        self.source
    }

    /// This answer, or [`Error::Partial`](crate::Error::Partial) if any group-version failed.
    ///
    /// # Errors
    /// [`Error::Partial`](crate::Error::Partial) listing each failed group-version.
    pub fn into_complete(self) -> Result<Self> {
        if self.failed.is_empty() {
            Ok(self)
        } else {
            Err(self.failed.into())
        }
    }

    /// client-go's `ServerPreferredResources`: one list per group-version that answered,
    /// holding each resource (no subresources) once, in the group's preferred version if it
    /// serves it there, else in the first version that does. Lists may be empty.
    pub fn preferred_resources(&self) -> Vec<ApiResourceList> {
        let mut out: Vec<ApiResourceList> = Vec::new();
        // (group, resource) -> (index into out, index in that list)
        let mut chosen: std::collections::HashMap<(String, String), (usize, usize)> =
            std::collections::HashMap::new();
        for group in &self.groups.groups {
            let preferred = group.preferred().unwrap_or_default().to_owned();
            for gv in group.group_versions() {
                let Some(list) = self.resources_for(&gv) else {
                    continue;
                };
                let slot = out.len();
                out.push(ApiResourceList::new(&gv));
                for r in list.resources.iter().filter(|r| !r.is_subresource()) {
                    let key = (group.name.clone(), r.name.clone());
                    match chosen.get(&key) {
                        Some(_) if gv.version != preferred => {}
                        Some(&(old_list, old_idx)) => {
                            // The preferred version wins over an earlier one.
                            out[old_list].resources[old_idx].name.clear();
                            let idx = out[slot].resources.len();
                            out[slot].resources.push(r.clone());
                            chosen.insert(key, (slot, idx));
                        }
                        None => {
                            let idx = out[slot].resources.len();
                            out[slot].resources.push(r.clone());
                            chosen.insert(key, (slot, idx));
                        }
                    }
                }
            }
        }
        for list in &mut out {
            list.resources.retain(|r| !r.name.is_empty());
        }
        out
    }

    /// Builds a snapshot from the two aggregated documents.
    pub(crate) fn from_aggregated(core: AggregatedList, groups: AggregatedList) -> Self {
        let mut list = ApiGroupList::default();
        let mut resources = Vec::new();
        let mut failed = FailedGroupVersions::default();
        for group in core.items.into_iter().chain(groups.items) {
            let name = group.metadata.name;
            let mut api_group = ApiGroup {
                name: name.clone(),
                ..ApiGroup::default()
            };
            for version in group.versions {
                let gv = GroupVersion::new(&name, &version.version);
                api_group
                    .versions
                    .push(GroupVersionForDiscovery::new(&name, &version.version));
                if version.freshness == "Stale" {
                    failed.push(gv, GroupVersionError::Stale);
                    continue;
                }
                let mut rl = ApiResourceList::new(&gv);
                for r in version.resources {
                    let namespaced = r.scope == "Namespaced";
                    // client-go skips entries without a responseKind.
                    let Some(kind) = r.response_kind else {
                        continue;
                    };
                    let (group, version, kind) = kind_parts(kind);
                    rl.resources.push(ApiResource {
                        name: r.resource.clone(),
                        singular_name: r.singular_resource,
                        namespaced,
                        group,
                        version,
                        kind,
                        verbs: r.verbs,
                        short_names: r.short_names,
                        categories: r.categories,
                        storage_version_hash: String::new(),
                    });
                    for sub in r.subresources {
                        let Some(kind) = sub.response_kind else {
                            continue;
                        };
                        let (group, version, kind) = kind_parts(kind);
                        rl.resources.push(ApiResource {
                            name: format!("{}/{}", r.resource, sub.subresource),
                            namespaced,
                            group,
                            version,
                            kind,
                            verbs: sub.verbs,
                            ..ApiResource::default()
                        });
                    }
                }
                resources.push(rl);
            }
            // Aggregated discovery lists versions in preference order.
            api_group.preferred_version = api_group.versions.first().cloned();
            list.groups.push(api_group);
        }
        Discovery {
            groups: list,
            resources,
            failed,
            source: Source::Aggregated,
        }
    }
}

fn kind_parts(k: AggregatedKind) -> (String, String, String) {
    (k.group, k.version, k.kind)
}

/// The core group as client-go builds it from `/api`'s versions.
pub(crate) fn core_group(versions: &[String]) -> Option<ApiGroup> {
    let first = versions.first()?;
    Some(ApiGroup {
        name: String::new(),
        versions: versions
            .iter()
            .map(|v| GroupVersionForDiscovery::new("", v))
            .collect(),
        preferred_version: Some(GroupVersionForDiscovery::new("", first)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ApiResource;

    fn resource(name: &str) -> ApiResource {
        ApiResource {
            name: name.to_owned(),
            kind: "K".to_owned(),
            verbs: vec!["get".to_owned()],
            ..ApiResource::default()
        }
    }

    /// A group whose preferred version (v1) is listed after v1beta1, as legacy discovery may.
    fn snapshot() -> Discovery {
        let group = ApiGroup {
            name: "g".to_owned(),
            versions: vec![
                GroupVersionForDiscovery::new("g", "v1beta1"),
                GroupVersionForDiscovery::new("g", "v1"),
            ],
            preferred_version: Some(GroupVersionForDiscovery::new("g", "v1")),
        };
        let mut beta = ApiResourceList::new(&GroupVersion::new("g", "v1beta1"));
        beta.resources = vec![
            resource("both"),
            resource("betaonly"),
            resource("both/status"),
        ];
        let mut v1 = ApiResourceList::new(&GroupVersion::new("g", "v1"));
        v1.resources = vec![resource("both"), resource("v1only")];
        crate::fetch::assemble(vec![group], vec![v1, beta], [], Source::Legacy)
    }

    #[test]
    fn the_preferred_version_wins_even_when_listed_later() {
        let d = snapshot();
        assert_eq!(
            d.resources()[0].group_version,
            "g/v1beta1",
            "group order kept"
        );
        let p = d.preferred_resources();
        let names =
            |i: usize| -> Vec<&str> { p[i].resources.iter().map(|r| r.name.as_str()).collect() };
        assert_eq!(p[0].group_version, "g/v1beta1");
        assert_eq!(names(0), ["betaonly"]);
        assert_eq!(p[1].group_version, "g/v1");
        assert_eq!(names(1), ["both", "v1only"]);
    }

    #[test]
    fn aggregated_entries_without_a_kind_are_skipped_and_stale_versions_fail() {
        let doc = serde_json::json!({"items": [{"metadata": {"name": "x"}, "versions": [
            {"version": "v2", "freshness": "Current", "resources": [
                {"resource": "a", "scope": "Cluster", "responseKind": {"kind": "A"}, "verbs": ["get"],
                 "subresources": [{"subresource": "status", "verbs": ["get"]}]},
                {"resource": "nokind", "scope": "Namespaced", "verbs": ["get"]}]},
            {"version": "v1", "freshness": "Stale", "resources": []}]}]});
        let list: AggregatedList = serde_json::from_value(doc).unwrap();
        let d = Discovery::from_aggregated(AggregatedList::default(), list);
        assert_eq!(d.groups().groups[0].preferred(), Some("v2"));
        let v2 = d.resources_for(&GroupVersion::new("x", "v2")).unwrap();
        let names: Vec<&str> = v2.resources.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a"], "no kind: skipped, as client-go does");
        assert!(!v2.resources[0].namespaced);
        assert!(matches!(
            d.failed().get(&GroupVersion::new("x", "v1")),
            Some(GroupVersionError::Stale)
        ));
    }
}
