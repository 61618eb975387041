//! Newtypes for the coordinates that are easy to mix up: a resource (`deployments`) and a
//! kind (`Deployment`), each with its group and version, beside [`GroupVersion`] and with
//! the same field names. They live here so that discovery and the dynamic client, which
//! do not depend on each other, share one type.

use std::fmt;

use crate::GroupVersion;

/// A group, version and resource (plural, lower case): what a URL addresses,
/// `apps/v1, Resource=deployments`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupVersionResource {
    /// The API group; empty for the core group.
    pub group: String,
    /// The version, such as `v1`.
    pub version: String,
    /// The resource, such as `deployments`.
    pub resource: String,
}

impl GroupVersionResource {
    /// A group, version and resource.
    pub fn new(
        group: impl Into<String>,
        version: impl Into<String>,
        resource: impl Into<String>,
    ) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            resource: resource.into(),
        }
    }

    /// The group and version.
    pub fn group_version(&self) -> GroupVersion {
        GroupVersion::new(&self.group, &self.version)
    }

    /// `group/version`, or `version` for the core group (an object's `apiVersion`).
    pub fn api_version(&self) -> String {
        self.group_version().to_string()
    }
}

impl<G: Into<String>, V: Into<String>, R: Into<String>> From<(G, V, R)> for GroupVersionResource {
    fn from((group, version, resource): (G, V, R)) -> Self {
        Self::new(group, version, resource)
    }
}

impl From<&GroupVersionResource> for GroupVersionResource {
    fn from(gvr: &GroupVersionResource) -> Self {
        gvr.clone()
    }
}

impl fmt::Display for GroupVersionResource {
    /// kubectl's spelling: `deployments.v1.apps`, `pods.v1.` for the core group.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.resource, self.version, self.group)
    }
}

/// A group, version and kind (CamelCase, singular): what an object's `apiVersion` and
/// `kind` say, `apps/v1, Kind=Deployment`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupVersionKind {
    /// The API group; empty for the core group.
    pub group: String,
    /// The version, such as `v1`.
    pub version: String,
    /// The kind, such as `Deployment`.
    pub kind: String,
}

impl GroupVersionKind {
    /// A group, version and kind.
    pub fn new(
        group: impl Into<String>,
        version: impl Into<String>,
        kind: impl Into<String>,
    ) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
        }
    }

    /// From an object's `apiVersion` (`apps/v1`, `v1`) and `kind`.
    pub fn from_api_version(api_version: &str, kind: impl Into<String>) -> Self {
        let gv = GroupVersion::parse(api_version);
        Self::new(gv.group, gv.version, kind)
    }

    /// The group and version.
    pub fn group_version(&self) -> GroupVersion {
        GroupVersion::new(&self.group, &self.version)
    }

    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        self.group_version().to_string()
    }
}

impl fmt::Display for GroupVersionKind {
    /// kubectl's spelling: `Deployment.v1.apps`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.kind, self.version, self.group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        let gvr = GroupVersionResource::new("apps", "v1", "deployments");
        assert_eq!(gvr.to_string(), "deployments.v1.apps");
        assert_eq!(gvr.api_version(), "apps/v1");
        let gvk = GroupVersionKind::from_api_version("v1", "Pod");
        assert_eq!(gvk.api_version(), "v1");
        assert_eq!(gvk.group, "");
        assert_eq!(gvk.to_string(), "Pod.v1.");
    }
}
