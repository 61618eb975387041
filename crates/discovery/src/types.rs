//! The discovery documents, as the API server sends them: `version.Info`, the legacy
//! `APIVersions`, `APIGroupList` and `APIResourceList`, and the aggregated
//! `apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`. Field names follow the wire format;
//! unknown fields are ignored, missing ones default, so newer servers decode.

use kubecto_rest_core::GroupVersion;
use serde::{Deserialize, Serialize};

/// `GET /version`: the server's build (`version.Info`).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServerVersion {
    /// Major version, `1`.
    pub major: String,
    /// Minor version, `36` (some distributions add a `+`).
    pub minor: String,
    /// The full version, `v1.36.2`.
    pub git_version: String,
    /// The commit built.
    pub git_commit: String,
    /// `clean` or `dirty`.
    pub git_tree_state: String,
    /// When it was built.
    pub build_date: String,
    /// The Go version used.
    pub go_version: String,
    /// The Go compiler.
    pub compiler: String,
    /// `os/arch`.
    pub platform: String,
}

/// `GET /api` in the legacy form: the core group's versions.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiVersions {
    /// The versions of the core group, such as `["v1"]`.
    pub versions: Vec<String>,
}

/// One version of a group, as listed in an [`ApiGroup`].
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupVersionForDiscovery {
    /// `group/version` (`apps/v1`), or `v1` for the core group.
    pub group_version: String,
    /// The version alone.
    pub version: String,
}

impl GroupVersionForDiscovery {
    pub(crate) fn new(group: &str, version: &str) -> Self {
        Self {
            group_version: GroupVersion::new(group, version).to_string(),
            version: version.to_owned(),
        }
    }
}

/// An API group: its name, versions (preferred first in aggregated discovery) and
/// preferred version.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiGroup {
    /// The group's name; empty for the core group.
    pub name: String,
    /// Every version the server serves.
    pub versions: Vec<GroupVersionForDiscovery>,
    /// The version clients should use when they have no preference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_version: Option<GroupVersionForDiscovery>,
}

impl ApiGroup {
    /// The preferred version's name (`v1`), falling back to the first version listed.
    pub fn preferred(&self) -> Option<&str> {
        self.preferred_version
            .as_ref()
            .or_else(|| self.versions.first())
            .map(|v| v.version.as_str())
    }

    /// Every version as a [`GroupVersion`], in the server's order.
    pub fn group_versions(&self) -> impl Iterator<Item = GroupVersion> + '_ {
        self.versions
            .iter()
            .map(|v| GroupVersion::new(&self.name, &v.version))
    }
}

/// `GET /apis` in the legacy form; [`server_groups`](crate::DiscoveryClient::server_groups)
/// returns one with the core group first, as client-go does.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiGroupList {
    /// `APIGroupList`.
    #[serde(default = "group_list_kind")]
    pub kind: String,
    /// `v1`.
    #[serde(default = "v1")]
    pub api_version: String,
    /// The groups.
    #[serde(default)]
    pub groups: Vec<ApiGroup>,
}

fn group_list_kind() -> String {
    "APIGroupList".to_owned()
}

fn resource_list_kind() -> String {
    "APIResourceList".to_owned()
}

fn v1() -> String {
    "v1".to_owned()
}

impl Default for ApiGroupList {
    fn default() -> Self {
        Self {
            kind: group_list_kind(),
            api_version: v1(),
            groups: Vec::new(),
        }
    }
}

impl ApiGroupList {
    /// A list of these groups.
    pub fn new(groups: Vec<ApiGroup>) -> Self {
        Self {
            groups,
            ..Self::default()
        }
    }

    /// Every group-version, groups in order, versions in each group's order.
    pub fn group_versions(&self) -> impl Iterator<Item = GroupVersion> + '_ {
        self.groups.iter().flat_map(ApiGroup::group_versions)
    }
}

/// One resource (or subresource, `pods/status`) of a group-version.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiResource {
    /// The plural name (`deployments`), or `resource/subresource`.
    pub name: String,
    /// The singular name (`deployment`); empty for subresources.
    pub singular_name: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// The group of the kind served, when it differs from the group-version's
    /// (`deployments/scale` serves `autoscaling/v1` `Scale`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// The version of the kind served, when it differs.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// The kind (`Deployment`).
    pub kind: String,
    /// The verbs (`get`, `list`, `watch`, `create`, ...).
    pub verbs: Vec<String>,
    /// Short names (`deploy`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub short_names: Vec<String>,
    /// Categories (`all`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// A hash of the storage version, when the server publishes it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub storage_version_hash: String,
}

impl ApiResource {
    /// Whether this is a subresource (`pods/status`).
    pub fn is_subresource(&self) -> bool {
        self.name.contains('/')
    }

    /// Whether the resource supports `verb`.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }
}

/// `GET /apis/{group}/{version}` (or `/api/v1`): the resources of one group-version.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiResourceList {
    /// `APIResourceList`.
    #[serde(default = "resource_list_kind")]
    pub kind: String,
    /// `v1`.
    #[serde(default = "v1")]
    pub api_version: String,
    /// `group/version` (`apps/v1`), or `v1`.
    #[serde(default)]
    pub group_version: String,
    /// The resources and subresources.
    #[serde(default)]
    pub resources: Vec<ApiResource>,
}

impl ApiResourceList {
    /// An empty list for `gv`.
    pub fn new(gv: &GroupVersion) -> Self {
        Self {
            kind: resource_list_kind(),
            api_version: v1(),
            group_version: gv.to_string(),
            resources: Vec::new(),
        }
    }

    /// The list's group-version, parsed.
    pub fn gv(&self) -> GroupVersion {
        GroupVersion::parse(&self.group_version)
    }
}

// ---- aggregated discovery (apidiscovery.k8s.io/v2) ----

/// `APIGroupDiscoveryList`: every group, version and resource in one document.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AggregatedList {
    pub(crate) items: Vec<AggregatedGroup>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AggregatedGroup {
    pub(crate) metadata: AggregatedMeta,
    pub(crate) versions: Vec<AggregatedVersion>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AggregatedMeta {
    pub(crate) name: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AggregatedVersion {
    pub(crate) version: String,
    pub(crate) resources: Vec<AggregatedResource>,
    /// `Current` or `Stale` (an aggregated API server that stopped answering).
    pub(crate) freshness: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AggregatedResource {
    pub(crate) resource: String,
    pub(crate) response_kind: Option<AggregatedKind>,
    pub(crate) scope: String,
    pub(crate) singular_resource: String,
    pub(crate) verbs: Vec<String>,
    pub(crate) short_names: Vec<String>,
    pub(crate) categories: Vec<String>,
    pub(crate) subresources: Vec<AggregatedSubresource>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AggregatedSubresource {
    pub(crate) subresource: String,
    pub(crate) response_kind: Option<AggregatedKind>,
    pub(crate) verbs: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AggregatedKind {
    pub(crate) group: String,
    pub(crate) version: String,
    pub(crate) kind: String,
}
